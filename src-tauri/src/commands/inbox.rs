//! The notifications panel: the user's notifications (from the cache, so it opens offline) with the
//! people who caused them, and marking them read.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_shared::ids::NotificationId;
use jeco_shared::notifications::Notification;
use jeco_shared::users::User;
use serde::Serialize;
use tauri::State;

/// The most notifications the panel asks for at once.
const INBOX_MAX: u32 = 200;

/// One notification as the panel shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct InboxItem {
    pub notification: Notification,
    pub read: bool,
    /// Who caused it, when known.
    pub actor: Option<User>,
}

/// The newest notifications, newest first (at most 200).
#[tauri::command]
pub async fn inbox(
    state: State<'_, AppState>,
    limit: Option<u32>,
) -> Result<Vec<InboxItem>, CommandError> {
    let engine = state.engine().await?;
    let items = engine.notifications(limit.unwrap_or(50).clamp(1, INBOX_MAX))?;
    engine
        .learn_users(items.iter().filter_map(|(n, _)| n.actor_id))
        .await;
    items
        .into_iter()
        .map(|(notification, read)| {
            let actor = match notification.actor_id {
                Some(id) => engine.user(id)?,
                None => None,
            };
            Ok(InboxItem {
                notification,
                read,
                actor,
            })
        })
        .collect()
}

/// Marks one notification read; answers how many are still unread.
#[tauri::command]
pub async fn mark_inbox_read(
    state: State<'_, AppState>,
    id: NotificationId,
) -> Result<u32, CommandError> {
    Ok(state.engine().await?.mark_notification_read(id).await?)
}

/// Marks every notification read.
#[tauri::command]
pub async fn mark_inbox_all_read(state: State<'_, AppState>) -> Result<(), CommandError> {
    Ok(state.engine().await?.mark_all_notifications_read().await?)
}
