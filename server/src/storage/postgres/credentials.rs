//! [`CredentialStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend: every check-then-change is one statement (using up a reset
//! token is `UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING`), so under READ
//! COMMITTED two instances racing for the same token get one winner, as `BEGIN IMMEDIATE` gave on
//! SQLite. A verified address belongs to one account through the partial unique index on
//! `users.email`: the second of two concurrent confirmations waits for the first and then fails
//! with [`StorageError::Conflict`].

use super::accounts::token_hash;
use super::{PgStorage, pg};
use crate::storage::credentials::*;
use crate::storage::{StorageError, TokenHash};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::{SessionId, UserId};

/// Revokes the live sessions of `user` but `keep`; returns their ids.
pub(super) async fn revoke_sessions_but(
    c: &impl GenericClient,
    user: UserId,
    keep: Option<SessionId>,
    now_ms: i64,
) -> Result<Vec<SessionId>, StorageError> {
    let keep = keep.map_or(0, |s| s.0);
    let stmt = c
        .prepare_cached(
            "UPDATE sessions SET revoked_at = $1
             WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3
             RETURNING id",
        )
        .await
        .map_err(pg)?;
    Ok(c.query(&stmt, &[&now_ms, &user.0, &keep])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| SessionId(r.get(0)))
        .collect())
}

#[async_trait]
impl CredentialStore for PgStorage {
    async fn email_of(&self, user: UserId) -> Result<Option<String>, StorageError> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT email FROM users WHERE id = $1", &[&user.0])
                .await
                .map_err(pg)?
                .and_then(|r| r.get::<_, Option<String>>(0)),
        )
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserId>, StorageError> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT id FROM users WHERE email = $1", &[&email])
                .await
                .map_err(pg)?
                .map(|r| UserId(r.get(0))),
        )
    }

    async fn put_email_verification(
        &self,
        user: UserId,
        pending: EmailVerificationRecord,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO email_verifications (user_id, email, code_hash, expires_at, attempts)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,
                 code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                 attempts = excluded.attempts, used_at = NULL",
            &[
                &user.0,
                &pending.email,
                &&pending.code_hash[..],
                &pending.expires_at_ms,
                &i64::from(pending.attempts),
            ],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerificationRecord>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT email, code_hash, expires_at, attempts, used_at IS NOT NULL
                 FROM email_verifications WHERE user_id = $1",
                &[&user.0],
            )
            .await
            .map_err(pg)?;
        row.map(|r| {
            Ok(EmailVerificationRecord {
                email: r.get(0),
                code_hash: token_hash(r.get(1))?,
                expires_at_ms: r.get(2),
                attempts: super::accounts::count_u32(r.get(3)),
                used: r.get(4),
            })
        })
        .transpose()
    }

    async fn count_email_code_attempt(&self, user: UserId) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = $1",
            &[&user.0],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn confirm_email(
        &self,
        user: UserId,
        email: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute(
            "UPDATE users SET email = $1 WHERE id = $2",
            &[&email, &user.0],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "UPDATE email_verifications SET used_at = $1 WHERE user_id = $2",
            &[&now_ms, &user.0],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }

    async fn remove_email(&self, user: UserId) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute("UPDATE users SET email = NULL WHERE id = $1", &[&user.0])
            .await
            .map_err(pg)?;
        tx.execute(
            "DELETE FROM email_verifications WHERE user_id = $1",
            &[&user.0],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        end_sessions_except: Option<Option<SessionId>>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                &[&password_hash, &user.0],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        let ended = match end_sessions_except {
            Some(keep) => revoke_sessions_but(&tx, user, keep, now_ms).await?,
            None => Vec::new(),
        };
        super::commit(tx).await?;
        Ok(ended)
    }

    async fn create_password_reset(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Expired and used tokens are of no further use; keep the table small.
        tx.execute(
            "DELETE FROM password_resets
             WHERE user_id = $1 AND (expires_at <= $2 OR used_at IS NOT NULL)",
            &[&user.0, &now_ms],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "INSERT INTO password_resets (selector, user_id, verifier_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &selector,
                &user.0,
                &&verifier_hash[..],
                &now_ms,
                &expires_at_ms,
            ],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await
    }

    async fn password_reset(
        &self,
        selector: &str,
    ) -> Result<Option<PasswordResetRecord>, StorageError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT user_id, verifier_hash, expires_at, used_at
                 FROM password_resets WHERE selector = $1",
                &[&selector],
            )
            .await
            .map_err(pg)?;
        row.map(|r| {
            Ok(PasswordResetRecord {
                user_id: UserId(r.get(0)),
                verifier_hash: token_hash(r.get(1))?,
                expires_at_ms: r.get(2),
                used_at_ms: r.get(3),
            })
        })
        .transpose()
    }

    async fn complete_password_reset(
        &self,
        selector: &str,
        password_hash: String,
        now_ms: i64,
    ) -> Result<Option<(UserId, Vec<SessionId>)>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // One statement: of two requests presenting the token at once, the second waits for the
        // row lock, re-checks `used_at IS NULL` and finds nothing.
        let user = tx
            .query_opt(
                "UPDATE password_resets SET used_at = $1
                 WHERE selector = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING user_id",
                &[&now_ms, &selector],
            )
            .await
            .map_err(pg)?
            .map(|r| UserId(r.get(0)));
        let Some(user) = user else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
            &[&now_ms, &user.0],
        )
        .await
        .map_err(pg)?;
        tx.execute(
            "UPDATE users SET password_hash = $1 WHERE id = $2",
            &[&password_hash, &user.0],
        )
        .await
        .map_err(pg)?;
        let ended = revoke_sessions_but(&tx, user, None, now_ms).await?;
        super::commit(tx).await?;
        Ok(Some((user, ended)))
    }

    async fn touch_session(
        &self,
        session: SessionId,
        client: Option<String>,
        addr: String,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE sessions SET client = coalesce($1, client), addr = $2, last_active_at = $3
             WHERE id = $4",
            &[&client, &addr, &now_ms, &session.0],
        )
        .await
        .map(drop)
        .map_err(pg)
    }

    async fn live_sessions(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionDetails>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT id, client, addr, created_at, coalesce(last_active_at, created_at)
                 FROM sessions s WHERE user_id = $1 AND revoked_at IS NULL
                   AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id
                                 AND t.used_at IS NULL AND t.expires_at > $2)
                 ORDER BY 5 DESC, id DESC",
            )
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&user.0, &now_ms])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| SessionDetails {
                id: SessionId(r.get(0)),
                client: r.get(1),
                addr: r.get(2),
                created_at_ms: r.get(3),
                last_active_at_ms: r.get(4),
            })
            .collect())
    }

    async fn revoke_sessions_except(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        let c = self.client().await?;
        revoke_sessions_but(&c, user, keep, now_ms).await
    }
}
