//! Commands of the profile's Security tab and of "Forgot password?" on the sign-in screen: the
//! account's email address, its password, its signed-in sessions, and "Download my data" (see
//! `jeco_client::Engine`'s account API). All of them need the server's answer; offline they fail
//! with `server_unreachable`.
//!
//! Asking for and confirming a password reset work signed out, against the server the app is
//! pointed at — the sign-in screen applies its **Server address** field first, as it does before
//! signing in.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_shared::SessionId;
use jeco_shared::account::{EmailStatus, SessionInfo};
use tauri::{AppHandle, State};

/// The account's verified address and any address waiting for its code.
#[tauri::command]
pub async fn my_email(state: State<'_, AppState>) -> Result<EmailStatus, CommandError> {
    Ok(state.engine().await?.email().await?)
}

/// Mails a 6-digit code to `email`; the address is pending until [`verify_email`].
#[tauri::command]
pub async fn set_email(
    state: State<'_, AppState>,
    email: String,
) -> Result<EmailStatus, CommandError> {
    Ok(state.engine().await?.set_email(&email).await?)
}

/// Makes the pending address the account's with the code from the mail.
#[tauri::command]
pub async fn verify_email(
    state: State<'_, AppState>,
    code: String,
) -> Result<EmailStatus, CommandError> {
    Ok(state.engine().await?.verify_email(&code).await?)
}

/// Removes the account's address; answers what is left (the server decides whether a pending
/// address goes too).
#[tauri::command]
pub async fn remove_email(state: State<'_, AppState>) -> Result<EmailStatus, CommandError> {
    let engine = state.engine().await?;
    engine.remove_email().await?;
    Ok(engine.email().await?)
}

/// Changes the password, knowing the current one; `sign_out_others` also ends every other
/// session. This device stays signed in.
#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    current_password: String,
    new_password: String,
    sign_out_others: bool,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .change_password(&current_password, &new_password, sign_out_others)
        .await?)
}

/// Asks the server to mail a reset token for the account with this username or address. The
/// answer is the same whether or not there is one. Works signed out.
#[tauri::command]
pub async fn request_password_reset(
    state: State<'_, AppState>,
    login: String,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .request_password_reset(login.trim())
        .await?)
}

/// Sets a new password with the token from the reset mail. Every session of the account ends, so
/// the UI signs in with the new password next. Works signed out.
#[tauri::command]
pub async fn confirm_password_reset(
    state: State<'_, AppState>,
    token: String,
    new_password: String,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .confirm_password_reset(token.trim(), &new_password)
        .await?)
}

/// The account's signed-in sessions, most recently active first; `current` is this device.
#[tauri::command]
pub async fn sessions(state: State<'_, AppState>) -> Result<Vec<SessionInfo>, CommandError> {
    Ok(state.engine().await?.sessions().await?)
}

/// Signs out another device: its socket closes at once.
#[tauri::command]
pub async fn end_session(
    state: State<'_, AppState>,
    session_id: SessionId,
) -> Result<(), CommandError> {
    Ok(state.engine().await?.end_session(session_id).await?)
}

/// Signs out every device but this one; answers how many sessions ended.
#[tauri::command]
pub async fn sign_out_others(state: State<'_, AppState>) -> Result<u32, CommandError> {
    Ok(state.engine().await?.sign_out_others().await?)
}

/// "Download my data": asks where to save (a Save-as dialog in the Downloads folder, like saving
/// an attachment), then streams the account's export zip there. Returns where it went, or `None`
/// when the dialog was cancelled. The server allows one export at a time (`conflict`) and a few
/// an hour (`rate_limited`).
#[tauri::command]
pub async fn export_my_data(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<Option<String>, CommandError> {
    let engine = state.engine().await?;
    let Some(target) = super::files::ask_where_to_save(&app, "jeco-export.zip").await? else {
        return Ok(None);
    };
    engine.export_my_data(&target).await?;
    Ok(Some(target.display().to_string()))
}
