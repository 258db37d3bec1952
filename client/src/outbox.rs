//! The offline outbox: changes made here that the server has not confirmed yet.
//!
//! Every send, edit, delete, reaction, read mark and mute goes through it, online or not, so there is
//! one path and it is always exercised. An operation is written to the cache *before* anything is
//! sent; the engine's delivery task takes items in order when the connection is live and removes
//! each once the server confirmed it. That gives the guarantees a chat user expects:
//!
//! - **Nothing is lost**: a client killed with items queued sends them after restart.
//! - **Nothing is doubled**: a send carries a `client_id` generated here and stored with it; the
//!   server answers a repeated `client_id` with the original message, so resending after a lost
//!   acknowledgement is harmless. Edits, deletes, reactions (set, not toggled) and read marks are
//!   idempotent by construction.
//! - **Order is kept** per conversation: each conversation has its own queues (see [`Lane`]:
//!   messages and the changes to them; read marks and mutes), each delivered one item at a time,
//!   oldest first. Conversations do not wait for each other.
//! - **A refusal stops its queue**: later items of the same queue wait behind a failed one
//!   (the timeline shows them as waiting) instead of overtaking it, until it is retried, edited
//!   (a failed send or edit is rewritten and gets another chance) or discarded.
//! - **Uploads run beside the queues**: a send's files upload as soon as it is queued (and the
//!   connection is live); the send itself, at the head of its queue, waits only for its own files.
//! - **Local rewrites**: editing a message that is still pending rewrites the queued send;
//!   deleting it cancels the send (and anything queued against it). Only once the send is in
//!   flight do the edit or delete queue behind it, aimed at its `client_id`.
//! - **Failures are visible**: an operation the server refuses for good (no longer a member, too
//!   long, archived) becomes `failed` with the server's code and message, and stays until retried
//!   or discarded; transient failures (network, rate limits, server errors) are retried with
//!   backoff, holding their queue.
//!
//! The queues need no column of their own: an item's queue follows from its conversation and its
//! operation's kind, and its place from its id, so the cache's schema is unchanged and a cache
//! written by an older engine is read as is.
//!
//! The shape follows matrix-rust-sdk's send queue: persisted requests, local echoes in the
//! timeline, a queue per room that an unrecoverable error stops, and media uploaded as a
//! dependency of the event that carries it. The delivery itself is [`crate::Engine`]'s
//! `deliver` module.

use jeco_shared::ids::NotificationId;
use jeco_shared::media::{Attachment, AttachmentKind};
use jeco_shared::{ConversationId, ErrorCode, MessageId};
use serde::{Deserialize, Serialize};

/// Which message an operation is about: a confirmed one, or one still being sent (by the
/// `client_id` of its send).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MessageRef {
    Id(MessageId),
    Pending(String),
}

/// A change waiting to reach the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum OutboxOp {
    Send {
        client_id: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageId>,
        /// A thread reply kept out of the channel (see `jeco_shared::messages::Message`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        thread_only: bool,
        /// Files to upload first; the message is sent once all of them are uploaded.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<PendingUpload>,
    },
    Edit {
        target: MessageRef,
        text: String,
    },
    Delete {
        target: MessageRef,
    },
    /// Set (not toggle) the user's reaction, so a retry changes nothing.
    React {
        target: MessageRef,
        emoji: String,
        add: bool,
    },
    MarkRead {
        seq: i64,
    },
    /// Mark these notifications (about this conversation) read: the engine queues them when the
    /// messages they are about were on screen in a focused window (see `Engine::set_viewing`).
    /// Marking read is idempotent, so a retry after a lost answer is harmless.
    MarkNotificationsRead {
        ids: Vec<NotificationId>,
    },
    /// Mute (or unmute) the conversation for the user: set, not toggled; the cache shows it at
    /// once, and only the newest pending one is kept.
    SetMuted {
        muted: bool,
    },
}

impl OutboxOp {
    /// The message this operation is about, if any.
    pub fn target(&self) -> Option<&MessageRef> {
        match self {
            Self::Edit { target, .. } | Self::Delete { target } | Self::React { target, .. } => {
                Some(target)
            }
            Self::Send { .. }
            | Self::MarkRead { .. }
            | Self::MarkNotificationsRead { .. }
            | Self::SetMuted { .. } => None,
        }
    }

    /// Which of its conversation's two queues the operation waits in (see [`Lane`]).
    pub fn lane(&self) -> Lane {
        match self {
            Self::Send { .. } | Self::Edit { .. } | Self::Delete { .. } | Self::React { .. } => {
                Lane::Messages
            }
            Self::MarkRead { .. } | Self::MarkNotificationsRead { .. } | Self::SetMuted { .. } => {
                Lane::Conversation
            }
        }
    }

    /// The files this operation still has to upload (a send's attachments not uploaded yet).
    pub fn uploads_left(&self) -> usize {
        match self {
            Self::Send { attachments, .. } => attachments
                .iter()
                .filter(|a| a.attachment.is_none())
                .count(),
            _ => 0,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Send { .. } => "send",
            Self::Edit { .. } => "edit",
            Self::Delete { .. } => "delete",
            Self::React { .. } => "react",
            Self::MarkRead { .. } => "mark_read",
            Self::MarkNotificationsRead { .. } => "mark_notifications_read",
            Self::SetMuted { .. } => "set_muted",
        }
    }
}

/// The queues of one conversation. Each is delivered in order and stops at a failed item; the
/// two do not wait for each other, and no conversation waits for another.
///
/// Messages and the changes to them (sends, edits, deletes, reactions) form one queue because
/// each may depend on an earlier one (an edit of a message still being sent) and because the
/// order of messages is what people read. Read marks (of messages and of notifications) and mutes are about the conversation, not
/// about any message: a read mark names a `seq` the server already gave, so it can never be
/// about a message still queued here. They form the second queue, so a read mark is not held
/// back by a message waiting for its upload or stuck behind a refusal — the issue's rule that a
/// read mark must not wait for a large upload in the same conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Messages,
    Conversation,
}

/// A file waiting to be uploaded and attached to a queued send. Progress is saved in the outbox as
/// it is made (the upload's id, then the finished attachment), so an upload interrupted by a
/// disconnect or a restart resumes where the server says it stands instead of starting over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingUpload {
    /// The engine's own copy of the file (taken when queued, so moving or deleting the original
    /// does not lose the message).
    pub path: String,
    /// The name shown to others.
    pub name: String,
    pub kind: AttachmentKind,
    pub size: u64,
    /// Hex SHA-256 of the content; the server verifies it.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
    /// The server's upload, once opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// The finished attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum OutboxState {
    /// Waiting for a live connection (or its turn).
    Pending,
    /// Handed to the server, answer not yet seen. After a restart it is sent again (safely).
    Sending,
    /// Refused for good; waits for retry or discard.
    Failed,
}

impl OutboxState {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "sending" => Self::Sending,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// Why an item failed: the server's code and message, or a local reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxError {
    pub code: ErrorCode,
    pub message: String,
}

/// One queued change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxItem {
    /// Position in the outbox (delivery order).
    pub id: i64,
    pub conversation_id: ConversationId,
    #[serde(flatten)]
    pub op: OutboxOp,
    pub state: OutboxState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OutboxError>,
    /// How many times delivery was attempted.
    pub attempts: u32,
    /// When it was queued (RFC 3339).
    pub created_at: String,
}

/// A fresh idempotency key for a send: 128 random bits, hex.
pub fn new_client_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not something a chat client can work around.
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a server refusal is worth retrying later (`true`) or final (`false`).
pub fn is_transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::RateLimited | ErrorCode::Internal | ErrorCode::TokenExpired
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_unique_hex() {
        let a = new_client_id();
        let b = new_client_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn ops_round_trip_through_json() {
        let op = OutboxOp::React {
            target: MessageRef::Pending("abc".into()),
            emoji: "👍".into(),
            add: true,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"op":"react","target":{"pending":"abc"},"emoji":"👍","add":true}"#
        );
        assert_eq!(serde_json::from_str::<OutboxOp>(&json).unwrap(), op);
    }
}
