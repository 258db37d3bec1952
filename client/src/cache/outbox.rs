//! The outbox's storage: queued operations with their local rewrites. See [`crate::outbox`].

use super::{Cache, Result, message_by_client_id, now_rfc3339};
use crate::outbox::{
    Lane, MessageRef, OutboxError, OutboxItem, OutboxOp, OutboxState, PendingUpload,
};
use jeco_shared::{ConversationId, ErrorCode};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;

/// What queuing an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new item at the end of the outbox.
    Queued(OutboxItem),
    /// An item already queued was changed instead (an edit of a pending send, a second reaction
    /// change, a later read mark).
    Rewrote(OutboxItem),
    /// A pending send was cancelled by deleting its message, with what was queued against it.
    Cancelled { removed: Vec<i64> },
    /// The message is neither cached nor pending.
    UnknownMessage,
}

const COLUMNS: &str =
    "id, conversation_id, op, state, error_code, error_message, attempts, created_at";

fn row_to_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<(OutboxItem, String)> {
    let op: String = r.get(2)?;
    let state: String = r.get(3)?;
    let code: Option<String> = r.get(4)?;
    let message: Option<String> = r.get(5)?;
    let error = code.map(|code| OutboxError {
        code: serde_json::from_value(serde_json::Value::String(code))
            .unwrap_or(ErrorCode::BadRequest),
        message: message.unwrap_or_default(),
    });
    Ok((
        OutboxItem {
            id: r.get(0)?,
            conversation_id: ConversationId(r.get(1)?),
            // Filled in by the caller from the JSON (a row error here would hide which item).
            op: OutboxOp::MarkRead { seq: 0 },
            state: OutboxState::parse(&state),
            error,
            attempts: r.get(6)?,
            created_at: r.get(7)?,
        },
        op,
    ))
}

fn query_items(
    conn: &Connection,
    sql_tail: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<OutboxItem>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox {sql_tail}"))?;
    let rows = stmt.query_map(args, row_to_item)?;
    let mut items = Vec::new();
    for row in rows {
        let (mut item, op) = row?;
        item.op = serde_json::from_str(&op)?;
        items.push(item);
    }
    Ok(items)
}

fn insert(conn: &Connection, conversation: ConversationId, op: &OutboxOp) -> Result<OutboxItem> {
    let client_id = match op {
        OutboxOp::Send { client_id, .. } => Some(client_id.as_str()),
        _ => None,
    };
    let created_at = now_rfc3339();
    conn.prepare_cached(
        "INSERT INTO outbox (conversation_id, op, client_id, state, created_at)
         VALUES (?1, ?2, ?3, 'pending', ?4)",
    )?
    .execute(params![
        conversation.0,
        serde_json::to_string(op)?,
        client_id,
        created_at
    ])?;
    Ok(OutboxItem {
        id: conn.last_insert_rowid(),
        conversation_id: conversation,
        op: op.clone(),
        state: OutboxState::Pending,
        error: None,
        attempts: 0,
        created_at,
    })
}

fn rewrite(conn: &Connection, item: &mut OutboxItem, op: OutboxOp) -> Result<()> {
    item.op = op;
    // A rewritten failed item (say, a message shortened after "too long") gets another chance.
    item.state = OutboxState::Pending;
    item.error = None;
    conn.prepare_cached(
        "UPDATE outbox SET op = ?2, state = 'pending', error_code = NULL, error_message = NULL
         WHERE id = ?1",
    )?
    .execute(params![item.id, serde_json::to_string(&item.op)?])?;
    Ok(())
}

/// The mute a queued `set_muted` will set, if one is waiting (pending or being sent) — what
/// the conversation shows until the server has it, whatever older state a listing carries.
pub(super) fn queued_mute(conn: &Connection, conversation: ConversationId) -> Result<Option<bool>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM outbox WHERE conversation_id = ?1 AND state != 'failed'
             AND op LIKE '{\"op\":\"set_muted\"%' ORDER BY id DESC LIMIT 1",
    )?;
    let op: Option<String> = stmt.query_row([conversation.0], |r| r.get(0)).optional()?;
    Ok(
        match op
            .map(|j| serde_json::from_str::<OutboxOp>(&j))
            .transpose()?
        {
            Some(OutboxOp::SetMuted { muted }) => Some(muted),
            _ => None,
        },
    )
}

/// Per conversation and lane, the oldest of `items` (which are oldest first).
pub(crate) fn queue_heads(items: &[OutboxItem]) -> Vec<&OutboxItem> {
    let mut seen: HashSet<(ConversationId, Lane)> = HashSet::new();
    items
        .iter()
        .filter(|i| seen.insert((i.conversation_id, i.op.lane())))
        .collect()
}

/// The failed item that `item` waits behind (the failed head of its queue), if any. `items` are
/// the conversation's queued items, oldest first, as [`Cache::outbox`] gives them.
pub fn blocked_by(items: &[OutboxItem], item: &OutboxItem) -> Option<i64> {
    let lane = item.op.lane();
    let head = items
        .iter()
        .find(|i| i.conversation_id == item.conversation_id && i.op.lane() == lane)?;
    (head.state == OutboxState::Failed && head.id != item.id && head.id < item.id)
        .then_some(head.id)
}

impl Cache {
    /// Queues `op` for `conversation`, applying the local rewrites described in
    /// [`crate::outbox`].
    pub fn enqueue(&self, conversation: ConversationId, op: OutboxOp) -> Result<Enqueued> {
        self.write(|tx| {
            let queued = query_items(
                tx,
                "WHERE conversation_id = ?1 ORDER BY id",
                [conversation.0],
            )?;
            let pending_send = |cid: &str| {
                queued
                    .iter()
                    .find(|i| matches!(&i.op, OutboxOp::Send { client_id, .. } if client_id == cid))
            };
            // An operation on a message whose send is queued but not in flight is resolved here;
            // one whose send is in flight waits behind it; one on a confirmed message gets its id.
            let resolve = |target: &MessageRef| -> Result<Option<MessageRef>> {
                match target {
                    MessageRef::Id(_) => Ok(Some(target.clone())),
                    MessageRef::Pending(cid) => {
                        if pending_send(cid).is_some() {
                            return Ok(Some(target.clone()));
                        }
                        Ok(message_by_client_id(tx, conversation, cid)?
                            .map(|m| MessageRef::Id(m.id)))
                    }
                }
            };
            match op {
                OutboxOp::Send { .. } => Ok(Enqueued::Queued(insert(tx, conversation, &op)?)),
                OutboxOp::Edit { target, text } => {
                    if let MessageRef::Pending(cid) = &target
                        && let Some(send) = pending_send(cid)
                        && send.state != OutboxState::Sending
                        && let OutboxOp::Send {
                            client_id,
                            reply_to,
                            thread_only,
                            attachments,
                            ..
                        } = &send.op
                    {
                        let mut send = send.clone();
                        let op = OutboxOp::Send {
                            client_id: client_id.clone(),
                            text,
                            reply_to: *reply_to,
                            thread_only: *thread_only,
                            attachments: attachments.clone(),
                        };
                        rewrite(tx, &mut send, op)?;
                        return Ok(Enqueued::Rewrote(send));
                    }
                    let Some(target) = resolve(&target)? else {
                        return Ok(Enqueued::UnknownMessage);
                    };
                    // A second edit of the same message before the first went out replaces it.
                    if let Some(prior) = queued.iter().find(|i| {
                        i.state != OutboxState::Sending
                            && matches!(&i.op, OutboxOp::Edit { target: t, .. } if *t == target)
                    }) {
                        let mut prior = prior.clone();
                        rewrite(tx, &mut prior, OutboxOp::Edit { target, text })?;
                        return Ok(Enqueued::Rewrote(prior));
                    }
                    Ok(Enqueued::Queued(insert(
                        tx,
                        conversation,
                        &OutboxOp::Edit { target, text },
                    )?))
                }
                OutboxOp::Delete { target } => {
                    if let MessageRef::Pending(cid) = &target
                        && let Some(send) = pending_send(cid)
                        && send.state != OutboxState::Sending
                    {
                        let mut removed = vec![send.id];
                        removed.extend(
                            queued
                                .iter()
                                .filter(|i| i.op.target() == Some(&target))
                                .map(|i| i.id),
                        );
                        for id in &removed {
                            tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
                        }
                        return Ok(Enqueued::Cancelled { removed });
                    }
                    let Some(target) = resolve(&target)? else {
                        return Ok(Enqueued::UnknownMessage);
                    };
                    // Edits and reactions still queued for a message being deleted are moot.
                    for i in queued.iter().filter(|i| {
                        i.state != OutboxState::Sending && i.op.target() == Some(&target)
                    }) {
                        tx.execute("DELETE FROM outbox WHERE id = ?1", [i.id])?;
                    }
                    Ok(Enqueued::Queued(insert(
                        tx,
                        conversation,
                        &OutboxOp::Delete { target },
                    )?))
                }
                OutboxOp::React { target, emoji, add } => {
                    let Some(target) = resolve(&target)? else {
                        return Ok(Enqueued::UnknownMessage);
                    };
                    if let Some(prior) = queued.iter().find(|i| {
                        i.state != OutboxState::Sending
                            && matches!(&i.op, OutboxOp::React { target: t, emoji: e, .. }
                                if *t == target && *e == emoji)
                    }) {
                        let mut prior = prior.clone();
                        rewrite(tx, &mut prior, OutboxOp::React { target, emoji, add })?;
                        return Ok(Enqueued::Rewrote(prior));
                    }
                    Ok(Enqueued::Queued(insert(
                        tx,
                        conversation,
                        &OutboxOp::React { target, emoji, add },
                    )?))
                }
                OutboxOp::MarkRead { seq } => {
                    if let Some(prior) = queued.iter().find(|i| {
                        i.state != OutboxState::Sending && matches!(i.op, OutboxOp::MarkRead { .. })
                    }) {
                        let mut prior = prior.clone();
                        let OutboxOp::MarkRead { seq: old } = prior.op else {
                            unreachable!("matched above")
                        };
                        rewrite(tx, &mut prior, OutboxOp::MarkRead { seq: seq.max(old) })?;
                        return Ok(Enqueued::Rewrote(prior));
                    }
                    Ok(Enqueued::Queued(insert(tx, conversation, &op)?))
                }
                OutboxOp::MarkNotificationsRead { mut ids } => {
                    // One queued item per conversation: later marks join it.
                    if let Some(prior) = queued.iter().find(|i| {
                        i.state != OutboxState::Sending
                            && matches!(i.op, OutboxOp::MarkNotificationsRead { .. })
                    }) {
                        let mut prior = prior.clone();
                        let OutboxOp::MarkNotificationsRead { ids: old } = &prior.op else {
                            unreachable!("matched above")
                        };
                        ids.extend(old.iter().copied());
                        ids.sort_unstable();
                        ids.dedup();
                        rewrite(tx, &mut prior, OutboxOp::MarkNotificationsRead { ids })?;
                        return Ok(Enqueued::Rewrote(prior));
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    Ok(Enqueued::Queued(insert(
                        tx,
                        conversation,
                        &OutboxOp::MarkNotificationsRead { ids },
                    )?))
                }
                OutboxOp::SetMuted { muted } => {
                    if let Some(prior) = queued.iter().find(|i| {
                        i.state != OutboxState::Sending && matches!(i.op, OutboxOp::SetMuted { .. })
                    }) {
                        let mut prior = prior.clone();
                        rewrite(tx, &mut prior, OutboxOp::SetMuted { muted })?;
                        return Ok(Enqueued::Rewrote(prior));
                    }
                    Ok(Enqueued::Queued(insert(tx, conversation, &op)?))
                }
            }
        })
    }

    /// Queued items, oldest first: all, or one conversation's.
    pub fn outbox(&self, conversation: Option<ConversationId>) -> Result<Vec<OutboxItem>> {
        let conn = self.lock();
        match conversation {
            Some(c) => query_items(&conn, "WHERE conversation_id = ?1 ORDER BY id", [c.0]),
            None => query_items(&conn, "ORDER BY id", []),
        }
    }

    pub fn outbox_item(&self, id: i64) -> Result<Option<OutboxItem>> {
        let conn = self.lock();
        Ok(query_items(&conn, "WHERE id = ?1", [id])?
            .into_iter()
            .next())
    }

    /// The head of every queue (see [`crate::outbox::Lane`]): per conversation and lane, its
    /// oldest item, failed or not, oldest first. Only a head is delivered; an item left `sending`
    /// by a client that stopped is a head again and is delivered again (the server deduplicates).
    pub fn outbox_heads(&self) -> Result<Vec<OutboxItem>> {
        let conn = self.lock();
        let items = query_items(&conn, "ORDER BY id", [])?;
        Ok(queue_heads(&items).into_iter().cloned().collect())
    }

    /// Whether anything can still be delivered: a queue whose head is not failed (a send waiting
    /// for its files counts). Items behind a failed one wait for its retry or discard.
    pub fn outbox_has_deliverable(&self) -> Result<bool> {
        Ok(self
            .outbox_heads()?
            .iter()
            .any(|i| i.state != OutboxState::Failed))
    }

    /// Sends with files still to upload, oldest first (not failed ones: a failed send waits for
    /// retry, edit or discard). Uploads run beside the queues, so these need not be heads.
    pub fn outbox_uploads(&self) -> Result<Vec<OutboxItem>> {
        let conn = self.lock();
        Ok(query_items(
            &conn,
            "WHERE state != 'failed' AND client_id IS NOT NULL ORDER BY id",
            [],
        )?
        .into_iter()
        .filter(|i| i.op.uploads_left() > 0)
        .collect())
    }

    /// Saves one file's upload progress into a queued send, leaving the rest of the send as it
    /// is now (its text may have been edited while the file uploaded). False when the send is
    /// gone (discarded, cancelled) or no longer has that file.
    pub fn outbox_set_upload(&self, id: i64, index: usize, file: &PendingUpload) -> Result<bool> {
        self.write(|tx| {
            let Some(mut item) = query_items(tx, "WHERE id = ?1", [id])?.into_iter().next() else {
                return Ok(false);
            };
            let OutboxOp::Send { attachments, .. } = &mut item.op else {
                return Ok(false);
            };
            match attachments.get_mut(index) {
                Some(slot) if slot.path == file.path && slot.sha256 == file.sha256 => {
                    *slot = file.clone();
                }
                _ => return Ok(false),
            }
            tx.prepare_cached("UPDATE outbox SET op = ?2 WHERE id = ?1")?
                .execute(params![id, serde_json::to_string(&item.op)?])?;
            Ok(true)
        })
    }

    /// Marks an item as handed to the server (counting the attempt).
    pub fn outbox_sending(&self, id: i64) -> Result<()> {
        self.lock().execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Marks an item failed for good, with the reason.
    pub fn outbox_failed(&self, id: i64, error: &OutboxError) -> Result<()> {
        let code = serde_json::to_value(error.code)?;
        self.lock().execute(
            "UPDATE outbox SET state = 'failed', error_code = ?2, error_message = ?3 WHERE id = ?1",
            params![id, code.as_str().unwrap_or("bad_request"), error.message],
        )?;
        Ok(())
    }

    /// Removes a delivered item.
    pub fn outbox_done(&self, id: i64) -> Result<()> {
        self.lock()
            .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Puts a failed item back in the queue (at its original place). False when there is no
    /// such failed item.
    pub fn outbox_retry(&self, id: i64) -> Result<bool> {
        Ok(self.lock().execute(
            "UPDATE outbox SET state = 'pending', error_code = NULL, error_message = NULL
             WHERE id = ?1 AND state = 'failed'",
            [id],
        )? > 0)
    }

    /// Drops a failed or pending item (a pending send with what is queued against it). Items in
    /// flight cannot be discarded: the server may already have them. Returns the removed ids.
    pub fn outbox_discard(&self, id: i64) -> Result<Vec<i64>> {
        self.write(|tx| {
            let Some(item) = query_items(tx, "WHERE id = ?1", [id])?.into_iter().next() else {
                return Ok(Vec::new());
            };
            if item.state == OutboxState::Sending {
                return Ok(Vec::new());
            }
            let mut removed = vec![item.id];
            if let OutboxOp::Send { client_id, .. } = &item.op {
                let target = MessageRef::Pending(client_id.clone());
                for other in
                    query_items(tx, "WHERE conversation_id = ?1", [item.conversation_id.0])?
                {
                    if other.op.target() == Some(&target) {
                        removed.push(other.id);
                    }
                }
            }
            for id in &removed {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            }
            Ok(removed)
        })
    }

    /// The state of the send with `client_id`, if it is still queued.
    pub fn pending_send(&self, client_id: &str) -> Result<Option<OutboxItem>> {
        let conn = self.lock();
        let id: Option<i64> = conn
            .query_row(
                "SELECT id FROM outbox WHERE client_id = ?1",
                [client_id],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => Ok(query_items(&conn, "WHERE id = ?1", [id])?
                .into_iter()
                .next()),
            None => Ok(None),
        }
    }
}
