//! Commands of the channel browser and the people picker: a team's channels (join, leave), people
//! found by name, and the group or direct conversation started with the people picked. Each needs
//! the server's answer (see `jeco_client::Engine`'s directory API); offline they fail with
//! `server_unreachable`, which the UI explains.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_shared::conversations::Conversation;
use jeco_shared::ids::TeamId;
use jeco_shared::teams::Channel;
use jeco_shared::users::User;
use jeco_shared::{ConversationId, UserId};
use tauri::State;

/// A team's channels the user may see (public ones with topic, size and whether the user is in
/// each; private ones only when in them), by name.
#[tauri::command]
pub async fn team_channels(
    state: State<'_, AppState>,
    team_id: TeamId,
) -> Result<Vec<Channel>, CommandError> {
    Ok(state.engine().await?.team_channels(team_id).await?)
}

/// Joins a public channel; answers it as the sidebar lists it.
#[tauri::command]
pub async fn join_channel(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<Conversation, CommandError> {
    let engine = state.engine().await?;
    engine.join_channel(conversation_id).await?;
    engine.conversation(conversation_id)?.ok_or_else(|| {
        CommandError::new("not_found", "The channel was joined but could not be read.")
    })
}

/// Leaves a channel or group (a team's `#general` is left by leaving the team: `conflict`).
#[tauri::command]
pub async fn leave_conversation(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .leave_conversation(conversation_id)
        .await?)
}

/// People whose username or display name starts with `query` (everyone for an empty query).
#[tauri::command]
pub async fn search_users(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<User>, CommandError> {
    Ok(state.engine().await?.search_users(&query).await?)
}

/// Creates a group with the people picked; the user is its owner.
#[tauri::command]
pub async fn create_group(
    state: State<'_, AppState>,
    name: String,
    member_ids: Vec<UserId>,
) -> Result<Conversation, CommandError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(
            CommandError::new("validation_failed", "A group needs a name.")
                .with_field("name", "is empty"),
        );
    }
    Ok(state
        .engine()
        .await?
        .create_group(name, &member_ids)
        .await?)
}

/// Opens (or finds) the direct conversation with the person picked.
#[tauri::command]
pub async fn open_direct_user(
    state: State<'_, AppState>,
    user_id: UserId,
) -> Result<Conversation, CommandError> {
    Ok(state.engine().await?.open_direct(user_id).await?)
}
