//! Accounts: users, sessions (refresh-token families) and failed logins.

use super::StorageError;
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

/// A user row, including the password hash (never leaves the services).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    /// Lowercase.
    pub username: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub status_text: Option<String>,
    pub is_admin: bool,
    pub created_at_ms: i64,
    /// The profile picture's blob.
    pub avatar_sha256: Option<String>,
    /// When a server admin deactivated the account; `None` while it is active.
    pub deactivated_at_ms: Option<i64>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("is_admin", &self.is_admin)
            .field("deactivated_at_ms", &self.deactivated_at_ms)
            .finish_non_exhaustive()
    }
}

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub display_name: Option<String>,
    pub is_admin: bool,
    pub created_at_ms: i64,
}

/// A profile update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub status_text: Option<Option<String>>,
}

/// What an authenticated request needs to know about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    /// The user's current admin flag (not the one baked into the token).
    pub is_admin: bool,
    pub revoked: bool,
    /// The account is deactivated (its sessions are revoked too; this closes the race with a
    /// sign-in that was under way meanwhile).
    pub deactivated: bool,
}

/// SHA-256 of a refresh token; only hashes are stored.
pub type TokenHash = [u8; 32];

/// Recent failed logins for one username, as the throttle (`services::lockout`) weighs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures from the address asking now…
    pub from_addr: u32,
    /// …and when the latest of them was.
    pub from_addr_last_ms: Option<i64>,
    /// Failures from every address.
    pub total: u32,
    /// When the latest of those was.
    pub last_ms: Option<i64>,
}

/// Result of presenting a refresh token for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was live: it is now used up and the new one is stored in the same session.
    Rotated { session: SessionId, user: UserId },
    /// The token had been rotated less than the grace period ago into the successor that was
    /// passed in, and that successor is still unused: a retried or concurrent refresh. Nothing is
    /// changed; the caller answers with the same pair as the first rotation (made at
    /// `rotated_at_ms`).
    Retried {
        session: SessionId,
        user: UserId,
        rotated_at_ms: i64,
    },
    /// The token had already been rotated: theft is assumed and the whole session is now revoked.
    Reused { session: SessionId },
    /// The token belongs to a session that was logged out or revoked.
    Revoked,
    /// The token is past its expiry.
    Expired,
    /// No such token.
    Unknown,
}

/// Users, sessions and failed logins.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Fails with [`StorageError::Conflict`] when the username is taken.
    async fn create_user(&self, user: NewUser) -> Result<UserRecord, StorageError>;
    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StorageError>;
    /// `username` must already be lowercase.
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StorageError>;
    async fn update_profile(
        &self,
        id: UserId,
        change: ProfileChange,
    ) -> Result<Option<UserRecord>, StorageError>;
    /// Users whose username or display name starts with `prefix` (case-insensitively), ordered by
    /// username, strictly after `after_username`, at most `limit`.
    async fn search_users(
        &self,
        prefix: &str,
        after_username: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StorageError>;

    /// Starts a session (a refresh-token family) with its first refresh token.
    async fn create_session(
        &self,
        user: UserId,
        refresh: TokenHash,
        refresh_expires_ms: i64,
        now_ms: i64,
    ) -> Result<SessionId, StorageError>;
    async fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StorageError>;
    /// Atomically: look `old` up; if it is live, mark it used and store `new` in its session; if it
    /// was already used — within `grace_ms` and into this same `new`, still unused — report a
    /// retry; otherwise revoke the session. See [`RefreshOutcome`].
    async fn rotate_refresh_token(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_expires_ms: i64,
        now_ms: i64,
        grace_ms: i64,
    ) -> Result<RefreshOutcome, StorageError>;
    /// Returns whether the session was live before.
    async fn revoke_session(&self, id: SessionId, now_ms: i64) -> Result<bool, StorageError>;

    /// Records a failed login for `username` from `addr` and forgets this username's failures
    /// older than `forget_before_ms`.
    async fn record_login_failure(
        &self,
        username: &str,
        addr: &str,
        now_ms: i64,
        forget_before_ms: i64,
    ) -> Result<(), StorageError>;
    /// Failed logins for `username` at or after `since_ms`: from `addr`, and from everywhere.
    async fn login_failures(
        &self,
        username: &str,
        addr: &str,
        since_ms: i64,
    ) -> Result<LoginFailures, StorageError>;
    /// Forgets the failures for `username` from `addr` (a successful login from there).
    async fn clear_login_failures(&self, username: &str, addr: &str) -> Result<(), StorageError>;
}
