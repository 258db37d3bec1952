//! Per-conversation preferences the server keeps for the user: muting.
//!
//! A muted conversation creates no notifications for the user on the server (mentions included);
//! unread counts still move. The change needs the server (it is the server that stops creating
//! notifications), so it is not queued in the outbox: offline it fails with `server_unreachable`
//! and nothing changes. Once the server answers, the cached conversation takes the new flag, so
//! the list shows it at once and keeps showing it offline, and `ConversationsChanged` tells the UI.

use super::{Engine, EngineEvent, Result};
use jeco_shared::ConversationId;
use jeco_shared::notifications::{MuteRequest, MuteState};

impl Engine {
    /// Mutes (or unmutes) a conversation for the signed-in user.
    pub async fn set_muted(&self, conversation: ConversationId, muted: bool) -> Result<MuteState> {
        let path = format!("/conversations/{conversation}/mute");
        let state: MuteState = self
            .with_token(|api, token| {
                let path = path.clone();
                async move {
                    api.call(
                        &token,
                        crate::api::Method::PUT,
                        &path,
                        Some(&MuteRequest { muted }),
                    )
                    .await
                }
            })
            .await?;
        self.cache()?.set_muted(conversation, state.muted)?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        Ok(state)
    }
}
