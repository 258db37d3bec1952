//! Accounts: registration, login, token refresh and logout, profiles and user lookup.
//!
//! Every rule about who may do what with an account lives here (see the `services` module doc).
//! A login creates a *session*, which is one refresh-token family: refresh rotates the token inside
//! the family, presenting an already-rotated token revokes the family (theft detection) — except
//! within [`AccountSettings::refresh_grace`] of its rotation, when the same new pair is returned
//! again (a retried or concurrent refresh, see `tokens`) — logout
//! revokes it. Access tokens name their session (`sid`), and [`Accounts::authenticate`] checks the
//! session on every request, so a revoked session stops working everywhere at once; live WebSocket
//! connections are closed through the [`SessionObserver`]. A session also records the client's
//! `User-Agent` at sign-in and the address and time of its latest sign-in or refresh, for the
//! session list (`sessions`); password change and reset live in `recovery`.

use super::lockout::{self, LockoutPolicy};
use super::render::rfc3339;
use super::tokens::{self, TokenKeys};
use super::two_factor::TwoFactor;
use super::{Principal, ServiceError, SessionObserver, passwords};
use crate::clock::Clock;
use crate::storage::{NewUser, ProfileChange, RefreshOutcome, Storage, StorageError, UserRecord};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jeco_shared::auth::{
    AccessClaims, DISPLAY_NAME_MAX, LoginRequest, PASSWORD_MAX, PASSWORD_MIN, RefreshRequest,
    RegisterRequest, TokenResponse, username_problem,
};
use jeco_shared::two_factor::{SignInOutcome, TwoFactorLoginRequest, TwoFactorSignedIn};
use jeco_shared::users::{
    BIO_MAX, STATUS_TEXT_MAX, USER_PAGE_DEFAULT, USER_PAGE_MAX, UpdateProfileRequest, User,
    UserPage,
};
use jeco_shared::{SessionId, UserId};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Token lifetimes and lockout policy.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// A refresh token presented again this soon after its rotation gets the same new pair
    /// instead of revoking the session (`refresh_reuse_grace_secs`).
    pub refresh_grace: Duration,
    pub lockout: LockoutPolicy,
    /// Wall time for expiry and lockout (`Config::clock`).
    pub clock: Clock,
}

impl AccountSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            access_ttl: config.access_token_ttl(),
            refresh_ttl: config.refresh_token_ttl(),
            refresh_grace: Duration::from_secs(config.refresh_reuse_grace_secs),
            lockout: LockoutPolicy::from_config(config),
            clock: config.clock.clone(),
        }
    }
}

/// Where a sign-in comes from, for the session list (`sessions`).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The client's `User-Agent`, already cut to size.
    pub client: Option<String>,
    pub from: IpAddr,
}

/// A new account, as the admin CLI and the bootstrap create it.
#[derive(Clone)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
    pub is_admin: bool,
}

pub struct Accounts {
    storage: Arc<dyn Storage>,
    keys: TokenKeys,
    settings: AccountSettings,
    observer: Arc<dyn SessionObserver>,
    two_factor: Arc<TwoFactor>,
}

impl Accounts {
    pub fn new(
        storage: Arc<dyn Storage>,
        keys: TokenKeys,
        settings: AccountSettings,
        observer: Arc<dyn SessionObserver>,
        two_factor: Arc<TwoFactor>,
    ) -> Self {
        Self {
            storage,
            keys,
            settings,
            observer,
            two_factor,
        }
    }

    /// Two-factor enrolment and the second sign-in step.
    pub fn two_factor(&self) -> &Arc<TwoFactor> {
        &self.two_factor
    }

    /// `POST /auth/register`: creates the account and signs it in — or, when the server requires
    /// two-factor, answers the set-up challenge first.
    pub async fn register(
        &self,
        req: RegisterRequest,
        sign_in: SignIn,
    ) -> Result<SignInOutcome, ServiceError> {
        let user = self
            .create_account(NewAccount {
                username: req.username,
                password: req.password,
                display_name: req.display_name,
                is_admin: false,
            })
            .await?;
        self.after_first_factor(user, sign_in).await
    }

    /// A first factor (password, mailed code) was right: a session, or the second step.
    pub async fn after_first_factor(
        &self,
        user: UserRecord,
        sign_in: SignIn,
    ) -> Result<SignInOutcome, ServiceError> {
        match self.two_factor.challenge_for(&user).await? {
            Some(outcome) => Ok(outcome),
            None => Ok(SignInOutcome::SignedIn(
                self.start_session(user, sign_in).await?,
            )),
        }
    }

    /// `POST /auth/login/two-factor`: the second step; a session.
    pub async fn complete_two_factor(
        &self,
        req: TwoFactorLoginRequest,
        sign_in: SignIn,
    ) -> Result<TwoFactorSignedIn, ServiceError> {
        let passed = self.two_factor.complete(req, sign_in.from).await?;
        Ok(TwoFactorSignedIn {
            tokens: self.start_session(passed.user, sign_in).await?,
            recovery_codes: passed.recovery_codes,
            recovery_codes_left: passed.recovery_codes_left,
        })
    }

    /// Validates and creates an account without signing in.
    pub async fn create_account(&self, account: NewAccount) -> Result<UserRecord, ServiceError> {
        let username = account.username.trim().to_lowercase();
        let mut problems = BTreeMap::new();
        if let Some(p) = username_problem(&username) {
            problems.insert("username".to_owned(), p.to_owned());
        }
        if let Some(p) = password_problem(&account.password) {
            problems.insert("password".to_owned(), p.to_owned());
        }
        let display_name = match clean_name(account.display_name, DISPLAY_NAME_MAX) {
            Ok(v) => v,
            Err(p) => {
                problems.insert("display_name".to_owned(), p);
                None
            }
        };
        if !problems.is_empty() {
            return Err(ServiceError::Validation(problems));
        }
        // Cheap early answer before the expensive hash; the unique index settles races.
        if self.storage.user_by_username(&username).await?.is_some() {
            return Err(ServiceError::UsernameTaken);
        }
        let password_hash = passwords::hash(account.password).await?;
        let new = NewUser {
            username,
            password_hash,
            display_name,
            is_admin: account.is_admin,
            created_at_ms: self.settings.clock.now_ms(),
        };
        match self.storage.create_user(new).await {
            Ok(user) => {
                // The account exists either way; a lost welcome is not worth failing it.
                if let Err(e) = self
                    .storage
                    .create_notifications(vec![super::notices::welcome(
                        user.id,
                        self.settings.clock.now_ms(),
                    )])
                    .await
                {
                    tracing::warn!(error = %e, user = %user.id, "could not create the welcome notification");
                }
                Ok(user)
            }
            Err(StorageError::Conflict) => Err(ServiceError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the bootstrap admin unless an account with that name exists. Returns whether it
    /// created one.
    pub async fn ensure_admin(&self, username: &str, password: &str) -> Result<bool, ServiceError> {
        let account = NewAccount {
            username: username.to_owned(),
            password: password.to_owned(),
            display_name: None,
            is_admin: true,
        };
        match self.create_account(account).await {
            Ok(_) => Ok(true),
            Err(ServiceError::UsernameTaken) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `POST /auth/login` from `from` (the client's address), throttled per (account, address)
    /// with a per-account backstop (see `lockout`).
    pub async fn login(
        &self,
        req: LoginRequest,
        sign_in: SignIn,
    ) -> Result<SignInOutcome, ServiceError> {
        let username = req.username.trim().to_lowercase();
        let addr = lockout::address_key(sign_in.from);
        let now = self.settings.clock.now_ms();
        let policy = self.settings.lockout;
        let failures = self
            .storage
            .login_failures(&username, &addr, now - policy.window_ms())
            .await?;
        if let Some(retry_after) = policy.wait(&failures, now) {
            return Err(ServiceError::AccountLocked { retry_after });
        }
        let user = self.storage.user_by_username(&username).await?;
        // Over-long passwords are refused without hashing them (hashing cost is the attacker's
        // lever); unknown users are checked against a dummy hash so both take the same time.
        let ok = req.password.chars().count() <= PASSWORD_MAX
            && passwords::verify(req.password, user.as_ref().map(|u| u.password_hash.clone()))
                .await?;
        match user {
            Some(user) if ok => {
                // Said only to whoever knows the password: to anyone else the account answers
                // like every other wrong login.
                if user.deactivated_at_ms.is_some() {
                    tracing::info!(user = user.id.0, "sign-in refused: account deactivated");
                    return Err(ServiceError::AccountDeactivated);
                }
                let outcome = self.after_first_factor(user, sign_in).await?;
                // Failures are forgotten only once the sign-in is complete: a right password
                // followed by a two-factor step must not wipe the count of wrong codes, or the
                // password would buy unlimited guesses at the second factor.
                if failures.from_addr > 0 && matches!(outcome, SignInOutcome::SignedIn(_)) {
                    self.storage.clear_login_failures(&username, &addr).await?;
                }
                Ok(outcome)
            }
            _ => {
                self.storage
                    .record_login_failure(&username, &addr, now, now - policy.window_ms())
                    .await?;
                // Never the typed username: people type their password into that field.
                match &user {
                    Some(u) => tracing::info!(user = u.id.0, %addr, "failed login"),
                    None => tracing::info!(%addr, "failed login for an unknown username"),
                }
                Err(ServiceError::InvalidCredentials)
            }
        }
    }

    /// `POST /auth/refresh`: rotates the refresh token. Reuse of a rotated token revokes the
    /// family, unless it comes within the grace period: then the first rotation's pair is
    /// returned again (same refresh token, same access token — it is issued at the same second).
    pub async fn refresh(
        &self,
        req: RefreshRequest,
        from: IpAddr,
    ) -> Result<TokenResponse, ServiceError> {
        let old = tokens::hash_refresh_token(&req.refresh_token);
        let (token, new) = self.keys.successor(&req.refresh_token);
        let now = self.settings.clock.now_ms();
        let expires = now + self.settings.refresh_ttl.as_millis() as i64;
        let grace = self.settings.refresh_grace.as_millis() as i64;
        let (session, user, issued_at_ms) = match self
            .storage
            .rotate_refresh_token(old, new, expires, now, grace)
            .await?
        {
            RefreshOutcome::Rotated { session, user } => (session, user, now),
            RefreshOutcome::Retried {
                session,
                user,
                rotated_at_ms,
            } => {
                tracing::info!(
                    session = session.0,
                    "refresh retried within the grace period"
                );
                (session, user, rotated_at_ms)
            }
            RefreshOutcome::Reused { session } => {
                tracing::warn!(session = session.0, "refresh token reused; session revoked");
                self.observer.session_revoked(session);
                return Err(ServiceError::TokenRevoked(
                    "this refresh token was already used; the session has been revoked",
                ));
            }
            RefreshOutcome::Revoked => {
                return Err(ServiceError::TokenRevoked("the session was revoked"));
            }
            RefreshOutcome::Expired => return Err(ServiceError::TokenExpired),
            RefreshOutcome::Unknown => return Err(ServiceError::TokenInvalid),
        };
        let user = self
            .storage
            .user_by_id(user)
            .await?
            .ok_or(ServiceError::TokenRevoked("the account no longer exists"))?;
        if user.deactivated_at_ms.is_some() {
            return Err(ServiceError::AccountDeactivated);
        }
        self.storage
            .touch_session(session, None, lockout::address_key(from), now)
            .await?;
        self.token_response(user, session, token, issued_at_ms)
    }

    /// `POST /auth/logout`: revokes the caller's session everywhere.
    pub async fn logout(&self, who: &Principal) -> Result<(), ServiceError> {
        self.storage
            .revoke_session(who.session_id, self.settings.clock.now_ms())
            .await?;
        self.observer.session_revoked(who.session_id);
        Ok(())
    }

    /// Verifies an access token and that its session is still live.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, ServiceError> {
        let claims = self
            .keys
            .verify(access_token, self.settings.clock.now_secs())?;
        let user_id: i64 = claims.sub.parse().map_err(|_| ServiceError::TokenInvalid)?;
        let session = self
            .storage
            .session(SessionId(claims.sid))
            .await?
            .ok_or(ServiceError::TokenInvalid)?;
        if session.user_id.0 != user_id {
            return Err(ServiceError::TokenInvalid);
        }
        if session.revoked {
            return Err(ServiceError::TokenRevoked(
                "the session was logged out or revoked",
            ));
        }
        if session.deactivated {
            return Err(ServiceError::AccountDeactivated);
        }
        Ok(Principal {
            user_id: session.user_id,
            session_id: session.id,
            is_admin: session.is_admin,
        })
    }

    /// Whether a session is still live (the gateway re-checks after registering a connection).
    pub async fn session_is_live(&self, session: SessionId) -> Result<bool, ServiceError> {
        Ok(self
            .storage
            .session(session)
            .await?
            .is_some_and(|s| !s.revoked && !s.deactivated))
    }

    pub async fn me(&self, who: &Principal) -> Result<User, ServiceError> {
        self.user(who, who.user_id).await
    }

    /// Any signed-in user may see any profile: the directory is server-wide.
    pub async fn user(&self, _who: &Principal, id: UserId) -> Result<User, ServiceError> {
        let user = self
            .storage
            .user_by_id(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(to_user(&user))
    }

    /// `PATCH /users/me`: absent fields stay, `null` or blank clears.
    pub async fn update_me(
        &self,
        who: &Principal,
        req: UpdateProfileRequest,
    ) -> Result<User, ServiceError> {
        let mut problems = BTreeMap::new();
        type Cleaner = fn(Option<String>, usize) -> Result<Option<String>, String>;
        let mut check = |name: &str, value: Option<Option<String>>, max: usize, clean: Cleaner| {
            value.map(|v| {
                clean(v, max).unwrap_or_else(|p| {
                    problems.insert(name.to_owned(), p);
                    None
                })
            })
        };
        let change = ProfileChange {
            display_name: check(
                "display_name",
                req.display_name,
                DISPLAY_NAME_MAX,
                clean_name,
            ),
            bio: check("bio", req.bio, BIO_MAX, clean_text),
            status_text: check("status_text", req.status_text, STATUS_TEXT_MAX, clean_text),
        };
        if !problems.is_empty() {
            return Err(ServiceError::Validation(problems));
        }
        let user = self
            .storage
            .update_profile(who.user_id, change)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(to_user(&user))
    }

    /// `GET /users?q=&limit=&cursor=`: prefix search on username or display name, keyset-paged by
    /// username. The cursor is opaque to clients.
    pub async fn search(
        &self,
        _who: &Principal,
        query: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<UserPage, ServiceError> {
        let limit = limit.unwrap_or(USER_PAGE_DEFAULT);
        if !(1..=USER_PAGE_MAX).contains(&limit) {
            return Err(ServiceError::field(
                "limit",
                format!("must be between 1 and {USER_PAGE_MAX}"),
            ));
        }
        let after = cursor
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ServiceError::field("cursor", "is not a cursor from this server")
                    })
            })
            .transpose()?;
        let prefix = query.unwrap_or("").trim();
        let mut rows = self
            .storage
            .search_users(prefix, after.as_deref(), limit + 1)
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|u| URL_SAFE_NO_PAD.encode(u.username.as_bytes()))
        } else {
            None
        };
        Ok(UserPage {
            items: rows.iter().map(to_user).collect(),
            next_cursor,
        })
    }

    async fn start_session(
        &self,
        user: UserRecord,
        sign_in: SignIn,
    ) -> Result<TokenResponse, ServiceError> {
        let (token, hash) = tokens::new_refresh_token()?;
        let now = self.settings.clock.now_ms();
        let expires = now + self.settings.refresh_ttl.as_millis() as i64;
        let session = self
            .storage
            .create_session(user.id, hash, expires, now)
            .await?;
        self.storage
            .touch_session(
                session,
                sign_in.client,
                lockout::address_key(sign_in.from),
                now,
            )
            .await?;
        self.token_response(user, session, token, now)
    }

    fn token_response(
        &self,
        user: UserRecord,
        session: SessionId,
        refresh_token: String,
        issued_at_ms: i64,
    ) -> Result<TokenResponse, ServiceError> {
        let iat = (issued_at_ms / 1000) as u64;
        let ttl = self.settings.access_ttl.as_secs();
        let claims = AccessClaims {
            sub: user.id.0.to_string(),
            sid: session.0,
            iat,
            exp: iat + ttl,
            adm: user.is_admin,
        };
        Ok(TokenResponse {
            access_token: self.keys.issue(&claims)?,
            refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: ttl,
            user: to_user(&user),
        })
    }
}

pub(crate) fn password_problem(password: &str) -> Option<&'static str> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        Some("must be at least 8 characters")
    } else if len > PASSWORD_MAX {
        Some("must be at most 256 characters")
    } else {
        None
    }
}

/// Trims optional free text; blank becomes `None`. Errors name the limit.
/// A display name: blank clears it, anything else is a clean name ([`crate::names::clean`]).
fn clean_name(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    match value {
        Some(v) if !v.trim().is_empty() => crate::names::clean(&v, max).map(Some),
        _ => Ok(None),
    }
}

fn clean_text(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters".to_owned());
    }
    Ok(Some(trimmed.to_owned()))
}

/// The public view of a user.
pub fn to_user(u: &UserRecord) -> User {
    User {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        bio: u.bio.clone(),
        status_text: u.status_text.clone(),
        is_admin: u.is_admin,
        deactivated: u.deactivated_at_ms.is_some(),
        created_at: rfc3339(u.created_at_ms),
        avatar: u
            .avatar_sha256
            .as_deref()
            .map(super::render::avatar_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cleaning() {
        assert_eq!(clean_text(Some("  hi ".into()), 5), Ok(Some("hi".into())));
        assert_eq!(clean_text(Some("   ".into()), 5), Ok(None));
        assert!(clean_text(Some("toolong".into()), 5).is_err());
        assert!(clean_text(Some("a\u{7}b".into()), 5).is_err());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("long enough").is_none());
        assert!(password_problem(&"x".repeat(257)).is_some());
    }
}
