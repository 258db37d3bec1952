//! Credentials beyond the login itself: email addresses and their verification codes, password
//! changes and reset tokens, and the session list (issue 16).
//!
//! Sessions stay the refresh-token families of [`AccountStore`](super::AccountStore); this adds
//! what a person needs to recognise one (client, address, last activity) and the ways to end
//! several at once. Each operation that must be atomic — using up a reset token together with
//! setting the password and ending every session — is one method, so a backend runs it in one
//! transaction.

use super::{StorageError, TokenHash};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

/// An address waiting for its code.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailVerificationRecord {
    pub email: String,
    pub code_hash: TokenHash,
    pub expires_at_ms: i64,
    /// Wrong codes tried so far.
    pub attempts: u32,
    /// The code was used to verify the address.
    pub used: bool,
}

impl std::fmt::Debug for EmailVerificationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailVerificationRecord")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A password-reset token's row, found by its selector.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordResetRecord {
    pub user_id: UserId,
    pub verifier_hash: TokenHash,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
}

impl std::fmt::Debug for PasswordResetRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetRecord")
            .field("user_id", &self.user_id)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("used_at_ms", &self.used_at_ms)
            .finish_non_exhaustive()
    }
}

/// A live session as the session list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDetails {
    pub id: SessionId,
    pub client: Option<String>,
    pub addr: Option<String>,
    pub created_at_ms: i64,
    pub last_active_at_ms: i64,
}

/// Emails, codes, password changes and resets, and the session list.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The verified address of a user.
    async fn email_of(&self, user: UserId) -> Result<Option<String>, StorageError>;
    /// The user whose verified address is `email` (lowercase).
    async fn user_by_email(&self, email: &str) -> Result<Option<UserId>, StorageError>;
    /// Stores (replacing any) the address `user` asked to switch to and its code.
    async fn put_email_verification(
        &self,
        user: UserId,
        pending: EmailVerificationRecord,
    ) -> Result<(), StorageError>;
    async fn email_verification(
        &self,
        user: UserId,
    ) -> Result<Option<EmailVerificationRecord>, StorageError>;
    /// Counts one wrong code.
    async fn count_email_code_attempt(&self, user: UserId) -> Result<(), StorageError>;
    /// Makes the pending address `email` the user's verified one and marks the code used.
    /// [`StorageError::Conflict`] when another account has verified it meanwhile.
    async fn confirm_email(
        &self,
        user: UserId,
        email: &str,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    /// Forgets the user's address and any pending one.
    async fn remove_email(&self, user: UserId) -> Result<(), StorageError>;

    /// Sets a new password hash; with `end_sessions_except`, also revokes every live session of
    /// the user but that one (`Some(None)`: every session). Returns the sessions ended.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        end_sessions_except: Option<Option<SessionId>>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError>;

    async fn create_password_reset(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StorageError>;
    async fn password_reset(
        &self,
        selector: &str,
    ) -> Result<Option<PasswordResetRecord>, StorageError>;
    /// Atomically: if the token `selector` is still unused and unexpired, use it up (and every
    /// other of the user's), set the password and revoke every session of the user. `None` when
    /// the token was used or expired meanwhile; else the sessions ended.
    async fn complete_password_reset(
        &self,
        selector: &str,
        password_hash: String,
        now_ms: i64,
    ) -> Result<Option<(UserId, Vec<SessionId>)>, StorageError>;

    /// Records what the session list shows about a session that just signed in or refreshed:
    /// `client` only when given (it is kept from sign-in otherwise).
    async fn touch_session(
        &self,
        session: SessionId,
        client: Option<String>,
        addr: String,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    /// The user's live sessions (not revoked, holding an unexpired refresh token), most recently
    /// active first.
    async fn live_sessions(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionDetails>, StorageError>;
    /// Revokes every live session of `user` except `keep`; returns those ended.
    async fn revoke_sessions_except(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError>;
}
