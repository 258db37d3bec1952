//! Per-user storage quota and upload rate.
//!
//! One user once stored 20 × 10 MB in a second; unsent uploads lived a day and sent ones forever.
//! So every user has a storage quota (`media_quota_bytes`) and a budget of new uploads per minute
//! (`media_upload_rate_per_minute`, `media_upload_rate_burst`).
//!
//! **What counts** toward a user's quota is what they *caused* to be stored, independent of what
//! anyone else uploaded:
//! - every attachment they uploaded, at its full size, whether or not it has been sent yet — even
//!   when the same content is stored once for several users (content-addressed deduplication saves
//!   the server space; it does not lend quota, and it must not reveal through the quota that
//!   someone else has the same file);
//! - the declared size of each of their unfinished uploads, reserved when the upload is opened, so
//!   parallel uploads cannot together pass the quota (the check and the insert are one storage
//!   transaction);
//! - not avatars: they are resized to one small picture per user or team.
//!
//! Space comes back when a message with files is deleted, when an unsent upload expires
//! (`media_unattached_ttl_secs`) or is cancelled, and when an account is deleted. A refused upload
//! is `413 quota_exceeded` whose `fields` carry `remaining_bytes`, `quota_bytes` and `used_bytes`;
//! too many new uploads is `429 rate_limited` with `Retry-After`.
//!
//! Admins see usage per user at `GET /api/v1/admin/media-usage` or with
//! `jeco-server admin usage`.

use super::Media;
use crate::services::{Principal, ServiceError};
use crate::storage::{MediaUsageRecord, Storage};
use jeco_shared::media::{MediaUsage, MediaUsageReport};

impl Media {
    /// Spends one of `who`'s new-upload budget.
    pub(super) fn spend_upload_rate(&self, who: &Principal) -> Result<(), ServiceError> {
        self.upload_rate
            .check(who.user_id)
            .map_err(|retry_after| ServiceError::UploadRateLimited { retry_after })
    }

    /// `GET /admin/media-usage`: server admins only.
    pub async fn usage(&self, who: &Principal) -> Result<MediaUsageReport, ServiceError> {
        if !who.is_admin {
            return Err(ServiceError::Forbidden);
        }
        usage_report(self.storage.as_ref(), self.settings.quota_bytes).await
    }
}

/// Usage of every user with media (also for the admin CLI, which has no running server).
pub async fn usage_report(
    storage: &dyn Storage,
    quota_bytes: Option<u64>,
) -> Result<MediaUsageReport, ServiceError> {
    let users = storage
        .media_usage()
        .await?
        .into_iter()
        .map(|r: MediaUsageRecord| MediaUsage {
            user_id: r.user_id,
            username: r.username,
            used_bytes: r.attachment_bytes + r.upload_bytes,
            attachments: r.attachments,
            attachment_bytes: r.attachment_bytes,
            uploads_in_progress: r.uploads,
            upload_bytes: r.upload_bytes,
        })
        .collect();
    Ok(MediaUsageReport { quota_bytes, users })
}
