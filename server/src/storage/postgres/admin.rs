//! [`AdminStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::admin::*;
use crate::storage::{StorageError, UserRecord};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

#[async_trait]
impl AdminStore for PgStorage {
    async fn admin_users(
        &self,
        _prefix: &str,
        _after_username: Option<&str>,
        _limit: u32,
        _now_ms: i64,
    ) -> Result<Vec<AdminUserRecord>, StorageError> {
        Err(super::not_yet("admin_users"))
    }

    async fn admin_user(
        &self,
        _id: UserId,
        _now_ms: i64,
    ) -> Result<Option<AdminUserRecord>, StorageError> {
        Err(super::not_yet("admin_user"))
    }

    async fn deactivate_user(
        &self,
        _id: UserId,
        _now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        Err(super::not_yet("deactivate_user"))
    }

    async fn reactivate_user(&self, _id: UserId) -> Result<(), StorageError> {
        Err(super::not_yet("reactivate_user"))
    }

    async fn set_admin(&self, _id: UserId, _admin: bool) -> Result<(), StorageError> {
        Err(super::not_yet("set_admin"))
    }
}
