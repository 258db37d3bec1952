//! `/api/v1/conversations/{id}/messages/*` and `/pins`: send, history, threads, edit, delete,
//! reactions and pins.

use super::errors::ApiError;
use super::extract::{Auth, Path, Query};
use super::typed::{Body, Reply};
use crate::services::messages::HistoryQuery;
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::endpoints::{
    DeleteMessage, EditMessage, Endpoint, GetMessage, History, Pin, Pins, React, Replies,
    SendMessage, Threads, Unpin,
};
use jeco_shared::messages::{
    EditMessageRequest, Message, MessagePage, ReactionRequest, ReactionToggled, SendMessageRequest,
    ThreadList,
};
use jeco_shared::{ConversationId, ErrorBody, MessageId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history, send))
        .routes(routes!(get_one, edit, delete))
        .routes(routes!(replies))
        .routes(routes!(threads))
        .routes(routes!(react))
        .routes(routes!(pins))
        .routes(routes!(pin, unpin))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Messages with `seq` below this (older).
    pub before: Option<i64>,
    /// Messages with `seq` above this (newer).
    pub after: Option<i64>,
    /// About half the page before and half after this message id, including it.
    pub around: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// A page of messages, oldest first: the newest by default, or before/after a position or around
/// a message. At most one of `before`, `after`, `around`.
#[utoipa::path(get, path = History::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), HistoryParams),
    responses(
        (status = 200, body = MessagePage),
        (status = 400, description = "Conflicting anchors or bad limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation/message, or not a member", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Query(p): Query<HistoryParams>,
) -> Result<Reply<History>, ApiError> {
    let q = HistoryQuery {
        before: p.before,
        after: p.after,
        around: p.around.map(MessageId),
        limit: p.limit,
    };
    Ok(Reply::ok(
        state
            .chat
            .messages
            .history(&who, ConversationId(id), q)
            .await?,
    ))
}

/// Send a message. Answers after it is committed. Sending the same `client_id` again returns the
/// original message with 200 instead of creating another.
#[utoipa::path(post, path = SendMessage::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Sent", body = Message),
        (status = 200, description = "A retry: the original message", body = Message),
        (status = 400, description = "Empty or too long text, bad client_id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation or reply target, or not a member", body = ErrorBody),
        (status = 409, description = "The client_id was already used for a message in another conversation, or the conversation is archived", body = ErrorBody),
        (status = 429, description = "Sending too fast (see Retry-After)", body = ErrorBody),
    ))]
pub async fn send(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<SendMessage>,
) -> Result<Reply<SendMessage>, ApiError> {
    let (message, created) = state
        .chat
        .messages
        .send(&who, ConversationId(id), req)
        .await?;
    Ok(Reply::created_or_ok(created, message))
}

/// One message.
#[utoipa::path(get, path = GetMessage::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    responses(
        (status = 200, body = Message),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such message here, or not a member", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
) -> Result<Reply<GetMessage>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .get(&who, ConversationId(id), MessageId(mid))
            .await?,
    ))
}

/// Edit one's own message; it is marked edited.
#[utoipa::path(patch, path = EditMessage::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, body = Message),
        (status = 400, description = "Empty or too long text", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the author", body = ErrorBody),
        (status = 404, description = "No such (or a deleted) message here, or not a member", body = ErrorBody),
    ))]
pub async fn edit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
    Body(req): Body<EditMessage>,
) -> Result<Reply<EditMessage>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .edit(&who, ConversationId(id), MessageId(mid), &req.text)
            .await?,
    ))
}

/// Delete a message (the author, or a conversation owner/admin). It stays as a tombstone.
#[utoipa::path(delete, path = DeleteMessage::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Neither the author nor an admin", body = ErrorBody),
        (status = 404, description = "No such (or an already deleted) message here, or not a member", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
) -> Result<Reply<DeleteMessage>, ApiError> {
    state
        .chat
        .messages
        .delete(&who, ConversationId(id), MessageId(mid))
        .await?;
    Ok(Reply::no_content())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepliesParams {
    /// Replies with `seq` above this.
    pub after: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// The thread of a message: its replies, oldest first.
#[utoipa::path(get, path = Replies::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id"), RepliesParams),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such message here, or not a member", body = ErrorBody),
    ))]
pub async fn replies(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
    Query(p): Query<RepliesParams>,
) -> Result<Reply<Replies>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .replies(&who, ConversationId(id), MessageId(mid), p.after, p.limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadsParams {
    /// How many threads, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// The threads the caller started or replied to (with at least one reply, in conversations the
/// caller is in), newest reply first: the Threads view.
#[utoipa::path(get, path = Threads::PATH, tag = "messages", security(("bearer" = [])),
    params(ThreadsParams),
    responses(
        (status = 200, body = ThreadList),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn threads(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(p): Query<ThreadsParams>,
) -> Result<Reply<Threads>, ApiError> {
    Ok(Reply::ok(state.chat.messages.threads(&who, p.limit).await?))
}

/// Toggle the caller's reaction with an emoji (added if absent, removed if present), or with `add`
/// set it present or absent, so that repeating the request changes nothing.
#[utoipa::path(post, path = React::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    request_body = ReactionRequest,
    responses(
        (status = 200, body = ReactionToggled),
        (status = 400, description = "Invalid emoji", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such message here, or not a member", body = ErrorBody),
        (status = 409, description = "The channel is archived", body = ErrorBody),
    ))]
pub async fn react(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
    Body(req): Body<React>,
) -> Result<Reply<React>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .set_reaction(
                &who,
                ConversationId(id),
                MessageId(mid),
                &req.emoji,
                req.add,
            )
            .await?,
    ))
}

/// Pinned messages, most recently pinned first.
#[utoipa::path(get, path = Pins::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, body = Vec<Message>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn pins(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<Pins>, ApiError> {
    Ok(Reply::ok(
        state.chat.messages.pins(&who, ConversationId(id)).await?,
    ))
}

/// Pin a message (any member). Pinning a pinned message changes nothing.
#[utoipa::path(put, path = Pin::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    responses(
        (status = 200, body = Message),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such message here, or not a member", body = ErrorBody),
        (status = 409, description = "The channel is archived", body = ErrorBody),
    ))]
pub async fn pin(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
) -> Result<Reply<Pin>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .set_pinned(&who, ConversationId(id), MessageId(mid), true)
            .await?,
    ))
}

/// Unpin a message (any member).
#[utoipa::path(delete, path = Unpin::PATH, tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("mid" = i64, Path, description = "Message id")),
    responses(
        (status = 200, body = Message),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such message here, or not a member", body = ErrorBody),
        (status = 409, description = "The channel is archived", body = ErrorBody),
    ))]
pub async fn unpin(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, mid)): Path<(i64, i64)>,
) -> Result<Reply<Unpin>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .messages
            .set_pinned(&who, ConversationId(id), MessageId(mid), false)
            .await?,
    ))
}
