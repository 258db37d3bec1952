//! The texts of notifications that are not about a message: the welcome of a new account, and
//! "Ada added you to …".
//!
//! Several use cases create them (accounts, conversations, teams), so they live below all of
//! them rather than in one of them.

use super::ServiceError;
use crate::storage::{NewNotification, Storage};
use jeco_shared::UserId;
use jeco_shared::notifications::NotificationKind;

/// The welcome notification's text.
pub const WELCOME_TEXT: &str =
    "Welcome to Jeco Chat! Start a conversation, or find people and send them a contact request.";

/// The welcome notification of a new account. Created right after the account (a brand-new
/// account has no live connection to push it to; it is in the user's log for the first resume).
pub fn welcome(user: UserId, now_ms: i64) -> NewNotification {
    NewNotification {
        user_id: user,
        kind: NotificationKind::Welcome,
        actor_id: None,
        contact_request_id: None,
        preview: WELCOME_TEXT.to_owned(),
        now_ms,
    }
}

/// How a user is named in a notification's text: the display name, else the username.
pub async fn display_name(storage: &dyn Storage, user: UserId) -> Result<String, ServiceError> {
    let u = storage
        .user_by_id(user)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(u.display_name.unwrap_or(u.username))
}

/// "Ada added you to …": the text of an `added_to_team` / `added_to_conversation` notification.
pub async fn added_preview(
    storage: &dyn Storage,
    actor: UserId,
    place: &str,
) -> Result<String, ServiceError> {
    Ok(format!(
        "{} added you to {place}",
        display_name(storage, actor).await?
    ))
}
