//! Per-conversation preferences the server keeps for the user: muting.
//!
//! A muted conversation creates no notifications for the user on the server (mentions included);
//! unread counts still move. Muting goes through the offline outbox like a read mark: the cached
//! conversation takes the new flag at once — so the list shows it and the desktop's alerts go
//! quiet, offline too — and the server is told when there is a connection (only the newest of
//! several queued changes is sent). Until then a listing from the server does not undo it.

use super::{Engine, EngineEvent, Result};
use crate::outbox::OutboxOp;
use jeco_shared::ConversationId;
use jeco_shared::notifications::MuteState;

impl Engine {
    /// Mutes (or unmutes) a conversation for the signed-in user: at once locally, on the server
    /// when online.
    pub fn set_muted(&self, conversation: ConversationId, muted: bool) -> Result<MuteState> {
        self.queue(conversation, OutboxOp::SetMuted { muted })?;
        self.cache()?.set_muted(conversation, muted)?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        Ok(MuteState {
            conversation_id: conversation,
            muted,
        })
    }
}
