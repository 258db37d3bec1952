//! The Tauri commands: the whole surface the UI can call. Each one is a thin wrapper over the
//! `jeco-client` engine (through [`AppState`]); none holds business logic, and every failure reaches
//! the UI as a [`CommandError`] `{code, message, fields?}`.

use crate::error::CommandError;
use crate::session::{AppState, AppStatus};
use jeco_client::ConnectionState;
use jeco_shared::users::User;
use tauri::State;

/// Which server the app talks to and how the embedded server is doing.
#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Result<AppStatus, CommandError> {
    Ok(state.status().await)
}

/// Points the app at another server (`null` or `""`: back to the embedded one).
#[tauri::command]
pub async fn set_server_address(
    state: State<'_, AppState>,
    address: Option<String>,
) -> Result<AppStatus, CommandError> {
    state.set_server(address.as_deref()).await
}

/// Creates an account on the current server and signs in.
#[tauri::command]
pub async fn register(
    state: State<'_, AppState>,
    username: String,
    password: String,
    display_name: Option<String>,
) -> Result<User, CommandError> {
    let engine = state.engine().await?;
    Ok(engine
        .register(&username, &password, display_name.as_deref())
        .await?)
}

#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    username: String,
    password: String,
) -> Result<User, CommandError> {
    let engine = state.engine().await?;
    Ok(engine.login(&username, &password).await?)
}

/// Signs out; the local session is forgotten even when the server cannot be told. The account's
/// cache stays for the next sign-in.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    Ok(engine.logout().await?)
}

/// The signed-in user, or `null` when nobody is (or the session ended on the server). Answered
/// from the engine's cache: a saved session shows at once, online or not.
#[tauri::command]
pub async fn current_user(state: State<'_, AppState>) -> Result<Option<User>, CommandError> {
    let engine = state.engine().await?;
    if engine.connection_state() == ConnectionState::SignedOut {
        return Ok(None);
    }
    Ok(engine.me())
}
