//! Timeline commands beyond reading and writing messages: threads and quoted parents, pins, and
//! read receipts. Thin wrappers over the engine's `threads` and `pins` APIs; a thread and a quoted
//! parent come from the cache first (offline too), pins need the server to change.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_client::{Thread, ThreadEntry};
use jeco_shared::messages::Message;
use jeco_shared::{ConversationId, MessageId, UserId};
use serde::Serialize;
use tauri::State;

/// How many messages one `messages` call may ask for (the quoted parents of a page).
const MESSAGES_PER_CALL_MAX: usize = 200;

/// One member's read position: everything up to `read_seq` has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ReadReceipt {
    pub user_id: UserId,
    pub read_seq: i64,
}

/// A thread: its root and its replies (fetched from the server first when online).
#[tauri::command]
pub async fn thread(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    root: MessageId,
) -> Result<Thread, CommandError> {
    Ok(state
        .engine()
        .await?
        .load_thread(conversation_id, root)
        .await?)
}

/// The threads the user takes part in, newest reply first, with their unread replies (the
/// Threads view; needs the server).
#[tauri::command]
pub async fn threads(
    state: State<'_, AppState>,
    limit: Option<u32>,
) -> Result<Vec<ThreadEntry>, CommandError> {
    Ok(state
        .engine()
        .await?
        .threads(limit.unwrap_or(jeco_shared::messages::THREAD_LIST_DEFAULT))
        .await?)
}

/// These messages of a conversation (the parents the timeline quotes), those that can be found:
/// cached, or fetched when online. Missing ones are left out.
#[tauri::command]
pub async fn messages(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    ids: Vec<MessageId>,
) -> Result<Vec<Message>, CommandError> {
    if ids.len() > MESSAGES_PER_CALL_MAX {
        return Err(CommandError::new(
            "validation_failed",
            format!("At most {MESSAGES_PER_CALL_MAX} messages at a time."),
        ));
    }
    let engine = state.engine().await?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(m) = engine.message(conversation_id, id).await? {
            found.push(m);
        }
    }
    Ok(found)
}

/// Pins or unpins a message (online only); returns it as it is now.
#[tauri::command]
pub async fn set_pinned(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
    message_id: MessageId,
    pinned: bool,
) -> Result<Message, CommandError> {
    Ok(state
        .engine()
        .await?
        .set_pinned(conversation_id, message_id, pinned)
        .await?)
}

/// The conversation's pinned messages, most recently pinned first.
#[tauri::command]
pub async fn pins(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<Vec<Message>, CommandError> {
    Ok(state.engine().await?.pins(conversation_id).await?)
}

/// Members' read positions in the conversation (from the cache; kept current by events).
#[tauri::command]
pub async fn read_receipts(
    state: State<'_, AppState>,
    conversation_id: ConversationId,
) -> Result<Vec<ReadReceipt>, CommandError> {
    Ok(state
        .engine()
        .await?
        .read_receipts(conversation_id)?
        .into_iter()
        .map(|(user_id, read_seq)| ReadReceipt { user_id, read_seq })
        .collect())
}
