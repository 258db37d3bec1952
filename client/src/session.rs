//! [`Client`]: one signed-in (or signed-out) session against one server.
//!
//! The client owns the session's token policy so embedders do not each reinvent it:
//!
//! - Sign-in answers are saved to the [`TokenStore`] before the call returns, so a crash right after
//!   signing in does not lose the session.
//! - Access tokens are refreshed shortly before they expire, or when the server says
//!   `token_expired`. Refreshes are serialized by a lock and re-read the store under it: a refresh
//!   token is single-use, and presenting it twice (two concurrent refreshes) would make the server
//!   revoke the whole session as stolen.
//! - When the server says the session is over (revoked, invalid), the saved tokens are cleared and
//!   the caller sees "signed out" rather than an endless stream of 401s.
//! - The store is read once and the tokens are then held in memory ([`HeldTokens`]); saves and
//!   clears write through. Reading it for every request made each API call a keychain round trip
//!   (on Linux a Secret Service session over D-Bus: thousands an hour, and GNOME Keyring has an
//!   upstream race that aborts the daemon under that traffic). A refresh still re-reads the store
//!   under its lock, so a pair rotated by another process sharing the store (two `jeco` commands)
//!   is seen before the old refresh token is presented.

use crate::address::{InvalidAddress, ServerAddress};
use crate::api::{ApiClient, ApiError};
use crate::sync::SyncError;
use crate::tokens::{MemoryTokenStore, StoredTokens, TokenStore, TokenStoreError};
use jeco_shared::ErrorCode;
use jeco_shared::auth::{LoginRequest, RegisterRequest, TokenResponse};
use jeco_shared::endpoints::{ConfirmLoginCode, LoginTwoFactor, RequestLoginCode};
use jeco_shared::two_factor::{
    ConfirmLoginCodeRequest, LoginCodeRequest, SignInOutcome, TwoFactorChallenge,
    TwoFactorLoginRequest, TwoFactorSetupChallenge,
};
use jeco_shared::users::User;
use std::sync::Arc;

/// Refresh the access token when it has less than this many seconds left.
const REFRESH_MARGIN_SECS: u64 = 30;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Address(#[from] InvalidAddress),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Tokens(#[from] TokenStoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The operation needs a session and there is none (never signed in, signed out, or the
    /// session was revoked).
    #[error("not signed in")]
    NotSignedIn,
    /// [`Client::login`] or [`Client::register`] reached an account that needs a two-factor
    /// code (or must set two-factor up first); sign in with [`Client::sign_in`] instead, which
    /// answers the challenge to complete.
    #[error("this account needs a two-factor code to sign in")]
    TwoFactorRequired,
}

/// Where a first sign-in step (password, or mailed code) led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    /// Signed in; the tokens are saved.
    SignedIn(User),
    /// Ask for a code from the authenticator app (or a recovery code), then
    /// [`Client::complete_two_factor`] with this challenge.
    TwoFactorRequired(TwoFactorChallenge),
    /// The server requires two-factor and the account has none: show the enrolment's secret (as
    /// text and as a QR code of its `otpauth_uri`), ask for the app's first code, then
    /// [`Client::complete_two_factor`]; the answer carries the recovery codes to show once.
    TwoFactorSetupRequired(TwoFactorSetupChallenge),
}

/// The second factor given to [`Client::complete_two_factor`].
#[derive(Clone, PartialEq, Eq)]
pub enum TwoFactorProof {
    /// The 6 digits the authenticator app shows.
    Code(String),
    /// One of the account's recovery codes (case and dashes do not matter).
    RecoveryCode(String),
}

impl std::fmt::Debug for TwoFactorProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Code(_) => "Code([redacted])",
            Self::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

/// A sign-in completed by its second factor.
#[derive(Clone, PartialEq, Eq)]
pub struct TwoFactorDone {
    pub user: User,
    /// New recovery codes when the sign-in set two-factor up (show them once); else empty.
    pub recovery_codes: Vec<String>,
    /// Unused recovery codes left.
    pub recovery_codes_left: u32,
}

impl std::fmt::Debug for TwoFactorDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorDone")
            .field("user", &self.user.username)
            .field("recovery_codes", &self.recovery_codes.len())
            .field("recovery_codes_left", &self.recovery_codes_left)
            .finish()
    }
}

impl ClientError {
    /// The protocol error code behind this failure, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => e.code(),
            Self::Sync(e) => e.code(),
            Self::NotSignedIn | Self::TwoFactorRequired => Some(ErrorCode::Unauthorized),
            Self::Address(_) | Self::Tokens(_) => None,
        }
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    server: String,
    tokens: Option<Arc<dyn TokenStore>>,
    client_name: String,
}

impl ClientBuilder {
    /// Where the tokens are kept; in memory unless set.
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = Some(store);
        self
    }

    /// Name and version reported to the server (User-Agent and the WebSocket hello).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let server = ServerAddress::parse(&self.server)?;
        Ok(Client {
            api: ApiClient::new(server, &self.client_name),
            tokens: HeldTokens::new(
                self.tokens
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            ),
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// The engine for one server and one account. Cheap to share behind an `Arc`; all methods take
/// `&self`.
#[derive(Debug)]
pub struct Client {
    api: ApiClient,
    tokens: HeldTokens,
    refresh_lock: tokio::sync::Mutex<()>,
}

/// A [`TokenStore`] read once and then held in memory; writes go through to the store first.
#[derive(Debug)]
struct HeldTokens {
    store: Arc<dyn TokenStore>,
    /// `None` until the store has been read; then what it holds.
    held: std::sync::Mutex<Option<Option<StoredTokens>>>,
}

impl HeldTokens {
    fn new(store: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            held: std::sync::Mutex::new(None),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Option<StoredTokens>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tokens, from memory once the store has been read.
    fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
        if let Some(known) = self.held().as_ref() {
            return Ok(known.clone());
        }
        self.reload()
    }

    /// The tokens as the store has them now (another process may have changed them).
    fn reload(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
        let tokens = self.store.load()?;
        *self.held() = Some(tokens.clone());
        Ok(tokens)
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError> {
        self.store.save(tokens)?;
        *self.held() = Some(Some(tokens.clone()));
        Ok(())
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        // Forgotten here even when the store fails: signing out always works in this process.
        *self.held() = Some(None);
        self.store.clear()
    }
}

impl Client {
    /// Starts building a client for the server at `server` (as a person would type it).
    pub fn builder(server: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            server: server.into(),
            tokens: None,
            client_name: crate::DEFAULT_CLIENT_NAME.to_owned(),
        }
    }

    pub fn server(&self) -> &ServerAddress {
        self.api.server()
    }

    /// The raw API, for calls the engine does not wrap yet.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Whether the server is up, and what it runs.
    pub async fn health(&self) -> Result<jeco_shared::health::Health, ClientError> {
        Ok(self.api.health().await?)
    }

    /// Creates an account and signs in as it.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<User, ClientError> {
        let body = RegisterRequest {
            username: username.trim().to_lowercase(),
            password: password.to_owned(),
            display_name: display_name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        };
        let outcome = self.api.register(&body).await?;
        match self.step(outcome)? {
            SignInStep::SignedIn(user) => Ok(user),
            _ => Err(ClientError::TwoFactorRequired),
        }
    }

    /// Signs in with a password, for accounts without two-factor; one that needs a code is
    /// [`ClientError::TwoFactorRequired`] (use [`Self::sign_in`] for those).
    pub async fn login(&self, username: &str, password: &str) -> Result<User, ClientError> {
        match self.sign_in(username, password).await? {
            SignInStep::SignedIn(user) => Ok(user),
            _ => Err(ClientError::TwoFactorRequired),
        }
    }

    /// Signs in with a password: signed in, or the two-factor step to take.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<SignInStep, ClientError> {
        let body = LoginRequest {
            username: username.trim().to_lowercase(),
            password: password.to_owned(),
        };
        let outcome = self.api.login(&body).await?;
        self.step(outcome)
    }

    /// Mails a 6-digit sign-in code to the verified address of the account named by `login`
    /// (username or address). Succeeds alike whether or not there is such an account.
    pub async fn request_login_code(&self, login: &str) -> Result<(), ClientError> {
        let body = LoginCodeRequest {
            login: login.trim().to_owned(),
        };
        Ok(self
            .api
            .send_anonymous::<RequestLoginCode>(&(), &body)
            .await?)
    }

    /// Signs in with the mailed code: signed in, or the two-factor step to take.
    pub async fn sign_in_with_code(
        &self,
        login: &str,
        code: &str,
    ) -> Result<SignInStep, ClientError> {
        let body = ConfirmLoginCodeRequest {
            login: login.trim().to_owned(),
            code: code.trim().to_owned(),
        };
        let outcome = self
            .api
            .send_anonymous::<ConfirmLoginCode>(&(), &body)
            .await?;
        self.step(outcome)
    }

    /// Completes a sign-in that asked for two-factor; the tokens are saved.
    pub async fn complete_two_factor(
        &self,
        challenge: &str,
        proof: TwoFactorProof,
    ) -> Result<TwoFactorDone, ClientError> {
        let (code, recovery_code) = match proof {
            TwoFactorProof::Code(c) => (Some(c.trim().to_owned()), None),
            TwoFactorProof::RecoveryCode(c) => (None, Some(c.trim().to_owned())),
        };
        let body = TwoFactorLoginRequest {
            challenge: challenge.to_owned(),
            code,
            recovery_code,
        };
        let done = self
            .api
            .send_anonymous::<LoginTwoFactor>(&(), &body)
            .await?;
        let user = self.adopt(&done.tokens)?;
        Ok(TwoFactorDone {
            user,
            recovery_codes: done.recovery_codes,
            recovery_codes_left: done.recovery_codes_left,
        })
    }

    fn step(&self, outcome: SignInOutcome) -> Result<SignInStep, ClientError> {
        Ok(match outcome {
            SignInOutcome::SignedIn(tokens) => SignInStep::SignedIn(self.adopt(&tokens)?),
            SignInOutcome::TwoFactorRequired(c) => SignInStep::TwoFactorRequired(c),
            SignInOutcome::TwoFactorSetupRequired(c) => SignInStep::TwoFactorSetupRequired(c),
        })
    }

    fn adopt(&self, response: &TokenResponse) -> Result<User, ClientError> {
        self.tokens.save(&StoredTokens::from_response(response))?;
        Ok(response.user.clone())
    }

    /// Signs out: ends the session on the server, then forgets the tokens. The tokens are forgotten
    /// even when the server cannot be reached — signing out must always work locally — and that
    /// server error is returned afterwards so the caller can say the server was not told.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let Some(tokens) = self.tokens.load()? else {
            return Ok(());
        };
        let told_server = match self.api.logout(&tokens.access_token).await {
            Ok(()) => Ok(()),
            // An expired access token cannot log out; refresh once, then log out with the new one.
            Err(e) if e.code() == Some(ErrorCode::TokenExpired) => {
                match self.refreshed(&tokens).await {
                    Ok(Some(fresh)) => self.api.logout(&fresh.access_token).await,
                    Ok(None) => Ok(()),
                    Err(ClientError::Api(e)) => Err(e),
                    Err(other) => {
                        self.tokens.clear()?;
                        return Err(other);
                    }
                }
            }
            // Already over on the server: nothing to tell it.
            Err(e) if e.is_auth_failure() => Ok(()),
            Err(e) => Err(e),
        };
        self.tokens.clear()?;
        told_server.map_err(ClientError::from)
    }

    /// Whether a session is saved (without asking the server).
    pub fn has_session(&self) -> Result<bool, ClientError> {
        Ok(self.tokens.load()?.is_some())
    }

    /// The signed-in user, asking the server (and refreshing the access token if needed), or `None`
    /// when nobody is signed in or the saved session is no longer valid.
    pub async fn current_user(&self) -> Result<Option<User>, ClientError> {
        let token = match self.access_token().await {
            Ok(token) => token,
            Err(ClientError::NotSignedIn) => return Ok(None),
            Err(e) => return Err(e),
        };
        match self.api.me(&token).await {
            Ok(user) => Ok(Some(user)),
            Err(e) if e.code() == Some(ErrorCode::TokenExpired) => {
                // The clock says valid, the server says expired (clock skew): refresh once.
                let Some(tokens) = self.tokens.load()? else {
                    return Ok(None);
                };
                match self.refreshed(&tokens).await? {
                    Some(fresh) => Ok(Some(self.api.me(&fresh.access_token).await?)),
                    None => Ok(None),
                }
            }
            Err(e) if e.is_auth_failure() => {
                self.tokens.clear()?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> Result<String, ClientError> {
        let tokens = self.tokens.load()?.ok_or(ClientError::NotSignedIn)?;
        if !tokens.access_expires_within(REFRESH_MARGIN_SECS) {
            return Ok(tokens.access_token);
        }
        self.refreshed(&tokens)
            .await?
            .map(|t| t.access_token)
            .ok_or(ClientError::NotSignedIn)
    }

    /// Refreshes the access token now, because the server said it expired. Concurrent callers share
    /// one refresh. `NotSignedIn` when the session is over (the tokens are then forgotten).
    pub async fn refresh_now(&self) -> Result<String, ClientError> {
        let tokens = self.tokens.load()?.ok_or(ClientError::NotSignedIn)?;
        self.refreshed(&tokens)
            .await?
            .map(|t| t.access_token)
            .ok_or(ClientError::NotSignedIn)
    }

    /// Refreshes the pair that `seen` belongs to, unless another task already did. Returns `None`
    /// (and clears the store) when the server says the session is over.
    async fn refreshed(&self, seen: &StoredTokens) -> Result<Option<StoredTokens>, ClientError> {
        let _guard = self.refresh_lock.lock().await;
        // The store itself, not the held copy: another process may have rotated the pair.
        let Some(current) = self.tokens.reload()? else {
            return Ok(None);
        };
        if current.refresh_token != seen.refresh_token {
            // Someone refreshed while we waited for the lock; their pair is the live one.
            return Ok(Some(current));
        }
        match self.api.refresh(&current.refresh_token).await {
            Ok(response) => {
                let fresh = StoredTokens::from_response(&response);
                self.tokens.save(&fresh)?;
                Ok(Some(fresh))
            }
            Err(e) if e.is_auth_failure() => {
                tracing::info!(code = ?e.code(), "session ended on the server; forgetting its tokens");
                self.tokens.clear()?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that counts its reads, as a keychain would feel them.
    #[derive(Debug, Default)]
    struct CountingStore {
        inner: MemoryTokenStore,
        loads: AtomicUsize,
    }

    impl TokenStore for CountingStore {
        fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.inner.load()
        }
        fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError> {
            self.inner.save(tokens)
        }
        fn clear(&self) -> Result<(), TokenStoreError> {
            self.inner.clear()
        }
    }

    fn pair(n: u64) -> StoredTokens {
        StoredTokens {
            access_token: format!("access-{n}"),
            refresh_token: format!("refresh-{n}"),
            // Far from expiring: no refresh is due.
            access_expires_at: u64::MAX / 2,
        }
    }

    fn client_over(store: &Arc<CountingStore>) -> Client {
        // Nothing listens there: these calls must not need the network.
        Client::builder("http://127.0.0.1:9")
            .token_store(store.clone())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn the_store_is_read_once_not_for_every_request() {
        let store = Arc::new(CountingStore::default());
        store.inner.save(&pair(1)).unwrap();
        let client = client_over(&store);
        for _ in 0..50 {
            assert_eq!(client.access_token().await.unwrap(), "access-1");
        }
        assert!(client.has_session().unwrap());
        assert_eq!(store.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refresh_sees_a_pair_another_process_rotated() {
        let store = Arc::new(CountingStore::default());
        store.inner.save(&pair(1)).unwrap();
        let client = client_over(&store);
        assert_eq!(client.access_token().await.unwrap(), "access-1");
        // Another process with the same store refreshed: pair 1's refresh token is spent.
        store.inner.save(&pair(2)).unwrap();
        // The server said expired: the refresh re-reads the store and adopts pair 2 instead of
        // presenting the spent token (nothing listens at the address, so any request would fail).
        assert_eq!(client.refresh_now().await.unwrap(), "access-2");
        assert_eq!(client.access_token().await.unwrap(), "access-2");
    }

    #[tokio::test]
    async fn signing_out_forgets_the_held_copy_and_the_store() {
        let store = Arc::new(CountingStore::default());
        store.inner.save(&pair(1)).unwrap();
        let client = client_over(&store);
        assert!(client.has_session().unwrap());
        // Offline logout: the server cannot be told, the tokens are forgotten anyway.
        assert!(client.logout().await.is_err());
        assert!(!client.has_session().unwrap());
        assert_eq!(store.inner.load().unwrap(), None);
        assert!(matches!(
            client.access_token().await,
            Err(ClientError::NotSignedIn)
        ));
    }

    #[test]
    fn builder_validates_the_address() {
        assert!(matches!(
            Client::builder("ftp://nope").build(),
            Err(ClientError::Address(_))
        ));
        let client = Client::builder("localhost:7878")
            .client_name("test/1")
            .build()
            .unwrap();
        assert_eq!(client.server().as_str(), "http://localhost:7878");
        assert!(!client.has_session().unwrap());
    }

    #[tokio::test]
    async fn signed_out_client_has_no_user_and_logout_is_a_no_op() {
        // Port 9 (discard) is never a Jeco server; none of these calls may touch the network.
        let client = Client::builder("127.0.0.1:9").build().unwrap();
        assert_eq!(client.current_user().await.unwrap(), None);
        client.logout().await.unwrap();
        assert!(matches!(
            client.access_token().await,
            Err(ClientError::NotSignedIn)
        ));
        assert_eq!(
            ClientError::NotSignedIn.code(),
            Some(ErrorCode::Unauthorized)
        );
    }
}
