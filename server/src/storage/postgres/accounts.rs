//! [`AccountStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::accounts::*;
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

#[async_trait]
impl AccountStore for PgStorage {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StorageError> {
        // TEMP (hC): just enough for the message checks; hA's real one replaces it.
        let c = self.client().await?;
        let r = c
            .query_one(
                "INSERT INTO users (username, password_hash, display_name, is_admin, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING id, username, password_hash, display_name, bio, status_text, is_admin,
                           created_at, avatar_sha256, deactivated_at",
                &[
                    &user.username,
                    &user.password_hash,
                    &user.display_name,
                    &user.is_admin,
                    &user.created_at_ms,
                ],
            )
            .await
            .map_err(super::pg)?;
        Ok(UserRecord {
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
        })
    }

    async fn user_by_id(&self, _id: UserId) -> Result<Option<UserRecord>, StorageError> {
        Err(super::not_yet("user_by_id"))
    }

    async fn user_by_username(&self, _username: &str) -> Result<Option<UserRecord>, StorageError> {
        Err(super::not_yet("user_by_username"))
    }

    async fn update_profile(
        &self,
        _id: UserId,
        _change: ProfileChange,
    ) -> Result<Option<UserRecord>, StorageError> {
        Err(super::not_yet("update_profile"))
    }

    async fn search_users(
        &self,
        _prefix: &str,
        _after_username: Option<&str>,
        _limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError> {
        Err(super::not_yet("search_users"))
    }

    async fn create_session(
        &self,
        _user: UserId,
        _refresh: TokenHash,
        _refresh_expires_ms: i64,
        _now_ms: i64,
    ) -> Result<SessionId, StorageError> {
        Err(super::not_yet("create_session"))
    }

    async fn session(&self, _id: SessionId) -> Result<Option<SessionRecord>, StorageError> {
        Err(super::not_yet("session"))
    }

    async fn rotate_refresh_token(
        &self,
        _old: TokenHash,
        _new: TokenHash,
        _new_expires_ms: i64,
        _now_ms: i64,
        _grace_ms: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        Err(super::not_yet("rotate_refresh_token"))
    }

    async fn revoke_session(&self, _id: SessionId, _now_ms: i64) -> Result<bool, StorageError> {
        Err(super::not_yet("revoke_session"))
    }

    async fn record_login_failure(
        &self,
        _username: &str,
        _addr: &str,
        _now_ms: i64,
        _forget_before_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("record_login_failure"))
    }

    async fn login_failures(
        &self,
        _username: &str,
        _addr: &str,
        _since_ms: i64,
    ) -> Result<LoginFailures, StorageError> {
        Err(super::not_yet("login_failures"))
    }

    async fn clear_login_failures(&self, _username: &str, _addr: &str) -> Result<(), StorageError> {
        Err(super::not_yet("clear_login_failures"))
    }
}
