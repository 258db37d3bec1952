//! Access and refresh tokens.
//!
//! Access tokens are HS256 JWTs carrying [`AccessClaims`], signed with the server's generated secret;
//! they are checked on every request together with their session, so logout takes effect at once.
//! Refresh tokens are opaque: 32 random bytes, base64url, of which only the SHA-256 is stored — a
//! database leak does not hand out sessions.
//!
//! A rotated refresh token's successor is not random but derived from it with a keyed MAC
//! ([`TokenKeys::successor`]). That lets a refresh retried within the grace period (the client
//! lost the answer, or two tabs refreshed at once) be answered with the very same new pair
//! without the server ever storing a token in clear: the retry recomputes the successor, and
//! storage checks it is the one recorded and still unused. Without the key the successor cannot
//! be computed, so this tells a thief nothing new.

use super::ServiceError;
use crate::storage::TokenHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jeco_shared::auth::AccessClaims;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use sha2::{Digest, Sha256};

/// Signs and verifies access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Key of the successor MAC, derived from the secret so it is never the JWT key itself.
    successor: [u8; 32],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact (clients refresh ahead of time) and checked in `verify` against the
        // server's clock, not by jsonwebtoken against the system's: a test moves that clock.
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
        mac.update(b"jeco refresh-token successor v1");
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            successor: mac.finalize().into_bytes().into(),
        }
    }

    /// The refresh token that rotating `token` yields, and its hash: the same every time for the
    /// same token (see the module doc).
    pub fn successor(&self, token: &str) -> (String, TokenHash) {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.successor).expect("HMAC takes any key");
        mac.update(token.as_bytes());
        let next = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let hash = hash_refresh_token(&next);
        (next, hash)
    }

    pub fn issue(&self, claims: &AccessClaims) -> Result<String, ServiceError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("cannot sign token: {e}")))
    }

    /// Verifies signature and expiry at `now_secs` (Unix seconds, the server's clock): a token
    /// is good through the second of its `exp`, as jsonwebtoken counts. Does not look at the session; see
    /// `Accounts::authenticate`.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<AccessClaims, ServiceError> {
        match jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.exp < now_secs => Err(ServiceError::TokenExpired),
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                Err(ServiceError::TokenExpired)
            }
            Err(_) => Err(ServiceError::TokenInvalid),
        }
    }
}

/// A new refresh token and the hash to store.
pub fn new_refresh_token() -> Result<(String, TokenHash), ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    Ok((token, hash))
}

pub fn hash_refresh_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> AccessClaims {
        AccessClaims {
            sub: "1".into(),
            sid: 2,
            iat: 0,
            exp,
            adm: false,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn round_trip() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let c = claims(now() + 60);
        assert_eq!(keys.verify(&keys.issue(&c).unwrap(), now()).unwrap(), c);
    }

    #[test]
    fn expired_wrong_key_and_garbage_are_told_apart() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another secret, another server!!");
        let expired = keys.issue(&claims(now() - 10)).unwrap();
        assert!(matches!(
            keys.verify(&expired, now()),
            Err(ServiceError::TokenExpired)
        ));
        let foreign = other.issue(&claims(now() + 60)).unwrap();
        assert!(matches!(
            keys.verify(&foreign, now()),
            Err(ServiceError::TokenInvalid)
        ));
        assert!(matches!(
            keys.verify("not.a.jwt", now()),
            Err(ServiceError::TokenInvalid)
        ));
    }

    #[test]
    fn successors_are_stable_per_token_and_key() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another secret, another server!!");
        let (a, _) = new_refresh_token().unwrap();
        let (b, _) = new_refresh_token().unwrap();
        let (next, hash) = keys.successor(&a);
        assert_eq!(keys.successor(&a), (next.clone(), hash));
        assert_eq!(next.len(), 43);
        assert_eq!(hash_refresh_token(&next), hash);
        assert_ne!(keys.successor(&b).0, next);
        assert_ne!(other.successor(&a).0, next);
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token().unwrap();
        let (b, _) = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_refresh_token(&a), ha);
    }
}
