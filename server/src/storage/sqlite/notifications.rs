//! [`NotificationStore`] on SQLite, and [`insert_notifications`], which the message and contact
//! transactions use to create notifications inside their own commit.

use super::events::append_user_event;
use super::{SqliteStorage, backend, write};
use crate::services::rules::{self, notifying::Recipient};
use crate::storage::{
    AddedNotice, AddedTo, Committed, NewNotification, NotificationRecord, NotificationStore,
    StorageError, UserEventData,
};
use async_trait::async_trait;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, ConversationId, MessageId, NotificationId, TeamId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

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

fn kind_from(text: &str) -> rusqlite::Result<NotificationKind> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const COLUMNS: &str =
    "id, user_id, kind, actor_id, conversation_id, message_id, contact_request_id,
    preview, created_at, read_at, team_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<NotificationRecord> {
    Ok(NotificationRecord {
        id: NotificationId(r.get(0)?),
        user_id: UserId(r.get(1)?),
        kind: kind_from(&r.get::<_, String>(2)?)?,
        actor_id: r.get::<_, Option<i64>>(3)?.map(UserId),
        conversation_id: r.get::<_, Option<i64>>(4)?.map(ConversationId),
        message_id: r.get::<_, Option<i64>>(5)?.map(MessageId),
        contact_request_id: r.get::<_, Option<i64>>(6)?.map(ContactRequestId),
        preview: r.get(7)?,
        created_at_ms: r.get(8)?,
        read_at_ms: r.get(9)?,
        team_id: r.get::<_, Option<i64>>(10)?.map(TeamId),
    })
}

/// Inserts notifications (one prepared statement, reused) and appends a `notification_created`
/// event to each recipient's log. Must run inside the write transaction of the change they are
/// about; the caller has already decided who is notified.
pub(super) fn insert_notifications(
    tx: &Connection,
    notifications: Vec<NotificationRecord>,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO notifications (user_id, kind, actor_id, conversation_id, message_id,
                 contact_request_id, preview, created_at, team_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(backend)?;
    for mut n in notifications {
        insert
            .execute(params![
                n.user_id.0,
                kind_text(n.kind),
                n.actor_id.map(|u| u.0),
                n.conversation_id.map(|c| c.0),
                n.message_id.map(|m| m.0),
                n.contact_request_id.map(|c| c.0),
                n.preview,
                n.created_at_ms,
                n.team_id.map(|t| t.0)
            ])
            .map_err(backend)?;
        n.id = NotificationId(tx.last_insert_rowid());
        let at = n.created_at_ms;
        let user = n.user_id;
        committed.user_events.push(append_user_event(
            tx,
            user,
            at,
            UserEventData::NotificationCreated { notification: n },
        )?);
    }
    Ok(())
}

/// Notifies `user` that `actor` added them to a team or a conversation, inside the transaction that
/// adds them; nothing when they added themselves.
pub(super) fn insert_added_notification(
    tx: &Connection,
    notice: &AddedNotice,
    user: UserId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    if user == notice.actor {
        return Ok(());
    }
    let (kind, team_id, conversation_id) = match notice.target {
        AddedTo::Team(t) => (NotificationKind::AddedToTeam, Some(t), None),
        AddedTo::Conversation(c) => (NotificationKind::AddedToConversation, None, Some(c)),
    };
    insert_notifications(
        tx,
        vec![NotificationRecord {
            id: NotificationId(0),
            user_id: user,
            kind,
            actor_id: Some(notice.actor),
            conversation_id,
            message_id: None,
            contact_request_id: None,
            team_id,
            preview: notice.preview.clone(),
            created_at_ms: now_ms,
            read_at_ms: None,
        }],
        committed,
    )
}

/// What [`rules::notifying`] needs to know about each of `candidates` in `conversation`: whether
/// they are members, whether they muted it and — for an edit of `message` — whether they have a
/// notification about it already. One cached statement per candidate, in the caller's transaction.
pub(super) fn recipients(
    tx: &Connection,
    conversation: ConversationId,
    candidates: &[UserId],
    message: Option<MessageId>,
) -> Result<Vec<Recipient>, StorageError> {
    // Two statements, so that a new message (the send path) reads only what it needs.
    const FACTS: &str = "SELECT EXISTS (SELECT 1 FROM conversation_members
                                        WHERE conversation_id = ?1 AND user_id = ?2),
                                EXISTS (SELECT 1 FROM conversation_mutes
                                        WHERE conversation_id = ?1 AND user_id = ?2)";
    const FACTS_AND_HISTORY: &str = "SELECT EXISTS (SELECT 1 FROM conversation_members
                                                    WHERE conversation_id = ?1 AND user_id = ?2),
                                            EXISTS (SELECT 1 FROM conversation_mutes
                                                    WHERE conversation_id = ?1 AND user_id = ?2),
                                            EXISTS (SELECT 1 FROM notifications
                                                    WHERE message_id = ?3 AND user_id = ?2)";
    let mut check = tx
        .prepare_cached(if message.is_some() {
            FACTS_AND_HISTORY
        } else {
            FACTS
        })
        .map_err(backend)?;
    let mut out = Vec::with_capacity(candidates.len());
    for &user in candidates {
        let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(bool, bool, bool)> {
            Ok((r.get(0)?, r.get(1)?, message.is_some() && r.get(2)?))
        };
        let (member, muted, notified_before) = match message {
            Some(m) => check.query_row(params![conversation.0, user.0, m.0], read),
            None => check.query_row(params![conversation.0, user.0], read),
        }
        .map_err(backend)?;
        out.push(Recipient {
            user,
            member,
            muted,
            notified_before,
        });
    }
    Ok(out)
}

/// Rewrites the quote of every notification of `message` to its text `body` now (an edit, or the
/// empty text of a delete), in the caller's transaction.
pub(super) fn requote(tx: &Connection, message: MessageId, body: &str) -> Result<(), StorageError> {
    tx.prepare_cached("UPDATE notifications SET preview = ?2 WHERE message_id = ?1")
        .map_err(backend)?
        .execute(params![message.0, rules::notifying::preview(body)])
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl NotificationStore for SqliteStorage {
    async fn create_notifications(
        &self,
        notifications: Vec<NewNotification>,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
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
                    insert_notifications(tx, records, &mut committed)?;
                    Ok(committed)
                })
            })
            .await
    }

    async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        before: Option<NotificationId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM notifications
                         WHERE user_id = ?1 AND id < ?2 AND (?3 = 0 OR read_at IS NULL)
                         ORDER BY id DESC LIMIT ?4"
                    ))
                    .map_err(backend)?;
                stmt.query_map(
                    params![user.0, before.map_or(i64::MAX, |b| b.0), unread_only, limit],
                    from_row,
                )
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
            })
            .await
    }

    async fn unread_notifications(&self, user: UserId) -> Result<u32, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT COUNT(*) FROM notifications WHERE user_id = ?1 AND read_at IS NULL",
                    [user.0],
                    |r| r.get(0),
                )
                .map_err(backend)
            })
            .await
    }

    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let found: Option<Option<i64>> = tx
                        .query_row(
                            "SELECT read_at FROM notifications WHERE id = ?1 AND user_id = ?2",
                            params![id.0, user.0],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?;
                    match found {
                        None => Err(StorageError::NotFound),
                        Some(Some(_)) => Ok(None),
                        Some(None) => {
                            tx.execute(
                                "UPDATE notifications SET read_at = ?1 WHERE id = ?2",
                                params![now_ms, id.0],
                            )
                            .map_err(backend)?;
                            let event = append_user_event(
                                tx,
                                user,
                                now_ms,
                                UserEventData::NotificationRead { notification: id },
                            )?;
                            Ok(Some(Committed {
                                user_events: vec![event],
                                ..Committed::default()
                            }))
                        }
                    }
                })
            })
            .await
    }

    async fn mark_all_notifications_read(
        &self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    // The newest notification so far: everything up to it is read now. Writers are
                    // serialized, so none newer can appear before this commits.
                    let up_to: Option<i64> = tx
                        .query_row(
                            "SELECT MAX(id) FROM notifications WHERE user_id = ?1",
                            [user.0],
                            |r| r.get(0),
                        )
                        .map_err(backend)?;
                    let n = tx
                        .execute(
                            "UPDATE notifications SET read_at = ?1
                             WHERE user_id = ?2 AND read_at IS NULL",
                            params![now_ms, user.0],
                        )
                        .map_err(backend)?;
                    let Some(up_to) = up_to.filter(|_| n > 0) else {
                        return Ok(None);
                    };
                    let event = append_user_event(
                        tx,
                        user,
                        now_ms,
                        UserEventData::NotificationsReadAll {
                            up_to: NotificationId(up_to),
                        },
                    )?;
                    Ok(Some(Committed {
                        user_events: vec![event],
                        ..Committed::default()
                    }))
                })
            })
            .await
    }

    async fn set_muted(
        &self,
        conversation: ConversationId,
        user: UserId,
        muted: bool,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.pool
            .run(move |c| {
                if muted {
                    c.execute(
                        "INSERT INTO conversation_mutes (conversation_id, user_id, muted_at)
                         VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                        params![conversation.0, user.0, now_ms],
                    )
                } else {
                    c.execute(
                        "DELETE FROM conversation_mutes WHERE conversation_id = ?1 AND user_id = ?2",
                        params![conversation.0, user.0],
                    )
                }
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn muted_conversations(&self, user: UserId) -> Result<Vec<ConversationId>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT conversation_id FROM conversation_mutes WHERE user_id = ?1",
                    )
                    .map_err(backend)?;
                stmt.query_map([user.0], |r| Ok(ConversationId(r.get(0)?)))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }
}
