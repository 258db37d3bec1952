//! The local cache: one SQLite file per account and server.
//!
//! Why a database and not a JSON snapshot: a chat client's history grows without bound, must open
//! instantly (the conversation list and the newest page of a timeline are two indexed reads, however
//! many messages are cached), must survive being killed mid-write (WAL, one transaction per applied
//! event together with its position), and must be searchable offline (FTS5 over the message text).
//!
//! The cache holds what the server said, updated by the events it streams: conversations (with
//! members, read state and the last applied event `seq` — the *position* sent back on reconnect),
//! messages (edits, deletions, reactions, pins, threads), read receipts, users, teams and
//! notifications. Beside it, the [`outbox`](crate::outbox) keeps what was done here and not yet
//! confirmed, and drafts keep what is being written.
//!
//! Server objects are stored as the JSON the server sent, with the columns needed for ordering,
//! lookups and search beside them: the wire types stay the single definition of what a message is,
//! and a newer server adding a field does not need a cache migration.

mod events;
mod outbox;
mod search;

pub use events::Applied;
pub(crate) use events::{add_reaction, remove_reaction};
pub use outbox::{Enqueued, blocked_by};
pub use search::LocalHit;

use jeco_shared::conversations::{Conversation, MessagePreview};
use jeco_shared::limits::Limits;
use jeco_shared::messages::{Message, MessagePage};
use jeco_shared::notifications::Notification;
use jeco_shared::teams::Team;
use jeco_shared::users::User;
use jeco_shared::{ConversationId, MessageId, NotificationId, TeamId, UserId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Numbered migrations; the cache records the highest applied in `PRAGMA user_version`.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("migrations/0001_cache.sql")),
    (2, include_str!("migrations/0002_media.sql")),
    (3, include_str!("migrations/0003_threads.sql")),
    (4, include_str!("migrations/0004_thread_list.sql")),
];

/// Why the cache failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the local cache {path} could not be opened: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the local cache {path} was written by a newer Jeco (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("local cache: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("local cache holds unreadable data: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("local cache: cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// A draft: what was typed in a conversation and not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    pub text: String,
    pub reply_to: Option<MessageId>,
    pub updated_at: String,
}

/// The cache of one account on one server.
#[derive(Debug)]
pub struct Cache {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Cache {
    /// Opens (creating if needed) the cache at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| CacheError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| CacheError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::setup(conn, path.to_owned())
    }

    /// A cache that lives in memory only (tests, throwaway sessions).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL: readers never wait for the writer; NORMAL sync is durable across process crashes
        // (a power cut may lose the last transactions, which the server still has).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if found > known {
            return Err(CacheError::TooNew { path, found, known });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back).
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    // ---- meta

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .lock()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.lock().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The signed-in user as last seen.
    pub fn me(&self) -> Result<Option<User>> {
        match self.meta("me")? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    pub fn set_me(&self, user: &User) -> Result<()> {
        self.set_meta("me", &serde_json::to_string(user)?)?;
        self.upsert_users(std::slice::from_ref(user))
    }

    /// The server's limits as its last `ready` frame told them; `None` before the first
    /// connection.
    pub fn limits(&self) -> Result<Option<Limits>> {
        match self.meta("limits")? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    pub fn set_limits(&self, limits: &Limits) -> Result<()> {
        self.set_meta("limits", &serde_json::to_string(limits)?)
    }

    /// Last applied position in the user's own event log; `None` before the first sync.
    pub fn user_seq(&self) -> Result<Option<i64>> {
        Ok(self.meta("user_seq")?.and_then(|v| v.parse().ok()))
    }

    pub fn set_user_seq(&self, seq: i64) -> Result<()> {
        self.set_meta("user_seq", &seq.to_string())
    }

    /// The conversation that was last open on screen, so the next start can show it first.
    pub fn last_opened(&self) -> Result<Option<ConversationId>> {
        Ok(self
            .meta("last_opened")?
            .and_then(|v| v.parse().ok())
            .map(ConversationId))
    }

    pub fn set_last_opened(&self, id: ConversationId) -> Result<()> {
        self.set_meta("last_opened", &id.0.to_string())
    }

    // ---- users and teams

    pub fn upsert_users(&self, users: &[User]) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO users (id, username, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET username = excluded.username, json = excluded.json",
            )?;
            for u in users {
                stmt.execute(params![u.id.0, u.username, serde_json::to_string(u)?])?;
            }
            Ok(())
        })
    }

    pub fn user(&self, id: UserId) -> Result<Option<User>> {
        let json: Option<String> = self
            .lock()
            .query_row("SELECT json FROM users WHERE id = ?1", [id.0], |r| r.get(0))
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    pub fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let json: Option<String> = self
            .lock()
            .query_row(
                "SELECT json FROM users WHERE username = ?1",
                [username.trim().trim_start_matches('@').to_lowercase()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    /// Which of `ids` the cache has no profile for.
    pub fn unknown_users(&self, ids: impl IntoIterator<Item = UserId>) -> Result<Vec<UserId>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM users WHERE id = ?1")?;
        let mut unknown = Vec::new();
        for id in ids {
            if !stmt.exists([id.0])? && !unknown.contains(&id) {
                unknown.push(id);
            }
        }
        Ok(unknown)
    }

    /// Replaces the cached team list.
    pub fn replace_teams(&self, teams: &[Team]) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM teams", [])?;
            for t in teams {
                tx.execute(
                    "INSERT INTO teams (id, json) VALUES (?1, ?2)",
                    params![t.id.0, serde_json::to_string(t)?],
                )?;
            }
            Ok(())
        })
    }

    pub fn upsert_team(&self, team: &Team) -> Result<()> {
        self.lock().execute(
            "INSERT INTO teams (id, json) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            params![team.id.0, serde_json::to_string(team)?],
        )?;
        Ok(())
    }

    pub fn remove_team(&self, id: TeamId) -> Result<()> {
        self.lock()
            .execute("DELETE FROM teams WHERE id = ?1", [id.0])?;
        Ok(())
    }

    /// The user's teams, by name.
    pub fn teams(&self) -> Result<Vec<Team>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT json FROM teams")?;
        let mut teams = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str::<Team>(&j?)?))
            .collect::<Result<Vec<_>>>()?;
        teams.sort_by_key(|t| t.name.to_lowercase());
        Ok(teams)
    }

    // ---- conversations

    /// Every cached conversation, most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT json FROM conversations ORDER BY last_activity_at DESC, id DESC",
        )?;
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str(&j?)?))
            .collect()
    }

    pub fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        let conn = self.lock();
        Ok(load_conversation(&conn, id)?.map(|(c, _)| c))
    }

    /// The last applied event per conversation: the hello's resume.
    pub fn positions(&self) -> Result<Vec<jeco_shared::events::Position>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT id, position FROM conversations")?;
        stmt.query_map([], |r| {
            Ok(jeco_shared::events::Position {
                conversation_id: ConversationId(r.get(0)?),
                seq: r.get(1)?,
            })
        })?
        .map(|p| Ok(p?))
        .collect()
    }

    pub fn position(&self, id: ConversationId) -> Result<Option<i64>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT position FROM conversations WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a conversation as the server just described it over REST, with the newest page of
    /// its messages, and moves its position to the conversation's `last_seq`. Used when the
    /// conversation is first seen and when the server says to resync it. Cached older messages are
    /// kept (they still read offline), but only the new page counts as contiguous history.
    ///
    /// The conversation must have been fetched *before* the page: then every event up to the
    /// position is reflected in the page, and later ones arrive as events.
    pub fn store_snapshot(
        &self,
        me: UserId,
        conversation: &Conversation,
        page: &MessagePage,
    ) -> Result<()> {
        self.write(|tx| {
            let conversation = &*with_queued(tx, conversation)?;
            let position = conversation.last_seq;
            let history_from = page.items.first().map(|m| m.seq).unwrap_or(position + 1);
            tx.execute(
                "INSERT INTO conversations
                     (id, json, last_activity_at, position, history_from, history_complete)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json,
                     last_activity_at = excluded.last_activity_at, position = excluded.position,
                     history_from = excluded.history_from,
                     history_complete = excluded.history_complete",
                params![
                    conversation.id.0,
                    serde_json::to_string(conversation)?,
                    conversation.last_activity_at,
                    position,
                    history_from,
                    !page.has_more_before,
                ],
            )?;
            for m in &page.items {
                upsert_message(tx, m)?;
                drop_confirmed_send(tx, me, m)?;
            }
            Ok(())
        })
    }

    /// Refreshes a conversation's description (name, members, counts) from a REST listing without
    /// touching its position or messages. Unknown conversations are not added: they need a
    /// snapshot first.
    pub fn refresh_conversation(&self, conversation: &Conversation) -> Result<bool> {
        let conn = self.lock();
        let conversation = &*with_queued(&conn, conversation)?;
        let changed = conn.execute(
            "UPDATE conversations SET json = ?2, last_activity_at = ?3 WHERE id = ?1",
            params![
                conversation.id.0,
                serde_json::to_string(conversation)?,
                conversation.last_activity_at
            ],
        )?;
        Ok(changed > 0)
    }

    /// Forgets a conversation the user is no longer in, with its messages and pending changes.
    pub fn remove_conversation(&self, id: ConversationId) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM messages WHERE conversation_id = ?1", [id.0])?;
            tx.execute(
                "DELETE FROM read_receipts WHERE conversation_id = ?1",
                [id.0],
            )?;
            tx.execute("DELETE FROM outbox WHERE conversation_id = ?1", [id.0])?;
            tx.execute("DELETE FROM drafts WHERE conversation_id = ?1", [id.0])?;
            tx.execute("DELETE FROM conversations WHERE id = ?1", [id.0])?;
            Ok(())
        })
    }

    /// Sets the muted flag locally (a queued `set_muted` tells the server).
    pub fn set_muted(&self, id: ConversationId, muted: bool) -> Result<()> {
        self.update_conversation(id, |c| c.muted = muted)
    }

    fn update_conversation(
        &self,
        id: ConversationId,
        f: impl FnOnce(&mut Conversation),
    ) -> Result<()> {
        self.write(|tx| {
            if let Some((mut c, _)) = load_conversation(tx, id)? {
                f(&mut c);
                save_conversation(tx, &c)?;
            }
            Ok(())
        })
    }

    // ---- messages

    /// Up to `limit` cached messages older than `before` (a message `seq`; `None`: the newest),
    /// oldest first, and whether older ones may exist that the cache does not hold contiguously
    /// (fetch them from the server when online).
    pub fn messages(
        &self,
        id: ConversationId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<Message>, bool)> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT json FROM messages WHERE conversation_id = ?1 AND seq < ?2 AND NOT thread_only
             ORDER BY seq DESC LIMIT ?3",
        )?;
        let mut items = stmt
            .query_map(params![id.0, before.unwrap_or(i64::MAX), limit], |r| {
                r.get::<_, String>(0)
            })?
            .map(|j| Ok(serde_json::from_str::<Message>(&j?)?))
            .collect::<Result<Vec<_>>>()?;
        items.reverse();
        let (history_from, complete): (Option<i64>, bool) = conn
            .query_row(
                "SELECT history_from, history_complete FROM conversations WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((None, false));
        // Messages from history_from up to the position are all cached; below it there may be
        // holes. With history_complete nothing older exists at all.
        let needs_server = !complete
            && match history_from {
                Some(from) => {
                    items.len() < limit as usize || items.first().is_some_and(|m| m.seq < from)
                }
                None => true,
            };
        Ok((items, needs_server))
    }

    /// Every cached message from `seq` on (not thread-only replies), oldest first: a timeline
    /// window's range.
    pub fn messages_from(&self, id: ConversationId, seq: i64) -> Result<Vec<Message>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT json FROM messages WHERE conversation_id = ?1 AND seq >= ?2 AND NOT thread_only
             ORDER BY seq",
        )?;
        stmt.query_map(params![id.0, seq], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str::<Message>(&j?)?))
            .collect()
    }

    /// Whether anything older than `seq` exists: cached, or on the server because the cache does
    /// not reach back to the conversation's first message.
    pub fn has_more_before(&self, id: ConversationId, seq: i64) -> Result<bool> {
        let conn = self.lock();
        let complete: bool = conn
            .query_row(
                "SELECT history_complete FROM conversations WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false);
        if !complete {
            return Ok(true);
        }
        Ok(conn
            .prepare_cached(
                "SELECT 1 FROM messages WHERE conversation_id = ?1 AND seq < ?2 AND NOT thread_only",
            )?
            .exists(params![id.0, seq])?)
    }

    /// Stores a page of older history fetched from the server for the range below `before`, and
    /// extends the contiguous range when the page joins it.
    pub fn store_older(
        &self,
        me: UserId,
        id: ConversationId,
        before: Option<i64>,
        page: &MessagePage,
    ) -> Result<()> {
        self.write(|tx| {
            for m in &page.items {
                upsert_message(tx, m)?;
                drop_confirmed_send(tx, me, m)?;
            }
            let history_from: Option<i64> = tx
                .query_row(
                    "SELECT history_from FROM conversations WHERE id = ?1",
                    [id.0],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            // The page covers (its oldest, before): it joins the contiguous range when `before`
            // is at or below the range's start.
            let joins = match (history_from, before) {
                (Some(from), Some(before)) => before <= from,
                _ => false,
            };
            if joins {
                let new_from = page
                    .items
                    .first()
                    .map(|m| m.seq)
                    .unwrap_or(history_from.unwrap_or(0));
                tx.execute(
                    "UPDATE conversations SET history_from = MIN(history_from, ?2),
                         history_complete = ?3 WHERE id = ?1",
                    params![id.0, new_from, !page.has_more_before],
                )?;
            }
            Ok(())
        })
    }

    pub fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let json: Option<String> = self
            .lock()
            .query_row("SELECT json FROM messages WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    /// The message sent with `client_id` in a conversation, once the server has confirmed it.
    pub fn message_by_client_id(
        &self,
        conversation: ConversationId,
        client_id: &str,
    ) -> Result<Option<Message>> {
        let conn = self.lock();
        message_by_client_id(&conn, conversation, client_id)
    }

    /// Cached replies to `root`, oldest first.
    pub fn thread(&self, root: MessageId) -> Result<Vec<Message>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT json FROM messages WHERE reply_to = ?1 ORDER BY seq")?;
        stmt.query_map([root.0], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str(&j?)?))
            .collect()
    }

    /// Stores messages fetched one by one from the server (a thread, a pin list, a quoted
    /// parent) outside the contiguous history. They do not extend `history_from`: a timeline page
    /// that reaches below it still asks the server for the holes around them.
    pub fn store_loose(&self, me: UserId, messages: &[Message]) -> Result<()> {
        self.write(|tx| {
            for m in messages {
                upsert_message(tx, m)?;
                drop_confirmed_send(tx, me, m)?;
            }
            Ok(())
        })
    }

    /// Records that the thread of `root` has been seen with `reply_count` replies (never lowers
    /// it: a deleted reply does not make an old one unread again). Whether that was news.
    pub fn mark_thread_read(&self, root: MessageId, reply_count: u32) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "INSERT INTO thread_reads (root_id, read_count) VALUES (?1, ?2)
                     ON CONFLICT (root_id) DO UPDATE SET read_count = excluded.read_count
                         WHERE excluded.read_count > read_count",
                )?
                .execute(params![root.0, reply_count])?;
            Ok(changed > 0)
        })
    }

    /// Remembers the Threads view's list as the server gave it (root, newest reply's time), in
    /// its order, replacing the one before, so the view still has it offline.
    pub fn store_thread_list(&self, entries: &[(MessageId, String)]) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM thread_list", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO thread_list (position, root_id, last_reply_at) VALUES (?1, ?2, ?3)",
            )?;
            for (position, (root, at)) in entries.iter().enumerate() {
                insert.execute(params![position as i64, root.0, at])?;
            }
            Ok(())
        })
    }

    /// The Threads view's list as last stored, with each root as the cache has it now (sync
    /// keeps reply counts current); roots no longer cached are left out.
    pub fn thread_list(&self) -> Result<Vec<(Message, String)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT m.json, t.last_reply_at FROM thread_list t
             JOIN messages m ON m.id = t.root_id
             ORDER BY t.position",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(json, at)| Ok((serde_json::from_str(&json)?, at)))
            .collect()
    }

    /// How many replies of the thread of `root` were seen here (0 when it was never shown).
    pub fn thread_read_count(&self, root: MessageId) -> Result<u32> {
        Ok(self
            .lock()
            .prepare_cached("SELECT read_count FROM thread_reads WHERE root_id = ?1")?
            .query_row([root.0], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Cached pinned messages of a conversation, newest first.
    pub fn pinned(&self, id: ConversationId) -> Result<Vec<Message>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT json FROM messages WHERE conversation_id = ?1
             AND json_extract(json, '$.pinned') = 1 ORDER BY seq DESC",
        )?;
        stmt.query_map([id.0], |r| r.get::<_, String>(0))?
            .map(|j| Ok(serde_json::from_str(&j?)?))
            .collect()
    }

    /// Stores a message the server confirmed (an ack), removing its pending send.
    pub fn store_confirmed(&self, me: UserId, message: &Message) -> Result<()> {
        self.write(|tx| {
            upsert_message(tx, message)?;
            drop_confirmed_send(tx, me, message)?;
            Ok(())
        })
    }

    /// How many messages the cache holds (all conversations).
    pub fn message_count(&self) -> Result<u64> {
        let n: i64 = self
            .lock()
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    // ---- read receipts

    /// Members' read positions in a conversation.
    pub fn read_receipts(&self, id: ConversationId) -> Result<Vec<(UserId, i64)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, read_seq FROM read_receipts WHERE conversation_id = ?1 ORDER BY user_id",
        )?;
        stmt.query_map([id.0], |r| Ok((UserId(r.get(0)?), r.get(1)?)))?
            .map(|x| Ok(x?))
            .collect()
    }

    // ---- notifications

    pub fn upsert_notification(&self, n: &Notification) -> Result<()> {
        self.lock().execute(
            "INSERT INTO notifications (id, read, json) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET read = excluded.read, json = excluded.json",
            params![n.id.0, n.read_at.is_some(), serde_json::to_string(n)?],
        )?;
        Ok(())
    }

    pub fn mark_notifications_read(&self, up_to: NotificationId, only: bool) -> Result<()> {
        let sql = if only {
            "UPDATE notifications SET read = 1 WHERE id = ?1"
        } else {
            "UPDATE notifications SET read = 1 WHERE id <= ?1"
        };
        self.lock().execute(sql, [up_to.0])?;
        Ok(())
    }

    /// The unread notifications about conversation `id`, oldest first.
    pub fn unread_notifications(&self, id: ConversationId) -> Result<Vec<Notification>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT json FROM notifications
             WHERE read = 0 AND json_extract(json, '$.conversation_id') = ?1 ORDER BY id",
        )?;
        stmt.query_map([id.0], |r| r.get::<_, String>(0))?
            .map(|json| Ok(serde_json::from_str(&json?)?))
            .collect()
    }

    /// Newest notifications first, with whether each is read.
    pub fn notifications(&self, limit: u32) -> Result<Vec<(Notification, bool)>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT json, read FROM notifications ORDER BY id DESC LIMIT ?1")?;
        stmt.query_map([limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
        })?
        .map(|x| {
            let (json, read) = x?;
            Ok((serde_json::from_str(&json)?, read))
        })
        .collect()
    }

    // ---- drafts

    /// Keeps what is typed in a conversation; an empty text removes the draft.
    pub fn set_draft(
        &self,
        id: ConversationId,
        text: &str,
        reply_to: Option<MessageId>,
    ) -> Result<()> {
        let conn = self.lock();
        if text.trim().is_empty() && reply_to.is_none() {
            conn.execute("DELETE FROM drafts WHERE conversation_id = ?1", [id.0])?;
        } else {
            conn.execute(
                "INSERT INTO drafts (conversation_id, text, reply_to, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (conversation_id) DO UPDATE SET text = excluded.text,
                     reply_to = excluded.reply_to, updated_at = excluded.updated_at",
                params![id.0, text, reply_to.map(|m| m.0), now_rfc3339()],
            )?;
        }
        Ok(())
    }

    pub fn draft(&self, id: ConversationId) -> Result<Option<Draft>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT text, reply_to, updated_at FROM drafts WHERE conversation_id = ?1",
                [id.0],
                |r| {
                    Ok(Draft {
                        text: r.get(0)?,
                        reply_to: r.get::<_, Option<i64>>(1)?.map(MessageId),
                        updated_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

impl Cache {
    // ---- the media cache's bookkeeping (files live in the account's media directory)

    /// Records that `key` (size `size`) was just used; returns whether it was already known.
    pub fn media_touch(&self, key: &str, size: u64) -> Result<bool> {
        let conn = self.lock();
        let known = conn
            .prepare_cached("SELECT 1 FROM media_files WHERE key = ?1")?
            .exists([key])?;
        conn.execute(
            "INSERT INTO media_files (key, size, last_used) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET last_used = excluded.last_used",
            params![key, size as i64, now_ms()],
        )?;
        Ok(known)
    }

    pub fn media_forget(&self, key: &str) -> Result<()> {
        self.lock()
            .execute("DELETE FROM media_files WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The least recently used files to delete so the cache holds at most `cap` bytes (never the
    /// one named `keep`, just fetched). They are forgotten here; the caller deletes the files.
    pub fn media_evict(&self, cap: u64, keep: &str) -> Result<Vec<String>> {
        self.write(|tx| {
            let total: i64 =
                tx.query_row("SELECT COALESCE(SUM(size), 0) FROM media_files", [], |r| {
                    r.get(0)
                })?;
            let mut over = total - cap as i64;
            let mut evicted = Vec::new();
            if over <= 0 {
                return Ok(evicted);
            }
            {
                let mut stmt = tx.prepare(
                    "SELECT key, size FROM media_files WHERE key != ?1 ORDER BY last_used, key",
                )?;
                let rows = stmt.query_map([keep], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (key, size) = row?;
                    if over <= 0 {
                        break;
                    }
                    over -= size;
                    evicted.push(key);
                }
            }
            for key in &evicted {
                tx.execute("DELETE FROM media_files WHERE key = ?1", [key])?;
            }
            Ok(evicted)
        })
    }

    /// Bytes of downloaded media the cache accounts for.
    pub fn media_bytes(&self) -> Result<u64> {
        let n: i64 =
            self.lock()
                .query_row("SELECT COALESCE(SUM(size), 0) FROM media_files", [], |r| {
                    r.get(0)
                })?;
        Ok(n.max(0) as u64)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---- helpers shared by the submodules

pub(crate) fn load_conversation(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<(Conversation, i64)>> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT json, position FROM conversations WHERE id = ?1")?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((json, position)) => Ok(Some((serde_json::from_str(&json)?, position))),
        None => Ok(None),
    }
}

/// A conversation as the server described it, with what a queued change will set: a mute made
/// offline shows (and silences alerts) until the server has it, whatever an older listing says.
fn with_queued<'c>(
    conn: &Connection,
    conversation: &'c Conversation,
) -> Result<std::borrow::Cow<'c, Conversation>> {
    Ok(match outbox::queued_mute(conn, conversation.id)? {
        Some(muted) if muted != conversation.muted => {
            let mut c = conversation.clone();
            c.muted = muted;
            std::borrow::Cow::Owned(c)
        }
        _ => std::borrow::Cow::Borrowed(conversation),
    })
}

pub(crate) fn save_conversation(conn: &Connection, c: &Conversation) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET json = ?2, last_activity_at = ?3 WHERE id = ?1")?
        .execute(params![
            c.id.0,
            serde_json::to_string(c)?,
            c.last_activity_at
        ])?;
    Ok(())
}

pub(crate) fn load_message(conn: &Connection, id: MessageId) -> Result<Option<Message>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT json FROM messages WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

pub(crate) fn message_by_client_id(
    conn: &Connection,
    conversation: ConversationId,
    client_id: &str,
) -> Result<Option<Message>> {
    let json: Option<String> = conn
        .prepare_cached(
            "SELECT json FROM messages WHERE conversation_id = ?1 AND client_id = ?2 LIMIT 1",
        )?
        .query_row(params![conversation.0, client_id], |r| r.get(0))
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

pub(crate) fn upsert_message(conn: &Connection, m: &Message) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (id, conversation_id, seq, client_id, reply_to, created_at, text, json,
             thread_only)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET text = excluded.text, json = excluded.json",
    )?
    .execute(params![
        m.id.0,
        m.conversation_id.0,
        m.seq,
        m.client_id,
        m.reply_to.map(|r| r.0),
        m.created_at,
        if m.deleted { "" } else { m.text.as_str() },
        serde_json::to_string(m)?,
        m.thread_only,
    ])?;
    Ok(())
}

/// A message the server has confirmed was sent by this account: its pending send is done.
pub(crate) fn drop_confirmed_send(conn: &Connection, me: UserId, m: &Message) -> Result<()> {
    if m.sender_id == me {
        conn.prepare_cached("DELETE FROM outbox WHERE client_id = ?1 AND conversation_id = ?2")?
            .execute(params![m.client_id, m.conversation_id.0])?;
    }
    Ok(())
}

pub(crate) fn preview(m: &Message) -> MessagePreview {
    MessagePreview {
        id: m.id,
        sender_id: m.sender_id,
        text: if m.deleted {
            String::new()
        } else {
            m.text.chars().take(200).collect()
        },
        deleted: m.deleted,
        created_at: m.created_at.clone(),
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
