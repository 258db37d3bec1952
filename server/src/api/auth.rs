//! `/api/v1/auth/*`: register, login (by password or mailed code, and its two-factor step),
//! refresh, logout, password change and reset. Thin: parse, call [`Accounts`], `LoginCodes` or
//! [`Recovery`], render. Every route here shares the per-address limiter.
//!
//! [`Accounts`]: crate::services::Accounts
//! [`Recovery`]: crate::services::Recovery

use super::errors::ApiError;
use super::extract::{Auth, ClientAddr, UserAgent};
use super::rate_limit::limit_auth;
use super::typed::{Body, Reply};
use crate::services::accounts::SignIn;
use crate::state::AppState;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use jeco_shared::ErrorBody;
use jeco_shared::account::{
    ChangePasswordRequest, ConfirmPasswordResetRequest, PasswordResetRequest,
};
use jeco_shared::auth::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use jeco_shared::endpoints::{
    ChangePassword, ConfirmLoginCode, ConfirmPasswordReset, Endpoint, Login, LoginTwoFactor,
    Logout, Refresh, Register, RequestLoginCode, RequestPasswordReset,
};
use jeco_shared::two_factor::{
    ConfirmLoginCodeRequest, LoginCodeRequest, SignInOutcome, TwoFactorLoginRequest,
    TwoFactorSignedIn,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(request_login_code))
        .routes(routes!(confirm_login_code))
        .routes(routes!(login_two_factor))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .route_layer(from_fn_with_state(state, limit_auth))
}

/// Create an account and sign in.
///
/// Usernames are 3–32 characters of `a-z 0-9 _ . -`, case-insensitive; passwords at least 8
/// characters. The answer is the same as a login's, so the new user is signed in — unless the
/// server requires two-factor: then it is `two_factor_setup_required`.
#[utoipa::path(
    post,
    path = Register::PATH,
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created: signed in, or the two-factor set-up challenge", body = SignInOutcome),
        (status = 400, description = "Invalid JSON or fields (see `fields`)", body = ErrorBody),
        (status = 409, description = "Username taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    UserAgent(client): UserAgent,
    Body(req): Body<Register>,
) -> Result<Reply<Register>, ApiError> {
    let tokens = state
        .accounts
        .register(req, SignIn { client, from })
        .await?;
    Ok(Reply::created(tokens))
}

/// Sign in with username and password.
///
/// The answer's `status` says what happened: `signed_in` (the token pair and user, as a
/// `TokenResponse`), `two_factor_required` (send a code with the `challenge` to
/// `/auth/login/two-factor`) or `two_factor_setup_required` (the server requires two-factor and
/// the account has none: put `enrollment.secret` into an authenticator app, then do the same).
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
        (status = 200, description = "Signed in, or the second step to take", body = SignInOutcome),
        (status = 400, description = "Invalid JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "The account was deactivated (`account_deactivated`)", body = ErrorBody),
        (status = 429, description = "Account locked or too many requests; see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    UserAgent(client): UserAgent,
    Body(req): Body<Login>,
) -> Result<Reply<Login>, ApiError> {
    let outcome = state.accounts.login(req, SignIn { client, from }).await?;
    Ok(Reply::ok(outcome))
}

/// Ask for a 6-digit sign-in code by mail, naming the account by username or email address.
///
/// The answer is `204` whether or not such an account exists or has a verified address, and it
/// comes before the account is even looked up; the code goes only to the account's verified
/// address and is valid 10 minutes (configurable) for 5 wrong tries. Asking again replaces it.
/// Each address may ask a few times a minute (`429` otherwise, the same for every name); each
/// account gets a few mails a minute at most (further requests are answered alike and send
/// nothing).
#[utoipa::path(
    post,
    path = RequestLoginCode::PATH,
    tag = "auth",
    request_body = LoginCodeRequest,
    responses(
        (status = 204, description = "If the account exists and has a verified address, a code is on its way"),
        (status = 400, description = "Empty or over-long `login`", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; see Retry-After", body = ErrorBody),
    )
)]
pub async fn request_login_code(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Body(req): Body<RequestLoginCode>,
) -> Result<Reply<RequestLoginCode>, ApiError> {
    state.login_codes.request(req, from)?;
    Ok(Reply::no_content())
}

/// Sign in with the code from the mail.
///
/// The answer is a login's: `signed_in`, or the two-factor step. A wrong code counts as a failed
/// login (the same throttle as passwords: `429 account_locked` with `Retry-After`); after 5 wrong
/// codes the code is void. The code works once.
#[utoipa::path(
    post,
    path = ConfirmLoginCode::PATH,
    tag = "auth",
    request_body = ConfirmLoginCodeRequest,
    responses(
        (status = 200, description = "Signed in, or the second step to take", body = SignInOutcome),
        (status = 400, description = "Not a 6-digit code (`validation_failed`), or not the code that was sent, or too many wrong codes (`code_invalid`)", body = ErrorBody),
        (status = 403, description = "The account was deactivated (`account_deactivated`)", body = ErrorBody),
        (status = 410, description = "The code expired (`code_expired`) or was used (`code_used`)", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins (`account_locked`) or requests; see Retry-After", body = ErrorBody),
    )
)]
pub async fn confirm_login_code(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    UserAgent(client): UserAgent,
    Body(req): Body<ConfirmLoginCode>,
) -> Result<Reply<ConfirmLoginCode>, ApiError> {
    let outcome = state
        .login_codes
        .confirm(req, SignIn { client, from })
        .await?;
    Ok(Reply::ok(outcome))
}

/// Finish a sign-in with a code from the authenticator app or a recovery code.
///
/// `challenge` is from a `two_factor_required` or `two_factor_setup_required` answer; it works
/// once, for 5 minutes (configurable) and 5 wrong codes. A TOTP code is accepted once (a code
/// already used answers `code_used`). Wrong codes count as failed logins (`429 account_locked`).
/// For a set-up challenge, the code enables two-factor and the answer carries the new recovery
/// codes, shown this once.
#[utoipa::path(
    post,
    path = LoginTwoFactor::PATH,
    tag = "auth",
    request_body = TwoFactorLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TwoFactorSignedIn),
        (status = 400, description = "Neither or both of `code` and `recovery_code` (`validation_failed`), or a wrong code or challenge (`code_invalid`)", body = ErrorBody),
        (status = 403, description = "The account was deactivated (`account_deactivated`)", body = ErrorBody),
        (status = 410, description = "The challenge expired (`code_expired`), or the challenge or code was used (`code_used`)", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins (`account_locked`) or requests; see Retry-After", body = ErrorBody),
    )
)]
pub async fn login_two_factor(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    UserAgent(client): UserAgent,
    Body(req): Body<LoginTwoFactor>,
) -> Result<Reply<LoginTwoFactor>, ApiError> {
    let signed_in = state
        .accounts
        .complete_two_factor(req, SignIn { client, from })
        .await?;
    Ok(Reply::ok(signed_in))
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
    ClientAddr(from): ClientAddr,
    Body(req): Body<Refresh>,
) -> Result<Reply<Refresh>, ApiError> {
    Ok(Reply::ok(state.accounts.refresh(req, from).await?))
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

/// Change the password, giving the current one.
///
/// A wrong current password is a field error (`400 validation_failed`, `fields.current_password`)
/// and counts as a failed login for the throttle: too many from one address give
/// `429 account_locked` with `Retry-After`. With `sign_out_others`, every other session of the
/// account ends (its WebSockets close with 4008); this one stays signed in.
#[utoipa::path(
    post,
    path = ChangePassword::PATH,
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Wrong current password or unacceptable new one (see `fields`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords (`account_locked`) or requests; see Retry-After", body = ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(who): Auth,
    ClientAddr(from): ClientAddr,
    Body(req): Body<ChangePassword>,
) -> Result<Reply<ChangePassword>, ApiError> {
    state.recovery.change_password(&who, req, from).await?;
    Ok(Reply::no_content())
}

/// Ask for a password-reset token by mail, naming the account by username or email address.
///
/// The answer is `204` whether or not such an account exists or has a verified address, and it
/// comes before the account is even looked up; the token goes only to the account's verified
/// address, and is valid 30 minutes (configurable). Each address may ask a few times a minute
/// (`429` otherwise, the same for every name); each account gets a few mails a minute at most
/// (further requests are answered alike and send nothing).
#[utoipa::path(
    post,
    path = RequestPasswordReset::PATH,
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "If the account exists and has a verified address, a token is on its way"),
        (status = 400, description = "Empty or over-long `login`", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; see Retry-After", body = ErrorBody),
    )
)]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Body(req): Body<RequestPasswordReset>,
) -> Result<Reply<RequestPasswordReset>, ApiError> {
    state.recovery.request_reset(req, from)?;
    Ok(Reply::no_content())
}

/// Set a new password with the token from a reset mail.
///
/// The token works once. Every session of the account ends: refresh tokens stop working and
/// WebSockets close at once with 4008. Then sign in with the new password.
#[utoipa::path(
    post,
    path = ConfirmPasswordReset::PATH,
    tag = "auth",
    request_body = ConfirmPasswordResetRequest,
    responses(
        (status = 204, description = "Password set; every session ended"),
        (status = 400, description = "Unacceptable new password (`validation_failed`), or a token the server did not send (`code_invalid`)", body = ErrorBody),
        (status = 410, description = "The token expired (`code_expired`) or was used (`code_used`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; see Retry-After", body = ErrorBody),
    )
)]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Body(req): Body<ConfirmPasswordReset>,
) -> Result<Reply<ConfirmPasswordReset>, ApiError> {
    state.recovery.confirm_reset(req).await?;
    Ok(Reply::no_content())
}
