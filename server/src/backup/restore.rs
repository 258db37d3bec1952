//! `jeco-server restore`: check, extract, verify, put in place. See the [module doc](super).

use super::{
    DATABASE, FORMAT, FORMAT_VERSION, Hashing, MANIFEST, MANIFEST_MAX_BYTES, MEDIA_FOLDER,
    Manifest, SECRET, is_object_key, megabytes, sync_dir,
};
use crate::config::{Config, MediaBackend};
use crate::storage::sqlite::snapshot;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Least time between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The database's name while it is being restored: a server started on a half-restored directory
/// finds no `jeco.db`, and a rerun of `restore` finds the directory not empty.
const DATABASE_PARTIAL: &str = "jeco.db.restoring";

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "{0} is not empty: restore only into an empty or new directory, so that nothing is \
         overwritten (stop the server and move the old data aside first)"
    )]
    NotEmpty(PathBuf),
    /// The server is configured for PostgreSQL: a backup holds a SQLite database.
    #[error(
        "the configured database is PostgreSQL: restore into a SQLite data directory, then move \
         it with `jeco-server db copy` (server/README \"Moving to PostgreSQL\")"
    )]
    Postgres,
    #[error("cannot open the archive {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a complete Jeco backup: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "{path} is a Jeco backup of format version {found}; this server reads version \
         {FORMAT_VERSION} (use a newer jeco-server)"
    )]
    Unsupported { path: PathBuf, found: u32 },
    #[error(
        "the archive holds the media files, but this configuration stores media in S3: restore \
         with --media-backend local, then copy the media directory into the bucket"
    )]
    MediaBackend,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RestoreError {
    let what = what.into();
    move |source| RestoreError::Io { what, source }
}

/// Restores the archive at `from` into the (empty or missing) data directory of `config`, and its
/// media into the local media directory. Refuses a directory that holds anything. On any failure
/// it removes what it wrote, leaving the directories as empty as it found them. Blocking.
pub fn restore(
    config: &Config,
    from: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, RestoreError> {
    if matches!(config.database(), Ok(crate::config::Database::Postgres(_))) {
        return Err(RestoreError::Postgres);
    }
    let data_dir = config.data_dir.clone();
    let media_dir = (config.media_backend == MediaBackend::Local).then(|| config.media_path());
    let mut targets = vec![data_dir.clone()];
    if let Some(media) = &media_dir
        && !media.starts_with(&data_dir)
    {
        targets.push(media.clone());
    }
    for dir in &targets {
        if !is_empty(dir).map_err(io(format!("cannot read {}", dir.display())))? {
            return Err(RestoreError::NotEmpty(dir.clone()));
        }
    }
    let file = std::fs::File::open(from).map_err(|source| RestoreError::Open {
        path: from.to_owned(),
        source,
    })?;
    let written = Written::new(targets)?;
    let manifest = extract(
        BufReader::with_capacity(1 << 20, file),
        from,
        &data_dir,
        media_dir.as_deref(),
        progress,
    )?;
    written.keep();
    Ok(manifest)
}

fn extract(
    reader: impl Read,
    from: &Path,
    data_dir: &Path,
    media_dir: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<Manifest, RestoreError> {
    let damaged = |reason: String| RestoreError::Damaged {
        path: from.to_owned(),
        reason,
    };
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive
        .entries()
        .map_err(|e| damaged(format!("not a tar archive ({e})")))?;
    let manifest = match entries.next() {
        None => return Err(damaged("it is empty".into())),
        Some(Err(e)) => return Err(damaged(format!("not a tar archive ({e})"))),
        Some(Ok(entry)) => read_manifest(entry, from)?,
    };
    if manifest.media.included && media_dir.is_none() {
        return Err(RestoreError::MediaBackend);
    }
    // Every file the manifest promises: archive path → (size, sha256).
    let mut expected: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let db = &manifest.database.file;
    expected.insert(DATABASE.into(), (db.size, db.sha256.clone()));
    if let Some(secret) = &manifest.secret_key {
        expected.insert(SECRET.into(), (secret.size, secret.sha256.clone()));
    }
    if manifest.media.included {
        for object in &manifest.media.objects {
            let (Some(size), Some(sha256)) = (object.size, object.sha256.clone()) else {
                return Err(damaged(format!(
                    "the manifest lists {} without a hash",
                    object.key
                )));
            };
            if !is_object_key(&object.key) {
                return Err(damaged(format!(
                    "the manifest lists a media object named {:?}",
                    object.key
                )));
            }
            expected.insert(object.archive_path(), (size, sha256));
        }
    }
    let total: u64 = expected.values().map(|(size, _)| size).sum();
    let count = expected.len();
    let mut done_bytes = 0;
    let mut last = Instant::now();
    let mut created_dirs = BTreeSet::new();

    for entry in entries {
        let mut entry = entry.map_err(|e| damaged(format!("unreadable ({e})")))?;
        let name = entry
            .path()
            .map_err(|e| damaged(format!("an entry has a bad name ({e})")))?
            .to_string_lossy()
            .into_owned();
        let Some((size, sha256)) = expected.remove(&name) else {
            return Err(damaged(format!(
                "it holds {name:?}, which its manifest does not list (or lists once)"
            )));
        };
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() != size {
            return Err(damaged(format!(
                "{name} is not the {size}-byte file its manifest lists"
            )));
        }
        let dest = if name == DATABASE {
            data_dir.join(DATABASE_PARTIAL)
        } else if name == SECRET {
            data_dir.join(SECRET)
        } else {
            // Checked by `is_object_key` above: `media/(blobs|thumbs)/xx/<sha256>`.
            let key = &name[MEDIA_FOLDER.len() + 1..];
            let dest = media_dir.expect("checked above").join(key);
            let parent = dest.parent().expect("an object key has folders").to_owned();
            if created_dirs.insert(parent.clone()) {
                std::fs::create_dir_all(&parent)
                    .map_err(io(format!("cannot create {}", parent.display())))?;
            }
            dest
        };
        let mut out = create_private(&dest)?;
        let mut reader = Hashing::new(&mut entry);
        std::io::copy(&mut reader, &mut out).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                damaged(format!("it is cut short inside {name}"))
            } else {
                io(format!("cannot write {}", dest.display()))(e)
            }
        })?;
        let (actual, bytes) = reader.finish();
        if bytes != size {
            return Err(damaged(format!("it is cut short inside {name}")));
        }
        if actual != sha256 {
            return Err(damaged(format!(
                "{name} is damaged (its SHA-256 does not match the manifest)"
            )));
        }
        out.flush()
            .and_then(|()| out.sync_all())
            .map_err(io(format!("cannot write {}", dest.display())))?;
        done_bytes += size;
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            progress(&format!(
                "restored {}/{} files, {} of {}",
                count - expected.len(),
                count,
                megabytes(done_bytes),
                megabytes(total)
            ));
        }
    }
    if let Some(missing) = expected.keys().next() {
        return Err(damaged(format!(
            "it ends before {missing} ({} of {count} files missing): it was cut short",
            expected.len()
        )));
    }
    progress(&format!(
        "restored {count} files, {}; checking the database",
        megabytes(done_bytes)
    ));
    let partial = data_dir.join(DATABASE_PARTIAL);
    let facts = snapshot::verify(&partial)
        .map_err(|e| damaged(format!("its database does not open cleanly ({e})")))?;
    if facts.schema_version != manifest.database.schema_version {
        return Err(damaged(format!(
            "its database is at schema version {}, its manifest says {}",
            facts.schema_version, manifest.database.schema_version
        )));
    }
    for dir in &created_dirs {
        sync_dir(dir).map_err(io(format!("cannot sync {}", dir.display())))?;
    }
    if let Some(media) = media_dir.filter(|m| m.exists()) {
        for folder in ["blobs", "thumbs"] {
            let dir = media.join(folder);
            if dir.exists() {
                sync_dir(&dir).map_err(io(format!("cannot sync {}", dir.display())))?;
            }
        }
        sync_dir(media).map_err(io(format!("cannot sync {}", media.display())))?;
    }
    // Last: only now is it a data directory a server would start on.
    std::fs::rename(&partial, data_dir.join(DATABASE))
        .map_err(io(format!("cannot put {DATABASE} in place")))?;
    sync_dir(data_dir).map_err(io(format!("cannot sync {}", data_dir.display())))?;
    if !manifest.media.included && !manifest.media.objects.is_empty() {
        progress(&format!(
            "the {} media objects are not in this archive (the backed-up server kept them in \
             S3): copy the bucket as server/README (\"Backups\") describes",
            manifest.media.objects.len()
        ));
    }
    Ok(manifest)
}

fn read_manifest<R: Read>(
    mut entry: tar::Entry<'_, R>,
    from: &Path,
) -> Result<Manifest, RestoreError> {
    let damaged = |reason: String| RestoreError::Damaged {
        path: from.to_owned(),
        reason,
    };
    let name = entry.path().ok().map(|p| p.to_string_lossy().into_owned());
    if name.as_deref() != Some(MANIFEST) {
        return Err(damaged(format!("its first entry is not {MANIFEST}")));
    }
    if entry.size() > MANIFEST_MAX_BYTES {
        return Err(damaged(format!("its {MANIFEST} is too large")));
    }
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(format!("its {MANIFEST} is cut short ({e})")))?;
    // The format and version first, so that a newer layout gets a clear answer rather than a
    // complaint about a field this server does not know.
    #[derive(serde::Deserialize)]
    struct Head {
        format: String,
        version: u32,
    }
    let head: Head = serde_json::from_slice(&bytes)
        .map_err(|e| damaged(format!("its {MANIFEST} is not valid ({e})")))?;
    if head.format != FORMAT {
        return Err(damaged(format!(
            "its {MANIFEST} is not a {FORMAT} manifest"
        )));
    }
    if head.version != FORMAT_VERSION {
        return Err(RestoreError::Unsupported {
            path: from.to_owned(),
            found: head.version,
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| damaged(format!("its {MANIFEST} is not valid ({e})")))
}

/// Whether `dir` is missing or holds nothing.
fn is_empty(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// A new file only the owner may read (the database and the signing secret are private).
fn create_private(path: &Path) -> Result<std::fs::File, RestoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(io(format!("cannot create {}", path.display())))
}

/// The directories a restore writes into, each empty or missing before; unless [`Written::keep`]
/// is called, dropping it empties them again (and removes those it created).
struct Written {
    dirs: Vec<(PathBuf, bool)>,
    keep: bool,
}

impl Written {
    /// Creates the directories (the data directory owner-only, as the server does).
    fn new(dirs: Vec<PathBuf>) -> Result<Self, RestoreError> {
        let mut written = Self {
            dirs: Vec::new(),
            keep: false,
        };
        for dir in dirs {
            let existed = dir.exists();
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(&dir)
                .map_err(io(format!("cannot create {}", dir.display())))?;
            written.dirs.push((dir, existed));
        }
        Ok(written)
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for (dir, existed) in &self.dirs {
            if !existed {
                let _ = std::fs::remove_dir_all(dir);
                continue;
            }
            // It was empty: everything in it is ours.
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}
