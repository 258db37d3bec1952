//! [`EventStore`] on PostgreSQL (the append helpers are in [`super::log`]).
//!
//! Difference from SQLite: replay reads the events and then the message rows that
//! [`MESSAGE_ROW`] events refer to, in two statements; it runs them in one `REPEATABLE READ`
//! read-only transaction, so a first edit committing in between (which writes the snapshot out
//! and changes the row) cannot make the replay show the edited row as the created message.

use super::PgStorage;
use super::log::{MESSAGE_ROW, from_json};
use super::messages::msg_as_created;
use super::pg;
use crate::storage::StorageError;
use crate::storage::events::*;
use async_trait::async_trait;
use jeco_shared::{ConversationId, UserId};
use tokio_postgres::IsolationLevel;

#[async_trait]
impl EventStore for PgStorage {
    async fn events_after(
        &self,
        conversation: ConversationId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StorageError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let stmt = tx
            .prepare_cached(
                "SELECT seq, actor_id, at, data FROM conversation_events
                 WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await
            .map_err(pg)?;
        // Events whose message is read from its row come back as `None` first.
        let rows = tx
            .query(&stmt, &[&conversation.0, &after, &i64::from(limit)])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| {
                let data: &str = r.get(3);
                Ok((
                    r.get::<_, i64>(0),
                    UserId(r.get(1)),
                    r.get::<_, i64>(2),
                    if data == MESSAGE_ROW {
                        None
                    } else {
                        Some(from_json::<EventData>(data)?)
                    },
                ))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let from_rows: Vec<i64> = rows
            .iter()
            .filter(|row| row.3.is_none())
            .map(|row| row.0)
            .collect();
        let mut messages = msg_as_created(&tx, conversation, &from_rows).await?;
        tx.commit().await.map_err(pg)?; // read-only: not a durable commit
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
    }

    async fn user_events_after(
        &self,
        user: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<UserEventRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT seq, at, data FROM user_events
                 WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&user.0, &after, &i64::from(limit)])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(UserEventRecord {
                    user_id: user,
                    seq: r.get(0),
                    at_ms: r.get(1),
                    data: from_json(r.get::<_, &str>(2))?,
                })
            })
            .collect()
    }

    async fn user_event_head(&self, user: UserId) -> Result<i64, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT COALESCE((SELECT last_seq FROM user_event_heads WHERE user_id = $1), 0)",
            )
            .await
            .map_err(pg)?;
        Ok(c.query_one(&stmt, &[&user.0]).await.map_err(pg)?.get(0))
    }

    async fn membership_heads(&self, user: UserId) -> Result<Vec<MembershipHead>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT c.id, c.last_seq, m.joined_seq
                 FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.user_id = $1",
            )
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| MembershipHead {
                conversation_id: ConversationId(r.get(0)),
                last_seq: r.get(1),
                joined_seq: r.get(2),
            })
            .collect())
    }
}
