//! One WebSocket connection, from upgrade to close.
//!
//! The task reads; a separate writer task ([`super::outbound`]) writes. The reader goes through two
//! phases:
//! 1. **Handshake**: within `handshake_timeout` the first text frame must be a hello. The protocol
//!    major version is checked first (so an old client learns to upgrade rather than to re-login),
//!    then the token. Every refusal is a distinct close code from [`jeco_shared::ws::close`].
//! 2. **Live**: registers for deliveries, replays what a resuming client missed (see [`super::follow`]),
//!    then forwards published events in order, runs client actions (send, typing, mark read,
//!    presence) through the services, answers pings, turns bad frames into error frames (the
//!    connection survives), sends a WebSocket ping every heartbeat interval, and closes on idle
//!    timeout (4005), on a registry request (4003 after logout, 4006 when deliveries overflow), on
//!    a full outbound queue (4006) or on server shutdown (1001). Presence is refreshed when the
//!    connection goes live and again after it is unregistered.

use super::GatewaySettings;
use super::follow::{Follower, Out};
use super::frames;
use super::outbound::{self, Closer, Outbox, PushError};
use super::registry::{CloseRequest, ConnectionId, Registry};
use crate::services::{Accounts, Chat, Principal, ServiceError};
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use jeco_shared::events::{PresenceStatus, Resume};
use jeco_shared::messages::SendMessageRequest;
use jeco_shared::ws::{ClientFrame, ServerFrame, close};
use jeco_shared::{ErrorCode, PROTOCOL_MAJOR, PROTOCOL_VERSION, protocol_major};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Close code for an unexpected server-side failure (standard "internal error").
const INTERNAL_ERROR: u16 = 1011;
/// How long to keep reading after sending a close frame, so the peer's reply is consumed.
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

/// Why the connection ends, decided by the reader.
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

pub async fn run(socket: WebSocket, mut ctx: Context) {
    let (sink, mut stream) = socket.split();
    let (outbox, closer, writer) = outbound::spawn(sink, ctx.settings.outbound_queue);
    let ending = match handshake(&mut stream, &outbox, &mut ctx).await {
        Ok(Some((principal, resume, ready))) => {
            let ending = live(&mut stream, &outbox, &mut ctx, principal, resume, ready).await;
            // Unregistered by now: the user may have gone offline.
            if let Err(e) = ctx.chat.presence.refresh(principal.user_id).await {
                tracing::warn!(error = %e, "cannot update presence");
            }
            ctx.chat.typing.connection_closed(principal.user_id).await;
            ending
        }
        Ok(None) => None,
        Err(ending) => Some(ending),
    };
    finish(stream, closer, writer, ending).await;
}

/// Sends the close frame (if any), then reads until the peer closes or a short timeout.
async fn finish(
    mut stream: SplitStream<WebSocket>,
    closer: Closer,
    writer: tokio::task::JoinHandle<()>,
    ending: Option<Ending>,
) {
    match ending {
        Some(Ending { code, reason }) => {
            tracing::debug!(code, %reason, "closing websocket");
            closer.close(code, &reason, code != close::SLOW_CONSUMER);
            let _ = tokio::time::timeout(CLOSE_DRAIN, async {
                while let Some(Ok(_)) = stream.next().await {}
            })
            .await;
        }
        None => drop(closer),
    }
    let _ = tokio::time::timeout(CLOSE_DRAIN, writer).await;
}

/// Sends an error frame; a failure to enqueue is the caller's problem only for a full queue.
fn send(outbox: &Outbox, frame: &ServerFrame) -> Result<(), Ending> {
    match outbox.push(frames::encode(frame)) {
        Ok(()) | Err(PushError::Closed) => Ok(()),
        Err(PushError::Full) => Err(Ending::new(close::SLOW_CONSUMER, "outbound queue full")),
    }
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

/// How long a replay may wait for room in the connection's own queue before the client counts as
/// a slow consumer.
const REPLAY_PATIENCE: Duration = Duration::from_secs(10);

/// What a successful hello yields: who it is, where to resume from, and the `ready` frame to send
/// once the connection is registered.
type Handshaken = (Principal, Option<Resume>, ServerFrame);

/// Returns the authenticated principal, `Ok(None)` when the peer went away, or how to close.
async fn handshake(
    stream: &mut SplitStream<WebSocket>,
    outbox: &Outbox,
    ctx: &mut Context,
) -> Result<Option<Handshaken>, Ending> {
    let deadline = Instant::now() + ctx.settings.handshake_timeout;
    let hello = loop {
        let message = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Ending::new(close::HANDSHAKE_TIMEOUT, "no hello within the handshake timeout"));
            }
            _ = ctx.shutdown.wait_for(|down| *down) => {
                return Err(Ending::new(close::GOING_AWAY, "server shutting down"));
            }
            message = stream.next() => message,
        };
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                send(
                    outbox,
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
                        outbox,
                        &error_frame(ErrorCode::HandshakeRequired, "send hello first", Some(ty)),
                    )?;
                    return Err(Ending::new(close::HANDSHAKE_REQUIRED, "expected hello"));
                }
                Err(e) => {
                    send(
                        outbox,
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
            outbox,
            &error_frame(ErrorCode::ProtocolMismatch, message, Some("hello")),
        )?;
        return Err(Ending::new(
            close::PROTOCOL_MISMATCH,
            format!("server protocol is {PROTOCOL_VERSION}"),
        ));
    }
    let Some(token) = token.or_else(|| ctx.header_token.take()) else {
        send(
            outbox,
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
    };
    Ok(Some((principal, resume, ready)))
}

/// The live phase. Returns how to close, or `None` when the peer went away.
async fn live(
    stream: &mut SplitStream<WebSocket>,
    outbox: &Outbox,
    ctx: &mut Context,
    principal: Principal,
    resume: Option<Resume>,
    mut ready: ServerFrame,
) -> Option<Ending> {
    let settings = ctx.settings;
    // Registered before positions are read, so no event falls between the replay and live.
    let (registration, mut control, mut deliveries) = ctx.registry.register(
        principal.user_id,
        principal.session_id,
        settings.outbound_queue,
    );
    // A logout between authentication and registration would otherwise go unnoticed.
    match ctx.accounts.session_is_live(principal.session_id).await {
        Ok(true) => {}
        Ok(false) => return Some(Ending::new(close::TOKEN_REVOKED, "session revoked")),
        Err(e) => {
            tracing::error!(error = %e, "cannot re-check websocket session");
            return Some(Ending::new(INTERNAL_ERROR, "internal error"));
        }
    }
    if let Err(e) = ctx.chat.presence.refresh(principal.user_id).await {
        tracing::warn!(error = %e, "cannot update presence");
    }
    let mut follower = match Follower::start(
        principal.user_id,
        ctx.chat.storage.clone(),
        resume,
        settings.resume_max_events,
    )
    .await
    {
        Ok((follower, replay)) => {
            if let ServerFrame::Ready { user_seq, .. } = &mut ready {
                *user_seq = follower.user_head();
            }
            if let Err(ending) = send(outbox, &ready) {
                return Some(ending);
            }
            for frame in &replay {
                if outbox
                    .push_wait(frames::encode(frame), REPLAY_PATIENCE)
                    .await
                    .is_err()
                {
                    return Some(Ending::new(close::SLOW_CONSUMER, "outbound queue full"));
                }
            }
            follower
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start following conversations");
            return Some(Ending::new(INTERNAL_ERROR, "internal error"));
        }
    };
    let mut heartbeat = tokio::time::interval_at(
        Instant::now() + settings.heartbeat_interval,
        settings.heartbeat_interval,
    );
    let idle = tokio::time::sleep(settings.idle_timeout);
    tokio::pin!(idle);
    let mut last_heard = Instant::now();
    let ping_not_needed_within =
        quiet_enough_to_ping(settings.heartbeat_interval, settings.idle_timeout);
    loop {
        let message = tokio::select! {
            _ = ctx.shutdown.wait_for(|down| *down) => {
                return Some(Ending::new(close::GOING_AWAY, "server shutting down"));
            }
            request = control.recv() => {
                let CloseRequest { code, reason } = request?;
                return Some(Ending::new(code, reason));
            }
            _ = &mut idle => {
                return Some(Ending::new(close::HEARTBEAT_TIMEOUT, "nothing heard within the idle timeout"));
            }
            delivery = deliveries.recv() => Input::Delivery(delivery),
            _ = heartbeat.tick() => {
                // A client that spoke recently (its own `ping`, anything) is alive: no WebSocket ping
                // then, which halves the frames — and the wake-ups — of an idle connection.
                if last_heard.elapsed() < ping_not_needed_within {
                    continue;
                }
                if let Err(PushError::Full) = outbox.push(Message::Ping(Default::default())) {
                    return Some(Ending::new(close::SLOW_CONSUMER, "outbound queue full"));
                }
                continue;
            }
            message = stream.next() => Input::Socket(message),
        };
        let message = match message {
            Input::Socket(message) => message,
            Input::Delivery(None) => continue,
            Input::Delivery(Some(delivery)) => {
                if let Err(ending) = forward(&mut follower, outbox, delivery).await {
                    return Some(ending);
                }
                // Whatever else is already waiting goes too, without another turn of the select.
                for _ in 1..DELIVERY_BATCH {
                    let Ok(delivery) = deliveries.try_recv() else {
                        break;
                    };
                    if let Err(ending) = forward(&mut follower, outbox, delivery).await {
                        return Some(ending);
                    }
                }
                continue;
            }
        };
        // Any frame, including a pong to our ping, proves the peer is alive.
        last_heard = Instant::now();
        idle.as_mut().reset(last_heard + settings.idle_timeout);
        let reply = match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
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
                Ok(action) => match act(ctx, &principal, registration.id(), action).await {
                    Some(reply) => reply,
                    None => continue,
                },
                Err(e) => e.to_frame(),
            },
        };
        if let Err(ending) = send(outbox, &reply) {
            return Some(ending);
        }
    }
}

/// How recently a client must have been heard for the next heartbeat to skip the server's ping.
/// Skipping one ping delays the next by a heartbeat interval, so a client that only answers pings
/// (sends nothing itself) must still be asked again, and answer, before the idle timeout: the window
/// is at most one interval and leaves the rest of the idle timeout, less a tenth of an interval of
/// margin, for that.
fn quiet_enough_to_ping(heartbeat: Duration, idle_timeout: Duration) -> Duration {
    heartbeat.min(
        idle_timeout
            .saturating_sub(heartbeat)
            .saturating_sub(heartbeat / 10),
    )
}

/// Deliveries forwarded per wake-up of the live loop at most (then the socket and timers get a turn).
const DELIVERY_BATCH: usize = 64;

/// Hands one published frame to the writer, with any missed events before it (see `follow`).
async fn forward(
    follower: &mut Follower,
    outbox: &Outbox,
    delivery: super::registry::Delivery,
) -> Result<(), Ending> {
    let outs = follower.deliver(delivery).await.map_err(|e| {
        tracing::error!(error = %e, "cannot deliver an event");
        Ending::new(INTERNAL_ERROR, "internal error")
    })?;
    for out in outs {
        let message = match out {
            Out::Shared(bytes) => Message::Text(bytes),
            Out::Frame(frame) => frames::encode(&frame),
        };
        if let Err(PushError::Full) = outbox.push(message) {
            return Err(Ending::new(close::SLOW_CONSUMER, "outbound queue full"));
        }
    }
    Ok(())
}

/// What woke the live loop up.
enum Input {
    Socket(Option<Result<Message, axum::Error>>),
    Delivery(Option<super::registry::Delivery>),
}

/// Runs a client action through the services; returns the reply, if the action has one.
async fn act(
    ctx: &Context,
    principal: &Principal,
    connection: ConnectionId,
    frame: ClientFrame,
) -> Option<ServerFrame> {
    let chat = &ctx.chat;
    let ty = frames::frame_type(&frame);
    match frame {
        ClientFrame::Send {
            conversation_id,
            client_id,
            text,
            reply_to,
            attachment_ids,
        } => {
            let req = SendMessageRequest {
                client_id: client_id.clone(),
                text,
                reply_to,
                attachment_ids,
            };
            // The ack goes out only after the service returns, that is, after the commit.
            Some(
                match chat.messages.send(principal, conversation_id, req).await {
                    Ok((message, _)) => ServerFrame::Ack { client_id, message },
                    Err(e) => service_error_frame(e, ty, Some(client_id)),
                },
            )
        }
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
            ctx.registry
                .set_away(connection, status == PresenceStatus::Away);
            chat.presence
                .refresh(principal.user_id)
                .await
                .err()
                .map(|e| service_error_frame(e, ty, None))
        }
        ClientFrame::Hello { .. } | ClientFrame::Ping { .. } => None,
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
    fn pings_are_skipped_only_where_the_idle_timeout_leaves_room() {
        let s = Duration::from_secs;
        // Defaults (25 s / 60 s): a client heard within the last interval is not pinged.
        assert_eq!(quiet_enough_to_ping(s(25), s(60)), s(25));
        // A tight idle timeout leaves little or no room to skip.
        assert_eq!(quiet_enough_to_ping(s(10), s(12)), Duration::from_secs(1));
        assert_eq!(quiet_enough_to_ping(s(10), s(10)), Duration::ZERO);
    }
}
