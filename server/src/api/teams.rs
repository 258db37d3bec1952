//! `/api/v1/teams/*` and `/api/v1/invites/join`: teams, their members, invitations and channels.
//! Channel renames, topics and archiving go through `PATCH /conversations/{id}` like every
//! conversation change (see [`super::conversations`]).

use super::errors::ApiError;
use super::extract::{Auth, Path};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::conversations::{Conversation, Member};
use jeco_shared::endpoints::{
    AddTeamMember, Channels, CreateChannel, CreateInvite, CreateTeam, DeleteTeam, Endpoint,
    GetTeam, Invites, JoinInvite, RemoveTeamMember, RenameTeam, RevokeInvite, SetTeamRole,
    TeamMembers, Teams, TransferTeam,
};
use jeco_shared::teams::{
    AddTeamMemberRequest, ChannelList, CreateChannelRequest, CreateInviteRequest, Invite,
    InviteList, JoinInviteRequest, Team, TeamList, TeamNameRequest, TransferOwnershipRequest,
    UpdateTeamMemberRequest,
};
use jeco_shared::{ErrorBody, InviteId, TeamId, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, rename, delete))
        .routes(routes!(members, add_member))
        .routes(routes!(set_role, remove_member))
        .routes(routes!(transfer))
        .routes(routes!(invites, create_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(join))
        .routes(routes!(channels, create_channel))
}

/// The caller's teams, by name.
#[utoipa::path(get, path = Teams::PATH, tag = "teams", security(("bearer" = [])),
    responses(
        (status = 200, body = TeamList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<Teams>, ApiError> {
    Ok(Reply::ok(state.chat.teams.list(&who).await?))
}

/// Create a team: the caller becomes its owner and it starts with a public `#general` channel.
#[utoipa::path(post, path = CreateTeam::PATH, tag = "teams", security(("bearer" = [])),
    request_body = TeamNameRequest,
    responses(
        (status = 201, body = Team),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<CreateTeam>,
) -> Result<Reply<CreateTeam>, ApiError> {
    let team = state.chat.teams.create(&who, req).await?;
    Ok(Reply::created(team))
}

/// One team as the caller sees it.
#[utoipa::path(get, path = GetTeam::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, body = Team),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<GetTeam>, ApiError> {
    Ok(Reply::ok(state.chat.teams.get(&who, TeamId(id)).await?))
}

/// Rename a team (owner and admins).
#[utoipa::path(patch, path = RenameTeam::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body = TeamNameRequest,
    responses(
        (status = 200, body = Team),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an owner or admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn rename(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<RenameTeam>,
) -> Result<Reply<RenameTeam>, ApiError> {
    Ok(Reply::ok(
        state.chat.teams.rename(&who, TeamId(id), req).await?,
    ))
}

/// Delete a team with all its channels (owner only).
#[utoipa::path(delete, path = DeleteTeam::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<DeleteTeam>, ApiError> {
    state.chat.teams.delete(&who, TeamId(id)).await?;
    Ok(Reply::no_content())
}

/// The members of a team with their roles.
#[utoipa::path(get, path = TeamMembers::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, body = Vec<Member>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn members(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<TeamMembers>, ApiError> {
    Ok(Reply::ok(state.chat.teams.members(&who, TeamId(id)).await?))
}

/// Add a user to the team and its default channel (owner and admins; only the owner adds admins).
#[utoipa::path(post, path = AddTeamMember::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body = AddTeamMemberRequest,
    responses(
        (status = 200, body = Vec<Member>),
        (status = 400, description = "Unknown user, already a member, or role owner", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an owner or admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn add_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<AddTeamMember>,
) -> Result<Reply<AddTeamMember>, ApiError> {
    Ok(Reply::ok(
        state.chat.teams.add_member(&who, TeamId(id), req).await?,
    ))
}

/// Make a member an admin or an admin a member (owner only).
#[utoipa::path(patch, path = SetTeamRole::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "Member")),
    request_body = UpdateTeamMemberRequest,
    responses(
        (status = 200, body = Vec<Member>),
        (status = 400, description = "Role owner, or the owner's own role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "No such team or member", body = ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, user)): Path<(i64, i64)>,
    Body(req): Body<SetTeamRole>,
) -> Result<Reply<SetTeamRole>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .teams
            .set_role(&who, TeamId(id), UserId(user), req)
            .await?,
    ))
}

/// Remove a member from the team and all its channels (owner and admins; admins only plain
/// members), or leave (one's own id; the owner must transfer ownership first).
#[utoipa::path(delete, path = RemoveTeamMember::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "Member to remove")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "May not remove this member", body = ErrorBody),
        (status = 404, description = "No such team or member", body = ErrorBody),
        (status = 409, description = "`owner_must_transfer`: the owner cannot leave", body = ErrorBody),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, user)): Path<(i64, i64)>,
) -> Result<Reply<RemoveTeamMember>, ApiError> {
    state
        .chat
        .teams
        .remove_member(&who, TeamId(id), UserId(user))
        .await?;
    Ok(Reply::no_content())
}

/// Hand the team to another member (owner only); the old owner becomes an admin.
#[utoipa::path(post, path = TransferTeam::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body = TransferOwnershipRequest,
    responses(
        (status = 200, body = Team),
        (status = 400, description = "Not another member of the team", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn transfer(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<TransferTeam>,
) -> Result<Reply<TransferTeam>, ApiError> {
    Ok(Reply::ok(
        state.chat.teams.transfer(&who, TeamId(id), req).await?,
    ))
}

/// The team's invitations, newest first (owner and admins).
#[utoipa::path(get, path = Invites::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, body = InviteList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an owner or admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn invites(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<Invites>, ApiError> {
    Ok(Reply::ok(state.chat.teams.invites(&who, TeamId(id)).await?))
}

/// Create an invitation with a random code, an optional expiry and an optional use limit (owner
/// and admins).
#[utoipa::path(post, path = CreateInvite::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body = CreateInviteRequest,
    responses(
        (status = 201, body = Invite),
        (status = 400, description = "Invalid expiry or use limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an owner or admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn create_invite(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<CreateInvite>,
) -> Result<Reply<CreateInvite>, ApiError> {
    let invite = state
        .chat
        .teams
        .create_invite(&who, TeamId(id), req)
        .await?;
    Ok(Reply::created(invite))
}

/// Revoke an invitation (owner and admins); joining with it then fails with `invite_revoked`.
#[utoipa::path(delete, path = RevokeInvite::PATH, tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id"), ("invite_id" = i64, Path, description = "Invitation id")),
    responses(
        (status = 200, body = Invite),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an owner or admin", body = ErrorBody),
        (status = 404, description = "No such team or invitation", body = ErrorBody),
    ))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, invite)): Path<(i64, i64)>,
) -> Result<Reply<RevokeInvite>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .teams
            .revoke_invite(&who, TeamId(id), InviteId(invite))
            .await?,
    ))
}

/// Join a team with an invitation code (201 joined now, 200 already a member).
#[utoipa::path(post, path = JoinInvite::PATH, tag = "teams", security(("bearer" = [])),
    request_body = JoinInviteRequest,
    responses(
        (status = 200, description = "Already a member", body = Team),
        (status = 201, description = "Joined", body = Team),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "`invite_not_found`: no invitation has this code", body = ErrorBody),
        (status = 410, description = "`invite_expired`, `invite_revoked` or `invite_used_up`", body = ErrorBody),
    ))]
pub async fn join(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<JoinInvite>,
) -> Result<Reply<JoinInvite>, ApiError> {
    let (team, joined) = state.chat.teams.join(&who, req).await?;
    Ok(Reply::created_or_ok(joined, team))
}

/// The team's channels the caller may see: every public one and the private ones the caller is in.
#[utoipa::path(get, path = Channels::PATH, tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, body = ChannelList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn channels(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<Channels>, ApiError> {
    Ok(Reply::ok(state.chat.channels.list(&who, TeamId(id)).await?))
}

/// Create a public or private channel (any team member; the creator is its owner).
#[utoipa::path(post, path = CreateChannel::PATH, tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body = CreateChannelRequest,
    responses(
        (status = 201, body = Conversation),
        (status = 400, description = "Invalid name or topic", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
        (status = 409, description = "Another channel of the team has this name, ignoring case", body = ErrorBody),
    ))]
pub async fn create_channel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Body(req): Body<CreateChannel>,
) -> Result<Reply<CreateChannel>, ApiError> {
    let c = state.chat.channels.create(&who, TeamId(id), req).await?;
    Ok(Reply::created(c))
}
