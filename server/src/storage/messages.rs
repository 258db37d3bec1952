//! Messages with their replies, mentions, reactions and pins.

use super::StorageError;
use super::events::Committed;
use async_trait::async_trait;
use jeco_shared::{ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// Who a message mentions, as resolved when it was sent or edited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionSet {
    pub users: Vec<UserId>,
    pub channel: bool,
    pub here: bool,
}

/// One emoji's reactions, in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionRecord {
    pub emoji: String,
    pub users: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub sender_id: UserId,
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<MessageId>,
    pub reply_count: u32,
    pub created_at_ms: i64,
    pub edited_at_ms: Option<i64>,
    pub deleted_at_ms: Option<i64>,
    pub pinned: bool,
    pub mentions: MentionSet,
    pub reactions: Vec<ReactionRecord>,
    /// In display order. `default` so that message snapshots stored in events before media
    /// existed still read.
    #[serde(default)]
    pub attachments: Vec<super::media::AttachmentRecord>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<MessageId>,
    pub mentions: MentionSet,
    /// Completed uploads of the sender to attach, in order. The send fails with
    /// [`StorageError::Conflict`] unless each is the sender's and not yet attached.
    pub attachments: Vec<jeco_shared::AttachmentId>,
    /// Notifications to create with the message, in its transaction. The store skips the sender,
    /// non-members and members who muted the conversation.
    pub notify: Vec<super::notifications::MessageNotification>,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Stored now, with its `message_created` event.
    Created {
        message: MessageRecord,
        committed: Committed,
    },
    /// The sender had already used this `client_id`: the original message.
    Duplicate(MessageRecord),
}

/// What a send needs to know about its conversation, read in one round trip (see
/// [`MessageStore::send_context`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendContext {
    pub kind: jeco_shared::conversations::ConversationKind,
    /// An archived channel takes no new messages.
    pub archived: bool,
    /// Everyone in the conversation, the sender included.
    pub members: Vec<UserId>,
}

/// Where a history page is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAnchor {
    /// The newest messages.
    Latest,
    /// Messages with `seq` below this.
    Before(i64),
    /// Messages with `seq` above this.
    After(i64),
    /// About half before and half after this message, including it.
    Around(MessageId),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// Oldest first.
    pub items: Vec<MessageRecord>,
    pub more_before: bool,
    pub more_after: bool,
}

#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Stores a message and its event, or returns the original for a reused (sender, client_id).
    async fn send_message(&self, message: NewMessage) -> Result<SendOutcome, StorageError>;
    /// Stores several messages as [`MessageStore::send_message`] would, in order — so positions
    /// follow the batch order and a `client_id` repeated within the batch is stored once — and
    /// returns one outcome per message only once they are all durable. A backend should commit
    /// them together (group commit); one refused message must not refuse the others. The outer
    /// error means nothing of the batch was stored.
    ///
    /// The default stores them one transaction each, which is correct but not fast.
    async fn send_messages(
        &self,
        batch: Vec<NewMessage>,
    ) -> Result<Vec<Result<SendOutcome, StorageError>>, StorageError> {
        let mut results = Vec::with_capacity(batch.len());
        for m in batch {
            results.push(self.send_message(m).await);
        }
        Ok(results)
    }
    async fn message(&self, id: MessageId) -> Result<Option<MessageRecord>, StorageError>;
    /// A page of top-level and reply messages of a conversation in `seq` order.
    async fn history(
        &self,
        conversation: ConversationId,
        anchor: HistoryAnchor,
        limit: u32,
    ) -> Result<HistoryPage, StorageError>;
    /// Replies to `parent` with `seq > after`, oldest first.
    async fn replies(
        &self,
        parent: MessageId,
        after: i64,
        limit: u32,
    ) -> Result<HistoryPage, StorageError>;
    async fn edit_message(
        &self,
        id: MessageId,
        actor: UserId,
        body: String,
        mentions: MentionSet,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// Deletes the message's body and its attachments (their blobs are swept once orphaned).
    async fn delete_message(
        &self,
        id: MessageId,
        actor: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// Sets `user`'s `emoji` reaction present (`want: Some(true)`) or absent (`Some(false)`), or
    /// toggles it (`None`). Returns whether it is present afterwards, the message's reactions, and
    /// the event when something changed (setting what already is changes nothing).
    async fn set_reaction(
        &self,
        id: MessageId,
        user: UserId,
        emoji: String,
        want: Option<bool>,
        now_ms: i64,
    ) -> Result<(bool, Vec<ReactionRecord>, Option<Committed>), StorageError>;
    /// Pins or unpins; `None` when it already was in that state.
    async fn set_pinned(
        &self,
        id: MessageId,
        actor: UserId,
        pinned: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError>;
    /// Pinned messages of a conversation, most recently pinned first.
    async fn pins(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, StorageError>;
}
