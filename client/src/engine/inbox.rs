//! The notifications inbox: marking notifications read, on the server and in the cache.
//!
//! Marking read is an online action (the server's unread count is the truth every device shows),
//! but the cache is updated at once so the panel does not wait; if the server cannot be told, the
//! error is returned and the next sync brings the server's state back.

use super::{Engine, EngineEvent, Result};
use jeco_shared::endpoints::{MarkAllNotificationsRead, MarkNotificationRead};
use jeco_shared::ids::NotificationId;
use jeco_shared::notifications::UnreadNotifications;

impl Engine {
    /// Marks one notification read; answers how many are still unread.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<u32> {
        self.cache()?.mark_notifications_read(id, true)?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        let unread: UnreadNotifications = self.call::<MarkNotificationRead>(&(id,), &()).await?;
        Ok(unread.unread_count)
    }

    /// Marks every notification read.
    pub async fn mark_all_notifications_read(&self) -> Result<()> {
        let cache = self.cache()?;
        if let Some((newest, _)) = cache.notifications(1)?.into_iter().next() {
            cache.mark_notifications_read(newest.id, false)?;
            self.inner.emit(EngineEvent::ConversationsChanged);
        }
        self.call::<MarkAllNotificationsRead>(&(), &()).await?;
        Ok(())
    }
}
