//! Looking after the signed-in account: its email address (verified by a mailed code), its
//! password (change, or reset by a mailed token) and its signed-in sessions.
//!
//! Online-only, like `people.rs`: each needs the server's answer, nothing here is cached or
//! queued. Asking for a reset and confirming one need no account at all (the person cannot sign
//! in), so they go to the server the engine was made for without a token. Ending other sessions
//! closes their sockets with `SIGNED_OUT`, which an engine on the other side reads as signed out.
//!
//! "Export my data" downloads the account's zip (profile, messages, files; see
//! [`jeco_shared::export`]) to a file, streamed to disk: into `<file>.part` beside it, renamed
//! over `<file>` only once every byte has arrived, so a failed download never leaves a file that
//! looks finished.

use super::{Engine, EngineError, Result};
use jeco_shared::SessionId;
use jeco_shared::account::{
    ChangePasswordRequest, ConfirmPasswordResetRequest, EmailStatus, PasswordResetRequest,
    SessionInfo, SetEmailRequest, VerifyEmailRequest,
};
use jeco_shared::endpoints::{
    ChangePassword, ConfirmPasswordReset, EndSession, MyEmail, MySessions, RemoveEmail,
    RequestPasswordReset, SetEmail, SignOutOthers, VerifyEmail,
};
use std::path::Path;

impl Engine {
    /// The account's verified email address and any address waiting for its code.
    pub async fn email(&self) -> Result<EmailStatus> {
        self.call::<MyEmail>(&(), &()).await
    }

    /// Mails a verification code to `email`; it becomes the account's address once
    /// [`Engine::verify_email`] is given the code.
    pub async fn set_email(&self, email: &str) -> Result<EmailStatus> {
        let body = SetEmailRequest {
            email: email.to_owned(),
        };
        self.call::<SetEmail>(&(), &body).await
    }

    /// Proves the pending address with the 6-digit code from the mail.
    pub async fn verify_email(&self, code: &str) -> Result<EmailStatus> {
        let body = VerifyEmailRequest {
            code: code.to_owned(),
        };
        self.call::<VerifyEmail>(&(), &body).await
    }

    /// Removes the account's address (password resets then reach nobody).
    pub async fn remove_email(&self) -> Result<()> {
        self.call::<RemoveEmail>(&(), &()).await
    }

    /// Changes the password, knowing the current one; `sign_out_others` also ends every other
    /// session of the account. This session stays signed in.
    pub async fn change_password(
        &self,
        current: &str,
        new: &str,
        sign_out_others: bool,
    ) -> Result<()> {
        let body = ChangePasswordRequest {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
            sign_out_others,
        };
        self.call::<ChangePassword>(&(), &body).await
    }

    /// Asks the server to mail a password-reset token to the account named by username or email.
    /// Succeeds alike whether or not such an account exists. Needs no sign-in.
    pub async fn request_password_reset(&self, login: &str) -> Result<()> {
        let body = PasswordResetRequest {
            login: login.to_owned(),
        };
        self.inner
            .client
            .api()
            .send_anonymous::<RequestPasswordReset>(&(), &body)
            .await?;
        Ok(())
    }

    /// Sets a new password with the token from a reset mail; every session of the account ends,
    /// so sign in afterwards. Needs no sign-in.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<()> {
        let body = ConfirmPasswordResetRequest {
            token: token.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.inner
            .client
            .api()
            .send_anonymous::<ConfirmPasswordReset>(&(), &body)
            .await?;
        Ok(())
    }

    /// The account's signed-in sessions, most recently active first; `current` marks this one.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        Ok(self.call::<MySessions>(&(), &()).await?.items)
    }

    /// Signs out one session of the account (another device; its socket closes at once).
    pub async fn end_session(&self, session: SessionId) -> Result<()> {
        self.call::<EndSession>(&(session,), &()).await
    }

    /// Signs out every session of the account but this one; answers how many ended.
    pub async fn sign_out_others(&self) -> Result<u32> {
        Ok(self.call::<SignOutOthers>(&(), &()).await?.sessions)
    }

    /// Downloads "export my data" — a zip of everything this account wrote — to `to`, streamed
    /// to disk (never whole in memory); returns its size in bytes. `to` is replaced if it exists.
    /// The server allows one export at a time (`conflict`) and a few an hour (`rate_limited`).
    pub async fn export_my_data(&self, to: &Path) -> Result<u64> {
        let name = to
            .file_name()
            .ok_or_else(|| EngineError::Invalid(format!("{} is not a file name", to.display())))?;
        let mut part_name = name.to_owned();
        part_name.push(".part");
        let part = to.with_file_name(part_name);
        let written = self
            .with_token(|api, token| {
                let part = part.clone();
                async move {
                    let mut file = tokio::fs::File::create(&part).await.map_err(|e| {
                        crate::api::ApiError::UnexpectedResponse {
                            server: api.server().to_string(),
                            status: 0,
                            detail: format!("cannot create {}: {e}", part.display()),
                        }
                    })?;
                    api.download_export(&token, &mut file).await
                }
            })
            .await;
        let written = match written {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&part, to) {
            let _ = std::fs::remove_file(&part);
            return Err(EngineError::Invalid(format!(
                "cannot store the export at {}: {e}",
                to.display()
            )));
        }
        Ok(written)
    }
}
