//! [`MessageStore`] on PostgreSQL.
//!
//! Differences from SQLite, where one `BEGIN IMMEDIATE` writer at a time made every
//! read-then-write safe:
//! - a send locks its conversation rows first (`SELECT … ORDER BY id FOR UPDATE`: a batch from
//!   group commit may span many conversations, always locked in ascending id order), then reads
//!   membership and archive state under that lock — every membership change or archiving appends
//!   an event, so it holds the same lock — and only then takes positions;
//! - then it locks the event heads of everyone the batch may notify, in ascending user id order
//!   ([`super::log::lock_user_heads`]), so two instances never deadlock on them;
//! - edits, deletes, reactions and pins lock the message's conversation row before they read
//!   anything (the reaction toggle and the first-edit snapshot are read-then-write);
//! - a batch costs a fixed number of round trips, not a few per message: under its locks it reads
//!   the conversations' facts, members and the keys sent before in one pipelined round trip, takes
//!   its positions from the locked rows' `last_seq` itself, and writes every message, event and new
//!   position in a second (`unnest` of one array per column). At 100 concurrent senders the
//!   database spent most of a batch "idle in transaction", waiting for the server's next statement
//!   (BENCHMARKS.md, tenth session);
//! - if anything in that fails (or a key turns out taken by a send committed meanwhile), the batch
//!   is stored again one message at a time with a savepoint each, so the failure stays alone and no
//!   position is skipped (an error aborts a PostgreSQL transaction, so savepoints are what "fails
//!   alone" costs);
//! - the full-text index is a generated column: nothing to index by hand;
//! - lists of ids travel as one `BIGINT[]` parameter (`= ANY($1)`).

use super::log::{self, MESSAGE_ROW};
use super::notifications::{insert_notifications, notify_recipients, requote};
use super::{PgStorage, pg};
use crate::services::rules::notifying;
use crate::services::rules::sending::{self, SendFacts};
use crate::storage::StorageError;
use crate::storage::events::{Committed, EventData, EventRecord, RootTally};
use crate::storage::media::{AttachmentRecord, BlobRecord, ThumbnailState};
use crate::storage::messages::*;
use crate::storage::notifications::MessageNotification;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::media::AttachmentKind;
use jeco_shared::{AttachmentId, ConversationId, MessageId, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::Row;

/// The columns [`msg_from_row`] reads, on alias `m`.
pub(super) const MSG_COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body,
    m.reply_to,
    (SELECT COUNT(*) FROM messages r WHERE r.reply_to = m.id AND r.deleted_at IS NULL),
    m.created_at, m.edited_at, m.deleted_at, m.pinned_at IS NOT NULL, m.mentions_channel,
    m.mentions_here, m.thread_only";

/// Number of [`MSG_COLUMNS`].
pub(super) const MSG_COLUMN_COUNT: usize = 15;

pub(super) fn msg_from_row(r: &Row) -> MessageRecord {
    MessageRecord {
        id: MessageId(r.get(0)),
        conversation_id: ConversationId(r.get(1)),
        seq: r.get(2),
        sender_id: UserId(r.get(3)),
        client_id: r.get(4),
        body: r.get(5),
        reply_to: r.get::<_, Option<i64>>(6).map(MessageId),
        thread_only: r.get(14),
        reply_count: u32::try_from(r.get::<_, i64>(7)).unwrap_or(u32::MAX),
        last_repliers: Vec::new(),
        created_at_ms: r.get(8),
        edited_at_ms: r.get(9),
        deleted_at_ms: r.get(10),
        pinned: r.get(11),
        mentions: MentionSet {
            users: Vec::new(),
            channel: r.get(12),
            here: r.get(13),
        },
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

fn attachment_kind(s: &str) -> AttachmentKind {
    match s {
        "image" => AttachmentKind::Image,
        "voice" => AttachmentKind::Voice,
        _ => AttachmentKind::File,
    }
}

/// The attachments of several messages, ordered by message and then in display order.
async fn msg_attachments(
    c: &impl GenericClient,
    ids: &[i64],
) -> Result<Vec<AttachmentRecord>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT a.id, a.uploader_id, a.kind, a.name, a.duration_ms, a.waveform, a.message_id,
                    a.created_at, b.sha256, b.size, b.content_type, b.width, b.height,
                    b.thumbnail_state, b.thumbnail_type, b.created_at
             FROM attachments a JOIN media_blobs b ON b.sha256 = a.blob_sha256
             WHERE a.message_id = ANY($1)
             ORDER BY a.message_id, a.position, a.id",
        )
        .await
        .map_err(pg)?;
    Ok(c.query(&stmt, &[&ids])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| AttachmentRecord {
            id: AttachmentId(r.get(0)),
            uploader_id: UserId(r.get(1)),
            kind: attachment_kind(r.get(2)),
            name: r.get(3),
            duration_ms: r
                .get::<_, Option<i64>>(4)
                .map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
            waveform: r.get(5),
            message_id: r.get::<_, Option<i64>>(6).map(MessageId),
            created_at_ms: r.get(7),
            blob: BlobRecord {
                sha256: r.get(8),
                size: r.get::<_, i64>(9) as u64,
                content_type: r.get(10),
                width: r.get::<_, Option<i64>>(11).map(|w| w as u32),
                height: r.get::<_, Option<i64>>(12).map(|h| h as u32),
                thumbnail: ThumbnailState::parse(r.get(13)),
                thumbnail_type: r.get(14),
                created_at_ms: r.get(15),
            },
        })
        .collect())
}

/// Fills in mentioned users, reactions, recent repliers and attachments: one statement each for
/// the whole slice, whatever its length.
pub(super) async fn msg_complete(
    c: &impl GenericClient,
    messages: &mut [MessageRecord],
) -> Result<(), StorageError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let mut at = HashMap::with_capacity(messages.len());
    for (i, m) in messages.iter_mut().enumerate() {
        m.mentions.users.clear();
        m.attachments.clear();
        m.last_repliers.clear();
        at.insert(m.id.0, i);
    }
    let stmt = c
        .prepare_cached(
            "SELECT message_id, user_id FROM message_mentions
             WHERE message_id = ANY($1) ORDER BY message_id, user_id",
        )
        .await
        .map_err(pg)?;
    for r in c.query(&stmt, &[&ids]).await.map_err(pg)? {
        if let Some(&i) = at.get(&r.get::<_, i64>(0)) {
            messages[i].mentions.users.push(UserId(r.get(1)));
        }
    }
    // Per message: emojis in the order each was first used, then users in the order they reacted.
    let stmt = c
        .prepare_cached(
            "SELECT message_id, emoji, user_id FROM reactions
             WHERE message_id = ANY($1)
             ORDER BY message_id,
                      (SELECT MIN(created_at) FROM reactions f
                       WHERE f.message_id = reactions.message_id AND f.emoji = reactions.emoji),
                      emoji, created_at, user_id",
        )
        .await
        .map_err(pg)?;
    let mut per_message: Vec<Vec<(String, UserId)>> = vec![Vec::new(); messages.len()];
    for r in c.query(&stmt, &[&ids]).await.map_err(pg)? {
        if let Some(&i) = at.get(&r.get::<_, i64>(0)) {
            per_message[i].push((r.get(1), UserId(r.get(2))));
        }
    }
    for (m, rows) in messages.iter_mut().zip(per_message) {
        m.reactions = group_reactions(rows);
    }
    // Per thread root: each replier once, by their newest reply, newest first.
    let stmt = c
        .prepare_cached(
            "SELECT reply_to, sender_id, MAX(seq) AS newest FROM messages
             WHERE reply_to = ANY($1) AND deleted_at IS NULL
             GROUP BY reply_to, sender_id
             ORDER BY reply_to, newest DESC",
        )
        .await
        .map_err(pg)?;
    for r in c.query(&stmt, &[&ids]).await.map_err(pg)? {
        if let Some(&i) = at.get(&r.get::<_, i64>(0))
            && messages[i].last_repliers.len() < jeco_shared::messages::THREAD_REPLIERS_MAX
        {
            messages[i].last_repliers.push(UserId(r.get(1)));
        }
    }
    for attachment in msg_attachments(c, &ids).await? {
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

/// Messages matching `condition` (on alias `m`), with the given order and limit, complete.
async fn select_messages(
    c: &impl GenericClient,
    condition: &str,
    order: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<MessageRecord>, StorageError> {
    let sql = format!("SELECT {MSG_COLUMNS} FROM messages m WHERE {condition} ORDER BY {order}");
    let stmt = c.prepare_cached(&sql).await.map_err(pg)?;
    let mut rows: Vec<MessageRecord> = c
        .query(&stmt, params)
        .await
        .map_err(pg)?
        .iter()
        .map(msg_from_row)
        .collect();
    msg_complete(c, &mut rows).await?;
    Ok(rows)
}

pub(super) async fn msg_by_id(
    c: &impl GenericClient,
    id: MessageId,
) -> Result<Option<MessageRecord>, StorageError> {
    Ok(select_messages(c, "m.id = $1", "m.id", &[&id.0])
        .await?
        .pop())
}

/// The messages at the given positions of a conversation as their `message_created` events
/// snapshot them (see [`MESSAGE_ROW`]): as stored by the send, before any reply, reaction or pin.
/// Only valid for messages that were never edited or deleted, which [`keep_created_snapshot`]
/// guarantees for the events that refer to their row.
pub(super) async fn msg_as_created(
    c: &impl GenericClient,
    conversation: ConversationId,
    seqs: &[i64],
) -> Result<HashMap<i64, MessageRecord>, StorageError> {
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = select_messages(
        c,
        "m.conversation_id = $1 AND m.seq = ANY($2)",
        "m.seq",
        &[&conversation.0, &seqs],
    )
    .await?;
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

/// Before the first edit or delete of a message whose `message_created` event refers to its row
/// (see [`MESSAGE_ROW`]), writes that event's snapshot out in full, so that replay keeps showing
/// the message as it was created. Must run in the change's transaction, under the conversation's
/// lock ([`lock_conversation_of`]), before it changes the row.
async fn keep_created_snapshot(tx: &impl GenericClient, id: MessageId) -> Result<(), StorageError> {
    let Some(row) = tx
        .query_opt(
            "SELECT e.conversation_id, e.seq FROM messages m
             JOIN conversation_events e ON e.conversation_id = m.conversation_id AND e.seq = m.seq
             WHERE m.id = $1 AND e.data = $2",
            &[&id.0, &MESSAGE_ROW],
        )
        .await
        .map_err(pg)?
    else {
        return Ok(());
    };
    let (conversation, seq) = (ConversationId(row.get(0)), row.get::<_, i64>(1));
    let message = msg_as_created(tx, conversation, &[seq])
        .await?
        .remove(&seq)
        .ok_or(StorageError::NotFound)?;
    tx.execute(
        "UPDATE conversation_events SET data = $1 WHERE conversation_id = $2 AND seq = $3",
        &[
            &log::to_json(&EventData::MessageCreated { message })?,
            &conversation.0,
            &seq,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

async fn exists(
    c: &impl GenericClient,
    condition: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<bool, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM messages m WHERE {condition})"
        ))
        .await
        .map_err(pg)?;
    Ok(c.query_one(&stmt, params).await.map_err(pg)?.get(0))
}

/// The condition (on alias `m`) of a message the channel's history shows: all but the replies
/// that stay in their thread.
const IN_CHANNEL: &str = "NOT m.thread_only";

async fn older(
    c: &impl GenericClient,
    conv: i64,
    below: i64,
    take: i64,
) -> Result<(Vec<MessageRecord>, bool), StorageError> {
    let mut items = select_messages(
        c,
        &format!("m.conversation_id = $1 AND m.seq < $2 AND {IN_CHANNEL}"),
        "m.seq DESC LIMIT $3",
        &[&conv, &below, &(take + 1)],
    )
    .await?;
    let more = items.len() as i64 > take;
    items.truncate(take as usize);
    items.reverse();
    Ok((items, more))
}

async fn newer(
    c: &impl GenericClient,
    conv: i64,
    from: i64,
    take: i64,
) -> Result<(Vec<MessageRecord>, bool), StorageError> {
    let mut items = select_messages(
        c,
        &format!("m.conversation_id = $1 AND m.seq >= $2 AND {IN_CHANNEL}"),
        "m.seq LIMIT $3",
        &[&conv, &from, &(take + 1)],
    )
    .await?;
    let more = items.len() as i64 > take;
    items.truncate(take as usize);
    Ok((items, more))
}

async fn history(
    c: &impl GenericClient,
    conversation: ConversationId,
    anchor: HistoryAnchor,
    limit: u32,
) -> Result<HistoryPage, StorageError> {
    let conv = conversation.0;
    let n = i64::from(limit);
    Ok(match anchor {
        HistoryAnchor::Latest => {
            let (items, more_before) = older(c, conv, i64::MAX, n).await?;
            HistoryPage {
                items,
                more_before,
                more_after: false,
            }
        }
        HistoryAnchor::Before(seq) => {
            let (items, more_before) = older(c, conv, seq, n).await?;
            let more_after = exists(
                c,
                &format!("m.conversation_id = $1 AND m.seq >= $2 AND {IN_CHANNEL}"),
                &[&conv, &seq],
            )
            .await?;
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
        HistoryAnchor::After(seq) => {
            let (items, more_after) = newer(c, conv, seq.saturating_add(1), n).await?;
            let more_before = exists(
                c,
                &format!("m.conversation_id = $1 AND m.seq <= $2 AND {IN_CHANNEL}"),
                &[&conv, &seq],
            )
            .await?;
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
        HistoryAnchor::Around(id) => {
            let seq: i64 = c
                .query_opt(
                    "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2",
                    &[&id.0, &conv],
                )
                .await
                .map_err(pg)?
                .ok_or(StorageError::NotFound)?
                .get(0);
            let before = n / 2;
            let (mut items, more_before) = older(c, conv, seq, before).await?;
            let (after, more_after) = newer(c, conv, seq, n - before).await?;
            items.extend(after);
            HistoryPage {
                items,
                more_before,
                more_after,
            }
        }
    })
}

/// [`MessageStore::threads_of`]: the roots `user` wrote or replied to, then their newest live
/// reply, then the roots themselves.
async fn threads_of(
    c: &impl GenericClient,
    user: UserId,
    limit: u32,
) -> Result<Vec<(MessageRecord, i64)>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT mine.root, MAX(r.created_at) AS newest FROM (
                 SELECT reply_to AS root FROM messages
                 WHERE sender_id = $1 AND reply_to IS NOT NULL AND deleted_at IS NULL
                 UNION
                 SELECT id AS root FROM messages WHERE sender_id = $1
             ) mine
             JOIN messages r ON r.reply_to = mine.root AND r.deleted_at IS NULL
             JOIN messages p ON p.id = mine.root
             JOIN conversation_members cm
                 ON cm.conversation_id = p.conversation_id AND cm.user_id = $1
             GROUP BY mine.root
             ORDER BY newest DESC, mine.root DESC
             LIMIT $2",
        )
        .await
        .map_err(pg)?;
    let roots: Vec<(i64, i64)> = c
        .query(&stmt, &[&user.0, &i64::from(limit)])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = roots.iter().map(|(id, _)| *id).collect();
    let mut by_id: HashMap<i64, MessageRecord> =
        select_messages(c, "m.id = ANY($1)", "m.id", &[&ids])
            .await?
            .into_iter()
            .map(|m| (m.id.0, m))
            .collect();
    Ok(roots
        .into_iter()
        .filter_map(|(id, newest)| by_id.remove(&id).map(|m| (m, newest)))
        .collect())
}

async fn insert_mentions(
    c: &impl GenericClient,
    id: MessageId,
    users: &[UserId],
) -> Result<(), StorageError> {
    let stmt = c
        .prepare_cached("DELETE FROM message_mentions WHERE message_id = $1")
        .await
        .map_err(pg)?;
    c.execute(&stmt, &[&id.0]).await.map_err(pg)?;
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let stmt = c
        .prepare_cached(
            "INSERT INTO message_mentions (message_id, user_id)
             SELECT $1, u FROM unnest($2::BIGINT[]) AS u ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(pg)?;
    c.execute(&stmt, &[&id.0, &ids]).await.map_err(pg)?;
    Ok(())
}

/// Attaches the sender's unattached uploads to a new message, in order. Any that is not the
/// sender's, does not exist or is already attached fails the send with
/// [`StorageError::Conflict`]. `message_id IS NULL` in the update's condition is re-checked on the
/// row after a concurrent attach commits, so an upload is attached to one message only.
async fn msg_attach(
    tx: &impl GenericClient,
    message: MessageId,
    sender: UserId,
    ids: &[AttachmentId],
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE attachments SET message_id = $1, position = $2
             WHERE id = $3 AND uploader_id = $4 AND message_id IS NULL",
        )
        .await
        .map_err(pg)?;
    for (position, id) in ids.iter().enumerate() {
        let changed = tx
            .execute(&stmt, &[&message.0, &(position as i64), &id.0, &sender.0])
            .await
            .map_err(pg)?;
        if changed != 1 {
            return Err(StorageError::Conflict);
        }
    }
    Ok(())
}

/// The conversation a message belongs to, or `NotFound`; its row stays locked until the
/// transaction ends, so this change is ordered with every other of the conversation.
async fn lock_conversation_of(
    tx: &impl GenericClient,
    id: MessageId,
) -> Result<ConversationId, StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = $1 FOR UPDATE OF c",
        )
        .await
        .map_err(pg)?;
    Ok(ConversationId(
        tx.query_opt(&stmt, &[&id.0])
            .await
            .map_err(pg)?
            .ok_or(StorageError::NotFound)?
            .get(0),
    ))
}

/// One event in a conversation, for everyone currently in it.
async fn committed_one(
    tx: &impl GenericClient,
    conversation: ConversationId,
    actor: UserId,
    now_ms: i64,
    data: EventData,
) -> Result<Committed, StorageError> {
    let event = log::append_event(tx, conversation, actor, now_ms, data).await?;
    log::single_event(tx, conversation, event).await
}

/// What a send needs to know about its conversation.
struct ConversationFacts {
    kind: ConversationKind,
    archived: bool,
    /// In joining order, the sender included: the recipients of its events.
    members: Vec<UserId>,
    /// The conversation's position when it was locked: a batch takes the next ones itself.
    last_seq: i64,
}

fn conversation_kind(text: &str) -> Result<ConversationKind, StorageError> {
    match text {
        "channel" => Ok(ConversationKind::Channel),
        "group" => Ok(ConversationKind::Group),
        "direct" => Ok(ConversationKind::Direct),
        other => Err(StorageError::Backend(
            format!("unknown conversation kind {other:?}").into(),
        )),
    }
}

/// Locks the conversations of a batch in ascending id order, then reads their facts and the
/// batch's keys sent before, under the locks: four statements in two round trips, whatever the
/// batch.
async fn lock_conversations(
    tx: &impl GenericClient,
    batch: &[NewMessage],
) -> Result<BatchFacts, StorageError> {
    let mut ids: Vec<i64> = batch.iter().map(|m| m.conversation_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let lock = tx
        .prepare_cached("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .await
        .map_err(pg)?;
    tx.query(&lock, &[&ids]).await.map_err(pg)?;
    // A new statement: READ COMMITTED sees everything committed before the locks were granted.
    let facts = tx
        .prepare_cached(
            "SELECT c.id, c.kind,
                    EXISTS (SELECT 1 FROM channels ch
                            WHERE ch.conversation_id = c.id AND ch.archived_at IS NOT NULL),
                    c.last_seq
             FROM conversations c WHERE c.id = ANY($1)",
        )
        .await
        .map_err(pg)?;
    let members = tx
        .prepare_cached(
            "SELECT conversation_id, user_id FROM conversation_members
             WHERE conversation_id = ANY($1)
             ORDER BY conversation_id, joined_seq, user_id",
        )
        .await
        .map_err(pg)?;
    // Messages stored before with one of the batch's keys: read now, so the batch can take its
    // positions itself (`store_batch`).
    let earlier = tx
        .prepare_cached(
            "SELECT m.sender_id, m.client_id, m.id
             FROM unnest($1::BIGINT[], $2::TEXT[]) AS k (sender_id, client_id)
             JOIN messages m ON m.sender_id = k.sender_id AND m.client_id = k.client_id",
        )
        .await
        .map_err(pg)?;
    let (senders, client_ids): (Vec<i64>, Vec<&str>) = batch
        .iter()
        .map(|m| (m.sender_id.0, m.client_id.as_str()))
        .unzip();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&ids];
    let keys: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&senders, &client_ids];
    // Issued together: tokio-postgres pipelines them in one round trip.
    let (member_rows, fact_rows, earlier_rows) = tokio::try_join!(
        tx.query(&members, &params),
        tx.query(&facts, &params),
        tx.query(&earlier, &keys)
    )
    .map_err(pg)?;
    let mut by_conversation: HashMap<i64, Vec<UserId>> = HashMap::new();
    for r in member_rows {
        by_conversation
            .entry(r.get(0))
            .or_default()
            .push(UserId(r.get(1)));
    }
    let stored_before = earlier_rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), MessageId(r.get(2))))
        .collect();
    let mut out: HashMap<i64, Option<Arc<ConversationFacts>>> =
        ids.iter().map(|&id| (id, None)).collect();
    for r in fact_rows {
        let id: i64 = r.get(0);
        out.insert(
            id,
            Some(Arc::new(ConversationFacts {
                kind: conversation_kind(r.get(1))?,
                archived: r.get(2),
                members: by_conversation.remove(&id).unwrap_or_default(),
                last_seq: r.get(3),
            })),
        );
    }
    Ok(BatchFacts {
        conversations: out,
        stored_before,
    })
}

/// What a batch reads under its conversation locks.
struct BatchFacts {
    /// By conversation id; `None` for one that does not exist.
    conversations: HashMap<i64, Option<Arc<ConversationFacts>>>,
    /// Messages stored before the batch with one of its (sender, `client_id`) keys.
    stored_before: HashMap<(i64, String), MessageId>,
}

/// A batch message after admission: refused, or admitted with its conversation's facts and who
/// it notifies.
enum Admitted {
    Refused(SendRefusal),
    Yes {
        facts: Arc<ConversationFacts>,
        notify: Vec<MessageNotification>,
    },
}

/// Decides every message of the batch as [`sending::admit`] does, in batch order (membership,
/// archive, then the sender's budget, asked at most once per message), and locks the event heads
/// of everyone the admitted ones may notify, in ascending id order.
async fn admit_batch(
    tx: &impl GenericClient,
    batch: &[NewMessage],
) -> Result<(Vec<Admitted>, HashMap<(i64, String), MessageId>), StorageError> {
    let BatchFacts {
        conversations,
        stored_before,
    } = lock_conversations(tx, batch).await?;
    let mut candidates = Vec::new();
    let admitted: Vec<Admitted> = batch
        .iter()
        .map(|m| {
            let facts = conversations.get(&m.conversation_id.0).cloned().flatten();
            let send = SendFacts {
                member: facts
                    .as_ref()
                    .is_some_and(|f| f.members.contains(&m.sender_id)),
                archived: facts.as_ref().is_some_and(|f| f.archived),
            };
            match sending::admit(send, || m.admission.admit()) {
                Err(refusal) => Admitted::Refused(refusal),
                Ok(()) => {
                    let facts = facts.expect("an admitted send has a conversation");
                    let notify = m.notify.decide(facts.kind, &facts.members);
                    candidates.extend(notifying::message_candidates(m.sender_id, &notify));
                    Admitted::Yes { facts, notify }
                }
            }
        })
        .collect();
    super::log::lock_user_heads(tx, candidates).await?;
    Ok((admitted, stored_before))
}

/// Stores one admitted message and its event inside the caller's transaction, or finds the
/// original for a reused (sender, client_id) — which also sees a message stored earlier in the
/// same transaction, so a batch with the same key twice stores it once.
async fn insert_message(
    tx: &impl GenericClient,
    m: &NewMessage,
    facts: &ConversationFacts,
    notify: &[MessageNotification],
) -> Result<SendOutcome, StorageError> {
    // The conversation row is locked (admit_batch), so last_seq + 1 is this transaction's to take.
    let insert = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body,
                 reply_to, created_at, mentions_channel, mentions_here, thread_only)
             VALUES ($1, (SELECT last_seq + 1 FROM conversations WHERE id = $1),
                     $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (sender_id, client_id) DO NOTHING
             RETURNING id, seq",
        )
        .await
        .map_err(pg)?;
    let thread_only = m.thread_only && m.reply_to.is_some();
    let inserted = tx
        .query_opt(
            &insert,
            &[
                &m.conversation_id.0,
                &m.sender_id.0,
                &m.client_id,
                &m.body,
                &m.reply_to.map(|r| r.0),
                &m.now_ms,
                &m.mentions.channel,
                &m.mentions.here,
                &thread_only,
            ],
        )
        .await
        .map_err(pg)?;
    let Some(row) = inserted else {
        // A concurrent insert of the same key has committed by now (ON CONFLICT waited for it).
        let stmt = tx
            .prepare_cached("SELECT id FROM messages WHERE sender_id = $1 AND client_id = $2")
            .await
            .map_err(pg)?;
        let id: i64 = tx
            .query_opt(&stmt, &[&m.sender_id.0, &m.client_id])
            .await
            .map_err(pg)?
            .ok_or(StorageError::NotFound)?
            .get(0);
        return msg_by_id(tx, MessageId(id))
            .await?
            .map(SendOutcome::Duplicate)
            .ok_or(StorageError::NotFound);
    };
    let id = MessageId(row.get(0));
    let seq: i64 = row.get(1);
    let update = tx
        .prepare_cached(
            "UPDATE conversations SET last_seq = $2, last_activity_at = $3 WHERE id = $1",
        )
        .await
        .map_err(pg)?;
    tx.execute(&update, &[&m.conversation_id.0, &seq, &m.now_ms])
        .await
        .map_err(pg)?;
    finish_new(tx, m, facts, notify, id, seq, false).await
}

/// What follows a new message's row, in its transaction: its mentions, attachments, event (unless
/// `event_stored`: a batch stores the events of messages without attachments together) and
/// notifications. Returns the send's outcome, the message as [`msg_by_id`] would read it.
async fn finish_new(
    tx: &impl GenericClient,
    m: &NewMessage,
    facts: &ConversationFacts,
    notify: &[MessageNotification],
    id: MessageId,
    seq: i64,
    event_stored: bool,
) -> Result<SendOutcome, StorageError> {
    let mut message = m.as_stored(id, seq);
    if !message.mentions.users.is_empty() {
        insert_mentions(tx, id, &message.mentions.users).await?;
    }
    if !m.attachments.is_empty() {
        msg_attach(tx, id, m.sender_id, &m.attachments).await?;
        message = msg_by_id(tx, id).await?.ok_or(StorageError::NotFound)?;
    }
    let data = EventData::MessageCreated {
        message: message.clone(),
    };
    let event = if event_stored && m.attachments.is_empty() {
        EventRecord {
            conversation_id: m.conversation_id,
            seq,
            actor: m.sender_id,
            at_ms: m.now_ms,
            data,
        }
    } else {
        log::insert_event(tx, m.conversation_id, seq, m.sender_id, m.now_ms, data).await?
    };
    let mut committed = Committed {
        events: vec![event],
        recipients: facts.members.clone(),
        user_events: Vec::new(),
    };
    if !notify.is_empty() {
        let candidates = notifying::message_candidates(message.sender_id, notify);
        let recipients = notify_recipients(tx, message.conversation_id, &candidates, None).await?;
        let records = notifying::message_notifications(&message, notify, &recipients);
        insert_notifications(tx, records, &mut committed).await?;
    }
    Ok(SendOutcome::Created { message, committed })
}

/// One admitted or refused message of a batch.
async fn store_one(
    tx: &impl GenericClient,
    m: &NewMessage,
    admitted: &Admitted,
) -> Result<SendOutcome, StorageError> {
    match admitted {
        Admitted::Refused(refusal) => Ok(SendOutcome::Refused(*refusal)),
        Admitted::Yes { facts, notify } => insert_message(tx, m, facts, notify).await,
    }
}

/// What a batch does with one of its messages, decided before it writes anything.
enum Step {
    Refused(SendRefusal),
    /// A send with this (sender, `client_id`) was stored before the batch: answer with it.
    StoredBefore(MessageId),
    /// The same key as an earlier message of this batch, at this index: stored once.
    Twin(usize),
    /// A new message at this position of its conversation.
    New {
        seq: i64,
    },
}

/// The whole batch with a handful of statements, whatever its size — on PostgreSQL a batch's time
/// is mostly round trips, each a wait for the database and then for the server's own scheduler:
/// the keys sent before are read with the conversations' facts ([`lock_conversations`]), then the
/// messages, their events and the conversations' new positions go in one pipelined round trip. Positions are taken here, from the `last_seq` read under
/// the conversation locks ([`lock_conversations`]). Mentions, attachments and notifications, which
/// most sends lack, are stored per message afterwards as [`insert_message`] stores them.
///
/// `None` when a key turned out to be taken by a send committed meanwhile (another instance, or
/// another conversation's lane): the caller rolls back and stores the batch one message at a time,
/// so no position is skipped.
async fn store_batch(
    tx: &impl GenericClient,
    batch: &[NewMessage],
    admitted: &[Admitted],
    stored_before: &HashMap<(i64, String), MessageId>,
) -> Result<Option<Vec<SendOutcome>>, StorageError> {
    let mut next_seq: HashMap<i64, i64> = HashMap::new();
    let mut first_of: HashMap<(i64, &str), usize> = HashMap::new();
    let steps: Vec<Step> = batch
        .iter()
        .zip(admitted)
        .enumerate()
        .map(|(i, (m, a))| match a {
            Admitted::Refused(refusal) => Step::Refused(*refusal),
            Admitted::Yes { facts, .. } => {
                let key = (m.sender_id.0, m.client_id.as_str());
                if let Some(&id) = stored_before.get(&(key.0, key.1.to_string())) {
                    Step::StoredBefore(id)
                } else if let Some(&first) = first_of.get(&key) {
                    Step::Twin(first)
                } else {
                    first_of.insert(key, i);
                    let seq = next_seq
                        .entry(m.conversation_id.0)
                        .or_insert(facts.last_seq);
                    *seq += 1;
                    Step::New { seq: *seq }
                }
            }
        })
        .collect();

    // The new rows, the events of those whose event is "the row" (no attachments), and the
    // conversations' positions: one round trip.
    let mut rows = NewRows::default();
    let mut plain_events = Vec::new();
    // Each conversation's activity time is its last new message's (the one at its highest position).
    let mut last_activity: HashMap<i64, i64> = HashMap::new();
    for (m, step) in batch.iter().zip(&steps) {
        if let Step::New { seq } = step {
            rows.push(m, *seq);
            last_activity.insert(m.conversation_id.0, m.now_ms);
            if m.attachments.is_empty() {
                plain_events.push(EventRecord {
                    conversation_id: m.conversation_id,
                    seq: *seq,
                    actor: m.sender_id,
                    at_ms: m.now_ms,
                    data: EventData::MessageCreated {
                        message: m.as_stored(MessageId(0), *seq),
                    },
                });
            }
        }
    }
    if rows.seqs.is_empty() {
        // Nothing new: refusals and repeats only.
        return finish_steps(tx, batch, admitted, steps, HashMap::new()).await;
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, reply_to,
                 created_at, mentions_channel, mentions_here, thread_only)
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[],
                                  $5::TEXT[], $6::BIGINT[], $7::BIGINT[], $8::BOOLEAN[],
                                  $9::BOOLEAN[], $10::BOOLEAN[])
             ON CONFLICT (sender_id, client_id) DO NOTHING
             RETURNING id, conversation_id, seq",
        )
        .await
        .map_err(pg)?;
    let positions = tx
        .prepare_cached(
            "UPDATE conversations AS c SET last_seq = u.seq, last_activity_at = u.at
             FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS u (id, seq, at)
             WHERE c.id = u.id",
        )
        .await
        .map_err(pg)?;
    let (mut heads_ids, mut heads_seqs, mut heads_ats) = (Vec::new(), Vec::new(), Vec::new());
    for (&conversation, &seq) in &next_seq {
        heads_ids.push(conversation);
        heads_seqs.push(seq);
        heads_ats.push(last_activity[&conversation]);
    }
    let (inserted, (), _) = tokio::try_join!(
        async {
            tx.query(
                &insert,
                &[
                    &rows.conversations,
                    &rows.seqs,
                    &rows.senders,
                    &rows.client_ids,
                    &rows.bodies,
                    &rows.reply_to,
                    &rows.created,
                    &rows.mentions_channel,
                    &rows.mentions_here,
                    &rows.thread_only,
                ],
            )
            .await
            .map_err(pg)
        },
        log::insert_events(tx, &plain_events),
        async {
            tx.execute(&positions, &[&heads_ids, &heads_seqs, &heads_ats])
                .await
                .map_err(pg)
        },
    )?;
    if inserted.len() != rows.seqs.len() {
        return Ok(None);
    }
    let ids: HashMap<(i64, i64), MessageId> = inserted
        .iter()
        .map(|r| ((r.get(1), r.get(2)), MessageId(r.get(0))))
        .collect();
    finish_steps(tx, batch, admitted, steps, ids).await
}

/// The columns of a batch's new messages, one array each (`unnest` turns them into rows).
#[derive(Default)]
struct NewRows<'a> {
    conversations: Vec<i64>,
    seqs: Vec<i64>,
    senders: Vec<i64>,
    client_ids: Vec<&'a str>,
    bodies: Vec<&'a str>,
    reply_to: Vec<Option<i64>>,
    created: Vec<i64>,
    mentions_channel: Vec<bool>,
    mentions_here: Vec<bool>,
    thread_only: Vec<bool>,
}

impl<'a> NewRows<'a> {
    fn push(&mut self, m: &'a NewMessage, seq: i64) {
        self.conversations.push(m.conversation_id.0);
        self.seqs.push(seq);
        self.senders.push(m.sender_id.0);
        self.client_ids.push(&m.client_id);
        self.bodies.push(&m.body);
        self.reply_to.push(m.reply_to.map(|r| r.0));
        self.created.push(m.now_ms);
        self.mentions_channel.push(m.mentions.channel);
        self.mentions_here.push(m.mentions.here);
        self.thread_only.push(m.thread_only && m.reply_to.is_some());
    }
}

/// The rest of [`store_batch`] once the new rows exist (`ids` by conversation and position):
/// per message, in batch order, what only some sends have (mentions, attachments and their event,
/// notifications), and every message's outcome.
async fn finish_steps(
    tx: &impl GenericClient,
    batch: &[NewMessage],
    admitted: &[Admitted],
    steps: Vec<Step>,
    ids: HashMap<(i64, i64), MessageId>,
) -> Result<Option<Vec<SendOutcome>>, StorageError> {
    let mut outcomes: Vec<SendOutcome> = Vec::with_capacity(batch.len());
    for ((m, a), step) in batch.iter().zip(admitted).zip(steps) {
        let outcome = match step {
            Step::Refused(refusal) => SendOutcome::Refused(refusal),
            Step::StoredBefore(id) => msg_by_id(tx, id)
                .await?
                .map(SendOutcome::Duplicate)
                .ok_or(StorageError::NotFound)?,
            Step::Twin(first) => match &outcomes[first] {
                SendOutcome::Created { message, .. } => SendOutcome::Duplicate(message.clone()),
                _ => return Err(StorageError::NotFound),
            },
            Step::New { seq } => {
                let Admitted::Yes { facts, notify } = a else {
                    return Err(StorageError::NotFound);
                };
                let id = *ids
                    .get(&(m.conversation_id.0, seq))
                    .ok_or(StorageError::NotFound)?;
                finish_new(tx, m, facts, notify, id, seq, true).await?
            }
        };
        outcomes.push(outcome);
    }
    Ok(Some(outcomes))
}

#[async_trait]
impl MessageStore for PgStorage {
    async fn send_message(&self, m: NewMessage) -> Result<SendOutcome, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let batch = std::slice::from_ref(&m);
        let (admitted, _) = admit_batch(&tx, batch).await?;
        let outcome = store_one(&tx, &m, &admitted[0]).await?;
        super::commit(tx).await?;
        Ok(outcome)
    }

    /// Group commit: the whole batch in one transaction, in batch order (so positions follow
    /// that order). If any message fails, that transaction is rolled back and the batch is stored
    /// again with a savepoint per message, so the failing one fails alone (see the module doc).
    async fn send_messages(
        &self,
        batch: Vec<NewMessage>,
    ) -> Result<Vec<Result<SendOutcome, StorageError>>, StorageError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.client().await?;
        {
            let tx = c.transaction().await.map_err(pg)?;
            let (admitted, stored_before) = admit_batch(&tx, &batch).await?;
            if let Ok(Some(outcomes)) = store_batch(&tx, &batch, &admitted, &stored_before).await {
                super::commit(tx).await?;
                return Ok(outcomes.into_iter().map(Ok).collect());
            }
            tx.rollback().await.map_err(pg)?;
        }
        let mut tx = c.transaction().await.map_err(pg)?;
        // Admission is decided once per message (the budget is not asked again).
        let (admitted, _) = admit_batch(&tx, &batch).await?;
        let mut results = Vec::with_capacity(batch.len());
        for (m, a) in batch.iter().zip(&admitted) {
            let savepoint = tx.transaction().await.map_err(pg)?;
            let result = store_one(&savepoint, m, a).await;
            if result.is_ok() {
                savepoint.commit().await.map_err(pg)?;
            } else {
                savepoint.rollback().await.map_err(pg)?;
            }
            results.push(result);
        }
        super::commit(tx).await?;
        Ok(results)
    }

    async fn message(&self, id: MessageId) -> Result<Option<MessageRecord>, StorageError> {
        let c = self.client().await?;
        msg_by_id(&c, id).await
    }

    async fn history(
        &self,
        conversation: ConversationId,
        anchor: HistoryAnchor,
        limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        let c = self.client().await?;
        history(&c, conversation, anchor, limit).await
    }

    async fn replies(
        &self,
        parent: MessageId,
        after: i64,
        limit: u32,
    ) -> Result<HistoryPage, StorageError> {
        let c = self.client().await?;
        let take = i64::from(limit);
        let mut items = select_messages(
            &c,
            "m.reply_to = $1 AND m.seq > $2",
            "m.seq LIMIT $3",
            &[&parent.0, &after, &(take + 1)],
        )
        .await?;
        let more_after = items.len() as i64 > take;
        items.truncate(take as usize);
        let more_before = after > 0
            && exists(&c, "m.reply_to = $1 AND m.seq <= $2", &[&parent.0, &after]).await?;
        Ok(HistoryPage {
            items,
            more_before,
            more_after,
        })
    }

    async fn edit_message(
        &self,
        id: MessageId,
        actor: UserId,
        body: String,
        mentions: MentionSet,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let conversation = lock_conversation_of(&tx, id).await?;
        keep_created_snapshot(&tx, id).await?;
        tx.execute(
            "UPDATE messages SET body = $1, edited_at = $2, mentions_channel = $3,
                 mentions_here = $4
             WHERE id = $5",
            &[&body, &now_ms, &mentions.channel, &mentions.here, &id.0],
        )
        .await
        .map_err(pg)?;
        insert_mentions(&tx, id, &mentions.users).await?;
        requote(&tx, id, &body).await?;
        let candidates = notifying::mention_candidates(actor, &mentions.users);
        let facts = notify_recipients(&tx, conversation, &candidates, Some(id)).await?;
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
            &tx,
            conversation,
            actor,
            now_ms,
            EventData::MessageEdited {
                message: id,
                body,
                edited_at_ms: now_ms,
                mentions,
            },
        )
        .await?;
        insert_notifications(&tx, records, &mut committed).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn delete_message(
        &self,
        id: MessageId,
        actor: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let conversation = lock_conversation_of(&tx, id).await?;
        keep_created_snapshot(&tx, id).await?;
        // The row stays as a tombstone so replies and positions keep their anchor.
        tx.execute(
            "UPDATE messages SET body = '', deleted_at = $1, pinned_at = NULL,
                 mentions_channel = FALSE, mentions_here = FALSE
             WHERE id = $2",
            &[&now_ms, &id.0],
        )
        .await
        .map_err(pg)?;
        requote(&tx, id, "").await?;
        insert_mentions(&tx, id, &[]).await?;
        tx.execute("DELETE FROM reactions WHERE message_id = $1", &[&id.0])
            .await
            .map_err(pg)?;
        // Its blobs are swept once nothing else uses them.
        tx.execute("DELETE FROM attachments WHERE message_id = $1", &[&id.0])
            .await
            .map_err(pg)?;
        let root: Option<i64> = tx
            .query_one("SELECT reply_to FROM messages WHERE id = $1", &[&id.0])
            .await
            .map_err(pg)?
            .get(0);
        let thread = match root {
            Some(root) => msg_by_id(&tx, MessageId(root))
                .await?
                .map(|r| RootTally::of(&r)),
            None => None,
        };
        let committed = committed_one(
            &tx,
            conversation,
            actor,
            now_ms,
            EventData::MessageDeleted {
                message: id,
                thread,
            },
        )
        .await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn set_reaction(
        &self,
        id: MessageId,
        user: UserId,
        emoji: String,
        want: Option<bool>,
        now_ms: i64,
    ) -> Result<(bool, Vec<ReactionRecord>, Option<Committed>), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Under the conversation's lock, so the toggle reads what it changes.
        let conversation = lock_conversation_of(&tx, id).await?;
        let present: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM reactions
                 WHERE message_id = $1 AND emoji = $2 AND user_id = $3)",
                &[&id.0, &emoji, &user.0],
            )
            .await
            .map_err(pg)?
            .get(0);
        let add = want.unwrap_or(!present);
        let committed = if add == present {
            None
        } else {
            let data = if add {
                tx.execute(
                    "INSERT INTO reactions (message_id, emoji, user_id, created_at)
                     VALUES ($1, $2, $3, $4)",
                    &[&id.0, &emoji, &user.0, &now_ms],
                )
                .await
                .map_err(pg)?;
                EventData::ReactionAdded {
                    message: id,
                    user,
                    emoji,
                }
            } else {
                tx.execute(
                    "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3",
                    &[&id.0, &emoji, &user.0],
                )
                .await
                .map_err(pg)?;
                EventData::ReactionRemoved {
                    message: id,
                    user,
                    emoji,
                }
            };
            Some(committed_one(&tx, conversation, user, now_ms, data).await?)
        };
        let reactions = msg_by_id(&tx, id)
            .await?
            .map(|m| m.reactions)
            .unwrap_or_default();
        super::commit(tx).await?;
        Ok((add, reactions, committed))
    }

    async fn set_pinned(
        &self,
        id: MessageId,
        actor: UserId,
        pinned: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let conversation = lock_conversation_of(&tx, id).await?;
        let changed = if pinned {
            tx.execute(
                "UPDATE messages SET pinned_at = $1
                 WHERE id = $2 AND pinned_at IS NULL AND deleted_at IS NULL",
                &[&now_ms, &id.0],
            )
            .await
        } else {
            tx.execute(
                "UPDATE messages SET pinned_at = NULL WHERE id = $1 AND pinned_at IS NOT NULL",
                &[&id.0],
            )
            .await
        }
        .map_err(pg)?;
        if changed == 0 {
            super::commit(tx).await?;
            return Ok(None);
        }
        let data = if pinned {
            EventData::Pinned { message: id }
        } else {
            EventData::Unpinned { message: id }
        };
        let committed = committed_one(&tx, conversation, actor, now_ms, data).await?;
        super::commit(tx).await?;
        Ok(Some(committed))
    }

    async fn message_ids_by_sender(&self, sender: UserId) -> Result<Vec<MessageId>, StorageError> {
        let c = self.client().await?;
        // Answered from the unique (sender_id, client_id) index (an index-only scan once the
        // visibility map is current), as on SQLite.
        let stmt = c
            .prepare_cached("SELECT id FROM messages WHERE sender_id = $1 ORDER BY id")
            .await
            .map_err(pg)?;
        Ok(c.query(&stmt, &[&sender.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| MessageId(r.get(0)))
            .collect())
    }

    async fn messages_by_ids(
        &self,
        ids: Vec<MessageId>,
    ) -> Result<Vec<MessageRecord>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.client().await?;
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        select_messages(&c, "m.id = ANY($1)", "m.id", &[&ids]).await
    }

    async fn pins(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, StorageError> {
        let c = self.client().await?;
        select_messages(
            &c,
            "m.conversation_id = $1 AND m.pinned_at IS NOT NULL",
            "m.pinned_at DESC, m.seq DESC",
            &[&conversation.0],
        )
        .await
    }

    async fn threads_of(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(MessageRecord, i64)>, StorageError> {
        let c = self.client().await?;
        threads_of(&c, user, limit).await
    }
}
