//! The sync connection: one WebSocket to the gateway at `/api/v1/ws`.
//!
//! This is the start of the engine's sync state machine
//! (connecting → authenticating → live → closed; catching up, resume and backoff arrive with
//! messaging). [`connect`] does the handshake — open the socket, send `hello` with the protocol
//! version and access token, wait for `ready` — and only returns once the connection is live, so a
//! caller learns about a bad token or an incompatible server at once, as a typed [`SyncError`].
//!
//! After the handshake a background task owns the socket. It sends `ping` frames at the interval the
//! server asked for, answers nothing itself (WebSocket-level pings are answered by tungstenite), turns
//! incoming frames into [`SyncEvent`]s on a broadcast channel, and declares the connection dead when
//! nothing at all has been heard for the server's idle timeout. The task ends when the socket closes
//! or the [`SyncConnection`] is closed or dropped.

use futures_util::{SinkExt, StreamExt};
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame, close};
use jeco_shared::{ErrorCode, PROTOCOL_VERSION, SessionId};
use reqwest::Url;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    Connecting,
    /// The socket is open and `hello` was sent; waiting for `ready`.
    Authenticating,
    /// `ready` arrived; heartbeats are running.
    Live,
    Closed,
}

/// Something that happened on a live connection.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// The server answered a heartbeat.
    Pong { nonce: u64, round_trip: Duration },
    /// The server refused one of our frames; the connection stays open.
    ServerError {
        code: ErrorCode,
        message: String,
        frame: Option<String>,
    },
    /// The connection ended. `code` is the WebSocket close code when the server sent one (see
    /// [`jeco_shared::ws::close`]).
    Closed { code: Option<u16>, reason: String },
}

/// What the server said in `ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyInfo {
    pub protocol: String,
    pub server_version: String,
    pub user: User,
    pub session_id: SessionId,
    pub heartbeat_interval: Duration,
    pub idle_timeout: Duration,
    /// The head of the user's own event log when the connection started.
    pub user_seq: i64,
}

/// Knobs for [`connect`]; the defaults suit real use.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The client name sent in `hello`, for the server's logs.
    pub client_name: String,
    /// How long to wait for `ready` after opening the socket.
    pub handshake_timeout: Duration,
    /// Send heartbeats at least this often, even if the server asks for less (tests use it to see
    /// heartbeats quickly).
    pub max_heartbeat_interval: Option<Duration>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            client_name: crate::DEFAULT_CLIENT_NAME.to_owned(),
            handshake_timeout: Duration::from_secs(10),
            max_heartbeat_interval: None,
        }
    }
}

/// Why the connection could not be made live.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("could not open the sync connection to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    #[error("the server did not finish the sync handshake within {0:?}")]
    HandshakeTimeout(Duration),
    /// The server closed the socket during the handshake. `code` says what to do next: refresh the
    /// token (`token_expired`), sign in again (`token_invalid`, `token_revoked`), or upgrade
    /// (`protocol_mismatch`).
    #[error("the server refused the sync connection (close code {close_code}): {reason}")]
    Rejected {
        close_code: u16,
        code: Option<ErrorCode>,
        reason: String,
    },
    /// The server answered the handshake with something other than `ready`.
    #[error("the sync handshake failed: {0}")]
    Protocol(String),
}

impl SyncError {
    /// The error code behind the failure, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Rejected { code, .. } => *code,
            _ => None,
        }
    }
}

/// What a close code means as an error code.
pub fn close_code_meaning(close_code: u16) -> Option<ErrorCode> {
    match close_code {
        close::TOKEN_INVALID => Some(ErrorCode::TokenInvalid),
        close::TOKEN_EXPIRED => Some(ErrorCode::TokenExpired),
        // Signed out from another session, the password was reset, or an admin deactivated the
        // account: signed out all the same (a new sign-in of a deactivated account is refused
        // with its own error code).
        close::TOKEN_REVOKED | close::SIGNED_OUT | close::DEACTIVATED => {
            Some(ErrorCode::TokenRevoked)
        }
        close::PROTOCOL_MISMATCH => Some(ErrorCode::ProtocolMismatch),
        close::HANDSHAKE_REQUIRED => Some(ErrorCode::HandshakeRequired),
        _ => None,
    }
}

enum Command {
    Ping,
    Close,
}

/// A live connection. Dropping it closes the socket.
#[derive(Debug)]
pub struct SyncConnection {
    ready: ReadyInfo,
    state: watch::Receiver<SyncState>,
    events: broadcast::Sender<SyncEvent>,
    commands: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ping => "Ping",
            Self::Close => "Close",
        })
    }
}

impl SyncConnection {
    /// What the server said in `ready`.
    pub fn ready(&self) -> &ReadyInfo {
        &self.ready
    }

    /// The current state.
    pub fn state(&self) -> SyncState {
        *self.state.borrow()
    }

    /// A receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<SyncState> {
        self.state.clone()
    }

    /// Events from now on. A receiver that falls more than a few dozen events behind skips ahead
    /// (`RecvError::Lagged`) rather than holding memory.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// Sends a heartbeat now instead of waiting for the next tick.
    pub async fn ping_now(&self) {
        // The task is gone only when the connection is closed; a ping then has nowhere to go.
        let _ = self.commands.send(Command::Ping).await;
    }

    /// Closes the socket politely and waits for the connection task to end.
    pub async fn close(self) {
        let _ = self.commands.send(Command::Close).await;
        let _ = self.task.await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the connection and completes the hello → ready handshake.
pub async fn connect(
    url: &Url,
    access_token: &str,
    options: SyncOptions,
) -> Result<SyncConnection, SyncError> {
    let (state_tx, state_rx) = watch::channel(SyncState::Connecting);
    let (socket, ready) = handshake(
        url,
        access_token,
        &options.client_name,
        None,
        options.handshake_timeout,
        || {
            let _ = state_tx.send(SyncState::Authenticating);
        },
    )
    .await?;
    let _ = state_tx.send(SyncState::Live);

    let (events, _) = broadcast::channel(64);
    let (commands, command_rx) = mpsc::channel(8);
    let mut heartbeat = ready.heartbeat_interval;
    if let Some(max) = options.max_heartbeat_interval {
        heartbeat = heartbeat.min(max);
    }
    let task = tokio::spawn(run(
        socket,
        heartbeat,
        ready.idle_timeout,
        state_tx,
        events.clone(),
        command_rx,
    ));
    Ok(SyncConnection {
        ready,
        state: state_rx,
        events,
        commands,
        task,
    })
}

/// Opens the socket, sends `hello` (with `resume` when given) and waits for `ready`, all within
/// `timeout`. `on_open` runs once the socket is open (the state moves to authenticating).
pub(crate) async fn handshake(
    url: &Url,
    access_token: &str,
    client_name: &str,
    resume: Option<jeco_shared::events::Resume>,
    timeout: Duration,
    on_open: impl FnOnce(),
) -> Result<(Socket, ReadyInfo), SyncError> {
    let work = async {
        // Nagle off: a send written while the previous one is unacknowledged would otherwise
        // wait for the server's delayed ACK (up to 40 ms).
        let (mut socket, _response) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), None, true)
                .await
                .map_err(|e| SyncError::Connect {
                    url: url.to_string(),
                    source: Box::new(e),
                })?;
        on_open();
        let hello = ClientFrame::Hello {
            protocol: PROTOCOL_VERSION.to_owned(),
            token: Some(access_token.to_owned()),
            client: Some(client_name.to_owned()),
            resume,
        };
        // A server that closes right away (bad token in a header, shutting down) is read below.
        if let Err(e) = socket.send(text_frame(&hello)).await {
            tracing::debug!(error = %e, "sending hello failed; reading the server's reason");
        }
        let ready = await_ready(&mut socket).await?;
        Ok((socket, ready))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| SyncError::HandshakeTimeout(timeout))?
}

pub(crate) fn text_frame(frame: &ClientFrame) -> Message {
    Message::text(serde_json::to_string(frame).expect("client frames serialize"))
}

async fn await_ready(socket: &mut Socket) -> Result<ReadyInfo, SyncError> {
    while let Some(message) = socket.next().await {
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                return Err(SyncError::Protocol(format!(
                    "the connection failed during the handshake: {e}"
                )));
            }
        };
        match message {
            Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text) {
                Ok(ServerFrame::Ready {
                    protocol,
                    server_version,
                    user,
                    session_id,
                    heartbeat_interval_ms,
                    idle_timeout_ms,
                    user_seq,
                }) => {
                    return Ok(ReadyInfo {
                        protocol,
                        server_version,
                        user,
                        session_id,
                        // A zero interval would spin; the server never sends one, but be safe.
                        heartbeat_interval: Duration::from_millis(heartbeat_interval_ms.max(100)),
                        idle_timeout: Duration::from_millis(idle_timeout_ms.max(1000)),
                        user_seq,
                    });
                }
                // Errors before ready precede a close; keep reading to learn the close code.
                Ok(ServerFrame::Error { code, message, .. }) => {
                    tracing::debug!(%code, %message, "error frame during the handshake");
                }
                Ok(other) => {
                    return Err(SyncError::Protocol(format!(
                        "expected ready, got {other:?}"
                    )));
                }
                Err(e) => {
                    return Err(SyncError::Protocol(format!(
                        "unreadable frame {text:?}: {e}"
                    )));
                }
            },
            Message::Close(frame) => {
                let (close_code, reason) = describe_close(frame.as_ref());
                return Err(SyncError::Rejected {
                    close_code: close_code.unwrap_or(u16::from(CloseCode::Abnormal)),
                    code: close_code.and_then(close_code_meaning),
                    reason,
                });
            }
            Message::Binary(_) => {
                return Err(SyncError::Protocol("unexpected binary frame".into()));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
    Err(SyncError::Rejected {
        close_code: u16::from(CloseCode::Abnormal),
        code: None,
        reason: "the server closed the connection without a reason".into(),
    })
}

pub(crate) fn describe_close(frame: Option<&CloseFrame>) -> (Option<u16>, String) {
    match frame {
        Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
        None => (None, "closed without a close frame".to_owned()),
    }
}

/// The connection task: heartbeats, incoming frames, commands.
async fn run(
    mut socket: Socket,
    heartbeat_every: Duration,
    idle_timeout: Duration,
    state: watch::Sender<SyncState>,
    events: broadcast::Sender<SyncEvent>,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut heartbeat = tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut next_nonce: u64 = 1;
    // Nonce → when it was sent, to report round trips. Bounded: pongs that never come are pruned.
    let mut in_flight: HashMap<u64, Instant> = HashMap::new();

    let closed = loop {
        let mut send_ping = false;
        tokio::select! {
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= idle_timeout {
                    let _ = socket.close(None).await;
                    break SyncEvent::Closed {
                        code: Some(close::HEARTBEAT_TIMEOUT),
                        reason: format!("nothing heard from the server for {idle_timeout:?}"),
                    };
                }
                send_ping = true;
            }
            command = commands.recv() => match command {
                Some(Command::Ping) => send_ping = true,
                Some(Command::Close) | None => {
                    let _ = socket.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })).await;
                    break SyncEvent::Closed { code: Some(u16::from(CloseCode::Normal)), reason: "closed by the client".into() };
                }
            },
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(ServerFrame::Pong { nonce }) => {
                            if let Some(sent) = in_flight.remove(&nonce) {
                                let _ = events.send(SyncEvent::Pong { nonce, round_trip: sent.elapsed() });
                            }
                        }
                        Ok(ServerFrame::Error { code, message, frame, .. }) => {
                            let _ = events.send(SyncEvent::ServerError { code, message, frame });
                        }
                        Ok(ServerFrame::Ready { .. }) => tracing::warn!("ignoring a second ready frame"),
                        // Conversation frames (events, acks, typing, presence) are not handled yet.
                        Ok(other) => tracing::debug!(?other, "ignoring a frame this engine does not handle yet"),
                        // Newer servers may send frame types this build does not know (minor versions).
                        Err(e) => tracing::debug!(error = %e, "ignoring an unreadable frame"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = describe_close(frame.as_ref());
                    break SyncEvent::Closed { code, reason };
                }
                Some(Ok(_)) => last_heard = Instant::now(),
                Some(Err(e)) => break SyncEvent::Closed { code: None, reason: e.to_string() },
                None => break SyncEvent::Closed { code: None, reason: "the connection ended".into() },
            },
        }
        if send_ping {
            let nonce = next_nonce;
            next_nonce += 1;
            in_flight.retain(|_, sent| sent.elapsed() < idle_timeout);
            in_flight.insert(nonce, Instant::now());
            if let Err(e) = socket.send(text_frame(&ClientFrame::Ping { nonce })).await {
                break SyncEvent::Closed {
                    code: None,
                    reason: format!("sending a heartbeat failed: {e}"),
                };
            }
        }
    };
    tracing::debug!(?closed, "sync connection ended");
    let _ = state.send(SyncState::Closed);
    let _ = events.send(closed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_map_to_error_codes() {
        assert_eq!(
            close_code_meaning(close::TOKEN_EXPIRED),
            Some(ErrorCode::TokenExpired)
        );
        assert_eq!(
            close_code_meaning(close::TOKEN_REVOKED),
            Some(ErrorCode::TokenRevoked)
        );
        assert_eq!(
            close_code_meaning(close::SIGNED_OUT),
            Some(ErrorCode::TokenRevoked)
        );
        assert_eq!(
            close_code_meaning(close::DEACTIVATED),
            Some(ErrorCode::TokenRevoked)
        );
        assert_eq!(
            close_code_meaning(close::TOKEN_INVALID),
            Some(ErrorCode::TokenInvalid)
        );
        assert_eq!(
            close_code_meaning(close::PROTOCOL_MISMATCH),
            Some(ErrorCode::ProtocolMismatch)
        );
        assert_eq!(close_code_meaning(close::GOING_AWAY), None);
        assert_eq!(close_code_meaning(close::SLOW_CONSUMER), None);
    }

    #[tokio::test]
    async fn refused_connection_is_a_connect_error() {
        let port = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("ws://127.0.0.1:{port}/api/v1/ws")).unwrap();
        let err = connect(&url, "token", SyncOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, SyncError::Connect { .. }), "{err:?}");
    }

    /// A scripted gateway: answers hello with `ready` (or closes with `reject`), answers pings with
    /// pongs, and reports the frames it received.
    async fn fake_gateway(reject: Option<u16>) -> (Url, mpsc::UnboundedReceiver<ClientFrame>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!(
            "ws://{}/api/v1/ws",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let frame: ClientFrame = serde_json::from_str(&text).unwrap();
                let _ = seen_tx.send(frame.clone());
                let answer = match frame {
                    ClientFrame::Hello { .. } => {
                        if let Some(code) = reject {
                            let frame = CloseFrame {
                                code: CloseCode::from(code),
                                reason: "no".into(),
                            };
                            let _ = ws.close(Some(frame)).await;
                            return;
                        }
                        ServerFrame::Ready {
                            protocol: PROTOCOL_VERSION.into(),
                            server_version: "test".into(),
                            user: User {
                                id: jeco_shared::UserId(7),
                                username: "ada".into(),
                                display_name: None,
                                bio: None,
                                status_text: None,
                                is_admin: false,
                                deactivated: false,
                                created_at: "2025-01-01T00:00:00Z".into(),
                                avatar: None,
                            },
                            session_id: SessionId(3),
                            heartbeat_interval_ms: 60_000,
                            idle_timeout_ms: 120_000,
                            user_seq: 0,
                        }
                    }
                    ClientFrame::Ping { nonce } => ServerFrame::Pong { nonce },
                    _ => continue,
                };
                ws.send(Message::text(serde_json::to_string(&answer).unwrap()))
                    .await
                    .unwrap();
            }
        });
        (url, seen_rx)
    }

    #[tokio::test]
    async fn handshake_then_heartbeats_then_close() {
        let (url, mut seen) = fake_gateway(None).await;
        let options = SyncOptions {
            client_name: "unit/1".into(),
            max_heartbeat_interval: Some(Duration::from_millis(50)),
            ..SyncOptions::default()
        };
        let connection = connect(&url, "tok", options).await.unwrap();
        assert_eq!(connection.state(), SyncState::Live);
        assert_eq!(connection.ready().user.username, "ada");
        assert_eq!(connection.ready().session_id, SessionId(3));
        assert_eq!(
            connection.ready().heartbeat_interval,
            Duration::from_secs(60)
        );
        match seen.recv().await.unwrap() {
            ClientFrame::Hello {
                protocol,
                token,
                client,
                ..
            } => {
                assert_eq!(protocol, PROTOCOL_VERSION);
                assert_eq!(token.as_deref(), Some("tok"));
                assert_eq!(client.as_deref(), Some("unit/1"));
            }
            other => panic!("expected hello first, got {other:?}"),
        }
        // Heartbeats come on their own at the capped interval, and their pongs are reported.
        let mut events = connection.subscribe();
        let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(first, SyncEvent::Pong { nonce: 1, .. }),
            "{first:?}"
        );
        assert_eq!(seen.recv().await.unwrap(), ClientFrame::Ping { nonce: 1 });
        let mut state = connection.watch_state();
        connection.close().await;
        assert_eq!(*state.borrow_and_update(), SyncState::Closed);
    }

    #[tokio::test]
    async fn rejected_handshake_carries_the_close_code() {
        let (url, _seen) = fake_gateway(Some(close::TOKEN_REVOKED)).await;
        let err = connect(&url, "old", SyncOptions::default())
            .await
            .unwrap_err();
        match &err {
            SyncError::Rejected {
                close_code, code, ..
            } => {
                assert_eq!(*close_code, close::TOKEN_REVOKED);
                assert_eq!(*code, Some(ErrorCode::TokenRevoked));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(err.code(), Some(ErrorCode::TokenRevoked));
    }
}
