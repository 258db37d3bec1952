//! [`AdminStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend: "never the last active admin" was a read-then-write under
//! SQLite's single writer. Here `deactivate_user` and `set_admin(…, false)` first lock the target's
//! row and every active admin's row, in ascending id order (`SELECT … ORDER BY id FOR NO KEY
//! UPDATE`), and decide on those rows as the locks return them: two instances demoting or
//! deactivating the last two admins at once are one after the other, and the second is refused.
//! The ascending order means two such transactions can never deadlock. Listing orders usernames
//! by byte (`COLLATE "C"`), as the accounts search does.

use super::accounts::{USER_COLUMNS, like_prefix, user_from_row};
use super::{PgStorage, pg};
use crate::storage::StorageError;
use crate::storage::admin::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::{SessionId, UserId};
use tokio_postgres::Row;

/// The user columns (prefixed `u.`), then email, last activity, live sessions at `$now_param`
/// and whether two-factor is on.
fn admin_select(now_param: &str) -> String {
    let columns = USER_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, u.email,
            (SELECT max(coalesce(s.last_active_at, s.created_at)) FROM sessions s
              WHERE s.user_id = u.id),
            (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL
               AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id
                             AND t.used_at IS NULL AND t.expires_at > {now_param})),
            EXISTS (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL)
         FROM users u"
    )
}

fn admin_from_row(r: &Row) -> AdminUserRecord {
    AdminUserRecord {
        user: user_from_row(r),
        email: r.get(10),
        last_active_at_ms: r.get(11),
        live_sessions: super::accounts::count_u32(r.get(12)),
        two_factor: r.get(13),
    }
}

/// What an admin-removing change needs to know, read under lock.
enum Target {
    Missing,
    /// The user exists; `true` when it is the only active admin.
    Found {
        last_active_admin: bool,
    },
}

/// Locks `id`'s row and every active admin's row in ascending id order, then tells whether `id`
/// exists and is the last active admin. The rows come back as they are once locked (READ
/// COMMITTED re-reads a row another transaction changed meanwhile and drops it if it no longer
/// matches), so the answer holds until this transaction ends.
async fn lock_admins(tx: &impl GenericClient, id: UserId) -> Result<Target, StorageError> {
    let rows = tx
        .query(
            "SELECT id, is_admin AND deactivated_at IS NULL FROM users
             WHERE id = $1 OR (is_admin AND deactivated_at IS NULL)
             ORDER BY id
             FOR NO KEY UPDATE",
            &[&id.0],
        )
        .await
        .map_err(pg)?;
    let mut found = false;
    let mut target_active_admin = false;
    let mut other_active_admins = 0usize;
    for r in &rows {
        let (row_id, active_admin): (i64, bool) = (r.get(0), r.get(1));
        if row_id == id.0 {
            found = true;
            target_active_admin = active_admin;
        } else if active_admin {
            other_active_admins += 1;
        }
    }
    Ok(if found {
        Target::Found {
            last_active_admin: target_active_admin && other_active_admins == 0,
        }
    } else {
        Target::Missing
    })
}

#[async_trait]
impl AdminStore for PgStorage {
    async fn admin_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<AdminUserRecord>, StorageError> {
        let pattern = like_prefix(prefix);
        let after = after_username.unwrap_or("");
        let sql = format!(
            "{} WHERE (lower(u.username) LIKE lower($1) ESCAPE '\\'
                      OR lower(u.display_name) LIKE lower($1) ESCAPE '\\'
                      OR lower(u.email) LIKE lower($1) ESCAPE '\\')
               AND u.username COLLATE \"C\" > $2
             ORDER BY u.username COLLATE \"C\" LIMIT $3",
            admin_select("$4")
        );
        let c = self.client().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(pg)?;
        Ok(
            c.query(&stmt, &[&pattern, &after, &i64::from(limit), &now_ms])
                .await
                .map_err(pg)?
                .iter()
                .map(admin_from_row)
                .collect(),
        )
    }

    async fn admin_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Option<AdminUserRecord>, StorageError> {
        let sql = format!("{} WHERE u.id = $1", admin_select("$2"));
        let c = self.client().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(pg)?;
        Ok(c.query_opt(&stmt, &[&id.0, &now_ms])
            .await
            .map_err(pg)?
            .as_ref()
            .map(admin_from_row))
    }

    async fn deactivate_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        match lock_admins(&tx, id).await? {
            Target::Missing => return Err(StorageError::NotFound),
            Target::Found {
                last_active_admin: true,
            } => return Err(StorageError::LastAdmin),
            Target::Found { .. } => {}
        }
        tx.execute(
            "UPDATE users SET deactivated_at = $1 WHERE id = $2 AND deactivated_at IS NULL",
            &[&now_ms, &id.0],
        )
        .await
        .map_err(pg)?;
        let ended = super::credentials::revoke_sessions_but(&tx, id, None, now_ms).await?;
        super::commit(tx).await?;
        Ok(ended)
    }

    async fn reactivate_user(&self, id: UserId) -> Result<(), StorageError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE users SET deactivated_at = NULL WHERE id = $1",
                &[&id.0],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if admin {
            let n = tx
                .execute("UPDATE users SET is_admin = TRUE WHERE id = $1", &[&id.0])
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StorageError::NotFound);
            }
        } else {
            match lock_admins(&tx, id).await? {
                Target::Missing => return Err(StorageError::NotFound),
                Target::Found {
                    last_active_admin: true,
                } => return Err(StorageError::LastAdmin),
                Target::Found { .. } => {}
            }
            tx.execute("UPDATE users SET is_admin = FALSE WHERE id = $1", &[&id.0])
                .await
                .map_err(pg)?;
        }
        super::commit(tx).await
    }
}
