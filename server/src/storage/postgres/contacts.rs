//! [`ContactStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend: each change to a pair's contact state (a request, its
//! resolution, removing the contact) starts by locking both users' rows in ascending id order
//! (`FOR NO KEY UPDATE`, which does not block rows referring to them) and then both users' event
//! heads, in the same order. That serializes the pair's changes across instances as SQLite's single
//! writer did — "already contacts" is then read after a racing acceptance committed, instead of a
//! new pending request slipping in beside it — and two transactions never take the two heads in
//! opposite orders, so they cannot deadlock.

use super::log::append_user_event;
use super::{PgStorage, pg};
use crate::storage::contacts::*;
use crate::storage::events::Committed;
use crate::storage::{NotificationRecord, StorageError, UserEventData};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ContactRequestId, NotificationId, UserId};
use tokio_postgres::Row;

fn status_text(s: ContactRequestStatus) -> &'static str {
    match s {
        ContactRequestStatus::Pending => "pending",
        ContactRequestStatus::Accepted => "accepted",
        ContactRequestStatus::Declined => "declined",
        ContactRequestStatus::Cancelled => "cancelled",
    }
}

fn status_from(text: String) -> Result<ContactRequestStatus, StorageError> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| StorageError::Backend(Box::new(e)))
}

const COLUMNS: &str = "id, from_user, to_user, status, created_at, resolved_at";

fn from_row(r: &Row) -> Result<ContactRequestRecord, StorageError> {
    Ok(ContactRequestRecord {
        id: ContactRequestId(r.get(0)),
        from_user: UserId(r.get(1)),
        to_user: UserId(r.get(2)),
        status: status_from(r.get(3))?,
        created_at_ms: r.get(4),
        resolved_at_ms: r.get(5),
    })
}

async fn request_by_id(
    c: &impl GenericClient,
    id: ContactRequestId,
) -> Result<Option<ContactRequestRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contact_requests WHERE id = $1"
        ))
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&id.0])
        .await
        .map_err(pg)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Locks both users' rows, then both users' existing event heads, each in ascending id order (see
/// the module doc).
async fn lock_pair(tx: &impl GenericClient, a: UserId, b: UserId) -> Result<(), StorageError> {
    let ids = [a.0, b.0];
    let ids = &ids[..];
    tx.query(
        "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&ids],
    )
    .await
    .map_err(pg)?;
    tx.query(
        "SELECT user_id FROM user_event_heads WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
        &[&ids],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

async fn are_contacts(c: &impl GenericClient, a: UserId, b: UserId) -> Result<bool, StorageError> {
    Ok(c.query_one(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE user_id = $1 AND contact_id = $2)",
        &[&a.0, &b.0],
    )
    .await
    .map_err(pg)?
    .get(0))
}

/// A `contact_request_changed` event in both users' logs.
async fn tell_both(
    tx: &impl GenericClient,
    request: &ContactRequestRecord,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in [request.from_user, request.to_user] {
        committed.user_events.push(
            append_user_event(
                tx,
                user,
                now_ms,
                UserEventData::ContactRequestChanged {
                    request: request.clone(),
                },
            )
            .await?,
        );
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
impl ContactStore for PgStorage {
    async fn create_contact_request(
        &self,
        from: UserId,
        to: UserId,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_pair(&tx, from, to).await?;
        if are_contacts(&tx, from, to).await? {
            return Err(StorageError::Conflict);
        }
        // The partial unique index refuses a second pending request either way.
        let row = tx
            .query_one(
                &*format!(
                    "INSERT INTO contact_requests (from_user, to_user, status, created_at)
                     VALUES ($1, $2, 'pending', $3)
                     RETURNING {COLUMNS}"
                ),
                &[&from.0, &to.0, &now_ms],
            )
            .await
            .map_err(pg)?;
        let request = from_row(&row)?;
        let mut committed = Committed::default();
        tell_both(&tx, &request, now_ms, &mut committed).await?;
        super::notifications::insert_notifications(
            &tx,
            vec![notification(
                to,
                NotificationKind::ContactRequest,
                from,
                request.id,
                preview,
                now_ms,
            )],
            &mut committed,
        )
        .await?;
        super::commit(tx).await?;
        Ok((request, committed))
    }

    async fn contact_request(
        &self,
        id: ContactRequestId,
    ) -> Result<Option<ContactRequestRecord>, StorageError> {
        let c = self.client().await?;
        request_by_id(&c, id).await
    }

    async fn resolve_contact_request(
        &self,
        id: ContactRequestId,
        actor: UserId,
        status: ContactRequestStatus,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The pair never changes, so it can be read before taking the pair's locks.
        let Some(before) = request_by_id(&tx, id).await? else {
            return Err(StorageError::Conflict);
        };
        lock_pair(&tx, before.from_user, before.to_user).await?;
        let row = tx
            .query_opt(
                &*format!(
                    "UPDATE contact_requests SET status = $1, resolved_at = $2
                     WHERE id = $3 AND status = 'pending'
                     RETURNING {COLUMNS}"
                ),
                &[&status_text(status), &now_ms, &id.0],
            )
            .await
            .map_err(pg)?;
        let Some(row) = row else {
            return Err(StorageError::Conflict);
        };
        let request = from_row(&row)?;
        let mut committed = Committed::default();
        if status == ContactRequestStatus::Accepted {
            tx.execute(
                "INSERT INTO contacts (user_id, contact_id, since)
                 VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
                &[&request.from_user.0, &request.to_user.0, &now_ms],
            )
            .await
            .map_err(pg)?;
        }
        tell_both(&tx, &request, now_ms, &mut committed).await?;
        if status == ContactRequestStatus::Accepted {
            super::notifications::insert_notifications(
                &tx,
                vec![notification(
                    request.from_user,
                    NotificationKind::ContactAccepted,
                    actor,
                    id,
                    preview,
                    now_ms,
                )],
                &mut committed,
            )
            .await?;
        }
        super::commit(tx).await?;
        Ok((request, committed))
    }

    async fn pending_contact_requests(
        &self,
        user: UserId,
    ) -> Result<Vec<ContactRequestRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM contact_requests
                 WHERE (from_user = $1 OR to_user = $1) AND status = 'pending'
                 ORDER BY id"
            ))
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(from_row)
            .collect()
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<ContactRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT c.contact_id, c.since FROM contacts c
                 JOIN users u ON u.id = c.contact_id
                 WHERE c.user_id = $1 ORDER BY u.username COLLATE \"C\"",
            )
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| ContactRecord {
                user_id: UserId(r.get(0)),
                since_ms: r.get(1),
            })
            .collect())
    }

    async fn remove_contact(
        &self,
        user: UserId,
        other: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_pair(&tx, user, other).await?;
        let removed = tx
            .execute(
                "DELETE FROM contacts
                 WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)",
                &[&user.0, &other.0],
            )
            .await
            .map_err(pg)?;
        if removed == 0 {
            return Err(StorageError::NotFound);
        }
        let mut committed = Committed::default();
        for (to, about) in [(user, other), (other, user)] {
            committed.user_events.push(
                append_user_event(
                    &tx,
                    to,
                    now_ms,
                    UserEventData::ContactRemoved { user: about },
                )
                .await?,
            );
        }
        super::commit(tx).await?;
        Ok(committed)
    }
}
