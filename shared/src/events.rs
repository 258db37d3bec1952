//! Events: every stored change, with its position.
//!
//! Each conversation has a gap-free event log: the n-th change in a conversation (a message, an
//! edit, a reaction, a pin, a read receipt, a membership or conversation change) is the event with
//! `seq` n. Each user has a second log for things addressed to them alone (being added to or
//! removed from a conversation), with its own gap-free `seq`. A client remembers the last `seq` it
//! applied per conversation and for itself, and on reconnect sends those positions
//! ([`Resume`]); the server replays exactly the events after them, in order.
//!
//! Typing and presence are not events: they are never stored and carry no position.

use crate::contacts::ContactRequest;
use crate::conversations::{ConversationKind, MemberRole};
use crate::ids::{ConversationId, MessageId, NotificationId, TeamId, UserId};
use crate::messages::{Mentions, Message, ThreadTally};
use crate::notifications::Notification;
use serde::{Deserialize, Serialize};

/// A change in a conversation, at position `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationEvent {
    pub conversation_id: ConversationId,
    pub seq: i64,
    /// RFC 3339 UTC timestamp of the change.
    pub at: String,
    /// Who made the change.
    pub actor_id: UserId,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What changed, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// The first event of every conversation.
    ConversationCreated {
        conversation_kind: ConversationKind,
        name: Option<String>,
    },
    ConversationRenamed {
        name: String,
    },
    MemberAdded {
        user_id: UserId,
        role: MemberRole,
    },
    /// Removed by someone else, or left (`user_id` is the actor).
    MemberRemoved {
        user_id: UserId,
    },
    /// A member's role changed; today when the owner leaves and the longest-standing admin (else
    /// member) becomes the owner, so a conversation is never left without one.
    MemberRoleChanged {
        user_id: UserId,
        role: MemberRole,
    },
    MessageCreated {
        message: Message,
    },
    MessageEdited {
        message_id: MessageId,
        text: String,
        edited_at: String,
        mentions: Mentions,
    },
    MessageDeleted {
        message_id: MessageId,
        /// A deleted reply: its root's tally after the delete (absent for other messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        thread: Option<ThreadTally>,
    },
    ReactionAdded {
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    ReactionRemoved {
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    MessagePinned {
        message_id: MessageId,
    },
    MessageUnpinned {
        message_id: MessageId,
    },
    /// A member has read up to `seq` (a read receipt).
    ReadReceipt {
        user_id: UserId,
        read_seq: i64,
    },
    /// A channel's topic was set (`null`: cleared).
    TopicChanged {
        topic: Option<String>,
    },
    /// A channel was archived (readable, no new messages) or unarchived.
    ArchivedChanged {
        archived: bool,
    },
}

/// A change addressed to one user, at position `seq` in that user's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserEvent {
    pub seq: i64,
    pub at: String,
    #[serde(flatten)]
    pub body: UserEventBody,
}

/// What happened to the user, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserEventBody {
    /// The user became a member; its events start at `from_seq` (fetch it with
    /// `GET /conversations/{id}`).
    ConversationAdded {
        conversation_id: ConversationId,
        from_seq: i64,
    },
    /// The user left or was removed; no more events of it arrive.
    ConversationRemoved { conversation_id: ConversationId },
    /// The user joined a team (created it, was added, or redeemed an invitation); fetch it with
    /// `GET /teams/{id}`. Its channels the user is in arrive as `conversation_added`.
    TeamAdded { team_id: TeamId, role: MemberRole },
    /// The user left or was removed from a team, or it was deleted; the `conversation_removed`
    /// events for its channels come with it.
    TeamRemoved { team_id: TeamId },
    /// Something about a team the user is in changed (name, members, roles); refetch it.
    TeamChanged { team_id: TeamId },
    /// A new notification in the user's inbox.
    NotificationCreated { notification: Notification },
    /// A contact request to or from the user was sent, accepted, declined or cancelled.
    ContactRequestChanged { request: ContactRequest },
    /// The user and `user_id` are no longer contacts (either removed the other).
    ContactRemoved { user_id: UserId },
    /// One notification was marked read (on any of the user's devices).
    NotificationRead { notification_id: NotificationId },
    /// Every notification up to `up_to` was marked read.
    NotificationsReadAll { up_to: NotificationId },
}

/// Online status, counted across all of a user's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// At least one connection is active.
    Online,
    /// Connected, but every connection said it is away.
    Away,
    /// No live connection.
    Offline,
}

/// A client's last applied position in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Position {
    pub conversation_id: ConversationId,
    pub seq: i64,
}

/// The positions a reconnecting client has reached: sent in the hello frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// Conversations the client has state for. Conversations it does not list are not replayed.
    #[serde(default)]
    pub conversations: Vec<Position>,
    /// Last applied position in the user's own log.
    #[serde(default)]
    pub user_seq: i64,
}
