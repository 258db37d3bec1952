//! Signing in with a code mailed to the account's verified address, instead of the password
//! (seed 004's one-time passwords, by email rather than SMS).
//!
//! - **Asking** (`POST /auth/login-code`) names a username or an address and is answered `204`
//!   at once, before anything is looked up, like a password reset (`recovery`): the lookup, the
//!   code and the mail happen in a task of their own, so neither the answer nor its timing says
//!   whether the account exists or has a verified address. Only a verified address gets mail.
//!   Asking again replaces the code. Budgets: per address (`429`, the same for every name) and
//!   per account (past it nothing is sent, still `204`).
//! - **The code**: 6 digits (`one_time::new_code`), valid `login_code_ttl_secs` (10 minutes),
//!   stored as a hash bound to the user, compared in constant time, single use,
//!   [`CODE_ATTEMPTS`] wrong tries and then it is void.
//! - **Confirming** shares the throttle of password sign-in (`lockout::Guard`, keyed by the
//!   username): a wrong code is a failed login, so mixing passwords and codes buys a guesser
//!   nothing. A wrong code for an unknown account is counted and answered exactly like one for a
//!   real account. The right code is a first factor: an account with two-factor still gets a
//!   challenge (`accounts::Accounts::after_first_factor`).

use super::ServiceError;
use super::accounts::{Accounts, SignIn};
use super::lockout::{self, Guard, LockoutPolicy};
use super::mail::{Mail, Mailer};
use super::one_time;
use super::rate::KeyedRateLimiter;
use crate::clock::Clock;
use crate::storage::{Storage, TokenHash, UserRecord};
use jeco_shared::UserId;
use jeco_shared::account::RESET_LOGIN_MAX;
use jeco_shared::two_factor::{ConfirmLoginCodeRequest, LoginCodeRequest, SignInOutcome};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Wrong codes allowed for one mailed code; then a new one is needed.
pub const CODE_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct LoginCodeSettings {
    pub ttl: Duration,
    pub lockout: LockoutPolicy,
    /// Wall time for expiry and lockout (`Config::clock`).
    pub clock: Clock,
}

impl LoginCodeSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            ttl: Duration::from_secs(config.login_code_ttl_secs),
            lockout: super::accounts::AccountSettings::from_config(config).lockout,
            clock: config.clock.clone(),
        }
    }
}

pub struct LoginCodes {
    storage: Arc<dyn Storage>,
    mailer: Arc<dyn Mailer>,
    accounts: Arc<Accounts>,
    settings: LoginCodeSettings,
    /// Codes mailed to one account.
    mail_per_account: KeyedRateLimiter<UserId>,
    /// Code requests from one address (IPv6 by /64), whatever name they give.
    requests_per_address: KeyedRateLimiter<String>,
}

impl LoginCodes {
    pub fn new(
        storage: Arc<dyn Storage>,
        mailer: Arc<dyn Mailer>,
        accounts: Arc<Accounts>,
        settings: LoginCodeSettings,
    ) -> Self {
        Self {
            storage,
            mailer,
            accounts,
            settings,
            mail_per_account: KeyedRateLimiter::per_minute(1, 5),
            requests_per_address: KeyedRateLimiter::per_minute(2, 10),
        }
    }

    /// `POST /auth/login-code`: answers at once, the same for every name.
    pub fn request(
        self: &Arc<Self>,
        req: LoginCodeRequest,
        from: IpAddr,
    ) -> Result<(), ServiceError> {
        let login = clean_login(&req.login)?;
        self.requests_per_address
            .check(lockout::address_key(from))
            .map_err(|retry_after| ServiceError::MailRateLimited { retry_after })?;
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.send(&login).await {
                tracing::warn!(error = %e, "could not send a sign-in code");
            }
        });
        Ok(())
    }

    /// The part of a request nobody waits for. Never logs `login`.
    async fn send(&self, login: &str) -> Result<(), ServiceError> {
        let Some(user) = self.find(login).await? else {
            tracing::info!("sign-in code asked for an unknown account");
            return Ok(());
        };
        let Some(email) = self.storage.email_of(user.id).await? else {
            tracing::info!(
                user = user.id.0,
                "sign-in code asked for an account without an email address"
            );
            return Ok(());
        };
        if user.deactivated_at_ms.is_some() {
            tracing::info!(
                user = user.id.0,
                "sign-in code not sent: account deactivated"
            );
            return Ok(());
        }
        if self.mail_per_account.check(user.id).is_err() {
            tracing::info!(
                user = user.id.0,
                "sign-in code not sent: the account's mail budget is spent"
            );
            return Ok(());
        }
        let code = one_time::new_code()?;
        let expires = self.settings.clock.now_ms() + self.settings.ttl.as_millis() as i64;
        self.storage
            .put_login_code(user.id, code_hash(user.id, &code), expires)
            .await?;
        let minutes = self.settings.ttl.as_secs().div_ceil(60);
        self.mailer
            .send(Mail {
                to: email,
                subject: "Your Jeco Chat sign-in code".into(),
                body: format!(
                    "Your sign-in code is {code}.\n\n\
                     Enter it in Jeco Chat to sign in as \"{username}\".\n\
                     It is valid for {minutes} minutes and works once. If you did not\n\
                     ask for it, ignore this mail; nobody can sign in without it.\n",
                    username = user.username,
                ),
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "mail not sent");
                ServiceError::MailUnavailable
            })?;
        tracing::info!(user = user.id.0, "sign-in code sent");
        Ok(())
    }

    /// `POST /auth/login-code/confirm`
    pub async fn confirm(
        &self,
        req: ConfirmLoginCodeRequest,
        sign_in: SignIn,
    ) -> Result<SignInOutcome, ServiceError> {
        let login = clean_login(&req.login)?;
        let code = req.code.trim();
        if !one_time::is_code_shaped(code) {
            return Err(ServiceError::field(
                "code",
                "must be the 6 digits from the mail",
            ));
        }
        let user = self.find(&login).await?;
        // Throttled under the username, as a password sign-in is; an unknown name under what was
        // typed, as a password sign-in with it would be.
        let key = user
            .as_ref()
            .map_or(login.as_str(), |u| u.username.as_str());
        let guard = Guard::check(
            self.storage.as_ref(),
            self.settings.lockout,
            &self.settings.clock,
            key,
            sign_in.from,
        )
        .await?;
        let wrong = ServiceError::CodeInvalid("this is not the code that was sent");
        let Some(user) = user else {
            guard.failed().await?;
            tracing::info!(addr = guard.addr(), "sign-in code for an unknown account");
            return Err(wrong);
        };
        let Some(record) = self.storage.login_code(user.id).await? else {
            guard.failed().await?;
            return Err(wrong);
        };
        let right = one_time::same_hash(&record.code_hash, &code_hash(user.id, code));
        if record.attempts >= CODE_ATTEMPTS {
            guard.failed().await?;
            return Err(ServiceError::CodeInvalid(
                "too many wrong codes; ask for a new one",
            ));
        }
        if !right {
            self.storage.count_login_code_attempt(user.id).await?;
            guard.failed().await?;
            tracing::info!(user = user.id.0, addr = guard.addr(), "wrong sign-in code");
            return Err(wrong);
        }
        if record.used {
            return Err(ServiceError::CodeUsed);
        }
        if record.expires_at_ms <= self.settings.clock.now_ms() {
            return Err(ServiceError::CodeExpired);
        }
        if !self
            .storage
            .use_login_code(user.id, self.settings.clock.now_ms())
            .await?
        {
            return Err(ServiceError::CodeUsed);
        }
        if user.deactivated_at_ms.is_some() {
            return Err(ServiceError::AccountDeactivated);
        }
        tracing::info!(user = user.id.0, "signed in with a mailed code");
        let outcome = self.accounts.after_first_factor(user, sign_in).await?;
        // As for a password: failures are forgotten once the sign-in is complete, not before
        // the second factor.
        if matches!(outcome, SignInOutcome::SignedIn(_)) {
            guard.succeeded().await?;
        }
        Ok(outcome)
    }

    async fn find(&self, login: &str) -> Result<Option<UserRecord>, ServiceError> {
        Ok(if login.contains('@') {
            match self.storage.user_by_email(login).await? {
                Some(id) => self.storage.user_by_id(id).await?,
                None => None,
            }
        } else {
            self.storage.user_by_username(login).await?
        })
    }
}

fn clean_login(login: &str) -> Result<String, ServiceError> {
    let login = login.trim().to_lowercase();
    if login.is_empty() {
        return Err(ServiceError::field("login", "must not be empty"));
    }
    if login.chars().count() > RESET_LOGIN_MAX {
        return Err(ServiceError::field(
            "login",
            format!("must be at most {RESET_LOGIN_MAX} characters"),
        ));
    }
    Ok(login)
}

/// The stored hash of a sign-in code for `user` (its own domain: an email verification code with
/// the same digits does not hash alike).
fn code_hash(user: UserId, code: &str) -> TokenHash {
    let mut h = Sha256::new();
    h.update(b"jeco sign-in code v1\0");
    h.update(user.0.to_le_bytes());
    h.update(code.as_bytes());
    h.finalize().into()
}
