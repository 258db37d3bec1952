//! [`ConversationStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::conversations::*;
use crate::storage::events::Committed;
use crate::storage::messages::MessageRecord;
use crate::storage::notifications::AddedNotice;
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, UserId};

#[async_trait]
impl ConversationStore for PgStorage {
    async fn create_group(
        &self,
        _group: NewGroup,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        Err(super::not_yet("create_group"))
    }

    async fn open_direct(
        &self,
        _a: UserId,
        _b: UserId,
        _now_ms: i64,
    ) -> Result<(ConversationRecord, Option<Committed>), StorageError> {
        Err(super::not_yet("open_direct"))
    }

    async fn conversation(
        &self,
        _id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StorageError> {
        Err(super::not_yet("conversation"))
    }

    async fn member(
        &self,
        _id: ConversationId,
        _user: UserId,
    ) -> Result<Option<MemberRecord>, StorageError> {
        Err(super::not_yet("member"))
    }

    async fn members(&self, _id: ConversationId) -> Result<Vec<MemberRecord>, StorageError> {
        Err(super::not_yet("members"))
    }

    async fn rename_conversation(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _name: String,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("rename_conversation"))
    }

    async fn add_members(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _users: Vec<UserId>,
        _now_ms: i64,
        _notice: Option<AddedNotice>,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("add_members"))
    }

    async fn remove_member(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("remove_member"))
    }

    async fn conversations_of(
        &self,
        _user: UserId,
    ) -> Result<Vec<ConversationSummary>, StorageError> {
        Err(super::not_yet("conversations_of"))
    }

    async fn conversation_summary(
        &self,
        _id: ConversationId,
        _user: UserId,
    ) -> Result<Option<ConversationSummary>, StorageError> {
        Err(super::not_yet("conversation_summary"))
    }

    async fn mark_read(
        &self,
        _id: ConversationId,
        _user: UserId,
        _seq: i64,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("mark_read"))
    }

    async fn contacts_of(&self, _user: UserId) -> Result<Vec<UserId>, StorageError> {
        Err(super::not_yet("contacts_of"))
    }
}
