//! Server administration: the account list as admins see it, deactivation and the admin flag.
//!
//! Each change that must hold an invariant is one method, so a backend runs it in one
//! transaction: the server never loses its last active admin ([`StorageError::LastAdmin`]), and
//! deactivating an account revokes its sessions in the same commit, so no refresh slips between.

use super::{StorageError, UserRecord};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

/// A user row with what only admins see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUserRecord {
    pub user: UserRecord,
    pub email: Option<String>,
    /// The latest sign-in or refresh of any session of the account.
    pub last_active_at_ms: Option<i64>,
    /// Sessions not revoked and holding an unexpired refresh token at `now_ms`.
    pub live_sessions: u32,
    /// Two-factor sign-in is on (enrolled and confirmed).
    pub two_factor: bool,
}

#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// Users whose username, display name or verified email starts with `prefix`
    /// (case-insensitively), ordered by username, strictly after `after_username`, at most `limit`.
    async fn admin_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
        now_ms: i64,
    ) -> Result<Vec<AdminUserRecord>, StorageError>;
    async fn admin_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Option<AdminUserRecord>, StorageError>;
    /// Atomically: marks the account deactivated (kept if it already was) and revokes every live
    /// session; returns the sessions ended. [`StorageError::LastAdmin`] when it is the last active
    /// admin, [`StorageError::NotFound`] when there is no such user.
    async fn deactivate_user(
        &self,
        id: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError>;
    /// Lets the account sign in again. [`StorageError::NotFound`] when there is no such user.
    async fn reactivate_user(&self, id: UserId) -> Result<(), StorageError>;
    /// Sets the server-admin flag. Removing it from the last active admin is
    /// [`StorageError::LastAdmin`]; [`StorageError::NotFound`] when there is no such user.
    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StorageError>;
}
