//! [`AdminStore`] on SQLite.

use super::accounts::{USER_COLUMNS, like_prefix, user_from_row};
use super::{SqliteStorage, backend};
use crate::storage::{AdminStore, AdminUserRecord, StorageError};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

/// The user columns (prefixed `u.`), then email, last activity, live sessions at `?NOW` and
/// whether two-factor is on.
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

fn admin_from_row(r: &Row<'_>) -> rusqlite::Result<AdminUserRecord> {
    Ok(AdminUserRecord {
        user: user_from_row(r)?,
        email: r.get(10)?,
        last_active_at_ms: r.get(11)?,
        live_sessions: r.get(12)?,
        two_factor: r.get(13)?,
    })
}

/// Whether `id` is an active admin and the only one.
fn is_last_active_admin(c: &Connection, id: UserId) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND is_admin AND deactivated_at IS NULL)
            AND NOT EXISTS (SELECT 1 FROM users
                            WHERE id != ?1 AND is_admin AND deactivated_at IS NULL)",
        [id.0],
        |r| r.get(0),
    )
}

fn exists(c: &Connection, id: UserId) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        [id.0],
        |r| r.get(0),
    )
}

#[async_trait]
impl AdminStore for SqliteStorage {
    async fn admin_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<AdminUserRecord>, StorageError> {
        let pattern = like_prefix(prefix);
        let after = after_username.unwrap_or("").to_owned();
        self.pool
            .run(move |c| {
                let sql = format!(
                    "{} WHERE (u.username LIKE ?1 ESCAPE '\\' OR u.display_name LIKE ?1 ESCAPE '\\'
                              OR u.email LIKE ?1 ESCAPE '\\')
                       AND u.username > ?2
                     ORDER BY u.username LIMIT ?3",
                    admin_select("?4")
                );
                let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
                stmt.query_map(params![pattern, after, limit, now_ms], admin_from_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn admin_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Option<AdminUserRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let sql = format!("{} WHERE u.id = ?1", admin_select("?2"));
                c.query_row(&sql, params![id.0, now_ms], admin_from_row)
                    .optional()
                    .map_err(backend)
            })
            .await
    }

    async fn deactivate_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                if !exists(&tx, id).map_err(backend)? {
                    return Err(StorageError::NotFound);
                }
                if is_last_active_admin(&tx, id).map_err(backend)? {
                    return Err(StorageError::LastAdmin);
                }
                tx.execute(
                    "UPDATE users SET deactivated_at = ?1 WHERE id = ?2 AND deactivated_at IS NULL",
                    params![now_ms, id.0],
                )
                .map_err(backend)?;
                let ended = {
                    let mut stmt = tx
                        .prepare_cached(
                            "UPDATE sessions SET revoked_at = ?1
                             WHERE user_id = ?2 AND revoked_at IS NULL RETURNING id",
                        )
                        .map_err(backend)?;
                    stmt.query_map(params![now_ms, id.0], |r| Ok(SessionId(r.get(0)?)))
                        .map_err(backend)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(backend)?
                };
                tx.commit().map_err(backend)?;
                Ok(ended)
            })
            .await
    }

    async fn reactivate_user(&self, id: UserId) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                if !exists(c, id).map_err(backend)? {
                    return Err(StorageError::NotFound);
                }
                c.execute(
                    "UPDATE users SET deactivated_at = NULL WHERE id = ?1",
                    [id.0],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                if !exists(&tx, id).map_err(backend)? {
                    return Err(StorageError::NotFound);
                }
                if !admin && is_last_active_admin(&tx, id).map_err(backend)? {
                    return Err(StorageError::LastAdmin);
                }
                tx.execute(
                    "UPDATE users SET is_admin = ?1 WHERE id = ?2",
                    params![admin, id.0],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AccountStore, NewUser};

    async fn user(s: &SqliteStorage, name: &str, admin: bool) -> UserId {
        s.create_user(NewUser {
            username: name.into(),
            password_hash: "h".into(),
            display_name: None,
            is_admin: admin,
            created_at_ms: 1,
        })
        .await
        .unwrap()
        .id
    }

    #[tokio::test]
    async fn the_last_active_admin_stays_and_deactivation_ends_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path().join("t.db"), 0)
            .await
            .unwrap();
        let root = user(&s, "root", true).await;
        let ada = user(&s, "ada", false).await;
        assert!(matches!(
            s.set_admin(root, false).await,
            Err(StorageError::LastAdmin)
        ));
        assert!(matches!(
            s.deactivate_user(root, 5).await,
            Err(StorageError::LastAdmin)
        ));
        assert!(matches!(
            s.set_admin(UserId(999), true).await,
            Err(StorageError::NotFound)
        ));

        let a = s.create_session(ada, [1; 32], 10_000, 2).await.unwrap();
        let b = s.create_session(ada, [2; 32], 10_000, 3).await.unwrap();
        assert_eq!(
            s.admin_user(ada, 4).await.unwrap().unwrap().live_sessions,
            2
        );
        let mut ended = s.deactivate_user(ada, 5).await.unwrap();
        ended.sort_by_key(|s| s.0);
        assert_eq!(ended, [a, b]);
        let row = s.admin_user(ada, 6).await.unwrap().unwrap();
        assert_eq!(row.user.deactivated_at_ms, Some(5));
        assert_eq!(row.live_sessions, 0);
        assert_eq!(row.last_active_at_ms, Some(3));
        assert!(s.session(a).await.unwrap().unwrap().deactivated);
        // Again: nothing more to end, the time of the first deactivation stays.
        assert!(s.deactivate_user(ada, 7).await.unwrap().is_empty());
        let row = s.admin_user(ada, 8).await.unwrap().unwrap();
        assert_eq!(row.user.deactivated_at_ms, Some(5));

        // A deactivated admin does not count as the other admin.
        s.set_admin(ada, true).await.unwrap();
        assert!(matches!(
            s.set_admin(root, false).await,
            Err(StorageError::LastAdmin)
        ));
        s.reactivate_user(ada).await.unwrap();
        s.set_admin(root, false).await.unwrap();
        let names: Vec<String> = s
            .admin_users("", None, 10, 9)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.user.username)
            .collect();
        assert_eq!(names, ["ada", "root"]);
    }
}
