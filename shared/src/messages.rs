//! Messages (`/api/v1/conversations/{id}/messages/*`): send, history, threads, edits, deletes,
//! reactions and pins.
//!
//! Every send carries a client-generated `client_id`. The server keeps (sender, client_id) unique,
//! so a send retried after a lost answer returns the original message instead of a second copy.

use crate::ids::{AttachmentId, ConversationId, MessageId, UserId};
use crate::media::Attachment;
use serde::{Deserialize, Serialize};

/// Default largest message text, in characters (servers may configure another).
pub const MESSAGE_MAX_CHARS_DEFAULT: usize = 4000;
/// Largest `client_id`, in bytes.
pub const CLIENT_ID_MAX: usize = 64;
/// Largest reaction emoji (or short code), in characters.
pub const EMOJI_MAX: usize = 32;
/// Most repliers a message names in [`Message::last_repliers`].
pub const THREAD_REPLIERS_MAX: usize = 3;
/// Default and largest page of the Threads view ([`ThreadList`]).
pub const THREAD_LIST_DEFAULT: u32 = 50;
pub const THREAD_LIST_MAX: u32 = 200;
/// Default and largest history page.
pub const MESSAGE_PAGE_DEFAULT: u32 = 50;
pub const MESSAGE_PAGE_MAX: u32 = 200;

/// Who a message mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mentions {
    /// Members named with `@username`.
    pub user_ids: Vec<UserId>,
    /// `@channel`: everyone in the conversation.
    pub channel: bool,
    /// `@here`: everyone in the conversation who is online.
    pub here: bool,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reaction {
    pub emoji: String,
    pub count: u32,
    /// Who reacted, in the order they did.
    pub user_ids: Vec<UserId>,
}

/// A message as stored now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// Position of the event that created it.
    pub seq: i64,
    pub sender_id: UserId,
    /// The sender's idempotency key.
    pub client_id: String,
    /// Empty when deleted.
    pub text: String,
    pub reply_to: Option<MessageId>,
    /// A thread reply that stays in its thread: channel history leaves it out (the thread and its
    /// root's `reply_count` still have it). The sender decides, per reply ("Also send to
    /// #channel" unticked). Absent from older servers, which showed every reply in the channel.
    #[serde(default)]
    pub thread_only: bool,
    /// Replies in this message's thread, in the channel or not.
    pub reply_count: u32,
    /// Who replied in this message's thread, the most recent replier first, at most
    /// [`THREAD_REPLIERS_MAX`] (for "3 replies · Ada, Bob" under the root). Absent from older servers.
    #[serde(default)]
    pub last_repliers: Vec<UserId>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted: bool,
    pub pinned: bool,
    pub mentions: Mentions,
    pub reactions: Vec<Reaction>,
    /// Files, images and voice notes, in the order they were sent. Absent from older servers;
    /// empty when deleted.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// `POST /api/v1/conversations/{id}/messages`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// Client-generated idempotency key (for example a UUID), at most 64 bytes.
    pub client_id: String,
    /// May be empty when the message has attachments.
    #[serde(default)]
    pub text: String,
    /// Reply in the thread of this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// With `reply_to`: keep the reply in the thread, out of the channel's history (see
    /// [`Message::thread_only`]). Refused without `reply_to`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thread_only: bool,
    /// Completed uploads of the sender to attach (at most
    /// [`ATTACHMENTS_PER_MESSAGE_MAX`](crate::media::ATTACHMENTS_PER_MESSAGE_MAX)), in display
    /// order. Each upload can be attached to one message only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment_ids: Vec<AttachmentId>,
}

/// `PATCH /api/v1/conversations/{id}/messages/{mid}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub text: String,
}

/// `POST /api/v1/conversations/{id}/messages/{mid}/reactions`: toggles the caller's reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    pub emoji: String,
    /// `true`: make sure the caller's reaction is there; `false`: make sure it is not. Omitted: toggle.
    /// Clients that may retry (an offline outbox) set it, so a repeated request changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<bool>,
}

/// The answer to a reaction toggle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReactionToggled {
    /// `true` when the reaction was added, `false` when it was removed.
    pub added: bool,
    /// The message's reactions afterwards.
    pub reactions: Vec<Reaction>,
}

/// A page of messages in `seq` order (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessagePage {
    pub items: Vec<Message>,
    /// There are older messages than the first item.
    pub has_more_before: bool,
    /// There are newer messages than the last item.
    pub has_more_after: bool,
}

/// A thread root's tally after one of its replies changed: how many replies are not deleted and
/// who wrote them (each replier once, newest first), as [`Message::reply_count`] and
/// [`Message::last_repliers`] read at that event. Carried by `message_deleted` so a client that
/// never held the deleted reply (thread-only replies are not in a channel's page) still shows the
/// root as the server counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadTally {
    pub root: MessageId,
    pub reply_count: u32,
    pub last_repliers: Vec<UserId>,
}

/// A thread the caller takes part in, for the Threads view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadSummary {
    /// The thread's root, with its `reply_count` and `last_repliers`.
    pub root: Message,
    /// When the newest reply was sent.
    pub last_reply_at: String,
}

/// `GET /api/v1/threads`: the threads the caller started or replied to (with at least one reply,
/// in conversations the caller is in), newest activity first (`?limit=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThreadList {
    pub items: Vec<ThreadSummary>,
}
