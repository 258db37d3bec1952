//! The outbox delivery task: while the connection is live, hands the oldest deliverable item to
//! the server, waits for the answer, and records the outcome. One item at a time keeps the order
//! the person made the changes in; see [`crate::outbox`] for the guarantees.
//!
//! Deliveries go over REST (each answer carries the confirmed object, or a typed refusal), while
//! the WebSocket keeps streaming everyone's changes. A send carries its stored `client_id`, so a
//! send repeated after a lost answer — or after the process was killed mid-flight — returns the
//! original message instead of posting a second one.

use super::{ConnectionState, EngineError, EngineEvent, Inner, with_token};
use crate::api::ApiError;
use crate::cache::Cache;
use crate::outbox::{
    MessageRef, OutboxError, OutboxItem, OutboxOp, OutboxState, PendingUpload, is_transient,
};
use crate::session::ClientError;
use jeco_shared::AttachmentId;
use jeco_shared::media::CreateUploadRequest;
use jeco_shared::messages::{Message, SendMessageRequest};
use jeco_shared::users::User;
use jeco_shared::{ErrorCode, MessageId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

enum Outcome {
    /// Confirmed (with the message as the server now has it, when the answer carries one).
    Done(Option<Box<Message>>),
    /// Refused for good.
    Failed(OutboxError),
    /// Not now: try again after this long (or once the connection is back).
    Later(Duration),
    /// The session is over; the sync loop reports it.
    SignedOut,
}

pub(crate) async fn run(
    inner: Arc<Inner>,
    me: User,
    cache: Arc<Cache>,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = inner.state.subscribe();
    loop {
        // Wait for a live connection.
        loop {
            if *stop.borrow() {
                return;
            }
            if state.borrow_and_update().is_live() {
                break;
            }
            tokio::select! {
                changed = state.changed() => if changed.is_err() { return },
                _ = stop.changed() => {}
            }
        }
        let item = match cache.next_deliverable() {
            Ok(Some(item)) => item,
            Ok(None) => {
                tokio::select! {
                    _ = inner.outbox_wake.notified() => {}
                    changed = state.changed() => if changed.is_err() { return },
                    _ = stop.changed() => {}
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = cache.outbox_sending(item.id) {
            tracing::warn!(error = %e, "cannot update the outbox");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        inner.emit(EngineEvent::Outbox(OutboxItem {
            state: OutboxState::Sending,
            attempts: item.attempts + 1,
            ..item.clone()
        }));
        // A connection declared dead (no pong) also abandons the request in flight: its answer
        // may never come, and waiting out an HTTP timeout would hold the whole queue. Whether or
        // not the server got it, sending it again later is safe.
        let outcome = tokio::select! {
            outcome = deliver(&inner, &cache, &item) => outcome,
            _ = state.wait_for(|s| !s.is_live()) => Outcome::Later(Duration::ZERO),
            _ = stop.changed() => return,
        };
        let conversation_id = item.conversation_id;
        match outcome {
            Outcome::Done(message) => {
                let mut seqs = Vec::new();
                let stored = match &message {
                    Some(m) => {
                        seqs.push(m.seq);
                        cache.store_confirmed(me.id, m)
                    }
                    None => Ok(()),
                };
                if let Err(e) = stored.and_then(|_| cache.outbox_done(item.id)) {
                    tracing::warn!(error = %e, "cannot record a delivery");
                    continue;
                }
                inner.emit(EngineEvent::OutboxRemoved {
                    id: item.id,
                    conversation_id,
                    delivered: true,
                });
                inner.emit(EngineEvent::TimelineChanged {
                    conversation_id,
                    seqs,
                });
                if matches!(item.op, OutboxOp::Send { .. }) {
                    inner.emit(EngineEvent::ConversationsChanged);
                }
            }
            Outcome::Failed(error) => {
                tracing::info!(item = item.id, code = %error.code, "outbox item refused: {}", error.message);
                if let Err(e) = cache.outbox_failed(item.id, &error) {
                    tracing::warn!(error = %e, "cannot record a refusal");
                    continue;
                }
                if let Ok(Some(item)) = cache.outbox_item(item.id) {
                    inner.emit(EngineEvent::Outbox(item));
                }
                inner.emit(EngineEvent::TimelineChanged {
                    conversation_id,
                    seqs: Vec::new(),
                });
            }
            Outcome::Later(delay) => {
                tracing::debug!(item = item.id, ?delay, "outbox delivery postponed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
            }
            Outcome::SignedOut => {
                // Wait for the sync loop to move on (signed out, or a new live connection).
                tokio::select! {
                    _ = state.changed() => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

async fn deliver(inner: &Inner, cache: &Cache, item: &OutboxItem) -> Outcome {
    let conversation = item.conversation_id;
    let resolve = |target: &MessageRef| -> Result<MessageId, Outcome> {
        match target {
            MessageRef::Id(id) => Ok(*id),
            MessageRef::Pending(cid) => match cache.message_by_client_id(conversation, cid) {
                Ok(Some(m)) => Ok(m.id),
                Ok(None) => Err(Outcome::Failed(OutboxError {
                    code: ErrorCode::NotFound,
                    message: "the message this change is about was never sent".into(),
                })),
                Err(e) => Err(Outcome::Later(local_failure(e))),
            },
        }
    };
    let result = match &item.op {
        OutboxOp::Send {
            client_id,
            text,
            reply_to,
            thread_only,
            attachments,
        } => {
            let attachment_ids = match upload_all(inner, cache, item, attachments).await {
                Ok(ids) => ids,
                Err(outcome) => return outcome,
            };
            let body = SendMessageRequest {
                client_id: client_id.clone(),
                text: text.clone(),
                reply_to: *reply_to,
                thread_only: *thread_only,
                attachment_ids,
            };
            let sent = with_token(&inner.client, |api, token| {
                let body = body.clone();
                async move { api.send_message(&token, conversation, &body).await }
            })
            .await
            .map(Some);
            if sent.is_ok() {
                // The server has the files now; the staged copies can go.
                for a in attachments {
                    let _ = std::fs::remove_file(&a.path);
                }
            }
            sent
        }
        OutboxOp::Edit { target, text } => {
            let id = match resolve(target) {
                Ok(id) => id,
                Err(outcome) => return outcome,
            };
            with_token(&inner.client, |api, token| {
                let text = text.clone();
                async move { api.edit_message(&token, conversation, id, &text).await }
            })
            .await
            .map(Some)
        }
        OutboxOp::Delete { target } => {
            let id = match resolve(target) {
                Ok(id) => id,
                Err(outcome) => return outcome,
            };
            match with_token(&inner.client, |api, token| async move {
                api.delete_message(&token, conversation, id).await
            })
            .await
            {
                // Gone already (an earlier attempt whose answer was lost): that is the goal.
                Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
                other => other.map(|()| None),
            }
        }
        OutboxOp::React { target, emoji, add } => {
            let id = match resolve(target) {
                Ok(id) => id,
                Err(outcome) => return outcome,
            };
            let add = *add;
            with_token(&inner.client, |api, token| {
                let emoji = emoji.clone();
                async move {
                    api.set_reaction(&token, conversation, id, &emoji, add)
                        .await
                }
            })
            .await
            .map(|_| None)
        }
        OutboxOp::SetMuted { muted } => {
            let body = jeco_shared::notifications::MuteRequest { muted: *muted };
            match with_token(&inner.client, |api, token| async move {
                api.call::<jeco_shared::endpoints::SetMute>(&token, &(conversation,), &body)
                    .await
            })
            .await
            {
                // Not a member any more: there is nothing to mute.
                Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
                other => other.map(|_| None),
            }
        }
        OutboxOp::MarkRead { seq } => {
            let seq = *seq;
            match with_token(&inner.client, |api, token| async move {
                api.mark_read(&token, conversation, seq).await
            })
            .await
            {
                // Not a member any more: there is nothing to mark.
                Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
                other => other.map(|_| None),
            }
        }
    };
    match result {
        Ok(message) => Outcome::Done(message.map(Box::new)),
        Err(e) => classify(inner, e),
    }
}

/// Uploads a send's files that are not uploaded yet, saving progress in the outbox after every
/// step, and returns the attachment ids in order.
async fn upload_all(
    inner: &Inner,
    cache: &Cache,
    item: &OutboxItem,
    attachments: &[PendingUpload],
) -> Result<Vec<AttachmentId>, Outcome> {
    let mut files = attachments.to_vec();
    for index in 0..files.len() {
        if files[index].attachment.is_none() {
            upload_one(inner, cache, item, &mut files, index).await?;
        }
    }
    Ok(files
        .iter()
        .filter_map(|f| f.attachment.as_ref().map(|a| a.id))
        .collect())
}

fn save_progress(cache: &Cache, item: &OutboxItem, files: &[PendingUpload]) -> Result<(), Outcome> {
    let OutboxOp::Send {
        client_id,
        text,
        reply_to,
        thread_only,
        ..
    } = &item.op
    else {
        return Ok(());
    };
    let op = OutboxOp::Send {
        client_id: client_id.clone(),
        text: text.clone(),
        reply_to: *reply_to,
        thread_only: *thread_only,
        attachments: files.to_vec(),
    };
    cache
        .outbox_update_op(item.id, &op)
        .map_err(|e| Outcome::Later(local_failure(e)))
}

async fn upload_one(
    inner: &Inner,
    cache: &Cache,
    item: &OutboxItem,
    files: &mut [PendingUpload],
    index: usize,
) -> Result<(), Outcome> {
    let file = files[index].clone();
    let total = file.size;
    let progress = |sent: u64| {
        inner.emit(EngineEvent::UploadProgress {
            outbox_id: item.id,
            conversation_id: item.conversation_id,
            file: index as u32,
            sent,
            total,
        })
    };
    // Where the server stands: a new upload starts at 0; a known one continues at its offset
    // (one that expired or vanished is started again).
    let mut offset = 0;
    let mut upload_id = file.upload_id.clone();
    if let Some(id) = &upload_id {
        let status = with_token(&inner.client, |api, token| {
            let id = id.clone();
            async move { api.upload_status(&token, &id).await }
        })
        .await;
        match status {
            Ok(upload) => {
                if let Some(attachment) = upload.attachment {
                    files[index].attachment = Some(attachment);
                    return save_progress(cache, item, files);
                }
                offset = upload.offset;
            }
            Err(e) if e.code() == ErrorCode::NotFound => upload_id = None,
            Err(e) => return Err(classify(inner, e)),
        }
    }
    let id = match upload_id {
        Some(id) => id,
        None => {
            let body = CreateUploadRequest {
                name: file.name.clone(),
                size: file.size,
                kind: file.kind,
                sha256: Some(file.sha256.clone()),
                duration_ms: file.duration_ms,
                waveform: file.waveform.clone(),
            };
            let upload = with_token(&inner.client, |api, token| {
                let body = body.clone();
                async move { api.create_upload(&token, &body).await }
            })
            .await
            .map_err(|e| classify(inner, e))?;
            files[index].upload_id = Some(upload.id.clone());
            save_progress(cache, item, files)?;
            offset = 0;
            upload.id
        }
    };
    progress(offset);
    let mut source = std::fs::File::open(&file.path).map_err(|e| {
        Outcome::Failed(OutboxError {
            code: ErrorCode::NotFound,
            message: format!("the file to send is gone ({e})"),
        })
    })?;
    loop {
        use std::io::{Read, Seek, SeekFrom};
        let chunk_len = (total - offset).min(inner.upload_chunk_bytes as u64) as usize;
        let mut chunk = vec![0u8; chunk_len];
        source
            .seek(SeekFrom::Start(offset))
            .and_then(|_| source.read_exact(&mut chunk))
            .map_err(|e| Outcome::Later(local_failure(e)))?;
        let answer = with_token(&inner.client, |api, token| {
            let id = id.clone();
            let chunk = chunk.clone();
            async move { api.upload_chunk(&token, &id, offset, chunk).await }
        })
        .await;
        let upload = match answer {
            Ok(upload) => upload,
            // The server has a different offset (an earlier chunk's answer was lost): ask it.
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::UploadOffsetMismatch | ErrorCode::Conflict
                ) =>
            {
                let upload = with_token(&inner.client, |api, token| {
                    let id = id.clone();
                    async move { api.upload_status(&token, &id).await }
                })
                .await
                .map_err(|e| classify(inner, e))?;
                offset = upload.offset;
                if upload.attachment.is_none() {
                    continue;
                }
                upload
            }
            Err(e) => return Err(classify(inner, e)),
        };
        offset = upload.offset;
        progress(offset);
        if let Some(attachment) = upload.attachment {
            files[index].attachment = Some(attachment);
            return save_progress(cache, item, files);
        }
        if offset >= total {
            return Err(Outcome::Failed(OutboxError {
                code: ErrorCode::BadRequest,
                message: "the server took the whole file but made no attachment of it".into(),
            }));
        }
    }
}

fn classify(inner: &Inner, e: EngineError) -> Outcome {
    match e {
        EngineError::NotSignedIn | EngineError::Client(ClientError::NotSignedIn) => {
            Outcome::SignedOut
        }
        EngineError::Client(ClientError::Api(api)) => match &api {
            ApiError::Server {
                code, retry_after, ..
            } => {
                if api.is_auth_failure() {
                    Outcome::SignedOut
                } else if *code == ErrorCode::RateLimited {
                    Outcome::Later(Duration::from_secs(retry_after.unwrap_or(1).max(1)))
                } else if is_transient(*code) {
                    Outcome::Later(inner.timing.backoff(3))
                } else {
                    Outcome::Failed(OutboxError {
                        code: *code,
                        message: api.to_string(),
                    })
                }
            }
            // The network went away: the sync loop notices and the item waits for live again.
            ApiError::Unreachable { .. } | ApiError::UnexpectedResponse { .. } => {
                if !matches!(*inner.state.borrow(), ConnectionState::Live) {
                    Outcome::Later(Duration::ZERO)
                } else {
                    Outcome::Later(inner.timing.backoff(2))
                }
            }
        },
        other => Outcome::Later(local_failure(other)),
    }
}

fn local_failure(e: impl std::fmt::Display) -> Duration {
    tracing::warn!(error = %e, "outbox delivery failed locally");
    Duration::from_secs(1)
}
