//! Backup and restore of a server's data directory: `jeco-server backup --to FILE` while the
//! server runs, `jeco-server restore FILE` into an empty data directory.
//!
//! **What a backup holds.** One archive with everything a server needs to come back as it was:
//! - `manifest.json`, first: format and version, when and by which server it was made, the
//!   database's size and SHA-256 and schema version, each conversation's newest position and each
//!   user's newest event position at the snapshot, and the list of media objects the snapshot
//!   refers to with their sizes and SHA-256;
//! - `jeco.db`: a consistent snapshot of the database ([`crate::storage::sqlite::snapshot`]:
//!   SQLite's online backup API, one read transaction, WAL content included), taken while the
//!   server keeps writing;
//! - `secret.key`: the signing secret. Without it every session would end and every two-factor
//!   secret (sealed under a key derived from it) would be lost, so a restore would not be whole;
//!   it also means the archive must be kept as privately as the data directory (it is written
//!   with mode 0600);
//! - `media/blobs/…` and `media/thumbs/…`: with the local media store, the objects themselves,
//!   under their names in the store. With an S3 store the manifest lists them and the bucket is
//!   copied by the bucket's own tools (server/README, "Backups").
//!
//! **Why a tar.** It streams: the archive is written and read front to back with bounded memory
//! however many gigabytes of media it holds, and every file keeps its name, so an operator can
//! look inside with `tar -tvf` and take one file out with `tar -xOf`. The manifest is its first
//! entry, so a restore checks the format before it extracts anything. It is not compressed: media
//! (images, voice notes) is compressed already, and an operator who wants the database part
//! smaller can pipe the file through `zstd`. A tar has no checksum of file contents, which is why
//! the manifest carries a SHA-256 of every file and a restore checks each one.
//!
//! **Consistency under load.** The snapshot is one commit's state. Media is copied after it, and
//! media objects are content-addressed and never change once written, so each object the
//! snapshot's rows refer to is the same bytes whenever it is read. The only way one can go is the
//! media sweep deleting a blob whose last reference was deleted *after* the snapshot; the backup
//! then takes a new snapshot (whose rows no longer refer to it) and starts over, a few times at
//! most. Objects uploaded after the snapshot are not in the archive, and nothing in it refers to
//! them.
//!
//! **Acknowledged means on disk.** The archive is written to a temporary file beside the target,
//! synced, renamed into place, and the directory synced: a `backup` that exits 0 has left a
//! complete archive on disk, and a failed one leaves the previous file at that path untouched. A
//! restore writes the database under a temporary name and renames it last, after every file is
//! checked and synced; a failed restore removes what it wrote.

mod create;
mod restore;

pub use create::{BackupError, backup};
pub use restore::{RestoreError, restore};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;

/// `format` of every manifest.
pub const FORMAT: &str = "jeco-backup";
/// `version` of the archive layout this server writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's name in the archive (its first entry).
pub const MANIFEST: &str = "manifest.json";
/// The database's name in the archive.
pub const DATABASE: &str = "jeco.db";
/// The signing secret's name in the archive.
pub const SECRET: &str = "secret.key";
/// Folder of media objects in the archive: `media/<object key>`.
pub const MEDIA_FOLDER: &str = "media";
/// Largest manifest a restore reads (it lists every media object: ~200 bytes each).
const MANIFEST_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// What an archive holds; its first entry, `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the server that wrote it.
    pub version: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Version of the `jeco-server` that wrote it.
    pub server_version: String,
    pub database: DatabaseEntry,
    /// Absent when the data directory had no signing secret.
    pub secret_key: Option<FileEntry>,
    /// Every conversation's newest position in the snapshot, by id.
    pub conversations: Vec<ConversationPosition>,
    /// Every user's newest event position in the snapshot, by id.
    pub user_event_heads: Vec<UserPosition>,
    pub media: MediaEntry,
}

/// The database file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    /// `sqlite`.
    pub backend: String,
    /// The newest migration applied to it.
    pub schema_version: i64,
    #[serde(flatten)]
    pub file: FileEntry,
}

/// One file in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name in the archive.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPosition {
    pub id: i64,
    pub last_seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPosition {
    pub user_id: i64,
    pub last_seq: i64,
}

/// The media objects the snapshot refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaEntry {
    /// The media store of the server that was backed up: `local` or `s3`.
    pub backend: crate::config::MediaBackend,
    /// Whether the objects are in the archive (under `media/<key>`): with the local store.
    pub included: bool,
    pub objects: Vec<MediaObject>,
}

/// One media object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaObject {
    /// Its name in the media store, e.g. `blobs/ab/ab12…`.
    pub key: String,
    /// Known for originals (their name is their hash) and for every archived object.
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

impl MediaObject {
    /// Its name in the archive.
    pub fn archive_path(&self) -> String {
        format!("{MEDIA_FOLDER}/{}", self.key)
    }
}

/// Whether `key` is a media object name the server makes (`blobs|thumbs/xx/<sha256>`): nothing
/// else is ever read from or written to a media directory by a backup or a restore.
fn is_object_key(key: &str) -> bool {
    let mut parts = key.split('/');
    let (Some(folder), Some(prefix), Some(name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    matches!(folder, "blobs" | "thumbs")
        && name.len() == 64
        && hex(name)
        && name.starts_with(prefix)
        && prefix.len() == 2
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Lowercase hex SHA-256 and length of what was read.
    fn finish(self) -> (String, u64) {
        (format!("{:x}", self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// SHA-256 and size of a whole file.
fn hash_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut reader = Hashing::new(std::fs::File::open(path)?);
    std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok(reader.finish())
}

/// Syncs a directory, so that the names created or renamed in it are on disk too.
fn sync_dir(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(path)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// "12.3 MB"
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests;
