//! Commands of the Administration panel, which the UI shows only to server admins
//! (`User::is_admin`): the account list (searched, paged with the server's cursor), deactivating
//! and reactivating an account, setting its password or mailing it a reset link, granting and
//! removing the server-admin flag, and the storage each account uses.
//!
//! Hiding the panel is a courtesy, not the check: the server refuses every one of these to anyone
//! else (`forbidden`), and keeps its last admin (`last_admin`). All of them need the server's
//! answer; offline they fail with `server_unreachable`. The two-factor reset is not here: the
//! server has no such operation yet.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_shared::UserId;
use jeco_shared::admin::{AdminPasswordReset, AdminUser, AdminUserPage};
use jeco_shared::media::MediaUsageReport;
use jeco_shared::users::{USER_PAGE_DEFAULT, USER_PAGE_MAX};
use tauri::State;

/// Longest search text sent: a prefix of a username, display name or email is never longer.
const MAX_QUERY_CHARS: usize = 320;

/// One page of accounts by username; `query` is a prefix of a username, display name or email,
/// `cursor` the previous page's `next_cursor`.
#[tauri::command]
pub async fn admin_users(
    state: State<'_, AppState>,
    query: String,
    cursor: Option<String>,
    limit: Option<u32>,
) -> Result<AdminUserPage, CommandError> {
    let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
    let limit = limit.unwrap_or(USER_PAGE_DEFAULT).clamp(1, USER_PAGE_MAX);
    Ok(state
        .engine()
        .await?
        .admin_users(&query, limit, cursor.as_deref())
        .await?)
}

/// Deactivates an account: it cannot sign in, and every session of it ends at once. Its messages
/// stay, shown as from a deactivated account.
#[tauri::command]
pub async fn deactivate_user(
    state: State<'_, AppState>,
    user_id: UserId,
) -> Result<AdminUser, CommandError> {
    Ok(state.engine().await?.deactivate_user(user_id).await?)
}

/// Lets a deactivated account sign in again.
#[tauri::command]
pub async fn reactivate_user(
    state: State<'_, AppState>,
    user_id: UserId,
) -> Result<AdminUser, CommandError> {
    Ok(state.engine().await?.reactivate_user(user_id).await?)
}

/// Sets an account's password (`new_password`), or without one mails it a reset link at its
/// verified address; either way every session of the account ends.
#[tauri::command]
pub async fn admin_set_password(
    state: State<'_, AppState>,
    user_id: UserId,
    new_password: Option<String>,
) -> Result<AdminPasswordReset, CommandError> {
    Ok(state
        .engine()
        .await?
        .admin_reset_password(user_id, new_password.as_deref())
        .await?)
}

/// Grants (`admin`) or removes the server-admin flag.
#[tauri::command]
pub async fn set_server_admin(
    state: State<'_, AppState>,
    user_id: UserId,
    admin: bool,
) -> Result<AdminUser, CommandError> {
    Ok(state
        .engine()
        .await?
        .set_server_admin(user_id, admin)
        .await?)
}

/// Turns off an account's two-factor (a lost phone): every session of it ends, and its next
/// sign-in needs only the password (or enrols again when the server requires two-factor).
/// Answers how many sessions were signed out.
#[tauri::command]
pub async fn admin_reset_two_factor(
    state: State<'_, AppState>,
    user_id: UserId,
) -> Result<u32, CommandError> {
    Ok(state
        .engine()
        .await?
        .admin_reset_two_factor(user_id)
        .await?
        .signed_out)
}

/// Storage used per account (only accounts with any), most first, and the per-user quota.
#[tauri::command]
pub async fn media_usage(state: State<'_, AppState>) -> Result<MediaUsageReport, CommandError> {
    Ok(state.engine().await?.media_usage().await?)
}
