//! [`TwoFactorStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend: using up a code, a TOTP step, a recovery code or a
//! challenge is one conditional `UPDATE`, so of two racing requests one wins. The changes that
//! touch a user's secret and recovery codes together (enable, disable, reset, replacing the codes)
//! first lock the user's row (`FOR NO KEY UPDATE`, which does not block rows referring to the
//! user): a `DELETE` then `INSERT` of recovery codes racing another would otherwise leave both
//! sets, where SQLite's single writer kept one.

use super::accounts::{count_u32, token_hash};
use super::{PgStorage, pg};
use crate::storage::two_factor::*;
use crate::storage::{StorageError, TokenHash};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::{SessionId, UserId};

const REQUIRE_TWO_FACTOR: &str = "require_two_factor";

/// Locks `user`'s row until the transaction ends; `false` when there is no such user.
async fn lock_user(tx: &impl GenericClient, user: UserId) -> Result<bool, StorageError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE",
            &[&user.0],
        )
        .await
        .map_err(pg)?
        .is_some())
}

async fn insert_recovery_codes(
    tx: &impl GenericClient,
    user: UserId,
    codes: &[TokenHash],
) -> Result<(), StorageError> {
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user.0])
        .await
        .map_err(pg)?;
    let stmt = tx
        .prepare_cached("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
        .await
        .map_err(pg)?;
    for code in codes {
        tx.execute(&stmt, &[&user.0, &&code[..]])
            .await
            .map_err(pg)?;
    }
    Ok(())
}

#[async_trait]
impl TwoFactorStore for PgStorage {
    async fn put_login_code(
        &self,
        user: UserId,
        code_hash: TokenHash,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO login_codes (user_id, code_hash, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash,
                 expires_at = excluded.expires_at, attempts = 0, used_at = NULL",
            &[&user.0, &&code_hash[..], &expires_at_ms],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn login_code(&self, user: UserId) -> Result<Option<LoginCodeRecord>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT code_hash, expires_at, attempts, used_at IS NOT NULL
                 FROM login_codes WHERE user_id = $1",
                &[&user.0],
            )
            .await
            .map_err(pg)?;
        row.map(|r| {
            Ok(LoginCodeRecord {
                code_hash: token_hash(r.get(0))?,
                expires_at_ms: r.get(1),
                attempts: count_u32(r.get(2)),
                used: r.get(3),
            })
        })
        .transpose()
    }

    async fn count_login_code_attempt(&self, user: UserId) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE login_codes SET attempts = attempts + 1 WHERE user_id = $1",
            &[&user.0],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn use_login_code(&self, user: UserId, now_ms: i64) -> Result<bool, StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE login_codes SET used_at = $2
             WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
            &[&user.0, &now_ms],
        )
        .await
        .map(|n| n == 1)
        .map_err(pg)
    }

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StorageError> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT secret, enabled_at IS NOT NULL, last_step FROM two_factor WHERE user_id = $1",
            &[&user.0],
        )
        .await
        .map_err(pg)?
        .map(|r| TwoFactorRecord {
            sealed_secret: r.get(0),
            enabled: r.get(1),
            last_step: r.get(2),
        }))
    }

    async fn put_pending_two_factor(
        &self,
        user: UserId,
        sealed_secret: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO two_factor (user_id, secret, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                     created_at = excluded.created_at, last_step = NULL
                 WHERE two_factor.enabled_at IS NULL",
                &[&user.0, &sealed_secret, &now_ms],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StorageError::Conflict);
        }
        Ok(())
    }

    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_codes: Vec<TokenHash>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if !lock_user(&tx, user).await? {
            return Ok(false);
        }
        let n = tx
            .execute(
                "UPDATE two_factor SET enabled_at = $2, last_step = $3
                 WHERE user_id = $1 AND enabled_at IS NULL",
                &[&user.0, &now_ms, &step],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Ok(false);
        }
        insert_recovery_codes(&tx, user, &recovery_codes).await?;
        super::commit(tx).await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE two_factor SET last_step = $2
             WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
            &[&user.0, &step],
        )
        .await
        .map(|n| n == 1)
        .map_err(pg)
    }

    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_user(&tx, user).await?;
        let n = tx
            .execute("DELETE FROM two_factor WHERE user_id = $1", &[&user.0])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user.0])
            .await
            .map_err(pg)?;
        super::commit(tx).await?;
        Ok(n > 0)
    }

    async fn reset_two_factor(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if !lock_user(&tx, user).await? {
            return Err(StorageError::NotFound);
        }
        tx.execute("DELETE FROM two_factor WHERE user_id = $1", &[&user.0])
            .await
            .map_err(pg)?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user.0])
            .await
            .map_err(pg)?;
        tx.execute(
            "UPDATE sign_in_challenges SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            &[&user.0, &now_ms],
        )
        .await
        .map_err(pg)?;
        let ended = super::credentials::revoke_sessions_but(&tx, user, None, now_ms).await?;
        super::commit(tx).await?;
        Ok(ended)
    }

    async fn recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<(i64, TokenHash, bool)>, StorageError> {
        let c = self.client().await?;
        c.query(
            "SELECT id, code_hash, used_at IS NOT NULL FROM recovery_codes
             WHERE user_id = $1 ORDER BY id",
            &[&user.0],
        )
        .await
        .map_err(pg)?
        .into_iter()
        .map(|r| Ok((r.get(0), token_hash(r.get(1))?, r.get(2))))
        .collect()
    }

    async fn use_recovery_code(&self, id: i64, now_ms: i64) -> Result<bool, StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
            &[&id, &now_ms],
        )
        .await
        .map(|n| n == 1)
        .map_err(pg)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: Vec<TokenHash>,
    ) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_user(&tx, user).await?;
        insert_recovery_codes(&tx, user, &codes).await?;
        super::commit(tx).await
    }

    async fn create_challenge(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        setup: bool,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        // The user's challenges that expired a day ago are of no use; sweep them as we go.
        c.execute(
            "DELETE FROM sign_in_challenges WHERE user_id = $1 AND expires_at < $2",
            &[&user.0, &(expires_at_ms - 24 * 60 * 60 * 1000)],
        )
        .await
        .map_err(pg)?;
        c.execute(
            "INSERT INTO sign_in_challenges (selector, user_id, verifier_hash, setup, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &selector,
                &user.0,
                &&verifier_hash[..],
                &setup,
                &expires_at_ms,
            ],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn challenge(&self, selector: &str) -> Result<Option<ChallengeRecord>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT user_id, verifier_hash, setup, expires_at, attempts, used_at IS NOT NULL
                 FROM sign_in_challenges WHERE selector = $1",
                &[&selector],
            )
            .await
            .map_err(pg)?;
        row.map(|r| {
            Ok(ChallengeRecord {
                user_id: UserId(r.get(0)),
                verifier_hash: token_hash(r.get(1))?,
                setup: r.get(2),
                expires_at_ms: r.get(3),
                attempts: count_u32(r.get(4)),
                used: r.get(5),
            })
        })
        .transpose()
    }

    async fn count_challenge_attempt(&self, selector: &str) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE selector = $1",
            &[&selector],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn use_challenge(&self, selector: &str, now_ms: i64) -> Result<bool, StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sign_in_challenges SET used_at = $2
             WHERE selector = $1 AND used_at IS NULL AND expires_at > $2",
            &[&selector, &now_ms],
        )
        .await
        .map(|n| n == 1)
        .map_err(pg)
    }

    async fn require_two_factor(&self) -> Result<bool, StorageError> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT value FROM server_settings WHERE key = $1",
            &[&REQUIRE_TWO_FACTOR],
        )
        .await
        .map_err(pg)?
        .is_some_and(|r| r.get::<_, String>(0) == "on"))
    }

    async fn set_require_two_factor(
        &self,
        on: bool,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute(
            "INSERT INTO server_settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&REQUIRE_TWO_FACTOR, &if on { "on" } else { "off" }],
        )
        .await
        .map_err(pg)?;
        let ended = if on {
            tx.query(
                "UPDATE sessions SET revoked_at = $1
                 WHERE revoked_at IS NULL AND user_id NOT IN
                     (SELECT user_id FROM two_factor WHERE enabled_at IS NOT NULL)
                 RETURNING id",
                &[&now_ms],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| SessionId(r.get(0)))
            .collect()
        } else {
            Vec::new()
        };
        super::commit(tx).await?;
        Ok(ended)
    }
}
