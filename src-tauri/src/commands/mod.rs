//! The Tauri commands: the whole surface the UI can call. Each one is a thin wrapper over the
//! `jeco-client` engine (through [`AppState`]); none holds business logic, and every failure reaches
//! the UI as a [`CommandError`] `{code, message, fields?}`.
//!
//! Commands of one area live in a submodule of their own (registered in `lib.rs` like these).

pub mod account;
pub mod admin;
pub mod alerts;
pub mod directory;
pub mod files;
pub mod inbox;
pub mod links;
pub mod people;
pub mod prefs;
pub mod timeline;
pub mod timeline_window;
pub mod two_factor;
pub mod voice;
pub mod window;

use crate::error::CommandError;
use crate::session::{AppState, AppStatus};
use jeco_client::cache::Draft;
use jeco_client::{ConnectionState, MessageRef, OutboxItem, SearchResult, Timeline};
use jeco_shared::conversations::Conversation;
use jeco_shared::media::{Attachment, AttachmentKind};
use jeco_shared::teams::Team;
use jeco_shared::users::User;
use jeco_shared::{ConversationId, MessageId, UserId};
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

/// The limits of the server signed in to, as its operator configured them (the protocol's
/// defaults before the first connection). The view checks them before asking.
#[tauri::command]
pub async fn limits(
    state: State<'_, AppState>,
) -> Result<jeco_shared::limits::Limits, CommandError> {
    Ok(state.engine().await?.limits())
}

// ---- Chat: reading comes from the engine's cache (instant, offline); writing goes through its
// ---- outbox (queued offline, delivered exactly once). The UI re-reads on `engine-event`s.

/// Conversations, most recently active first.
#[tauri::command]
pub async fn conversations(state: State<'_, AppState>) -> Result<Vec<Conversation>, CommandError> {
    Ok(state.engine().await?.conversations()?)
}

/// The conversation that was open when the app last showed one (`null`: none, or it is gone): the
/// window opens on it, from the cache.
#[tauri::command]
pub async fn last_opened(
    state: State<'_, AppState>,
) -> Result<Option<ConversationId>, CommandError> {
    Ok(state.engine().await?.last_opened()?)
}

/// A page of a conversation's timeline, oldest first: the newest (`before` = null) or older than
/// a message `seq`. Older history the cache lacks is fetched first when online.
#[tauri::command]
pub async fn timeline(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<Timeline, CommandError> {
    let limit = limit.unwrap_or(50).clamp(1, 200);
    Ok(state
        .engine()
        .await?
        .load_timeline(conversation_id, before, limit)
        .await?)
}

/// Queues a message; it shows as pending until the server confirms it. With `reply_to` and
/// `thread_only` it is a thread reply that stays out of the channel ("Also send to #channel"
/// unticked).
#[tauri::command]
pub async fn send_message(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    text: String,
    reply_to: Option<MessageId>,
    thread_only: Option<bool>,
) -> Result<OutboxItem, CommandError> {
    let engine = state.engine().await?;
    Ok(send_files_or_text(
        &engine,
        conversation_id,
        &text,
        reply_to,
        thread_only,
        &[],
    )?)
}

/// One send for the commands that send: a thread reply kept in its thread, or anything else.
pub(crate) fn send_files_or_text(
    engine: &jeco_client::Engine,
    conversation_id: ConversationId,
    text: &str,
    reply_to: Option<MessageId>,
    thread_only: Option<bool>,
    files: &[jeco_client::FileToSend],
) -> Result<OutboxItem, jeco_client::EngineError> {
    match reply_to {
        Some(root) if thread_only == Some(true) => {
            engine.send_in_thread(conversation_id, root, text, files, false)
        }
        _ if files.is_empty() => engine.send(conversation_id, text, reply_to),
        _ => engine.send_files(conversation_id, text, reply_to, files),
    }
}

#[tauri::command]
pub async fn edit_message(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    target: MessageRef,
    text: String,
) -> Result<(), CommandError> {
    state.engine().await?.edit(conversation_id, target, &text)?;
    Ok(())
}

#[tauri::command]
pub async fn delete_message(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    target: MessageRef,
) -> Result<(), CommandError> {
    state.engine().await?.delete(conversation_id, target)?;
    Ok(())
}

/// Adds (`add`) or removes the user's reaction.
#[tauri::command]
pub async fn react(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    target: MessageRef,
    emoji: String,
    add: bool,
) -> Result<(), CommandError> {
    state
        .engine()
        .await?
        .react(conversation_id, target, &emoji, add)?;
    Ok(())
}

/// Retries a failed change (a message the server refused).
#[tauri::command]
pub async fn retry_outbox(state: State<'_, AppState>, id: i64) -> Result<bool, CommandError> {
    Ok(state.engine().await?.retry(id)?)
}

/// Drops a failed or pending change.
#[tauri::command]
pub async fn discard_outbox(state: State<'_, AppState>, id: i64) -> Result<(), CommandError> {
    state.engine().await?.discard(id)?;
    Ok(())
}

/// Messages matching `query`: the cache at once, merged with the server's when online.
#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    conversation_id: Option<ConversationId>,
) -> Result<Vec<SearchResult>, CommandError> {
    Ok(state
        .engine()
        .await?
        .search(&query, conversation_id, 50)
        .await?)
}

/// Opens (or finds) the direct conversation with `@username`.
#[tauri::command]
pub async fn open_direct(
    state: State<'_, AppState>,
    username: String,
) -> Result<Conversation, CommandError> {
    let engine = state.engine().await?;
    let user = engine.find_user(&username).await?.ok_or_else(|| {
        CommandError::new(
            "not_found",
            format!(
                "There is no user @{}.",
                username.trim().trim_start_matches('@')
            ),
        )
        .with_field("username", "no such user")
    })?;
    Ok(engine.open_direct(user.id).await?)
}

/// Joins a team with an invitation code.
#[tauri::command]
pub async fn join_invite(state: State<'_, AppState>, code: String) -> Result<Team, CommandError> {
    Ok(state.engine().await?.join_invite(&code).await?)
}

/// Cached profiles of these users (unknown ones are fetched when online).
#[tauri::command]
pub async fn users(
    state: State<'_, AppState>,
    ids: Vec<UserId>,
) -> Result<Vec<User>, CommandError> {
    let engine = state.engine().await?;
    engine.learn_users(ids.iter().copied()).await;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(user) = engine.user(id)? {
            found.push(user);
        }
    }
    Ok(found)
}

/// Keeps what is typed in a conversation (an empty text removes the draft).
#[tauri::command]
pub async fn set_draft(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    text: String,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .set_draft(conversation_id, &text, None)?)
}

#[tauri::command]
pub async fn draft(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<Option<Draft>, CommandError> {
    Ok(state.engine().await?.draft(conversation_id)?)
}

/// Tells the others the user is (or stopped) typing; dropped when offline.
#[tauri::command]
pub async fn typing(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    active: bool,
) -> Result<(), CommandError> {
    state.engine().await?.typing(conversation_id, active);
    Ok(())
}

/// The sync connection's state.
#[tauri::command]
pub async fn connection_state(state: State<'_, AppState>) -> Result<ConnectionState, CommandError> {
    Ok(state.engine().await?.connection_state())
}

/// Retry connecting now (the "Retry" button of the offline banner).
#[tauri::command]
pub async fn reconnect_now(state: State<'_, AppState>) -> Result<(), CommandError> {
    state.engine().await?.reconnect_now();
    Ok(())
}

/// An image attachment (or its thumbnail) as a `data:` URL for `<img src>`, from the engine's
/// media cache (downloaded into it first when needed). Only images, and at most 8 MiB.
#[tauri::command]
pub async fn attachment_data_url(
    state: State<'_, AppState>,
    attachment: Attachment,
    thumbnail: bool,
) -> Result<String, CommandError> {
    use base64::Engine as _;
    const MAX: u64 = 8 * 1024 * 1024;
    if attachment.kind != AttachmentKind::Image {
        return Err(CommandError::new(
            "validation_failed",
            "Only images are shown inline.",
        ));
    }
    let engine = state.engine().await?;
    let path = engine.attachment_file(&attachment, thumbnail).await?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| CommandError::new("internal", format!("Cannot read the image: {e}")))?;
    if bytes.len() as u64 > MAX {
        return Err(CommandError::new(
            "payload_too_large",
            "The image is too large to show.",
        ));
    }
    // The thumbnail's type is not in the attachment; both are images the web view sniffs safely.
    let content_type = if thumbnail {
        if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
            "image/png"
        } else {
            "image/jpeg"
        }
    } else {
        attachment.content_type.as_str()
    };
    Ok(format!(
        "data:{content_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

/// A file picked, dropped or pasted in the web view: its name and bytes (base64).
#[derive(Debug, serde::Deserialize)]
pub struct DroppedFile {
    pub name: String,
    pub data_base64: String,
}

/// Sends a message with files from the web view (which cannot hand over paths). The bytes are
/// written to a private temporary folder, taken into the engine's outbox (which copies them), and
/// removed; the uploads then run like any other queued send, offline included.
#[tauri::command]
pub async fn send_with_files(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    text: String,
    files: Vec<DroppedFile>,
    reply_to: Option<MessageId>,
    thread_only: Option<bool>,
) -> Result<OutboxItem, CommandError> {
    use base64::Engine as _;
    const MAX_TOTAL: usize = 200 * 1024 * 1024;
    let engine = state.engine().await?;
    let dir = tempfile::tempdir()
        .map_err(|e| CommandError::new("internal", format!("No temporary folder: {e}")))?;
    let mut total = 0usize;
    let mut to_send = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f.data_base64.as_bytes())
            .map_err(|_| CommandError::new("validation_failed", "A file could not be read."))?;
        total += bytes.len();
        if total > MAX_TOTAL {
            return Err(CommandError::new(
                "payload_too_large",
                "These files are too large to send together.",
            ));
        }
        // The name only labels the file; the path is ours (index-named, inside our folder).
        let path = dir.path().join(i.to_string());
        std::fs::write(&path, &bytes)
            .map_err(|e| CommandError::new("internal", format!("Cannot keep the file: {e}")))?;
        let mut file = jeco_client::FileToSend::new(&path);
        file.kind = jeco_client::FileToSend::new(&f.name).kind;
        file.name = Some(f.name.clone());
        to_send.push(file);
    }
    Ok(send_files_or_text(
        &engine,
        conversation_id,
        &text,
        reply_to,
        thread_only,
        &to_send,
    )?)
}

/// Hosts the built-in server on the local network for teammates (or on this computer only).
#[tauri::command]
pub async fn set_hosting(state: State<'_, AppState>, on: bool) -> Result<AppStatus, CommandError> {
    state.set_hosting(on).await
}

/// Stops or starts the built-in server.
#[tauri::command]
pub async fn set_embedded_running(
    state: State<'_, AppState>,
    run: bool,
) -> Result<AppStatus, CommandError> {
    state.set_embedded_running(run).await
}
