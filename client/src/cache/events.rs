//! Applying the server's events to the cache.
//!
//! Each conversation event is applied in one transaction together with the conversation's new
//! position, so a crash leaves the cache either before or after the event, never half-way, and the
//! next connection resumes from exactly the right place. An event at or below the position was
//! already applied (a replay overlapping what a REST snapshot showed) and changes nothing.

use super::{
    Cache, Result, drop_confirmed_send, load_conversation, load_message, preview,
    save_conversation, upsert_message,
};
use jeco_shared::conversations::Member;
use jeco_shared::events::{ConversationEvent, EventBody, UserEvent, UserEventBody};
use jeco_shared::messages::{Message, Reaction};
use jeco_shared::{ConversationId, MessageId, UserId};
use rusqlite::params;

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied; the timeline changed at these message `seq`s (empty: only the conversation's
    /// description or read state changed).
    Changed {
        conversation_id: ConversationId,
        messages: Vec<i64>,
    },
    /// Already applied (at or below the position).
    Duplicate,
    /// The cache has no such conversation: take a snapshot of it first.
    UnknownConversation,
    /// Events between the position and this one are missing: resync the conversation.
    Gap { position: i64 },
}

impl Cache {
    /// Applies one conversation event for the signed-in user `me`.
    pub fn apply_event(&self, me: UserId, event: &ConversationEvent) -> Result<Applied> {
        self.apply_event_with_counts(me, event, None)
    }

    /// Whether applying `event` may leave the unread and mention counts wrong, because they
    /// depend on a message the cache does not hold: an edit or deletion of one (a thread-only
    /// reply is not in a snapshot's page; a message may be older than the cached history), or
    /// the user's own read position moved elsewhere (the recount sees cached messages only).
    pub fn counts_need_server(&self, me: UserId, event: &ConversationEvent) -> Result<bool> {
        Ok(match &event.body {
            EventBody::MessageEdited { message_id, .. }
            | EventBody::MessageDeleted { message_id, .. } => self.message(*message_id)?.is_none(),
            EventBody::ReadReceipt { user_id, read_seq } if *user_id == me => self
                .conversation(event.conversation_id)?
                .is_some_and(|c| *read_seq > c.read_seq),
            _ => false,
        })
    }

    /// [`Cache::apply_event`], taking the unread and mention counts from `server` (the
    /// conversation as the server described it) when that description is exactly at this event
    /// and no read mark made here is ahead of it: counts the cache cannot work out itself (see
    /// [`Cache::counts_need_server`]).
    pub fn apply_event_with_counts(
        &self,
        me: UserId,
        event: &ConversationEvent,
        server: Option<&jeco_shared::conversations::Conversation>,
    ) -> Result<Applied> {
        self.write(|tx| {
            let Some((mut conversation, position)) = load_conversation(tx, event.conversation_id)?
            else {
                return Ok(Applied::UnknownConversation);
            };
            if event.seq <= position {
                return Ok(Applied::Duplicate);
            }
            if event.seq > position + 1 {
                return Ok(Applied::Gap { position });
            }
            let mut touched = Vec::new();
            conversation.last_seq = conversation.last_seq.max(event.seq);
            match &event.body {
                EventBody::ConversationCreated { .. } => {}
                EventBody::ConversationRenamed { name } => conversation.name = Some(name.clone()),
                EventBody::MemberAdded { user_id, role } => {
                    conversation.members.retain(|m| m.user_id != *user_id);
                    conversation.members.push(Member {
                        user_id: *user_id,
                        role: *role,
                        joined_at: event.at.clone(),
                    });
                }
                EventBody::MemberRemoved { user_id } => {
                    conversation.members.retain(|m| m.user_id != *user_id);
                }
                EventBody::MemberRoleChanged { user_id, role } => {
                    for m in conversation.members.iter_mut() {
                        if m.user_id == *user_id {
                            m.role = *role;
                        }
                    }
                    if *user_id == me {
                        conversation.my_role = *role;
                    }
                }
                EventBody::MessageCreated { message } => {
                    upsert_message(tx, message)?;
                    drop_confirmed_send(tx, me, message)?;
                    if let Some(parent) = message.reply_to {
                        update_message(tx, parent, &mut touched, |m| {
                            m.reply_count += 1;
                            note_replier(&mut m.last_repliers, message.sender_id);
                        })?;
                    }
                    touched.push(message.seq);
                    conversation.last_activity_at = message.created_at.clone();
                    if !message.thread_only {
                        conversation.last_message = Some(preview(message));
                    }
                    // One's own message is not unread, and sending does not move the read
                    // position: the server counts unread from `read_seq` alone, so every device
                    // of the user agrees (a device that assumed "sending reads everything
                    // before it" showed 0 unread where a fresh one showed the server's count).
                    // Read already when the user marked a position at or past it before its
                    // event arrived (as the server counts: only messages after `read_seq`).
                    if message.sender_id != me && message.seq > conversation.read_seq {
                        // A reply kept in its thread is not unread in the channel, where it
                        // is not shown (the server counts the same); a mention in it still is.
                        if !message.thread_only {
                            conversation.unread_count += 1;
                        }
                        let m = &message.mentions;
                        if m.user_ids.contains(&me) || m.channel || m.here {
                            conversation.mention_count += 1;
                        }
                    }
                }
                EventBody::MessageEdited {
                    message_id,
                    text,
                    edited_at,
                    mentions,
                } => {
                    if let Some(before) = load_message(tx, *message_id)? {
                        // An edit may name the user, or stop naming them: an unread message's
                        // mention counts as the server counts it, by its current text.
                        let after = Message {
                            mentions: mentions.clone(),
                            ..before.clone()
                        };
                        if counts_as_unread(me, &conversation, &before) {
                            let was = mentions_me(me, &before);
                            let is = mentions_me(me, &after);
                            if was && !is {
                                conversation.mention_count =
                                    conversation.mention_count.saturating_sub(1);
                            } else if is && !was {
                                conversation.mention_count += 1;
                            }
                        }
                    }
                    update_message(tx, *message_id, &mut touched, |m| {
                        m.text = text.clone();
                        m.edited_at = Some(edited_at.clone());
                        m.mentions = mentions.clone();
                    })?;
                    refresh_preview(tx, &mut conversation, *message_id)?;
                }
                EventBody::MessageDeleted { message_id, thread } => {
                    let before = load_message(tx, *message_id)?.filter(|m| !m.deleted);
                    update_message(tx, *message_id, &mut touched, |m| {
                        m.deleted = true;
                        m.text.clear();
                        m.reactions.clear();
                        m.pinned = false;
                        m.mentions = Default::default();
                    })?;
                    refresh_preview(tx, &mut conversation, *message_id)?;
                    if let Some(gone) = before {
                        // The server counts neither deleted messages as unread nor deleted
                        // replies in their thread.
                        if counts_as_unread(me, &conversation, &gone) {
                            if !gone.thread_only {
                                conversation.unread_count =
                                    conversation.unread_count.saturating_sub(1);
                            }
                            if mentions_me(me, &gone) {
                                conversation.mention_count =
                                    conversation.mention_count.saturating_sub(1);
                            }
                        }
                        // An event from before the server sent the root's tally: count down.
                        if let (None, Some(root)) = (thread, gone.reply_to) {
                            let replies = live_replies(tx, root)?;
                            update_message(tx, root, &mut touched, |m| {
                                m.reply_count = m.reply_count.saturating_sub(1);
                                forget_replier(m, &replies, gone.sender_id);
                            })?;
                        }
                    }
                    // The root as the server counts it at this event, whether or not the cache
                    // held the reply (a thread-only reply is not in a snapshot's page, so the
                    // root can count a reply the cache never saw).
                    if let Some(t) = thread {
                        update_message(tx, t.root, &mut touched, |m| {
                            m.reply_count = t.reply_count;
                            m.last_repliers = t.last_repliers.clone();
                        })?;
                    }
                }
                EventBody::ReactionAdded {
                    message_id,
                    user_id,
                    emoji,
                } => {
                    update_message(tx, *message_id, &mut touched, |m| {
                        add_reaction(&mut m.reactions, *user_id, emoji);
                    })?;
                }
                EventBody::ReactionRemoved {
                    message_id,
                    user_id,
                    emoji,
                } => {
                    update_message(tx, *message_id, &mut touched, |m| {
                        remove_reaction(&mut m.reactions, *user_id, emoji);
                    })?;
                }
                EventBody::MessagePinned { message_id } => {
                    update_message(tx, *message_id, &mut touched, |m| m.pinned = true)?;
                }
                EventBody::MessageUnpinned { message_id } => {
                    update_message(tx, *message_id, &mut touched, |m| m.pinned = false)?;
                }
                EventBody::ReadReceipt { user_id, read_seq } => {
                    tx.prepare_cached(
                        "INSERT INTO read_receipts (conversation_id, user_id, read_seq) VALUES (?1, ?2, ?3)
                         ON CONFLICT (conversation_id, user_id)
                         DO UPDATE SET read_seq = MAX(read_seq, excluded.read_seq)",
                    )?
                    .execute(params![event.conversation_id.0, user_id.0, read_seq])?;
                    if *user_id == me && *read_seq > conversation.read_seq {
                        conversation.read_seq = *read_seq;
                        recount_unread(tx, me, &mut conversation)?;
                    }
                }
                EventBody::TopicChanged { topic } => {
                    if let Some(channel) = conversation.channel.as_mut() {
                        channel.topic = topic.clone();
                    }
                }
                EventBody::ArchivedChanged { archived } => {
                    if let Some(channel) = conversation.channel.as_mut() {
                        channel.archived = *archived;
                    }
                }
            }
            if let Some(server) = server
                && server.last_seq == event.seq
                && server.read_seq >= conversation.read_seq
            {
                conversation.read_seq = server.read_seq;
                conversation.unread_count = server.unread_count;
                conversation.mention_count = server.mention_count;
            }
            save_conversation(tx, &conversation)?;
            tx.prepare_cached("UPDATE conversations SET position = ?2 WHERE id = ?1")?
                .execute(params![event.conversation_id.0, event.seq])?;
            Ok(Applied::Changed {
                conversation_id: event.conversation_id,
                messages: touched,
            })
        })
    }

    /// Applies the parts of a user event that live in the cache (notifications) and moves the
    /// user position. Membership changes are the engine's to act on (it snapshots or forgets the
    /// conversation). Returns false when the event was already applied.
    pub fn apply_user_event(&self, event: &UserEvent) -> Result<bool> {
        if self.user_seq()?.is_some_and(|seq| event.seq <= seq) {
            return Ok(false);
        }
        match &event.body {
            UserEventBody::NotificationCreated { notification } => {
                self.upsert_notification(notification)?
            }
            UserEventBody::NotificationRead { notification_id } => {
                self.mark_notifications_read(*notification_id, true)?
            }
            UserEventBody::NotificationsReadAll { up_to } => {
                self.mark_notifications_read(*up_to, false)?
            }
            UserEventBody::TeamRemoved { team_id } => self.remove_team(*team_id)?,
            UserEventBody::ConversationRemoved { conversation_id } => {
                self.remove_conversation(*conversation_id)?
            }
            _ => {}
        }
        self.set_user_seq(event.seq)?;
        Ok(true)
    }

    /// Marks a conversation read up to `seq` locally (the server is told through the outbox).
    pub fn mark_read_locally(&self, me: UserId, id: ConversationId, seq: i64) -> Result<bool> {
        self.write(|tx| {
            let Some((mut c, _)) = load_conversation(tx, id)? else {
                return Ok(false);
            };
            if seq <= c.read_seq {
                return Ok(false);
            }
            c.read_seq = seq;
            recount_unread(tx, me, &mut c)?;
            save_conversation(tx, &c)?;
            Ok(true)
        })
    }
}

fn update_message(
    tx: &rusqlite::Connection,
    id: MessageId,
    touched: &mut Vec<i64>,
    f: impl FnOnce(&mut Message),
) -> Result<()> {
    // A message older than the cached history changes nothing visible; skip it.
    if let Some(mut m) = load_message(tx, id)? {
        f(&mut m);
        upsert_message(tx, &m)?;
        touched.push(m.seq);
    }
    Ok(())
}

fn refresh_preview(
    tx: &rusqlite::Connection,
    c: &mut jeco_shared::conversations::Conversation,
    id: MessageId,
) -> Result<()> {
    if c.last_message.as_ref().is_some_and(|p| p.id == id)
        && let Some(m) = load_message(tx, id)?
    {
        c.last_message = Some(preview(&m));
    }
    Ok(())
}

/// Unread and mention counts after the read position moved, from the cached messages. Messages
/// the cache does not hold cannot be counted; the next conversation listing corrects the figure.
fn recount_unread(
    tx: &rusqlite::Connection,
    me: UserId,
    c: &mut jeco_shared::conversations::Conversation,
) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("SELECT json FROM messages WHERE conversation_id = ?1 AND seq > ?2")?;
    let mut unread = 0;
    let mut mentions = 0;
    for json in stmt.query_map(params![c.id.0, c.read_seq], |r| r.get::<_, String>(0))? {
        let m: Message = serde_json::from_str(&json?)?;
        if m.sender_id == me || m.deleted {
            continue;
        }
        // As the server counts: a thread-only reply is not unread in the channel (it is not
        // shown there), but a mention in it is.
        if !m.thread_only {
            unread += 1;
        }
        if mentions_me(me, &m) {
            mentions += 1;
        }
    }
    c.unread_count = unread;
    c.mention_count = mentions;
    Ok(())
}

/// Whether a message by someone else, not deleted, after the read position: what the server's
/// unread and mention counts are made of.
fn counts_as_unread(me: UserId, c: &jeco_shared::conversations::Conversation, m: &Message) -> bool {
    m.sender_id != me && !m.deleted && m.seq > c.read_seq
}

fn mentions_me(me: UserId, m: &Message) -> bool {
    m.mentions.user_ids.contains(&me) || m.mentions.channel || m.mentions.here
}

/// The cached replies to `root` that are not deleted, oldest first.
fn live_replies(tx: &rusqlite::Connection, root: MessageId) -> Result<Vec<Message>> {
    let mut stmt =
        tx.prepare_cached("SELECT json FROM messages WHERE reply_to = ?1 ORDER BY seq")?;
    let mut live = Vec::new();
    for json in stmt.query_map([root.0], |r| r.get::<_, String>(0))? {
        let m: Message = serde_json::from_str(&json?)?;
        if !m.deleted {
            live.push(m);
        }
    }
    Ok(live)
}

/// A root's repliers after one of `sender`'s replies was deleted, as the server lists them (each
/// replier once, by their newest reply that is not deleted). When the cache holds every remaining
/// reply they are recounted from it; otherwise the sender goes only when none of theirs is left
/// in the cache, and the next snapshot fills in whoever the server lists instead.
fn forget_replier(root: &mut Message, live: &[Message], sender: UserId) {
    if live.len() as u32 == root.reply_count {
        root.last_repliers.clear();
        for reply in live.iter().rev() {
            if !root.last_repliers.contains(&reply.sender_id) {
                root.last_repliers.push(reply.sender_id);
            }
        }
        root.last_repliers
            .truncate(jeco_shared::messages::THREAD_REPLIERS_MAX);
    } else if !live.iter().any(|r| r.sender_id == sender) {
        root.last_repliers.retain(|u| *u != sender);
    }
}

pub(crate) fn add_reaction(reactions: &mut Vec<Reaction>, user: UserId, emoji: &str) {
    match reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(r) => {
            if !r.user_ids.contains(&user) {
                r.user_ids.push(user);
                r.count += 1;
            }
        }
        None => reactions.push(Reaction {
            emoji: emoji.to_owned(),
            count: 1,
            user_ids: vec![user],
        }),
    }
}

pub(crate) fn remove_reaction(reactions: &mut Vec<Reaction>, user: UserId, emoji: &str) {
    if let Some(r) = reactions.iter_mut().find(|r| r.emoji == emoji)
        && let Some(i) = r.user_ids.iter().position(|u| *u == user)
    {
        r.user_ids.remove(i);
        r.count = r.count.saturating_sub(1);
    }
    reactions.retain(|r| r.count > 0);
}

/// Puts a new reply's sender first among a root's repliers (as the server orders them: by their
/// newest reply), once, keeping at most [`THREAD_REPLIERS_MAX`](jeco_shared::messages::THREAD_REPLIERS_MAX).
pub(crate) fn note_replier(repliers: &mut Vec<UserId>, sender: UserId) {
    repliers.retain(|u| *u != sender);
    repliers.insert(0, sender);
    repliers.truncate(jeco_shared::messages::THREAD_REPLIERS_MAX);
}
