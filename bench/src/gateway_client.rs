//! A minimal, honest gateway client: one WebSocket doing what a real client does to stay online.
//!
//! [`open`] performs the documented handshake (`jeco_shared::ws`): upgrade with the `jeco.v1`
//! subprotocol, token either in `Sec-WebSocket-Protocol` or in the hello frame, then wait for
//! `ready`. [`LiveConnection::hold`] keeps it alive the way the protocol asks and the engine does —
//! answering the server's WebSocket pings (tungstenite does that while the stream is read), and an
//! application `ping` only after more than `heartbeat_interval_ms` of silence — until told to stop.
//!
//! The client is kept lean (4 KiB read buffer instead of tungstenite's 128 KiB default) because
//! one load-generator process holds up to ~20,000 of them; the server's own settings are not
//! touched, since those are what is being measured.
//!
//! Failures are reduced to short, stable reason strings ([`Failure`]) so thousands of them
//! aggregate into a few lines of a report.

use futures_util::{SinkExt, StreamExt};
use jeco_shared::events::Resume;
use jeco_shared::ws::{AUTH_SUBPROTOCOL_PREFIX, ClientFrame, SUBPROTOCOL, ServerFrame};
use jeco_shared::{API_PREFIX, PROTOCOL_VERSION};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the access token travels in the handshake (the server accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlacement {
    /// `Sec-WebSocket-Protocol: jeco.v1, jeco.auth.<token>`.
    Header,
    /// `{"type":"hello","token":…}`.
    Hello,
}

/// Why a connection could not be opened or did not survive; `Display` is a short stable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// TCP connect or socket I/O failed (`kind` of the `io::Error`, e.g. `AddrNotAvailable`).
    Io(String),
    /// The upgrade got an HTTP answer other than 101.
    Http(u16),
    /// The server closed the WebSocket (with this close code, 1005 when none).
    Closed(u16),
    /// The server sent an error frame during the handshake.
    ErrorFrame(String),
    /// The stream ended without a close frame.
    Eof,
    /// No `ready` within the handshake timeout.
    Timeout,
    /// Anything else tungstenite reports.
    Protocol(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(kind) => write!(f, "io: {kind}"),
            Failure::Http(status) => write!(f, "upgrade refused: HTTP {status}"),
            Failure::Closed(code) => write!(f, "closed by server: {code}"),
            Failure::ErrorFrame(code) => write!(f, "error frame: {code}"),
            Failure::Eof => write!(f, "connection ended without close"),
            Failure::Timeout => write!(f, "timed out waiting for ready"),
            Failure::Protocol(e) => write!(f, "websocket: {e}"),
        }
    }
}

impl From<tungstenite::Error> for Failure {
    fn from(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::Io(io) => Failure::Io(format!("{:?}", io.kind())),
            tungstenite::Error::Http(response) => Failure::Http(response.status().as_u16()),
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                Failure::Eof
            }
            other => {
                // Keep the reason short and free of per-connection detail so it aggregates.
                let text = other.to_string();
                Failure::Protocol(text.chars().take(60).collect())
            }
        }
    }
}

/// A connection that completed hello → ready.
pub struct LiveConnection {
    socket: Socket,
    /// From the server's `ready`.
    pub heartbeat_interval: Duration,
    /// From the server's `ready`: the head of the user's own event log.
    pub user_seq: i64,
}

/// What happened to a connection while it was held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    /// Still open when the hold ended.
    Held { pongs: u64 },
    /// The server (or the network) ended it.
    Lost(Failure),
}

/// The tungstenite settings of the benchmark's client side.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// Connects to the gateway at `addr`, authenticates with `token` and waits for `ready`.
pub async fn open(
    addr: SocketAddr,
    token: &str,
    placement: TokenPlacement,
) -> Result<LiveConnection, Failure> {
    // Idle connections start from the present; there is nothing to catch up on.
    open_resuming(addr, token, placement, None).await
}

/// Like [`open`], with `resume` positions in the hello: after `ready` the server replays what
/// came after them, then sends `caught_up` (read by the caller from the socket).
pub async fn open_resuming(
    addr: SocketAddr,
    token: &str,
    placement: TokenPlacement,
    resume: Option<Resume>,
) -> Result<LiveConnection, Failure> {
    let url = format!("ws://{addr}{API_PREFIX}/ws");
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::Protocol(e.to_string()))?;
    let protocols = match placement {
        TokenPlacement::Header => format!("{SUBPROTOCOL}, {AUTH_SUBPROTOCOL_PREFIX}{token}"),
        TokenPlacement::Hello => SUBPROTOCOL.to_owned(),
    };
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&protocols).map_err(|e| Failure::Protocol(e.to_string()))?,
    );
    let (mut socket, _response) =
        tokio_tungstenite::connect_async_with_config(request, Some(client_config()), true).await?;
    let hello = ClientFrame::Hello {
        protocol: PROTOCOL_VERSION.to_owned(),
        token: (placement == TokenPlacement::Hello).then(|| token.to_owned()),
        client: Some(concat!("jeco-bench/", env!("CARGO_PKG_VERSION")).to_owned()),
        resume,
    };
    socket.send(Message::text(encode(&hello))).await?;
    loop {
        match socket.next().await {
            None => return Err(Failure::Eof),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Close(frame))) => {
                return Err(Failure::Closed(frame.map_or(1005, |f| u16::from(f.code))));
            }
            Some(Ok(Message::Text(text))) => {
                match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Ready {
                        heartbeat_interval_ms,
                        user_seq,
                        ..
                    }) => {
                        return Ok(LiveConnection {
                            socket,
                            heartbeat_interval: Duration::from_millis(heartbeat_interval_ms.max(1)),
                            user_seq,
                        });
                    }
                    Ok(ServerFrame::Error { code, .. }) => {
                        return Err(Failure::ErrorFrame(code.as_str().to_owned()));
                    }
                    // Nothing but ready and errors precede ready today; later frames are ignored.
                    Ok(_) => continue,
                    Err(_) => {
                        return Err(Failure::Protocol("unreadable frame before ready".into()));
                    }
                }
            }
            Some(Ok(_)) => continue,
        }
    }
}

impl LiveConnection {
    /// The socket after `ready`, for scenarios that send and receive on it themselves.
    pub fn into_socket(self) -> Socket {
        self.socket
    }

    /// Keeps the connection alive until `stop` turns true, as the engine does: answer the
    /// server's WebSocket pings (it sends one after a heartbeat interval of silence; tungstenite
    /// answers while the stream is read) and ping only when nothing was heard for the interval and
    /// a tenth. `heartbeats` counts both: server pings answered and application pongs received.
    pub async fn hold(mut self, mut stop: watch::Receiver<bool>) -> HoldOutcome {
        let silence = self.heartbeat_interval + self.heartbeat_interval / 10;
        let mut last_heard = Instant::now();
        let mut nonce = 0u64;
        let mut heartbeats = 0u64;
        loop {
            tokio::select! {
                _ = stopped(&mut stop) => return HoldOutcome::Held { pongs: heartbeats },
                () = tokio::time::sleep_until(last_heard + silence) => {
                    nonce += 1;
                    last_heard = Instant::now();
                    let ping = encode(&ClientFrame::Ping { nonce });
                    if let Err(e) = self.socket.send(Message::text(ping)).await {
                        return HoldOutcome::Lost(e.into());
                    }
                }
                message = self.socket.next() => {
                    last_heard = Instant::now();
                    match message {
                        None => return HoldOutcome::Lost(Failure::Eof),
                        Some(Err(e)) => return HoldOutcome::Lost(e.into()),
                        Some(Ok(Message::Close(frame))) => {
                            return HoldOutcome::Lost(Failure::Closed(frame.map_or(1005, |f| u16::from(f.code))));
                        }
                        Some(Ok(Message::Text(text))) => {
                            if matches!(serde_json::from_str(text.as_str()), Ok(ServerFrame::Pong { .. })) {
                                heartbeats += 1;
                            }
                        }
                        // Answered by tungstenite on this or the next read.
                        Some(Ok(Message::Ping(_))) => heartbeats += 1,
                        Some(Ok(_)) => {}
                    }
                },
            }
        }
    }
}

/// Resolves once `stop` is true (the borrow of the value ends here, keeping callers `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn encode(frame: &ClientFrame) -> String {
    // Our own enum of strings and numbers always serializes.
    serde_json::to_string(frame).unwrap_or_default()
}
