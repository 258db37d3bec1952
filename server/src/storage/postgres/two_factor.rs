//! [`TwoFactorStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::two_factor::*;
use crate::storage::{StorageError, TokenHash};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

#[async_trait]
impl TwoFactorStore for PgStorage {
    async fn put_login_code(
        &self,
        _user: UserId,
        _code_hash: TokenHash,
        _expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("put_login_code"))
    }

    async fn login_code(&self, _user: UserId) -> Result<Option<LoginCodeRecord>, StorageError> {
        Err(super::not_yet("login_code"))
    }

    async fn count_login_code_attempt(&self, _user: UserId) -> Result<(), StorageError> {
        Err(super::not_yet("count_login_code_attempt"))
    }

    async fn use_login_code(&self, _user: UserId, _now_ms: i64) -> Result<bool, StorageError> {
        Err(super::not_yet("use_login_code"))
    }

    async fn two_factor(&self, _user: UserId) -> Result<Option<TwoFactorRecord>, StorageError> {
        Err(super::not_yet("two_factor"))
    }

    async fn put_pending_two_factor(
        &self,
        _user: UserId,
        _sealed_secret: Vec<u8>,
        _now_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("put_pending_two_factor"))
    }

    async fn enable_two_factor(
        &self,
        _user: UserId,
        _step: i64,
        _recovery_codes: Vec<TokenHash>,
        _now_ms: i64,
    ) -> Result<bool, StorageError> {
        Err(super::not_yet("enable_two_factor"))
    }

    async fn use_totp_step(&self, _user: UserId, _step: i64) -> Result<bool, StorageError> {
        Err(super::not_yet("use_totp_step"))
    }

    async fn disable_two_factor(&self, _user: UserId) -> Result<bool, StorageError> {
        Err(super::not_yet("disable_two_factor"))
    }

    async fn reset_two_factor(
        &self,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        Err(super::not_yet("reset_two_factor"))
    }

    async fn recovery_codes(
        &self,
        _user: UserId,
    ) -> Result<Vec<(i64, TokenHash, bool)>, StorageError> {
        Err(super::not_yet("recovery_codes"))
    }

    async fn use_recovery_code(&self, _id: i64, _now_ms: i64) -> Result<bool, StorageError> {
        Err(super::not_yet("use_recovery_code"))
    }

    async fn replace_recovery_codes(
        &self,
        _user: UserId,
        _codes: Vec<TokenHash>,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("replace_recovery_codes"))
    }

    async fn create_challenge(
        &self,
        _selector: String,
        _user: UserId,
        _verifier_hash: TokenHash,
        _setup: bool,
        _expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("create_challenge"))
    }

    async fn challenge(&self, _selector: &str) -> Result<Option<ChallengeRecord>, StorageError> {
        Err(super::not_yet("challenge"))
    }

    async fn count_challenge_attempt(&self, _selector: &str) -> Result<(), StorageError> {
        Err(super::not_yet("count_challenge_attempt"))
    }

    async fn use_challenge(&self, _selector: &str, _now_ms: i64) -> Result<bool, StorageError> {
        Err(super::not_yet("use_challenge"))
    }

    async fn require_two_factor(&self) -> Result<bool, StorageError> {
        Err(super::not_yet("require_two_factor"))
    }

    async fn set_require_two_factor(
        &self,
        _on: bool,
        _now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        Err(super::not_yet("set_require_two_factor"))
    }
}
