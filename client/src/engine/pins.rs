//! Pinned messages.
//!
//! Pinning is a moderation-like act on a shared list, so it goes straight to the server (online
//! only, like joining a channel) instead of through the offline outbox: a pin queued for hours
//! would surprise everyone when it landed. The answer (the message as pinned) goes into the cache
//! at once, so the pinned marker shows before the `message_pinned` event comes back; the event
//! keeps every other client's cache right. The pin list is read from the server when online and
//! from the cache otherwise.

use super::{Engine, EngineError, EngineEvent, Result};
use jeco_shared::endpoints::{Pin, Pins, Unpin};
use jeco_shared::messages::Message;
use jeco_shared::{ConversationId, MessageId};

/// Largest pin list returned.
pub const PINS_MAX: usize = 500;

impl Engine {
    /// Pins (`pinned`) or unpins a message. Needs the server: offline it fails with
    /// `server_unreachable`.
    pub async fn set_pinned(
        &self,
        conversation: ConversationId,
        id: MessageId,
        pinned: bool,
    ) -> Result<Message> {
        let (me, cache) = self.account()?;
        let message: Message = if pinned {
            self.call::<Pin>(&(conversation, id), &()).await?
        } else {
            self.call::<Unpin>(&(conversation, id), &()).await?
        };
        cache.store_loose(me.id, std::slice::from_ref(&message))?;
        self.inner.emit(EngineEvent::TimelineChanged {
            conversation_id: conversation,
            seqs: vec![message.seq],
        });
        Ok(message)
    }

    /// A conversation's pinned messages, most recently pinned first (from the server when online,
    /// else the cache's, newest first).
    pub async fn pins(&self, conversation: ConversationId) -> Result<Vec<Message>> {
        let (me, cache) = self.account()?;
        if cache.conversation(conversation)?.is_none() {
            return Err(EngineError::UnknownConversation);
        }
        if self.connection_state().is_live() {
            match self.call::<Pins>(&(conversation,), &()).await {
                Ok(mut list) => {
                    list.truncate(PINS_MAX);
                    cache.store_loose(me.id, &list)?;
                    self.learn_users(list.iter().map(|m| m.sender_id)).await;
                    return Ok(list);
                }
                Err(e) => tracing::debug!(error = %e, "pins not fetched; using the cache"),
            }
        }
        let mut list = cache.pinned(conversation)?;
        list.truncate(PINS_MAX);
        Ok(list)
    }
}
