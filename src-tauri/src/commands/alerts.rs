//! What the alerts need from the view: which conversation is on screen, and the Settings
//! "Test sound" button.

use crate::alerts::Alerts;
use crate::error::CommandError;
use crate::prefs::PrefsStore;
use crate::session::AppState;
use crate::sound::{Sound, SoundError};
use jeco_shared::ConversationId;
use tauri::State;

/// The conversation now open in the window (`null`: none). A message there does not alert while
/// the window has the focus, and the next start opens on it (`last_opened`).
#[tauri::command]
pub async fn set_viewing(
    alerts: State<'_, Alerts>,
    state: State<'_, AppState>,
    conversation_id: Option<ConversationId>,
) -> Result<(), CommandError> {
    alerts.attention.set_viewing(conversation_id);
    if let Some(id) = conversation_id {
        state.engine().await?.set_last_opened(id)?;
    }
    Ok(())
}

/// Plays an alert sound at the chosen volume, whatever the on/off switch says (it is a test).
/// `audio_unavailable` when no output device could be opened.
#[tauri::command]
pub async fn test_sound(
    alerts: State<'_, Alerts>,
    prefs: State<'_, PrefsStore>,
    sound: Sound,
) -> Result<(), CommandError> {
    let gain = prefs.get().gain();
    alerts.test_sound(sound, gain).await.map_err(|e| match e {
        SoundError::NoDevice(detail) => CommandError::new(
            "audio_unavailable",
            format!("No sound device could be opened: {detail}"),
        ),
        SoundError::Stopped => CommandError::new("internal", e.to_string()),
    })
}
