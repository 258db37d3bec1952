//! `/api/v1/users/*`: the caller's profile and the user directory.

use super::errors::ApiError;
use super::extract::{Auth, Path, Query};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::endpoints::{Endpoint, GetUser, Me, SearchUsers, UpdateMe};
use jeco_shared::users::{UpdateProfileRequest, User, UserPage};
use jeco_shared::{ErrorBody, UserId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(user_by_id))
        .routes(routes!(search_users))
}

/// The signed-in user's profile.
#[utoipa::path(
    get,
    path = Me::PATH,
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = User),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn me(State(state): State<AppState>, Auth(who): Auth) -> Result<Reply<Me>, ApiError> {
    Ok(Reply::ok(state.accounts.me(&who).await?))
}

/// Update display name, bio or status text. Absent fields stay; `null` or `""` clears.
#[utoipa::path(
    patch,
    path = UpdateMe::PATH,
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The updated profile", body = User),
        (status = 400, description = "Invalid JSON or fields", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<UpdateMe>,
) -> Result<Reply<UpdateMe>, ApiError> {
    Ok(Reply::ok(state.accounts.update_me(&who, req).await?))
}

/// A user's public profile.
#[utoipa::path(
    get,
    path = GetUser::PATH,
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = User),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub async fn user_by_id(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<GetUser>, ApiError> {
    Ok(Reply::ok(state.accounts.user(&who, UserId(id)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Prefix of a username or display name (case-insensitive). Empty lists everyone.
    pub q: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Search users by username or display-name prefix, one page at a time.
#[utoipa::path(
    get,
    path = SearchUsers::PATH,
    tag = "users",
    security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, body = UserPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub async fn search_users(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(params): Query<SearchParams>,
) -> Result<Reply<SearchUsers>, ApiError> {
    let page = state
        .accounts
        .search(
            &who,
            params.q.as_deref(),
            params.limit,
            params.cursor.as_deref(),
        )
        .await?;
    Ok(Reply::ok(page))
}
