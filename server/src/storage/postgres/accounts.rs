//! [`AccountStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::accounts::*;
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

#[async_trait]
impl AccountStore for PgStorage {
    async fn create_user(&self, _user: NewUser) -> Result<UserRecord, StorageError> {
        Err(super::not_yet("create_user"))
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
