//! [`MediaStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::media::*;
use async_trait::async_trait;
use jeco_shared::media::AttachmentKind;
use jeco_shared::{AttachmentId, ConversationId, MessageId, TeamId, UserId};

#[async_trait]
impl MediaStore for PgStorage {
    async fn create_upload(
        &self,
        _upload: UploadRecord,
        _quota_bytes: Option<u64>,
    ) -> Result<UploadAdmission, StorageError> {
        Err(super::not_yet("create_upload"))
    }

    async fn media_usage(&self) -> Result<Vec<MediaUsageRecord>, StorageError> {
        Err(super::not_yet("media_usage"))
    }

    async fn upload(&self, _id: &str) -> Result<Option<UploadRecord>, StorageError> {
        Err(super::not_yet("upload"))
    }

    async fn set_upload_received(
        &self,
        _id: &str,
        _received: u64,
        _now_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("set_upload_received"))
    }

    async fn delete_upload(&self, _id: &str) -> Result<(), StorageError> {
        Err(super::not_yet("delete_upload"))
    }

    async fn stale_uploads(&self, _before_ms: i64) -> Result<Vec<String>, StorageError> {
        Err(super::not_yet("stale_uploads"))
    }

    async fn blob(&self, _sha256: &str) -> Result<Option<BlobRecord>, StorageError> {
        Err(super::not_yet("blob"))
    }

    async fn complete_upload(
        &self,
        _upload_id: &str,
        _blob: BlobRecord,
        _attachment: NewAttachment,
    ) -> Result<AttachmentRecord, StorageError> {
        Err(super::not_yet("complete_upload"))
    }

    async fn attachment(&self, _id: AttachmentId) -> Result<Option<AttachmentPlace>, StorageError> {
        Err(super::not_yet("attachment"))
    }

    async fn set_thumbnail(
        &self,
        _sha256: &str,
        _state: ThumbnailState,
        _content_type: Option<String>,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("set_thumbnail"))
    }

    async fn pending_thumbnails(&self) -> Result<Vec<String>, StorageError> {
        Err(super::not_yet("pending_thumbnails"))
    }

    async fn delete_unattached(&self, _before_ms: i64) -> Result<u64, StorageError> {
        Err(super::not_yet("delete_unattached"))
    }

    async fn orphan_blobs(&self, _limit: u32) -> Result<Vec<BlobRecord>, StorageError> {
        Err(super::not_yet("orphan_blobs"))
    }

    async fn delete_orphan_blob(&self, _sha256: &str) -> Result<bool, StorageError> {
        Err(super::not_yet("delete_orphan_blob"))
    }

    async fn set_avatar(
        &self,
        _owner: AvatarOwner,
        _blob: Option<BlobRecord>,
    ) -> Result<Option<String>, StorageError> {
        Err(super::not_yet("set_avatar"))
    }

    async fn avatar(&self, _owner: AvatarOwner) -> Result<Option<BlobRecord>, StorageError> {
        Err(super::not_yet("avatar"))
    }
}
