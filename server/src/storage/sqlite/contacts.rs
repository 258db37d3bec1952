//! [`ContactStore`] on SQLite.

use super::events::append_user_event;
use super::notifications::insert_notifications;
use super::{SqliteStorage, backend, write};
use crate::storage::{
    Committed, ContactRecord, ContactRequestRecord, ContactStore, NotificationRecord, StorageError,
    UserEventData,
};
use async_trait::async_trait;
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, NotificationId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn status_text(s: ContactRequestStatus) -> &'static str {
    match s {
        ContactRequestStatus::Pending => "pending",
        ContactRequestStatus::Accepted => "accepted",
        ContactRequestStatus::Declined => "declined",
        ContactRequestStatus::Cancelled => "cancelled",
    }
}

fn status_from(text: &str) -> rusqlite::Result<ContactRequestStatus> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const COLUMNS: &str = "id, from_user, to_user, status, created_at, resolved_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ContactRequestRecord> {
    Ok(ContactRequestRecord {
        id: ContactRequestId(r.get(0)?),
        from_user: UserId(r.get(1)?),
        to_user: UserId(r.get(2)?),
        status: status_from(&r.get::<_, String>(3)?)?,
        created_at_ms: r.get(4)?,
        resolved_at_ms: r.get(5)?,
    })
}

fn request_by_id(
    c: &Connection,
    id: ContactRequestId,
) -> Result<Option<ContactRequestRecord>, StorageError> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM contact_requests WHERE id = ?1"),
        [id.0],
        from_row,
    )
    .optional()
    .map_err(backend)
}

fn are_contacts(c: &Connection, a: UserId, b: UserId) -> Result<bool, StorageError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE user_id = ?1 AND contact_id = ?2)",
        params![a.0, b.0],
        |r| r.get(0),
    )
    .map_err(backend)
}

/// A `contact_request_changed` event in both users' logs.
fn tell_both(
    tx: &Connection,
    request: &ContactRequestRecord,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in [request.from_user, request.to_user] {
        committed.user_events.push(append_user_event(
            tx,
            user,
            now_ms,
            UserEventData::ContactRequestChanged {
                request: request.clone(),
            },
        )?);
    }
    Ok(())
}

fn notification(
    user: UserId,
    kind: NotificationKind,
    actor: UserId,
    request: ContactRequestId,
    preview: String,
    now_ms: i64,
) -> NotificationRecord {
    NotificationRecord {
        id: NotificationId(0),
        user_id: user,
        kind,
        actor_id: Some(actor),
        conversation_id: None,
        message_id: None,
        contact_request_id: Some(request),
        team_id: None,
        preview,
        created_at_ms: now_ms,
        read_at_ms: None,
    }
}

#[async_trait]
impl ContactStore for SqliteStorage {
    async fn create_contact_request(
        &self,
        from: UserId,
        to: UserId,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    if are_contacts(tx, from, to)? {
                        return Err(StorageError::Conflict);
                    }
                    // The partial unique index refuses a second pending request either way.
                    tx.execute(
                        "INSERT INTO contact_requests (from_user, to_user, status, created_at)
                         VALUES (?1, ?2, 'pending', ?3)",
                        params![from.0, to.0, now_ms],
                    )
                    .map_err(backend)?;
                    let id = ContactRequestId(tx.last_insert_rowid());
                    let request = request_by_id(tx, id)?.ok_or(StorageError::NotFound)?;
                    let mut committed = Committed::default();
                    tell_both(tx, &request, now_ms, &mut committed)?;
                    insert_notifications(
                        tx,
                        vec![notification(
                            to,
                            NotificationKind::ContactRequest,
                            from,
                            id,
                            preview,
                            now_ms,
                        )],
                        &mut committed,
                    )?;
                    Ok((request, committed))
                })
            })
            .await
    }

    async fn contact_request(
        &self,
        id: ContactRequestId,
    ) -> Result<Option<ContactRequestRecord>, StorageError> {
        self.pool.run(move |c| request_by_id(c, id)).await
    }

    async fn resolve_contact_request(
        &self,
        id: ContactRequestId,
        actor: UserId,
        status: ContactRequestStatus,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let changed = tx
                        .execute(
                            "UPDATE contact_requests SET status = ?1, resolved_at = ?2
                             WHERE id = ?3 AND status = 'pending'",
                            params![status_text(status), now_ms, id.0],
                        )
                        .map_err(backend)?;
                    if changed == 0 {
                        return Err(StorageError::Conflict);
                    }
                    let request = request_by_id(tx, id)?.ok_or(StorageError::NotFound)?;
                    let mut committed = Committed::default();
                    if status == ContactRequestStatus::Accepted {
                        let (a, b) = (request.from_user, request.to_user);
                        tx.execute(
                            "INSERT INTO contacts (user_id, contact_id, since)
                             VALUES (?1, ?2, ?3), (?2, ?1, ?3) ON CONFLICT DO NOTHING",
                            params![a.0, b.0, now_ms],
                        )
                        .map_err(backend)?;
                    }
                    tell_both(tx, &request, now_ms, &mut committed)?;
                    if status == ContactRequestStatus::Accepted {
                        insert_notifications(
                            tx,
                            vec![notification(
                                request.from_user,
                                NotificationKind::ContactAccepted,
                                actor,
                                id,
                                preview,
                                now_ms,
                            )],
                            &mut committed,
                        )?;
                    }
                    Ok((request, committed))
                })
            })
            .await
    }

    async fn pending_contact_requests(
        &self,
        user: UserId,
    ) -> Result<Vec<ContactRequestRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM contact_requests
                         WHERE (from_user = ?1 OR to_user = ?1) AND status = 'pending'
                         ORDER BY id"
                    ))
                    .map_err(backend)?;
                stmt.query_map([user.0], from_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<ContactRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT c.contact_id, c.since FROM contacts c
                         JOIN users u ON u.id = c.contact_id
                         WHERE c.user_id = ?1 ORDER BY u.username",
                    )
                    .map_err(backend)?;
                stmt.query_map([user.0], |r| {
                    Ok(ContactRecord {
                        user_id: UserId(r.get(0)?),
                        since_ms: r.get(1)?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
            })
            .await
    }

    async fn remove_contact(
        &self,
        user: UserId,
        other: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let removed = tx
                        .execute(
                            "DELETE FROM contacts
                             WHERE (user_id = ?1 AND contact_id = ?2)
                                OR (user_id = ?2 AND contact_id = ?1)",
                            params![user.0, other.0],
                        )
                        .map_err(backend)?;
                    if removed == 0 {
                        return Err(StorageError::NotFound);
                    }
                    let mut committed = Committed::default();
                    for (to, about) in [(user, other), (other, user)] {
                        committed.user_events.push(append_user_event(
                            tx,
                            to,
                            now_ms,
                            UserEventData::ContactRemoved { user: about },
                        )?);
                    }
                    Ok(committed)
                })
            })
            .await
    }
}
