//! The sync loop: one WebSocket, reconnected for as long as the account is signed in.
//!
//! ```text
//!            ┌────────────── backoff elapsed / reconnect_now ───────────────┐
//!            ▼                                                              │
//!       connecting ──► authenticating ──► catching up ──► live ──► waiting to retry
//!            │               │                                 (socket lost, no pong)
//!            └── refused ────┴──► signed out (session revoked) / incompatible (protocol)
//! ```
//!
//! - **Resume.** The hello carries the cache's positions (last applied `seq` per conversation and
//!   in the user's log); the server replays what came after, then `caught_up`. A cache that never
//!   synced sends no resume, keeps the `user_seq` from `ready`, and loads the conversation list
//!   over REST. Each applied event moves its position in the same transaction, so a crash or a
//!   dropped socket resumes at exactly the right place: nothing missed, nothing twice.
//! - **Resync.** When the server says a conversation is too far behind (or an event reveals a
//!   gap), it is reloaded over REST: the conversation first, then its newest page.
//! - **Dead links.** A socket can stay "open" for minutes after the network is gone (sleep, a
//!   pulled cable, a NAT that forgot us). The server pings every connection it has not heard from
//!   for its heartbeat interval (25 s by default), so the loop pings only when it has heard nothing
//!   for a little longer (at most `ping_interval`), and at once when the user sends a frame and the
//!   last ping is more than 5 s old; it gives up on a connection that answers nothing within
//!   `pong_timeout`, then reconnects. A change of network interfaces reconnects at once.
//! - **Backoff.** Failed attempts wait `backoff_min · 2^n` (capped at `backoff_max`) with full
//!   jitter, so a server restart is not met by every client at the same instant;
//!   [`super::Engine::reconnect_now`] and a change of the machine's network interfaces
//!   ([`super::network`]) cut the wait short.

use super::{ConnectionState, EngineEvent, Inner, with_token};
use crate::cache::{Applied, Cache};
use crate::session::{Client, ClientError};
use crate::sync::{SyncError, describe_close, handshake, text_frame};
use futures_util::{SinkExt, StreamExt};
use jeco_shared::events::{EventBody, Resume, UserEventBody};
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame};
use jeco_shared::{ConversationId, ErrorCode, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Timing of the sync loop.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Check the link with a ping after at most this long without hearing anything (sooner is
    /// never needed: see `check_after_silence`).
    pub ping_interval: Duration,
    /// A connection that has not answered a ping within this is dead.
    pub pong_timeout: Duration,
    /// Opening the socket and getting `ready` must take no longer.
    pub handshake_timeout: Duration,
    /// First retry delay (before jitter).
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(60),
            pong_timeout: Duration::from_secs(4),
            handshake_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// What the loop knows about its link's liveness.
struct Link {
    /// When anything was last heard.
    last_heard: Instant,
    /// When the oldest unanswered ping was sent.
    waiting_since: Option<Instant>,
    /// When the last ping was sent.
    last_ping: Instant,
    nonce: u64,
}

impl Link {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            last_heard: now,
            waiting_since: None,
            last_ping: now,
            nonce: 0,
        }
    }

    fn heard(&mut self) {
        self.waiting_since = None;
        self.last_heard = Instant::now();
    }

    /// The next ping to send; from now on an answer is awaited.
    fn ping(&mut self) -> Message {
        self.nonce += 1;
        let now = Instant::now();
        self.waiting_since.get_or_insert(now);
        self.last_ping = now;
        text_frame(&ClientFrame::Ping { nonce: self.nonce })
    }
}

/// While frames are going out (typing, presence), the link is checked at most this often.
const ACTIVE_CHECK: Duration = Duration::from_secs(5);

/// How long the link may be silent before the engine checks it with a ping: the server's heartbeat
/// interval and a tenth (the server pings every connection it has not heard from for an interval,
/// in bursts up to a twenty-fifth of it late), but no longer than [`Timing::ping_interval`] and
/// not under a second. A healthy link is therefore never pinged by the client: the server's pings
/// (answered by tungstenite) and events keep it heard. Clients used to ping every 5 s; a server
/// with many idle clients pays for every such ping with a wake-up.
pub(super) fn check_after_silence(server_heartbeat: Duration, timing: &Timing) -> Duration {
    (server_heartbeat + server_heartbeat / 10)
        .min(timing.ping_interval)
        .max(Duration::from_secs(1).min(timing.ping_interval))
}

impl Timing {
    /// The wait before retry number `attempt` (1-based): exponential, capped, full jitter (but at
    /// least a tenth of the nominal delay, so retries never spin).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let nominal = self
            .backoff_min
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.backoff_max);
        let mut bytes = [0u8; 4];
        let r = if getrandom::fill(&mut bytes).is_ok() {
            u32::from_le_bytes(bytes) as f64 / u32::MAX as f64
        } else {
            0.5
        };
        nominal.mul_f64(0.1 + 0.9 * r)
    }
}

/// How one connection ended.
enum End {
    /// The loop was told to stop.
    Stopped,
    /// The session is over on the server.
    SignedOut,
    /// The server speaks another protocol.
    Incompatible(String),
    /// Try again after a backoff.
    Retry(String),
    /// Try again at once (a refreshed token).
    RetryNow,
}

pub(crate) async fn run(
    inner: Arc<Inner>,
    me: User,
    cache: Arc<Cache>,
    mut stop: watch::Receiver<bool>,
) {
    let mut attempt: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        inner.set_state(ConnectionState::Connecting);
        let end = tokio::select! {
            end = connection(&inner, &me, &cache, &mut attempt) => end,
            _ = stop.changed() => End::Stopped,
        };
        *inner.socket.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match end {
            End::Stopped => return,
            End::SignedOut => {
                tracing::info!("the session ended on the server; signed out (cache kept)");
                inner.set_state(ConnectionState::SignedOut);
                return;
            }
            End::Incompatible(reason) => {
                inner.set_state(ConnectionState::Incompatible { reason });
                return;
            }
            End::RetryNow => {}
            End::Retry(reason) => {
                attempt += 1;
                let delay = inner.timing.backoff(attempt);
                tracing::debug!(attempt, ?delay, %reason, "sync connection lost; retrying");
                inner.set_state(ConnectionState::WaitingToRetry {
                    attempt,
                    retry_in_ms: delay.as_millis() as u64,
                    reason,
                });
                let network = super::network::fingerprint();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = inner.wake.notified() => {}
                    _ = super::network::changed(network) => {
                        tracing::debug!("the network changed; retrying now");
                    }
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// One connection, from opening the socket until it ends.
async fn connection(inner: &Arc<Inner>, me: &User, cache: &Arc<Cache>, attempt: &mut u32) -> End {
    let token = match inner.client.access_token().await {
        Ok(t) => t,
        Err(ClientError::NotSignedIn) => return End::SignedOut,
        Err(e) => return End::Retry(e.to_string()),
    };
    let resume = match resume_from(cache) {
        Ok(r) => r,
        Err(e) => return End::Retry(format!("cannot read the cache: {e}")),
    };
    let fresh = resume.is_none();
    let url = inner.client.server().ws_url();
    let (mut socket, ready) = match handshake(
        &url,
        &token,
        &inner.client_name,
        resume,
        inner.timing.handshake_timeout,
        || inner.set_state(ConnectionState::Authenticating),
    )
    .await
    {
        Ok(ok) => ok,
        Err(SyncError::Rejected { code, reason, .. }) => {
            return match code {
                Some(ErrorCode::TokenExpired) => match inner.client.refresh_now().await {
                    Ok(_) => End::RetryNow,
                    Err(ClientError::NotSignedIn) => End::SignedOut,
                    Err(e) => End::Retry(e.to_string()),
                },
                Some(ErrorCode::TokenInvalid | ErrorCode::TokenRevoked) => {
                    // Forget the dead tokens; the cache stays for the next sign-in.
                    let _ = inner.client.refresh_now().await;
                    End::SignedOut
                }
                Some(ErrorCode::ProtocolMismatch) => End::Incompatible(reason),
                _ => End::Retry(reason),
            };
        }
        Err(e) => return End::Retry(e.to_string()),
    };
    *attempt = 0;
    inner.set_state(ConnectionState::CatchingUp);
    // `ready` carries the profile as the server has it now (edited on another device, say).
    if let Err(e) = cache.set_me(&ready.user) {
        return End::Retry(format!("cannot write the cache: {e}"));
    }
    if let Err(e) = inner.remember_me(&ready.user) {
        return End::Retry(format!("cannot write the cache: {e}"));
    }

    let (frames_tx, mut frames_rx) = mpsc::channel::<ClientFrame>(64);
    let mut state = Live {
        inner: inner.clone(),
        me: me.id,
        user: ready.user.clone(),
        cache: cache.clone(),
        typing: HashMap::new(),
        counts_unknown: Default::default(),
    };
    if fresh {
        // A first sync: positions come from REST, the user log continues from `ready`.
        if let Err(e) = cache.set_user_seq(ready.user_seq) {
            return End::Retry(format!("cannot write the cache: {e}"));
        }
    }
    // The server pings a connection it has not heard from for a heartbeat interval, so a live link
    // is never silent much longer than that; only then does the engine ask itself.
    let silence = check_after_silence(ready.heartbeat_interval, &inner.timing);
    // Handling a frame may ask the server over HTTP (a snapshot, a profile), and going live reloads
    // the list. If the link dies during such a request, the loop would wait for its answer instead
    // of noticing: each gets as long as a silent link would (seen in the lost-answer scenario: a
    // conversation snapshot in flight when the network went silent), then the connection starts
    // over, resuming from the cache.
    let patience = silence + inner.timing.pong_timeout;
    if fresh && let Err(end) = state.go_live(&frames_tx, patience).await {
        return end;
    }

    let mut link = Link::new();
    loop {
        let deadline = link.waiting_since.map(|t| t + inner.timing.pong_timeout);
        let check_at = link
            .waiting_since
            .is_none()
            .then(|| link.last_heard + silence);
        tokio::select! {
            _ = async { tokio::time::sleep_until(check_at.unwrap_or_else(Instant::now)).await },
                if check_at.is_some() => {
                if let Err(e) = socket.send(link.ping()).await {
                    return End::Retry(format!("the connection failed: {e}"));
                }
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await },
                if deadline.is_some() => {
                return End::Retry(format!(
                    "the server did not answer for {:?}", inner.timing.pong_timeout
                ));
            }
            Some(frame) = frames_rx.recv() => {
                if let Err(e) = socket.send(text_frame(&frame)).await {
                    return End::Retry(format!("the connection failed: {e}"));
                }
                // The user is active: check the link now rather than at the next heartbeat, so a
                // dead one is noticed within the pong timeout while someone is looking.
                if link.waiting_since.is_none()
                    && link.last_ping.elapsed() >= ACTIVE_CHECK
                    && let Err(e) = socket.send(link.ping()).await
                {
                    return End::Retry(format!("the connection failed: {e}"));
                }
            }
            message = socket.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = describe_close(frame.as_ref());
                        return match code.and_then(crate::sync::close_code_meaning) {
                            Some(ErrorCode::TokenRevoked | ErrorCode::TokenInvalid) => {
                                let _ = inner.client.refresh_now().await;
                                End::SignedOut
                            }
                            Some(ErrorCode::TokenExpired) => match inner.client.refresh_now().await {
                                Ok(_) => End::RetryNow,
                                Err(ClientError::NotSignedIn) => End::SignedOut,
                                Err(e) => End::Retry(e.to_string()),
                            },
                            _ => End::Retry(format!("the server closed the connection ({reason})")),
                        };
                    }
                    Some(Ok(_)) => {
                        // A WebSocket ping (tungstenite answers it) or pong.
                        link.heard();
                        continue;
                    }
                    Some(Err(e)) => return End::Retry(format!("the connection failed: {e}")),
                    None => return End::Retry("the connection ended".into()),
                };
                // Anything heard proves the link is alive.
                link.heard();
                let frame = match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::debug!(error = %e, "ignoring a frame this engine cannot read");
                        continue;
                    }
                };
                // Handling a frame, or going live, is bounded by `patience` (see above).
                if matches!(frame, ServerFrame::CaughtUp) {
                    if let Err(end) = state.go_live(&frames_tx, patience).await {
                        return end;
                    }
                    continue;
                }
                match tokio::time::timeout(patience, state.handle(frame)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(end)) => return end,
                    Err(_) => {
                        return End::Retry(format!(
                            "a request to the server got no answer for {patience:?}"
                        ));
                    }
                }
            }
        }
    }
}

fn resume_from(cache: &Cache) -> crate::cache::Result<Option<Resume>> {
    let Some(user_seq) = cache.user_seq()? else {
        return Ok(None);
    };
    Ok(Some(Resume {
        conversations: cache.positions()?,
        user_seq,
    }))
}

/// The state of one live connection.
struct Live {
    inner: Arc<Inner>,
    me: UserId,
    user: User,
    cache: Arc<Cache>,
    /// Who is typing where, until when.
    typing: HashMap<ConversationId, HashMap<UserId, Instant>>,
    /// Conversations whose unread and mention counts wait for a server description that fits
    /// an event (see `handle`).
    counts_unknown: std::collections::HashSet<ConversationId>,
}

impl Live {
    /// Caught up: reconcile the conversation list with the server, then go live. A reload that
    /// gets no answer within `patience` ends the connection (it is retried, resuming), rather than
    /// leaving the app "catching up" for as long as the request hangs.
    async fn go_live(
        &mut self,
        frames: &mpsc::Sender<ClientFrame>,
        patience: Duration,
    ) -> Result<(), End> {
        match tokio::time::timeout(patience, refresh_list(&self.inner, self.me, &self.cache)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(end_for(e)),
            Err(_) => {
                return Err(End::Retry(format!(
                    "reloading the conversation list got no answer for {patience:?}"
                )));
            }
        }
        *self.inner.socket.lock().unwrap_or_else(|p| p.into_inner()) = Some(frames.clone());
        self.inner.set_state(ConnectionState::Live);
        self.inner.emit(EngineEvent::ConversationsChanged);
        self.inner.outbox_wake.notify_one();
        Ok(())
    }

    async fn handle(&mut self, frame: ServerFrame) -> Result<(), End> {
        match frame {
            ServerFrame::Event(event) => {
                let id = event.conversation_id;
                // Counts the cache cannot work out (see `Cache::counts_need_server`) come from
                // the server's description of the conversation, read before the event is
                // applied so that position and counts move together. A description already
                // past this event does not fit it: the next events ask again until one fits.
                let ask = self.counts_unknown.contains(&id)
                    || self
                        .cache
                        .counts_need_server(self.me, &event)
                        .map_err(cache_end)?;
                let server = if ask {
                    match with_token(&self.inner.client, |api, token| async move {
                        api.conversation(&token, id).await
                    })
                    .await
                    {
                        Ok(c) => Some(c),
                        // No longer a member: the user log says so.
                        Err(e) if e.code() == ErrorCode::NotFound => None,
                        Err(e) => return Err(end_for(e)),
                    }
                } else {
                    None
                };
                if ask {
                    if server.as_ref().is_some_and(|c| c.last_seq == event.seq) {
                        self.counts_unknown.remove(&id);
                    } else {
                        self.counts_unknown.insert(id);
                    }
                }
                let applied = self
                    .cache
                    .apply_event_with_counts(self.me, &event, server.as_ref())
                    .map_err(cache_end)?;
                let applied = match applied {
                    Applied::UnknownConversation | Applied::Gap { .. } => {
                        tracing::debug!(conversation = %event.conversation_id, ?applied, "resyncing");
                        self.snapshot(event.conversation_id).await?;
                        // Unknown still: no longer a member, the event is moot.
                        self.cache.apply_event(self.me, &event).map_err(cache_end)?
                    }
                    other => other,
                };
                if let Applied::Changed {
                    conversation_id,
                    messages,
                } = applied
                {
                    match &event.body {
                        EventBody::ReadReceipt { user_id, read_seq } => {
                            self.inner.emit(EngineEvent::ReadReceipt {
                                conversation_id,
                                user_id: *user_id,
                                read_seq: *read_seq,
                            });
                            if *user_id == self.me {
                                self.inner.emit(EngineEvent::ConversationsChanged);
                            }
                        }
                        EventBody::MessageCreated { message } => {
                            // A message ends its sender's typing.
                            self.stop_typing(conversation_id, message.sender_id);
                            learn_users(&self.inner.client, &self.cache, [message.sender_id]).await;
                            self.inner.emit(EngineEvent::ConversationsChanged);
                        }
                        EventBody::MemberAdded { user_id, .. } => {
                            learn_users(&self.inner.client, &self.cache, [*user_id]).await;
                            self.inner.emit(EngineEvent::ConversationsChanged);
                        }
                        EventBody::MessageEdited { .. }
                        | EventBody::MessageDeleted { .. }
                        | EventBody::ReactionAdded { .. }
                        | EventBody::ReactionRemoved { .. }
                        | EventBody::MessagePinned { .. }
                        | EventBody::MessageUnpinned { .. } => {}
                        _ => self.inner.emit(EngineEvent::ConversationsChanged),
                    }
                    if !messages.is_empty() {
                        self.inner.emit(EngineEvent::TimelineChanged {
                            conversation_id,
                            seqs: messages,
                        });
                    }
                }
            }
            ServerFrame::UserEvent(event) => {
                if self
                    .cache
                    .user_seq()
                    .map_err(cache_end)?
                    .is_some_and(|seq| event.seq <= seq)
                {
                    return Ok(());
                }
                // Side effects that need the server come first: if one fails, the position is not
                // moved and the event is replayed on the next connection.
                if let UserEventBody::ConversationAdded {
                    conversation_id, ..
                } = &event.body
                    && self
                        .cache
                        .conversation(*conversation_id)
                        .map_err(cache_end)?
                        .is_none()
                {
                    match snapshot(&self.inner, &self.user, &self.cache, *conversation_id).await {
                        Ok(()) => {}
                        // Left again since: the removal follows in the log.
                        Err(e) if e.code() == ErrorCode::NotFound => {}
                        Err(e) => return Err(end_for(e)),
                    }
                }
                if matches!(
                    event.body,
                    UserEventBody::TeamAdded { .. }
                        | UserEventBody::TeamChanged { .. }
                        | UserEventBody::TeamRemoved { .. }
                ) {
                    refresh_teams(&self.inner, &self.cache)
                        .await
                        .map_err(end_for)?;
                }
                self.cache.apply_user_event(&event).map_err(cache_end)?;
                match event.body {
                    UserEventBody::NotificationCreated { notification } => {
                        self.inner.emit(EngineEvent::Notification(notification));
                    }
                    UserEventBody::ConversationAdded { .. }
                    | UserEventBody::ConversationRemoved { .. } => {
                        self.inner.emit(EngineEvent::ConversationsChanged);
                    }
                    UserEventBody::TeamAdded { .. }
                    | UserEventBody::TeamChanged { .. }
                    | UserEventBody::TeamRemoved { .. } => {
                        self.inner.emit(EngineEvent::TeamsChanged);
                    }
                    _ => {}
                }
            }
            ServerFrame::Resync {
                conversation_id: Some(id),
                ..
            } => {
                self.snapshot(id).await?;
            }
            ServerFrame::Resync {
                conversation_id: None,
                seq,
            } => {
                refresh_list(&self.inner, self.me, &self.cache)
                    .await
                    .map_err(end_for)?;
                refresh_teams(&self.inner, &self.cache)
                    .await
                    .map_err(end_for)?;
                self.cache.set_user_seq(seq).map_err(cache_end)?;
                self.inner.emit(EngineEvent::ConversationsChanged);
            }
            ServerFrame::Typing {
                conversation_id,
                user_id,
                active,
                expires_in_ms,
            } => {
                if user_id == self.me {
                    return Ok(());
                }
                if active {
                    self.typing.entry(conversation_id).or_default().insert(
                        user_id,
                        Instant::now() + Duration::from_millis(expires_in_ms),
                    );
                    self.emit_typing(conversation_id);
                } else {
                    self.stop_typing(conversation_id, user_id);
                }
            }
            ServerFrame::Presence { user_id, status } => {
                self.inner.emit(EngineEvent::Presence { user_id, status });
            }
            ServerFrame::Error { code, message, .. } => {
                tracing::debug!(%code, %message, "the server refused a frame");
            }
            ServerFrame::Pong { .. }
            | ServerFrame::Ack { .. }
            | ServerFrame::Ready { .. }
            | ServerFrame::CaughtUp => {}
        }
        Ok(())
    }

    async fn snapshot(&mut self, id: ConversationId) -> Result<(), End> {
        match snapshot(&self.inner, &self.user, &self.cache, id).await {
            Ok(()) => {}
            // No longer a member: the user log says so; events of it are moot.
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(end_for(e)),
        }
        self.inner.emit(EngineEvent::ConversationsChanged);
        self.inner.emit(EngineEvent::TimelineChanged {
            conversation_id: id,
            seqs: Vec::new(),
        });
        Ok(())
    }

    fn stop_typing(&mut self, conversation: ConversationId, user: UserId) {
        if let Some(users) = self.typing.get_mut(&conversation)
            && users.remove(&user).is_some()
        {
            self.emit_typing(conversation);
        }
    }

    fn emit_typing(&mut self, conversation: ConversationId) {
        let now = Instant::now();
        let users = self.typing.entry(conversation).or_default();
        users.retain(|_, until| *until > now);
        let mut user_ids: Vec<UserId> = users.keys().copied().collect();
        user_ids.sort();
        self.inner.emit(EngineEvent::Typing {
            conversation_id: conversation,
            user_ids,
        });
    }
}

fn cache_end(e: crate::cache::CacheError) -> End {
    End::Retry(format!("the local cache failed: {e}"))
}

fn end_for(e: super::EngineError) -> End {
    match e {
        super::EngineError::NotSignedIn => End::SignedOut,
        super::EngineError::Client(ClientError::NotSignedIn) => End::SignedOut,
        other => {
            let code = other.code();
            End::Retry(format!("{other} ({code})"))
        }
    }
}

/// How many times a snapshot reads a conversation that keeps moving before it settles for a
/// page that may be ahead of its position.
const SNAPSHOT_ATTEMPTS: u32 = 5;

/// Reloads a conversation over REST: the conversation first (its `last_seq` becomes the
/// position), then its newest page, so every event up to the position is in the page.
///
/// The page must not be *ahead* of the position either: the events after the position are
/// applied on top of it, and not all of them can be applied twice (a reply counts once more
/// on its root; found by the cache-equals-server property test, a reply sent while the
/// conversation was being snapshotted showed as two). So the conversation is read again after
/// the page, and the snapshot is taken over while it moved in between.
pub(crate) async fn snapshot(
    inner: &Inner,
    me: &User,
    cache: &Cache,
    id: ConversationId,
) -> super::Result<()> {
    let fetch_conversation = || {
        with_token(&inner.client, |api, token| async move {
            api.conversation(&token, id).await
        })
    };
    let mut conversation = fetch_conversation().await?;
    let mut attempt = 1;
    let page = loop {
        let page = with_token(&inner.client, |api, token| async move {
            api.messages(
                &token,
                id,
                None,
                None,
                jeco_shared::messages::MESSAGE_PAGE_DEFAULT,
            )
            .await
        })
        .await?;
        let after = fetch_conversation().await?;
        if after.last_seq == conversation.last_seq || attempt == SNAPSHOT_ATTEMPTS {
            break page;
        }
        tracing::debug!(conversation = %id, attempt, "the conversation moved during its snapshot");
        conversation = after;
        attempt += 1;
    };
    cache.store_snapshot(me.id, &conversation, &page)?;
    learn_users(
        &inner.client,
        cache,
        conversation
            .members
            .iter()
            .map(|m| m.user_id)
            .chain(page.items.iter().map(|m| m.sender_id)),
    )
    .await;
    Ok(())
}

/// Reconciles the cached conversation list with the server's: new conversations are snapshotted,
/// known ones get fresh descriptions (counts, members), vanished ones are forgotten.
async fn refresh_list(inner: &Inner, me: UserId, cache: &Cache) -> super::Result<()> {
    let list = with_token(&inner.client, |api, token| async move {
        api.conversations(&token).await
    })
    .await?;
    let me_user = cache.me()?.ok_or(super::EngineError::NotSignedIn)?;
    let known: Vec<ConversationId> = cache.conversations()?.iter().map(|c| c.id).collect();
    for c in &list.items {
        if known.contains(&c.id) {
            // Only when nothing newer was applied here: a listing older than the cache would roll
            // counts back.
            if cache.position(c.id)? == Some(c.last_seq) {
                cache.refresh_conversation(c)?;
            }
        } else {
            snapshot(inner, &me_user, cache, c.id).await?;
        }
    }
    for id in known {
        if !list.items.iter().any(|c| c.id == id) {
            cache.remove_conversation(id)?;
        }
    }
    let _ = me;
    refresh_notifications(inner, cache).await?;
    refresh_teams(inner, cache).await
}

/// The newest page of notifications (the user log only carries the ones created while synced).
async fn refresh_notifications(inner: &Inner, cache: &Cache) -> super::Result<()> {
    let page = with_token(&inner.client, |api, token| async move {
        api.notifications(&token).await
    })
    .await?;
    for n in &page.items {
        cache.upsert_notification(n)?;
    }
    Ok(())
}

async fn refresh_teams(inner: &Inner, cache: &Cache) -> super::Result<()> {
    let teams = with_token(&inner.client, |api, token| async move {
        api.teams(&token).await
    })
    .await?;
    cache.replace_teams(&teams.items)?;
    Ok(())
}

/// Fetches profiles the cache lacks. Best effort: a name shown as an id is better than a failed
/// sync.
pub(crate) async fn learn_users(
    client: &Client,
    cache: &Cache,
    ids: impl IntoIterator<Item = UserId>,
) {
    let Ok(unknown) = cache.unknown_users(ids) else {
        return;
    };
    for id in unknown {
        match with_token(
            client,
            |api, token| async move { api.user(&token, id).await },
        )
        .await
        {
            Ok(user) => {
                let _ = cache.upsert_users(&[user]);
            }
            Err(e) => tracing::debug!(user = %id, error = %e, "cannot fetch a profile"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let t = Timing::default();
        for attempt in 1..=12 {
            let nominal = t
                .backoff_min
                .saturating_mul(1 << (attempt - 1))
                .min(t.backoff_max);
            for _ in 0..50 {
                let d = t.backoff(attempt);
                assert!(d <= nominal, "attempt {attempt}: {d:?} > {nominal:?}");
                assert!(
                    d >= nominal.mul_f64(0.1),
                    "attempt {attempt}: {d:?} too short"
                );
            }
        }
        // Jittered: fifty draws are not all the same.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| t.backoff(5)).collect();
        assert!(draws.len() > 1);
        assert!(t.backoff(100) <= t.backoff_max);
    }

    #[test]
    fn the_link_is_checked_only_after_the_servers_heartbeat_went_missing() {
        let t = Timing::default();
        let s = Duration::from_secs;
        // The server's default heartbeat: a live link is heard every ~25 s, so the client waits
        // a tenth longer before asking (it used to ping every 5 s).
        assert_eq!(
            check_after_silence(s(25), &t),
            Duration::from_millis(27_500)
        );
        assert_eq!(check_after_silence(s(40), &t), s(44));
        // A server asking for very long or zero intervals is bounded.
        assert_eq!(check_after_silence(s(3600), &t), t.ping_interval);
        assert_eq!(check_after_silence(Duration::ZERO, &t), s(1));
        // Tests that want fast checks still get them.
        let fast = Timing {
            ping_interval: Duration::from_millis(300),
            ..t
        };
        assert_eq!(
            check_after_silence(s(25), &fast),
            Duration::from_millis(300)
        );
        assert_eq!(
            check_after_silence(Duration::ZERO, &fast),
            Duration::from_millis(300)
        );
    }
}
