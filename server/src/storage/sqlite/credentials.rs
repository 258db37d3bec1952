//! [`CredentialStore`] on SQLite.

use super::{SqliteStorage, backend};
use crate::storage::{
    CredentialStore, EmailVerificationRecord, PasswordResetRecord, SessionDetails, StorageError,
    TokenHash,
};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

fn hash_from(bytes: Vec<u8>) -> rusqlite::Result<TokenHash> {
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored hash is not 32 bytes".into(),
        )
    })
}

/// Revokes the live sessions of `user` but `keep`; returns their ids.
fn revoke_except(
    c: &Connection,
    user: UserId,
    keep: Option<SessionId>,
    now_ms: i64,
) -> rusqlite::Result<Vec<SessionId>> {
    let keep = keep.map_or(0, |s| s.0);
    let mut stmt = c.prepare_cached(
        "UPDATE sessions SET revoked_at = ?1
         WHERE user_id = ?2 AND revoked_at IS NULL AND id != ?3
         RETURNING id",
    )?;
    stmt.query_map(params![now_ms, user.0, keep], |r| Ok(SessionId(r.get(0)?)))?
        .collect()
}

#[async_trait]
impl CredentialStore for SqliteStorage {
    async fn email_of(&self, user: UserId) -> Result<Option<String>, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row("SELECT email FROM users WHERE id = ?1", [user.0], |r| {
                    r.get::<_, Option<String>>(0)
                })
                .optional()
                .map(Option::flatten)
                .map_err(backend)
            })
            .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserId>, StorageError> {
        let email = email.to_owned();
        self.pool
            .run(move |c| {
                c.query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
                    Ok(UserId(r.get(0)?))
                })
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn put_email_verification(
        &self,
        user: UserId,
        pending: EmailVerificationRecord,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "INSERT INTO email_verifications (user_id, email, code_hash, expires_at, attempts)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,
                         code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                         attempts = excluded.attempts, used_at = NULL",
                    params![
                        user.0,
                        pending.email,
                        &pending.code_hash[..],
                        pending.expires_at_ms,
                        pending.attempts
                    ],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerificationRecord>, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT email, code_hash, expires_at, attempts, used_at IS NOT NULL
                     FROM email_verifications WHERE user_id = ?1",
                    [user.0],
                    |r| {
                        Ok(EmailVerificationRecord {
                            email: r.get(0)?,
                            code_hash: hash_from(r.get(1)?)?,
                            expires_at_ms: r.get(2)?,
                            attempts: r.get(3)?,
                            used: r.get(4)?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn count_email_code_attempt(&self, user: UserId) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = ?1",
                    [user.0],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn confirm_email(
        &self,
        user: UserId,
        email: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let email = email.to_owned();
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                tx.execute(
                    "UPDATE users SET email = ?1 WHERE id = ?2",
                    params![email, user.0],
                )
                .map_err(backend)?;
                tx.execute(
                    "UPDATE email_verifications SET used_at = ?1 WHERE user_id = ?2",
                    params![now_ms, user.0],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn remove_email(&self, user: UserId) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                tx.execute("UPDATE users SET email = NULL WHERE id = ?1", [user.0])
                    .map_err(backend)?;
                tx.execute(
                    "DELETE FROM email_verifications WHERE user_id = ?1",
                    [user.0],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        end_sessions_except: Option<Option<SessionId>>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let n = tx
                    .execute(
                        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                        params![password_hash, user.0],
                    )
                    .map_err(backend)?;
                if n == 0 {
                    return Err(StorageError::NotFound);
                }
                let ended = match end_sessions_except {
                    Some(keep) => revoke_except(&tx, user, keep, now_ms).map_err(backend)?,
                    None => Vec::new(),
                };
                tx.commit().map_err(backend)?;
                Ok(ended)
            })
            .await
    }

    async fn create_password_reset(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                // Expired and used tokens are of no further use; keep the table small.
                tx.execute(
                    "DELETE FROM password_resets
                     WHERE user_id = ?1 AND (expires_at <= ?2 OR used_at IS NOT NULL)",
                    params![user.0, now_ms],
                )
                .map_err(backend)?;
                tx.execute(
                    "INSERT INTO password_resets
                         (selector, user_id, verifier_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![selector, user.0, &verifier_hash[..], now_ms, expires_at_ms],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn password_reset(
        &self,
        selector: &str,
    ) -> Result<Option<PasswordResetRecord>, StorageError> {
        let selector = selector.to_owned();
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT user_id, verifier_hash, expires_at, used_at
                     FROM password_resets WHERE selector = ?1",
                    [selector],
                    |r| {
                        Ok(PasswordResetRecord {
                            user_id: UserId(r.get(0)?),
                            verifier_hash: hash_from(r.get(1)?)?,
                            expires_at_ms: r.get(2)?,
                            used_at_ms: r.get(3)?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn complete_password_reset(
        &self,
        selector: &str,
        password_hash: String,
        now_ms: i64,
    ) -> Result<Option<(UserId, Vec<SessionId>)>, StorageError> {
        let selector = selector.to_owned();
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let user: Option<i64> = tx
                    .query_row(
                        "UPDATE password_resets SET used_at = ?1
                         WHERE selector = ?2 AND used_at IS NULL AND expires_at > ?1
                         RETURNING user_id",
                        params![now_ms, selector],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(backend)?;
                let Some(user) = user.map(UserId) else {
                    return Ok(None);
                };
                tx.execute(
                    "UPDATE password_resets SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL",
                    params![now_ms, user.0],
                )
                .map_err(backend)?;
                tx.execute(
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                    params![password_hash, user.0],
                )
                .map_err(backend)?;
                let ended = revoke_except(&tx, user, None, now_ms).map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(Some((user, ended)))
            })
            .await
    }

    async fn touch_session(
        &self,
        session: SessionId,
        client: Option<String>,
        addr: String,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE sessions SET client = coalesce(?1, client), addr = ?2,
                         last_active_at = ?3
                     WHERE id = ?4",
                    params![client, addr, now_ms, session.0],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn live_sessions(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionDetails>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, client, addr, created_at, coalesce(last_active_at, created_at)
                         FROM sessions s WHERE user_id = ?1 AND revoked_at IS NULL
                           AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id
                                         AND t.used_at IS NULL AND t.expires_at > ?2)
                         ORDER BY 5 DESC, id DESC",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![user.0, now_ms], |r| {
                    Ok(SessionDetails {
                        id: SessionId(r.get(0)?),
                        client: r.get(1)?,
                        addr: r.get(2)?,
                        created_at_ms: r.get(3)?,
                        last_active_at_ms: r.get(4)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
            })
            .await
    }

    async fn revoke_sessions_except(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        self.pool
            .run(move |c| revoke_except(c, user, keep, now_ms).map_err(backend))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{AccountStore, NewUser};

    async fn open_with_user() -> (tempfile::TempDir, SqliteStorage, UserId) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path().join("t.db"), 0)
            .await
            .unwrap();
        let user = s
            .create_user(NewUser {
                username: "ada".into(),
                password_hash: "old".into(),
                display_name: None,
                is_admin: false,
                created_at_ms: 1,
            })
            .await
            .unwrap()
            .id;
        (dir, s, user)
    }

    #[tokio::test]
    async fn a_reset_is_used_once_and_ends_every_session() {
        let (_d, s, user) = open_with_user().await;
        let a = s.create_session(user, [1; 32], 10_000, 10).await.unwrap();
        let b = s.create_session(user, [2; 32], 10_000, 20).await.unwrap();
        s.create_password_reset("sel1".into(), user, [9; 32], 30, 1_000)
            .await
            .unwrap();
        s.create_password_reset("sel2".into(), user, [8; 32], 31, 1_000)
            .await
            .unwrap();
        // Past its expiry: nothing happens.
        assert_eq!(
            s.complete_password_reset("sel1", "new".into(), 1_000)
                .await
                .unwrap(),
            None
        );
        let (who, mut ended) = s
            .complete_password_reset("sel1", "new".into(), 500)
            .await
            .unwrap()
            .unwrap();
        ended.sort();
        assert_eq!((who, ended), (user, vec![a, b]));
        assert_eq!(
            s.user_by_id(user).await.unwrap().unwrap().password_hash,
            "new"
        );
        // Used, and the account's other token with it.
        for selector in ["sel1", "sel2"] {
            assert!(
                s.password_reset(selector)
                    .await
                    .unwrap()
                    .unwrap()
                    .used_at_ms
                    .is_some()
            );
            assert_eq!(
                s.complete_password_reset(selector, "again".into(), 600)
                    .await
                    .unwrap(),
                None
            );
        }
        assert!(s.live_sessions(user, 600).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sessions_are_listed_touched_and_ended_but_one() {
        let (_d, s, user) = open_with_user().await;
        let a = s.create_session(user, [1; 32], 10_000, 10).await.unwrap();
        let b = s.create_session(user, [2; 32], 10_000, 20).await.unwrap();
        let expired = s.create_session(user, [3; 32], 50, 30).await.unwrap();
        s.touch_session(a, Some("laptop".into()), "192.0.2.1".into(), 40)
            .await
            .unwrap();
        // A refresh keeps the client name and moves the address and time.
        s.touch_session(a, None, "192.0.2.2".into(), 45)
            .await
            .unwrap();
        let live = s.live_sessions(user, 100).await.unwrap();
        assert_eq!(live.iter().map(|l| l.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(live[0].client.as_deref(), Some("laptop"));
        assert_eq!(live[0].addr.as_deref(), Some("192.0.2.2"));
        assert_eq!(live[0].last_active_at_ms, 45);
        assert_eq!(live[1].last_active_at_ms, 20);
        let mut ended = s.revoke_sessions_except(user, Some(a), 200).await.unwrap();
        ended.sort();
        assert_eq!(ended, vec![b, expired]);
        assert_eq!(s.live_sessions(user, 200).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_verified_address_belongs_to_one_account() {
        let (_d, s, ada) = open_with_user().await;
        let grace = s
            .create_user(NewUser {
                username: "grace".into(),
                password_hash: "h".into(),
                display_name: None,
                is_admin: false,
                created_at_ms: 1,
            })
            .await
            .unwrap()
            .id;
        s.confirm_email(ada, "a@example.org", 1).await.unwrap();
        assert!(matches!(
            s.confirm_email(grace, "a@example.org", 2).await,
            Err(StorageError::Conflict)
        ));
        assert_eq!(s.user_by_email("a@example.org").await.unwrap(), Some(ada));
        s.remove_email(ada).await.unwrap();
        assert_eq!(s.email_of(ada).await.unwrap(), None);
        s.confirm_email(grace, "a@example.org", 3).await.unwrap();
        assert_eq!(s.user_by_email("a@example.org").await.unwrap(), Some(grace));
    }
}
