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
//! 3. **Heartbeats.** The server sends a WebSocket ping to a connection it has heard nothing from
//!    for `heartbeat_interval_ms`; every WebSocket library answers it by itself. A connection silent
//!    for `idle_timeout_ms` is closed with [`close::HEARTBEAT_TIMEOUT`]. So a client hears something
//!    at least every interval (plus about a twenty-fifth of it: pings go out in bursts); one that
//!    heard nothing for longer may check its link with [`ClientFrame::Ping`], answered with
//!    [`ServerFrame::Pong`]. Clients need not ping on their own otherwise (they used to, every
//!    interval; a server with many idle connections is cheaper pinging them in bursts).
//!
//! 4. **Resume.** A reconnecting client puts its last positions ([`crate::events::Resume`]) in the
//!    hello. After `ready` the server replays, in order and exactly once, every conversation event
//!    after those positions and every user event after `user_seq`, then sends
//!    [`ServerFrame::CaughtUp`]. A conversation (or the user log) that is too far behind gets
//!    [`ServerFrame::Resync`] instead of its events: reload it over REST and continue from the given
//!    `seq`. A client without a resume starts from the present: no replay, no `caught_up`.
//!    Exactly once holds for any hello: a conversation listed more than once is replayed once, from
//!    the **earliest** position listed for it (so nothing the client may lack is skipped; events
//!    at positions it already has are applied idempotently by position). Positions below 0 count
//!    as 0, positions before the user joined as the joining event, positions at or past the head
//!    replay nothing, and conversations the user is not in are ignored (the user log says why).
//! 5. **Live.** One connection carries every conversation the user is in:
//!    - [`ServerFrame::Event`] — a stored change at `conversation_id`/`seq` (messages created,
//!      edited, deleted; reactions; pins; read receipts; members added or removed; renames). Events
//!      of one conversation arrive in `seq` order without gaps or duplicates.
//!    - [`ServerFrame::UserEvent`] — a change addressed to this user at its own `seq` (added to or
//!      removed from a conversation).
//!    - [`ServerFrame::Typing`] and [`ServerFrame::Presence`] — ephemeral, never stored, no position.
//!
//! Client actions after `ready`:
//! - [`ClientFrame::Send`] posts a message. The answer is [`ServerFrame::Ack`] (after the message is
//!   committed) or an error frame carrying the same `client_id`. Resending the same `client_id`
//!   returns the original message, never a second one.
//!   A client may send several without waiting (the server runs up to 32 of one connection at
//!   once and stops reading it while that many are in flight): answers then come **in any
//!   order**, matched by `client_id` — also relative to other frames' answers (a `pong` may
//!   overtake an earlier send's ack) — and sends in flight together may be stored in either
//!   order. Where order matters, send the next after the previous one's answer.
//! - [`ClientFrame::Typing`] (`active` true/false; the server ends it by itself after a few seconds),
//!   [`ClientFrame::MarkRead`] (a read receipt to the other members), [`ClientFrame::SetPresence`]
//!   (online/away for this connection).
//!
//! A frame the server cannot accept (malformed, unknown type, too large, an unknown or inaccessible
//! conversation, a rate limit) gets a [`ServerFrame::Error`] and the connection stays open.
//! A frame that breaks the WebSocket protocol itself is different: the server closes the
//! connection with the RFC 6455 code that names the violation — [`close::PROTOCOL_ERROR`] (1002),
//! [`close::INVALID_PAYLOAD`] (1007) or [`close::MESSAGE_TOO_BIG`] (1009) — never with an empty
//! close frame (which a client would see as 1005, "no status").

use crate::error::ErrorCode;
use crate::events::{ConversationEvent, PresenceStatus, Resume, UserEvent};
use crate::ids::{AttachmentId, ConversationId, MessageId, SessionId, UserId};
use crate::messages::Message;
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
        /// Positions to resume from after a reconnect.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
    },
    /// Application heartbeat; answered with [`ServerFrame::Pong`] carrying the same nonce.
    Ping {
        #[serde(default)]
        nonce: u64,
    },
    /// Send a message; answered with [`ServerFrame::Ack`] or an error frame with this `client_id`.
    Send {
        conversation_id: ConversationId,
        /// Idempotency key, at most 64 bytes.
        client_id: String,
        /// May be empty when the message has attachments.
        #[serde(default)]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageId>,
        /// Keep the reply in its thread (see `SendMessageRequest::thread_only`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        thread_only: bool,
        /// Completed uploads to attach (see `SendMessageRequest::attachment_ids`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachment_ids: Vec<AttachmentId>,
    },
    /// Start (`true`) or stop (`false`) typing. Typing ends by itself after a few seconds; repeat
    /// `true` while the user keeps typing.
    Typing {
        conversation_id: ConversationId,
        active: bool,
    },
    /// Everything up to `seq` in the conversation has been read.
    MarkRead {
        conversation_id: ConversationId,
        seq: i64,
    },
    /// This connection's presence: `online` or `away` (`offline` is refused).
    SetPresence { status: PresenceStatus },
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
        /// The server pings a connection silent this long (see the module docs, step 3).
        heartbeat_interval_ms: u64,
        /// A connection silent this long is closed.
        idle_timeout_ms: u64,
        /// The head of the user's own event log when this connection started. User events after it
        /// arrive on this connection (after the replay, when resuming). A client starting without
        /// a resume keeps it as its `user_seq`, and loads its conversations over REST.
        #[serde(default)]
        user_seq: i64,
        /// This server's limits, as its operator configured them (the protocol's defaults,
        /// [`crate::limits::LIMITS`], from a server that does not send them).
        #[serde(default)]
        limits: crate::limits::Limits,
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
        /// For a refused `send`: its `client_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// A `send` was committed (or had been, for a retry). Only the sender's connection gets it.
    Ack {
        client_id: String,
        message: Message,
    },
    /// A stored change in a conversation.
    Event(ConversationEvent),
    /// A stored change addressed to this user.
    UserEvent(UserEvent),
    /// The replay requested by the hello's resume is complete; what follows is live.
    CaughtUp,
    /// Too far behind to replay: reload this conversation (or, without `conversation_id`, the
    /// conversation list) over REST; events continue after `seq`.
    Resync {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        seq: i64,
    },
    /// Someone started or stopped typing. `active: true` lapses after `expires_in_ms`.
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
        active: bool,
        expires_in_ms: u64,
    },
    /// A user's presence changed.
    Presence {
        user_id: UserId,
        status: PresenceStatus,
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
    /// The account's owner ended this session from another one ("sign out" of a listed session,
    /// "sign out my other sessions", a password change that signs out the others) or reset the
    /// password, which ends every session. Distinct from [`TOKEN_REVOKED`] (this session's own
    /// logout, or a stolen refresh token) so a client can say why. Sign in again; the refresh
    /// token no longer works.
    pub const SIGNED_OUT: u16 = 4008;
    /// A server admin deactivated the account: every session ended and the account cannot sign
    /// in until an admin reactivates it. Distinct from [`SIGNED_OUT`] so a client can say so
    /// instead of offering to sign in again. The refresh token no longer works.
    pub const DEACTIVATED: u16 = 4009;
    /// The server is shutting down (standard "going away"). Reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// This instance is draining (standard "service restart"): it was asked to stop (SIGTERM,
    /// a deploy, a rolling restart) and closes its sockets once their sends in flight are
    /// answered. Reconnect at once and resume: behind a load balancer the new connection reaches
    /// another instance, and positions make the resume exactly-once.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The client broke the WebSocket protocol itself (RFC 6455 §7.4.1 "protocol error"): an
    /// unmasked frame, reserved bits set, a reserved opcode, a control frame over 125 bytes or
    /// fragmented, a continuation without a start. A bug in the client's WebSocket library; do not
    /// retry in a loop.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame (or a close reason) that is not valid UTF-8 (RFC 6455 §7.4.1 "invalid frame
    /// payload data"). Fix the client.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame or message over the transport cap (RFC 6455 §7.4.1 "message too big"): four times
    /// `max_frame_bytes`, at least 256 KiB. Frames between `max_frame_bytes` and this cap get a
    /// `frame_too_large` error frame instead and the connection stays open.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// An unexpected failure on the server (standard "internal error"). Reconnect with backoff.
    pub const INTERNAL_ERROR: u16 = 1011;
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
