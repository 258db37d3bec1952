//! The notifications inbox: marking notifications read, on the server and in the cache.
//!
//! Marking read is an online action (the server's unread count is the truth every device shows),
//! but the cache is updated at once so the panel does not wait; if the server cannot be told, the
//! error is returned and the next sync brings the server's state back.

use super::{Engine, EngineEvent, Result};
use crate::api::Method;
use jeco_shared::ids::NotificationId;
use jeco_shared::notifications::UnreadNotifications;

impl Engine {
    /// Marks one notification read; answers how many are still unread.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<u32> {
        self.cache()?.mark_notifications_read(id, true)?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        let path = format!("/notifications/{id}/read");
        let unread: UnreadNotifications = self
            .with_token(|api, token| {
                let path = path.clone();
                async move { api.call::<(), _>(&token, Method::POST, &path, None).await }
            })
            .await?;
        Ok(unread.unread_count)
    }

    /// Marks every notification read.
    pub async fn mark_all_notifications_read(&self) -> Result<()> {
        let cache = self.cache()?;
        if let Some((newest, _)) = cache.notifications(1)?.into_iter().next() {
            cache.mark_notifications_read(newest.id, false)?;
            self.inner.emit(EngineEvent::ConversationsChanged);
        }
        self.with_token(|api, token| async move {
            api.call::<(), UnreadNotifications>(
                &token,
                Method::POST,
                "/notifications/read-all",
                None,
            )
            .await
        })
        .await?;
        Ok(())
    }
}
