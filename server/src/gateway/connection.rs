//! One WebSocket connection, from upgrade to close: **one task** reads the socket, writes it, and
//! runs the connection's timers.
//!
//! Why one task: a second (writer) task cost every reply and every delivery a cross-thread wake-up,
//! and every idle connection a second task's state plus a channel. Here a `select!` waits on the
//! socket (with the write side, [`super::outbound`], polled in the same turn), the connection's
//! [`super::mailbox::Mailbox`], the sends in flight, one timer and the shutdown signal.
//!
//! Two phases:
//! 1. **Handshake**: within `handshake_timeout` the first text frame must be a hello. The protocol
//!    major version is checked first (so an old client learns to upgrade rather than to re-login),
//!    then the token. Every refusal is a distinct close code from [`jeco_shared::ws::close`].
//! 2. **Live**: registers for deliveries, replays what a resuming client missed (see [`super::follow`]),
//!    then forwards published events in order, runs client actions (send, typing, mark read,
//!    presence) through the services, answers pings, turns bad frames into error frames (the
//!    connection survives), and closes on idle timeout (4005), on a registry request (4003 after
//!    logout, 4006 when deliveries overflow), on a full outbound queue (4006) or on server shutdown
//!    (1001). Presence is refreshed when the connection goes live and again after it is
//!    unregistered.
//!
//! **Sends are pipelined**: up to [`MAX_SENDS_IN_FLIGHT`] `send` frames of one connection run at
//! once (each waits for its group commit), so one client can keep several messages in flight and a
//! commit batch is not limited to one message per connection. Their acks (or error frames, both
//! carrying the `client_id`) go out as each finishes, so **in any order**, and two sends in flight
//! together may be stored in either order; a client that needs an order between two messages sends
//! the second after the first's ack (the engine's outbox does: one item at a time). While that
//! many sends are in flight the socket is not read, which pushes back on the client. Other actions
//! are rare and quick and run one at a time, in order.
//!
//! **Heartbeats are the server's, in bursts.** A single timer stands for both the server's ping
//! and the idle timeout: every frame heard pushes it back (an atomic update in tokio's timer, no
//! wake-up). A client silent for [`ping_after_silence`] (one heartbeat interval) gets a WebSocket
//! ping, which every WebSocket library answers by itself, and one silent for the whole idle
//! timeout is closed. The deadlines sit on a shared grid, so idle connections are pinged, and
//! answer, in bursts: see [`ping_after_silence`] for why clients no longer ping on their own.

use super::GatewaySettings;
use super::follow::Follower;
use super::frames;
use super::mailbox::Mail;
use super::outbound::{Outbound, WriteError};
use super::registry::{ConnectionId, Registry};
use crate::services::{Accounts, Chat, Principal, ServiceError};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use jeco_shared::events::{PresenceStatus, Resume};
use jeco_shared::messages::SendMessageRequest;
use jeco_shared::ws::{ClientFrame, ServerFrame, close};
use jeco_shared::{ConversationId, ErrorCode, PROTOCOL_MAJOR, PROTOCOL_VERSION, protocol_major};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// `send` frames of one connection that may wait for their commit at once. Beyond it the socket is
/// not read until one finishes.
pub const MAX_SENDS_IN_FLIGHT: usize = 32;

use jeco_shared::ws::close::INTERNAL_ERROR;
/// How long a closing connection tries to deliver its last frames and close frame, reading until the
/// peer answers the close.
const CLOSING: Duration = Duration::from_secs(3);
/// How long a draining connection waits for the answers to sends it already took.
pub const SEND_DRAIN: Duration = Duration::from_secs(5);
/// How long the final close of the socket may take (a close frame, if none went out yet).
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

pub struct Context {
    pub accounts: Arc<Accounts>,
    pub chat: Chat,
    pub registry: Arc<Registry>,
    pub settings: GatewaySettings,
    pub shutdown: watch::Receiver<bool>,
    /// Token from `Sec-WebSocket-Protocol`, if the client put it there.
    pub header_token: Option<String>,
}

/// Why the connection ends, and the close code that tells the client.
struct Ending {
    code: u16,
    reason: String,
}

impl Ending {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

pub async fn run(mut ws: WebSocket, mut ctx: Context) {
    let _open = crate::metrics::GaugeGuard::new(&crate::metrics::get().ws_connections_open);
    let mut out = Outbound::new(ctx.settings.outbound_queue);
    // Boxed here and below: the futures of authentication, loading the user, following and presence
    // are large and run once; inline they would size every connection's task for its whole life.
    let handshaken = Box::pin(handshake(&mut ws, &mut out, &mut ctx)).await;
    ctx.header_token = None;
    let ending = match handshaken {
        Ok(Some((principal, resume, ready))) => {
            let ending = live(&mut ws, &mut out, &mut ctx, principal, resume, ready).await;
            // Unregistered by now: the user may have gone offline.
            Box::pin(async {
                if let Err(e) = ctx.chat.presence.refresh(principal.user_id).await {
                    tracing::warn!(error = %e, "cannot update presence");
                }
                ctx.chat.typing.connection_closed(principal.user_id).await;
            })
            .await;
            ending
        }
        Ok(None) => None,
        Err(ending) => Some(ending),
    };
    finish(ws, out, ending).await;
}

/// Sends the close frame (if any) while reading until the peer answers it, bounded by a timeout.
async fn finish(mut ws: WebSocket, mut out: Outbound, ending: Option<Ending>) {
    if let Some(Ending { code, reason }) = ending {
        tracing::debug!(code, %reason, "closing websocket");
        if code == close::SLOW_CONSUMER {
            crate::metrics::get().ws_slow_consumer_closes.inc();
        }
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // A slow consumer is not reading: what is queued for it is dropped, the close goes first.
        out.close(frame, code != close::SLOW_CONSUMER);
        let _ = tokio::time::timeout(
            CLOSING,
            std::future::poll_fn(|cx| poll_closing(&mut ws, &mut out, cx)),
        )
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_DRAIN, futures_util::SinkExt::close(&mut ws)).await;
}

/// Writes what is queued (ending with the close frame) and, at the same time, reads and drops
/// whatever the peer still sends until it answers the close: a peer blocked writing to us reads
/// our close only once we read from it.
fn poll_closing(ws: &mut WebSocket, out: &mut Outbound, cx: &mut TaskContext<'_>) -> Poll<()> {
    // A write failure leaves only the reading to finish.
    let _ = out.poll_write(ws, cx);
    loop {
        match ws.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(_))) => continue,
            Poll::Ready(_) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// The close that names a WebSocket protocol violation the socket refused to read (RFC 6455
/// §7.4.1), or `None` when the connection is simply gone (reset, closed) and nothing can be sent.
///
/// tungstenite reports a violation as an error from the read and sends nothing itself; closing
/// without a code would reach the client as 1005 ("no status"), which tells it nothing.
fn violation(e: axum::Error) -> Option<Ending> {
    use tungstenite::Error;
    let e = e.into_inner().downcast::<Error>().ok()?;
    let (code, reason) = match *e {
        Error::Utf8(_) => (close::INVALID_PAYLOAD, "invalid UTF-8".to_owned()),
        Error::Capacity(c) => (close::MESSAGE_TOO_BIG, c.to_string()),
        Error::Protocol(p) => (close::PROTOCOL_ERROR, p.to_string()),
        _ => return None,
    };
    tracing::debug!(code, %reason, "websocket protocol violation");
    Some(Ending::new(code, close_reason(reason)))
}

/// A close reason fits in a control frame: 125 bytes less the 2-byte code.
fn close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

/// Queues a frame; a full queue means the client does not keep up.
fn send(out: &mut Outbound, frame: &ServerFrame) -> Result<(), Ending> {
    push(out, frames::encode(frame))
}

fn push(out: &mut Outbound, message: Message) -> Result<(), Ending> {
    out.push(message)
        .map_err(|_| Ending::new(close::SLOW_CONSUMER, "outbound queue full"))
}

fn error_frame(code: ErrorCode, message: impl Into<String>, frame: Option<&str>) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.into(),
        frame: frame.map(str::to_owned),
        client_id: None,
    }
}

/// The error frame for a refused client action; internal failures are logged, not described.
fn service_error_frame(e: ServiceError, frame: &str, client_id: Option<String>) -> ServerFrame {
    let code = e.code();
    let message = match e {
        ServiceError::Storage(_) | ServiceError::Internal(_) => {
            tracing::error!(error = %e, frame, "websocket action failed");
            "internal server error".to_owned()
        }
        ServiceError::Validation(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    ServerFrame::Error {
        code,
        message,
        frame: Some(frame.to_owned()),
        client_id,
    }
}

/// How long the replay may wait for the socket to take a batch of frames before the client counts
/// as a slow consumer.
const REPLAY_PATIENCE: Duration = Duration::from_secs(10);

/// What a successful hello yields: who it is, where to resume from, and the `ready` frame to send
/// once the connection is registered.
type Handshaken = (Principal, Option<Resume>, ServerFrame);

/// Returns the authenticated principal, `Ok(None)` when the peer went away, or how to close.
async fn handshake(
    ws: &mut WebSocket,
    out: &mut Outbound,
    ctx: &mut Context,
) -> Result<Option<Handshaken>, Ending> {
    let deadline = Instant::now() + ctx.settings.handshake_timeout;
    let hello = loop {
        let message = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Ending::new(close::HANDSHAKE_TIMEOUT, "no hello within the handshake timeout"));
            }
            _ = ctx.shutdown.wait_for(|down| *down) => {
                return Err(Ending::new(ctx.settings.shutdown_code, "server shutting down"));
            }
            message = ws.next() => message,
        };
        if let Some(Ok(_)) = message {
            crate::metrics::get().ws_frames_in.inc();
        }
        match message {
            Some(Err(e)) => return violation(e).map_or(Ok(None), Err),
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                send(
                    out,
                    &error_frame(
                        ErrorCode::HandshakeRequired,
                        "expected a hello text frame",
                        None,
                    ),
                )?;
                return Err(Ending::new(close::HANDSHAKE_REQUIRED, "expected hello"));
            }
            Some(Ok(Message::Text(text))) => match frames::parse(text.as_str()) {
                Ok(ClientFrame::Hello {
                    protocol,
                    token,
                    client,
                    resume,
                }) => break (protocol, token, client, resume),
                Ok(other) => {
                    let ty = frames::frame_type(&other);
                    send(
                        out,
                        &error_frame(ErrorCode::HandshakeRequired, "send hello first", Some(ty)),
                    )?;
                    return Err(Ending::new(close::HANDSHAKE_REQUIRED, "expected hello"));
                }
                Err(e) => {
                    send(
                        out,
                        &error_frame(ErrorCode::HandshakeRequired, e.message, e.frame.as_deref()),
                    )?;
                    return Err(Ending::new(close::HANDSHAKE_REQUIRED, "expected hello"));
                }
            },
        }
    };
    let (protocol, token, client, resume) = hello;
    if protocol_major(&protocol) != Some(PROTOCOL_MAJOR) {
        let message =
            format!("this server speaks protocol {PROTOCOL_VERSION}; the client sent {protocol:?}");
        send(
            out,
            &error_frame(ErrorCode::ProtocolMismatch, message, Some("hello")),
        )?;
        return Err(Ending::new(
            close::PROTOCOL_MISMATCH,
            format!("server protocol is {PROTOCOL_VERSION}"),
        ));
    }
    let Some(token) = token.or_else(|| ctx.header_token.take()) else {
        send(
            out,
            &error_frame(
                ErrorCode::Unauthorized,
                "no access token in hello or subprotocol",
                Some("hello"),
            ),
        )?;
        return Err(Ending::new(close::HANDSHAKE_REQUIRED, "no access token"));
    };
    let principal = ctx
        .accounts
        .authenticate(&token)
        .await
        .map_err(|e| match e {
            ServiceError::TokenExpired => Ending::new(close::TOKEN_EXPIRED, "token expired"),
            ServiceError::TokenRevoked(_) => Ending::new(close::TOKEN_REVOKED, "session revoked"),
            ServiceError::TokenInvalid => Ending::new(close::TOKEN_INVALID, "token invalid"),
            ServiceError::AccountDeactivated => {
                Ending::new(close::DEACTIVATED, "account deactivated")
            }
            other => {
                tracing::error!(error = %other, "websocket authentication failed");
                Ending::new(INTERNAL_ERROR, "internal error")
            }
        })?;
    let user = ctx.accounts.me(&principal).await.map_err(|e| {
        tracing::error!(error = %e, "cannot load user for websocket");
        Ending::new(INTERNAL_ERROR, "internal error")
    })?;
    tracing::info!(
        user = principal.user_id.0,
        session = principal.session_id.0,
        client = client.as_deref().unwrap_or("-"),
        "websocket ready"
    );
    // `ready` is sent by the live phase once the connection is registered for deliveries and its
    // positions are fixed: a client may act on `ready` at once (another client sends a message),
    // and that event must reach it either live or in the replay, never fall between the two.
    let ready = ServerFrame::Ready {
        protocol: PROTOCOL_VERSION.to_owned(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        user,
        session_id: principal.session_id,
        heartbeat_interval_ms: ctx.settings.heartbeat_interval.as_millis() as u64,
        idle_timeout_ms: ctx.settings.idle_timeout.as_millis() as u64,
        // Known once following starts (in the live phase).
        user_seq: 0,
        limits: ctx.settings.limits,
    };
    Ok(Some((principal, resume, ready)))
}

/// The live phase. Returns how to close, or `None` when the peer went away.
async fn live(
    ws: &mut WebSocket,
    out: &mut Outbound,
    ctx: &mut Context,
    principal: Principal,
    resume: Option<Resume>,
    ready: ServerFrame,
) -> Option<Ending> {
    let settings = ctx.settings;
    // Registered before positions are read, so no event falls between the replay and live.
    let (registration, mailbox) = ctx.registry.register(
        principal.user_id,
        principal.session_id,
        settings.outbound_queue,
    );
    let (mut follower, ready) = match Box::pin(start_following(ctx, principal, resume, ready)).await
    {
        Ok(started) => started,
        Err(ending) => return Some(ending),
    };
    match out.write_bulk(ws, ready, REPLAY_PATIENCE).await {
        Ok(()) => {}
        Err(WriteError::Slow) => {
            return Some(Ending::new(close::SLOW_CONSUMER, "outbound queue full"));
        }
        Err(WriteError::Gone) => return None,
    }
    let quiet = ping_after_silence(settings.heartbeat_interval, settings.idle_timeout);
    let step = grid_step(settings.heartbeat_interval);
    let mut last_heard = Instant::now();
    let mut pinged = false;
    // Server ping when silent for `quiet`, close when silent for the idle timeout: one timer, its
    // deadlines on the shared grid.
    let timer = tokio::time::sleep_until(on_grid(last_heard + quiet, step));
    tokio::pin!(timer);
    let mut sends = InFlight::default();
    let chat = &ctx.chat;
    let registry = &ctx.registry;
    // One future for the whole loop: registering with the shared shutdown signal on every turn
    // would take its lock once per wake-up of every connection.
    let shutdown = ctx.shutdown.wait_for(|down| *down);
    tokio::pin!(shutdown);
    let ending = loop {
        let read = sends.len() < MAX_SENDS_IN_FLIGHT;
        let input = tokio::select! {
            _ = &mut shutdown => Input::Shutdown,
            mail = mailbox.recv() => Input::Mail(mail),
            () = &mut timer => {
                if pinged {
                    break Ending::new(close::HEARTBEAT_TIMEOUT, "nothing heard within the idle timeout");
                }
                if let Err(ending) = push(out, Message::Ping(Default::default())) {
                    break ending;
                }
                pinged = true;
                timer.as_mut().reset(on_grid(last_heard + settings.idle_timeout, step));
                continue;
            }
            Some(reply) = sends.next(), if !sends.is_empty() => {
                if let Err(ending) = send(out, &reply) {
                    break ending;
                }
                continue;
            }
            message = std::future::poll_fn(|cx| poll_socket(ws, out, read, cx)) => Input::Socket(message),
        };
        let message = match input {
            Input::Socket(message) => message,
            Input::Shutdown => {
                // Draining: what the client already sent is answered before the close, so a
                // restart costs it no retry (a send whose answer is cut off is retried by its
                // client_id anyway, and stays exactly-once).
                if let Err(ending) = answer_sends_in_flight(out, &mut sends).await {
                    break ending;
                }
                break Ending::new(settings.shutdown_code, "server shutting down");
            }
            Input::Mail(Mail::Close(request)) => break Ending::new(request.code, request.reason),
            Input::Mail(Mail::Delivery(delivery)) => {
                if let Err(ending) = forward(&mut follower, out, delivery).await {
                    break ending;
                }
                // Whatever else is already waiting goes too, without another turn of the select,
                // and out with one flush.
                let mut more = Ok(());
                for _ in 1..DELIVERY_BATCH {
                    more = match mailbox.take() {
                        None => break,
                        Some(Mail::Close(request)) => {
                            Err(Ending::new(request.code, request.reason))
                        }
                        Some(Mail::Delivery(delivery)) => {
                            forward(&mut follower, out, delivery).await
                        }
                    };
                    if more.is_err() {
                        break;
                    }
                }
                if let Err(ending) = more {
                    break ending;
                }
                continue;
            }
        };
        // Any frame, including a pong to our ping, proves the peer is alive: push the timer back
        // (no wake-up; tokio re-files a later deadline when the old one comes due).
        last_heard = Instant::now();
        pinged = false;
        if let Some(Ok(_)) = message {
            crate::metrics::get().ws_frames_in.inc();
        }
        timer.as_mut().reset(on_grid(last_heard + quiet, step));
        let reply = match message {
            Some(Err(e)) => return violation(e),
            None | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(data))) if data.len() > settings.max_frame_bytes => {
                too_large(data.len(), settings.max_frame_bytes)
            }
            Some(Ok(Message::Binary(_))) => error_frame(
                ErrorCode::MalformedFrame,
                "binary frames are not supported; send JSON text",
                None,
            ),
            Some(Ok(Message::Text(text))) if text.len() > settings.max_frame_bytes => {
                too_large(text.len(), settings.max_frame_bytes)
            }
            Some(Ok(Message::Text(text))) => match frames::parse(text.as_str()) {
                Ok(ClientFrame::Ping { nonce }) => ServerFrame::Pong { nonce },
                Ok(ClientFrame::Hello { .. }) => error_frame(
                    ErrorCode::HandshakeRequired,
                    "already handshaken; hello is sent once",
                    Some("hello"),
                ),
                Ok(ClientFrame::Send {
                    conversation_id,
                    client_id,
                    text,
                    reply_to,
                    thread_only,
                    attachment_ids,
                }) => {
                    let req = SendMessageRequest {
                        client_id,
                        text,
                        reply_to,
                        thread_only,
                        attachment_ids,
                    };
                    sends.push(Box::pin(send_message(
                        chat,
                        principal,
                        conversation_id,
                        req,
                    )));
                    continue;
                }
                // Rare and quick: one at a time, in order (boxed: the task stays small).
                Ok(action) => {
                    match Box::pin(act(chat, registry, &principal, registration.id(), action)).await
                    {
                        Some(reply) => reply,
                        None => continue,
                    }
                }
                Err(e) => e.to_frame(),
            },
        };
        if let Err(ending) = send(out, &reply) {
            break ending;
        }
    };
    // Sends already waiting for their commit are answered (bounded), unless the client does not
    // read anyway: an ack is what tells it not to send again.
    if ending.code != close::SLOW_CONSUMER && !sends.is_empty() {
        let _ = tokio::time::timeout(CLOSE_DRAIN, async {
            while let Some(reply) = sends.next().await {
                let _ = send(out, &reply);
            }
        })
        .await;
    }
    Some(ending)
}

/// Re-checks the session, refreshes presence and starts following; returns the follower and the
/// frames to send first (`ready`, then any replay).
async fn start_following(
    ctx: &Context,
    principal: Principal,
    resume: Option<Resume>,
    mut ready: ServerFrame,
) -> Result<(Follower, Vec<Message>), Ending> {
    // A logout between authentication and registration would otherwise go unnoticed.
    match ctx.accounts.session_is_live(principal.session_id).await {
        Ok(true) => {}
        Ok(false) => return Err(Ending::new(close::TOKEN_REVOKED, "session revoked")),
        Err(e) => {
            tracing::error!(error = %e, "cannot re-check websocket session");
            return Err(Ending::new(INTERNAL_ERROR, "internal error"));
        }
    }
    if let Err(e) = ctx.chat.presence.refresh(principal.user_id).await {
        tracing::warn!(error = %e, "cannot update presence");
    }
    let (follower, replay) = Follower::start(
        principal.user_id,
        ctx.chat.storage.clone(),
        resume,
        ctx.settings.resume_max_events,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "cannot start following conversations");
        Ending::new(INTERNAL_ERROR, "internal error")
    })?;
    if let ServerFrame::Ready { user_seq, .. } = &mut ready {
        *user_seq = follower.user_head();
    }
    let frames = std::iter::once(&ready)
        .chain(&replay)
        .map(frames::encode)
        .collect();
    Ok((follower, frames))
}

/// One turn of the socket: writes what is queued (coalesced, one flush), then — when `read` —
/// reads the next frame. A write failure is reported as the read's error.
fn poll_socket(
    ws: &mut WebSocket,
    out: &mut Outbound,
    read: bool,
    cx: &mut TaskContext<'_>,
) -> Poll<Option<Result<Message, axum::Error>>> {
    if let Poll::Ready(Err(e)) = out.poll_write(ws, cx) {
        return Poll::Ready(Some(Err(e)));
    }
    if read {
        ws.poll_next_unpin(cx)
    } else {
        Poll::Pending
    }
}

/// How long a client may be silent before the server pings it: one heartbeat interval, or the
/// idle timeout less half an interval if that is shorter, so a client that only answers pings is
/// asked, and answers, well before the idle timeout. The config requires idle timeout >
/// heartbeat, so this is never zero.
///
/// **The server keeps the connection alive, not the client.** Clients used to send their own
/// `ping` every interval; each arrived on its own, at a random moment, and woke a worker thread
/// for one frame. With 20,000 idle connections that was ~800 wake-ups a second, and the wake-ups
/// (context switches, `futex`) were most of the server's idle CPU (BENCHMARKS.md, `connections`).
/// Server pings go out on a shared grid ([`on_grid`]): every connection due within the same grid
/// step is pinged in one burst, and the pongs come back in one, so a worker wakes a few times a
/// second however many connections there are.
pub fn ping_after_silence(heartbeat: Duration, idle_timeout: Duration) -> Duration {
    heartbeat.min(idle_timeout.saturating_sub(heartbeat / 2))
}

/// The grid step of heartbeat deadlines: 1/25 of the interval (1 s at the default 25 s), at least
/// a millisecond (tokio's timer resolution).
fn grid_step(heartbeat: Duration) -> Duration {
    (heartbeat / 25).clamp(Duration::from_millis(1), Duration::from_secs(1))
}

/// `deadline` rounded up to the next multiple of `step` since a process-wide epoch, so deadlines of
/// different connections that fall within one step fire in the same timer tick.
fn on_grid(deadline: Instant, step: Duration) -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let since = deadline.saturating_duration_since(epoch).as_nanos();
    let step_ns = step.as_nanos().max(1);
    let steps = since.div_ceil(step_ns);
    let offset = u64::try_from(steps * step_ns).unwrap_or(u64::MAX);
    epoch + Duration::from_nanos(offset)
}

/// Deliveries forwarded per wake-up of the live loop at most (then the socket and timers get a turn).
const DELIVERY_BATCH: usize = 64;

/// Queues one published frame, with any missed events before it (see `follow`).
async fn forward(
    follower: &mut Follower,
    out: &mut Outbound,
    delivery: super::registry::Delivery,
) -> Result<(), Ending> {
    let delivered = follower.deliver(delivery).await.map_err(|e| {
        tracing::error!(error = %e, "cannot deliver an event");
        Ending::new(INTERNAL_ERROR, "internal error")
    })?;
    let metrics = crate::metrics::get();
    for frame in &delivered.missed {
        push(out, frames::encode(frame))?;
        metrics.ws_deliveries.inc();
    }
    if delivered.frame.is_some() {
        metrics.ws_deliveries.inc();
    }
    match delivered.frame {
        Some(bytes) => push(out, Message::Text(bytes)),
        None => Ok(()),
    }
}

/// What woke the live loop up.
enum Input {
    Socket(Option<Result<Message, axum::Error>>),
    Mail(Mail),
    /// The server is draining.
    Shutdown,
}

/// The sends of one connection waiting for their commit. The set is only allocated while sends are
/// in flight, so an idle connection pays nothing for it.
#[derive(Default)]
struct InFlight<'a> {
    set: Option<FuturesUnordered<BoxFuture<'a, ServerFrame>>>,
}

impl<'a> InFlight<'a> {
    fn len(&self) -> usize {
        self.set.as_ref().map_or(0, FuturesUnordered::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, send: BoxFuture<'a, ServerFrame>) {
        self.set
            .get_or_insert_with(FuturesUnordered::new)
            .push(send);
    }

    /// The next reply; `None` when nothing is in flight.
    async fn next(&mut self) -> Option<ServerFrame> {
        let set = self.set.as_mut()?;
        let reply = set.next().await;
        if set.is_empty() {
            self.set = None;
        }
        reply
    }
}

/// Waits (at most [`SEND_DRAIN`]) for the replies to sends in flight and queues them.
async fn answer_sends_in_flight(
    out: &mut Outbound,
    sends: &mut InFlight<'_>,
) -> Result<(), Ending> {
    let deadline = tokio::time::sleep(SEND_DRAIN);
    tokio::pin!(deadline);
    while !sends.is_empty() {
        tokio::select! {
            Some(reply) = sends.next() => send(out, &reply)?,
            () = &mut deadline => break,
        }
    }
    Ok(())
}

/// Posts a message; the ack goes out only after the service returns, that is, after the commit.
async fn send_message(
    chat: &Chat,
    principal: Principal,
    conversation_id: ConversationId,
    req: SendMessageRequest,
) -> ServerFrame {
    let client_id = req.client_id.clone();
    // Observed when dropped, errors included: a refused send is answered as late as it is.
    let _timer = crate::metrics::get().ws_send_ack_seconds.start_timer();
    match chat.messages.send(&principal, conversation_id, req).await {
        Ok((message, _)) => ServerFrame::Ack { client_id, message },
        Err(e) => service_error_frame(e, "send", Some(client_id)),
    }
}

/// Runs a client action other than `send` through the services; returns the reply, if the action
/// has one.
async fn act(
    chat: &Chat,
    registry: &Registry,
    principal: &Principal,
    connection: ConnectionId,
    frame: ClientFrame,
) -> Option<ServerFrame> {
    let ty = frames::frame_type(&frame);
    match frame {
        ClientFrame::Typing {
            conversation_id,
            active,
        } => chat
            .typing
            .set(principal, conversation_id, active)
            .await
            .err()
            .map(|e| service_error_frame(e, ty, None)),
        ClientFrame::MarkRead {
            conversation_id,
            seq,
        } => chat
            .conversations
            .mark_read(principal, conversation_id, seq)
            .await
            .err()
            .map(|e| service_error_frame(e, ty, None)),
        ClientFrame::SetPresence { status } => {
            if status == PresenceStatus::Offline {
                return Some(error_frame(
                    ErrorCode::ValidationFailed,
                    "status: a connected client is online or away",
                    Some(ty),
                ));
            }
            registry.set_away(connection, status == PresenceStatus::Away);
            chat.presence
                .refresh(principal.user_id)
                .await
                .err()
                .map(|e| service_error_frame(e, ty, None))
        }
        // Handled by the live loop.
        ClientFrame::Send { .. } | ClientFrame::Hello { .. } | ClientFrame::Ping { .. } => None,
    }
}

fn too_large(len: usize, max: usize) -> ServerFrame {
    error_frame(
        ErrorCode::FrameTooLarge,
        format!("frame of {len} bytes exceeds the limit of {max} bytes"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_client_is_pinged_after_one_interval_and_has_time_to_answer() {
        let ms = Duration::from_millis;
        // Defaults (25 s / 60 s): pinged after 25 s of silence, 35 s left to answer.
        assert_eq!(ping_after_silence(ms(25_000), ms(60_000)), ms(25_000));
        // A tight idle timeout: half an interval is still left to answer.
        assert_eq!(ping_after_silence(ms(10_000), ms(12_000)), ms(7_000));
        for (heartbeat, idle) in [(100, 400), (100, 1_500), (25_000, 60_000), (30, 31)] {
            let quiet = ping_after_silence(ms(heartbeat), ms(idle));
            assert!(quiet > Duration::ZERO);
            assert!(quiet + ms(heartbeat) / 2 <= ms(idle));
            // The grid delays a deadline by less than a step, a small part of the interval.
            assert!(grid_step(ms(heartbeat)) <= ms(heartbeat) / 25 + ms(1));
        }
    }

    #[test]
    fn deadlines_within_one_step_share_a_grid_point_and_none_comes_early() {
        let step = grid_step(Duration::from_secs(25));
        assert_eq!(step, Duration::from_secs(1));
        let base = on_grid(Instant::now() + Duration::from_secs(3), step);
        let mut points = std::collections::HashSet::new();
        for k in 1..=100u64 {
            let deadline = base + Duration::from_millis(k * 10 - 5);
            let at = on_grid(deadline, step);
            assert!(at >= deadline, "early by {:?}", deadline - at);
            assert!(at - deadline < step);
            points.insert(at);
        }
        // 100 deadlines spread over one second land on one grid point (two at the boundary).
        assert!(points.len() <= 2, "{} grid points", points.len());
        // A deadline on the grid stays where it is.
        assert_eq!(on_grid(base, step), base);
    }
}
