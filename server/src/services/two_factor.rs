//! Two-factor authentication: TOTP secrets (RFC 6238, any authenticator app), one-time recovery
//! codes, and the second step of a sign-in.
//!
//! - **Secrets.** 160 random bits (RFC 4226's recommendation), shown once as base32 and as an
//!   `otpauth://` URI (issuer `Jeco`, account = username). The server must compute codes from
//!   the secret, so it cannot keep only a hash; it keeps it *sealed* with XChaCha20-Poly1305
//!   under a key derived from the server's secret key file (`secret.key`, see
//!   `signing_secret`), with the user id as associated data — a copy of the database alone
//!   gives no secret away, and a sealed secret moved to another user's row does not open.
//!   Losing `secret.key` therefore also loses every two-factor secret (an admin resets them).
//! - **Codes** are checked by `totp-rs` (SHA1, 6 digits, 30 s, ±1 step), which tells the time
//!   step that matched; the step is stored and only a later one is accepted, in one conditional
//!   update — so a code works once, even for two racing requests (RFC 6238 §5.2).
//! - **Recovery codes**: [`RECOVERY_CODE_COUNT`] codes of 50 random bits, stored as SHA-256 bound
//!   to the user, compared in constant time against every stored one, each used once.
//! - **Sign-in challenges**: after the first factor (`accounts`, `login_code`), an account with
//!   two-factor gets a challenge token (the split-token of `one_time`) instead of a session:
//!   single use, [`TwoFactorSettings::challenge_ttl`] long, [`CHALLENGE_ATTEMPTS`] wrong codes.
//!   Every wrong code also counts as a failed login for the account (`lockout::Guard`), so the
//!   challenge is no faster way to guess than the password form. When the server requires
//!   two-factor and the account has none, the challenge is a *setup* one: a pending secret goes
//!   with it, the first code enables two-factor, and the recovery codes come with the tokens.

use super::lockout::{Guard, LockoutPolicy};
use super::one_time;
use super::{Principal, ServiceError, passwords};
use crate::clock::Clock;
use crate::storage::{Storage, StorageError, TokenHash, TwoFactorRecord, UserRecord};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use jeco_shared::UserId;
use jeco_shared::auth::PASSWORD_MAX;
use jeco_shared::two_factor::{
    DisableTwoFactorRequest, RECOVERY_CODE_COUNT, RecoveryCodes, SignInOutcome, TOTP_DIGITS,
    TOTP_ISSUER, TOTP_STEP_SECS, TwoFactorChallenge, TwoFactorCodeRequest, TwoFactorEnrollment,
    TwoFactorLoginRequest, TwoFactorSetupChallenge, TwoFactorStatus, normalize_recovery_code,
};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use totp_rs::{Algorithm, Builder, Totp};

/// Wrong codes allowed for one challenge; then the sign-in starts over.
pub const CHALLENGE_ATTEMPTS: u32 = 5;
const SECRET_BYTES: usize = 20;
const NONCE_BYTES: usize = 24;

#[derive(Debug, Clone)]
pub struct TwoFactorSettings {
    pub challenge_ttl: Duration,
    pub lockout: LockoutPolicy,
    /// Wall time for expiry and lockout (`Config::clock`).
    pub clock: Clock,
}

impl TwoFactorSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            challenge_ttl: Duration::from_secs(config.two_factor_challenge_ttl_secs),
            lockout: LockoutPolicy::from_config(config),
            clock: config.clock.clone(),
        }
    }
}

/// A second step that went through: who, and the recovery codes of an enrolment made in it.
pub struct SecondFactor {
    pub user: UserRecord,
    pub recovery_codes: Vec<String>,
    pub recovery_codes_left: u32,
}

pub struct TwoFactor {
    storage: Arc<dyn Storage>,
    cipher: XChaCha20Poly1305,
    settings: TwoFactorSettings,
}

impl TwoFactor {
    /// `server_secret`: the signing secret's bytes; the sealing key is derived from it.
    pub fn new(
        storage: Arc<dyn Storage>,
        server_secret: &[u8],
        settings: TwoFactorSettings,
    ) -> Self {
        let mut h = Sha256::new();
        h.update(b"jeco two-factor secret sealing key v1\0");
        h.update(server_secret);
        let key: [u8; 32] = h.finalize().into();
        Self {
            storage,
            cipher: XChaCha20Poly1305::new(&key.into()),
            settings,
        }
    }

    // ---- the caller's own two-factor

    /// `GET /users/me/two-factor`
    pub async fn status(&self, who: &Principal) -> Result<TwoFactorStatus, ServiceError> {
        let enabled = self.enabled(who.user_id).await?;
        Ok(TwoFactorStatus {
            enabled,
            recovery_codes_left: if enabled {
                self.recovery_codes_left(who.user_id).await?
            } else {
                0
            },
            required: self.storage.require_two_factor().await?,
        })
    }

    /// `POST /users/me/two-factor`: a new pending secret (replacing a pending one).
    pub async fn begin(&self, who: &Principal) -> Result<TwoFactorEnrollment, ServiceError> {
        let user = self.user(who.user_id).await?;
        let enrollment = self.new_pending(&user).await?;
        tracing::info!(user = user.id.0, "two-factor enrolment started");
        Ok(enrollment)
    }

    /// `POST /users/me/two-factor/confirm`
    pub async fn confirm(
        &self,
        who: &Principal,
        req: TwoFactorCodeRequest,
        from: IpAddr,
    ) -> Result<RecoveryCodes, ServiceError> {
        let user = self.user(who.user_id).await?;
        let guard = self.guard(&user, from).await?;
        let codes = match self.enable_pending(&user, &req.code).await {
            Err(e) => return Err(self.count_if_wrong(&guard, e).await),
            Ok(codes) => codes,
        };
        guard.succeeded().await?;
        tracing::info!(user = user.id.0, "two-factor enabled");
        Ok(RecoveryCodes { codes })
    }

    /// `DELETE /users/me/two-factor`: with the password or a current code.
    pub async fn disable(
        &self,
        who: &Principal,
        req: DisableTwoFactorRequest,
        from: IpAddr,
    ) -> Result<(), ServiceError> {
        if self.storage.require_two_factor().await? {
            return Err(ServiceError::Conflict(
                "this server requires two-factor authentication; it cannot be turned off".into(),
            ));
        }
        let user = self.user(who.user_id).await?;
        let record = self
            .storage
            .two_factor(user.id)
            .await?
            .filter(|r| r.enabled)
            .ok_or_else(|| ServiceError::Conflict("two-factor is not on".into()))?;
        let guard = self.guard(&user, from).await?;
        let proven = match (req.password, req.code) {
            (Some(password), None) => {
                let ok = password.chars().count() <= PASSWORD_MAX
                    && passwords::verify(password, Some(user.password_hash.clone())).await?;
                if ok {
                    Ok(())
                } else {
                    guard.failed().await?;
                    return Err(ServiceError::field("password", "is not the password"));
                }
            }
            (None, Some(code)) => self.use_code(&user, &record, &code).await,
            _ => {
                return Err(ServiceError::field(
                    "password",
                    "give either the password or a code",
                ));
            }
        };
        if let Err(e) = proven {
            return Err(self.count_if_wrong(&guard, e).await);
        }
        guard.succeeded().await?;
        self.storage.disable_two_factor(user.id).await?;
        tracing::info!(user = user.id.0, "two-factor disabled");
        Ok(())
    }

    /// `POST /users/me/two-factor/recovery-codes`: new codes, with a current code.
    pub async fn regenerate(
        &self,
        who: &Principal,
        req: TwoFactorCodeRequest,
        from: IpAddr,
    ) -> Result<RecoveryCodes, ServiceError> {
        let user = self.user(who.user_id).await?;
        let record = self
            .storage
            .two_factor(user.id)
            .await?
            .filter(|r| r.enabled)
            .ok_or_else(|| ServiceError::Conflict("two-factor is not on".into()))?;
        let guard = self.guard(&user, from).await?;
        if let Err(e) = self.use_code(&user, &record, &req.code).await {
            return Err(self.count_if_wrong(&guard, e).await);
        }
        guard.succeeded().await?;
        let (codes, hashes) = new_recovery_codes(user.id)?;
        self.storage.replace_recovery_codes(user.id, hashes).await?;
        tracing::info!(user = user.id.0, "recovery codes regenerated");
        Ok(RecoveryCodes { codes })
    }

    // ---- sign-in

    /// After a first factor: `None` when `user` may have a session now, else the challenge to
    /// answer with a second one.
    pub async fn challenge_for(
        &self,
        user: &UserRecord,
    ) -> Result<Option<SignInOutcome>, ServiceError> {
        let expires_in = self.settings.challenge_ttl.as_secs();
        if self.enabled(user.id).await? {
            let challenge = self.new_challenge(user.id, false).await?;
            return Ok(Some(SignInOutcome::TwoFactorRequired(TwoFactorChallenge {
                challenge,
                expires_in,
            })));
        }
        if self.storage.require_two_factor().await? {
            let enrollment = self.new_pending(user).await?;
            let challenge = self.new_challenge(user.id, true).await?;
            tracing::info!(user = user.id.0, "sign-in must enrol in two-factor first");
            return Ok(Some(SignInOutcome::TwoFactorSetupRequired(
                TwoFactorSetupChallenge {
                    challenge,
                    expires_in,
                    enrollment,
                },
            )));
        }
        Ok(None)
    }

    /// `POST /auth/login/two-factor` from `from`: the account whose challenge was answered.
    pub async fn complete(
        &self,
        req: TwoFactorLoginRequest,
        from: IpAddr,
    ) -> Result<SecondFactor, ServiceError> {
        let Some((selector, verifier)) = one_time::split_reset_token(req.challenge.trim()) else {
            return Err(ServiceError::CodeInvalid("this is not a sign-in challenge"));
        };
        let challenge = self
            .storage
            .challenge(selector)
            .await?
            .filter(|c| one_time::same_hash(&c.verifier_hash, &verifier))
            .ok_or(ServiceError::CodeInvalid(
                "this sign-in challenge is not one this server gave out; sign in again",
            ))?;
        if challenge.used {
            return Err(ServiceError::CodeUsed);
        }
        if challenge.expires_at_ms <= self.settings.clock.now_ms() {
            return Err(ServiceError::CodeExpired);
        }
        if challenge.attempts >= CHALLENGE_ATTEMPTS {
            return Err(ServiceError::CodeInvalid(
                "too many wrong codes for this sign-in; sign in again",
            ));
        }
        let user = self.user(challenge.user_id).await?;
        if user.deactivated_at_ms.is_some() {
            return Err(ServiceError::AccountDeactivated);
        }
        let guard = self.guard(&user, from).await?;
        let checked = match (req.code, req.recovery_code, challenge.setup) {
            (Some(code), None, true) => self.enable_pending(&user, &code).await,
            (Some(code), None, false) => match self.storage.two_factor(user.id).await? {
                Some(record) if record.enabled => self
                    .use_code(&user, &record, &code)
                    .await
                    .map(|()| Vec::new()),
                _ => Err(ServiceError::CodeInvalid(
                    "two-factor was turned off for this account; sign in again",
                )),
            },
            (None, Some(code), false) => self
                .use_recovery_code(user.id, &code)
                .await
                .map(|()| Vec::new()),
            (None, Some(_), true) => {
                return Err(ServiceError::field(
                    "recovery_code",
                    "this sign-in sets up two-factor: give a code from the authenticator app",
                ));
            }
            _ => {
                return Err(ServiceError::field(
                    "code",
                    "give either a code or a recovery code",
                ));
            }
        };
        let recovery_codes = match checked {
            Ok(codes) => codes,
            Err(e) => {
                if matches!(e, ServiceError::CodeInvalid(_) | ServiceError::CodeUsed) {
                    self.storage.count_challenge_attempt(selector).await?;
                }
                return Err(self.count_if_wrong(&guard, e).await);
            }
        };
        if !self
            .storage
            .use_challenge(selector, self.settings.clock.now_ms())
            .await?
        {
            return Err(ServiceError::CodeUsed);
        }
        guard.succeeded().await?;
        let recovery_codes_left = self.recovery_codes_left(user.id).await?;
        tracing::info!(user = user.id.0, "second sign-in step passed");
        Ok(SecondFactor {
            user,
            recovery_codes,
            recovery_codes_left,
        })
    }

    // ---- parts

    async fn user(&self, id: UserId) -> Result<UserRecord, ServiceError> {
        self.storage
            .user_by_id(id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    async fn enabled(&self, user: UserId) -> Result<bool, ServiceError> {
        Ok(self
            .storage
            .two_factor(user)
            .await?
            .is_some_and(|r| r.enabled))
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, ServiceError> {
        let codes = self.storage.recovery_codes(user).await?;
        Ok(codes.iter().filter(|(_, _, used)| !used).count() as u32)
    }

    async fn guard(&self, user: &UserRecord, from: IpAddr) -> Result<Guard<'_>, ServiceError> {
        Guard::check(
            self.storage.as_ref(),
            self.settings.lockout,
            &self.settings.clock,
            &user.username,
            from,
        )
        .await
    }

    /// Counts a wrong or reused code as a failed login; passes the error on.
    async fn count_if_wrong(&self, guard: &Guard<'_>, e: ServiceError) -> ServiceError {
        if matches!(e, ServiceError::CodeInvalid(_) | ServiceError::CodeUsed)
            && let Err(counting) = guard.failed().await
        {
            return counting;
        }
        if matches!(e, ServiceError::CodeInvalid(_) | ServiceError::CodeUsed) {
            tracing::info!(addr = guard.addr(), "wrong two-factor code");
        }
        e
    }

    /// A new secret, stored pending; what the app needs of it.
    async fn new_pending(&self, user: &UserRecord) -> Result<TwoFactorEnrollment, ServiceError> {
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let totp = totp(&secret, &user.username)?;
        let enrollment = TwoFactorEnrollment {
            secret: totp.secret().to_base32(),
            otpauth_uri: totp
                .to_url()
                .map_err(|e| ServiceError::Internal(format!("otpauth URI: {e}")))?,
        };
        let sealed = self.seal(user.id, &secret)?;
        match self
            .storage
            .put_pending_two_factor(user.id, sealed, self.settings.clock.now_ms())
            .await
        {
            Ok(()) => Ok(enrollment),
            Err(StorageError::Conflict) => Err(ServiceError::Conflict(
                "two-factor is already on; turn it off first to use another app".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Proves the pending secret with `code` and enables it; the new recovery codes.
    async fn enable_pending(
        &self,
        user: &UserRecord,
        code: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let record = self.storage.two_factor(user.id).await?.ok_or_else(|| {
            ServiceError::Conflict("no two-factor set-up was started; start one first".into())
        })?;
        if record.enabled {
            return Err(ServiceError::Conflict("two-factor is already on".into()));
        }
        let step = self.matching_step(user, &record, code)?;
        let (codes, hashes) = new_recovery_codes(user.id)?;
        if !self
            .storage
            .enable_two_factor(user.id, step, hashes, self.settings.clock.now_ms())
            .await?
        {
            return Err(ServiceError::Conflict("two-factor is already on".into()));
        }
        Ok(codes)
    }

    /// Accepts `code` for the enabled secret once.
    async fn use_code(
        &self,
        user: &UserRecord,
        record: &TwoFactorRecord,
        code: &str,
    ) -> Result<(), ServiceError> {
        let step = self.matching_step(user, record, code)?;
        if record.last_step.is_some_and(|last| last >= step)
            || !self.storage.use_totp_step(user.id, step).await?
        {
            return Err(ServiceError::CodeUsed);
        }
        Ok(())
    }

    /// The time step `code` belongs to, within one step of now.
    fn matching_step(
        &self,
        user: &UserRecord,
        record: &TwoFactorRecord,
        code: &str,
    ) -> Result<i64, ServiceError> {
        let code = code.trim();
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ServiceError::CodeInvalid(
                "must be the 6 digits the authenticator app shows",
            ));
        }
        let secret = self.open(user.id, &record.sealed_secret)?;
        let now = u64::try_from(self.settings.clock.now_ms() / 1000).unwrap_or(0);
        totp(&secret, &user.username)?
            .check(code, now)
            .and_then(|step| i64::try_from(step).ok())
            .ok_or(ServiceError::CodeInvalid(
                "this is not the current code of the authenticator app",
            ))
    }

    async fn use_recovery_code(&self, user: UserId, code: &str) -> Result<(), ServiceError> {
        let Some(code) = normalize_recovery_code(code) else {
            return Err(ServiceError::CodeInvalid("this is not a recovery code"));
        };
        let presented = recovery_hash(user, &code);
        // Every stored code is compared, whatever matched, so the time does not say which.
        let mut found = None;
        for (id, hash, used) in self.storage.recovery_codes(user).await? {
            if one_time::same_hash(&hash, &presented) {
                found = Some((id, used));
            }
        }
        match found {
            None => Err(ServiceError::CodeInvalid(
                "this is not one of the account's recovery codes",
            )),
            Some((_, true)) => Err(ServiceError::CodeUsed),
            Some((id, false)) => {
                if self
                    .storage
                    .use_recovery_code(id, self.settings.clock.now_ms())
                    .await?
                {
                    tracing::info!(user = user.0, "recovery code used");
                    Ok(())
                } else {
                    Err(ServiceError::CodeUsed)
                }
            }
        }
    }

    async fn new_challenge(&self, user: UserId, setup: bool) -> Result<String, ServiceError> {
        let (token, selector, hash) = one_time::new_reset_token()?;
        let expires = self.settings.clock.now_ms() + self.settings.challenge_ttl.as_millis() as i64;
        self.storage
            .create_challenge(selector, user, hash, setup, expires)
            .await?;
        Ok(token)
    }

    fn seal(&self, user: UserId, secret: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let aad = user.0.to_le_bytes();
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| ServiceError::Internal("sealing a two-factor secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, user: UserId, sealed: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let broken = || {
            ServiceError::Internal(
                "a two-factor secret does not open: was secret.key replaced? An admin can reset \
                 the account's two-factor"
                    .into(),
            )
        };
        if sealed.len() <= NONCE_BYTES {
            return Err(broken());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| broken())?;
        let aad = user.0.to_le_bytes();
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| broken())
    }
}

/// The TOTP parameters every authenticator app understands.
fn totp(secret: &[u8], username: &str) -> Result<Totp, ServiceError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_skew(1)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret.to_vec())
        .with_account_name(username)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| ServiceError::Internal(format!("TOTP parameters: {e}")))
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// New recovery codes as shown (`xxxxx-xxxxx`) and their hashes.
fn new_recovery_codes(user: UserId) -> Result<(Vec<String>, Vec<TokenHash>), ServiceError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    let mut hashes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    for _ in 0..RECOVERY_CODE_COUNT {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
        // 10 characters of 5 bits each, from the low bits of 10 random bytes.
        let plain: String = bytes
            .iter()
            .map(|b| BASE32[usize::from(b & 31)] as char)
            .collect();
        hashes.push(recovery_hash(user, &plain));
        codes.push(format!("{}-{}", &plain[..5], &plain[5..]));
    }
    Ok((codes, hashes))
}

fn recovery_hash(user: UserId, normalized: &str) -> TokenHash {
    let mut h = Sha256::new();
    h.update(b"jeco recovery code v1\0");
    h.update(user.0.to_le_bytes());
    h.update(normalized.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_read_back() {
        let (codes, hashes) = new_recovery_codes(UserId(7)).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        for (code, hash) in codes.iter().zip(&hashes) {
            let normal = normalize_recovery_code(code).unwrap();
            assert!(one_time::same_hash(
                &recovery_hash(UserId(7), &normal),
                hash
            ));
            assert!(!one_time::same_hash(
                &recovery_hash(UserId(8), &normal),
                hash
            ));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }

    #[test]
    fn the_otpauth_uri_names_issuer_and_account() {
        let totp = totp(&[7u8; SECRET_BYTES], "ada").unwrap();
        let uri = totp.to_url().unwrap();
        assert!(uri.starts_with("otpauth://totp/Jeco:ada?"), "{uri}");
        assert!(uri.contains("issuer=Jeco"), "{uri}");
    }
}
