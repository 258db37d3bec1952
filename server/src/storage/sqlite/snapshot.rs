//! A consistent copy of a live database, taken from another process (`jeco-server backup`), and
//! the facts a backup archive records about it.
//!
//! The copy is made with SQLite's online backup API in **one step** (`step(-1)`): the whole copy
//! runs inside one read transaction on the source, so it is the database as of one commit, WAL
//! content included (the backup reads pages through the source's pager, which reads the WAL). In
//! WAL mode a reader never blocks the server's writers, so sends go on while it runs. It is one
//! step on purpose: the API restarts an incremental backup from the first page whenever another
//! connection writes to the source between steps, and under a steady write load an incremental
//! backup would never finish.
//!
//! The source is opened read-only and without `create`, so a wrong `--data-dir` is an error rather
//! than a new empty database. The copy is then made self-contained (rollback journal instead of
//! WAL, so it is one file) and tidied of what a restored server could not use: unfinished uploads
//! (their bytes are `.part` files outside the database, not archived) and blob rows nothing
//! references any more (the media sweep is about to delete those objects, so the archive could
//! not promise them). After that every blob row is referenced, and the backup must find each one's
//! object.

use super::backend;
use crate::storage::StorageError;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// How long the copy waits for the source to be readable (a checkpoint restarting the log).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at the one backup step when the source answers busy or locked.
const STEP_ATTEMPTS: u32 = 50;

/// What a snapshot holds, read from the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// The newest migration applied to the copy.
    pub schema_version: i64,
    /// Every conversation's id and newest position (`last_seq`), by id.
    pub conversations: Vec<(i64, i64)>,
    /// Every user's id and newest per-user event position, by id.
    pub user_heads: Vec<(i64, i64)>,
    /// The media objects the copy's rows refer to, by sha256.
    pub blobs: Vec<SnapshotBlob>,
    /// Unfinished uploads dropped from the copy.
    pub dropped_uploads: u64,
    /// Unreferenced blob rows dropped from the copy.
    pub dropped_blobs: u64,
}

/// One content-addressed media object (and maybe its thumbnail) that the copy refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotBlob {
    /// Lowercase hex SHA-256 of the content: also its object name.
    pub sha256: String,
    pub size: u64,
    /// Whether a thumbnail object exists for it (`thumbnail_state = 'ready'`).
    pub thumbnail: bool,
}

/// Copies the database at `source` (which a server may be writing to) into a new file `dest`
/// and returns what the copy holds. `dest` must not exist.
pub fn snapshot(source: &Path, dest: &Path) -> Result<SnapshotFacts, StorageError> {
    let open_err = |e: rusqlite::Error| StorageError::Open {
        path: source.to_owned(),
        source: Box::new(e),
    };
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    src.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    let mut dst = Connection::open(dest).map_err(backend)?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(backend)?;
        let mut attempts = 0;
        loop {
            match backup.step(-1).map_err(backend)? {
                StepResult::Done => break,
                // Not done after an all-pages step only when the source was busy or locked.
                _ if attempts < STEP_ATTEMPTS => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {
                    return Err(StorageError::Backend(
                        "the database stayed busy; no snapshot could be taken".into(),
                    ));
                }
            }
        }
    }
    drop(src);
    // One self-contained file: the copy's header still says WAL (it is the source's).
    let mode: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StorageError::Backend(
            format!("the snapshot stayed in {mode} mode").into(),
        ));
    }
    dst.pragma_update(None, "synchronous", 2).map_err(backend)?;
    let tx = dst.transaction().map_err(backend)?;
    let dropped_uploads = tx.execute("DELETE FROM uploads", []).map_err(backend)? as u64;
    let dropped_blobs = tx
        .execute(
            &format!(
                "DELETE FROM media_blobs AS b WHERE {}",
                super::media::UNREFERENCED
            ),
            [],
        )
        .map_err(backend)? as u64;
    tx.commit().map_err(backend)?;
    check(&dst)?;
    let mut facts = facts(&dst)?;
    facts.dropped_uploads = dropped_uploads;
    facts.dropped_blobs = dropped_blobs;
    Ok(facts)
}

/// `PRAGMA quick_check` of the database at `path`: a restored file is checked before it is put
/// in place. Opened read-only, so checking creates nothing.
pub fn verify(path: &Path) -> Result<SnapshotFacts, StorageError> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
            StorageError::Open {
                path: path.to_owned(),
                source: Box::new(e),
            }
        })?;
    check(&conn)?;
    facts(&conn)
}

fn check(conn: &Connection) -> Result<(), StorageError> {
    let result: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(backend)?;
    if result != "ok" {
        return Err(StorageError::Backend(
            format!("the database copy fails SQLite's check: {result}").into(),
        ));
    }
    Ok(())
}

fn facts(c: &Connection) -> Result<SnapshotFacts, StorageError> {
    let pairs = |sql: &str| -> Result<Vec<(i64, i64)>, StorageError> {
        let mut stmt = c.prepare(sql).map_err(backend)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)
    };
    let schema_version = c
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let conversations = pairs("SELECT id, last_seq FROM conversations ORDER BY id")?;
    let user_heads = pairs("SELECT user_id, last_seq FROM user_event_heads ORDER BY user_id")?;
    let mut stmt = c
        .prepare("SELECT sha256, size, thumbnail_state = 'ready' FROM media_blobs ORDER BY sha256")
        .map_err(backend)?;
    let blobs = stmt
        .query_map([], |r| {
            Ok(SnapshotBlob {
                sha256: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                thumbnail: r.get(2)?,
            })
        })
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(SnapshotFacts {
        schema_version,
        conversations,
        user_heads,
        blobs,
        dropped_uploads: 0,
        dropped_blobs: 0,
    })
}
