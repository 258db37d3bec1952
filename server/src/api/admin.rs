//! `/api/v1/admin/users*`: server administration (server admins only). Thin: parse, call
//! [`Admin`](crate::services::admin::Admin) with the caller, render. Whether the caller may is
//! decided there; everyone but a server admin gets `403 forbidden`.

use super::errors::ApiError;
use super::extract::{Auth, Path, Query};
use super::typed::{Body, Reply};
use crate::services::admin::Caller;
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::admin::{AdminPasswordRequest, AdminPasswordReset, AdminUser, AdminUserPage};
use jeco_shared::endpoints::{
    AdminGetUser, AdminResetPassword, AdminResetTwoFactor, AdminSettings, AdminUsers,
    DeactivateUser, Endpoint, GrantAdmin, ReactivateUser, RevokeAdmin, SetAdminSettings,
};
use jeco_shared::two_factor::{AdminSignedOut, ServerSettings};
use jeco_shared::{ErrorBody, UserId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(deactivate))
        .routes(routes!(reactivate))
        .routes(routes!(reset_password))
        .routes(routes!(grant_admin, revoke_admin))
        .routes(routes!(reset_two_factor))
        .routes(routes!(settings, set_settings))
}

/// Turn off an account's two-factor authentication (a lost phone): its secret and recovery codes
/// are gone and every session of the account ends (sockets close with 4008). Its next sign-in
/// needs only the password — or enrols again, where the server requires two-factor.
#[utoipa::path(delete, path = AdminResetTwoFactor::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = AdminSignedOut),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn reset_two_factor(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<UserId>,
) -> Result<Reply<AdminResetTwoFactor>, ApiError> {
    Ok(Reply::ok(
        state.admin.reset_two_factor(Caller::User(who), id).await?,
    ))
}

/// The server-wide settings.
#[utoipa::path(get, path = AdminSettings::PATH, tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = ServerSettings),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
    ))]
pub async fn settings(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<AdminSettings>, ApiError> {
    Ok(Reply::ok(state.admin.settings(Caller::User(who)).await?))
}

/// Change the server-wide settings.
///
/// Turning `require_two_factor` on ends every session of the accounts without two-factor (their
/// sockets close with 4008); their next sign-in answers `two_factor_setup_required`. The admin
/// asking must use two-factor first (`409`).
#[utoipa::path(put, path = SetAdminSettings::PATH, tag = "admin", security(("bearer" = [])),
    request_body = ServerSettings,
    responses(
        (status = 200, description = "Changed; how many sessions ended", body = AdminSignedOut),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 409, description = "Requiring two-factor without using it yourself", body = ErrorBody),
    ))]
pub async fn set_settings(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<SetAdminSettings>,
) -> Result<Reply<SetAdminSettings>, ApiError> {
    Ok(Reply::ok(
        state.admin.set_settings(Caller::User(who), req).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminSearchParams {
    /// Prefix of a username, display name or email address (case-insensitive). Empty lists
    /// everyone.
    pub q: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Every account with its admin and deactivated flags, email, last activity and live sessions,
/// ordered by username, one page at a time.
#[utoipa::path(get, path = AdminUsers::PATH, tag = "admin", security(("bearer" = [])),
    params(AdminSearchParams),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(params): Query<AdminSearchParams>,
) -> Result<Reply<AdminUsers>, ApiError> {
    let page = state
        .admin
        .list(
            Caller::User(who),
            params.q.as_deref(),
            params.limit,
            params.cursor.as_deref(),
        )
        .await?;
    Ok(Reply::ok(page))
}

/// One account as the admin list shows it.
#[utoipa::path(get, path = AdminGetUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<AdminGetUser>, ApiError> {
    Ok(Reply::ok(
        state.admin.get(Caller::User(who), UserId(id)).await?,
    ))
}

/// Deactivate an account: it cannot sign in (`403 account_deactivated`), every session ends at
/// once and its WebSockets close with 4009 (`DEACTIVATED`). Its messages stay; its profile says
/// `deactivated: true`. Deactivating a deactivated account changes nothing.
#[utoipa::path(post, path = DeactivateUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account, now deactivated", body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last active server admin (`last_admin`)", body = ErrorBody),
    ))]
pub async fn deactivate(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<DeactivateUser>, ApiError> {
    Ok(Reply::ok(
        state
            .admin
            .deactivate(Caller::User(who), UserId(id))
            .await?,
    ))
}

/// Let a deactivated account sign in again (its old sessions stay ended).
#[utoipa::path(post, path = ReactivateUser::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account, active", body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn reactivate(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<ReactivateUser>, ApiError> {
    Ok(Reply::ok(
        state
            .admin
            .reactivate(Caller::User(who), UserId(id))
            .await?,
    ))
}

/// Set a new password for an account (`new_password`), or without one mail a password-reset
/// token to its verified address. Either way every session of the account ends and its
/// WebSockets close with 4008 (`SIGNED_OUT`).
#[utoipa::path(post, path = AdminResetPassword::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    request_body = AdminPasswordRequest,
    responses(
        (status = 200, description = "Done; how many sessions ended", body = AdminPasswordReset),
        (status = 400, description = "The password is too short or too long", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "A mail was asked for, but the account has no verified address", body = ErrorBody),
        (status = 503, description = "The mail server did not take the message", body = ErrorBody),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<AdminResetPassword>,
) -> Result<Reply<AdminResetPassword>, ApiError> {
    Ok(Reply::ok(
        state
            .admin
            .reset_password(Caller::User(who), UserId(id), req)
            .await?,
    ))
}

/// Make an account a server admin.
#[utoipa::path(put, path = GrantAdmin::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account, now an admin", body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn grant_admin(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<GrantAdmin>, ApiError> {
    Ok(Reply::ok(
        state
            .admin
            .set_admin(Caller::User(who), UserId(id), true)
            .await?,
    ))
}

/// Remove an account's server-admin flag (an admin may remove their own).
#[utoipa::path(delete, path = RevokeAdmin::PATH, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account, no longer an admin", body = AdminUser),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last active server admin (`last_admin`)", body = ErrorBody),
    ))]
pub async fn revoke_admin(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<RevokeAdmin>, ApiError> {
    Ok(Reply::ok(
        state
            .admin
            .set_admin(Caller::User(who), UserId(id), false)
            .await?,
    ))
}
