//! WebSocket frames of the gateway at `GET /api/v1/ws`.
//!
//! Every frame is one JSON text message with a `type` tag. The connection goes:
//!
//! 1. The client opens the socket. It may put its access token in the `Sec-WebSocket-Protocol`
//!    header as [`SUBPROTOCOL`] plus [`AUTH_SUBPROTOCOL_PREFIX`]`<token>` (the server answers with
//!    [`SUBPROTOCOL`] alone); tokens never go in the query string, which ends up in logs.
//! 2. The client's first frame is [`ClientFrame::Hello`] with its protocol version and — unless it used
//!    the header — its token. The server answers [`ServerFrame::Ready`], or closes with one of the
//!    [`close`] codes so the client knows whether to refresh its token, sign out, or upgrade.
//! 3. The client sends [`ClientFrame::Ping`] every `heartbeat_interval_ms`; a connection silent for
//!    `idle_timeout_ms` is closed with [`close::HEARTBEAT_TIMEOUT`]. The server also sends WebSocket
//!    pings, which every WebSocket library answers by itself.
//!
//! A frame the server cannot accept (malformed, unknown type, too large) gets a
//! [`ServerFrame::Error`] and the connection stays open.

use crate::error::ErrorCode;
use crate::ids::SessionId;
use crate::users::User;
use serde::{Deserialize, Serialize};

/// The subprotocol name both sides agree on.
pub const SUBPROTOCOL: &str = "jeco.v1";
/// Prefix of the subprotocol entry that carries the access token.
pub const AUTH_SUBPROTOCOL_PREFIX: &str = "jeco.auth.";

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// First frame of a connection.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        protocol: String,
        /// Access token, unless it was sent in `Sec-WebSocket-Protocol`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Free-form client name and version, for the server's logs ("jeco-desktop/0.1.0").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// Application heartbeat; answered with [`ServerFrame::Pong`] carrying the same nonce.
    Ping {
        #[serde(default)]
        nonce: u64,
    },
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The handshake succeeded.
    Ready {
        /// The server's [`crate::PROTOCOL_VERSION`].
        protocol: String,
        server_version: String,
        user: User,
        session_id: SessionId,
        /// How often the client should send [`ClientFrame::Ping`].
        heartbeat_interval_ms: u64,
        /// A connection silent this long is closed.
        idle_timeout_ms: u64,
    },
    Pong {
        nonce: u64,
    },
    /// A frame was refused; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        /// The `type` of the client frame this answers, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<String>,
    },
}

/// WebSocket close codes (4000–4999 are for applications) and what a client should do on each.
pub mod close {
    /// No hello within the handshake timeout. Reconnect.
    pub const HANDSHAKE_TIMEOUT: u16 = 4000;
    /// The token is malformed or its signature is wrong. Sign in again.
    pub const TOKEN_INVALID: u16 = 4001;
    /// The token has expired. Refresh it and reconnect.
    pub const TOKEN_EXPIRED: u16 = 4002;
    /// The session was logged out or revoked. Sign in again.
    pub const TOKEN_REVOKED: u16 = 4003;
    /// The client's protocol major version is not the server's. Upgrade.
    pub const PROTOCOL_MISMATCH: u16 = 4004;
    /// Nothing was heard from the client within the idle timeout. Reconnect.
    pub const HEARTBEAT_TIMEOUT: u16 = 4005;
    /// The client read too slowly and its outbound queue filled up. Reconnect and resume.
    pub const SLOW_CONSUMER: u16 = 4006;
    /// The first frame was not a hello (or no token was given). Fix the client.
    pub const HANDSHAKE_REQUIRED: u16 = 4007;
    /// The server is shutting down (standard "going away"). Reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_frame_type_is_an_error() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
        let f: ClientFrame = serde_json::from_str(r#"{"type":"ping","nonce":7}"#).unwrap();
        assert_eq!(f, ClientFrame::Ping { nonce: 7 });
    }
}
