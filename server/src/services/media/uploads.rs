//! Resumable uploads: open, append at an offset, complete. See [`jeco_shared::media`] for the
//! protocol.
//!
//! The bytes received so far live in `<uploads_dir>/<id>.part`; the database records how many of
//! them are durable (`received`, written after `fsync`). A chunk always starts by cutting the file
//! back to `received`, so bytes of a request that died half-way are either counted or gone, never
//! half-counted. Exceeding the declared size (or the limit) discards the whole upload — the
//! database row and the file — so nothing partial is left behind.

use super::{Media, hex, is_sha256_hex, sniff, store_failed};
use crate::services::{Principal, ServiceError, render};
use crate::storage::{BlobRecord, NewAttachment, ThumbnailState, UploadAdmission, UploadRecord};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use jeco_shared::media::{
    AttachmentKind, CreateUploadRequest, Upload, VOICE_DURATION_MAX_MS, WAVEFORM_PEAKS_MAX,
};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Random bytes in an upload id (22 base64url characters).
const UPLOAD_ID_BYTES: usize = 16;

/// Whether a string can be an upload id (checked before it is used in a file path).
fn valid_upload_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the file check at completion found.
struct Inspected {
    sha256: String,
    content_type: String,
    dimensions: Option<(u32, u32)>,
}

/// Hashes the file and sniffs its type (and an image's upright dimensions). Blocking.
fn inspect(path: &std::path::Path) -> std::io::Result<Inspected> {
    let mut file = std::fs::File::open(path)?;
    let mut head = vec![0u8; sniff::SNIFF_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    let content_type = sniff::content_type(&head);
    file.rewind()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let dimensions = if sniff::is_decodable_image(&content_type) {
        file.rewind()?;
        super::images::upright_dimensions(std::io::BufReader::new(file)).ok()
    } else {
        None
    };
    Ok(Inspected {
        sha256: hex(&hasher.finalize()),
        content_type,
        dimensions,
    })
}

/// Marks an upload as being written; released on drop.
pub(super) struct Writing<'a> {
    media: &'a Media,
    id: String,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.media.writing.lock() {
            set.remove(&self.id);
        }
    }
}

impl Media {
    fn part_path(&self, id: &str) -> PathBuf {
        self.settings.uploads_dir.join(format!("{id}.part"))
    }

    fn render_upload(&self, u: &UploadRecord) -> Upload {
        Upload {
            id: u.id.clone(),
            name: u.name.clone(),
            size: u.size,
            offset: u.received,
            expires_at: render::rfc3339(
                u.updated_at_ms + self.settings.unattached_ttl.as_millis() as i64,
            ),
            attachment: None,
        }
    }

    /// The caller's upload, or `not_found` (also for malformed ids and other users' uploads).
    async fn own_upload(&self, who: &Principal, id: &str) -> Result<UploadRecord, ServiceError> {
        if !valid_upload_id(id) {
            return Err(ServiceError::NotFound);
        }
        self.storage
            .upload(id)
            .await?
            .filter(|u| u.uploader_id == who.user_id)
            .ok_or(ServiceError::NotFound)
    }

    /// Opens an upload. Spends one of the caller's upload budget, checks the declared size against
    /// the limit, validates the metadata, and reserves the size against the quota ([`super::quota`]).
    pub async fn create_upload(
        &self,
        who: &Principal,
        req: CreateUploadRequest,
    ) -> Result<Upload, ServiceError> {
        self.spend_upload_rate(who)?;
        if req.size > self.settings.max_upload_bytes {
            return Err(ServiceError::PayloadTooLarge(format!(
                "files may be at most {} bytes",
                self.settings.max_upload_bytes
            )));
        }
        let sha256 = match req.sha256 {
            Some(s) if is_sha256_hex(&s.to_ascii_lowercase()) => Some(s.to_ascii_lowercase()),
            Some(_) => {
                return Err(ServiceError::field(
                    "sha256",
                    "must be 64 hexadecimal characters",
                ));
            }
            None => None,
        };
        let (duration_ms, waveform) = if req.kind == AttachmentKind::Voice {
            if req
                .duration_ms
                .is_some_and(|d| d == 0 || d > VOICE_DURATION_MAX_MS)
            {
                return Err(ServiceError::field(
                    "duration_ms",
                    format!("must be 1 to {VOICE_DURATION_MAX_MS}"),
                ));
            }
            if req
                .waveform
                .as_ref()
                .is_some_and(|w| w.len() > WAVEFORM_PEAKS_MAX)
            {
                return Err(ServiceError::field(
                    "waveform",
                    format!("must have at most {WAVEFORM_PEAKS_MAX} peaks"),
                ));
            }
            (req.duration_ms, req.waveform)
        } else {
            if req.duration_ms.is_some() || req.waveform.is_some() {
                return Err(ServiceError::field(
                    "kind",
                    "duration_ms and waveform are for voice notes",
                ));
            }
            (None, None)
        };
        let mut raw = [0u8; UPLOAD_ID_BYTES];
        getrandom::fill(&mut raw).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.settings.clock.now_ms();
        let record = UploadRecord {
            id: URL_SAFE_NO_PAD.encode(raw),
            uploader_id: who.user_id,
            name: sniff::clean_file_name(&req.name),
            kind: req.kind,
            size: req.size,
            received: 0,
            sha256,
            duration_ms,
            waveform,
            created_at_ms: now,
            updated_at_ms: now,
        };
        let quota = self.settings.quota_bytes;
        match self.storage.create_upload(record.clone(), quota).await? {
            UploadAdmission::Created => Ok(self.render_upload(&record)),
            UploadAdmission::OverQuota { used } => Err(ServiceError::QuotaExceeded {
                quota: quota.unwrap_or(u64::MAX),
                used,
            }),
        }
    }

    pub async fn upload_status(&self, who: &Principal, id: &str) -> Result<Upload, ServiceError> {
        let u = self.own_upload(who, id).await?;
        Ok(self.render_upload(&u))
    }

    /// Abandons an upload and its bytes.
    pub async fn cancel_upload(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        let u = self.own_upload(who, id).await?;
        let _writing = self.start_writing(&u.id)?;
        self.discard(&u.id).await
    }

    pub(super) fn start_writing(&self, id: &str) -> Result<Writing<'_>, ServiceError> {
        let mut set = self
            .writing
            .lock()
            .map_err(|_| ServiceError::Internal("upload registry poisoned".into()))?;
        if !set.insert(id.to_owned()) {
            return Err(ServiceError::Conflict(
                "another request is writing to this upload".into(),
            ));
        }
        Ok(Writing {
            media: self,
            id: id.to_owned(),
        })
    }

    /// Deletes an upload's row and file.
    pub(super) async fn discard(&self, id: &str) -> Result<(), ServiceError> {
        self.storage.delete_upload(id).await?;
        match tokio::fs::remove_file(self.part_path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ServiceError::Internal(format!("cannot remove upload: {e}"))),
        }
    }

    /// Appends a chunk that starts at `offset`. `declared_len` is the request's Content-Length,
    /// when it has one (checked up front, so an oversized chunk is refused before it is read).
    /// The chunk that reaches the declared size completes the upload.
    pub async fn append<S, E>(
        self: &Arc<Self>,
        who: &Principal,
        id: &str,
        offset: u64,
        declared_len: Option<u64>,
        mut body: S,
    ) -> Result<Upload, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let u = self.own_upload(who, id).await?;
        let _writing = self.start_writing(&u.id)?;
        if offset != u.received {
            return Err(ServiceError::UploadOffsetMismatch {
                offset: u.received,
                given: offset,
            });
        }
        let room = u.size - u.received;
        if declared_len.is_some_and(|n| n > room) {
            self.discard(&u.id).await?;
            return Err(self.too_large(&u));
        }
        let path = self.part_path(&u.id);
        let io = |e: std::io::Error| ServiceError::Internal(format!("upload file: {e}"));
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .await
            .map_err(io)?;
        // Bytes past `received` are from a request that died before they were counted.
        file.set_len(u.received).await.map_err(io)?;
        let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, file);
        tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(u.received))
            .await
            .map_err(io)?;
        let mut written: u64 = 0;
        let mut broken = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    // The client went away: keep what arrived, it can resume from there.
                    broken = Some(e.to_string());
                    break;
                }
            };
            if written + chunk.len() as u64 > room {
                drop(file);
                self.discard(&u.id).await?;
                return Err(self.too_large(&u));
            }
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io)?;
        file.get_ref().sync_data().await.map_err(io)?;
        drop(file);
        let received = u.received + written;
        self.storage
            .set_upload_received(&u.id, received, self.settings.clock.now_ms())
            .await?;
        if let Some(reason) = broken {
            return Err(ServiceError::BadRequest(format!(
                "the upload body ended early ({reason}); {received} bytes are kept, resume from there"
            )));
        }
        let u = UploadRecord {
            received,
            updated_at_ms: self.settings.clock.now_ms(),
            ..u
        };
        if received < u.size {
            return Ok(self.render_upload(&u));
        }
        self.complete(u).await
    }

    fn too_large(&self, u: &UploadRecord) -> ServiceError {
        ServiceError::PayloadTooLarge(format!(
            "more bytes than the declared size of {}; the upload was discarded",
            u.size
        ))
    }

    /// All bytes are in: check, store, create the attachment.
    async fn complete(self: &Arc<Self>, u: UploadRecord) -> Result<Upload, ServiceError> {
        let path = self.part_path(&u.id);
        let inspect_path = path.clone();
        let found = tokio::task::spawn_blocking(move || inspect(&inspect_path))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(format!("upload file: {e}")))?;
        if u.sha256.as_ref().is_some_and(|s| *s != found.sha256) {
            self.discard(&u.id).await?;
            return Err(ServiceError::field(
                "sha256",
                "the uploaded bytes do not match the declared sha256; the upload was discarded",
            ));
        }
        let kind = sniff::kind_for(u.kind, &found.content_type);
        let image = sniff::is_decodable_image(&found.content_type);
        let blob = BlobRecord {
            sha256: found.sha256.clone(),
            size: u.size,
            content_type: found.content_type,
            width: found.dimensions.map(|d| d.0),
            height: found.dimensions.map(|d| d.1),
            thumbnail: if image && found.dimensions.is_some() {
                ThumbnailState::Pending
            } else {
                ThumbnailState::None
            },
            thumbnail_type: None,
            created_at_ms: self.settings.clock.now_ms(),
        };
        let new_blob;
        let attachment = {
            let _lock = self.stripe(&blob.sha256).lock().await;
            new_blob = self.storage.blob(&blob.sha256).await?.is_none();
            if new_blob {
                self.blobs
                    .put_file(&blob.sha256, &path)
                    .await
                    .map_err(store_failed)?;
            }
            self.storage
                .complete_upload(
                    &u.id,
                    blob.clone(),
                    NewAttachment {
                        uploader_id: u.uploader_id,
                        kind,
                        name: u.name.clone(),
                        duration_ms: if kind == AttachmentKind::Voice {
                            u.duration_ms
                        } else {
                            None
                        },
                        waveform: if kind == AttachmentKind::Voice {
                            u.waveform.clone()
                        } else {
                            None
                        },
                        created_at_ms: self.settings.clock.now_ms(),
                    },
                )
                .await?
        };
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!(error = %e, "cannot remove a completed upload's file");
        }
        if new_blob && blob.thumbnail == ThumbnailState::Pending {
            self.spawn_thumbnail(blob.sha256.clone());
        }
        let mut done = self.render_upload(&u);
        done.attachment = Some(render::attachment(&attachment));
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_checked_before_use_in_paths() {
        assert!(valid_upload_id("k3J9xQ2mV8pL0aZ7tR4wYe"));
        assert!(!valid_upload_id("../../../../etc/passwd"));
        assert!(!valid_upload_id("k3J9xQ2mV8pL0aZ7tR4wY/"));
        assert!(!valid_upload_id(""));
    }
}
