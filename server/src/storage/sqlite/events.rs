//! [`EventStore`] on SQLite, and the helpers every write transaction uses to append events.

use super::{SqliteStorage, backend};
use crate::storage::{
    Committed, EventData, EventRecord, EventStore, MembershipHead, StorageError, UserEventData,
    UserEventRecord,
};
use async_trait::async_trait;
use jeco_shared::{ConversationId, UserId};
use rusqlite::{Connection, params};

/// The `message_created` event of a message without attachments is **its row in `messages`**: a
/// message's `seq` is its event's position, its sender the event's actor, its `created_at` the
/// event's time. Every message used to be stored twice — its row, and a JSON snapshot of it in its
/// event, the largest part of both the work of a send and the database file (BENCHMARKS.md,
/// `storage_append` profile) — and then as a marker row (`data` = this constant) that still cost
/// each send a leaf of a third B-tree, the events' (BENCHMARKS.md "Durable: …"). So a send stores
/// no event row at all, and the log of a conversation is its `conversation_events` rows together
/// with the messages that have none ([`LOG`]); replay builds the snapshot from the row
/// ([`super::messages::as_created`]). The first edit or delete of the message writes the snapshot
/// out in full as an event row before it changes the row
/// ([`super::messages::keep_created_snapshot`]), so replay still shows the message as it was
/// created. Messages with attachments keep the full snapshot row: their attachment records include
/// media state that changes later. Databases written before this keep marker rows with this
/// `data`, read the same way. Not JSON, so it can never be mistaken for [`EventData`].
pub(super) const MESSAGE_ROW: &str = "m";

/// A conversation's whole log as rows of `(conversation_id, seq, actor_id, at, data)`: its event
/// rows, and every message without one as a [`MESSAGE_ROW`] event. Both halves come from indexes
/// in `seq` order (`conversation_events`' key, `messages_conversation_seq`), which SQLite merges
/// for an `ORDER BY seq`. `{where_events}` and `{where_messages}` narrow each half.
pub(crate) fn log_query(where_events: &str, where_messages: &str) -> String {
    format!(
        "SELECT e.conversation_id, e.seq, e.actor_id, e.at, e.data FROM conversation_events e
         WHERE {where_events}
         UNION ALL
         SELECT m.conversation_id, m.seq, m.sender_id, m.created_at, '{MESSAGE_ROW}' FROM messages m
         WHERE {where_messages}
           AND NOT EXISTS (SELECT 1 FROM conversation_events x
                           WHERE x.conversation_id = m.conversation_id AND x.seq = m.seq)"
    )
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Backend(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Appends an event to `conversation`'s log at its next position. Must run inside the write
/// transaction of the change it records.
pub(super) fn append_event(
    tx: &Connection,
    conversation: ConversationId,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<EventRecord, StorageError> {
    // Cached: every write of every conversation comes through here.
    let seq: i64 = tx
        .prepare_cached(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
        )
        .map_err(backend)?
        .query_row([conversation.0], |r| r.get(0))
        .map_err(backend)?;
    insert_event(tx, conversation, seq, actor, now_ms, data)
}

/// Stores an event at `seq`, a position the caller has already taken in this transaction: the
/// send path takes positions from its batch's conversation facts and writes the conversation row
/// (position and activity time) once per conversation and batch.
pub(super) fn insert_event(
    tx: &Connection,
    conversation: ConversationId,
    seq: i64,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<EventRecord, StorageError> {
    let is_the_row = match &data {
        EventData::MessageCreated { message } => {
            message.attachments.is_empty()
                && message.seq == seq
                && message.conversation_id == conversation
                && message.sender_id == actor
                && message.created_at_ms == now_ms
        }
        _ => false,
    };
    // The message's row is the event (see `MESSAGE_ROW`): nothing more to store.
    if !is_the_row {
        tx.prepare_cached(
            "INSERT INTO conversation_events (conversation_id, seq, actor_id, at, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend)?
        .execute(params![
            conversation.0,
            seq,
            actor.0,
            now_ms,
            to_json(&data)?
        ])
        .map_err(backend)?;
    }
    Ok(EventRecord {
        conversation_id: conversation,
        seq,
        actor,
        at_ms: now_ms,
        data,
    })
}

/// Appends an event to `user`'s own log at its next position.
pub(super) fn append_user_event(
    tx: &Connection,
    user: UserId,
    now_ms: i64,
    data: UserEventData,
) -> Result<UserEventRecord, StorageError> {
    let seq: i64 = tx
        .query_row(
            "INSERT INTO user_event_heads (user_id, last_seq) VALUES (?1, 1)
             ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1
             RETURNING last_seq",
            [user.0],
            |r| r.get(0),
        )
        .map_err(backend)?;
    tx.execute(
        "INSERT INTO user_events (user_id, seq, at, data) VALUES (?1, ?2, ?3, ?4)",
        params![user.0, seq, now_ms, to_json(&data)?],
    )
    .map_err(backend)?;
    Ok(UserEventRecord {
        user_id: user,
        seq,
        at_ms: now_ms,
        data,
    })
}

/// The members of a conversation, in joining order.
/// The commit of one conversation event with no user events: it goes to the conversation's
/// members as they are after the change.
pub(super) fn single_event(
    c: &Connection,
    conversation: ConversationId,
    event: EventRecord,
) -> Result<Committed, StorageError> {
    Ok(Committed {
        events: vec![event],
        recipients: member_ids(c, conversation)?,
        user_events: Vec::new(),
    })
}

pub(super) fn member_ids(
    c: &Connection,
    conversation: ConversationId,
) -> Result<Vec<UserId>, StorageError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT user_id FROM conversation_members WHERE conversation_id = ?1
             ORDER BY joined_seq, user_id",
        )
        .map_err(backend)?;
    stmt.query_map([conversation.0], |r| Ok(UserId(r.get(0)?)))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)
}

#[async_trait]
impl EventStore for SqliteStorage {
    async fn events_after(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "{} ORDER BY 2 LIMIT ?3",
                        log_query(
                            "e.conversation_id = ?1 AND e.seq > ?2",
                            "m.conversation_id = ?1 AND m.seq > ?2"
                        )
                    ))
                    .map_err(backend)?;
                // Events whose message is read from its row come back as `None` first.
                let rows = stmt
                    .query_map(params![conversation.0, after, limit], |r| {
                        let data: String = r.get(4)?;
                        Ok((
                            r.get::<_, i64>(1)?,
                            UserId(r.get(2)?),
                            r.get::<_, i64>(3)?,
                            if data == MESSAGE_ROW {
                                None
                            } else {
                                Some(from_json::<EventData>(&data)?)
                            },
                        ))
                    })
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                let from_rows: Vec<i64> = rows
                    .iter()
                    .filter(|row| row.3.is_none())
                    .map(|row| row.0)
                    .collect();
                let mut messages = super::messages::as_created(c, conversation, &from_rows)?;
                rows.into_iter()
                    .map(|(seq, actor, at_ms, data)| {
                        let data = match data {
                            Some(data) => data,
                            None => EventData::MessageCreated {
                                message: messages.remove(&seq).ok_or_else(|| {
                                    StorageError::Backend(
                                        format!(
                                            "the message of event {seq} of conversation \
                                             {conversation} is missing"
                                        )
                                        .into(),
                                    )
                                })?,
                            },
                        };
                        Ok(EventRecord {
                            conversation_id: conversation,
                            seq,
                            actor,
                            at_ms,
                            data,
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn user_events_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<UserEventRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT seq, at, data FROM user_events
                         WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![user.0, after, limit], |r| {
                    Ok(UserEventRecord {
                        user_id: user,
                        seq: r.get(0)?,
                        at_ms: r.get(1)?,
                        data: from_json(&r.get::<_, String>(2)?)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
            })
            .await
    }

    async fn user_event_head(&self, user: UserId) -> Result<i64, StorageError> {
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT COALESCE((SELECT last_seq FROM user_event_heads WHERE user_id = ?1), 0)",
                    [user.0],
                    |r| r.get(0),
                )
                .map_err(backend)
            })
            .await
    }

    async fn membership_heads(&self, user: UserId) -> Result<Vec<MembershipHead>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT c.id, c.last_seq, m.joined_seq
                         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
                         WHERE m.user_id = ?1",
                    )
                    .map_err(backend)?;
                stmt.query_map([user.0], |r| {
                    Ok(MembershipHead {
                        conversation_id: ConversationId(r.get(0)?),
                        last_seq: r.get(1)?,
                        joined_seq: r.get(2)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
            })
            .await
    }
}
