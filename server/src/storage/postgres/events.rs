//! [`EventStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::contacts::ContactRequestRecord;
use crate::storage::events::*;
use crate::storage::messages::{MentionSet, MessageRecord};
use crate::storage::notifications::NotificationRecord;
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, MessageId, NotificationId, TeamId, UserId};

#[async_trait]
impl EventStore for PgStorage {
    async fn events_after(
        &self,
        _conversation: ConversationId,
        _after: i64,
        _limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError> {
        Err(super::not_yet("events_after"))
    }

    async fn user_events_after(
        &self,
        _user: UserId,
        _after: i64,
        _limit: u32,
    ) -> Result<Vec<UserEventRecord>, StorageError> {
        Err(super::not_yet("user_events_after"))
    }

    async fn user_event_head(&self, _user: UserId) -> Result<i64, StorageError> {
        Err(super::not_yet("user_event_head"))
    }

    async fn membership_heads(&self, _user: UserId) -> Result<Vec<MembershipHead>, StorageError> {
        Err(super::not_yet("membership_heads"))
    }
}
