//! Conversations (`/api/v1/conversations/*`): group rooms, direct conversations and (with teams)
//! channels share one shape, one membership model and one message/event machinery.
//!
//! A conversation's `last_seq` is the position of its newest event (see [`crate::events`]); a
//! member's `read_seq` is how far they have read. Unread and mention counts are computed by the
//! server from those two positions, so every device of a user agrees on them.

use crate::events::PresenceStatus;
use crate::ids::{ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Largest conversation name, in characters.
pub const NAME_MAX: usize = 100;
/// Most members a group room may have.
pub const GROUP_MEMBERS_MAX: usize = 256;

/// What kind of conversation this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// A channel in a team.
    Channel,
    /// A group room: named, any number of members, no team needed.
    Group,
    /// A 1:1 conversation; exactly one exists per pair of users.
    Direct,
}

/// A member's role in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Created the conversation; may do everything an admin may.
    Owner,
    /// May remove members and delete others' messages.
    Admin,
    Member,
}

impl MemberRole {
    /// Owners and admins moderate.
    pub fn is_admin(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// One member of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    pub user_id: UserId,
    pub role: MemberRole,
    /// RFC 3339 UTC timestamp.
    pub joined_at: String,
}

/// The newest message of a conversation, as the conversation list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessagePreview {
    pub id: MessageId,
    pub sender_id: UserId,
    /// The first characters of the text; empty when deleted.
    pub text: String,
    pub deleted: bool,
    pub created_at: String,
}

/// A conversation as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// `null` for direct conversations (show the other member's name).
    pub name: Option<String>,
    pub created_at: String,
    /// When something last happened here (a message, or the creation). The list is ordered by it.
    pub last_activity_at: String,
    /// Position of the newest event.
    pub last_seq: i64,
    /// How far the caller has read.
    pub read_seq: i64,
    /// Messages by others after `read_seq`.
    pub unread_count: u32,
    /// Unread messages that mention the caller (by name, `@channel` or `@here`).
    pub mention_count: u32,
    pub my_role: MemberRole,
    pub last_message: Option<MessagePreview>,
    pub members: Vec<Member>,
    /// Direct conversations: the other member's presence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_presence: Option<PresenceStatus>,
    /// Channels: their team, topic, visibility and archive state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::teams::ChannelInfo>,
    /// The caller muted it: it creates no notifications for them (`PUT /conversations/{id}/mute`).
    #[serde(default)]
    pub muted: bool,
}

/// `GET /api/v1/conversations`: the caller's conversations, most recent activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationList {
    pub items: Vec<Conversation>,
}

/// `POST /api/v1/conversations`: a group room with the caller as owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    pub name: String,
    /// Other members; the caller is added as owner.
    #[serde(default)]
    pub member_ids: Vec<UserId>,
}

/// `POST /api/v1/conversations/direct`: the one direct conversation with a user (created on first use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OpenDirectRequest {
    pub user_id: UserId,
}

/// `PATCH /api/v1/conversations/{id}`: any of the fields; `topic` and `archived` only for channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpdateConversationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Channels: the new topic; an empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Channels: archive (`true`, team or channel admins) or unarchive (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// `POST /api/v1/conversations/{id}/members`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AddMembersRequest {
    pub user_ids: Vec<UserId>,
}

/// `POST /api/v1/conversations/{id}/read`: everything up to `seq` has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    pub seq: i64,
}

/// The caller's read state in one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadState {
    pub conversation_id: ConversationId,
    pub read_seq: i64,
    pub unread_count: u32,
    pub mention_count: u32,
}
