//! Preferences: the alert settings of this computer (`preferences.json`) and per-conversation
//! mute (kept by the server, mirrored in the engine's cache).

use crate::error::CommandError;
use crate::prefs::{Preferences, PrefsStore, now_ms};
use crate::session::AppState;
use jeco_shared::ConversationId;
use jeco_shared::conversations::Conversation;
use tauri::State;

/// The current preferences.
#[tauri::command]
pub async fn preferences(prefs: State<'_, PrefsStore>) -> Result<Preferences, CommandError> {
    Ok(prefs.get())
}

/// Replaces the preferences (checked, then saved) and returns what is now in force.
#[tauri::command]
pub async fn set_preferences(
    prefs: State<'_, PrefsStore>,
    preferences: Preferences,
) -> Result<Preferences, CommandError> {
    prefs.set(preferences, now_ms())
}

/// Mutes or unmutes a conversation (at once; the server is told through the outbox, so this
/// works offline) and returns it as the list now shows it.
#[tauri::command]
pub async fn set_conversation_muted(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    muted: bool,
) -> Result<Conversation, CommandError> {
    let engine = state.engine().await?;
    engine.set_muted(conversation_id, muted)?;
    engine.conversation(conversation_id)?.ok_or_else(|| {
        CommandError::new("not_found", "This conversation is no longer in the list.")
    })
}
