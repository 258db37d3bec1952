//! What the engine and the alerts need from the view: what is on screen (the engine decides from
//! it what is read), and the Settings "Test sound" button.

use crate::alerts::Alerts;
use crate::error::CommandError;
use crate::prefs::PrefsStore;
use crate::session::AppState;
use crate::sound::{Sound, SoundError};
use jeco_shared::ConversationId;
use tauri::State;

/// What the window shows: the conversation open (`null`: none) and the `seq` of the newest
/// confirmed message on screen there (`null`: none yet). The engine decides from it, and from the
/// window's focus, what is read (only what was on screen in a focused window) and reads the
/// matching notifications; a message there does not alert while the window has the focus, and
/// the next start opens on the conversation (`last_opened`).
#[tauri::command]
pub async fn set_viewing(
    alerts: State<'_, Alerts>,
    state: State<'_, AppState>,
    conversation_id: Option<ConversationId>,
    newest_on_screen: Option<i64>,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    // An engine made after the last focus change (another server) learns the focus here.
    engine.set_focused(alerts.attention.focused())?;
    engine.set_viewing(conversation_id, newest_on_screen)?;
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
