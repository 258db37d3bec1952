//! Voice notes: record from the microphone, send through the engine's outbox, play inline.
//!
//! The work is in [`crate::voice`]; these commands hold the one recording and the one playback in
//! [`VoiceState`] and forward the module's events to the UI as `voice-event`s. Opening devices
//! and joining the recording thread block, so they run on the blocking pool, never on the async
//! runtime or the UI thread.

use crate::error::CommandError;
use crate::session::AppState;
use crate::voice::capture::Recording;
use crate::voice::{EventSink, MAX_DURATION_MS, VOICE_EVENT, VoiceError, VoiceState};
use jeco_client::{FileToSend, OutboxItem};
use jeco_shared::media::{Attachment, AttachmentKind};
use jeco_shared::{ConversationId, MessageId};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, State};

/// Overrides the longest recording, in seconds (at most the built-in 5 minutes).
pub const ENV_MAX_SECONDS: &str = "JECO_DESKTOP_VOICE_MAX_SECONDS";

fn max_duration_ms() -> u32 {
    std::env::var(ENV_MAX_SECONDS)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map(|secs| secs.saturating_mul(1000).clamp(1000, MAX_DURATION_MS))
        .unwrap_or(MAX_DURATION_MS)
}

/// Largest voice note played (a 5-minute note is about 1 MB; an hour at a high bitrate ~60 MB).
const PLAY_MAX_BYTES: u64 = 64 * 1024 * 1024;

fn sink(app: &AppHandle) -> EventSink {
    let app = app.clone();
    Arc::new(move |event| {
        if let Err(e) = app.emit(VOICE_EVENT, event) {
            tracing::debug!(error = %e, "cannot forward a voice event");
        }
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VoiceError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| CommandError::new("internal", e.to_string()))?
        .map_err(CommandError::from)
}

/// Starts recording from the default microphone (a recording left over is dropped first).
/// Errors: `no_microphone`, `microphone_unavailable`.
#[tauri::command]
pub async fn voice_start(app: AppHandle, voice: State<'_, VoiceState>) -> Result<(), CommandError> {
    let leftover = voice.recorder.lock().map_err(poisoned)?.take();
    let events = sink(&app);
    let recording = blocking(move || {
        app.state::<VoiceState>().player.pause();
        if let Some(old) = leftover {
            old.cancel();
        }
        Recording::start_with_limit(events, max_duration_ms())
    })
    .await?;
    *voice.recorder.lock().map_err(poisoned)? = Some(recording);
    Ok(())
}

/// Stops and discards the recording.
#[tauri::command]
pub async fn voice_cancel(voice: State<'_, VoiceState>) -> Result<(), CommandError> {
    let recording = voice.recorder.lock().map_err(poisoned)?.take();
    if let Some(recording) = recording {
        blocking(move || {
            recording.cancel();
            Ok(())
        })
        .await?;
    }
    Ok(())
}

/// Stops the recording and sends it as a voice-note attachment through the outbox: queued
/// offline, uploaded resumably, shown as pending until delivered, like any file. With
/// `reply_to` it is a reply (in a thread: to the thread's root; `thread_only` keeps it there).
#[tauri::command]
pub async fn voice_send(
    state: State<'_, AppState>,
    voice: State<'_, VoiceState>,
    conversation_id: ConversationId,
    reply_to: Option<MessageId>,
    thread_only: Option<bool>,
) -> Result<OutboxItem, CommandError> {
    let engine = state.engine().await?;
    let recording = voice
        .recorder
        .lock()
        .map_err(poisoned)?
        .take()
        .ok_or(VoiceError::NotRecording)?;
    let note = blocking(move || recording.stop()).await?;
    let dir = tempfile::tempdir()
        .map_err(|e| CommandError::new("internal", format!("No temporary folder: {e}")))?;
    let path = dir.path().join("voice-note.ogg");
    std::fs::write(&path, &note.ogg)
        .map_err(|e| CommandError::new("internal", format!("Cannot keep the recording: {e}")))?;
    let mut file = FileToSend::new(&path);
    file.kind = AttachmentKind::Voice;
    file.name = Some("Voice note.ogg".to_owned());
    file.duration_ms = Some(note.duration_ms);
    file.waveform = Some(note.waveform);
    // The outbox copies the file before this returns; the temporary folder can go.
    Ok(super::send_files_or_text(
        &engine,
        conversation_id,
        "",
        reply_to,
        thread_only,
        &[file],
    )?)
}

/// Plays a voice note from `fromMs` (0: the start), downloading it into the media cache first
/// when needed. Progress arrives as `playback` voice events.
#[tauri::command]
pub async fn voice_play(
    app: AppHandle,
    state: State<'_, AppState>,
    attachment: Attachment,
    from_ms: Option<u32>,
) -> Result<(), CommandError> {
    if attachment.kind != AttachmentKind::Voice {
        return Err(CommandError::new(
            "validation_failed",
            "Only voice notes are played here.",
        ));
    }
    if attachment.size > PLAY_MAX_BYTES {
        return Err(CommandError::new(
            "payload_too_large",
            "This voice note is too large to play.",
        ));
    }
    let path = state
        .engine()
        .await?
        .attachment_file(&attachment, false)
        .await?;
    let ogg = tokio::fs::read(&path)
        .await
        .map_err(|e| CommandError::new("internal", format!("Cannot read the voice note: {e}")))?;
    let events = sink(&app);
    let id = attachment.id;
    blocking(move || {
        let voice = app.state::<VoiceState>();
        voice.player.play(id, ogg, from_ms.unwrap_or(0), events)
    })
    .await
}

/// Pauses the voice note that plays (its last `playback` event says where it stopped).
#[tauri::command]
pub async fn voice_pause(app: AppHandle) -> Result<(), CommandError> {
    blocking(move || {
        app.state::<VoiceState>().player.pause();
        Ok(())
    })
    .await
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> CommandError {
    CommandError::new(
        "internal",
        "The voice recorder failed earlier; restart the app.",
    )
}
