//! Notifications (`/api/v1/notifications/*`): a persisted inbox per user.
//!
//! The server creates a notification when a direct message arrives, when someone mentions the user
//! (`@username`, or `@channel` / `@here` in a conversation they are in — `@here` only reaches members
//! online at that moment), when someone replies to their message, when someone sends them a contact
//! request or accepts theirs, when someone else adds them to a team, a private channel or a group
//! room (`added_to_team`, `added_to_conversation`; joining by invite code or joining a public
//! channel oneself notifies nobody), and once at registration (a welcome). The author of a message is never
//! notified about it, and a conversation the user muted (`PUT /conversations/{id}/mute`) creates no
//! notifications for them at all — mentions included.
//!
//! Each new notification is also pushed live as a
//! [`UserEventBody::NotificationCreated`](crate::events::UserEventBody::NotificationCreated) at the
//! user's own `seq`, so a reconnecting client catches up on them like on any user event. Marking
//! read is pushed the same way (`notification_read`, `notifications_read_all`), so every device of
//! the user agrees on what is unread.

use crate::ids::{ContactRequestId, ConversationId, MessageId, NotificationId, TeamId, UserId};
use serde::{Deserialize, Serialize};

/// Default and largest notification page.
pub const NOTIFICATION_PAGE_DEFAULT: u32 = 50;
pub const NOTIFICATION_PAGE_MAX: u32 = 200;

/// Why the user was notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Created once, at registration.
    Welcome,
    /// A new message in a direct conversation.
    DirectMessage,
    /// A message mentions the user by name, or with `@channel` / `@here`.
    Mention,
    /// A reply to one of the user's messages.
    Reply,
    /// Someone asks to become a contact.
    ContactRequest,
    /// Someone accepted the user's contact request.
    ContactAccepted,
    /// Someone else added the user to a team (`team_id`; the team's `#general` comes with it and
    /// is not notified separately).
    AddedToTeam,
    /// Someone else added the user to a private channel or a group room (`conversation_id`).
    AddedToConversation,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    /// Who caused it (the sender, the requester); `null` for the welcome.
    pub actor_id: Option<UserId>,
    /// The conversation of a message notification.
    pub conversation_id: Option<ConversationId>,
    /// The message of a message notification.
    pub message_id: Option<MessageId>,
    /// The request of a contact notification.
    pub contact_request_id: Option<ContactRequestId>,
    /// The team of an `added_to_team` notification.
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// A short text to show: the first characters of the message, or a sentence.
    pub preview: String,
    /// RFC 3339 UTC timestamp.
    pub created_at: String,
    /// When the user marked it read; `null` while unread.
    pub read_at: Option<String>,
}

/// `GET /api/v1/notifications`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    pub next_before: Option<NotificationId>,
    /// Unread notifications in total (not only on this page).
    pub unread_count: u32,
}

/// `GET /api/v1/notifications/unread-count`, and the answer to marking read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UnreadNotifications {
    pub unread_count: u32,
}

/// `PUT /api/v1/conversations/{id}/mute`: a muted conversation creates no notifications for the
/// caller (unread counts still move).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    pub muted: bool,
}

/// The caller's mute setting for one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MuteState {
    pub conversation_id: ConversationId,
    pub muted: bool,
}
