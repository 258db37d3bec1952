//! Recovering and guarding an account: an email address proven by a code, changing the password,
//! and resetting it by mail.
//!
//! - **Email.** `PUT /users/me/email` mails a 6-digit code to the new address and keeps it
//!   *pending*; `POST /users/me/email/verify` with the code makes it the account's address. A code
//!   lives `email_code_ttl_secs`, allows [`CODE_ATTEMPTS`] wrong tries, and is single-use. Only a
//!   verified address receives resets. That another account holds the address is said only to
//!   whoever presents the right code — someone who reads that mailbox already knows.
//! - **Change.** Knowing the current password; a wrong one is counted and throttled exactly like
//!   a failed login (`lockout`), so the change form is no side door for guessing. It is refused as
//!   a field error, not `invalid_credentials`, which clients read as "signed out".
//! - **Reset.** `POST /auth/password-reset` names a username or an address. The answer is `204`
//!   at once, before anything is looked up: the lookup, the token and the mail happen in a task
//!   of their own, so neither the answer nor its timing says whether the account exists or has an
//!   address. A token (see `one_time`) lives `password_reset_ttl_secs`; confirming it sets the
//!   password, uses up every outstanding token of the account and ends every session — a reset
//!   means someone else may have had the password.
//!
//! Throttling: resets are budgeted per address (refused with `429`, the same for any name) and per
//! account (past the budget nothing is sent, still `204`: a refusal would say the account exists);
//! on top the per-address limiter of `/auth/*` applies. Codes are budgeted per account.

use super::lockout::{self, LockoutPolicy};
use super::mail::{Mail, MailError, Mailer};
use super::one_time;
use super::rate::KeyedRateLimiter;
use super::{Principal, ServiceError, SessionObserver, passwords};
use crate::clock::Clock;
use crate::storage::{EmailVerificationRecord, Storage, StorageError, UserRecord};
use jeco_shared::UserId;
use jeco_shared::account::{
    ChangePasswordRequest, ConfirmPasswordResetRequest, EMAIL_MAX, EmailStatus,
    PasswordResetRequest, RESET_LOGIN_MAX, SetEmailRequest, VerifyEmailRequest,
};
use jeco_shared::auth::PASSWORD_MAX;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Wrong codes allowed for one mailed code; then a new one is needed.
pub const CODE_ATTEMPTS: u32 = 5;

/// Lifetimes and the login throttle the password change shares.
#[derive(Debug, Clone)]
pub struct RecoverySettings {
    pub code_ttl: Duration,
    pub reset_ttl: Duration,
    pub lockout: LockoutPolicy,
    /// Wall time for expiry and lockout (`Config::clock`).
    pub clock: Clock,
}

impl RecoverySettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            code_ttl: Duration::from_secs(config.email_code_ttl_secs),
            reset_ttl: Duration::from_secs(config.password_reset_ttl_secs),
            lockout: super::accounts::AccountSettings::from_config(config).lockout,
            clock: config.clock.clone(),
        }
    }
}

pub struct Recovery {
    storage: Arc<dyn Storage>,
    mailer: Arc<dyn Mailer>,
    observer: Arc<dyn SessionObserver>,
    settings: RecoverySettings,
    /// Mail to one account: codes and resets. Generous for people, tight for a mail bomb.
    mail_per_account: KeyedRateLimiter<UserId>,
    /// Reset requests from one address (IPv6 by /64), whatever name they give.
    resets_per_address: KeyedRateLimiter<String>,
}

impl Recovery {
    pub fn new(
        storage: Arc<dyn Storage>,
        mailer: Arc<dyn Mailer>,
        observer: Arc<dyn SessionObserver>,
        settings: RecoverySettings,
    ) -> Self {
        Self {
            storage,
            mailer,
            observer,
            settings,
            mail_per_account: KeyedRateLimiter::per_minute(1, 5),
            resets_per_address: KeyedRateLimiter::per_minute(2, 10),
        }
    }

    // ---- email

    /// `GET /users/me/email`
    pub async fn email(&self, who: &Principal) -> Result<EmailStatus, ServiceError> {
        let email = self.storage.email_of(who.user_id).await?;
        let pending = self
            .storage
            .email_verification(who.user_id)
            .await?
            .filter(|p| {
                !p.used
                    && p.attempts < CODE_ATTEMPTS
                    && p.expires_at_ms > self.settings.clock.now_ms()
            })
            .map(|p| p.email);
        Ok(EmailStatus { email, pending })
    }

    /// `PUT /users/me/email`: mails a code to the address; it becomes the account's on
    /// verification. The current address (if any) stays until then.
    pub async fn set_email(
        &self,
        who: &Principal,
        req: SetEmailRequest,
    ) -> Result<EmailStatus, ServiceError> {
        let email = clean_email(&req.email).map_err(|p| ServiceError::field("email", p))?;
        if self.storage.email_of(who.user_id).await?.as_deref() == Some(email.as_str()) {
            return self.email(who).await;
        }
        self.mail_per_account
            .check(who.user_id)
            .map_err(|retry_after| ServiceError::MailRateLimited { retry_after })?;
        let code = one_time::new_code()?;
        let minutes = self.settings.code_ttl.as_secs().div_ceil(60);
        self.storage
            .put_email_verification(
                who.user_id,
                EmailVerificationRecord {
                    email: email.clone(),
                    code_hash: one_time::code_hash(who.user_id, &email, &code),
                    expires_at_ms: self.settings.clock.now_ms()
                        + self.settings.code_ttl.as_millis() as i64,
                    attempts: 0,
                    used: false,
                },
            )
            .await?;
        self.send(Mail {
            to: email,
            subject: "Your Jeco Chat verification code".into(),
            body: format!(
                "Your verification code is {code}.\n\n\
                 Enter it in Jeco Chat to use this address for your account.\n\
                 It is valid for {minutes} minutes. If you did not ask for it,\n\
                 ignore this mail.\n"
            ),
        })
        .await?;
        tracing::info!(user = who.user_id.0, "email verification code sent");
        self.email(who).await
    }

    /// `POST /users/me/email/verify`
    pub async fn verify_email(
        &self,
        who: &Principal,
        req: VerifyEmailRequest,
    ) -> Result<EmailStatus, ServiceError> {
        let code = req.code.trim();
        if !one_time::is_code_shaped(code) {
            return Err(ServiceError::field(
                "code",
                "must be the 6 digits from the mail",
            ));
        }
        let pending = self.storage.email_verification(who.user_id).await?.ok_or(
            ServiceError::CodeInvalid("no code was sent for this account; set the address first"),
        )?;
        let right = one_time::same_hash(
            &pending.code_hash,
            &one_time::code_hash(who.user_id, &pending.email, code),
        );
        if pending.attempts >= CODE_ATTEMPTS {
            return Err(ServiceError::CodeInvalid(
                "too many wrong codes; ask for a new one",
            ));
        }
        if !right {
            self.storage.count_email_code_attempt(who.user_id).await?;
            return Err(ServiceError::CodeInvalid(
                "this is not the code that was sent",
            ));
        }
        if pending.used {
            return Err(ServiceError::CodeUsed);
        }
        if pending.expires_at_ms <= self.settings.clock.now_ms() {
            return Err(ServiceError::CodeExpired);
        }
        match self
            .storage
            .confirm_email(who.user_id, &pending.email, self.settings.clock.now_ms())
            .await
        {
            Ok(()) => {}
            Err(StorageError::Conflict) => {
                return Err(ServiceError::Conflict(
                    "this address belongs to another account".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user = who.user_id.0, "email address verified");
        self.email(who).await
    }

    /// `DELETE /users/me/email`
    pub async fn remove_email(&self, who: &Principal) -> Result<(), ServiceError> {
        Ok(self.storage.remove_email(who.user_id).await?)
    }

    // ---- password change

    /// `POST /auth/password` from `from`.
    pub async fn change_password(
        &self,
        who: &Principal,
        req: ChangePasswordRequest,
        from: IpAddr,
    ) -> Result<(), ServiceError> {
        if let Some(p) = super::accounts::password_problem(&req.new_password) {
            return Err(ServiceError::field("new_password", p));
        }
        let user = self
            .storage
            .user_by_id(who.user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.check_current_password(&user, req.current_password, from)
            .await?;
        let hash = passwords::hash(req.new_password).await?;
        let keep = req.sign_out_others.then_some(Some(who.session_id));
        let ended = self
            .storage
            .set_password(user.id, hash, keep, self.settings.clock.now_ms())
            .await?;
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            user = user.id.0,
            signed_out = ended.len(),
            "password changed"
        );
        Ok(())
    }

    /// The login throttle, applied to the current password of a change.
    async fn check_current_password(
        &self,
        user: &UserRecord,
        password: String,
        from: IpAddr,
    ) -> Result<(), ServiceError> {
        let addr = lockout::address_key(from);
        let now = self.settings.clock.now_ms();
        let policy = self.settings.lockout;
        let failures = self
            .storage
            .login_failures(&user.username, &addr, now - policy.window_ms())
            .await?;
        if let Some(retry_after) = policy.wait(&failures, now) {
            return Err(ServiceError::AccountLocked { retry_after });
        }
        let ok = password.chars().count() <= PASSWORD_MAX
            && passwords::verify(password, Some(user.password_hash.clone())).await?;
        if ok {
            return Ok(());
        }
        self.storage
            .record_login_failure(&user.username, &addr, now, now - policy.window_ms())
            .await?;
        tracing::info!(user = user.id.0, %addr, "wrong current password in a password change");
        Err(ServiceError::field(
            "current_password",
            "is not the current password",
        ))
    }

    // ---- password reset

    /// `POST /auth/password-reset`: answers at once, the same for every name (see the module doc).
    pub fn request_reset(
        self: &Arc<Self>,
        req: PasswordResetRequest,
        from: IpAddr,
    ) -> Result<(), ServiceError> {
        let login = req.login.trim().to_lowercase();
        if login.is_empty() {
            return Err(ServiceError::field("login", "must not be empty"));
        }
        if login.chars().count() > RESET_LOGIN_MAX {
            return Err(ServiceError::field(
                "login",
                format!("must be at most {RESET_LOGIN_MAX} characters"),
            ));
        }
        self.resets_per_address
            .check(lockout::address_key(from))
            .map_err(|retry_after| ServiceError::MailRateLimited { retry_after })?;
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.send_reset(&login).await {
                tracing::warn!(error = %e, "could not send a password reset");
            }
        });
        Ok(())
    }

    /// The part of a reset request nobody waits for. Never logs `login`: people type passwords
    /// into the wrong field.
    async fn send_reset(&self, login: &str) -> Result<(), ServiceError> {
        let user = if login.contains('@') {
            match self.storage.user_by_email(login).await? {
                Some(id) => self.storage.user_by_id(id).await?,
                None => None,
            }
        } else {
            self.storage.user_by_username(login).await?
        };
        let Some(user) = user else {
            tracing::info!("password reset asked for an unknown account");
            return Ok(());
        };
        if self.storage.email_of(user.id).await?.is_none() {
            tracing::info!(
                user = user.id.0,
                "password reset asked for an account without an email address"
            );
            return Ok(());
        }
        if self.mail_per_account.check(user.id).is_err() {
            tracing::info!(
                user = user.id.0,
                "password reset not sent: the account's mail budget is spent"
            );
            return Ok(());
        }
        self.mail_reset_token(&user).await?;
        Ok(())
    }

    /// Mails `user` a new reset token at their verified address; `false` when they have none.
    /// Unbudgeted: the reset request above budgets first, and a server admin's request
    /// (`admin`) is not a stranger's.
    pub async fn mail_reset_token(&self, user: &UserRecord) -> Result<bool, ServiceError> {
        let Some(email) = self.storage.email_of(user.id).await? else {
            return Ok(false);
        };
        let (token, selector, hash) = one_time::new_reset_token()?;
        let now = self.settings.clock.now_ms();
        let expires = now + self.settings.reset_ttl.as_millis() as i64;
        self.storage
            .create_password_reset(selector, user.id, hash, now, expires)
            .await?;
        let minutes = self.settings.reset_ttl.as_secs().div_ceil(60);
        self.send(Mail {
            to: email,
            subject: "Reset your Jeco Chat password".into(),
            body: format!(
                "Someone asked to reset the password of the Jeco Chat account\n\
                 \"{username}\". To choose a new password, enter this token in\n\
                 Jeco Chat (\"Forgot password?\"):\n\n\
                 Token: {token}\n\n\
                 It is valid for {minutes} minutes and works once. Using it signs\n\
                 the account out everywhere. If you did not ask for it, ignore\n\
                 this mail; your password stays as it is.\n",
                username = user.username,
            ),
        })
        .await?;
        tracing::info!(user = user.id.0, "password reset sent");
        Ok(true)
    }

    /// `POST /auth/password-reset/confirm`
    pub async fn confirm_reset(
        &self,
        req: ConfirmPasswordResetRequest,
    ) -> Result<(), ServiceError> {
        if let Some(p) = super::accounts::password_problem(&req.new_password) {
            return Err(ServiceError::field("new_password", p));
        }
        let Some((selector, verifier)) = one_time::split_reset_token(req.token.trim()) else {
            return Err(ServiceError::CodeInvalid(
                "this is not a password-reset token",
            ));
        };
        let record = self
            .storage
            .password_reset(selector)
            .await?
            .filter(|r| one_time::same_hash(&r.verifier_hash, &verifier))
            .ok_or(ServiceError::CodeInvalid(
                "this password-reset token is not one this server sent",
            ))?;
        if record.used_at_ms.is_some() {
            return Err(ServiceError::CodeUsed);
        }
        if record.expires_at_ms <= self.settings.clock.now_ms() {
            return Err(ServiceError::CodeExpired);
        }
        let hash = passwords::hash(req.new_password).await?;
        // Checked again inside the transaction: two confirmations racing, one wins.
        let (user, ended) = self
            .storage
            .complete_password_reset(selector, hash, self.settings.clock.now_ms())
            .await?
            .ok_or(ServiceError::CodeUsed)?;
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            user = user.0,
            signed_out = ended.len(),
            "password reset confirmed"
        );
        Ok(())
    }

    async fn send(&self, mail: Mail) -> Result<(), ServiceError> {
        self.mailer.send(mail).await.map_err(|e| match e {
            MailError::Build(_) => {
                ServiceError::field("email", "is not an address mail can be sent to")
            }
            e => {
                tracing::error!(error = %e, "mail not sent");
                ServiceError::MailUnavailable
            }
        })
    }
}

/// A lowercased address, or why it is not acceptable.
fn clean_email(email: &str) -> Result<String, String> {
    let email = email.trim();
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.chars().count() > EMAIL_MAX {
        return Err(format!("must be at most {EMAIL_MAX} characters"));
    }
    let email = email.to_lowercase();
    let parsed: lettre::Address = email
        .parse()
        .map_err(|_| "is not an email address".to_owned())?;
    if !parsed.domain().contains('.') && !parsed.domain().starts_with('[') {
        return Err("must have a domain with a dot (name@example.org)".into());
    }
    // What the mailer will parse the recipient with; an address it refuses cannot be mailed.
    if email.parse::<lettre::message::Mailbox>().is_err() {
        return Err("is not an address mail can be sent to".into());
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_lowercased() {
        assert_eq!(
            clean_email(" Ada@Example.ORG "),
            Ok("ada@example.org".into())
        );
        assert!(clean_email("").is_err());
        assert!(clean_email("ada").is_err());
        assert!(clean_email("ada@localhost").is_err());
        assert!(clean_email("a b@example.org").is_err());
        assert!(clean_email(&format!("{}@example.org", "a".repeat(250))).is_err());
    }
}
