//! Replies and threads as the views show them.
//!
//! The server has one model for both: a message with `reply_to` = P is a reply to P and belongs
//! to P's thread, and P carries `reply_count`. A timeline shows every message (a reply with a
//! quote of its parent); a thread panel shows one root and the messages that reply to it. Both
//! read the cache first — offline too — and fetch what it lacks (a parent far back in history, the
//! replies of an old thread) from the server when online, keeping it for next time.

use super::{Engine, OutboxOp, Result, TimelineItem, overlay, overlay_item};
use jeco_shared::endpoints::{GetMessage, Replies};
use jeco_shared::messages::{MESSAGE_PAGE_MAX, Message, MessagePage};
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

impl Engine {
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
        self.thread_items(conversation, root, root_message)
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
                    message: Message {
                        id: MessageId(0),
                        conversation_id: conversation,
                        seq: 0,
                        sender_id: me.id,
                        client_id: client_id.clone(),
                        text: text.clone(),
                        reply_to: Some(root),
                        reply_count: 0,
                        created_at: item.created_at.clone(),
                        edited_at: None,
                        deleted: false,
                        pinned: false,
                        mentions: Default::default(),
                        reactions: Vec::new(),
                        attachments: Vec::new(),
                    },
                    state: super::item_state(item),
                };
                let r = echo.reference();
                replies.push(overlay_item(echo, &outbox, &r, me.id));
            }
        }
        let root = root_message.map(|m| overlay(m, &outbox, me.id));
        Ok(Thread { root, replies })
    }
}
