//! The media index: content-addressed blobs, attachments pointing at them, resumable uploads and
//! avatars. The bytes themselves live in the object store ([`crate::services::media`]); these
//! records say which blobs exist and who references them.
//!
//! A blob is referenced by attachments and by user or team avatars. When the last reference goes
//! (a message deleted, an upload never attached, an avatar replaced) the blob becomes an orphan;
//! the media service's sweep removes the object and then [`MediaStore::delete_orphan_blob`] the row,
//! which refuses if something referenced the blob again in the meantime.

use super::StorageError;
use async_trait::async_trait;
use jeco_shared::media::AttachmentKind;
use jeco_shared::{AttachmentId, ConversationId, MessageId, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// Where a blob's thumbnail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThumbnailState {
    /// Not an image: no thumbnail will be made.
    None,
    /// Being made in the background.
    Pending,
    Ready,
    /// The image could not be decoded (corrupt, too large); it is served as is.
    Failed,
}

impl ThumbnailState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => Self::None,
        }
    }
}

/// One distinct content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumbnail: ThumbnailState,
    pub thumbnail_type: Option<String>,
    pub created_at_ms: i64,
}

/// An attachment with its blob. Stored in message snapshots of `message_created` events too, so
/// it is plain serde data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub uploader_id: UserId,
    pub kind: AttachmentKind,
    pub name: String,
    pub duration_ms: Option<u32>,
    pub waveform: Option<Vec<u8>>,
    pub message_id: Option<MessageId>,
    pub created_at_ms: i64,
    pub blob: BlobRecord,
}

/// An attachment and where it is visible: the conversation of its message, if attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPlace {
    pub attachment: AttachmentRecord,
    pub conversation_id: Option<ConversationId>,
    /// The message was deleted (its attachments are being removed).
    pub message_deleted: bool,
}

/// A resumable upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub uploader_id: UserId,
    pub name: String,
    pub kind: AttachmentKind,
    pub size: u64,
    pub received: u64,
    pub sha256: Option<String>,
    pub duration_ms: Option<u32>,
    pub waveform: Option<Vec<u8>>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The attachment that a completed upload becomes.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub uploader_id: UserId,
    pub kind: AttachmentKind,
    pub name: String,
    pub duration_ms: Option<u32>,
    pub waveform: Option<Vec<u8>>,
    pub created_at_ms: i64,
}

/// Whose picture an avatar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarOwner {
    User(UserId),
    Team(TeamId),
}

/// Whether [`MediaStore::create_upload`] stored the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAdmission {
    Created,
    /// The uploader's usage plus this upload would pass the quota; nothing was stored.
    OverQuota {
        used: u64,
    },
}

/// One user's media usage (see `services::media::quota` for what counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUsageRecord {
    pub user_id: UserId,
    pub username: String,
    pub attachment_bytes: u64,
    pub attachments: u64,
    pub upload_bytes: u64,
    pub uploads: u64,
}

#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// Stores a new upload, unless the uploader's usage (attachments plus unfinished uploads)
    /// plus its declared size would pass `quota_bytes` — checked and inserted in one write
    /// transaction, so concurrent uploads cannot slip past the quota together.
    async fn create_upload(
        &self,
        upload: UploadRecord,
        quota_bytes: Option<u64>,
    ) -> Result<UploadAdmission, StorageError>;
    /// Every user with media, most bytes first.
    async fn media_usage(&self) -> Result<Vec<MediaUsageRecord>, StorageError>;
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError>;
    /// Records how many bytes of the upload are safely on disk.
    async fn set_upload_received(
        &self,
        id: &str,
        received: u64,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    async fn delete_upload(&self, id: &str) -> Result<(), StorageError>;
    /// Uploads without progress since `before_ms`.
    async fn stale_uploads(&self, before_ms: i64) -> Result<Vec<String>, StorageError>;

    async fn blob(&self, sha256: &str) -> Result<Option<BlobRecord>, StorageError>;
    /// In one transaction: records the blob unless it exists (deduplication), creates the
    /// attachment and ends the upload. The blob's object must already be stored.
    async fn complete_upload(
        &self,
        upload_id: &str,
        blob: BlobRecord,
        attachment: NewAttachment,
    ) -> Result<AttachmentRecord, StorageError>;
    async fn attachment(&self, id: AttachmentId) -> Result<Option<AttachmentPlace>, StorageError>;
    async fn set_thumbnail(
        &self,
        sha256: &str,
        state: ThumbnailState,
        content_type: Option<String>,
    ) -> Result<(), StorageError>;
    /// Blobs whose thumbnail is still to be made (after a restart).
    async fn pending_thumbnails(&self) -> Result<Vec<String>, StorageError>;
    /// Deletes attachments never sent with a message that were created before `before_ms`.
    async fn delete_unattached(&self, before_ms: i64) -> Result<u64, StorageError>;
    /// Blobs nothing references any more, at most `limit`.
    async fn orphan_blobs(&self, limit: u32) -> Result<Vec<BlobRecord>, StorageError>;
    /// Deletes the blob's row if it is still an orphan; `false` when it is referenced again.
    async fn delete_orphan_blob(&self, sha256: &str) -> Result<bool, StorageError>;
    /// Sets (recording the blob unless it exists) or clears an avatar. Returns the previous
    /// avatar's sha256.
    async fn set_avatar(
        &self,
        owner: AvatarOwner,
        blob: Option<BlobRecord>,
    ) -> Result<Option<String>, StorageError>;
    /// The current avatar's blob.
    async fn avatar(&self, owner: AvatarOwner) -> Result<Option<BlobRecord>, StorageError>;
}
