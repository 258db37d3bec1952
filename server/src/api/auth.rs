//! `/api/v1/auth/*`: register, login, refresh, logout. Thin: parse, call [`Accounts`], render.
//!
//! [`Accounts`]: crate::services::Accounts

use super::errors::ApiError;
use super::extract::{Auth, ClientAddr};
use super::rate_limit::limit_auth;
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use jeco_shared::ErrorBody;
use jeco_shared::auth::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use jeco_shared::endpoints::{Endpoint, Login, Logout, Refresh, Register};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .route_layer(from_fn_with_state(state, limit_auth))
}

/// Create an account and sign in.
///
/// Usernames are 3–32 characters of `a-z 0-9 _ . -`, case-insensitive; passwords at least 8
/// characters. The answer is the same as a login's, so the new user is signed in.
#[utoipa::path(
    post,
    path = Register::PATH,
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = TokenResponse),
        (status = 400, description = "Invalid JSON or fields (see `fields`)", body = ErrorBody),
        (status = 409, description = "Username taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Body(req): Body<Register>,
) -> Result<Reply<Register>, ApiError> {
    let tokens = state.accounts.register(req).await?;
    Ok(Reply::created(tokens))
}

/// Sign in with username and password.
///
/// After 5 failed attempts for one account from one address within 15 minutes (configurable),
/// that address gets `429 account_locked` with `Retry-After` for its next try at that account:
/// 1 s, doubling per further failure up to a minute. Other addresses are not affected; a
/// distributed guesser is slowed to about one try a second per account.
#[utoipa::path(
    post,
    path = Login::PATH,
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Invalid JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Account locked or too many requests; see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Body(req): Body<Login>,
) -> Result<Reply<Login>, ApiError> {
    Ok(Reply::ok(state.accounts.login(req, from).await?))
}

/// Exchange a refresh token for a new token pair.
///
/// Refresh tokens are single-use. Presenting one that was already exchanged revokes the whole
/// session (`401 token_revoked`): it means the token was copied.
#[utoipa::path(
    post,
    path = Refresh::PATH,
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 400, description = "Invalid JSON", body = ErrorBody),
        (status = 401, description = "Unknown (`token_invalid`), expired (`token_expired`) or revoked (`token_revoked`) refresh token", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Body(req): Body<Refresh>,
) -> Result<Reply<Refresh>, ApiError> {
    Ok(Reply::ok(state.accounts.refresh(req).await?))
}

/// Sign out: revokes this session's refresh tokens; its access token stops working at once, on
/// REST and on the WebSocket (open sockets are closed with 4003).
#[utoipa::path(
    post,
    path = Logout::PATH,
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Missing, invalid, expired or revoked access token", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<Logout>, ApiError> {
    state.accounts.logout(&who).await?;
    Ok(Reply::no_content())
}
