//! `/api/v1/notifications/*` and the per-conversation mute (`PUT /conversations/{id}/mute`).

use super::errors::ApiError;
use super::extract::{Auth, Path, Query};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::endpoints::{
    Endpoint, MarkAllNotificationsRead, MarkNotificationRead, Notifications, SetMute, UnreadCount,
};
use jeco_shared::notifications::{MuteRequest, MuteState, NotificationPage, UnreadNotifications};
use jeco_shared::{ConversationId, ErrorBody, NotificationId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(set_mute))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only unread notifications.
    #[serde(default)]
    pub unread: bool,
    /// Notifications older than this id (`next_before` of the previous page).
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// The caller's notifications, newest first, with the total unread count.
#[utoipa::path(get, path = Notifications::PATH, tag = "notifications", security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, body = NotificationPage),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(p): Query<ListParams>,
) -> Result<Reply<Notifications>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .notifications
            .list(&who, p.unread, p.before.map(NotificationId), p.limit)
            .await?,
    ))
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = UnreadCount::PATH, tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = UnreadNotifications),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn unread_count(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<UnreadCount>, ApiError> {
    Ok(Reply::ok(state.chat.notifications.unread(&who).await?))
}

/// Mark one notification read; answers the unread count afterwards.
#[utoipa::path(post, path = MarkNotificationRead::PATH, tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Notification id")),
    responses(
        (status = 200, body = UnreadNotifications),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such notification of the caller's", body = ErrorBody),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<MarkNotificationRead>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .notifications
            .mark_read(&who, NotificationId(id))
            .await?,
    ))
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = MarkAllNotificationsRead::PATH, tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = UnreadNotifications),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<MarkAllNotificationsRead>, ApiError> {
    Ok(Reply::ok(
        state.chat.notifications.mark_all_read(&who).await?,
    ))
}

/// Mute or unmute a conversation for the caller: a muted conversation creates no notifications
/// for them, mentions included (unread counts still move). Shown as `muted` in the conversation.
#[utoipa::path(put, path = SetMute::PATH, tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = MuteRequest,
    responses(
        (status = 200, body = MuteState),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn set_mute(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<SetMute>,
) -> Result<Reply<SetMute>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .notifications
            .set_muted(&who, ConversationId(id), req.muted)
            .await?,
    ))
}
