//! SQLite backend of [`Storage`]: the zero-configuration default.
//!
//! One database file in the data directory, opened in WAL mode (readers never block the writer),
//! with `foreign_keys` on and a `busy_timeout` so concurrent writers wait instead of failing.
//!
//! **Every commit is synced before it returns** (`synchronous = FULL` on every connection): a
//! commit's WAL frames reach the disk (`fsync` of the `-wal` file) before anything is acknowledged
//! to a client, so an ack survives power loss or an OS crash, not only a crash of the process. WAL
//! mode's usual `NORMAL` syncs only at checkpoints: a commit acknowledged between two checkpoints
//! could be lost (measured: 2,000 acknowledged sends, 3 `fsync` calls, all from checkpoints). Sends
//! pay one sync per group-commit batch, not per message ([`crate::storage::group_commit`]); other
//! writes (edits, reactions, membership, accounts…) pay one per transaction, which at their rates
//! is small. Read-only connections never commit, so the setting costs them nothing; it is set on
//! every connection so that no write path can be opened without it.
//!
//! Connections live in a small [`pool`] and run on blocking threads; sends have one more
//! connection of their own on a dedicated thread ([`writer`]), used by the group-commit writer
//! ([`crate::storage::group_commit`]) so that it never waits behind readers. The pool's
//! connections map the database file into memory and keep a larger page cache, for the reads of
//! deep history pages (see `READ_MMAP_BYTES`). WAL checkpoints run on a thread of their own
//! ([`checkpointer`]), never inside a commit. Write transactions use
//! `BEGIN IMMEDIATE` so that two read-then-write transactions cannot deadlock on lock upgrade — and
//! so that writers are serialized, which is what makes event positions gap-free and visible in
//! order (see [`crate::storage::events`]).
//!
//! One file per concern: [`accounts`], [`conversations`], [`messages`], [`events`],
//! [`notifications`], [`search`], [`contacts`], [`media`]. [`snapshot`] is the consistent copy of
//! a live database that `jeco-server backup` archives (see [`crate::backup`]).

mod accounts;
mod admin;
mod checkpointer;
mod contacts;
mod conversations;
mod credentials;
mod events;
mod media;
mod messages;
mod migrate;
mod notifications;
mod pool;
mod search;
pub mod snapshot;
pub(crate) use events::log_query;
mod teams;
mod two_factor;
mod writer;

use super::{Storage, StorageError};
use async_trait::async_trait;
use pool::Pool;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::time::Duration;
use writer::Writer;

/// Connections in the pool. Small on purpose: see [`pool`].
const POOL_SIZE: usize = 4;
/// Bytes of the database file each read connection maps (`PRAGMA mmap_size`). Address space
/// only: the pages are the OS page cache's, shared by every connection; a larger file is read
/// through `pread` beyond this.
const READ_MMAP_BYTES: i64 = 1 << 30;
/// Page cache of each read connection, in KiB (`PRAGMA cache_size` takes a negative number as
/// KiB; SQLite's default is 2,000 KiB).
const READ_CACHE_KIB: i64 = 16 * 1024;
/// Page cache of the send connection, in KiB. Each batch appends to the same few B-trees
/// (messages and their indexes, events, the full-text index); with SQLite's default 2,000 KiB
/// their hot pages did not stay cached and the writer thread spent ~8 % of its time in `pread`
/// re-reading them (profile of `jeco-bench durable`, BENCHMARKS.md).
const SEND_CACHE_KIB: i64 = 64 * 1024;
/// `PRAGMA synchronous` of every connection: `FULL` (2), so a commit is on disk before it returns
/// and before anything is acknowledged (see the module doc).
const SYNCHRONOUS: i64 = 2;
/// How long a statement waits for the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStorage {
    pool: Pool,
    /// A connection of its own for sends (group commit), on a thread of its own ([`writer`]): the
    /// batch writer never queues behind readers for a pool connection, and readers never wait
    /// for it.
    sends: Writer,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation)
            if matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            StorageError::Conflict
        }
        _ => StorageError::Backend(Box::new(e)),
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits when it succeeds. Immediate transactions
/// take the write lock up front, which is what serializes the assignment of event positions.
fn write<T>(
    c: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(backend)?;
    let value = f(&tx)?;
    tx.commit().map_err(backend)?;
    Ok(value)
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with the resulting mode, so it is a query, not an execute.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite refused WAL mode");
    }
    // FULL: the WAL is synced at every commit, before the commit returns (see the module doc).
    conn.pragma_update(None, "synchronous", SYNCHRONOUS)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    // Hot statements are `prepare_cached`; the default cache (16) is smaller than the set a busy
    // server cycles through, and re-preparing costs more than running most of them.
    conn.set_prepared_statement_cache_capacity(128);
    // A plan that does not depend on the values bound to it. Without this, SQLite marks a
    // statement to be prepared again whenever a parameter it compared while planning gets a new
    // value — every `WHERE conversation_id = ?1 … ORDER BY …` does — so a cached statement was
    // re-parsed and re-planned on nearly every use (5 % of the send writer's time, BENCHMARKS.md
    // "Statements prepared again on every use"). No query here depends on that: there are no
    // statistics tables for the planner to consult, and no `LIKE` prefix that an index could use.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // Counts every commit of a write transaction on this connection (`jeco_db_commits_total`).
    conn.commit_hook(Some(|| {
        crate::metrics::get().db_commits.inc();
        false
    }))?;
    Ok(conn)
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: impl Into<PathBuf>, now_ms: i64) -> Result<Self, StorageError> {
        let path = path.into();
        let open_path = path.clone();
        let conns =
            tokio::task::spawn_blocking(move || -> Result<Vec<Connection>, StorageError> {
                let open_err = |e: rusqlite::Error| StorageError::Open {
                    path: open_path.clone(),
                    source: Box::new(e),
                };
                let mut first = open_connection(&open_path).map_err(open_err)?;
                let applied = migrate::migrate(&mut first, now_ms)?;
                if !applied.is_empty() {
                    tracing::info!(?applied, "applied database migrations");
                }
                let mut conns = vec![first];
                // The pool, plus one for sends.
                for _ in 0..POOL_SIZE {
                    conns.push(open_connection(&open_path).map_err(open_err)?);
                }
                // Checkpoints run on a thread of their own, never inside a commit.
                let nudge = checkpointer::spawn(open_connection(&open_path).map_err(open_err)?)
                    .map_err(|e| StorageError::Backend(Box::new(e)))?;
                for c in &mut conns {
                    nudge.install(c).map_err(open_err)?;
                }
                Ok(conns)
            })
            .await
            .map_err(|e| StorageError::Backend(Box::new(e)))??;
        let mut conns = conns;
        let sends = conns.split_off(POOL_SIZE);
        // The pool serves the reads (history pages, search, resumes). A page deep in a large
        // database touches B-tree pages that no recent request did: read them straight from the
        // OS page cache through a memory map instead of copying each through `pread` into
        // SQLite's own 2 MB cache, and keep a larger cache of the pages that are not mapped (the
        // WAL's, and any beyond the map). Measured with `jeco-bench history` (BENCHMARKS.md).
        for c in &conns {
            c.pragma_update(None, "mmap_size", READ_MMAP_BYTES)
                .and_then(|()| c.pragma_update(None, "cache_size", -READ_CACHE_KIB))
                .map_err(|e| StorageError::Backend(Box::new(e)))?;
        }
        for c in &sends {
            c.pragma_update(None, "cache_size", -SEND_CACHE_KIB)
                .map_err(|e| StorageError::Backend(Box::new(e)))?;
        }
        let sends = Writer::spawn(sends.into_iter().next().expect("one send connection"))
            .map_err(|e| StorageError::Backend(Box::new(e)))?;
        Ok(Self {
            pool: Pool::new(conns),
            sends,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    /// One writer: SQLite serializes writers, so a second would only wait for the first; its
    /// batches span every conversation, one sync each.
    fn send_queue(
        self: std::sync::Arc<Self>,
        publish: super::group_commit::Publish,
    ) -> std::sync::Arc<dyn super::group_commit::SendQueue> {
        std::sync::Arc::new(super::group_commit::GroupCommit::new(self, publish, 1))
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.pool
            .run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn send_context(
        &self,
        conversation: jeco_shared::ConversationId,
        user: jeco_shared::UserId,
    ) -> Result<Option<super::SendContext>, StorageError> {
        self.pool
            .run(move |c| messages::send_context(c, conversation, user))
            .await
    }
}

/// What every backend must do is checked by the conformance suite (`tests/storage/`), which runs
/// on this backend too; these tests are about SQLite itself.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AccountStore, NewUser};

    async fn open() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path().join("t.db"), 0)
            .await
            .unwrap();
        (dir, s)
    }

    fn new_user(name: &str) -> NewUser {
        NewUser {
            username: name.into(),
            password_hash: "h".into(),
            display_name: None,
            is_admin: false,
            created_at_ms: 1,
        }
    }

    /// `PRAGMA synchronous` as each connection has it: every pool connection, then the send
    /// writer's.
    async fn synchronous_levels(s: &SqliteStorage) -> Vec<i64> {
        let level = |c: &Connection| -> i64 {
            c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
        };
        let mut levels = s.pool.each_idle(level);
        assert_eq!(levels.len(), POOL_SIZE, "every pool connection is idle");
        levels.push(s.sends.run(move |c| Ok(level(c))).await.unwrap());
        levels
    }

    /// An ack must survive power loss: every connection that can commit syncs the WAL at each
    /// commit (`FULL` = 2). WAL mode's `NORMAL` (1) syncs only at checkpoints.
    #[tokio::test]
    async fn every_connection_syncs_each_commit() {
        let (_d, s) = open().await;
        assert_eq!(synchronous_levels(&s).await, vec![2; POOL_SIZE + 1]);
    }

    /// The send writer runs ahead of the server's other threads ([`writer::WRITER_NICE`]) where it
    /// may: as root (CI, the benchmarks) it must; otherwise it needs `CAP_SYS_NICE` or
    /// `RLIMIT_NICE`, and this says why it checks only that sends still work.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_send_writer_runs_with_precedence() {
        let (_d, s) = open().await;
        let nice = |_: &mut Connection| {
            rustix::process::getpriority_process(None)
                .map_err(|e| StorageError::Backend(Box::new(e)))
        };
        let writer_nice = s.sends.run(nice).await.unwrap();
        if rustix::process::geteuid().is_root() {
            assert_eq!(writer_nice, writer::WRITER_NICE);
            let own = rustix::process::getpriority_process(None).unwrap();
            assert!(
                own > writer_nice,
                "only the writer thread: this thread stays at {own}"
            );
        } else {
            eprintln!(
                "not root: the writer's nice value ({writer_nice}) depends on CAP_SYS_NICE / \
                 RLIMIT_NICE here; checked only that the writer runs"
            );
        }
    }

    /// The event rows of `room`, as `(seq, data)`.
    async fn event_rows(
        s: &SqliteStorage,
        room: jeco_shared::ConversationId,
    ) -> Vec<(i64, String)> {
        s.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare("SELECT seq, data FROM conversation_events WHERE conversation_id = ?1 ORDER BY seq")
                    .unwrap();
                Ok(stmt
                    .query_map([room.0], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap())
            })
            .await
            .unwrap()
    }

    /// A message's row is its `message_created` event: a send writes no event row (one B-tree
    /// fewer per message, BENCHMARKS.md), replay still yields the event, and the first edit
    /// writes the created snapshot out before it changes the row. A marker row left by an older
    /// database is read the same way, and replaced by the snapshot on the first edit.
    #[tokio::test]
    async fn a_message_row_is_its_created_event() {
        use crate::storage::{
            ConversationStore, EventData, EventStore, MentionSet, MessageStore, NewGroup,
            SendOutcome,
        };
        let (_d, s) = open().await;
        let ann = s.create_user(new_user("ann")).await.unwrap().id;
        let (group, _) = s
            .create_group(NewGroup {
                name: "room".into(),
                owner: ann,
                members: vec![],
                now_ms: 2,
                added_preview: None,
            })
            .await
            .unwrap();
        let room = group.id;
        let before = event_rows(&s, room).await;
        let mut sent = Vec::new();
        for key in ["one", "two", "three"] {
            let outcome = s.send_message(plain(room, ann, key, 10)).await.unwrap();
            let SendOutcome::Created { message, .. } = outcome else {
                panic!("stored: {outcome:?}")
            };
            sent.push(message);
        }
        assert_eq!(event_rows(&s, room).await, before, "no event row per send");
        // An older database's marker row for the second message.
        let second = sent[1].clone();
        s.sends
            .run(move |c| {
                c.execute(
                    "INSERT INTO conversation_events (conversation_id, seq, actor_id, at, data)
                     VALUES (?1, ?2, ?3, 10, 'm')",
                    rusqlite::params![room.0, second.seq, ann.0],
                )
                .map_err(backend)
            })
            .await
            .unwrap();
        let created = |events: Vec<crate::storage::EventRecord>| -> Vec<_> {
            events
                .into_iter()
                .filter_map(|e| match e.data {
                    EventData::MessageCreated { message } => {
                        Some((e.seq, e.actor, e.at_ms, message))
                    }
                    _ => None,
                })
                .collect()
        };
        let expected: Vec<_> = sent.iter().map(|m| (m.seq, ann, 10, m.clone())).collect();
        assert_eq!(
            created(s.events_after(room, 0, 100).await.unwrap()),
            expected
        );
        // Paged from the middle, the two halves of the log still interleave in order.
        assert_eq!(
            created(s.events_after(room, sent[0].seq, 1).await.unwrap()),
            expected[1..2]
        );
        for m in &sent[..2] {
            s.edit_message(m.id, ann, "changed".into(), MentionSet::default(), 20)
                .await
                .unwrap();
        }
        let rows = event_rows(&s, room).await;
        for m in &sent[..2] {
            let (_, data) = rows
                .iter()
                .find(|(seq, _)| *seq == m.seq)
                .expect("snapshot row");
            assert!(
                data.starts_with('{'),
                "the created snapshot in full: {data}"
            );
        }
        assert!(!rows.iter().any(|(seq, _)| *seq == sent[2].seq));
        assert_eq!(
            created(s.events_after(room, 0, 100).await.unwrap()),
            expected
        );
    }

    /// A plain text message (no mentions, attachments or notifications), always admitted.
    fn plain(
        conversation: jeco_shared::ConversationId,
        sender: jeco_shared::UserId,
        key: &str,
        now_ms: i64,
    ) -> crate::storage::NewMessage {
        use crate::storage::{Admission, MentionSet, NewMessage, NotifyPlan};
        NewMessage {
            conversation_id: conversation,
            sender_id: sender,
            client_id: key.into(),
            body: format!("body {key}"),
            reply_to: None,
            thread_only: false,
            mentions: MentionSet::default(),
            attachments: Vec::new(),
            notify: NotifyPlan::none(),
            admission: Admission::always(),
            now_ms,
        }
    }

    /// A batch writes each conversation's row (position and activity time) once, however many of
    /// its messages it stores, and the row ends where the batch's last message put it — also when
    /// a refused message sends the batch down the one-savepoint-per-message path.
    #[tokio::test]
    async fn a_batch_writes_each_conversation_row_once() {
        use crate::storage::{ConversationStore, MessageStore, NewGroup, SendOutcome};
        use jeco_shared::{ConversationId, MessageId};
        let (_d, s) = open().await;
        let ann = s.create_user(new_user("ann")).await.unwrap().id;
        let mut rooms = Vec::new();
        for name in ["one", "two"] {
            let (group, _) = s
                .create_group(NewGroup {
                    name: name.into(),
                    owner: ann,
                    members: vec![],
                    now_ms: 1,
                    added_preview: None,
                })
                .await
                .unwrap();
            rooms.push(group.id);
        }
        // Counts the updates of conversation rows on the send connection from here on.
        s.sends
            .run(|c| {
                c.execute_batch(
                    "CREATE TEMP TABLE row_writes (id INTEGER);
                     CREATE TEMP TRIGGER count_row_writes AFTER UPDATE ON main.conversations
                     BEGIN INSERT INTO row_writes VALUES (new.id); END;",
                )
                .map_err(backend)
            })
            .await
            .unwrap();
        let row_writes = || {
            s.sends.run(|c| {
                let n: i64 = c
                    .query_row("SELECT COUNT(*) FROM row_writes", [], |r| r.get(0))
                    .map_err(backend)?;
                c.execute("DELETE FROM row_writes", []).map_err(backend)?;
                Ok(n)
            })
        };
        let rows = || {
            s.sends.run(|c| {
                c.prepare("SELECT id, last_seq, last_activity_at FROM conversations ORDER BY id")
                    .and_then(|mut st| {
                        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                            .collect::<Result<Vec<(i64, i64, i64)>, _>>()
                    })
                    .map_err(backend)
            })
        };
        let stored = |results: &[Result<SendOutcome, StorageError>]| -> Vec<(ConversationId, i64)> {
            results
                .iter()
                .filter_map(|r| match r {
                    Ok(SendOutcome::Created { message, .. }) => {
                        Some((message.conversation_id, message.seq))
                    }
                    _ => None,
                })
                .collect()
        };
        // Six messages, alternating between the two rooms, with rising times.
        let batch = (0..6)
            .map(|i| plain(rooms[i % 2], ann, &format!("a{i}"), 100 + i as i64))
            .collect();
        let first = stored(&s.send_messages(batch).await.unwrap());
        assert_eq!(first.len(), 6);
        assert_eq!(
            row_writes().await.unwrap(),
            2,
            "one row write per conversation"
        );
        let last_of = |room: ConversationId, sent: &[(ConversationId, i64)]| {
            sent.iter()
                .filter(|(c, _)| *c == room)
                .map(|(_, seq)| *seq)
                .max()
                .unwrap()
        };
        assert_eq!(
            rows().await.unwrap(),
            vec![
                (rooms[0].0, last_of(rooms[0], &first), 104),
                (rooms[1].0, last_of(rooms[1], &first), 105),
            ]
        );
        // A refused message (no such conversation) and a failing one (it replies to a message
        // that does not exist) in the middle: the failure sends the batch down the path with a
        // savepoint per message, and the rows still follow the stored ones.
        let mut failing = plain(rooms[0], ann, "b2", 202);
        failing.reply_to = Some(MessageId(9_999));
        let batch = vec![
            plain(rooms[0], ann, "b0", 200),
            plain(ConversationId(9_999), ann, "b1", 201),
            failing,
            plain(rooms[0], ann, "b3", 203),
            plain(rooms[1], ann, "b4", 204),
        ];
        let results = s.send_messages(batch).await.unwrap();
        assert!(
            matches!(results[1], Ok(SendOutcome::Refused(_))),
            "{:?}",
            results[1]
        );
        assert!(results[2].is_err(), "{:?}", results[2]);
        let second = stored(&results);
        assert_eq!(
            second,
            vec![
                (rooms[0], last_of(rooms[0], &first) + 1),
                (rooms[0], last_of(rooms[0], &first) + 2),
                (rooms[1], last_of(rooms[1], &first) + 1),
            ],
            "positions continue without gaps"
        );
        assert_eq!(
            rows().await.unwrap(),
            vec![
                (rooms[0].0, last_of(rooms[0], &second), 203),
                (rooms[1].0, last_of(rooms[1], &second), 204),
            ]
        );
    }

    #[tokio::test]
    async fn reopen_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let s = SqliteStorage::open(&path, 0).await.unwrap();
            s.create_user(new_user("frank")).await.unwrap();
        }
        let s = SqliteStorage::open(&path, 0).await.unwrap();
        assert!(s.user_by_username("frank").await.unwrap().is_some());
    }
}
