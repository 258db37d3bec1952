//! [`NotificationStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::events::Committed;
use crate::storage::notifications::*;
use async_trait::async_trait;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, ConversationId, MessageId, NotificationId, TeamId, UserId};

#[async_trait]
impl NotificationStore for PgStorage {
    async fn create_notifications(
        &self,
        _notifications: Vec<NewNotification>,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("create_notifications"))
    }

    async fn notifications(
        &self,
        _user: UserId,
        _unread_only: bool,
        _before: Option<NotificationId>,
        _limit: u32,
    ) -> Result<Vec<NotificationRecord>, StorageError> {
        Err(super::not_yet("notifications"))
    }

    async fn unread_notifications(&self, _user: UserId) -> Result<u32, StorageError> {
        Err(super::not_yet("unread_notifications"))
    }

    async fn mark_notification_read(
        &self,
        _user: UserId,
        _id: NotificationId,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("mark_notification_read"))
    }

    async fn mark_all_notifications_read(
        &self,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("mark_all_notifications_read"))
    }

    async fn set_muted(
        &self,
        _conversation: ConversationId,
        _user: UserId,
        _muted: bool,
        _now_ms: i64,
    ) -> Result<(), StorageError> {
        Err(super::not_yet("set_muted"))
    }

    async fn muted_conversations(
        &self,
        _user: UserId,
    ) -> Result<Vec<ConversationId>, StorageError> {
        Err(super::not_yet("muted_conversations"))
    }
}
