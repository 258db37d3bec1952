//! [`CredentialStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::credentials::*;
use crate::storage::{StorageError, TokenHash};
use async_trait::async_trait;
use jeco_shared::{SessionId, UserId};

#[async_trait]
impl CredentialStore for PgStorage {
    async fn email_of(&self, _user: UserId) -> Result<Option<String>, StorageError> {
        Err(super::not_yet("email_of"))
    }

    async fn user_by_email(&self, _email: &str) -> Result<Option<UserId>, StorageError> {
        Err(super::not_yet("user_by_email"))
    }

    async fn put_email_verification(
        &self,
        _user: UserId,
        _pending: EmailVerificationRecord,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("put_email_verification"))
    }

    async fn email_verification(
        &self,
        _user: UserId,
    ) -> Result<Option<EmailVerificationRecord>, StorageError> {
        Err(super::not_yet("email_verification"))
    }

    async fn count_email_code_attempt(&self, _user: UserId) -> Result<(), StorageError> {
        Err(super::not_yet("count_email_code_attempt"))
    }

    async fn confirm_email(
        &self,
        _user: UserId,
        _email: &str,
        _now_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("confirm_email"))
    }

    async fn remove_email(&self, _user: UserId) -> Result<(), StorageError> {
        Err(super::not_yet("remove_email"))
    }

    async fn set_password(
        &self,
        _user: UserId,
        _password_hash: String,
        _end_sessions_except: Option<Option<SessionId>>,
        _now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        Err(super::not_yet("set_password"))
    }

    async fn create_password_reset(
        &self,
        _selector: String,
        _user: UserId,
        _verifier_hash: TokenHash,
        _now_ms: i64,
        _expires_at_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("create_password_reset"))
    }

    async fn password_reset(
        &self,
        _selector: &str,
    ) -> Result<Option<PasswordResetRecord>, StorageError> {
        Err(super::not_yet("password_reset"))
    }

    async fn complete_password_reset(
        &self,
        _selector: &str,
        _password_hash: String,
        _now_ms: i64,
    ) -> Result<Option<(UserId, Vec<SessionId>)>, StorageError> {
        Err(super::not_yet("complete_password_reset"))
    }

    async fn touch_session(
        &self,
        _session: SessionId,
        _client: Option<String>,
        _addr: String,
        _now_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("touch_session"))
    }

    async fn live_sessions(
        &self,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Vec<SessionDetails>, StorageError> {
        Err(super::not_yet("live_sessions"))
    }

    async fn revoke_sessions_except(
        &self,
        _user: UserId,
        _keep: Option<SessionId>,
        _now_ms: i64,
    ) -> Result<Vec<SessionId>, StorageError> {
        Err(super::not_yet("revoke_sessions_except"))
    }
}
