//! [`TwoFactorStore`] on SQLite.

use super::{SqliteStorage, backend};
use crate::storage::{
    ChallengeRecord, LoginCodeRecord, StorageError, TokenHash, TwoFactorRecord, TwoFactorStore,
};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const REQUIRE_TWO_FACTOR: &str = "require_two_factor";

fn hash_from(bytes: Vec<u8>) -> rusqlite::Result<TokenHash> {
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored hash is not 32 bytes".into(),
        )
    })
}

fn insert_recovery_codes(
    c: &Connection,
    user: UserId,
    codes: &[TokenHash],
) -> rusqlite::Result<()> {
    c.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user.0])?;
    let mut stmt =
        c.prepare_cached("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)")?;
    for code in codes {
        stmt.execute(params![user.0, &code[..]])?;
    }
    Ok(())
}

/// Revokes every live session of `user`; returns their ids.
fn revoke_all(c: &Connection, user: UserId, now_ms: i64) -> rusqlite::Result<Vec<SessionId>> {
    let mut stmt = c.prepare_cached(
        "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL RETURNING id",
    )?;
    stmt.query_map(params![now_ms, user.0], |r| Ok(SessionId(r.get(0)?)))?
        .collect()
}

#[async_trait]
impl TwoFactorStore for SqliteStorage {
    async fn put_login_code(
        &self,
        user: UserId,
        code_hash: TokenHash,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "INSERT INTO login_codes (user_id, code_hash, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash,
                         expires_at = excluded.expires_at, attempts = 0, used_at = NULL",
                    params![user.0, &code_hash[..], expires_at_ms],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn login_code(&self, user: UserId) -> Result<Option<LoginCodeRecord>, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT code_hash, expires_at, attempts, used_at IS NOT NULL
                     FROM login_codes WHERE user_id = ?1",
                    [user.0],
                    |r| {
                        Ok(LoginCodeRecord {
                            code_hash: hash_from(r.get(0)?)?,
                            expires_at_ms: r.get(1)?,
                            attempts: r.get(2)?,
                            used: r.get(3)?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn count_login_code_attempt(&self, user: UserId) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE login_codes SET attempts = attempts + 1 WHERE user_id = ?1",
                    [user.0],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn use_login_code(&self, user: UserId, now_ms: i64) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE login_codes SET used_at = ?2
                     WHERE user_id = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![user.0, now_ms],
                )
                .map(|n| n == 1)
                .map_err(backend)
            })
            .await
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT secret, enabled_at IS NOT NULL, last_step
                     FROM two_factor WHERE user_id = ?1",
                    [user.0],
                    |r| {
                        Ok(TwoFactorRecord {
                            sealed_secret: r.get(0)?,
                            enabled: r.get(1)?,
                            last_step: r.get(2)?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn put_pending_two_factor(
        &self,
        user: UserId,
        sealed_secret: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                let n = c
                    .execute(
                        "INSERT INTO two_factor (user_id, secret, created_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                             created_at = excluded.created_at, last_step = NULL
                         WHERE two_factor.enabled_at IS NULL",
                        params![user.0, sealed_secret, now_ms],
                    )
                    .map_err(backend)?;
                if n == 0 {
                    return Err(StorageError::Conflict);
                }
                Ok(())
            })
            .await
    }

    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_codes: Vec<TokenHash>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let n = tx
                    .execute(
                        "UPDATE two_factor SET enabled_at = ?2, last_step = ?3
                         WHERE user_id = ?1 AND enabled_at IS NULL",
                        params![user.0, now_ms, step],
                    )
                    .map_err(backend)?;
                if n == 0 {
                    return Ok(false);
                }
                insert_recovery_codes(&tx, user, &recovery_codes).map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(true)
            })
            .await
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE two_factor SET last_step = ?2
                     WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
                    params![user.0, step],
                )
                .map(|n| n == 1)
                .map_err(backend)
            })
            .await
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let n = tx
                    .execute("DELETE FROM two_factor WHERE user_id = ?1", [user.0])
                    .map_err(backend)?;
                tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user.0])
                    .map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(n > 0)
            })
            .await
    }

    async fn reset_two_factor(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let exists = tx
                    .query_row("SELECT 1 FROM users WHERE id = ?1", [user.0], |_| Ok(()))
                    .optional()
                    .map_err(backend)?
                    .is_some();
                if !exists {
                    return Err(StorageError::NotFound);
                }
                tx.execute("DELETE FROM two_factor WHERE user_id = ?1", [user.0])
                    .map_err(backend)?;
                tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user.0])
                    .map_err(backend)?;
                tx.execute(
                    "UPDATE sign_in_challenges SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
                    params![user.0, now_ms],
                )
                .map_err(backend)?;
                let ended = revoke_all(&tx, user, now_ms).map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(ended)
            })
            .await
    }

    async fn recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<(i64, TokenHash, bool)>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, code_hash, used_at IS NOT NULL FROM recovery_codes
                         WHERE user_id = ?1 ORDER BY id",
                    )
                    .map_err(backend)?;
                stmt.query_map([user.0], |r| {
                    Ok((r.get(0)?, hash_from(r.get(1)?)?, r.get(2)?))
                })
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)
            })
            .await
    }

    async fn use_recovery_code(&self, id: i64, now_ms: i64) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE recovery_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
                    params![id, now_ms],
                )
                .map(|n| n == 1)
                .map_err(backend)
            })
            .await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: Vec<TokenHash>,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                insert_recovery_codes(&tx, user, &codes).map_err(backend)?;
                tx.commit().map_err(backend)
            })
            .await
    }

    async fn create_challenge(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        setup: bool,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                // Old challenges of anyone are of no use once expired; sweep them as we go.
                c.execute(
                    "DELETE FROM sign_in_challenges WHERE user_id = ?1 AND expires_at < ?2",
                    params![user.0, expires_at_ms - 24 * 60 * 60 * 1000],
                )
                .map_err(backend)?;
                c.execute(
                    "INSERT INTO sign_in_challenges (selector, user_id, verifier_hash, setup, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![selector, user.0, &verifier_hash[..], setup, expires_at_ms],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn challenge(&self, selector: &str) -> Result<Option<ChallengeRecord>, StorageError> {
        let selector = selector.to_owned();
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT user_id, verifier_hash, setup, expires_at, attempts, used_at IS NOT NULL
                     FROM sign_in_challenges WHERE selector = ?1",
                    [selector],
                    |r| {
                        Ok(ChallengeRecord {
                            user_id: UserId(r.get(0)?),
                            verifier_hash: hash_from(r.get(1)?)?,
                            setup: r.get(2)?,
                            expires_at_ms: r.get(3)?,
                            attempts: r.get(4)?,
                            used: r.get(5)?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn count_challenge_attempt(&self, selector: &str) -> Result<(), StorageError> {
        let selector = selector.to_owned();
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE selector = ?1",
                    [selector],
                )
                .map(|_| ())
                .map_err(backend)
            })
            .await
    }

    async fn use_challenge(&self, selector: &str, now_ms: i64) -> Result<bool, StorageError> {
        let selector = selector.to_owned();
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE sign_in_challenges SET used_at = ?2
                     WHERE selector = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![selector, now_ms],
                )
                .map(|n| n == 1)
                .map_err(backend)
            })
            .await
    }

    async fn require_two_factor(&self) -> Result<bool, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT value FROM server_settings WHERE key = ?1",
                    [REQUIRE_TWO_FACTOR],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map(|v| v.as_deref() == Some("on"))
                .map_err(backend)
            })
            .await
    }

    async fn set_require_two_factor(
        &self,
        on: bool,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                tx.execute(
                    "INSERT INTO server_settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![REQUIRE_TWO_FACTOR, if on { "on" } else { "off" }],
                )
                .map_err(backend)?;
                let ended = if on {
                    let mut stmt = tx
                        .prepare_cached(
                            "UPDATE sessions SET revoked_at = ?1
                             WHERE revoked_at IS NULL AND user_id NOT IN
                                 (SELECT user_id FROM two_factor WHERE enabled_at IS NOT NULL)
                             RETURNING id",
                        )
                        .map_err(backend)?;
                    let ended = stmt
                        .query_map([now_ms], |r| Ok(SessionId(r.get(0)?)))
                        .map_err(backend)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(backend)?;
                    drop(stmt);
                    ended
                } else {
                    Vec::new()
                };
                tx.commit().map_err(backend)?;
                Ok(ended)
            })
            .await
    }
}
