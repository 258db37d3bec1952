//! SQLite backend of [`Storage`]: the zero-configuration default.
//!
//! One database file in the data directory, opened in WAL mode (readers never block the writer),
//! with `foreign_keys` on and a `busy_timeout` so concurrent writers wait instead of failing.
//! Connections live in a small [`pool`] and run on blocking threads. Write transactions use
//! `BEGIN IMMEDIATE` so that two read-then-write transactions cannot deadlock on lock upgrade.

mod migrate;
mod pool;

use super::{
    NewUser, ProfileChange, RefreshOutcome, SessionRecord, Storage, StorageError, TokenHash,
    UserRecord,
};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};
use pool::Pool;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Connections in the pool. Small on purpose: see [`pool`].
const POOL_SIZE: usize = 4;
/// How long a statement waits for the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStorage {
    pool: Pool,
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

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with the resulting mode, so it is a query, not an execute.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite refused WAL mode");
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
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
                for _ in 1..POOL_SIZE {
                    conns.push(open_connection(&open_path).map_err(open_err)?);
                }
                Ok(conns)
            })
            .await
            .map_err(|e| StorageError::Backend(Box::new(e)))??;
        Ok(Self {
            pool: Pool::new(conns),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

const USER_COLUMNS: &str =
    "id, username, password_hash, display_name, bio, status_text, is_admin, created_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(r.get(0)?),
        username: r.get(1)?,
        password_hash: r.get(2)?,
        display_name: r.get(3)?,
        bio: r.get(4)?,
        status_text: r.get(5)?,
        is_admin: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

fn user_by_id(conn: &Connection, id: UserId) -> rusqlite::Result<Option<UserRecord>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id.0],
        user_from_row,
    )
    .optional()
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn ping(&self) -> Result<(), StorageError> {
        self.pool
            .run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "INSERT INTO users (username, password_hash, display_name, is_admin, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        user.username,
                        user.password_hash,
                        user.display_name,
                        user.is_admin,
                        user.created_at_ms
                    ],
                )
                .map_err(backend)?;
                let id = UserId(c.last_insert_rowid());
                user_by_id(c, id)
                    .map_err(backend)?
                    .ok_or_else(|| StorageError::Backend("inserted user vanished".into()))
            })
            .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StorageError> {
        self.pool
            .run(move |c| user_by_id(c, id).map_err(backend))
            .await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StorageError> {
        let username = username.to_owned();
        self.pool
            .run(move |c| {
                c.query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                    [username],
                    user_from_row,
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn update_profile(
        &self,
        id: UserId,
        change: ProfileChange,
    ) -> Result<Option<UserRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let fields = [
                    ("display_name", change.display_name),
                    ("bio", change.bio),
                    ("status_text", change.status_text),
                ];
                for (column, value) in fields {
                    if let Some(value) = value {
                        // Column names come from the fixed list above, never from input.
                        tx.execute(
                            &format!("UPDATE users SET {column} = ?1 WHERE id = ?2"),
                            params![value, id.0],
                        )
                        .map_err(backend)?;
                    }
                }
                let user = user_by_id(&tx, id).map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(user)
            })
            .await
    }

    async fn search_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError> {
        let pattern = like_prefix(prefix);
        let after = after_username.unwrap_or("").to_owned();
        self.pool
            .run(move |c| {
                // LIKE is case-insensitive for ASCII in SQLite; usernames are lowercase anyway.
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {USER_COLUMNS} FROM users
                         WHERE (username LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\')
                           AND username > ?2
                         ORDER BY username
                         LIMIT ?3"
                    ))
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![pattern, after, limit], user_from_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                Ok(rows)
            })
            .await
    }

    async fn create_session(
        &self,
        user: UserId,
        refresh: TokenHash,
        refresh_expires_ms: i64,
        now_ms: i64,
    ) -> Result<SessionId, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                tx.execute("INSERT INTO sessions (user_id, created_at) VALUES (?1, ?2)", params![
                    user.0, now_ms
                ])
                .map_err(backend)?;
                let session = SessionId(tx.last_insert_rowid());
                tx.execute(
                    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                    params![&refresh[..], session.0, refresh_expires_ms],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(session)
            })
            .await
    }

    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StorageError> {
        self.pool
            .run(move |c| {
                c.prepare_cached(
                    "SELECT s.user_id, u.is_admin, s.revoked_at IS NOT NULL
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([id.0], |r| {
                        Ok(SessionRecord {
                            id,
                            user_id: UserId(r.get(0)?),
                            is_admin: r.get(1)?,
                            revoked: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(backend)
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_expires_ms: i64,
        now_ms: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                let row: Option<(i64, i64, Option<i64>, i64, bool)> = tx
                    .query_row(
                        "SELECT t.session_id, t.expires_at, t.used_at, s.user_id, s.revoked_at IS NOT NULL
                         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                         WHERE t.token_hash = ?1",
                        [&old[..]],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()
                    .map_err(backend)?;
                let Some((session, expires_at, used_at, user, revoked)) = row else {
                    return Ok(RefreshOutcome::Unknown);
                };
                let outcome = if revoked {
                    RefreshOutcome::Revoked
                } else if used_at.is_some() {
                    tx.execute("UPDATE sessions SET revoked_at = ?1 WHERE id = ?2", params![
                        now_ms, session
                    ])
                    .map_err(backend)?;
                    RefreshOutcome::Reused { session: SessionId(session) }
                } else if expires_at <= now_ms {
                    RefreshOutcome::Expired
                } else {
                    tx.execute("UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2", params![
                        now_ms,
                        &old[..]
                    ])
                    .map_err(backend)?;
                    tx.execute(
                        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                        params![&new[..], session, new_expires_ms],
                    )
                    .map_err(backend)?;
                    RefreshOutcome::Rotated { session: SessionId(session), user: UserId(user) }
                };
                tx.commit().map_err(backend)?;
                Ok(outcome)
            })
            .await
    }

    async fn revoke_session(&self, id: SessionId, now_ms: i64) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                let n = c
                    .execute(
                        "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                        params![now_ms, id.0],
                    )
                    .map_err(backend)?;
                Ok(n > 0)
            })
            .await
    }

    async fn record_login_failure(
        &self,
        username: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<(), StorageError> {
        let username = username.to_owned();
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                tx.execute(
                    "DELETE FROM login_failures WHERE username = ?1 AND at < ?2",
                    params![username, forget_before_ms],
                )
                .map_err(backend)?;
                tx.execute(
                    "INSERT INTO login_failures (username, at) VALUES (?1, ?2)",
                    params![username, now_ms],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn recent_login_failures(
        &self,
        username: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StorageError> {
        let username = username.to_owned();
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT at FROM login_failures WHERE username = ?1 AND at >= ?2
                         ORDER BY at DESC LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![username, since_ms, limit], |r| r.get(0))
                    .map_err(backend)?
                    .collect::<Result<Vec<i64>, _>>()
                    .map_err(backend)?;
                Ok(rows)
            })
            .await
    }

    async fn clear_login_failures(&self, username: &str) -> Result<(), StorageError> {
        let username = username.to_owned();
        self.pool
            .run(move |c| {
                c.execute("DELETE FROM login_failures WHERE username = ?1", [username])
                    .map(|_| ())
                    .map_err(backend)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn usernames_are_unique() {
        let (_d, s) = open().await;
        s.create_user(new_user("alice")).await.unwrap();
        assert!(matches!(
            s.create_user(new_user("alice")).await,
            Err(StorageError::Conflict)
        ));
    }

    #[tokio::test]
    async fn search_is_prefix_keyset_and_escapes_wildcards() {
        let (_d, s) = open().await;
        for n in ["ann", "anna", "bob", "a_b"] {
            s.create_user(new_user(n)).await.unwrap();
        }
        let mut bob = s.user_by_username("bob").await.unwrap().unwrap();
        bob = s
            .update_profile(
                bob.id,
                ProfileChange {
                    display_name: Some(Some("Annie Bob".into())),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bob.display_name.as_deref(), Some("Annie Bob"));
        let names = |v: Vec<UserRecord>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
        assert_eq!(
            names(s.search_users("an", None, 10).await.unwrap()),
            ["ann", "anna", "bob"]
        );
        assert_eq!(
            names(s.search_users("an", None, 2).await.unwrap()),
            ["ann", "anna"]
        );
        assert_eq!(
            names(s.search_users("an", Some("anna"), 2).await.unwrap()),
            ["bob"]
        );
        assert_eq!(
            names(s.search_users("a_", None, 10).await.unwrap()),
            ["a_b"]
        );
    }

    #[tokio::test]
    async fn refresh_rotation_and_reuse() {
        let (_d, s) = open().await;
        let u = s.create_user(new_user("carol")).await.unwrap();
        let sid = s.create_session(u.id, [1; 32], 1000, 10).await.unwrap();
        assert_eq!(
            s.rotate_refresh_token([1; 32], [2; 32], 2000, 20)
                .await
                .unwrap(),
            RefreshOutcome::Rotated {
                session: sid,
                user: u.id
            }
        );
        assert_eq!(
            s.rotate_refresh_token([9; 32], [3; 32], 2000, 20)
                .await
                .unwrap(),
            RefreshOutcome::Unknown
        );
        // Presenting the rotated token again revokes the family, including the live token.
        assert_eq!(
            s.rotate_refresh_token([1; 32], [3; 32], 2000, 30)
                .await
                .unwrap(),
            RefreshOutcome::Reused { session: sid }
        );
        assert!(s.session(sid).await.unwrap().unwrap().revoked);
        assert_eq!(
            s.rotate_refresh_token([2; 32], [4; 32], 2000, 40)
                .await
                .unwrap(),
            RefreshOutcome::Revoked
        );
    }

    #[tokio::test]
    async fn expired_refresh_token() {
        let (_d, s) = open().await;
        let u = s.create_user(new_user("dave")).await.unwrap();
        s.create_session(u.id, [1; 32], 100, 10).await.unwrap();
        assert_eq!(
            s.rotate_refresh_token([1; 32], [2; 32], 2000, 100)
                .await
                .unwrap(),
            RefreshOutcome::Expired
        );
    }

    #[tokio::test]
    async fn login_failures_window() {
        let (_d, s) = open().await;
        for t in [10, 20, 30] {
            s.record_login_failure("eve", t, 0).await.unwrap();
        }
        assert_eq!(
            s.recent_login_failures("eve", 15, 10).await.unwrap(),
            vec![30, 20]
        );
        s.record_login_failure("eve", 40, 25).await.unwrap();
        assert_eq!(
            s.recent_login_failures("eve", 0, 10).await.unwrap(),
            vec![40, 30]
        );
        s.clear_login_failures("eve").await.unwrap();
        assert!(
            s.recent_login_failures("eve", 0, 10)
                .await
                .unwrap()
                .is_empty()
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
