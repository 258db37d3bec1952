//! Messages with their replies, mentions, reactions and pins.

use super::StorageError;
use super::events::Committed;
use super::notifications::MessageNotification;
use async_trait::async_trait;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::{ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

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
    /// A reply kept out of the channel's history (see `jeco_shared::messages::Message`).
    /// `default` so that snapshots stored in events before threads could stay apart still read.
    #[serde(default)]
    pub thread_only: bool,
    pub reply_count: u32,
    /// The most recent distinct repliers, newest first (at most
    /// [`jeco_shared::messages::THREAD_REPLIERS_MAX`]).
    #[serde(default)]
    pub last_repliers: Vec<UserId>,
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
    /// Keep the reply out of the channel's history (only with `reply_to`).
    pub thread_only: bool,
    pub mentions: MentionSet,
    /// Completed uploads of the sender to attach, in order. The send fails with
    /// [`StorageError::Conflict`] unless each is the sender's and not yet attached.
    pub attachments: Vec<jeco_shared::AttachmentId>,
    /// Who the message notifies, decided in its transaction. The store skips the sender,
    /// non-members and members who muted the conversation.
    pub notify: NotifyPlan,
    /// Whether the sender's message budget admits it, asked once the store knows the sender may
    /// send here.
    pub admission: Admission,
    pub now_ms: i64,
}

impl NewMessage {
    /// The message as the store reads it back right after storing it at `seq` with `id`, without
    /// reading it back: a new message has no replies, reactions or edits, its mentions are stored
    /// ordered and without repeats, and `thread_only` holds for replies only. Attachments are the
    /// caller's to read (their records come from the media tables).
    pub fn as_stored(&self, id: MessageId, seq: i64) -> MessageRecord {
        let mut mentioned = self.mentions.users.clone();
        mentioned.sort();
        mentioned.dedup();
        MessageRecord {
            id,
            conversation_id: self.conversation_id,
            seq,
            sender_id: self.sender_id,
            client_id: self.client_id.clone(),
            body: self.body.clone(),
            reply_to: self.reply_to,
            thread_only: self.thread_only && self.reply_to.is_some(),
            reply_count: 0,
            last_repliers: Vec::new(),
            created_at_ms: self.now_ms,
            edited_at_ms: None,
            deleted_at_ms: None,
            pinned: false,
            mentions: MentionSet {
                users: mentioned,
                channel: self.mentions.channel,
                here: self.mentions.here,
            },
            reactions: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

type CheckBudget = dyn Fn() -> Result<(), std::time::Duration> + Send + Sync;

struct AdmissionRule {
    /// Asked at most once per message, even when a batch is stored a second time (see
    /// `send_messages`), so a message never costs its sender twice.
    decided: OnceLock<Result<(), std::time::Duration>>,
    check: Box<CheckBudget>,
}

/// The sender's rate limit, asked inside the send's transaction in the order
/// [`crate::services::rules::sending::admit`] sets — after the membership and archive checks and
/// before the client-id lookup — so a send that is refused costs no budget, and a sender over
/// budget still learns nothing about a conversation it is not in. The budget itself is the
/// service's ([`crate::services`]); the store only asks.
#[derive(Clone, Default)]
pub struct Admission(Option<Arc<AdmissionRule>>);

impl Admission {
    /// No budget to ask (the caller checked it already, or there is none).
    pub fn always() -> Self {
        Self(None)
    }

    /// `check` answers `Err(wait)` when the budget is spent.
    pub fn by(check: impl Fn() -> Result<(), std::time::Duration> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(AdmissionRule {
            decided: OnceLock::new(),
            check: Box::new(check),
        })))
    }

    /// Whether the message is admitted; asks the budget the first time only.
    pub fn admit(&self) -> Result<(), std::time::Duration> {
        match &self.0 {
            None => Ok(()),
            Some(rule) => *rule.decided.get_or_init(|| (rule.check)()),
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Admission(budget)"
        } else {
            "Admission(always)"
        })
    }
}

type DecideNotifications =
    dyn Fn(ConversationKind, &[UserId]) -> Vec<MessageNotification> + Send + Sync;

/// Who a new message notifies. The rule is the service's ([`crate::services::notifications`]);
/// the facts it needs — the conversation's kind and members — are read by the store inside the
/// send's transaction, so the common send needs no read before it (see
/// [`crate::storage::group_commit`]).
#[derive(Clone, Default)]
pub struct NotifyPlan(Option<Arc<DecideNotifications>>);

impl NotifyPlan {
    /// Notifies nobody.
    pub fn none() -> Self {
        Self(None)
    }

    /// Exactly these (a plan the service made from facts it read before the send).
    pub fn fixed(notifications: Vec<MessageNotification>) -> Self {
        if notifications.is_empty() {
            return Self::none();
        }
        Self(Some(Arc::new(move |_, _| notifications.clone())))
    }

    /// Decided in the send's transaction from the conversation's kind and its members (the
    /// sender included).
    pub fn decide_in_transaction(
        rule: impl Fn(ConversationKind, &[UserId]) -> Vec<MessageNotification> + Send + Sync + 'static,
    ) -> Self {
        Self(Some(Arc::new(rule)))
    }

    /// The notifications, given the conversation as the send's transaction sees it.
    pub fn decide(&self, kind: ConversationKind, members: &[UserId]) -> Vec<MessageNotification> {
        self.0
            .as_ref()
            .map_or_else(Vec::new, |rule| rule(kind, members))
    }
}

impl std::fmt::Debug for NotifyPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "NotifyPlan(rule)"
        } else {
            "NotifyPlan(none)"
        })
    }
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
    /// Not stored, and nothing of it was written: checked inside the send's transaction, so no
    /// removal or archiving that commits before the message can be missed.
    Refused(SendRefusal),
}

/// Why a send was refused by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// The conversation does not exist or the sender is not a member of it (indistinguishable on
    /// purpose: non-members learn nothing about a conversation).
    NotMember,
    /// An archived channel takes no new messages.
    Archived,
    /// The sender's message budget is spent ([`Admission`]).
    RateLimited { retry_after: std::time::Duration },
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
    /// Stores a message and its event, or returns the original for a reused (sender, client_id),
    /// or refuses it ([`SendOutcome::Refused`]) when the sender is not a member of the conversation
    /// or it is an archived channel — checked in the same transaction, before the client-id lookup.
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
    /// A page of the channel's messages in `seq` order: top-level messages and the replies sent
    /// to the channel too, not the thread-only ones.
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
    /// The ids of every message `sender` wrote, deleted ones too, oldest first ("export my
    /// data"). Ids only, so a big account's list stays small (8 bytes a message) and the records
    /// are read in pages with [`MessageStore::messages_by_ids`]; a backend should answer it from
    /// an index it already keeps for sends (SQLite: the unique `(sender_id, client_id)` one)
    /// rather than add one that every send would pay for.
    async fn message_ids_by_sender(&self, sender: UserId) -> Result<Vec<MessageId>, StorageError>;
    /// These messages, complete as [`MessageStore::message`] returns them, in id order; ids that
    /// do not exist are skipped. At most a few hundred ids at a time.
    async fn messages_by_ids(
        &self,
        ids: Vec<MessageId>,
    ) -> Result<Vec<MessageRecord>, StorageError>;
    /// Pinned messages of a conversation, most recently pinned first.
    async fn pins(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, StorageError>;
    /// The roots of the threads `user` started or replied to, with at least one reply that is not
    /// deleted, in conversations `user` is a member of: newest reply first, with that reply's
    /// time in milliseconds.
    async fn threads_of(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(MessageRecord, i64)>, StorageError>;
}
