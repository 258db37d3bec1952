//! Conversations, their members and read positions.

use super::StorageError;
use super::events::Committed;
use super::messages::MessageRecord;
use super::notifications::AddedNotice;
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub created_by: UserId,
    pub created_at_ms: i64,
    pub last_seq: i64,
    pub last_activity_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRecord {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub role: MemberRole,
    pub joined_at_ms: i64,
    pub joined_seq: i64,
    pub read_seq: i64,
}

/// A conversation as one member's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    pub conversation: ConversationRecord,
    pub me: MemberRecord,
    pub members: Vec<MemberRecord>,
    pub last_message: Option<MessageRecord>,
    pub unread: u32,
    pub mentions: u32,
}

/// A group room to create.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: String,
    pub owner: UserId,
    /// Other members (without the owner, no duplicates).
    pub members: Vec<UserId>,
    pub now_ms: i64,
    /// With a preview, the other members are notified (`added_to_conversation`) that the owner
    /// added them, in the same transaction.
    pub added_preview: Option<String>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    /// Creates a group with its `conversation_created` and `member_added` events and a
    /// `conversation_added` user event for every member.
    async fn create_group(
        &self,
        group: NewGroup,
    ) -> Result<(ConversationRecord, Committed), StorageError>;
    /// The one direct conversation of `a` and `b`, created (with its events) if missing; the
    /// `Committed` is `None` when it already existed.
    async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        now_ms: i64,
    ) -> Result<(ConversationRecord, Option<Committed>), StorageError>;
    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StorageError>;
    async fn member(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<MemberRecord>, StorageError>;
    async fn members(&self, id: ConversationId) -> Result<Vec<MemberRecord>, StorageError>;
    /// Renames a group or channel. [`StorageError::Conflict`] when the conversation is a channel
    /// and another channel of its team has the name, ignoring case (checked in the same transaction).
    async fn rename_conversation(
        &self,
        id: ConversationId,
        actor: UserId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// Adds the users who are not members yet, as plain members; with `notice`, each one added
    /// (other than the notice's actor) gets that notification in the same transaction.
    async fn add_members(
        &self,
        id: ConversationId,
        actor: UserId,
        users: Vec<UserId>,
        now_ms: i64,
        notice: Option<AddedNotice>,
    ) -> Result<Committed, StorageError>;
    /// Removes `user` (leaving when `actor == user`); [`StorageError::NotFound`] if not a member.
    async fn remove_member(
        &self,
        id: ConversationId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// The conversations of `user`, most recent activity first.
    async fn conversations_of(
        &self,
        user: UserId,
    ) -> Result<Vec<ConversationSummary>, StorageError>;
    /// One conversation as `user` sees it, `None` when `user` is not a member.
    async fn conversation_summary(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<ConversationSummary>, StorageError>;
    /// Moves `user`'s read position forward to `seq` (clamped to the conversation's head) with a
    /// read-receipt event. `None` when it would not move forward.
    async fn mark_read(
        &self,
        id: ConversationId,
        user: UserId,
        seq: i64,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError>;
    /// Everyone who shares a conversation with `user` or is their contact (for presence), without
    /// `user`.
    async fn contacts_of(&self, user: UserId) -> Result<Vec<UserId>, StorageError>;
}
