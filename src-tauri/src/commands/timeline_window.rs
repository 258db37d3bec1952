//! The timeline window commands: the view opens a conversation's window, asks for older messages,
//! a jump to a message or the newest again, and says whether the reader follows the newest. The
//! window itself — paging, merging, trimming, pending and refused sends — is the engine's
//! (`jeco_client` `engine/window`); its changes reach the view as `EngineEvent::Window` diffs on
//! the engine event channel, so these commands return little and the view never merges pages.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_client::Timeline;
use jeco_shared::{ConversationId, MessageId};
use tauri::State;

/// Opens (or re-opens) the window of a conversation on its newest page, following the newest.
/// Returns what it shows (also emitted as a `reset` diff), so a first frame needs no event.
#[tauri::command]
pub async fn open_window(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<Timeline, CommandError> {
    Ok(state.engine().await?.open_window(conversation_id).await?)
}

/// Closes the window of a conversation (the pane went away): its diffs stop.
#[tauri::command]
pub async fn close_window(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<(), CommandError> {
    state.engine().await?.close_window(conversation_id);
    Ok(())
}

/// One older page into the window. Returns whether older messages remain.
#[tauri::command]
pub async fn window_load_older(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<bool, CommandError> {
    Ok(state
        .engine()
        .await?
        .window_load_older(conversation_id)
        .await?)
}

/// Brings a message into the window (loading older pages, bounded). Returns its `seq` when it is
/// in the window now; `null` when unknown, kept in its thread, or too far back.
#[tauri::command]
pub async fn window_jump(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Option<i64>, CommandError> {
    Ok(state
        .engine()
        .await?
        .window_jump(conversation_id, message_id)
        .await?)
}

/// Loads older pages until the window reaches back to `seq` (the first unread message; bounded).
/// Returns whether it does.
#[tauri::command]
pub async fn window_reach(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    seq: i64,
) -> Result<bool, CommandError> {
    Ok(state
        .engine()
        .await?
        .window_reach(conversation_id, seq)
        .await?)
}

/// Back to the newest page, following the newest.
#[tauri::command]
pub async fn window_newest(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<(), CommandError> {
    Ok(state.engine().await?.window_newest(conversation_id)?)
}

/// Whether the reader follows the newest messages (is at the bottom): while so, the engine keeps
/// the window bounded.
#[tauri::command]
pub async fn window_following(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    following: bool,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .window_following(conversation_id, following)?)
}
