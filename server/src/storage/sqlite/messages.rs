//! [`MessageStore`] on SQLite.

use super::events::{append_event, single_event};
use super::notifications::{insert_notifications, recipients, requote};
use super::{SqliteStorage, backend, write};
use crate::services::rules::notifying;
use crate::services::rules::sending::{self, SendFacts};
use crate::storage::{
    Committed, EventData, HistoryAnchor, HistoryPage, MentionSet, MessageNotification,
    MessageRecord, MessageStore, NewMessage, ReactionRecord, RootTally, SendContext, SendOutcome,
    StorageError,
};
use async_trait::async_trait;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::{ConversationId, MessageId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::rc::Rc;

pub(super) const MESSAGE_COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body,
    m.reply_to,
    (SELECT COUNT(*) FROM messages r WHERE r.reply_to = m.id AND r.deleted_at IS NULL),
    m.created_at, m.edited_at, m.deleted_at, m.pinned_at IS NOT NULL, m.mentions_channel,
    m.mentions_here, m.thread_only";

pub(super) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        id: MessageId(r.get(0)?),
        conversation_id: ConversationId(r.get(1)?),
        seq: r.get(2)?,
        sender_id: UserId(r.get(3)?),
        client_id: r.get(4)?,
        body: r.get(5)?,
        reply_to: r.get::<_, Option<i64>>(6)?.map(MessageId),
        thread_only: r.get(14)?,
        reply_count: r.get(7)?,
        last_repliers: Vec::new(),
        created_at_ms: r.get(8)?,
        edited_at_ms: r.get(9)?,
        deleted_at_ms: r.get(10)?,
        pinned: r.get(11)?,
        mentions: MentionSet {
            users: Vec::new(),
            channel: r.get(12)?,
            here: r.get(13)?,
        },
        reactions: Vec::new(),
        attachments: Vec::new(),
    })
}

/// Fills in mentioned users, reactions and attachments: one statement each for the whole slice,
/// whatever its length (a history page of 50 used to cost 150 statements, one of each per
/// message, and every one of them reads B-tree pages of its own). The ids travel as one JSON array
/// (`json_each`), so each statement is prepared once and cached.
pub(super) fn complete(c: &Connection, messages: &mut [MessageRecord]) -> Result<(), StorageError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids = format!(
        "[{}]",
        messages
            .iter()
            .map(|m| m.id.0.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut at = std::collections::HashMap::with_capacity(messages.len());
    for (i, m) in messages.iter_mut().enumerate() {
        m.mentions.users.clear();
        m.attachments.clear();
        m.last_repliers.clear();
        at.insert(m.id.0, i);
    }
    let mut mentions = c
        .prepare_cached(
            "SELECT message_id, user_id FROM message_mentions
             WHERE message_id IN (SELECT value FROM json_each(?1))
             ORDER BY message_id, user_id",
        )
        .map_err(backend)?;
    let rows = mentions
        .query_map([&ids], |r| Ok((r.get::<_, i64>(0)?, UserId(r.get(1)?))))
        .map_err(backend)?;
    for row in rows {
        let (message, user) = row.map_err(backend)?;
        if let Some(&i) = at.get(&message) {
            messages[i].mentions.users.push(user);
        }
    }
    // Per message: emojis in the order each was first used, then users in the order they reacted.
    let mut reactions = c
        .prepare_cached(
            "SELECT message_id, emoji, user_id FROM reactions
             WHERE message_id IN (SELECT value FROM json_each(?1))
             ORDER BY message_id,
                      (SELECT MIN(created_at) FROM reactions f
                       WHERE f.message_id = reactions.message_id AND f.emoji = reactions.emoji),
                      emoji, created_at, user_id",
        )
        .map_err(backend)?;
    let mut per_message: Vec<Vec<(String, UserId)>> = vec![Vec::new(); messages.len()];
    let rows = reactions
        .query_map([&ids], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                UserId(r.get(2)?),
            ))
        })
        .map_err(backend)?;
    for row in rows {
        let (message, emoji, user) = row.map_err(backend)?;
        if let Some(&i) = at.get(&message) {
            per_message[i].push((emoji, user));
        }
    }
    for (m, rows) in messages.iter_mut().zip(per_message) {
        m.reactions = group_reactions(rows);
    }
    // Per thread root: each replier once, by their newest reply, newest first. Only messages with
    // replies have rows here, and the partial reply index serves the lookup.
    let mut repliers = c
        .prepare_cached(
            "SELECT reply_to, sender_id, MAX(seq) AS newest FROM messages
             WHERE reply_to IN (SELECT value FROM json_each(?1)) AND deleted_at IS NULL
             GROUP BY reply_to, sender_id
             ORDER BY reply_to, newest DESC",
        )
        .map_err(backend)?;
    let rows = repliers
        .query_map([&ids], |r| Ok((r.get::<_, i64>(0)?, UserId(r.get(1)?))))
        .map_err(backend)?;
    for row in rows {
        let (message, user) = row.map_err(backend)?;
        if let Some(&i) = at.get(&message)
            && messages[i].last_repliers.len() < jeco_shared::messages::THREAD_REPLIERS_MAX
        {
            messages[i].last_repliers.push(user);
        }
    }
    for attachment in super::media::attachments_of_messages(c, &ids)? {
        if let Some(&i) = attachment.message_id.and_then(|id| at.get(&id.0)) {
            messages[i].attachments.push(attachment);
        }
    }
    Ok(())
}

fn group_reactions(rows: Vec<(String, UserId)>) -> Vec<ReactionRecord> {
    let mut out: Vec<ReactionRecord> = Vec::new();
    for (emoji, user) in rows {
        match out.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => r.users.push(user),
            None => out.push(ReactionRecord {
                emoji,
                users: vec![user],
            }),
        }
    }
    out
}

/// Messages matching `condition` (on alias `m`), with the given order and limit.
fn select_messages(
    c: &Connection,
    condition: &str,
    order: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<MessageRecord>, StorageError> {
    let sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE {condition} ORDER BY {order}");
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let mut rows = stmt
        .query_map(params, message_from_row)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    complete(c, &mut rows)?;
    Ok(rows)
}

pub(super) fn message_by_id(
    c: &Connection,
    id: MessageId,
) -> Result<Option<MessageRecord>, StorageError> {
    Ok(select_messages(c, "m.id = ?1", "m.id", &[&id.0])?.pop())
}

/// The newest message of a conversation.
pub(super) fn last_message(
    c: &Connection,
    conversation: ConversationId,
) -> Result<Option<MessageRecord>, StorageError> {
    Ok(select_messages(
        c,
        "m.conversation_id = ?1 AND NOT m.thread_only",
        "m.seq DESC LIMIT 1",
        &[&conversation.0],
    )?
    .pop())
}

/// The messages at the given positions of a conversation as their `message_created` events
/// snapshot them (see [`super::events::MESSAGE_ROW`]): as stored by the send, before any reply,
/// reaction or pin. Only valid for messages that were never edited or deleted, which is what
/// [`keep_created_snapshot`] guarantees for the events that refer to their row.
pub(super) fn as_created(
    c: &Connection,
    conversation: ConversationId,
    seqs: &[i64],
) -> Result<std::collections::HashMap<i64, MessageRecord>, StorageError> {
    if seqs.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let list = format!(
        "[{}]",
        seqs.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let rows = select_messages(
        c,
        "m.conversation_id = ?1 AND m.seq IN (SELECT value FROM json_each(?2))",
        "m.seq",
        &[&conversation.0, &list],
    )?;
    Ok(rows
        .into_iter()
        .map(|mut m| {
            m.reply_count = 0;
            m.last_repliers = Vec::new();
            m.reactions = Vec::new();
            m.pinned = false;
            m.edited_at_ms = None;
            m.deleted_at_ms = None;
            (m.seq, m)
        })
        .collect())
}

/// Before the first edit or delete of a message whose `message_created` event is its row (see
/// [`super::events::MESSAGE_ROW`]: no event row at its position, or a marker row from an older
/// database), writes that event's snapshot out in full, so that replay keeps showing the message
/// as it was created. Must run in the change's transaction, before it changes the row.
fn keep_created_snapshot(tx: &Connection, id: MessageId) -> Result<(), StorageError> {
    let Some((conversation, seq)) = tx
        .query_row(
            "SELECT m.conversation_id, m.seq FROM messages m
             WHERE m.id = ?1
               AND NOT EXISTS (SELECT 1 FROM conversation_events e
                               WHERE e.conversation_id = m.conversation_id AND e.seq = m.seq
                                 AND e.data <> ?2)",
            params![id.0, super::events::MESSAGE_ROW],
            |r| Ok((ConversationId(r.get(0)?), r.get::<_, i64>(1)?)),
        )
        .optional()
        .map_err(backend)?
    else {
        return Ok(());
    };
    let message = as_created(tx, conversation, &[seq])?
        .remove(&seq)
        .ok_or(StorageError::NotFound)?;
    let (actor, at_ms) = (message.sender_id, message.created_at_ms);
    tx.execute(
        "INSERT INTO conversation_events (conversation_id, seq, actor_id, at, data)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (conversation_id, seq) DO UPDATE SET data = excluded.data",
        params![
            conversation.0,
            seq,
            actor.0,
            at_ms,
            super::events::to_json(&EventData::MessageCreated { message })?,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn exists(
    c: &Connection,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<bool, StorageError> {
    c.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM messages m WHERE {condition})"),
        params,
        |r| r.get(0),
    )
    .map_err(backend)
}

/// The condition (on alias `m`) of a message the channel's history shows: all but the replies
/// that stay in their thread.
const IN_CHANNEL: &str = "NOT m.thread_only";

fn history(
    c: &Connection,
    conversation: ConversationId,
    anchor: HistoryAnchor,
    limit: u32,
) -> Result<HistoryPage, StorageError> {
    let conv = conversation.0;
    let n = i64::from(limit);
    let older = |below: i64, take: i64| -> Result<(Vec<MessageRecord>, bool), StorageError> {
        let mut items = select_messages(
            c,
            &format!("m.conversation_id = ?1 AND m.seq < ?2 AND {IN_CHANNEL}"),
            "m.seq DESC LIMIT ?3",
            &[&conv, &below, &(take + 1)],
        )?;
        let more = items.len() as i64 > take;
        items.truncate(take as usize);
        items.reverse();
        Ok((items, more))
    };
    let newer = |from: i64, take: i64| -> Result<(Vec<MessageRecord>, bool), StorageError> {
        let mut items = select_messages(
            c,
            &format!("m.conversation_id = ?1 AND m.seq >= ?2 AND {IN_CHANNEL}"),
            "m.seq LIMIT ?3",
            &[&conv, &from, &(take + 1)],
        )?;
        let more = items.len() as i64 > take;
        items.truncate(take as usize);
        Ok((items, more))
    };
    Ok(match anchor {
        HistoryAnchor::Latest => {
            let (items, more_before) = older(i64::MAX, n)?;
            HistoryPage {
                items,
                more_before,
                more_after: false,
            }
        }
        HistoryAnchor::Before(seq) => {
            let (items, more_before) = older(seq, n)?;
            let more_after = exists(
                c,
                &format!("m.conversation_id = ?1 AND m.seq >= ?2 AND {IN_CHANNEL}"),
                &[&conv, &seq],
            )?;
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
        HistoryAnchor::After(seq) => {
            let (items, more_after) = newer(seq.saturating_add(1), n)?;
            let more_before = exists(
                c,
                &format!("m.conversation_id = ?1 AND m.seq <= ?2 AND {IN_CHANNEL}"),
                &[&conv, &seq],
            )?;
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
        HistoryAnchor::Around(id) => {
            let seq: i64 = c
                .query_row(
                    "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2",
                    params![id.0, conv],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?
                .ok_or(StorageError::NotFound)?;
            let before = n / 2;
            let (mut items, more_before) = older(seq, before)?;
            let (after, more_after) = newer(seq, n - before)?;
            items.extend(after);
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
    })
}

/// [`MessageStore::threads_of`]: the roots `user` wrote or replied to (found through the sender
/// index and the partial reply index), then their newest live reply, then the roots themselves.
fn threads_of(
    c: &Connection,
    user: UserId,
    limit: u32,
) -> Result<Vec<(MessageRecord, i64)>, StorageError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT root, MAX(r.created_at) AS newest FROM (
                 SELECT reply_to AS root FROM messages
                 WHERE sender_id = ?1 AND reply_to IS NOT NULL AND deleted_at IS NULL
                 UNION
                 SELECT id AS root FROM messages WHERE sender_id = ?1
             ) mine
             JOIN messages r ON r.reply_to = mine.root AND r.deleted_at IS NULL
             JOIN messages p ON p.id = mine.root
             JOIN conversation_members cm
                 ON cm.conversation_id = p.conversation_id AND cm.user_id = ?1
             GROUP BY root
             ORDER BY newest DESC, root DESC
             LIMIT ?2",
        )
        .map_err(backend)?;
    let roots = stmt
        .query_map(params![user.0, limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let ids = format!(
        "[{}]",
        roots
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut by_id: std::collections::HashMap<i64, MessageRecord> = select_messages(
        c,
        "m.id IN (SELECT value FROM json_each(?1))",
        "m.id",
        &[&ids],
    )?
    .into_iter()
    .map(|m| (m.id.0, m))
    .collect();
    Ok(roots
        .into_iter()
        .filter_map(|(id, newest)| by_id.remove(&id).map(|m| (m, newest)))
        .collect())
}

fn insert_mentions(c: &Connection, id: MessageId, users: &[UserId]) -> Result<(), StorageError> {
    c.execute("DELETE FROM message_mentions WHERE message_id = ?1", [id.0])
        .map_err(backend)?;
    for u in users {
        c.execute(
            "INSERT OR IGNORE INTO message_mentions (message_id, user_id) VALUES (?1, ?2)",
            params![id.0, u.0],
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// The conversation a message belongs to, or `NotFound`.
/// The thread root `id` replies to, if it is a reply.
fn root_of(c: &Connection, id: MessageId) -> Result<Option<MessageId>, StorageError> {
    Ok(
        c.query_row("SELECT reply_to FROM messages WHERE id = ?1", [id.0], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(backend)?
        .flatten()
        .map(MessageId),
    )
}

fn conversation_of(c: &Connection, id: MessageId) -> Result<ConversationId, StorageError> {
    c.query_row(
        "SELECT conversation_id FROM messages WHERE id = ?1",
        [id.0],
        |r| Ok(ConversationId(r.get(0)?)),
    )
    .optional()
    .map_err(backend)?
    .ok_or(StorageError::NotFound)
}

/// One event in a conversation, for everyone currently in it.
fn committed_one(
    tx: &Connection,
    conversation: ConversationId,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<Committed, StorageError> {
    let event = append_event(tx, conversation, actor, now_ms, data)?;
    single_event(tx, conversation, event)
}

/// Creates the notifications of a new message inside its transaction, as
/// [`notifying::message_notifications`] decides on the facts read here.
fn notify_about(
    tx: &Connection,
    message: &MessageRecord,
    notify: &[MessageNotification],
    committed: &mut Committed,
) -> Result<(), StorageError> {
    if notify.is_empty() {
        return Ok(());
    }
    let candidates = notifying::message_candidates(message.sender_id, notify);
    let facts = recipients(tx, message.conversation_id, &candidates, None)?;
    let records = notifying::message_notifications(message, notify, &facts);
    insert_notifications(tx, records, committed)
}

/// [`crate::storage::Storage::send_context`] in one statement plus the member list.
pub(super) fn send_context(
    c: &Connection,
    conversation: ConversationId,
    user: UserId,
) -> Result<Option<SendContext>, StorageError> {
    let row: Option<(String, bool, bool)> = c
        .prepare_cached(
            "SELECT c.kind,
                    EXISTS (SELECT 1 FROM channels ch
                            WHERE ch.conversation_id = c.id AND ch.archived_at IS NOT NULL),
                    EXISTS (SELECT 1 FROM conversation_members m
                            WHERE m.conversation_id = c.id AND m.user_id = ?2)
             FROM conversations c WHERE c.id = ?1",
        )
        .map_err(backend)?
        .query_row(params![conversation.0, user.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(backend)?;
    let Some((kind, archived, member)) = row else {
        return Ok(None);
    };
    if !member {
        return Ok(None);
    }
    Ok(Some(SendContext {
        kind: super::conversations::kind_from(&kind).map_err(backend)?,
        archived,
        members: super::events::member_ids(c, conversation)?,
    }))
}

/// Stores one message and its event inside the caller's write transaction, or finds the original
/// for a reused (sender, client_id) — which also sees a message stored earlier in the same
/// transaction, so a batch with the same key twice stores it once — or refuses it, before writing
/// anything, as [`sending::admit`] decides on the facts read here (membership, archive, then the
/// sender's budget). The refusal is an outcome rather than an error so that it does not roll the
/// batch back.
fn insert_message(
    tx: &Connection,
    m: &NewMessage,
    conversations: &mut BatchConversations,
) -> Result<SendOutcome, StorageError> {
    let facts = conversations.of(tx, m.conversation_id)?;
    let send = SendFacts {
        member: facts
            .as_ref()
            .is_some_and(|f| f.members.contains(&m.sender_id)),
        archived: facts.as_ref().is_some_and(|f| f.archived),
    };
    if let Err(refusal) = sending::admit(send, || m.admission.admit()) {
        return Ok(SendOutcome::Refused(refusal));
    }
    let facts = facts.expect("an admitted send has a conversation");
    // A cached statement: this runs for every message of every batch, so it is one statement:
    // the insert, which also finds a reused (sender, client_id) through that unique index (no row
    // is inserted), at the conversation's next position as this batch tracks it (the position of
    // its event, which is the row itself, see `events::MESSAGE_ROW`). The conversation row
    // (position and activity time) is written once per conversation by
    // [`BatchConversations::write_positions`], not once per message. No `RETURNING` (SQLite runs it as a trigger,
    // so the insert counts as one that may write several rows, and such a statement that may also
    // abort on a key gets a statement journal copying every page it touches) and no position
    // subquery: with both gone, the sub-journal's 5 % left the writer's profile (BENCHMARKS.md).
    let seq = facts.last_seq.get() + 1;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body,
                 reply_to, created_at, mentions_channel, mentions_here, thread_only)
             VALUES (?1, ?10, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (sender_id, client_id) DO NOTHING",
        )
        .map_err(backend)?
        .execute(params![
            m.conversation_id.0,
            m.sender_id.0,
            m.client_id,
            m.body,
            m.reply_to.map(|r| r.0),
            m.now_ms,
            m.mentions.channel,
            m.mentions.here,
            m.thread_only && m.reply_to.is_some(),
            seq
        ])
        .map_err(backend)?;
    if inserted == 0 {
        let id: i64 = tx
            .prepare_cached("SELECT id FROM messages WHERE sender_id = ?1 AND client_id = ?2")
            .map_err(backend)?
            .query_row(params![m.sender_id.0, m.client_id], |r| r.get(0))
            .map_err(backend)?;
        return message_by_id(tx, MessageId(id))?
            .map(SendOutcome::Duplicate)
            .ok_or(StorageError::NotFound);
    };
    let id = MessageId(tx.last_insert_rowid());
    facts.last_seq.set(seq);
    facts.touched.set(Some(
        facts.touched.get().map_or(m.now_ms, |t| t.max(m.now_ms)),
    ));
    let built = m.as_stored(id, seq);
    if !built.mentions.users.is_empty() {
        insert_mentions(tx, id, &built.mentions.users)?;
    }
    if !m.attachments.is_empty() {
        super::media::attach(tx, id, m.sender_id, &m.attachments)?;
    }
    // Attachments are read back (their records come from the media tables); plain messages,
    // the common case, are not.
    let message = if m.attachments.is_empty() {
        built
    } else {
        message_by_id(tx, id)?.ok_or(StorageError::NotFound)?
    };
    debug_assert_eq!(
        message_by_id(tx, id).ok().flatten().as_ref(),
        Some(&message)
    );
    let event = super::events::insert_event(
        tx,
        m.conversation_id,
        seq,
        m.sender_id,
        m.now_ms,
        EventData::MessageCreated {
            message: message.clone(),
        },
    )?;
    let mut committed = Committed {
        events: vec![event],
        recipients: facts.members.clone(),
        user_events: Vec::new(),
    };
    let notify = m.notify.decide(facts.kind, &facts.members);
    notify_about(tx, &message, &notify, &mut committed)?;
    Ok(SendOutcome::Created { message, committed })
}

/// Adds the messages created by `outcomes` to the full-text index, in one statement (see migration
/// 0007 for why not a trigger per row). Must run in the transaction that stored them, after the
/// last insert. A batch's new messages have consecutive ids — the writer holds the write lock — so
/// one id range covers them; rolled-back ones simply are not there.
fn index_for_search(tx: &Connection, outcomes: &[SendOutcome]) -> Result<(), StorageError> {
    let ids = outcomes.iter().filter_map(|o| match o {
        SendOutcome::Created { message, .. } => Some(message.id.0),
        SendOutcome::Duplicate(_) | SendOutcome::Refused(_) => None,
    });
    let (first, last) = ids.fold((i64::MAX, i64::MIN), |(lo, hi), id| {
        (lo.min(id), hi.max(id))
    });
    if first > last {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, body)
         SELECT id, body FROM messages WHERE id BETWEEN ?1 AND ?2 AND deleted_at IS NULL",
    )
    .map_err(backend)?
    .execute(params![first, last])
    .map_err(backend)?;
    Ok(())
}

/// What a send needs to know about its conversation.
struct ConversationFacts {
    kind: ConversationKind,
    archived: bool,
    /// In joining order, the sender included: the recipients of its events.
    members: Vec<UserId>,
    /// The conversation's newest position as this transaction has moved it: read once with the
    /// facts, then advanced by each message stored into it.
    last_seq: std::cell::Cell<i64>,
    /// The newest activity time of the messages stored into it and not yet written to its row
    /// (see [`BatchConversations::write_positions`]); `None` when the row is up to date.
    touched: std::cell::Cell<Option<i64>>,
}

/// Conversations as the batch's transaction sees them, read once per batch and conversation:
/// sends change neither membership, kind nor archive state, so every message of a batch into one
/// conversation sees the same facts. This is the membership check of a send (see
/// [`crate::storage::group_commit`]), so it is read inside the write transaction.
#[derive(Default)]
struct BatchConversations(std::collections::HashMap<ConversationId, Option<Rc<ConversationFacts>>>);

impl BatchConversations {
    fn of(
        &mut self,
        tx: &Connection,
        conversation: ConversationId,
    ) -> Result<Option<Rc<ConversationFacts>>, StorageError> {
        if let Some(facts) = self.0.get(&conversation) {
            return Ok(facts.clone());
        }
        let row: Option<(String, bool, i64)> = tx
            .prepare_cached(
                "SELECT c.kind,
                        EXISTS (SELECT 1 FROM channels ch
                                WHERE ch.conversation_id = c.id AND ch.archived_at IS NOT NULL),
                        c.last_seq
                 FROM conversations c WHERE c.id = ?1",
            )
            .map_err(backend)?
            .query_row([conversation.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(backend)?;
        let facts = match row {
            None => None,
            Some((kind, archived, last_seq)) => Some(Rc::new(ConversationFacts {
                kind: super::conversations::kind_from(&kind).map_err(backend)?,
                archived,
                last_seq: std::cell::Cell::new(last_seq),
                touched: std::cell::Cell::new(None),
                members: super::events::member_ids(tx, conversation)?,
            })),
        };
        self.0.insert(conversation, facts.clone());
        Ok(facts)
    }

    /// Writes the position and activity time of every conversation that messages were stored into
    /// since the last call: one update per conversation and batch instead of one per message (a
    /// busy conversation gets many messages in one batch; each update also moved its entry in
    /// `conversations_last_activity`). Must run in the transaction (or savepoint) that stored them,
    /// before it commits: nothing in a send's transaction reads these columns back — positions
    /// come from the facts above.
    fn write_positions(&self, tx: &Connection) -> Result<(), StorageError> {
        for (id, facts) in &self.0 {
            let Some(facts) = facts else { continue };
            let Some(at) = facts.touched.take() else {
                continue;
            };
            tx.prepare_cached(
                "UPDATE conversations SET last_seq = ?2, last_activity_at = ?3 WHERE id = ?1",
            )
            .map_err(backend)?
            .execute(params![id.0, facts.last_seq.get(), at])
            .map_err(backend)?;
        }
        Ok(())
    }
}

#[async_trait]
impl MessageStore for SqliteStorage {
    async fn send_message(&self, m: NewMessage) -> Result<SendOutcome, StorageError> {
        self.sends
            .run(move |c| {
                write(c, |tx| {
                    let mut conversations = BatchConversations::default();
                    let outcome = insert_message(tx, &m, &mut conversations)?;
                    conversations.write_positions(tx)?;
                    index_for_search(tx, std::slice::from_ref(&outcome))?;
                    Ok(outcome)
                })
            })
            .await
    }

    /// Group commit: the whole batch in one `BEGIN IMMEDIATE` transaction, in batch order (so
    /// positions follow that order).
    ///
    /// The common case takes no savepoints: a savepoint makes FTS5 flush its pending index to disk
    /// and SQLite copy every page it then touches into a sub-journal, which cost more than the
    /// inserts themselves (measured: `storage_append` in BENCHMARKS.md). If any message is refused
    /// (say, its conversation was just deleted), that transaction is rolled back and the batch is
    /// stored again with a savepoint per message, so the refused one fails alone.
    async fn send_messages(
        &self,
        batch: Vec<NewMessage>,
    ) -> Result<Vec<Result<SendOutcome, StorageError>>, StorageError> {
        self.sends
            .run(move |c| {
                let together = write(c, |tx| {
                    let mut conversations = BatchConversations::default();
                    // Sized up front: an outcome holds the whole message, and growing the vector
                    // by doubling copied them again (4 % of the writer's time, BENCHMARKS.md).
                    let mut outcomes = Vec::with_capacity(batch.len());
                    for m in &batch {
                        outcomes.push(insert_message(tx, m, &mut conversations)?);
                    }
                    conversations.write_positions(tx)?;
                    index_for_search(tx, &outcomes)?;
                    Ok(outcomes)
                });
                if let Ok(outcomes) = together {
                    return Ok(outcomes.into_iter().map(Ok).collect());
                }
                let mut tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let mut results = Vec::with_capacity(batch.len());
                let mut conversations = BatchConversations::default();
                for m in &batch {
                    let savepoint = tx.savepoint().map_err(backend)?;
                    let result =
                        insert_message(&savepoint, m, &mut conversations).and_then(|outcome| {
                            conversations.write_positions(&savepoint).map(|()| outcome)
                        });
                    if result.is_ok() {
                        savepoint.commit().map_err(backend)?;
                    } else {
                        // Rolled back: what this batch knows of the conversation may be ahead of it.
                        conversations.0.remove(&m.conversation_id);
                    }
                    // Dropping an uncommitted savepoint rolls it back.
                    results.push(result);
                }
                let stored: Vec<SendOutcome> = results
                    .iter()
                    .filter_map(|r| r.as_ref().ok().cloned())
                    .collect();
                index_for_search(&tx, &stored)?;
                tx.commit().map_err(backend)?;
                Ok(results)
            })
            .await
    }

    async fn message(&self, id: MessageId) -> Result<Option<MessageRecord>, StorageError> {
        self.pool.run(move |c| message_by_id(c, id)).await
    }

    async fn history(
        &self,
        conversation: ConversationId,
        anchor: HistoryAnchor,
        limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        self.pool
            .run(move |c| history(c, conversation, anchor, limit))
            .await
    }

    async fn replies(
        &self,
        parent: MessageId,
        after: i64,
        limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        self.pool
            .run(move |c| {
                let take = i64::from(limit);
                let mut items = select_messages(
                    c,
                    "m.reply_to = ?1 AND m.seq > ?2",
                    "m.seq LIMIT ?3",
                    &[&parent.0, &after, &(take + 1)],
                )?;
                let more_after = items.len() as i64 > take;
                items.truncate(take as usize);
                let more_before = after > 0
                    && exists(c, "m.reply_to = ?1 AND m.seq <= ?2", &[&parent.0, &after])?;
                Ok(HistoryPage {
                    items,
                    more_before,
                    more_after,
                })
            })
            .await
    }

    async fn edit_message(
        &self,
        id: MessageId,
        actor: UserId,
        body: String,
        mentions: MentionSet,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let conversation = conversation_of(tx, id)?;
                    keep_created_snapshot(tx, id)?;
                    tx.execute(
                        "UPDATE messages SET body = ?1, edited_at = ?2, mentions_channel = ?3,
                             mentions_here = ?4
                         WHERE id = ?5",
                        params![body, now_ms, mentions.channel, mentions.here, id.0],
                    )
                    .map_err(backend)?;
                    insert_mentions(tx, id, &mentions.users)?;
                    requote(tx, id, &body)?;
                    let candidates = notifying::mention_candidates(actor, &mentions.users);
                    let facts = recipients(tx, conversation, &candidates, Some(id))?;
                    let records = notifying::edit_notifications(
                        &notifying::Edit {
                            conversation,
                            message: id,
                            editor: actor,
                            body: &body,
                            now_ms,
                        },
                        &facts,
                    );
                    let mut committed = committed_one(
                        tx,
                        conversation,
                        actor,
                        now_ms,
                        EventData::MessageEdited {
                            message: id,
                            body,
                            edited_at_ms: now_ms,
                            mentions,
                        },
                    )?;
                    insert_notifications(tx, records, &mut committed)?;
                    Ok(committed)
                })
            })
            .await
    }

    async fn delete_message(
        &self,
        id: MessageId,
        actor: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let conversation = conversation_of(tx, id)?;
                    keep_created_snapshot(tx, id)?;
                    // The row stays as a tombstone so replies and positions keep their anchor.
                    tx.execute(
                        "UPDATE messages SET body = '', deleted_at = ?1, pinned_at = NULL,
                             mentions_channel = 0, mentions_here = 0
                         WHERE id = ?2",
                        params![now_ms, id.0],
                    )
                    .map_err(backend)?;
                    requote(tx, id, "")?;
                    insert_mentions(tx, id, &[])?;
                    tx.execute("DELETE FROM reactions WHERE message_id = ?1", [id.0])
                        .map_err(backend)?;
                    super::media::detach_all(tx, id)?;
                    let thread = match root_of(tx, id)? {
                        Some(root) => message_by_id(tx, root)?.map(|r| RootTally::of(&r)),
                        None => None,
                    };
                    committed_one(
                        tx,
                        conversation,
                        actor,
                        now_ms,
                        EventData::MessageDeleted {
                            message: id,
                            thread,
                        },
                    )
                })
            })
            .await
    }

    async fn set_reaction(
        &self,
        id: MessageId,
        user: UserId,
        emoji: String,
        want: Option<bool>,
        now_ms: i64,
    ) -> Result<(bool, Vec<ReactionRecord>, Option<Committed>), StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let conversation = conversation_of(tx, id)?;
                    let present: bool = tx
                        .query_row(
                            "SELECT EXISTS (SELECT 1 FROM reactions
                             WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3)",
                            params![id.0, emoji, user.0],
                            |r| r.get(0),
                        )
                        .map_err(backend)?;
                    let add = want.unwrap_or(!present);
                    let committed = if add == present {
                        None
                    } else {
                        let data = if add {
                            tx.execute(
                                "INSERT INTO reactions (message_id, emoji, user_id, created_at)
                                 VALUES (?1, ?2, ?3, ?4)",
                                params![id.0, emoji, user.0, now_ms],
                            )
                            .map_err(backend)?;
                            EventData::ReactionAdded {
                                message: id,
                                user,
                                emoji,
                            }
                        } else {
                            tx.execute(
                                "DELETE FROM reactions
                                 WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3",
                                params![id.0, emoji, user.0],
                            )
                            .map_err(backend)?;
                            EventData::ReactionRemoved {
                                message: id,
                                user,
                                emoji,
                            }
                        };
                        Some(committed_one(tx, conversation, user, now_ms, data)?)
                    };
                    let reactions = message_by_id(tx, id)?
                        .map(|m| m.reactions)
                        .unwrap_or_default();
                    Ok((add, reactions, committed))
                })
            })
            .await
    }

    async fn set_pinned(
        &self,
        id: MessageId,
        actor: UserId,
        pinned: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let conversation = conversation_of(tx, id)?;
                    let changed = if pinned {
                        tx.execute(
                            "UPDATE messages SET pinned_at = ?1
                             WHERE id = ?2 AND pinned_at IS NULL AND deleted_at IS NULL",
                            params![now_ms, id.0],
                        )
                    } else {
                        tx.execute(
                            "UPDATE messages SET pinned_at = NULL WHERE id = ?1 AND pinned_at IS NOT NULL",
                            [id.0],
                        )
                    }
                    .map_err(backend)?;
                    if changed == 0 {
                        return Ok(None);
                    }
                    let data = if pinned {
                        EventData::Pinned { message: id }
                    } else {
                        EventData::Unpinned { message: id }
                    };
                    committed_one(tx, conversation, actor, now_ms, data).map(Some)
                })
            })
            .await
    }

    async fn threads_of(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(MessageRecord, i64)>, StorageError> {
        self.pool.run(move |c| threads_of(c, user, limit)).await
    }

    async fn message_ids_by_sender(&self, sender: UserId) -> Result<Vec<MessageId>, StorageError> {
        self.pool
            .run(move |c| {
                // Covered by the unique (sender_id, client_id) index, whose entries carry the
                // rowid: no table read, one sort of the sender's ids.
                let mut stmt = c
                    .prepare_cached("SELECT id FROM messages WHERE sender_id = ?1 ORDER BY id")
                    .map_err(backend)?;
                stmt.query_map([sender.0], |r| Ok(MessageId(r.get(0)?)))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn messages_by_ids(
        &self,
        ids: Vec<MessageId>,
    ) -> Result<Vec<MessageRecord>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.pool
            .run(move |c| {
                let ids = format!(
                    "[{}]",
                    ids.iter()
                        .map(|id| id.0.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                );
                select_messages(
                    c,
                    "m.id IN (SELECT value FROM json_each(?1))",
                    "m.id",
                    &[&ids],
                )
            })
            .await
    }

    async fn pins(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, StorageError> {
        self.pool
            .run(move |c| {
                select_messages(
                    c,
                    "m.conversation_id = ?1 AND m.pinned_at IS NOT NULL",
                    "m.pinned_at DESC, m.seq DESC",
                    &[&conversation.0],
                )
            })
            .await
    }
}
