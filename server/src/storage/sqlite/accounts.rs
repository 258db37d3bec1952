//! [`AccountStore`] on SQLite.

use super::{SqliteStorage, backend};
use crate::storage::{
    AccountStore, LoginFailures, NewUser, ProfileChange, RefreshOutcome, SessionRecord,
    StorageError, TokenHash, UserRecord,
};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

pub(super) const USER_COLUMNS: &str =
    "id, username, password_hash, display_name, bio, status_text, is_admin, created_at,
    avatar_sha256, deactivated_at";

pub(super) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(r.get(0)?),
        username: r.get(1)?,
        password_hash: r.get(2)?,
        display_name: r.get(3)?,
        bio: r.get(4)?,
        status_text: r.get(5)?,
        is_admin: r.get(6)?,
        created_at_ms: r.get(7)?,
        avatar_sha256: r.get(8)?,
        deactivated_at_ms: r.get(9)?,
    })
}

pub(super) fn user_by_id(conn: &Connection, id: UserId) -> rusqlite::Result<Option<UserRecord>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id.0],
        user_from_row,
    )
    .optional()
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(super) fn like_prefix(prefix: &str) -> String {
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
impl AccountStore for SqliteStorage {
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
                    "SELECT s.user_id, u.is_admin, s.revoked_at IS NOT NULL,
                            u.deactivated_at IS NOT NULL
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
                            deactivated: r.get(3)?,
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
        grace_ms: i64,
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
                } else if let Some(used_at) = used_at {
                    // A retry within the grace period names the successor the first rotation
                    // stored (the caller derives it from `old`); if that is still unused, the
                    // client simply did not get the first answer.
                    let successor_unused: Option<bool> = if now_ms - used_at <= grace_ms {
                        tx.query_row(
                            "SELECT used_at IS NULL FROM refresh_tokens WHERE token_hash = ?1 AND session_id = ?2",
                            params![&new[..], session],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?
                    } else {
                        None
                    };
                    if successor_unused == Some(true) {
                        return Ok(RefreshOutcome::Retried {
                            session: SessionId(session),
                            user: UserId(user),
                            rotated_at_ms: used_at,
                        });
                    }
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
        addr: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<(), StorageError> {
        let (username, addr) = (username.to_owned(), addr.to_owned());
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
                    "INSERT INTO login_failures (username, addr, at) VALUES (?1, ?2, ?3)",
                    params![username, addr, now_ms],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn login_failures(
        &self,
        username: &str,
        addr: &str,
        since_ms: i64,
    ) -> Result<LoginFailures, StorageError> {
        let (username, addr) = (username.to_owned(), addr.to_owned());
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT count(*), max(at),
                                count(*) FILTER (WHERE addr = ?2), max(at) FILTER (WHERE addr = ?2)
                         FROM login_failures WHERE username = ?1 AND at >= ?3",
                    )
                    .map_err(backend)?;
                stmt.query_row(params![username, addr, since_ms], |r| {
                    Ok(LoginFailures {
                        total: r.get(0)?,
                        last_ms: r.get(1)?,
                        from_addr: r.get(2)?,
                        from_addr_last_ms: r.get(3)?,
                    })
                })
                .map_err(backend)
            })
            .await
    }

    async fn clear_login_failures(&self, username: &str, addr: &str) -> Result<(), StorageError> {
        let (username, addr) = (username.to_owned(), addr.to_owned());
        self.pool
            .run(move |c| {
                c.execute(
                    "DELETE FROM login_failures WHERE username = ?1 AND addr = ?2",
                    params![username, addr],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }
}
