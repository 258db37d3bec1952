//! Notifications: a persisted inbox per user, and per-conversation mutes.
//!
//! A notification is created together with a `notification_created` event in its user's log, in the
//! same transaction, so a client that resumes from its user `seq` gets exactly the ones it missed.
//! Message notifications are created inside the transaction that stores the message (see
//! [`super::NewMessage::notify`]); the store reads, in that transaction, whether each recipient is
//! still a member and muted the conversation, and keeps the ones
//! [`crate::services::rules::notifying`] says it reaches (never the author), so that check is
//! atomic with the send. The same rules decide an edit's new mentions and what a notification
//! quotes; the backend rewrites the quotes when a message is edited or deleted.

use super::StorageError;
use super::events::Committed;
use async_trait::async_trait;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, ConversationId, MessageId, NotificationId, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// A stored notification (also the snapshot carried by its user event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub actor_id: Option<UserId>,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub contact_request_id: Option<ContactRequestId>,
    /// The team of an `added_to_team` notification (absent in events stored before it existed).
    #[serde(default)]
    pub team_id: Option<TeamId>,
    pub preview: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

/// A notification to create that is not about a message (welcome, contacts).
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub actor_id: Option<UserId>,
    pub contact_request_id: Option<ContactRequestId>,
    pub preview: String,
    pub now_ms: i64,
}

/// Where someone was added to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddedTo {
    Team(TeamId),
    Conversation(ConversationId),
}

/// The notification for being added by someone else (`added_to_team` / `added_to_conversation`),
/// created by the store in the transaction that adds the member, for every added user other than
/// `actor`.
#[derive(Debug, Clone)]
pub struct AddedNotice {
    pub actor: UserId,
    pub target: AddedTo,
    pub preview: String,
}

/// Who a new message notifies and why (one entry per user, decided by the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageNotification {
    pub user_id: UserId,
    pub kind: NotificationKind,
}

#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Creates notifications with their user events, in one transaction.
    async fn create_notifications(
        &self,
        notifications: Vec<NewNotification>,
    ) -> Result<Committed, StorageError>;
    /// `user`'s notifications with `id < before`, newest first, at most `limit`.
    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        before: Option<NotificationId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StorageError>;
    async fn unread_notifications(&self, user: UserId) -> Result<u32, StorageError>;
    /// Marks one of `user`'s notifications read, with a `notification_read` user event;
    /// [`StorageError::NotFound`] when it is not theirs, `None` when it already was read.
    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError>;
    /// Marks all of `user`'s notifications read, with a `notifications_read_all` user event;
    /// `None` when none was unread.
    async fn mark_all_notifications_read(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError>;
    async fn set_muted(
        &self,
        conversation: ConversationId,
        user: UserId,
        muted: bool,
        now_ms: i64,
    ) -> Result<(), StorageError>;
    /// The conversations `user` muted.
    async fn muted_conversations(&self, user: UserId) -> Result<Vec<ConversationId>, StorageError>;
}
