//! `jeco-server backup`: snapshot, list, archive. See the [module doc](super).

use super::{
    ConversationPosition, DATABASE, DatabaseEntry, FORMAT, FORMAT_VERSION, FileEntry, Hashing,
    MANIFEST, Manifest, MediaEntry, MediaObject, SECRET, UserPosition, hash_file, megabytes,
    sync_dir,
};
use crate::config::{Config, MediaBackend};
use crate::services::media::blobs::{Rendition, object_key};
use crate::storage::StorageError;
use crate::storage::sqlite::snapshot::{SnapshotFacts, snapshot};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Snapshots taken before giving up when media the snapshot refers to keeps being deleted.
const ATTEMPTS: u32 = 3;
/// Least time between two progress lines about media.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no database at {0} (is --data-dir the server's data directory?)")]
    NoDatabase(PathBuf),
    /// The server runs on PostgreSQL: its database is backed up with PostgreSQL's own tools.
    #[error(
        "the database is PostgreSQL: back it up with pg_dump (server/README \"Backups\"); \
         this command backs up the SQLite database"
    )]
    Postgres,
    #[error("cannot snapshot the database: {0}")]
    Snapshot(#[from] StorageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "media object {key} is referenced by the database but missing from {dir} \
         (restore it from an older backup, or delete the message that refers to it)"
    )]
    MediaMissing { key: String, dir: PathBuf },
    #[error("media object {key} is damaged: {reason}")]
    MediaDamaged { key: String, reason: String },
    #[error(
        "media the snapshot refers to was deleted before it could be copied, {ATTEMPTS} times in \
         a row (last: {key}); try again"
    )]
    MediaKeptVanishing { key: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// Why one attempt did not produce an archive.
enum Failed {
    /// A media object the snapshot refers to is gone: deleted since (take a new snapshot), or
    /// missing all along (an error).
    Vanished(String),
    Error(BackupError),
}

impl From<BackupError> for Failed {
    fn from(e: BackupError) -> Self {
        Self::Error(e)
    }
}

/// Writes a backup of the data directory of `config` to `to` (replacing a file there only once
/// the new one is complete and on disk), while a server may be running on it. `progress` gets
/// one line at a time, for a person watching. Blocking: call it from a thread that may block.
pub fn backup(
    config: &Config,
    to: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, BackupError> {
    if matches!(config.database(), Ok(crate::config::Database::Postgres(_))) {
        return Err(BackupError::Postgres);
    }
    let database = config.database_path();
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database));
    }
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // Beside the target: the same file system (so the rename is atomic), and room for a copy of
    // the database is likelier there than in a small /tmp.
    let staging = tempfile::Builder::new()
        .prefix(".jeco-backup-")
        .tempdir_in(&dir)
        .map_err(io(format!("cannot write in {}", dir.display())))?;
    let mut attempt = 0;
    let mut vanished = None;
    loop {
        attempt += 1;
        let copy = staging.path().join(format!("{DATABASE}.{attempt}"));
        progress(&format!("taking a snapshot of {}", database.display()));
        let started = Instant::now();
        let facts = snapshot(&database, &copy)?;
        let size = std::fs::metadata(&copy)
            .map_err(io("cannot read the snapshot"))?
            .len();
        progress(&format!(
            "snapshot taken in {:.1?}: {}, {} conversations, {} media objects",
            started.elapsed(),
            megabytes(size),
            facts.conversations.len(),
            facts.blobs.len(),
        ));
        if facts.dropped_uploads > 0 {
            progress(&format!(
                "left out {} unfinished upload(s); their clients will start them again",
                facts.dropped_uploads
            ));
        }
        match write_archive(config, &copy, &facts, &dir, progress) {
            Ok((manifest, file)) => {
                let file = file.persist(to).map_err(|e| BackupError::Io {
                    what: format!("cannot write {}", to.display()),
                    source: e.error,
                })?;
                drop(file);
                sync_dir(&dir).map_err(io(format!("cannot sync {}", dir.display())))?;
                return Ok(manifest);
            }
            // The same object again: not deleted since the snapshot, but missing all along.
            Err(Failed::Vanished(key)) if vanished.as_ref() == Some(&key) => {
                return Err(BackupError::MediaMissing {
                    key,
                    dir: config.media_path(),
                });
            }
            Err(Failed::Vanished(key)) if attempt < ATTEMPTS => {
                progress(&format!(
                    "{key} was deleted after the snapshot (its message was deleted); \
                     taking a new snapshot"
                ));
                let _ = std::fs::remove_file(&copy);
                vanished = Some(key);
            }
            Err(Failed::Vanished(key)) => return Err(BackupError::MediaKeptVanishing { key }),
            Err(Failed::Error(e)) => return Err(e),
        }
    }
}

/// The manifest and the archive in a synced temporary file in `dir`.
fn write_archive(
    config: &Config,
    copy: &Path,
    facts: &SnapshotFacts,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(Manifest, tempfile::NamedTempFile), Failed> {
    let (sha256, size) = hash_file(copy).map_err(io("cannot read the snapshot"))?;
    let database = DatabaseEntry {
        backend: "sqlite".into(),
        schema_version: facts.schema_version,
        file: FileEntry {
            path: DATABASE.into(),
            size,
            sha256,
        },
    };
    let secret_path = config.secret_path();
    let secret_key = match hash_file(&secret_path) {
        Ok((sha256, size)) => Some(FileEntry {
            path: SECRET.into(),
            size,
            sha256,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            progress("no secret.key in the data directory; the restored server will make one");
            None
        }
        Err(e) => return Err(io(format!("cannot read {}", secret_path.display()))(e).into()),
    };
    let included = config.media_backend == MediaBackend::Local;
    let media_dir = config.media_path();
    let objects = list_media(facts, included.then_some(media_dir.as_path()))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        created_at: now_rfc3339(),
        server_version: env!("CARGO_PKG_VERSION").into(),
        database,
        secret_key,
        conversations: facts
            .conversations
            .iter()
            .map(|&(id, last_seq)| ConversationPosition { id, last_seq })
            .collect(),
        user_event_heads: facts
            .user_heads
            .iter()
            .map(|&(user_id, last_seq)| UserPosition { user_id, last_seq })
            .collect(),
        media: MediaEntry {
            backend: config.media_backend,
            included,
            objects,
        },
    };

    let file = tempfile::Builder::new()
        .prefix(".jeco-backup-")
        .suffix(".tar.partial")
        .tempfile_in(dir)
        .map_err(io(format!("cannot write in {}", dir.display())))?;
    let writer = BufWriter::with_capacity(
        1 << 20,
        file.as_file()
            .try_clone()
            .map_err(io("cannot write the archive"))?,
    );
    let mut tar = tar::Builder::new(writer);
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    append(&mut tar, MANIFEST, json.len() as u64, json.as_slice())
        .map_err(io("cannot write the archive"))?;
    let db = std::fs::File::open(copy).map_err(io("cannot read the snapshot"))?;
    append(&mut tar, DATABASE, size, db).map_err(io("cannot write the archive"))?;
    progress(&format!("archived the database ({})", megabytes(size)));
    if let Some(secret) = &manifest.secret_key {
        let f = std::fs::File::open(&secret_path)
            .map_err(io(format!("cannot read {}", secret_path.display())))?;
        append(&mut tar, SECRET, secret.size, f).map_err(io("cannot write the archive"))?;
    }
    if included {
        archive_media(&mut tar, &manifest.media.objects, &media_dir, progress)?;
    }
    let mut writer = tar.into_inner().map_err(io("cannot finish the archive"))?;
    writer.flush().map_err(io("cannot write the archive"))?;
    drop(writer);
    file.as_file()
        .sync_all()
        .map_err(io("cannot sync the archive"))?;
    Ok((manifest, file))
}

/// The objects the snapshot refers to. With the local store (`media_dir`), each one is looked at:
/// its size and, for thumbnails (whose name is not their hash), its hash go into the manifest.
fn list_media(facts: &SnapshotFacts, media_dir: Option<&Path>) -> Result<Vec<MediaObject>, Failed> {
    let mut objects = Vec::with_capacity(facts.blobs.len());
    for blob in &facts.blobs {
        let key = object_key(&blob.sha256, Rendition::Original);
        if let Some(dir) = media_dir {
            let len = match std::fs::metadata(dir.join(&key)) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Failed::Vanished(key));
                }
                Err(e) => return Err(io(format!("cannot read {key}"))(e).into()),
            };
            if len != blob.size {
                return Err(BackupError::MediaDamaged {
                    key,
                    reason: format!("{len} bytes on disk, {} in the database", blob.size),
                }
                .into());
            }
        }
        objects.push(MediaObject {
            key,
            size: Some(blob.size),
            sha256: Some(blob.sha256.clone()),
        });
        if blob.thumbnail {
            let key = object_key(&blob.sha256, Rendition::Thumbnail);
            let (sha256, size) = match media_dir {
                Some(dir) => match hash_file(&dir.join(&key)) {
                    Ok((sha256, size)) => (Some(sha256), Some(size)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(Failed::Vanished(key));
                    }
                    Err(e) => return Err(io(format!("cannot read {key}"))(e).into()),
                },
                None => (None, None),
            };
            objects.push(MediaObject { key, size, sha256 });
        }
    }
    Ok(objects)
}

/// Copies each object into the archive, checking it against the manifest as it goes.
fn archive_media<W: Write>(
    tar: &mut tar::Builder<W>,
    objects: &[MediaObject],
    media_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), Failed> {
    let total: u64 = objects.iter().filter_map(|o| o.size).sum();
    let mut done_bytes = 0;
    let mut last = Instant::now();
    for (i, object) in objects.iter().enumerate() {
        // `list_media` gives every object of the local store its size and hash.
        let (size, sha256) = (object.size.unwrap_or(0), object.sha256.as_deref());
        let path = media_dir.join(&object.key);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Failed::Vanished(object.key.clone()));
            }
            Err(e) => return Err(io(format!("cannot read {}", object.key))(e).into()),
        };
        // At most `size` bytes: the header says so, and a longer file is damaged (below).
        let mut reader = Hashing::new(file.take(size));
        append(tar, &object.archive_path(), size, &mut reader).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Failed::Error(BackupError::MediaDamaged {
                    key: object.key.clone(),
                    reason: format!("shorter than its {size} bytes"),
                })
            } else {
                io("cannot write the archive")(e).into()
            }
        })?;
        let (actual, _) = reader.finish();
        if Some(actual.as_str()) != sha256 {
            return Err(BackupError::MediaDamaged {
                key: object.key.clone(),
                reason: "its content does not match its SHA-256".into(),
            }
            .into());
        }
        done_bytes += size;
        if last.elapsed() >= PROGRESS_EVERY || i + 1 == objects.len() {
            last = Instant::now();
            progress(&format!(
                "media: {}/{} objects, {} of {}",
                i + 1,
                objects.len(),
                megabytes(done_bytes),
                megabytes(total)
            ));
        }
    }
    Ok(())
}

/// One regular file, owner-only, stamped now.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: impl Read,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    tar.append_data(&mut header, path, data)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats")
}
