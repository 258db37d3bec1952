//! `/api/v1/users/me/email*` and `/api/v1/users/me/sessions*`: the caller's email address and
//! signed-in sessions. Thin: parse, call [`Recovery`] or [`Sessions`], render.
//!
//! [`Recovery`]: crate::services::Recovery
//! [`Sessions`]: crate::services::sessions::Sessions

use super::errors::ApiError;
use super::extract::{Auth, Path};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::account::{
    EmailStatus, SessionList, SetEmailRequest, SignedOut, VerifyEmailRequest,
};
use jeco_shared::endpoints::{
    EndSession, Endpoint, MyEmail, MySessions, RemoveEmail, SetEmail, SignOutOthers, VerifyEmail,
};
use jeco_shared::{ErrorBody, SessionId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_email, set_email, remove_email))
        .routes(routes!(verify_email))
        .routes(routes!(my_sessions))
        .routes(routes!(end_session))
        .routes(routes!(sign_out_others))
}

/// The caller's verified email address, and one waiting for its code. Only the caller sees them.
#[utoipa::path(
    get,
    path = MyEmail::PATH,
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = EmailStatus),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn my_email(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<MyEmail>, ApiError> {
    Ok(Reply::ok(state.recovery.email(&who).await?))
}

/// Mail a 6-digit code to an address; it becomes the account's address once verified.
///
/// The code is valid 15 minutes (configurable) and for 5 wrong tries. Asking again replaces it.
/// Setting the address the account already has sends nothing.
#[utoipa::path(
    put,
    path = SetEmail::PATH,
    tag = "account",
    security(("bearer" = [])),
    request_body = SetEmailRequest,
    responses(
        (status = 200, description = "Code sent; the address is pending", body = EmailStatus),
        (status = 400, description = "Not an address, or over 254 characters", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 429, description = "Too many mails for this account; see Retry-After", body = ErrorBody),
        (status = 503, description = "The mail server did not take the message", body = ErrorBody),
    )
)]
pub async fn set_email(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<SetEmail>,
) -> Result<Reply<SetEmail>, ApiError> {
    Ok(Reply::ok(state.recovery.set_email(&who, req).await?))
}

/// Verify the pending address with the code from the mail.
#[utoipa::path(
    post,
    path = VerifyEmail::PATH,
    tag = "account",
    security(("bearer" = [])),
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is the account's", body = EmailStatus),
        (status = 400, description = "Not 6 digits (`validation_failed`); a wrong code, no code sent or too many wrong tries (`code_invalid`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "Another account verified this address first", body = ErrorBody),
        (status = 410, description = "The code expired (`code_expired`) or was used (`code_used`)", body = ErrorBody),
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<VerifyEmail>,
) -> Result<Reply<VerifyEmail>, ApiError> {
    Ok(Reply::ok(state.recovery.verify_email(&who, req).await?))
}

/// Remove the account's address and any pending one (password resets then reach nobody).
#[utoipa::path(
    delete,
    path = RemoveEmail::PATH,
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn remove_email(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<RemoveEmail>, ApiError> {
    state.recovery.remove_email(&who).await?;
    Ok(Reply::no_content())
}

/// The caller's signed-in sessions, most recently active first; `current` marks this one.
///
/// `last_active_at` is the latest sign-in or token refresh.
#[utoipa::path(
    get,
    path = MySessions::PATH,
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SessionList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn my_sessions(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<MySessions>, ApiError> {
    Ok(Reply::ok(state.sessions.list(&who).await?))
}

/// Sign out another of the caller's sessions. Its tokens stop working and its WebSockets close
/// at once with 4008 (`SIGNED_OUT`). The session asking is signed out with `POST /auth/logout`.
#[utoipa::path(
    delete,
    path = EndSession::PATH,
    tag = "account",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id, from the session list")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such live session of the caller", body = ErrorBody),
        (status = 409, description = "The session asking (sign it out with `POST /auth/logout`)", body = ErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<EndSession>, ApiError> {
    state.sessions.end(&who, SessionId(id)).await?;
    Ok(Reply::no_content())
}

/// Sign out every session of the caller but this one (their WebSockets close with 4008).
#[utoipa::path(
    post,
    path = SignOutOthers::PATH,
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many sessions were ended", body = SignedOut),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn sign_out_others(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<SignOutOthers>, ApiError> {
    Ok(Reply::ok(state.sessions.sign_out_others(&who).await?))
}
