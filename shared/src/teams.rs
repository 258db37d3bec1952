//! Teams (`/api/v1/teams/*`, `/api/v1/invites/join`) and their channels.
//!
//! A team has members with the same three roles as a conversation ([`MemberRole`]): one owner,
//! admins who manage members, invitations and channels, and members. A team's channels are
//! conversations of kind `channel` and share the message/event machinery of every conversation;
//! membership follows the team, so whoever leaves a team (or is removed) leaves all its channels.
//! Public channels are listed to every team member and anyone in the team may join them; a private
//! channel is visible only to its members, who add others.

use crate::conversations::MemberRole;
use crate::ids::{ConversationId, InviteId, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// Largest team name, in characters.
pub const TEAM_NAME_MAX: usize = 100;
/// Longest channel topic, in characters.
pub const TOPIC_MAX: usize = 250;
/// Name of the channel every team starts with and every member is in.
pub const DEFAULT_CHANNEL: &str = "general";

/// A team as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: String,
    pub my_role: MemberRole,
    pub member_count: u32,
    /// The team's `#general` channel.
    pub default_channel_id: ConversationId,
    /// Version of the team's picture (changes when it does), absent when there is none. The
    /// picture is `GET /api/v1/teams/{id}/avatar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// `GET /api/v1/teams`: the caller's teams, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TeamList {
    pub items: Vec<Team>,
}

/// `POST /api/v1/teams` (the caller becomes owner) and `PATCH /api/v1/teams/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TeamNameRequest {
    pub name: String,
}

/// `POST /api/v1/teams/{id}/members` (admins; only the owner may add admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AddTeamMemberRequest {
    pub user_id: UserId,
    /// `member` (default) or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MemberRole>,
}

/// `PATCH /api/v1/teams/{id}/members/{user_id}` (owner): `admin` or `member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamMemberRequest {
    pub role: MemberRole,
}

/// `POST /api/v1/teams/{id}/transfer` (owner): the new owner, a member; the old one becomes admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TransferOwnershipRequest {
    pub user_id: UserId,
}

/// `POST /api/v1/teams/{id}/invites` (admins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// Seconds until it expires; none: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// How many people may join with it; none: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
}

/// An invitation to a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invite {
    pub id: InviteId,
    pub team_id: TeamId,
    /// What a joiner sends to `POST /invites/join`.
    pub code: String,
    pub created_by: UserId,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub revoked: bool,
}

/// `GET /api/v1/teams/{id}/invites`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InviteList {
    pub items: Vec<Invite>,
}

/// `POST /api/v1/invites/join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct JoinInviteRequest {
    pub code: String,
}

/// What a channel adds to a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelInfo {
    pub team_id: TeamId,
    pub topic: Option<String>,
    /// Private channels are visible only to their members.
    pub private: bool,
    /// Archived channels are readable but take no new messages.
    pub archived: bool,
    /// The team's `#general`: every member is in it; it cannot be deleted.
    pub is_default: bool,
}

/// A channel in a team's channel list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Channel {
    pub id: ConversationId,
    pub name: String,
    #[serde(flatten)]
    pub info: ChannelInfo,
    pub member_count: u32,
    /// Whether the caller is a member (public channels may be joined with
    /// `POST /conversations/{id}/join`).
    pub joined: bool,
}

/// `GET /api/v1/teams/{id}/channels`: public channels and the private ones the caller is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelList {
    pub items: Vec<Channel>,
}

/// `POST /api/v1/teams/{id}/channels` (any team member; the creator is the channel's owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    pub name: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}
