//! [`NotificationStore`] on PostgreSQL, and [`insert_notifications`], which the message
//! transactions use to create notifications inside their own commit.
//!
//! Differences from SQLite, where `BEGIN IMMEDIATE` serialized every writer:
//! - a transaction that notifies several users locks their event heads (`user_event_heads`) in
//!   ascending user id order before appending to any of them, so two instances never deadlock;
//! - "mark read" is one conditional `UPDATE … RETURNING`, so two concurrent requests append one
//!   `notification_read` event between them;
//! - "mark all read" locks the user's event head first: a notification being created holds that
//!   lock until it commits, so every notification up to the `up_to` it reports is really marked.

use super::log::append_user_event;
use super::{PgStorage, pg};
use crate::services::rules::{self, notifying::Recipient};
use crate::storage::StorageError;
use crate::storage::events::{Committed, UserEventData};
use crate::storage::notifications::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, ConversationId, MessageId, NotificationId, TeamId, UserId};
use tokio_postgres::Row;

fn kind_text(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Welcome => "welcome",
        NotificationKind::DirectMessage => "direct_message",
        NotificationKind::Mention => "mention",
        NotificationKind::Reply => "reply",
        NotificationKind::ContactRequest => "contact_request",
        NotificationKind::ContactAccepted => "contact_accepted",
        NotificationKind::AddedToTeam => "added_to_team",
        NotificationKind::AddedToConversation => "added_to_conversation",
    }
}

fn kind_from(text: &str) -> Result<NotificationKind, StorageError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| StorageError::Backend(Box::new(e)))
}

const COLUMNS: &str =
    "id, user_id, kind, actor_id, conversation_id, message_id, contact_request_id,
    preview, created_at, read_at, team_id";

fn from_row(r: &Row) -> Result<NotificationRecord, StorageError> {
    Ok(NotificationRecord {
        id: NotificationId(r.get(0)),
        user_id: UserId(r.get(1)),
        kind: kind_from(r.get::<_, &str>(2))?,
        actor_id: r.get::<_, Option<i64>>(3).map(UserId),
        conversation_id: r.get::<_, Option<i64>>(4).map(ConversationId),
        message_id: r.get::<_, Option<i64>>(5).map(MessageId),
        contact_request_id: r.get::<_, Option<i64>>(6).map(ContactRequestId),
        preview: r.get(7),
        created_at_ms: r.get(8),
        read_at_ms: r.get(9),
        team_id: r.get::<_, Option<i64>>(10).map(TeamId),
    })
}

/// Inserts notifications and appends a `notification_created` event to each recipient's log.
/// Must run inside the write transaction of the change they are about; the caller has already
/// decided who is notified.
pub(super) async fn insert_notifications(
    tx: &impl GenericClient,
    notifications: Vec<NotificationRecord>,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    if notifications.is_empty() {
        return Ok(());
    }
    super::log::lock_user_heads(tx, notifications.iter().map(|n| n.user_id)).await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO notifications (user_id, kind, actor_id, conversation_id, message_id,
                 contact_request_id, preview, created_at, team_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             RETURNING id",
        )
        .await
        .map_err(pg)?;
    for mut n in notifications {
        let id: i64 = tx
            .query_one(
                &insert,
                &[
                    &n.user_id.0,
                    &kind_text(n.kind),
                    &n.actor_id.map(|u| u.0),
                    &n.conversation_id.map(|c| c.0),
                    &n.message_id.map(|m| m.0),
                    &n.contact_request_id.map(|c| c.0),
                    &n.preview,
                    &n.created_at_ms,
                    &n.team_id.map(|t| t.0),
                ],
            )
            .await
            .map_err(pg)?
            .get(0);
        n.id = NotificationId(id);
        let at = n.created_at_ms;
        let user = n.user_id;
        committed.user_events.push(
            append_user_event(
                tx,
                user,
                at,
                UserEventData::NotificationCreated { notification: n },
            )
            .await?,
        );
    }
    Ok(())
}

/// What [`rules::notifying`] needs to know about each of `candidates` in `conversation`: whether
/// they are members, whether they muted it and — for an edit of `message` — whether they have a
/// notification about it already. One statement for all candidates, in the caller's transaction.
pub(super) async fn notify_recipients(
    tx: &impl GenericClient,
    conversation: ConversationId,
    candidates: &[UserId],
    message: Option<MessageId>,
) -> Result<Vec<Recipient>, StorageError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = candidates.iter().map(|u| u.0).collect();
    let stmt = tx
        .prepare_cached(
            "SELECT u.id,
                    EXISTS (SELECT 1 FROM conversation_members
                            WHERE conversation_id = $1 AND user_id = u.id),
                    EXISTS (SELECT 1 FROM conversation_mutes
                            WHERE conversation_id = $1 AND user_id = u.id),
                    $3::BIGINT IS NOT NULL AND EXISTS (SELECT 1 FROM notifications
                            WHERE message_id = $3 AND user_id = u.id)
             FROM unnest($2::BIGINT[]) AS u (id)",
        )
        .await
        .map_err(pg)?;
    let rows = tx
        .query(&stmt, &[&conversation.0, &ids, &message.map(|m| m.0)])
        .await
        .map_err(pg)?;
    let facts: std::collections::HashMap<i64, (bool, bool, bool)> = rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    Ok(candidates
        .iter()
        .map(|&user| {
            let (member, muted, notified_before) = facts.get(&user.0).copied().unwrap_or_default();
            Recipient {
                user,
                member,
                muted,
                notified_before,
            }
        })
        .collect())
}

/// Rewrites the quote of every notification of `message` to its text `body` now (an edit, or the
/// empty text of a delete), in the caller's transaction.
pub(super) async fn requote(
    tx: &impl GenericClient,
    message: MessageId,
    body: &str,
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached("UPDATE notifications SET preview = $2 WHERE message_id = $1")
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&message.0, &rules::notifying::preview(body)])
        .await
        .map_err(pg)?;
    Ok(())
}

#[async_trait]
impl NotificationStore for PgStorage {
    async fn create_notifications(
        &self,
        notifications: Vec<NewNotification>,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let mut committed = Committed::default();
        let records = notifications
            .into_iter()
            .map(|n| NotificationRecord {
                id: NotificationId(0),
                user_id: n.user_id,
                kind: n.kind,
                actor_id: n.actor_id,
                conversation_id: None,
                message_id: None,
                contact_request_id: n.contact_request_id,
                team_id: None,
                preview: n.preview,
                created_at_ms: n.now_ms,
                read_at_ms: None,
            })
            .collect();
        insert_notifications(&tx, records, &mut committed).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        before: Option<NotificationId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM notifications
                 WHERE user_id = $1 AND id < $2 AND (NOT $3 OR read_at IS NULL)
                 ORDER BY id DESC LIMIT $4"
            ))
            .await
            .map_err(pg)?;
        c.query(
            &stmt,
            &[
                &user.0,
                &before.map_or(i64::MAX, |b| b.0),
                &unread_only,
                &i64::from(limit),
            ],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn unread_notifications(&self, user: UserId) -> Result<u32, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
            )
            .await
            .map_err(pg)?;
        let n: i64 = c.query_one(&stmt, &[&user.0]).await.map_err(pg)?.get(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // One statement decides, so of two concurrent requests exactly one marks it.
        let marked = tx
            .query_opt(
                "UPDATE notifications SET read_at = $1
                 WHERE id = $2 AND user_id = $3 AND read_at IS NULL RETURNING id",
                &[&now_ms, &id.0, &user.0],
            )
            .await
            .map_err(pg)?
            .is_some();
        if !marked {
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM notifications WHERE id = $1 AND user_id = $2",
                    &[&id.0, &user.0],
                )
                .await
                .map_err(pg)?
                .is_some();
            return if exists {
                Ok(None)
            } else {
                Err(StorageError::NotFound)
            };
        }
        let event = append_user_event(
            &tx,
            user,
            now_ms,
            UserEventData::NotificationRead { notification: id },
        )
        .await?;
        super::commit(tx).await?;
        Ok(Some(Committed {
            user_events: vec![event],
            ..Committed::default()
        }))
    }

    async fn mark_all_notifications_read(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The user's event head first: a notification being created holds it until it commits,
        // and none can be created for this user until this commits (see the module doc).
        tx.execute(
            "SELECT 1 FROM user_event_heads WHERE user_id = $1 FOR UPDATE",
            &[&user.0],
        )
        .await
        .map_err(pg)?;
        let up_to: Option<i64> = tx
            .query_one(
                "SELECT MAX(id) FROM notifications WHERE user_id = $1",
                &[&user.0],
            )
            .await
            .map_err(pg)?
            .get(0);
        let n = tx
            .execute(
                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
                &[&now_ms, &user.0],
            )
            .await
            .map_err(pg)?;
        let Some(up_to) = up_to.filter(|_| n > 0) else {
            super::commit(tx).await?;
            return Ok(None);
        };
        let event = append_user_event(
            &tx,
            user,
            now_ms,
            UserEventData::NotificationsReadAll {
                up_to: NotificationId(up_to),
            },
        )
        .await?;
        super::commit(tx).await?;
        Ok(Some(Committed {
            user_events: vec![event],
            ..Committed::default()
        }))
    }

    async fn set_muted(
        &self,
        conversation: ConversationId,
        user: UserId,
        muted: bool,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        if muted {
            c.execute(
                "INSERT INTO conversation_mutes (conversation_id, user_id, muted_at)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&conversation.0, &user.0, &now_ms],
            )
            .await
        } else {
            c.execute(
                "DELETE FROM conversation_mutes WHERE conversation_id = $1 AND user_id = $2",
                &[&conversation.0, &user.0],
            )
            .await
        }
        .map_err(pg)?;
        Ok(())
    }

    async fn muted_conversations(&self, user: UserId) -> Result<Vec<ConversationId>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT conversation_id FROM conversation_mutes WHERE user_id = $1")
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| ConversationId(r.get(0)))
            .collect())
    }
}
