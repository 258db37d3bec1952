//! Media: resumable uploads, attachments, downloads with access control, thumbnails and
//! avatars.
//!
//! - [`uploads`]: `POST /uploads` opens an upload, `PATCH` appends chunks at an offset (streamed to
//!   a file under `<data-dir>/uploads`, never buffered whole, the size limit enforced while
//!   streaming), the last chunk completes it: sha256 checked, type sniffed from the bytes
//!   ([`sniff`]), the blob stored once per content ([`blobs`]) and an attachment created.
//! - Who may read an attachment is decided here, below HTTP: members of the conversation its
//!   message is in, or the uploader while it is not attached yet. Everyone else gets `not_found`,
//!   the same answer as for an id that does not exist. [`signed`] URLs carry that decision for a
//!   few minutes to clients that cannot send headers, and are re-checked against membership.
//! - [`quota`]: a storage quota and an upload rate per user, and the admins' usage report.
//! - [`sweep`]: unattached uploads expire; blobs nothing references (a deleted message, a replaced
//!   avatar) are deleted; thumbnails ([`images`]) are made in the background.
//!
//! Blob lifecycle races (an upload of content X completing while the sweep deletes an orphaned
//! X) are excluded by a lock per content hash, taken by both.

pub mod blobs;
pub mod images;
pub mod quota;
pub mod signed;
pub mod sniff;
pub mod sweep;
pub mod uploads;

use super::access::Access;
use super::rate::UserRateLimiter;
use super::{Principal, ServiceError, render};
use crate::storage::{AttachmentRecord, AvatarOwner, BlobRecord, Storage, ThumbnailState};
use blobs::{BlobError, Blobs, Fetched, Rendition};
use jeco_shared::media::{Attachment, MediaVariant, SignedUrl};
use jeco_shared::{AttachmentId, TeamId, UserId};
use sha2::{Digest, Sha256};
use signed::{Grant, UrlSigner};
use std::collections::HashSet;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Media limits and timings, from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub max_upload_bytes: u64,
    pub avatar_max_bytes: u64,
    pub unattached_ttl: Duration,
    pub sweep_interval: Duration,
    pub signed_url_ttl: Duration,
    /// Unfinished uploads.
    pub uploads_dir: PathBuf,
    /// Per-user storage quota (see [`quota`]); `None`: unlimited.
    pub quota_bytes: Option<u64>,
    /// New uploads per user: per minute, burst.
    pub upload_rate: (u32, u32),
    /// Wall time for signed URLs, uploads and the sweeper (`Config::clock`).
    pub clock: crate::clock::Clock,
}

impl MediaSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            max_upload_bytes: config.media_max_upload_bytes,
            avatar_max_bytes: config.media_avatar_max_bytes,
            unattached_ttl: Duration::from_secs(config.media_unattached_ttl_secs),
            sweep_interval: Duration::from_secs(config.media_sweep_interval_secs),
            signed_url_ttl: Duration::from_secs(config.media_signed_url_ttl_secs),
            uploads_dir: config.uploads_path(),
            quota_bytes: (config.media_quota_bytes > 0).then_some(config.media_quota_bytes),
            upload_rate: (
                config.media_upload_rate_per_minute,
                config.media_upload_rate_burst,
            ),
            clock: config.clock.clone(),
        }
    }
}

/// Locks per content hash (striped): see the module doc.
const STRIPES: usize = 64;

pub struct Media {
    storage: Arc<dyn Storage>,
    access: Access,
    blobs: Blobs,
    signer: UrlSigner,
    settings: MediaSettings,
    /// Uploads a request is writing to right now (one writer per upload).
    writing: Mutex<HashSet<String>>,
    stripes: Vec<tokio::sync::Mutex<()>>,
    /// One image decoded at a time: thumbnails must not starve request handling.
    decoding: Semaphore,
    /// Signalled when blobs may have become orphans (a message deleted, an avatar replaced).
    orphans: Arc<Notify>,
    /// New uploads per user.
    upload_rate: UserRateLimiter,
}

/// Only that it is there: the service holds storage, keys and locks, none worth printing.
impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media").finish_non_exhaustive()
    }
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn store_failed(e: BlobError) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// What a download sends: the bytes (or a range of them) and how to label them.
pub struct Download {
    pub fetched: Fetched,
    pub content_type: String,
    /// `None` for avatars and thumbnails (shown inline, no file name).
    pub file_name: Option<String>,
    pub inline: bool,
    pub etag: String,
}

/// Who is downloading: a signed-in user, or the user a valid signed URL was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer(pub UserId);

impl From<&Principal> for Viewer {
    fn from(p: &Principal) -> Self {
        Viewer(p.user_id)
    }
}

impl Media {
    pub fn new(
        storage: Arc<dyn Storage>,
        access: Access,
        blobs: Blobs,
        url_secret: &[u8],
        settings: MediaSettings,
        orphans: Arc<Notify>,
    ) -> Result<Self, std::io::Error> {
        let settings_rate = settings.upload_rate;
        create_private_dir(&settings.uploads_dir)?;
        Ok(Self {
            storage,
            access,
            blobs,
            signer: UrlSigner::new(url_secret),
            settings,
            writing: Mutex::new(HashSet::new()),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            decoding: Semaphore::new(1),
            orphans,
            upload_rate: UserRateLimiter::per_minute(settings_rate.0, settings_rate.1),
        })
    }

    pub fn settings(&self) -> &MediaSettings {
        &self.settings
    }

    /// The object store (for tests and tooling).
    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    fn stripe(&self, sha256: &str) -> &tokio::sync::Mutex<()> {
        let i = usize::from_str_radix(&sha256[..2], 16).unwrap_or(0) % STRIPES;
        &self.stripes[i]
    }

    /// The attachment, if `viewer` may see it. Anything else — no such id, a deleted message, a
    /// conversation the viewer is not in, someone else's unsent upload — is `not_found`.
    pub async fn authorize(
        &self,
        viewer: Viewer,
        id: AttachmentId,
    ) -> Result<AttachmentRecord, ServiceError> {
        let place = self
            .storage
            .attachment(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        match place.conversation_id {
            Some(_) if place.message_deleted => Err(ServiceError::NotFound),
            Some(conversation) => {
                self.access.require_member(conversation, viewer.0).await?;
                Ok(place.attachment)
            }
            None if place.attachment.uploader_id == viewer.0 => Ok(place.attachment),
            None => Err(ServiceError::NotFound),
        }
    }

    /// An attachment's metadata (the current thumbnail state included).
    pub async fn attachment(
        &self,
        who: &Principal,
        id: AttachmentId,
    ) -> Result<Attachment, ServiceError> {
        Ok(render::attachment(&self.authorize(who.into(), id).await?))
    }

    /// Opens an [`authorize`](Self::authorize)d attachment (or its thumbnail) for download.
    /// `range` is already checked against the attachment's size by the caller; thumbnails are
    /// always sent whole.
    pub async fn open(
        &self,
        a: &AttachmentRecord,
        variant: MediaVariant,
        range: Option<Range<u64>>,
    ) -> Result<Download, ServiceError> {
        Ok(match variant {
            MediaVariant::Content => Download {
                fetched: self
                    .blobs
                    .fetch(&a.blob.sha256, Rendition::Original, range)
                    .await
                    .map_err(store_failed)?,
                content_type: a.blob.content_type.clone(),
                file_name: Some(a.name.clone()),
                inline: sniff::inline_safe(&a.blob.content_type),
                etag: format!("\"{}\"", a.blob.sha256),
            },
            MediaVariant::Thumbnail => {
                let (ThumbnailState::Ready, Some(ty)) =
                    (a.blob.thumbnail, a.blob.thumbnail_type.clone())
                else {
                    return Err(ServiceError::NotFound);
                };
                Download {
                    fetched: self
                        .blobs
                        .fetch(&a.blob.sha256, Rendition::Thumbnail, None)
                        .await
                        .map_err(store_failed)?,
                    content_type: ty,
                    file_name: None,
                    inline: true,
                    etag: format!("\"{}-thumb\"", a.blob.sha256),
                }
            }
        })
    }

    /// A signed URL for the caller, after checking the caller may read the attachment now.
    pub async fn signed_url(
        &self,
        who: &Principal,
        id: AttachmentId,
        variant: MediaVariant,
    ) -> Result<SignedUrl, ServiceError> {
        let a = self.authorize(who.into(), id).await?;
        if variant == MediaVariant::Thumbnail && a.blob.thumbnail != ThumbnailState::Ready {
            return Err(ServiceError::NotFound);
        }
        let expires_ms =
            self.settings.clock.now_ms() + self.settings.signed_url_ttl.as_millis() as i64;
        let grant = Grant {
            attachment: id,
            variant,
            user: who.user_id,
            expires: expires_ms / 1000,
        };
        Ok(SignedUrl {
            url: self.signer.url(&grant),
            expires_at: super::render::rfc3339(grant.expires * 1000),
        })
    }

    /// The viewer a signed URL stands for, if its signature is valid and it has not expired.
    /// A bad or expired link is `forbidden` — checked before anything is looked up, so it tells
    /// nothing about the attachment.
    pub fn redeem(&self, grant: &Grant, sig: &str) -> Result<Viewer, ServiceError> {
        if self
            .signer
            .verify(grant, sig, self.settings.clock.now_ms() / 1000)
        {
            Ok(Viewer(grant.user))
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    /// Replaces a user's or team's picture with a square, resized copy of `image` (JPEG, PNG,
    /// GIF or WebP, EXIF orientation applied). Team pictures are for team admins.
    pub async fn set_avatar(
        &self,
        who: &Principal,
        owner: AvatarOwner,
        image: Vec<u8>,
    ) -> Result<String, ServiceError> {
        self.may_change_avatar(who, owner).await?;
        let content_type = sniff::content_type(&image[..image.len().min(sniff::SNIFF_BYTES)]);
        if !sniff::is_decodable_image(&content_type) {
            return Err(ServiceError::UnsupportedMediaType(
                "an avatar must be a JPEG, PNG, GIF or WebP image".into(),
            ));
        }
        let permit = self
            .decoding
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("the image decoder is shut down".into()))?;
        let (bytes, ty) = tokio::task::spawn_blocking(move || images::avatar(&image))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| match e {
                images::ImageError::TooLarge { .. } => ServiceError::ImageTooLarge(e.to_string()),
                other => ServiceError::field("image", other.to_string()),
            })?;
        drop(permit);
        let sha256 = hex(&Sha256::digest(&bytes));
        let blob = BlobRecord {
            sha256: sha256.clone(),
            size: bytes.len() as u64,
            content_type: ty.to_owned(),
            width: Some(images::AVATAR_SIDE),
            height: Some(images::AVATAR_SIDE),
            thumbnail: ThumbnailState::None,
            thumbnail_type: None,
            created_at_ms: self.settings.clock.now_ms(),
        };
        {
            let _lock = self.stripe(&sha256).lock().await;
            if self.storage.blob(&sha256).await?.is_none() {
                self.blobs
                    .put_bytes(&sha256, Rendition::Original, bytes)
                    .await
                    .map_err(store_failed)?;
            }
            self.storage.set_avatar(owner, Some(blob)).await?;
        }
        self.orphans.notify_one();
        Ok(render::avatar_version(&sha256))
    }

    pub async fn clear_avatar(
        &self,
        who: &Principal,
        owner: AvatarOwner,
    ) -> Result<(), ServiceError> {
        self.may_change_avatar(who, owner).await?;
        self.storage.set_avatar(owner, None).await?;
        self.orphans.notify_one();
        Ok(())
    }

    async fn may_change_avatar(
        &self,
        who: &Principal,
        owner: AvatarOwner,
    ) -> Result<(), ServiceError> {
        match owner {
            AvatarOwner::User(u) if u == who.user_id => Ok(()),
            AvatarOwner::User(_) => Err(ServiceError::Forbidden),
            AvatarOwner::Team(t) => self
                .access
                .require_team_admin(t, who.user_id)
                .await
                .map(|_| ()),
        }
    }

    /// A user's picture (any signed-in user may see it) or a team's (its members).
    pub async fn avatar(
        &self,
        who: &Principal,
        owner: AvatarOwner,
    ) -> Result<Download, ServiceError> {
        if let AvatarOwner::Team(t) = owner {
            self.team_member(who, t).await?;
        }
        let blob = self
            .storage
            .avatar(owner)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(Download {
            fetched: self
                .blobs
                .fetch(&blob.sha256, Rendition::Original, None)
                .await
                .map_err(store_failed)?,
            content_type: blob.content_type,
            file_name: None,
            inline: true,
            etag: format!("\"{}\"", blob.sha256),
        })
    }

    async fn team_member(&self, who: &Principal, team: TeamId) -> Result<(), ServiceError> {
        self.access
            .require_team_member(team, who.user_id)
            .await
            .map(|_| ())
    }
}

/// Creates a directory readable only by the server's user.
pub(crate) fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}
