//! Signing in with a mailed code and with two-factor authentication, and looking after the
//! account's own two-factor (issue 16 items 3 and 4); the admin's reset and "require two-factor"
//! are in `admin.rs`.
//!
//! Signing in is a typed sequence a UI can follow:
//!
//! 1. [`Engine::sign_in`] (password) or [`Engine::request_login_code`] then
//!    [`Engine::sign_in_with_code`] (mailed code) answer a [`SignInStep`]:
//!    - `SignedIn(user)`: done; the engine syncs as after [`Engine::login`].
//!    - `TwoFactorRequired(challenge)`: ask for the authenticator app's code (or a recovery
//!      code), then step 2.
//!    - `TwoFactorSetupRequired(setup)`: the server requires two-factor and the account has none.
//!      Show `setup.enrollment.secret` as text and `setup.enrollment.otpauth_uri` as a QR code,
//!      ask for the app's first code, then step 2; show the recovery codes it answers, once.
//! 2. [`Engine::complete_two_factor`] with the challenge and a [`TwoFactorProof`] answers a
//!    [`TwoFactorDone`] and starts syncing. Errors have codes a UI can switch on: `code_invalid`
//!    (wrong code; the challenge allows a few), `code_used` (a code already used: wait for the
//!    app's next one), `code_expired` (the challenge is too old: sign in again), `account_locked`
//!    (too many failures: wait `retry_after`).
//!
//! [`Engine::login`] stays for accounts without two-factor; for one with it, it fails with
//! [`ClientError::TwoFactorRequired`](crate::ClientError::TwoFactorRequired).
//!
//! Online-only and uncached, like `account.rs`.

use super::{Engine, Result};
use crate::session::{SignInStep, TwoFactorDone, TwoFactorProof};
use jeco_shared::endpoints::{
    BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, RegenerateRecoveryCodes, TwoFactorState,
};
use jeco_shared::two_factor::{
    DisableTwoFactorRequest, RecoveryCodes, TwoFactorCodeRequest, TwoFactorEnrollment,
    TwoFactorStatus,
};

impl Engine {
    /// Signs in with a password: signed in (and syncing), or the two-factor step to take.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<SignInStep> {
        let step = self.inner.client.sign_in(username, password).await?;
        self.opened(step)
    }

    /// Mails a 6-digit sign-in code to the verified address of the account named by `login`
    /// (username or address). Succeeds alike whether or not such an account exists.
    pub async fn request_login_code(&self, login: &str) -> Result<()> {
        Ok(self.inner.client.request_login_code(login).await?)
    }

    /// Signs in with the mailed code: signed in (and syncing), or the two-factor step to take.
    pub async fn sign_in_with_code(&self, login: &str, code: &str) -> Result<SignInStep> {
        let step = self.inner.client.sign_in_with_code(login, code).await?;
        self.opened(step)
    }

    /// Completes a sign-in with the authenticator app's code or a recovery code, and starts
    /// syncing. After a set-up challenge the answer holds the new recovery codes, to show once.
    pub async fn complete_two_factor(
        &self,
        challenge: &str,
        proof: TwoFactorProof,
    ) -> Result<TwoFactorDone> {
        let done = self
            .inner
            .client
            .complete_two_factor(challenge, proof)
            .await?;
        self.open_account(done.user.clone())?;
        Ok(done)
    }

    fn opened(&self, step: SignInStep) -> Result<SignInStep> {
        if let SignInStep::SignedIn(user) = &step {
            self.open_account(user.clone())?;
        }
        Ok(step)
    }

    /// Whether the account uses two-factor, its recovery codes left, and whether the server
    /// requires it.
    pub async fn two_factor_status(&self) -> Result<TwoFactorStatus> {
        self.call::<TwoFactorState>(&(), &()).await
    }

    /// Starts enrolling: a new secret for the authenticator app (text, and an `otpauth://` URI
    /// for a QR code). Nothing changes until [`Engine::confirm_two_factor`].
    pub async fn begin_two_factor(&self) -> Result<TwoFactorEnrollment> {
        self.call::<BeginTwoFactor>(&(), &()).await
    }

    /// Finishes enrolling with the app's current code: two-factor is on; the recovery codes, to
    /// show once.
    pub async fn confirm_two_factor(&self, code: &str) -> Result<RecoveryCodes> {
        let body = TwoFactorCodeRequest {
            code: code.trim().to_owned(),
        };
        self.call::<ConfirmTwoFactor>(&(), &body).await
    }

    /// Turns two-factor off, proven by the password (`TwoFactorOff::Password`) or a current code.
    pub async fn disable_two_factor(&self, proof: TwoFactorOff) -> Result<()> {
        let body = match proof {
            TwoFactorOff::Password(p) => DisableTwoFactorRequest {
                password: Some(p),
                code: None,
            },
            TwoFactorOff::Code(c) => DisableTwoFactorRequest {
                password: None,
                code: Some(c.trim().to_owned()),
            },
        };
        self.call::<DisableTwoFactor>(&(), &body).await
    }

    /// New recovery codes (the old ones stop working), with the app's current code.
    pub async fn regenerate_recovery_codes(&self, code: &str) -> Result<RecoveryCodes> {
        let body = TwoFactorCodeRequest {
            code: code.trim().to_owned(),
        };
        self.call::<RegenerateRecoveryCodes>(&(), &body).await
    }
}

/// What proves the person may turn two-factor off.
#[derive(Clone, PartialEq, Eq)]
pub enum TwoFactorOff {
    Password(String),
    /// A current code from the authenticator app.
    Code(String),
}

impl std::fmt::Debug for TwoFactorOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password([redacted])",
            Self::Code(_) => "Code([redacted])",
        })
    }
}
