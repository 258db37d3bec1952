//! # jeco-shared — the Jeco Chat wire protocol
//!
//! Every byte that crosses between a Jeco client and a Jeco server is described by a type in this
//! crate: REST request and response bodies ([`auth`], [`account`], [`users`], [`conversations`], [`messages`],
//! [`contacts`], [`notifications`], [`search`], [`media`], [`health`]), the limits a client checks
//! before asking ([`limits`]) and the one typed list of
//! endpoints that ties each route to its bodies ([`endpoints`]), the one error shape ([`error`]), the stored events with their positions
//! ([`events`]), and the WebSocket frames ([`ws`]). The server and the client engine both depend on it,
//! so a change to the protocol is a change in one place, and the snapshot tests in `tests/` make every
//! change to the serialized form deliberate.
//!
//! Types only: serde and nothing else — no I/O, no async runtime — so that any client (the desktop
//! app, the CLI, a bot, a test) can depend on it cheaply.

#![forbid(unsafe_code)]

pub mod account;
pub mod admin;
pub mod auth;
pub mod contacts;
pub mod conversations;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod export;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz;
pub mod health;
pub mod ids;
pub mod limits;
pub mod media;
pub mod messages;
pub mod notifications;
pub mod search;
pub mod teams;
pub mod two_factor;
pub mod users;
pub mod ws;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use ids::{
    AttachmentId, ContactRequestId, ConversationId, InviteId, MessageId, NotificationId, SessionId,
    TeamId, UserId,
};

/// Version of the protocol spoken by this build, `MAJOR.MINOR`.
///
/// A client and a server agree when their major versions are equal; minor versions only add
/// optional fields and frame types that an older peer may ignore.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The major part of [`PROTOCOL_VERSION`].
pub const PROTOCOL_MAJOR: u32 = 1;

/// Parses the major part of a `MAJOR.MINOR` protocol version string.
pub fn protocol_major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// Path prefix of every HTTP endpoint.
pub const API_PREFIX: &str = "/api/v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_major_parses_own_version() {
        assert_eq!(protocol_major(PROTOCOL_VERSION), Some(PROTOCOL_MAJOR));
        assert_eq!(protocol_major("2.7"), Some(2));
        assert_eq!(protocol_major("x.1"), None);
        assert_eq!(protocol_major(""), None);
    }
}
