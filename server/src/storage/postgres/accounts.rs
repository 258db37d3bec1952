//! [`AccountStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend, where it relied on `BEGIN IMMEDIATE` serializing every
//! writer:
//! - `rotate_refresh_token` locks the presented token's row and its session's row
//!   (`SELECT … FOR NO KEY UPDATE`, which leaves rows referring to them alone) before deciding: two instances rotating the same token at once are
//!   then one after the other, and the second sees the first's rotation (a retry or a reuse), as
//!   on SQLite.
//! - `update_profile` is one `UPDATE … RETURNING` (each field set or kept by a flag), so the row
//!   it returns is the one it wrote.
//! - Searches compare and order usernames with `COLLATE "C"` (byte order, SQLite's `BINARY`),
//!   whatever the database's collation, so keyset pages are the same on both backends; the
//!   prefix match is `lower(…) LIKE lower(pattern)` (SQLite's `LIKE` ignores ASCII case only;
//!   here non-ASCII letters match case-insensitively too, as the trait asks).

use super::{PgStorage, pg};
use crate::storage::StorageError;
use crate::storage::accounts::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::{SessionId, UserId};
use tokio_postgres::Row;

/// The user columns, in the order [`user_from_row`] reads them.
pub(super) const USER_COLUMNS: &str =
    "id, username, password_hash, display_name, bio, status_text, is_admin, created_at,
    avatar_sha256, deactivated_at";

/// A [`UserRecord`] from the first ten columns of `r` ([`USER_COLUMNS`]).
pub(super) fn user_from_row(r: &Row) -> UserRecord {
    UserRecord {
        id: UserId(r.get(0)),
        username: r.get(1),
        password_hash: r.get(2),
        display_name: r.get(3),
        bio: r.get(4),
        status_text: r.get(5),
        is_admin: r.get(6),
        created_at_ms: r.get(7),
        avatar_sha256: r.get(8),
        deactivated_at_ms: r.get(9),
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern matching `prefix` at the start.
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

/// A count from the database (`count(*)`, a counter column) as the `u32` the records carry.
pub(super) fn count_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// A stored SHA-256 as a [`TokenHash`].
pub(super) fn token_hash(bytes: Vec<u8>) -> Result<TokenHash, StorageError> {
    bytes
        .try_into()
        .map_err(|_| StorageError::Backend("a stored hash is not 32 bytes".into()))
}

async fn user_by_id(
    c: &impl GenericClient,
    id: UserId,
) -> Result<Option<UserRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .await
        .map_err(pg)?;
    Ok(c.query_opt(&stmt, &[&id.0])
        .await
        .map_err(pg)?
        .as_ref()
        .map(user_from_row))
}

#[async_trait]
impl AccountStore for PgStorage {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                &*format!(
                    "INSERT INTO users (username, password_hash, display_name, is_admin, created_at)
                     VALUES ($1, $2, $3, $4, $5)
                     RETURNING {USER_COLUMNS}"
                ),
                &[
                    &user.username,
                    &user.password_hash,
                    &user.display_name,
                    &user.is_admin,
                    &user.created_at_ms,
                ],
            )
            .await
            .map_err(pg)?;
        Ok(user_from_row(&row))
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StorageError> {
        let c = self.client().await?;
        user_by_id(&c, id).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
            ))
            .await
            .map_err(pg)?;
        Ok(c.query_opt(&stmt, &[&username])
            .await
            .map_err(pg)?
            .as_ref()
            .map(user_from_row))
    }

    async fn update_profile(
        &self,
        id: UserId,
        change: ProfileChange,
    ) -> Result<Option<UserRecord>, StorageError> {
        let c = self.client().await?;
        let set = |v: &Option<Option<String>>| v.is_some();
        let value = |v: &Option<Option<String>>| v.clone().flatten();
        let row = c
            .query_opt(
                &*format!(
                    "UPDATE users SET
                         display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
                         bio = CASE WHEN $4 THEN $5 ELSE bio END,
                         status_text = CASE WHEN $6 THEN $7 ELSE status_text END
                     WHERE id = $1
                     RETURNING {USER_COLUMNS}"
                ),
                &[
                    &id.0,
                    &set(&change.display_name),
                    &value(&change.display_name),
                    &set(&change.bio),
                    &value(&change.bio),
                    &set(&change.status_text),
                    &value(&change.status_text),
                ],
            )
            .await
            .map_err(pg)?;
        Ok(row.as_ref().map(user_from_row))
    }

    async fn search_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError> {
        let pattern = like_prefix(prefix);
        let after = after_username.unwrap_or("");
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE (lower(username) LIKE lower($1) ESCAPE '\\'
                        OR lower(display_name) LIKE lower($1) ESCAPE '\\')
                   AND username COLLATE \"C\" > $2
                 ORDER BY username COLLATE \"C\"
                 LIMIT $3"
            ))
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&pattern, &after, &i64::from(limit)])
            .await
            .map_err(pg)?
            .iter()
            .map(user_from_row)
            .collect())
    }

    async fn create_session(
        &self,
        user: UserId,
        refresh: TokenHash,
        refresh_expires_ms: i64,
        now_ms: i64,
    ) -> Result<SessionId, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let session: i64 = tx
            .query_one(
                "INSERT INTO sessions (user_id, created_at) VALUES ($1, $2) RETURNING id",
                &[&user.0, &now_ms],
            )
            .await
            .map_err(pg)?
            .get(0);
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
            &[&&refresh[..], &session, &refresh_expires_ms],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await?;
        Ok(SessionId(session))
    }

    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT s.user_id, u.is_admin, s.revoked_at IS NOT NULL,
                        u.deactivated_at IS NOT NULL
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id = $1",
            )
            .await
            .map_err(pg)?;
        Ok(c.query_opt(&stmt, &[&id.0])
            .await
            .map_err(pg)?
            .map(|r| SessionRecord {
                id,
                user_id: UserId(r.get(0)),
                is_admin: r.get(1),
                revoked: r.get(2),
                deactivated: r.get(3),
            }))
    }

    async fn rotate_refresh_token(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_expires_ms: i64,
        now_ms: i64,
        grace_ms: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The token's and the session's rows stay locked until commit: a concurrent rotation of
        // the same token waits here and then reads this one's outcome.
        let row = tx
            .query_opt(
                "SELECT t.session_id, t.expires_at, t.used_at, s.user_id, s.revoked_at IS NOT NULL
                 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                 WHERE t.token_hash = $1
                 FOR NO KEY UPDATE OF t, s",
                &[&&old[..]],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Unknown);
        };
        let (session, expires_at, used_at, user, revoked): (i64, i64, Option<i64>, i64, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let outcome = if revoked {
            RefreshOutcome::Revoked
        } else if let Some(used_at) = used_at {
            // A retry within the grace period names the successor the first rotation stored; if
            // that is still unused, the client simply did not get the first answer.
            let successor_unused: Option<bool> = if now_ms - used_at <= grace_ms {
                tx.query_opt(
                    "SELECT used_at IS NULL FROM refresh_tokens
                     WHERE token_hash = $1 AND session_id = $2",
                    &[&&new[..], &session],
                )
                .await
                .map_err(pg)?
                .map(|r| r.get(0))
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
            tx.execute(
                "UPDATE sessions SET revoked_at = $1 WHERE id = $2",
                &[&now_ms, &session],
            )
            .await
            .map_err(pg)?;
            RefreshOutcome::Reused {
                session: SessionId(session),
            }
        } else if expires_at <= now_ms {
            RefreshOutcome::Expired
        } else {
            tx.execute(
                "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2",
                &[&now_ms, &&old[..]],
            )
            .await
            .map_err(pg)?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
                &[&&new[..], &session, &new_expires_ms],
            )
            .await
            .map_err(pg)?;
            RefreshOutcome::Rotated {
                session: SessionId(session),
                user: UserId(user),
            }
        };
        super::commit(tx).await?;
        Ok(outcome)
    }

    async fn revoke_session(&self, id: SessionId, now_ms: i64) -> Result<bool, StorageError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[&now_ms, &id.0],
            )
            .await
            .map_err(pg)?;
        Ok(n > 0)
    }

    async fn record_login_failure(
        &self,
        username: &str,
        addr: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute(
            "DELETE FROM login_failures WHERE username = $1 AND at < $2",
            &[&username, &forget_before_ms],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "INSERT INTO login_failures (username, addr, at) VALUES ($1, $2, $3)",
            &[&username, &addr, &now_ms],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }

    async fn login_failures(
        &self,
        username: &str,
        addr: &str,
        since_ms: i64,
    ) -> Result<LoginFailures, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT count(*), max(at),
                        count(*) FILTER (WHERE addr = $2), max(at) FILTER (WHERE addr = $2)
                 FROM login_failures WHERE username = $1 AND at >= $3",
            )
            .await
            .map_err(pg)?;
        let r = c
            .query_one(&stmt, &[&username, &addr, &since_ms])
            .await
            .map_err(pg)?;
        Ok(LoginFailures {
            total: count_u32(r.get(0)),
            last_ms: r.get(1),
            from_addr: count_u32(r.get(2)),
            from_addr_last_ms: r.get(3),
        })
    }

    async fn clear_login_failures(&self, username: &str, addr: &str) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM login_failures WHERE username = $1 AND addr = $2",
            &[&username, &addr],
        )
        .await
        .map(drop)
        .map_err(pg)
    }
}
