//! `/api/v1/conversations/*`: the conversation list, group rooms, direct conversations, members and
//! read state. Messages are in [`super::messages`].

use super::errors::ApiError;
use super::extract::{Auth, Path};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::conversations::{
    AddMembersRequest, Conversation, ConversationList, CreateGroupRequest, MarkReadRequest, Member,
    OpenDirectRequest, ReadState, UpdateConversationRequest,
};
use jeco_shared::endpoints::{
    AddConversationMembers, ConversationMembers, Conversations, CreateGroup, DeleteConversation,
    Endpoint, GetConversation, JoinChannel, MarkRead, OpenDirect, RemoveConversationMember,
    UpdateConversation,
};
use jeco_shared::{ConversationId, ErrorBody, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create_group))
        .routes(routes!(open_direct))
        .routes(routes!(get_one, rename, delete_channel))
        .routes(routes!(join_channel))
        .routes(routes!(members, add_members))
        .routes(routes!(remove_member))
        .routes(routes!(mark_read))
}

/// The caller's conversations, most recent activity first, with last message, unread and mention
/// counts and (for direct conversations) the other member's presence.
#[utoipa::path(get, path = Conversations::PATH, tag = "conversations", security(("bearer" = [])),
    responses(
        (status = 200, body = ConversationList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<Conversations>, ApiError> {
    Ok(Reply::ok(state.chat.conversations.list(&who).await?))
}

/// Create a group room; the caller becomes its owner.
#[utoipa::path(post, path = CreateGroup::PATH, tag = "conversations", security(("bearer" = [])),
    request_body = CreateGroupRequest,
    responses(
        (status = 201, body = Conversation),
        (status = 400, description = "Invalid name or unknown member", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn create_group(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<CreateGroup>,
) -> Result<Reply<CreateGroup>, ApiError> {
    let c = state.chat.conversations.create_group(&who, req).await?;
    Ok(Reply::created(c))
}

/// The direct conversation with a user: created (201) on first use, the same one (200) after.
#[utoipa::path(post, path = OpenDirect::PATH, tag = "conversations", security(("bearer" = [])),
    request_body = OpenDirectRequest,
    responses(
        (status = 200, description = "It already existed", body = Conversation),
        (status = 201, description = "Created now", body = Conversation),
        (status = 400, description = "Unknown user or oneself", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn open_direct(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<OpenDirect>,
) -> Result<Reply<OpenDirect>, ApiError> {
    let (c, created) = state.chat.conversations.open_direct(&who, req).await?;
    Ok(Reply::created_or_ok(created, c))
}

/// One conversation as the caller sees it.
#[utoipa::path(get, path = GetConversation::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<GetConversation>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .conversations
            .get(&who, ConversationId(id))
            .await?,
    ))
}

/// Rename a group room or channel (any member); set a channel's topic (any member) or archive or
/// unarchive it (channel owner/admins and team admins).
#[utoipa::path(patch, path = UpdateConversation::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = UpdateConversationRequest,
    responses(
        (status = 200, body = Conversation),
        (status = 400, description = "Invalid fields, a direct conversation, or topic/archive on a group", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Archiving takes a channel or team admin", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
        (status = 409, description = "Another channel of the team has this name, ignoring case", body = ErrorBody),
    ))]
pub async fn rename(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<UpdateConversation>,
) -> Result<Reply<UpdateConversation>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .conversations
            .update(&who, ConversationId(id), req)
            .await?,
    ))
}

/// The members of a conversation.
#[utoipa::path(get, path = ConversationMembers::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, body = Vec<Member>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn members(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<ConversationMembers>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .conversations
            .members(&who, ConversationId(id))
            .await?,
    ))
}

/// Add people to a group room (any member). Returns the members afterwards.
#[utoipa::path(post, path = AddConversationMembers::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = AddMembersRequest,
    responses(
        (status = 200, body = Vec<Member>),
        (status = 400, description = "Unknown user, too many members, or a direct conversation", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn add_members(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<AddConversationMembers>,
) -> Result<Reply<AddConversationMembers>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .conversations
            .add_members(&who, ConversationId(id), req)
            .await?,
    ))
}

/// Remove a member (owners and admins), or leave (one's own id).
#[utoipa::path(delete, path = RemoveConversationMember::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id"), ("user_id" = i64, Path, description = "Member to remove")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "A direct conversation", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only owners and admins remove others", body = ErrorBody),
        (status = 404, description = "No such conversation or member", body = ErrorBody),
        (status = 409, description = "Leaving a team's default channel (leave the team instead)", body = ErrorBody),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, user)): Path<(i64, i64)>,
) -> Result<Reply<RemoveConversationMember>, ApiError> {
    state
        .chat
        .conversations
        .remove_member(&who, ConversationId(id), UserId(user))
        .await?;
    Ok(Reply::no_content())
}

/// Mark everything up to `seq` as read; the other members get a read receipt.
#[utoipa::path(post, path = MarkRead::PATH, tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    request_body = MarkReadRequest,
    responses(
        (status = 200, body = ReadState),
        (status = 400, description = "Invalid seq", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<MarkRead>,
) -> Result<Reply<MarkRead>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .conversations
            .mark_read(&who, ConversationId(id), req.seq)
            .await?,
    ))
}

/// Delete a channel with its messages (team owner/admins; not the default channel). Members are
/// told with `conversation_removed`.
#[utoipa::path(delete, path = DeleteConversation::PATH, tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a channel", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only team admins delete channels", body = ErrorBody),
        (status = 404, description = "No such conversation, or not visible to the caller", body = ErrorBody),
        (status = 409, description = "The team's default channel", body = ErrorBody),
    ))]
pub async fn delete_channel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<DeleteConversation>, ApiError> {
    state.chat.channels.delete(&who, ConversationId(id)).await?;
    Ok(Reply::no_content())
}

/// Join a public channel of one of the caller's teams (already a member: the same answer).
#[utoipa::path(post, path = JoinChannel::PATH, tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Conversation id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such channel, not in its team, or private", body = ErrorBody),
    ))]
pub async fn join_channel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<JoinChannel>, ApiError> {
    Ok(Reply::ok(
        state.chat.channels.join(&who, ConversationId(id)).await?,
    ))
}
