//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the
//! committing connection. For the send writer that meant one group-commit batch in a few hundred
//! took 20–35 ms instead of ~0.4 ms (copying the WAL back and its fsync), and every message queued
//! behind it waited: measured with `jeco-bench fanout --rate 1000` (50,000 deliveries/s), the p99
//! send→receive latency was 32 ms with automatic checkpoints and 6.8 ms without (BENCHMARKS.md).
//!
//! So no connection checkpoints by itself (`wal_autocheckpoint = 0`). Each one instead carries a
//! WAL hook that, each time the log has grown by [`CHECKPOINT_FRAMES`], nudges this thread, which runs
//! a `PASSIVE` checkpoint on its own connection: it copies what it can without blocking the writer
//! or readers. Under continuous writes a passive checkpoint may never see the log fully copied
//! (so the log is never restarted); when the log still holds [`RESTART_FRAMES`] after one, a
//! `RESTART` checkpoint waits for the writer's current transaction and bounds the file. That wait
//! is the old stall, but once per ~`RESTART_FRAMES` frames instead of once per
//! `CHECKPOINT_FRAMES`.

use rusqlite::Connection;
use std::ffi::c_int;
use std::sync::mpsc;

/// Log size (frames, i.e. pages) at which a checkpoint is asked for: ~40 MB with 4 KiB pages, so
/// a page written many times is copied back once (the threshold the send connection used before).
pub(super) const CHECKPOINT_FRAMES: c_int = 10_000;
/// Log size after a passive checkpoint at which the next one restarts the log.
pub(super) const RESTART_FRAMES: i64 = 50_000;

/// Asks the checkpoint thread for a checkpoint; cloned into every connection's WAL hook.
#[derive(Clone)]
pub(super) struct Nudge(mpsc::SyncSender<()>);

impl Nudge {
    /// Installs the hook on `conn` and turns its automatic checkpoints off.
    pub(super) fn install(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let nudge = self.0.clone();
        // The log's size when this connection last asked. Under continuous writes the log is not
        // restarted between checkpoints, so "at least CHECKPOINT_FRAMES" would ask after every
        // commit, and each checkpoint would copy the same hot pages (index leaves written by
        // every batch) again; asking once per CHECKPOINT_FRAMES of growth copies them once.
        let mut asked_at: c_int = 0;
        // Setting `wal_autocheckpoint` replaces the WAL hook, so it comes first.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.wal_hook(Some(move |_: &mut _, frames: c_int| {
            if frames < asked_at {
                // The log was restarted.
                asked_at = 0;
            }
            if frames - asked_at >= CHECKPOINT_FRAMES {
                asked_at = frames;
                // Full means a checkpoint is already asked for; gone means shutting down.
                let _ = nudge.try_send(());
            }
            Ok(())
        }))
    }
}

/// Starts the thread with its own connection; it ends when every [`Nudge`] is dropped (with the
/// storage's connections).
pub(super) fn spawn(conn: Connection) -> std::io::Result<Nudge> {
    let (nudge, nudged) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("jeco-sqlite-checkpoint".into())
        .spawn(move || {
            for () in nudged {
                checkpoint(&conn);
            }
        })?;
    Ok(Nudge(nudge))
}

/// One passive checkpoint, then a restarting one if the log is still long.
fn checkpoint(conn: &Connection) {
    match run(conn, "PASSIVE") {
        Ok((log, done)) if log >= RESTART_FRAMES => {
            tracing::debug!(
                log,
                done,
                "WAL still long after a passive checkpoint; restarting it"
            );
            if let Err(e) = run(conn, "RESTART") {
                tracing::warn!(error = %e, "WAL restart checkpoint failed");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns the log's frames and how many are copied back.
fn run(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn open(path: &Path) -> Connection {
        let c = Connection::open(path).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c
    }

    /// Writes about `frames` pages, in transactions of 100 rows of ~3 KB (one page each).
    fn write_pages(c: &Connection, frames: usize) {
        let blob = vec![7u8; 3000];
        for _ in 0..frames / 100 {
            c.execute_batch("BEGIN").unwrap();
            for _ in 0..100 {
                c.execute("INSERT INTO t (x) VALUES (?1)", [&blob]).unwrap();
            }
            c.execute_batch("COMMIT").unwrap();
        }
    }

    /// The database file itself: it only grows when a checkpoint copies the log into it.
    fn db_bytes(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn a_long_log_is_copied_back_by_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let nudge = spawn(open(&path)).unwrap();
        let mut writer = open(&path);
        nudge.install(&mut writer).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        write_pages(&writer, CHECKPOINT_FRAMES as usize + 500);
        let want = u64::try_from(CHECKPOINT_FRAMES).unwrap() * 3000;
        let deadline = Instant::now() + Duration::from_secs(30);
        while db_bytes(&path) < want {
            assert!(
                Instant::now() < deadline,
                "nothing checkpointed: the database file holds {} bytes",
                db_bytes(&path)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn connections_with_the_hook_do_not_checkpoint_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut c = open(&path);
        // A nudge nobody answers: the receiving end is gone.
        let (tx, rx) = mpsc::sync_channel(1);
        drop(rx);
        Nudge(tx).install(&mut c).unwrap();
        let auto: i64 = c
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0);
        c.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        write_pages(&c, CHECKPOINT_FRAMES as usize + 500);
        // An automatic checkpoint (every 1,000 frames by default) would have filled the file.
        assert!(
            db_bytes(&path) < 1_000_000,
            "the committing connection checkpointed: {} bytes",
            db_bytes(&path)
        );
    }
}
