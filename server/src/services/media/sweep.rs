//! Background work: thumbnails, expiry of unattached uploads, deletion of unreferenced blobs.

use super::blobs::Rendition;
use super::{Media, images};
use crate::storage::ThumbnailState;
use std::sync::Arc;

/// Largest image a thumbnail is made of (it is read whole into memory).
const THUMBNAIL_SOURCE_MAX: u64 = 40 * 1024 * 1024;
/// Orphaned blobs deleted per sweep round.
const ORPHANS_PER_ROUND: u32 = 500;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub uploads: usize,
    pub unattached: u64,
    pub blobs: usize,
}

impl Media {
    /// Makes the thumbnail of a blob in the background.
    pub(super) fn spawn_thumbnail(self: &Arc<Self>, sha256: String) {
        let media = self.clone();
        tokio::spawn(async move {
            let state = match media.make_thumbnail(&sha256).await {
                Ok(ty) => {
                    let stored = media
                        .storage
                        .set_thumbnail(&sha256, ThumbnailState::Ready, Some(ty.to_owned()))
                        .await;
                    if let Err(e) = stored {
                        tracing::warn!(error = %e, "cannot record a thumbnail");
                    }
                    return;
                }
                Err(e) => {
                    tracing::info!(%sha256, error = %e, "no thumbnail for an image");
                    ThumbnailState::Failed
                }
            };
            if let Err(e) = media.storage.set_thumbnail(&sha256, state, None).await {
                tracing::warn!(error = %e, "cannot record a thumbnail failure");
            }
        });
    }

    async fn make_thumbnail(&self, sha256: &str) -> Result<&'static str, String> {
        let blob = self
            .storage
            .blob(sha256)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the blob is gone")?;
        if blob.size > THUMBNAIL_SOURCE_MAX {
            return Err("the image is too large to thumbnail".into());
        }
        let _permit = self.decoding.acquire().await.map_err(|e| e.to_string())?;
        let bytes = self
            .blobs
            .read_all(sha256, Rendition::Original)
            .await
            .map_err(|e| e.to_string())?;
        let (thumb, ty) = tokio::task::spawn_blocking(move || images::thumbnail(&bytes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.blobs
            .put_bytes(sha256, Rendition::Thumbnail, thumb)
            .await
            .map_err(|e| e.to_string())?;
        Ok(ty)
    }

    /// Restarts thumbnails interrupted by a shutdown.
    pub async fn resume_thumbnails(self: &Arc<Self>) {
        match self.storage.pending_thumbnails().await {
            Ok(pending) => {
                for sha256 in pending {
                    self.spawn_thumbnail(sha256);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list pending thumbnails"),
        }
    }

    /// One round: stale uploads, expired unattached attachments, then orphaned blobs.
    pub async fn sweep(&self) -> Result<Swept, crate::services::ServiceError> {
        let mut swept = Swept::default();
        let ttl_ms = self.settings.unattached_ttl.as_millis() as i64;
        let before = self.settings.clock.now_ms() - ttl_ms;
        for id in self.storage.stale_uploads(before).await? {
            // An upload being written to right now is not stale, whatever its row says.
            let Ok(_writing) = self.start_writing(&id) else {
                continue;
            };
            self.discard(&id).await?;
            swept.uploads += 1;
        }
        swept.uploads += self.remove_stray_parts(before).await;
        swept.unattached = self.storage.delete_unattached(before).await?;
        for blob in self.storage.orphan_blobs(ORPHANS_PER_ROUND).await? {
            let _lock = self.stripe(&blob.sha256).lock().await;
            // The row goes first: if the object deletion then fails, an object without a row is
            // only wasted space, whereas a row without its object would break a later upload of
            // the same content (it would be deduplicated against nothing).
            if self.storage.delete_orphan_blob(&blob.sha256).await? {
                if let Err(e) = self.blobs.delete(&blob.sha256).await {
                    tracing::warn!(sha256 = %blob.sha256, error = %e, "cannot delete a blob");
                }
                swept.blobs += 1;
            }
        }
        if swept != Swept::default() {
            tracing::info!(?swept, "media sweep");
        }
        Ok(swept)
    }

    /// Upload files without an upload row (a crash between deleting the row and the file), once
    /// they are as old as an expired upload.
    async fn remove_stray_parts(&self, before_ms: i64) -> usize {
        let Ok(mut dir) = tokio::fs::read_dir(&self.settings.uploads_dir).await else {
            return 0;
        };
        let mut removed = 0;
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".part") else {
                continue;
            };
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .is_some_and(|t| (t.as_millis() as i64) < before_ms);
            if old
                && matches!(self.storage.upload(id).await, Ok(None))
                && tokio::fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        removed
    }

    /// Sweeps every `sweep_interval`, and soon after something may have orphaned a blob.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let media = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(media.settings.sweep_interval) => {}
                    _ = media.orphans.notified() => {}
                }
                if let Err(e) = media.sweep().await {
                    tracing::warn!(error = %e, "media sweep failed");
                }
            }
        })
    }
}
