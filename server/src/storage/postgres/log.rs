//! The helpers every write transaction uses to append to the event logs (see
//! [`crate::storage::events`]); the same stored forms as the SQLite backend, so `db copy` moves
//! events as they are.

use super::pg;
use crate::storage::{
    Committed, EventData, EventRecord, StorageError, UserEventData, UserEventRecord,
};
use deadpool_postgres::GenericClient;
use jeco_shared::{ConversationId, UserId};

/// The stored `data` of a `message_created` event whose message has no attachments: "the message
/// row at this event's position", exactly as in the SQLite backend (see its `events` module):
/// replay builds the snapshot from the row, and the first edit or delete writes the snapshot out
/// in full before it changes the row.
pub(crate) const MESSAGE_ROW: &str = "m";

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Backend(Box::new(e)))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Backend(Box::new(e)))
}

/// Takes `conversation`'s next position: the conversation row stays locked until the transaction
/// ends, which is what makes positions gap-free and visible in order (see the module doc of
/// [`super`]). `None` when the conversation does not exist.
pub(crate) async fn next_seq(
    tx: &impl GenericClient,
    conversation: ConversationId,
) -> Result<Option<i64>, StorageError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .await
        .map_err(pg)?;
    Ok(tx
        .query_opt(&stmt, &[&conversation.0])
        .await
        .map_err(pg)?
        .map(|r| r.get(0)))
}

/// Appends an event to `conversation`'s log at its next position. Must run inside the write
/// transaction of the change it records.
pub(crate) async fn append_event(
    tx: &impl GenericClient,
    conversation: ConversationId,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<EventRecord, StorageError> {
    let seq = next_seq(tx, conversation)
        .await?
        .ok_or(StorageError::NotFound)?;
    insert_event(tx, conversation, seq, actor, now_ms, data).await
}

/// Stores an event at `seq`, a position the caller has already taken in this transaction.
pub(crate) async fn insert_event(
    tx: &impl GenericClient,
    conversation: ConversationId,
    seq: i64,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<EventRecord, StorageError> {
    let event = EventRecord {
        conversation_id: conversation,
        seq,
        actor,
        at_ms: now_ms,
        data,
    };
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conversation_events (conversation_id, seq, actor_id, at, data)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &conversation.0,
            &seq,
            &actor.0,
            &now_ms,
            &stored_form(&event)?,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(event)
}

/// What the `data` column holds for `event`: [`MESSAGE_ROW`] for a new message without
/// attachments (the row at the event's position says it all), the event as JSON otherwise.
fn stored_form(event: &EventRecord) -> Result<String, StorageError> {
    Ok(match &event.data {
        EventData::MessageCreated { message }
            if message.attachments.is_empty()
                && message.seq == event.seq
                && message.conversation_id == event.conversation_id =>
        {
            MESSAGE_ROW.to_string()
        }
        other => to_json(other)?,
    })
}

/// Stores `events`, positions their callers have already taken in this transaction, with one
/// statement: what [`insert_event`] does for one, for a whole batch of sends.
pub(crate) async fn insert_events(
    tx: &impl GenericClient,
    events: &[EventRecord],
) -> Result<(), StorageError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut conversations = Vec::with_capacity(events.len());
    let mut seqs = Vec::with_capacity(events.len());
    let mut actors = Vec::with_capacity(events.len());
    let mut ats = Vec::with_capacity(events.len());
    let mut data = Vec::with_capacity(events.len());
    for e in events {
        conversations.push(e.conversation_id.0);
        seqs.push(e.seq);
        actors.push(e.actor.0);
        ats.push(e.at_ms);
        data.push(stored_form(e)?);
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conversation_events (conversation_id, seq, actor_id, at, data)
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[],
                                  $5::TEXT[])",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&conversations, &seqs, &actors, &ats, &data])
        .await
        .map_err(pg)?;
    Ok(())
}

/// Appends an event to `user`'s own log at its next position (the head row is locked until the
/// transaction ends, as a conversation's is).
pub(crate) async fn append_user_event(
    tx: &impl GenericClient,
    user: UserId,
    now_ms: i64,
    data: UserEventData,
) -> Result<UserEventRecord, StorageError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO user_event_heads (user_id, last_seq) VALUES ($1, 1)
             ON CONFLICT (user_id) DO UPDATE SET last_seq = user_event_heads.last_seq + 1
             RETURNING last_seq",
        )
        .await
        .map_err(pg)?;
    let seq: i64 = tx.query_one(&stmt, &[&user.0]).await.map_err(pg)?.get(0);
    let stmt = tx
        .prepare_cached("INSERT INTO user_events (user_id, seq, at, data) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&user.0, &seq, &now_ms, &to_json(&data)?])
        .await
        .map_err(pg)?;
    Ok(UserEventRecord {
        user_id: user,
        seq,
        at_ms: now_ms,
        data,
    })
}

/// The commit of one conversation event with no user events: it goes to the conversation's
/// members as they are after the change.
pub(crate) async fn single_event(
    c: &impl GenericClient,
    conversation: ConversationId,
    event: EventRecord,
) -> Result<Committed, StorageError> {
    Ok(Committed {
        events: vec![event],
        recipients: member_ids(c, conversation).await?,
        user_events: Vec::new(),
    })
}

/// The members of a conversation, in joining order.
pub(crate) async fn member_ids(
    c: &impl GenericClient,
    conversation: ConversationId,
) -> Result<Vec<UserId>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1
             ORDER BY joined_seq, user_id",
        )
        .await
        .map_err(pg)?;
    Ok(c.query(&stmt, &[&conversation.0])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| UserId(r.get(0)))
        .collect())
}

/// Locks the event-log heads of `users` in ascending id order (duplicates removed) before a
/// transaction appends to several of them, so two transactions — on any instances — never wait
/// for each other's heads in opposite orders. A missing head is created first at position 0, in
/// the same order, so a head that a concurrent transaction is creating is waited for in order too.
/// A head at 0 with no event means the same as no head (the log is empty); it can stay when a
/// locked user ends up without an event (a notification candidate who muted the conversation).
pub(crate) async fn lock_user_heads(
    tx: &impl GenericClient,
    users: impl IntoIterator<Item = UserId>,
) -> Result<(), StorageError> {
    let mut ids: Vec<i64> = users.into_iter().map(|u| u.0).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        // One lock has no order to get wrong; append_user_event takes it.
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO user_event_heads (user_id, last_seq)
             SELECT u, 0 FROM unnest($1::BIGINT[]) AS u ORDER BY u
             ON CONFLICT (user_id) DO NOTHING",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&ids]).await.map_err(pg)?;
    let stmt = tx
        .prepare_cached(
            "SELECT user_id FROM user_event_heads WHERE user_id = ANY($1)
             ORDER BY user_id FOR UPDATE",
        )
        .await
        .map_err(pg)?;
    tx.query(&stmt, &[&ids]).await.map_err(pg)?;
    Ok(())
}
