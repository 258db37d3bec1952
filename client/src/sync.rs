//! The sync connection's handshake and frames: one WebSocket to the gateway at `/api/v1/ws`.
//!
//! [`handshake`] opens the socket, sends `hello` with the protocol version, the access token and
//! (when resuming) the cache's positions, and waits for `ready`; it returns only once the
//! connection is live, so a caller learns about a bad token or an incompatible server at once, as
//! a typed [`SyncError`] whose [`SyncError::code`] says what to do (refresh, sign in, upgrade).
//!
//! What happens on the connection after that — catching up, resync, heartbeats, reconnecting —
//! is the engine's ([`crate::Engine`]): its sync state machine decides, its sync loop owns the
//! socket. There is one heartbeat policy, the engine's: ping only a link the server has gone
//! quiet on. (This module used to offer a second, public connection that pinged on a fixed
//! interval, the policy the protocol retired; it is gone.)

use futures_util::{SinkExt, StreamExt};
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame, close};
use jeco_shared::{ErrorCode, PROTOCOL_VERSION, SessionId};
use reqwest::Url;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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

/// A WebSocket to the gateway, as [`handshake`] returns it.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the socket, sends `hello` (with `resume` when given) and waits for `ready`, all within
/// `timeout`. `on_open` runs once the socket is open (the state moves to authenticating).
pub async fn handshake(
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

/// A client frame as a WebSocket text message.
pub fn text_frame(frame: &ClientFrame) -> Message {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// [`handshake`] with no resume and a test client name.
    async fn connect(url: &Url, token: &str) -> Result<(Socket, ReadyInfo), SyncError> {
        handshake(url, token, "unit/1", None, Duration::from_secs(10), || {}).await
    }

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
        let err = connect(&url, "token").await.unwrap_err();
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
    async fn handshake_sends_hello_and_returns_ready() {
        let (url, mut seen) = fake_gateway(None).await;
        let resume = jeco_shared::events::Resume {
            conversations: vec![jeco_shared::events::Position {
                conversation_id: jeco_shared::ConversationId(4),
                seq: 9,
            }],
            user_seq: 12,
        };
        let mut opened = false;
        let (mut socket, ready) = handshake(
            &url,
            "tok",
            "unit/1",
            Some(resume.clone()),
            Duration::from_secs(10),
            || opened = true,
        )
        .await
        .unwrap();
        assert!(opened, "on_open runs once the socket is open");
        assert_eq!(ready.user.username, "ada");
        assert_eq!(ready.session_id, SessionId(3));
        assert_eq!(ready.heartbeat_interval, Duration::from_secs(60));
        assert_eq!(ready.idle_timeout, Duration::from_secs(120));
        match seen.recv().await.unwrap() {
            ClientFrame::Hello {
                protocol,
                token,
                client,
                resume: sent,
            } => {
                assert_eq!(protocol, PROTOCOL_VERSION);
                assert_eq!(token.as_deref(), Some("tok"));
                assert_eq!(client.as_deref(), Some("unit/1"));
                assert_eq!(sent, Some(resume));
            }
            other => panic!("expected hello first, got {other:?}"),
        }
        // The socket is live: a ping is answered.
        socket
            .send(text_frame(&ClientFrame::Ping { nonce: 1 }))
            .await
            .unwrap();
        assert_eq!(seen.recv().await.unwrap(), ClientFrame::Ping { nonce: 1 });
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("a pong in time")
                .unwrap()
                .unwrap();
            if let Message::Text(text) = message {
                let frame: ServerFrame = serde_json::from_str(&text).unwrap();
                assert_eq!(frame, ServerFrame::Pong { nonce: 1 });
                break;
            }
        }
    }

    #[tokio::test]
    async fn rejected_handshake_carries_the_close_code() {
        let (url, _seen) = fake_gateway(Some(close::TOKEN_REVOKED)).await;
        let err = connect(&url, "old").await.unwrap_err();
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
