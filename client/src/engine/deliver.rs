//! The outbox delivery: one queue per conversation and lane, uploads beside them.
//!
//! A supervisor ([`run`]) runs while the connection is live. It looks at the head of every queue
//! (see [`crate::outbox::Lane`]: per conversation, one queue for messages and the changes to them,
//! one for read marks and mutes) and starts a task per queue that has a deliverable head; it
//! starts a task per queued send that still has files to upload. So:
//!
//! - **Conversations deliver independently.** A slow request, a backoff or a refusal in one
//!   conversation holds nothing in another. At most [`QUEUES_AT_ONCE`] requests are in flight at
//!   once (a queue waits for a slot per request, not for its whole turn), so a client with many
//!   conversations does not open a connection per conversation.
//! - **Within a queue, order is kept.** Its task delivers the head, waits for the answer, records
//!   it, and only then takes the next item. A head the server refuses for good becomes *failed*
//!   and **stops its queue**: what was queued after it waits (the timeline shows it as
//!   [`super::ItemState::Waiting`]) until the failed item is retried, edited (a failed send is
//!   rewritten) or discarded, instead of being delivered out of order. Transient failures
//!   (network, rate limits, server errors) are retried with backoff, holding their queue.
//! - **Uploads run beside the queues.** A send's files upload as soon as the send is queued and
//!   the connection is live, at most [`UPLOADS_AT_ONCE`] files at a time, whatever the queue
//!   is doing; the send itself waits, at the head of its queue, only for its own files. A large
//!   upload therefore holds back nothing in other conversations, nor the read marks and mutes of
//!   its own conversation (their queue is separate); the messages queued after it in its own
//!   conversation do wait, since that order is what people read. An upload refused for good
//!   (the file gone, too large) fails its send, which stops that queue like any failure.
//!
//! Deliveries go over REST (each answer carries the confirmed object, or a typed refusal), while
//! the WebSocket keeps streaming everyone's changes. A send carries its stored `client_id`, so a
//! send repeated after a lost answer — or after the process was killed mid-flight, or after the
//! task was stopped because the link died — returns the original message instead of posting a
//! second one. Upload progress (the server's upload id, then the finished attachment) is saved in
//! the outbox after every step, so uploads resume after a disconnect or a restart.

use super::{ConnectionState, EngineError, EngineEvent, Inner, with_token};
use crate::api::ApiError;
use crate::cache::Cache;
use crate::outbox::{
    Lane, MessageRef, OutboxError, OutboxItem, OutboxOp, OutboxState, PendingUpload, is_transient,
};
use crate::session::ClientError;
use jeco_shared::media::CreateUploadRequest;
use jeco_shared::messages::{Message, SendMessageRequest};
use jeco_shared::users::User;
use jeco_shared::{AttachmentId, ConversationId, ErrorCode, MessageId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Requests of different queues in flight at once.
pub(crate) const QUEUES_AT_ONCE: usize = 4;
/// Files uploading at once.
pub(crate) const UPLOADS_AT_ONCE: usize = 2;

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

/// What the supervisor runs: a conversation's queue, or a queued send's uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Queue(ConversationId, Lane),
    Upload(i64),
}

/// Why a job stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Nothing left it can do now (its queue is empty, failed, or waits for files).
    Idle,
    /// The connection is no longer live.
    Offline,
    /// The session is over.
    SignedOut,
}

pub(crate) async fn run(
    inner: Arc<Inner>,
    me: User,
    cache: Arc<Cache>,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = inner.state.subscribe();
    let queue_slots = Arc::new(Semaphore::new(QUEUES_AT_ONCE));
    let upload_slots = Arc::new(Semaphore::new(UPLOADS_AT_ONCE));
    // Dropping the set (when this returns) stops every job at its next await; that is safe:
    // a send is repeated with its `client_id`, an upload resumes where the server stands.
    let mut jobs: JoinSet<Ended> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, Job> = HashMap::new();
    loop {
        // Wait for a live connection; nothing is delivered otherwise.
        loop {
            if *stop.borrow() {
                return;
            }
            if state.borrow_and_update().is_live() {
                break;
            }
            if !jobs.is_empty() {
                jobs.shutdown().await;
                running.clear();
            }
            tokio::select! {
                changed = state.changed() => if changed.is_err() { return },
                _ = stop.changed() => {}
            }
        }
        if let Err(e) = schedule(
            &inner,
            &me,
            &cache,
            &queue_slots,
            &upload_slots,
            &mut jobs,
            &mut running,
        ) {
            tracing::warn!(error = %e, "cannot read the outbox");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        tokio::select! {
            Some(done) = jobs.join_next_with_id() => {
                let (id, ended) = match done {
                    Ok((id, ended)) => (id, ended),
                    Err(e) => {
                        tracing::warn!(error = %e, "an outbox job stopped");
                        (e.id(), Ended::Idle)
                    }
                };
                running.remove(&id);
                if ended == Ended::SignedOut {
                    // Wait for the sync loop to move on (signed out, or a new live connection).
                    jobs.shutdown().await;
                    running.clear();
                    tokio::select! {
                        changed = state.changed() => if changed.is_err() { return },
                        _ = stop.changed() => {}
                    }
                }
            }
            _ = inner.outbox_wake.notified() => {}
            changed = state.changed() => if changed.is_err() { return },
            _ = stop.changed() => {}
        }
    }
}

/// Starts a job for every queue with a deliverable head and every send with files to upload
/// that has none running.
fn schedule(
    inner: &Arc<Inner>,
    me: &User,
    cache: &Arc<Cache>,
    queue_slots: &Arc<Semaphore>,
    upload_slots: &Arc<Semaphore>,
    jobs: &mut JoinSet<Ended>,
    running: &mut HashMap<tokio::task::Id, Job>,
) -> crate::cache::Result<()> {
    for head in cache.outbox_heads()? {
        let job = Job::Queue(head.conversation_id, head.op.lane());
        // A failed head stops its queue; a send waiting for its files is started by its upload
        // job's end.
        if head.state == OutboxState::Failed
            || head.op.uploads_left() > 0
            || running.values().any(|j| *j == job)
        {
            continue;
        }
        let handle = jobs.spawn(drive_queue(
            inner.clone(),
            me.clone(),
            cache.clone(),
            head.conversation_id,
            head.op.lane(),
            queue_slots.clone(),
        ));
        running.insert(handle.id(), job);
    }
    for send in cache.outbox_uploads()? {
        let job = Job::Upload(send.id);
        if running.values().any(|j| *j == job) {
            continue;
        }
        let handle = jobs.spawn(upload_files(
            inner.clone(),
            cache.clone(),
            send.id,
            upload_slots.clone(),
        ));
        running.insert(handle.id(), job);
    }
    Ok(())
}

/// Resolves when the connection is no longer live.
async fn offline(state: &mut watch::Receiver<ConnectionState>) {
    let _ = state.wait_for(|s| !s.is_live()).await;
}

/// Delivers one queue, head first, until it is empty, its head failed, or its head is a send
/// still waiting for its files.
async fn drive_queue(
    inner: Arc<Inner>,
    me: User,
    cache: Arc<Cache>,
    conversation_id: ConversationId,
    lane: Lane,
    slots: Arc<Semaphore>,
) -> Ended {
    let mut state = inner.state.subscribe();
    loop {
        let head = match cache.outbox(Some(conversation_id)) {
            Ok(items) => items.into_iter().find(|i| i.op.lane() == lane),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = offline(&mut state) => return Ended::Offline,
                }
            }
        };
        let Some(item) = head else {
            return Ended::Idle;
        };
        if item.state == OutboxState::Failed || item.op.uploads_left() > 0 {
            return Ended::Idle;
        }
        let slot = tokio::select! {
            slot = slots.acquire() => slot,
            _ = offline(&mut state) => return Ended::Offline,
        };
        if let Err(e) = cache.outbox_sending(item.id) {
            tracing::warn!(error = %e, "cannot update the outbox");
            drop(slot);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = offline(&mut state) => return Ended::Offline,
            }
        }
        inner.emit(EngineEvent::Outbox(OutboxItem {
            state: OutboxState::Sending,
            attempts: item.attempts + 1,
            ..item.clone()
        }));
        // A connection declared dead (no pong) also abandons the request in flight: its answer
        // may never come, and waiting out an HTTP timeout would hold the queue. Whether or not
        // the server got it, sending it again later is safe.
        let outcome = tokio::select! {
            outcome = deliver(&inner, &cache, &item) => outcome,
            _ = offline(&mut state) => return Ended::Offline,
        };
        drop(slot);
        match outcome {
            Outcome::Done(message) => record_delivery(&inner, &me, &cache, &item, message),
            Outcome::Failed(error) => {
                record_failure(&inner, &cache, &item, &error);
                return Ended::Idle;
            }
            Outcome::Later(delay) => {
                tracing::debug!(item = item.id, ?delay, "outbox delivery postponed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = offline(&mut state) => return Ended::Offline,
                }
            }
            Outcome::SignedOut => return Ended::SignedOut,
        }
    }
}

fn record_delivery(
    inner: &Inner,
    me: &User,
    cache: &Cache,
    item: &OutboxItem,
    message: Option<Box<Message>>,
) {
    let conversation_id = item.conversation_id;
    let mut seqs = Vec::new();
    let stored = match &message {
        Some(m) => {
            seqs.push(m.seq);
            cache.store_confirmed(me.id, m)
        }
        None => Ok(()),
    };
    if let Err(e) = stored.and_then(|_| cache.outbox_done(item.id)) {
        // The item stays at the head and is delivered again (safely).
        tracing::warn!(error = %e, "cannot record a delivery");
        return;
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

fn record_failure(inner: &Inner, cache: &Cache, item: &OutboxItem, error: &OutboxError) {
    tracing::info!(item = item.id, code = %error.code, "outbox item refused: {}", error.message);
    if let Err(e) = cache.outbox_failed(item.id, error) {
        tracing::warn!(error = %e, "cannot record a refusal");
        return;
    }
    if let Ok(Some(item)) = cache.outbox_item(item.id) {
        inner.emit(EngineEvent::Outbox(item));
    }
    // The items waiting behind it show as waiting.
    inner.emit(EngineEvent::TimelineChanged {
        conversation_id: item.conversation_id,
        seqs: Vec::new(),
    });
}

/// Uploads the files of queued send `id` that are not uploaded yet, one after the other, until
/// all are, the send is gone, or an upload is refused for good (then the send fails).
async fn upload_files(
    inner: Arc<Inner>,
    cache: Arc<Cache>,
    id: i64,
    slots: Arc<Semaphore>,
) -> Ended {
    let mut state = inner.state.subscribe();
    loop {
        let item = match cache.outbox_item(id) {
            Ok(Some(item)) => item,
            Ok(None) => return Ended::Idle,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = offline(&mut state) => return Ended::Offline,
                }
            }
        };
        let OutboxOp::Send { attachments, .. } = &item.op else {
            return Ended::Idle;
        };
        let Some(index) = attachments.iter().position(|a| a.attachment.is_none()) else {
            return Ended::Idle;
        };
        if item.state == OutboxState::Failed {
            return Ended::Idle;
        }
        let file = attachments[index].clone();
        let slot = tokio::select! {
            slot = slots.acquire() => slot,
            _ = offline(&mut state) => return Ended::Offline,
        };
        let result = tokio::select! {
            result = upload_one(&inner, &cache, &item, file, index) => result,
            _ = offline(&mut state) => return Ended::Offline,
        };
        drop(slot);
        match result {
            Ok(()) | Err(Outcome::Done(_)) => {}
            Err(Outcome::Failed(error)) => {
                record_failure(&inner, &cache, &item, &error);
                return Ended::Idle;
            }
            Err(Outcome::Later(delay)) => {
                tracing::debug!(item = id, ?delay, "upload postponed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = offline(&mut state) => return Ended::Offline,
                }
            }
            Err(Outcome::SignedOut) => return Ended::SignedOut,
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
            // Only a send whose files are all uploaded is handed here (see `drive_queue`).
            let Some(attachment_ids) = attachments
                .iter()
                .map(|a| a.attachment.as_ref().map(|a| a.id))
                .collect::<Option<Vec<AttachmentId>>>()
            else {
                return Outcome::Later(Duration::ZERO);
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
        OutboxOp::MarkNotificationsRead { ids } => {
            // One call per notification (the server marks one at a time); each is idempotent, so
            // a retry after a failure part-way marks the first ones again, harmlessly.
            let mut result = Ok(None);
            for &id in ids {
                match with_token(&inner.client, |api, token| async move {
                    api.call::<jeco_shared::endpoints::MarkNotificationRead>(&token, &(id,), &())
                        .await
                })
                .await
                {
                    // Gone on the server (or never this user's): nothing to mark.
                    Ok(_) => {}
                    Err(e) if e.code() == ErrorCode::NotFound => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result
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

/// Uploads file `index` of send `item` (resuming a started upload), saving progress in the
/// outbox after every step.
async fn upload_one(
    inner: &Inner,
    cache: &Cache,
    item: &OutboxItem,
    mut file: PendingUpload,
    index: usize,
) -> Result<(), Outcome> {
    // A send discarded or changed meanwhile simply stops being saved into; its job then ends.
    let save = |file: &PendingUpload| {
        cache
            .outbox_set_upload(item.id, index, file)
            .map(|_| ())
            .map_err(|e| Outcome::Later(local_failure(e)))
    };
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
                    file.attachment = Some(attachment);
                    return save(&file);
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
            file.upload_id = Some(upload.id.clone());
            save(&file)?;
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
        // A send discarded (or cancelled by deleting its message) while its file uploads stops
        // uploading at the next chunk; the unfinished upload expires on the server.
        match cache.outbox_item(item.id) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(()),
            Err(e) => return Err(Outcome::Later(local_failure(e))),
        }
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
            file.attachment = Some(attachment);
            return save(&file);
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
