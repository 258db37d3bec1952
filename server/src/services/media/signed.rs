//! Short-lived signed download URLs, for places that cannot send an `Authorization` header
//! (`<img src>`, `<audio src>`, a download manager).
//!
//! The signature is an HMAC-SHA256 over (attachment, rendition, user, expiry) with a key derived
//! from the server's signing secret (derived, so a URL signature can never be mistaken for a
//! token signature). A URL names the user it was made for: downloading through it still requires
//! that user to be a member of the conversation at that moment, so leaving a conversation revokes
//! the links one had. Anyone else holding the URL gets only what that member could, until it
//! expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jeco_shared::media::MediaVariant;
use jeco_shared::{AttachmentId, UserId};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signing key for download URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner([redacted])")
    }
}

/// What a URL's query carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub attachment: AttachmentId,
    pub variant: MediaVariant,
    pub user: UserId,
    /// Unix seconds.
    pub expires: i64,
}

fn variant_str(v: MediaVariant) -> &'static str {
    match v {
        MediaVariant::Content => "content",
        MediaVariant::Thumbnail => "thumbnail",
    }
}

impl UrlSigner {
    /// Derives the URL key from the server's signing secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"jeco media download urls v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, g: &Grant) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(
            format!(
                "{}\n{}\n{}\n{}",
                g.attachment.0,
                variant_str(g.variant),
                g.user.0,
                g.expires
            )
            .as_bytes(),
        );
        mac
    }

    pub fn sign(&self, g: &Grant) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(g).finalize().into_bytes())
    }

    /// The path and query of a signed URL.
    pub fn url(&self, g: &Grant) -> String {
        format!(
            "{}/attachments/{}/{}?user={}&expires={}&sig={}",
            jeco_shared::API_PREFIX,
            g.attachment.0,
            variant_str(g.variant),
            g.user.0,
            g.expires,
            self.sign(g)
        )
    }

    /// Whether `sig` is this server's signature of `g` (constant-time) and `g` has not expired.
    pub fn verify(&self, g: &Grant, sig: &str, now_secs: i64) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        self.mac(g).verify_slice(&sig).is_ok() && now_secs < g.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field_and_expire() {
        let s = UrlSigner::new(b"0123456789abcdef0123456789abcdef");
        let g = Grant {
            attachment: AttachmentId(7),
            variant: MediaVariant::Content,
            user: UserId(3),
            expires: 1000,
        };
        let sig = s.sign(&g);
        assert!(s.verify(&g, &sig, 999));
        assert!(!s.verify(&g, &sig, 1000), "expired");
        for other in [
            Grant {
                attachment: AttachmentId(8),
                ..g
            },
            Grant {
                variant: MediaVariant::Thumbnail,
                ..g
            },
            Grant {
                user: UserId(4),
                ..g
            },
            Grant { expires: 5000, ..g },
        ] {
            assert!(!s.verify(&other, &sig, 999), "{other:?}");
        }
        assert!(!s.verify(&g, "not base64!", 999));
        let other_server = UrlSigner::new(b"another secret of at least 32 bytes..");
        assert!(!other_server.verify(&g, &sig, 999));
        assert!(
            s.url(&g)
                .starts_with("/api/v1/attachments/7/content?user=3&expires=1000&sig=")
        );
    }
}
