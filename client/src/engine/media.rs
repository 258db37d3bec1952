//! Files: taking them into the outbox, uploading them resumably, and the media cache.
//!
//! A file to send is copied into the account's data (`outbox-files/`) and hashed when it is
//! queued: the queued message then does not depend on the original staying where it was, and the
//! server can verify what it received. The upload itself ([`super::deliver`]) opens a server-side
//! upload, saves its id in the outbox item, and sends chunks; after a disconnect or a restart it
//! asks the server how far it got and continues from there.
//!
//! Downloaded attachments go into `media/`, named by their SHA-256 (so two messages with the same
//! file share one copy), checked against it, and evicted least-recently-used beyond the cap.

use super::{Engine, EngineError, Result, with_token};
use crate::cache::Cache;
use crate::outbox::PendingUpload;
use jeco_shared::media::{Attachment, AttachmentKind};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file to attach to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileToSend {
    pub path: PathBuf,
    /// File, image or voice note (the server still detects the real type from the bytes).
    pub kind: AttachmentKind,
    /// The name others see; the file's own name when `None`.
    pub name: Option<String>,
    /// Voice notes: length and waveform peaks, as recorded.
    pub duration_ms: Option<u32>,
    pub waveform: Option<Vec<u8>>,
}

impl FileToSend {
    /// A plain file, its kind guessed from the extension (images), named as on disk.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let kind = match ext.as_str() {
            "png" | "jpg" | "jpeg" | "gif" | "webp" => AttachmentKind::Image,
            "ogg" | "opus" | "oga" | "webm" | "m4a" => AttachmentKind::Voice,
            _ => AttachmentKind::File,
        };
        Self {
            path,
            kind,
            name: None,
            duration_ms: None,
            waveform: None,
        }
    }
}

fn invalid(what: impl std::fmt::Display) -> EngineError {
    EngineError::Invalid(what.to_string())
}

/// Hex SHA-256 and size of a file, read in blocks.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

/// Copies a file into `dir` for the outbox and describes it.
pub(crate) fn stage(
    dir: &Path,
    client_id: &str,
    index: usize,
    file: &FileToSend,
) -> Result<PendingUpload> {
    let meta = std::fs::metadata(&file.path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", file.path.display())))?;
    if !meta.is_file() {
        return Err(invalid(format!("{} is not a file", file.path.display())));
    }
    let name = match &file.name {
        Some(n) => n.clone(),
        None => file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned()),
    };
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(jeco_shared::media::FILE_NAME_MAX)
        .collect();
    if name.trim().is_empty() {
        return Err(invalid("a file needs a name"));
    }
    let copy = dir.join(format!("{client_id}-{index}"));
    std::fs::copy(&file.path, &copy).map_err(|e| {
        invalid(format!(
            "cannot keep {} for sending: {e}",
            file.path.display()
        ))
    })?;
    let (sha256, size) =
        hash_file(&copy).map_err(|e| invalid(format!("cannot read {}: {e}", copy.display())))?;
    Ok(PendingUpload {
        path: copy.to_string_lossy().into_owned(),
        name,
        kind: file.kind,
        size,
        sha256,
        duration_ms: file.duration_ms,
        waveform: file.waveform.clone(),
        upload_id: None,
        attachment: None,
    })
}

/// The cached file of an attachment, downloading it first when needed.
pub(crate) async fn cached_or_download(
    engine: &Engine,
    cache: &Cache,
    dir: &Path,
    attachment: &Attachment,
    thumbnail: bool,
) -> Result<PathBuf> {
    // Named by content: never by anything a sender chose (no path tricks possible).
    if attachment.sha256.len() != 64 || !attachment.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid("the attachment has no valid checksum"));
    }
    // `has_thumbnail` may be stale (thumbnails are made after the upload): ask the server.
    let key = if thumbnail {
        format!("{}.thumb", attachment.sha256)
    } else {
        attachment.sha256.clone()
    };
    let path = dir.join(&key);
    if let Ok(meta) = std::fs::metadata(&path) {
        cache.media_touch(&key, meta.len())?;
        return Ok(path);
    }
    // A name of its own per download: the same file may be asked for twice at once (two views
    // of one message), and two writers must never share a partial file.
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| invalid(format!("no randomness: {e}")))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let part = dir.join(format!("{key}.{nonce}.part"));
    let id = attachment.id;
    let written = with_token(&engine.inner.client, |api, token| {
        let part = part.clone();
        async move {
            let mut file = tokio::fs::File::create(&part).await.map_err(|e| {
                crate::api::ApiError::UnexpectedResponse {
                    server: api.server().to_string(),
                    status: 0,
                    detail: format!("cannot create {}: {e}", part.display()),
                }
            })?;
            api.download_attachment(&token, id, thumbnail, &mut file)
                .await
        }
    })
    .await;
    let written = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    };
    if !thumbnail {
        let (sha, _) =
            hash_file(&part).map_err(|e| invalid(format!("cannot read the download: {e}")))?;
        if sha != attachment.sha256 {
            let _ = std::fs::remove_file(&part);
            return Err(invalid("the downloaded file does not match its checksum"));
        }
    }
    if let Err(e) = std::fs::rename(&part, &path) {
        let _ = std::fs::remove_file(&part);
        // Another download of the same content finished first (Windows refuses to replace it).
        if !path.exists() {
            return Err(invalid(format!("cannot store the download: {e}")));
        }
    }
    cache.media_touch(&key, written)?;
    for evicted in cache.media_evict(engine.inner.media_cache_bytes, &key)? {
        let _ = std::fs::remove_file(dir.join(evicted));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_copies_and_hashes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("notes.txt");
        std::fs::write(&original, b"hello").unwrap();
        let staged = stage(dir.path(), "cid", 0, &FileToSend::new(&original)).unwrap();
        assert_eq!(staged.name, "notes.txt");
        assert_eq!(staged.size, 5);
        assert_eq!(
            staged.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        std::fs::remove_file(&original).unwrap();
        assert_eq!(
            std::fs::read(&staged.path).unwrap(),
            b"hello",
            "the copy stays"
        );
        assert_eq!(FileToSend::new("a/b/photo.JPG").kind, AttachmentKind::Image);
        assert!(stage(dir.path(), "cid", 1, &FileToSend::new(dir.path())).is_err());
    }
}
