//! [`MessageStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::events::Committed;
use crate::storage::messages::*;
use crate::storage::notifications::MessageNotification;
use async_trait::async_trait;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::{ConversationId, MessageId, UserId};

#[async_trait]
impl MessageStore for PgStorage {
    async fn send_message(&self, _message: NewMessage) -> Result<SendOutcome, StorageError> {
        Err(super::not_yet("send_message"))
    }

    async fn message(&self, _id: MessageId) -> Result<Option<MessageRecord>, StorageError> {
        Err(super::not_yet("message"))
    }

    async fn history(
        &self,
        _conversation: ConversationId,
        _anchor: HistoryAnchor,
        _limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        Err(super::not_yet("history"))
    }

    async fn replies(
        &self,
        _parent: MessageId,
        _after: i64,
        _limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        Err(super::not_yet("replies"))
    }

    async fn edit_message(
        &self,
        _id: MessageId,
        _actor: UserId,
        _body: String,
        _mentions: MentionSet,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("edit_message"))
    }

    async fn delete_message(
        &self,
        _id: MessageId,
        _actor: UserId,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("delete_message"))
    }

    async fn set_reaction(
        &self,
        _id: MessageId,
        _user: UserId,
        _emoji: String,
        _want: Option<bool>,
        _now_ms: i64,
    ) -> Result<(bool, Vec<ReactionRecord>, Option<Committed>), StorageError> {
        Err(super::not_yet("set_reaction"))
    }

    async fn set_pinned(
        &self,
        _id: MessageId,
        _actor: UserId,
        _pinned: bool,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("set_pinned"))
    }

    async fn message_ids_by_sender(&self, _sender: UserId) -> Result<Vec<MessageId>, StorageError> {
        Err(super::not_yet("message_ids_by_sender"))
    }

    async fn messages_by_ids(
        &self,
        _ids: Vec<MessageId>,
    ) -> Result<Vec<MessageRecord>, StorageError> {
        Err(super::not_yet("messages_by_ids"))
    }

    async fn pins(
        &self,
        _conversation: ConversationId,
    ) -> Result<Vec<MessageRecord>, StorageError> {
        Err(super::not_yet("pins"))
    }

    async fn threads_of(
        &self,
        _user: UserId,
        _limit: u32,
    ) -> Result<Vec<(MessageRecord, i64)>, StorageError> {
        Err(super::not_yet("threads_of"))
    }
}
