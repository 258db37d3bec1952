//! `/api/v1/users/me/two-factor*`: the caller's two-factor authentication — status, enrolment,
//! turning it off, new recovery codes. Thin: parse, call
//! [`TwoFactor`](crate::services::two_factor::TwoFactor), render.

use super::errors::ApiError;
use super::extract::{Auth, ClientAddr};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::ErrorBody;
use jeco_shared::endpoints::{
    BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, Endpoint, RegenerateRecoveryCodes,
    TwoFactorState,
};
use jeco_shared::two_factor::{
    DisableTwoFactorRequest, RecoveryCodes, TwoFactorCodeRequest, TwoFactorEnrollment,
    TwoFactorStatus,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            two_factor_status,
            begin_two_factor,
            disable_two_factor
        ))
        .routes(routes!(confirm_two_factor))
        .routes(routes!(regenerate_recovery_codes))
}

/// Whether the caller uses two-factor, how many recovery codes are left, and whether the server
/// requires it.
#[utoipa::path(get, path = TwoFactorState::PATH, tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = TwoFactorStatus),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn two_factor_status(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<TwoFactorState>, ApiError> {
    Ok(Reply::ok(state.two_factor.status(&who).await?))
}

/// Start enrolling: a new TOTP secret, as base32 text and as an `otpauth://` URI for a QR code.
///
/// Nothing changes until a code from the app confirms it (`/users/me/two-factor/confirm`);
/// asking again replaces a pending secret. `409` when two-factor is already on.
#[utoipa::path(post, path = BeginTwoFactor::PATH, tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = TwoFactorEnrollment),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "Two-factor is already on", body = ErrorBody),
    ))]
pub async fn begin_two_factor(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<BeginTwoFactor>, ApiError> {
    Ok(Reply::ok(state.two_factor.begin(&who).await?))
}

/// Finish enrolling with the app's current code: two-factor is on from now, and the answer holds
/// 10 recovery codes, shown this once.
#[utoipa::path(post, path = ConfirmTwoFactor::PATH, tag = "account", security(("bearer" = [])),
    request_body = TwoFactorCodeRequest,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 400, description = "Not the app's current code (`code_invalid`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "No enrolment started, or two-factor is already on", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (`account_locked`); see Retry-After", body = ErrorBody),
    ))]
pub async fn confirm_two_factor(
    State(state): State<AppState>,
    Auth(who): Auth,
    ClientAddr(from): ClientAddr,
    Body(req): Body<ConfirmTwoFactor>,
) -> Result<Reply<ConfirmTwoFactor>, ApiError> {
    Ok(Reply::ok(state.two_factor.confirm(&who, req, from).await?))
}

/// Turn two-factor off, giving either the password or a current code.
///
/// `409` when the server requires two-factor, or it is not on. Wrong passwords and codes count as
/// failed logins.
#[utoipa::path(delete, path = DisableTwoFactor::PATH, tag = "account", security(("bearer" = [])),
    request_body = DisableTwoFactorRequest,
    responses(
        (status = 204, description = "Two-factor is off; the recovery codes are gone"),
        (status = 400, description = "Wrong password (`validation_failed`) or code (`code_invalid`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "Required on this server, or not on", body = ErrorBody),
        (status = 410, description = "The code was already used (`code_used`)", body = ErrorBody),
        (status = 429, description = "Too many wrong tries (`account_locked`); see Retry-After", body = ErrorBody),
    ))]
pub async fn disable_two_factor(
    State(state): State<AppState>,
    Auth(who): Auth,
    ClientAddr(from): ClientAddr,
    Body(req): Body<DisableTwoFactor>,
) -> Result<Reply<DisableTwoFactor>, ApiError> {
    state.two_factor.disable(&who, req, from).await?;
    Ok(Reply::no_content())
}

/// New recovery codes, given a current code; the old ones stop working.
#[utoipa::path(post, path = RegenerateRecoveryCodes::PATH, tag = "account", security(("bearer" = [])),
    request_body = TwoFactorCodeRequest,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 400, description = "Not the app's current code (`code_invalid`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "Two-factor is not on", body = ErrorBody),
        (status = 410, description = "The code was already used (`code_used`)", body = ErrorBody),
        (status = 429, description = "Too many wrong codes (`account_locked`); see Retry-After", body = ErrorBody),
    ))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Auth(who): Auth,
    ClientAddr(from): ClientAddr,
    Body(req): Body<RegenerateRecoveryCodes>,
) -> Result<Reply<RegenerateRecoveryCodes>, ApiError> {
    Ok(Reply::ok(
        state.two_factor.regenerate(&who, req, from).await?,
    ))
}
