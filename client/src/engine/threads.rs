//! Replies and threads as the views show them.
//!
//! The server has one model for both: a message with `reply_to` = P is a reply to P and belongs
//! to P's thread, and P carries `reply_count` and its `last_repliers`. A reply sent in a thread
//! stays there (`thread_only`) unless its sender also sent it to the channel; the channel's
//! timeline shows every other message (a reply with a quote of its parent), and a thread panel
//! shows one root and every message that replies to it. Both read the cache first — offline too —
//! and fetch what it lacks (a parent far back in history, the replies of an old thread) from the
//! server when online, keeping it for next time.
//!
//! The Threads view lists the threads the user takes part in, from the server (only it knows
//! every thread, replies this device never saw included); the list is remembered, so offline
//! the view shows it as last seen, with reply counts the sync kept current. Which replies are unread is this
//! device's own record — the reply count each thread had when it was last shown here — so it
//! needs no server state and no round trip when a thread is opened.

use super::{Engine, OutboxOp, Result, TimelineItem, overlay, overlay_item};
use jeco_shared::endpoints::{GetMessage, Replies, Threads};
use jeco_shared::messages::{MESSAGE_PAGE_MAX, Message, MessagePage, THREAD_LIST_MAX};
use jeco_shared::{ConversationId, MessageId};
use serde::Serialize;

/// Largest number of replies one thread read returns (oldest first).
pub const THREAD_REPLIES_MAX: usize = 1000;

/// A thread: its root message and the replies to it, oldest first, with pending replies at the
/// end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Thread {
    /// `null` when the root is neither cached nor reachable (offline) or was removed.
    pub root: Option<TimelineItem>,
    pub replies: Vec<TimelineItem>,
}

/// A thread the user takes part in, as the Threads view lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadEntry {
    /// The root, with its reply count and last repliers.
    pub root: Message,
    /// When the newest reply was sent (RFC 3339).
    pub last_reply_at: String,
    /// Replies not yet seen on this device (since the thread was last shown here).
    pub unread: u32,
}

impl Engine {
    /// The threads the user started or replied to, newest reply first, with their unread
    /// replies: from the server when online (the list is remembered), else the list as last
    /// seen, with each root's reply count as the cache has it now.
    pub async fn threads(&self, limit: u32) -> Result<Vec<ThreadEntry>> {
        let (me, cache) = self.account()?;
        let limit = limit.clamp(1, THREAD_LIST_MAX);
        if self.connection_state().is_live() {
            match self
                .call_with_query::<Threads>(&(), &[("limit", limit.to_string())])
                .await
            {
                Ok(list) => {
                    let roots: Vec<Message> = list.items.iter().map(|t| t.root.clone()).collect();
                    cache.store_loose(me.id, &roots)?;
                    cache.store_thread_list(
                        &list
                            .items
                            .iter()
                            .map(|t| (t.root.id, t.last_reply_at.clone()))
                            .collect::<Vec<_>>(),
                    )?;
                    let people: Vec<_> = roots
                        .iter()
                        .flat_map(|m| {
                            std::iter::once(m.sender_id).chain(m.last_repliers.iter().copied())
                        })
                        .collect();
                    self.learn_users(people).await;
                    return list
                        .items
                        .into_iter()
                        .map(|t| entry(&cache, t.root, t.last_reply_at))
                        .collect();
                }
                Err(e) => tracing::debug!(error = %e, "threads not fetched; using the cache"),
            }
        }
        let mut list = cache.thread_list()?;
        list.truncate(limit as usize);
        list.into_iter()
            .map(|(root, at)| entry(&cache, root, at))
            .collect()
    }

    /// A message of a conversation: from the cache, else from the server when online (and then
    /// cached). `None` when it is not there (or offline and not cached).
    pub async fn message(
        &self,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Option<Message>> {
        let (me, cache) = self.account()?;
        if let Some(m) = cache.message(id)?
            && m.conversation_id == conversation
        {
            return Ok(Some(m));
        }
        if !self.connection_state().is_live() {
            return Ok(None);
        }
        match self.call::<GetMessage>(&(conversation, id), &()).await {
            Ok(m) => {
                cache.store_loose(me.id, std::slice::from_ref(&m))?;
                self.learn_users([m.sender_id]).await;
                Ok(Some(m))
            }
            Err(e) if e.code() == jeco_shared::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A thread from the cache, after fetching its replies from the server when online (an old
    /// thread may have replies the cache never saw). Offline it is what the cache holds.
    pub async fn load_thread(
        &self,
        conversation: ConversationId,
        root: MessageId,
    ) -> Result<Thread> {
        let (me, cache) = self.account()?;
        let root_message = self.message(conversation, root).await?;
        if self.connection_state().is_live() && root_message.is_some() {
            let mut after = 0i64;
            let mut fetched = 0usize;
            // Pages of the largest size until the end, bounded like the answer.
            while fetched < THREAD_REPLIES_MAX {
                let query = [
                    ("after", after.to_string()),
                    ("limit", MESSAGE_PAGE_MAX.to_string()),
                ];
                let page: MessagePage = match self
                    .call_with_query::<Replies>(&(conversation, root), &query)
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::debug!(error = %e, "thread not fetched; using the cache");
                        break;
                    }
                };
                cache.store_loose(me.id, &page.items)?;
                self.learn_users(page.items.iter().map(|m| m.sender_id))
                    .await;
                fetched += page.items.len();
                match page.items.last() {
                    Some(last) if page.has_more_after => after = last.seq,
                    _ => break,
                }
            }
        }
        let thread = self.thread_items(conversation, root, root_message)?;
        // Shown now: its replies so far are read on this device.
        if let Some(root) = &thread.root
            && cache.mark_thread_read(root.message.id, root.message.reply_count)?
        {
            self.inner.emit(super::EngineEvent::ThreadRead {
                conversation_id: conversation,
                root: root.message.id,
            });
        }
        Ok(thread)
    }

    /// The cached thread with this client's queued changes laid over it and pending replies last.
    fn thread_items(
        &self,
        conversation: ConversationId,
        root: MessageId,
        root_message: Option<Message>,
    ) -> Result<Thread> {
        let (me, cache) = self.account()?;
        let outbox = cache.outbox(Some(conversation))?;
        let mut replies: Vec<TimelineItem> = cache
            .thread(root)?
            .into_iter()
            .filter(|m| m.conversation_id == conversation)
            .take(THREAD_REPLIES_MAX)
            .map(|m| overlay(m, &outbox, me.id))
            .collect();
        for item in &outbox {
            if let OutboxOp::Send {
                client_id,
                text,
                reply_to: Some(parent),
                ..
            } = &item.op
                && *parent == root
            {
                let echo = TimelineItem {
                    id: super::ItemId::Local {
                        client_id: client_id.clone(),
                    },
                    message: Message {
                        id: MessageId(0),
                        conversation_id: conversation,
                        seq: 0,
                        sender_id: me.id,
                        client_id: client_id.clone(),
                        text: text.clone(),
                        reply_to: Some(root),
                        thread_only: false,
                        reply_count: 0,
                        last_repliers: Vec::new(),
                        created_at: item.created_at.clone(),
                        edited_at: None,
                        deleted: false,
                        pinned: false,
                        mentions: Default::default(),
                        reactions: Vec::new(),
                        attachments: Vec::new(),
                    },
                    state: super::item_state(item, &outbox),
                };
                let r = echo.reference();
                replies.push(overlay_item(echo, &outbox, &r, me.id));
            }
        }
        let root = root_message.map(|m| overlay(m, &outbox, me.id));
        Ok(Thread { root, replies })
    }
}

/// A Threads view entry: unread is the replies beyond those seen here.
fn entry(cache: &crate::cache::Cache, root: Message, last_reply_at: String) -> Result<ThreadEntry> {
    let read = cache.thread_read_count(root.id)?;
    Ok(ThreadEntry {
        unread: root.reply_count.saturating_sub(read),
        root,
        last_reply_at,
    })
}
