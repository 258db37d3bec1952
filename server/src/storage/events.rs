//! The event logs: one per conversation, one per user.
//!
//! Every change to a conversation is stored together with an [`EventRecord`] in the same
//! transaction, and that transaction assigns the event the conversation's next `seq` (on SQLite,
//! `BEGIN IMMEDIATE` serializes writers, so positions are gap-free and become visible in order; on
//! PostgreSQL a row lock on the conversation does the same). Changes addressed to one user (being
//! added to or removed from a conversation) go to that user's log the same way.
//!
//! The stored form is [`EventData`], this layer's own serde enum: backend-neutral, versioned by
//! migrations, and rich enough (it snapshots a created message) that the services can turn a stored
//! event into its wire form without further queries — the same rendering for live fan-out and for
//! replay on resume.

use super::StorageError;
use super::contacts::ContactRequestRecord;
use super::messages::{MentionSet, MessageRecord};
use super::notifications::NotificationRecord;
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, MessageId, NotificationId, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// A thread root's reply count and repliers (each once, newest first) as they stood right after
/// a change to its replies: an event carries the values of its own moment, so replay shows what
/// live fan-out showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootTally {
    pub root: MessageId,
    pub replies: u32,
    pub repliers: Vec<UserId>,
}

impl RootTally {
    /// The tally of `root` as read from the store.
    pub fn of(root: &MessageRecord) -> Self {
        Self {
            root: root.id,
            replies: root.reply_count,
            repliers: root.last_repliers.clone(),
        }
    }
}

/// What changed in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum EventData {
    ConversationCreated {
        kind: ConversationKind,
        name: Option<String>,
    },
    ConversationRenamed {
        name: String,
    },
    MemberAdded {
        user: UserId,
        role: MemberRole,
    },
    MemberRemoved {
        user: UserId,
    },
    MemberRoleChanged {
        user: UserId,
        role: MemberRole,
    },
    MessageCreated {
        message: MessageRecord,
    },
    MessageEdited {
        message: MessageId,
        body: String,
        edited_at_ms: i64,
        mentions: MentionSet,
    },
    MessageDeleted {
        message: MessageId,
        /// A deleted reply: its root's tally right after the delete (events stored before this
        /// field existed have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<RootTally>,
    },
    ReactionAdded {
        message: MessageId,
        user: UserId,
        emoji: String,
    },
    ReactionRemoved {
        message: MessageId,
        user: UserId,
        emoji: String,
    },
    Pinned {
        message: MessageId,
    },
    Unpinned {
        message: MessageId,
    },
    Read {
        user: UserId,
        seq: i64,
    },
    TopicChanged {
        topic: Option<String>,
    },
    ArchivedChanged {
        archived: bool,
    },
}

/// One event of a conversation's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub actor: UserId,
    pub at_ms: i64,
    pub data: EventData,
}

/// What happened to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum UserEventData {
    ConversationAdded {
        conversation: ConversationId,
        from_seq: i64,
    },
    ConversationRemoved {
        conversation: ConversationId,
    },
    TeamAdded {
        team: TeamId,
        role: MemberRole,
    },
    TeamRemoved {
        team: TeamId,
    },
    TeamChanged {
        team: TeamId,
    },
    NotificationCreated {
        notification: NotificationRecord,
    },
    ContactRequestChanged {
        request: ContactRequestRecord,
    },
    ContactRemoved {
        user: UserId,
    },
    NotificationRead {
        notification: NotificationId,
    },
    NotificationsReadAll {
        up_to: NotificationId,
    },
}

/// One event of a user's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEventRecord {
    pub user_id: UserId,
    pub seq: i64,
    pub at_ms: i64,
    pub data: UserEventData,
}

/// What a committed change produced, for the services to publish after the commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// New events of one conversation, in `seq` order.
    pub events: Vec<EventRecord>,
    /// The conversation's members after the change: who receives `events`.
    pub recipients: Vec<UserId>,
    /// New events in users' own logs.
    pub user_events: Vec<UserEventRecord>,
}

/// A user's membership as the gateway needs it to follow positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipHead {
    pub conversation_id: ConversationId,
    /// The conversation's newest event.
    pub last_seq: i64,
    /// The event that made the user a member.
    pub joined_seq: i64,
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Events of `conversation` with `seq > after`, oldest first, at most `limit`.
    async fn events_after(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError>;
    /// Events of `user`'s own log with `seq > after`, oldest first, at most `limit`.
    async fn user_events_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<UserEventRecord>, StorageError>;
    /// The newest position of `user`'s own log (0 when empty).
    async fn user_event_head(&self, user: UserId) -> Result<i64, StorageError>;
    /// Every conversation `user` is a member of, with its head and the user's joining position.
    async fn membership_heads(&self, user: UserId) -> Result<Vec<MembershipHead>, StorageError>;
}
