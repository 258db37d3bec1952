//! Sign-in codes, two-factor secrets, recovery codes, sign-in challenges and the server setting
//! that requires two-factor (issue 16 items 3 and 4).
//!
//! Every "use it up" is one conditional update, so two requests racing with the same code or
//! challenge cannot both win: the second finds it used. Changes that end sessions (an admin
//! resetting two-factor, requiring it for everyone) revoke them in the same transaction.

use super::{StorageError, TokenHash};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

/// A mailed sign-in code.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCodeRecord {
    pub code_hash: TokenHash,
    pub expires_at_ms: i64,
    /// Wrong codes tried so far.
    pub attempts: u32,
    pub used: bool,
}

impl std::fmt::Debug for LoginCodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCodeRecord")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("attempts", &self.attempts)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

/// A user's TOTP secret, sealed, and whether it is in use.
#[derive(Clone, PartialEq, Eq)]
pub struct TwoFactorRecord {
    /// Nonce and ciphertext (see `services::two_factor`).
    pub sealed_secret: Vec<u8>,
    /// `false`: an enrolment waiting for its first code.
    pub enabled: bool,
    /// The time step of the latest accepted code.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TwoFactorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorRecord")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// A sign-in waiting for its second factor, found by its selector.
#[derive(Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub user_id: UserId,
    pub verifier_hash: TokenHash,
    /// The account enrols inside this sign-in (the server requires two-factor).
    pub setup: bool,
    pub expires_at_ms: i64,
    pub attempts: u32,
    pub used: bool,
}

impl std::fmt::Debug for ChallengeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeRecord")
            .field("user_id", &self.user_id)
            .field("setup", &self.setup)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("attempts", &self.attempts)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait TwoFactorStore: Send + Sync + 'static {
    // ---- sign-in codes

    /// Stores (replacing any) the user's sign-in code.
    async fn put_login_code(
        &self,
        user: UserId,
        code_hash: TokenHash,
        expires_at_ms: i64,
    ) -> Result<(), StorageError>;
    async fn login_code(&self, user: UserId) -> Result<Option<LoginCodeRecord>, StorageError>;
    /// Counts one wrong code.
    async fn count_login_code_attempt(&self, user: UserId) -> Result<(), StorageError>;
    /// Uses the code up if it is still unused and unexpired; `false` when another request did.
    async fn use_login_code(&self, user: UserId, now_ms: i64) -> Result<bool, StorageError>;

    // ---- the TOTP secret

    async fn two_factor(&self, user: UserId) -> Result<Option<TwoFactorRecord>, StorageError>;
    /// Stores a new secret waiting for its first code, replacing a pending one.
    /// [`StorageError::Conflict`] when two-factor is already enabled.
    async fn put_pending_two_factor(
        &self,
        user: UserId,
        sealed_secret: Vec<u8>,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    /// Atomically: enables the pending secret with `step` as its latest used step and replaces
    /// the recovery codes. `false` when nothing was pending (or it is enabled already).
    async fn enable_two_factor(
        &self,
        user: UserId,
        step: i64,
        recovery_codes: Vec<TokenHash>,
        now_ms: i64,
    ) -> Result<bool, StorageError>;
    /// Records `step` as used if it is later than the last used one; `false` when it is not
    /// (the code was used already, here or by a racing request).
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StorageError>;
    /// Forgets the secret and the recovery codes. `false` when there was none.
    async fn disable_two_factor(&self, user: UserId) -> Result<bool, StorageError>;
    /// Atomically: forgets the secret and recovery codes and revokes every live session.
    /// [`StorageError::NotFound`] when there is no such user.
    async fn reset_two_factor(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError>;

    // ---- recovery codes

    /// The user's recovery codes: (row id, hash, used).
    async fn recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<(i64, TokenHash, bool)>, StorageError>;
    /// Uses one up; `false` when it was used meanwhile.
    async fn use_recovery_code(&self, id: i64, now_ms: i64) -> Result<bool, StorageError>;
    /// Replaces every recovery code of the user.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: Vec<TokenHash>,
    ) -> Result<(), StorageError>;

    // ---- sign-in challenges

    async fn create_challenge(
        &self,
        selector: String,
        user: UserId,
        verifier_hash: TokenHash,
        setup: bool,
        expires_at_ms: i64,
    ) -> Result<(), StorageError>;
    async fn challenge(&self, selector: &str) -> Result<Option<ChallengeRecord>, StorageError>;
    async fn count_challenge_attempt(&self, selector: &str) -> Result<(), StorageError>;
    /// Uses the challenge up if it is still unused and unexpired; `false` otherwise.
    async fn use_challenge(&self, selector: &str, now_ms: i64) -> Result<bool, StorageError>;

    // ---- the server setting

    async fn require_two_factor(&self) -> Result<bool, StorageError>;
    /// Sets whether every account needs two-factor. Turning it on revokes, in the same
    /// transaction, every live session of the accounts without two-factor enabled; returns them.
    async fn set_require_two_factor(
        &self,
        on: bool,
        now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError>;
}
