//! The limits a client needs to know before it asks the server: how long a name, a status line or
//! a bio may be, how many files one message carries, how big a profile picture may be, how often a
//! typing indicator must be repeated.
//!
//! Each value is the server's own: the constant the server enforces (or, where the server lets its
//! operator configure it, the constant its configuration defaults to). [`LIMITS`] gathers them in
//! one value so a front end receives them all together — the desktop UI as a TypeScript module
//! generated from it (`ui/src/bindings/limitValues.ts`, written by `src-tauri`'s bindings test,
//! which fails when the committed module and this value differ), so no view keeps a copy of a
//! number that could drift from what the server does.

use serde::{Deserialize, Serialize};

/// Default largest avatar image, in bytes, before the server resizes it (servers may configure
/// another: `media_avatar_max_bytes`).
pub const AVATAR_BYTES_MAX_DEFAULT: u64 = 10 * 1024 * 1024;
/// Default time a typing indicator lasts without being repeated, in milliseconds (servers may
/// configure another: `typing_timeout_ms`).
pub const TYPING_TIMEOUT_MS_DEFAULT: u64 = 6000;
/// How often a client repeats "typing" while the person types: half the expiry, so one lost or
/// late repeat does not end the indicator on the others' screens.
pub const TYPING_REPEAT_MS: u64 = TYPING_TIMEOUT_MS_DEFAULT / 2;

/// The limits a client checks before asking the server (the server checks them again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Limits {
    /// Longest display name, in characters.
    pub display_name_max: u32,
    /// Longest status line, in characters.
    pub status_text_max: u32,
    /// Longest bio, in characters.
    pub bio_max: u32,
    /// Largest profile picture file, in bytes (the server's default).
    pub avatar_bytes_max: u64,
    /// Longest message text, in characters (the server's default).
    pub message_chars_max: u32,
    /// Most files on one message.
    pub attachments_per_message_max: u32,
    /// How often to repeat "typing" while typing, in milliseconds.
    pub typing_repeat_ms: u64,
    /// Longest team name, in characters.
    pub team_name_max: u32,
    /// Longest group or channel name, in characters.
    pub conversation_name_max: u32,
    /// Longest channel topic, in characters.
    pub topic_max: u32,
    /// Longest password, in characters.
    pub password_max: u32,
    /// Digits of an email verification code.
    pub email_code_len: u32,
}

/// The limits of this protocol version (see the module doc).
pub const LIMITS: Limits = Limits {
    display_name_max: crate::auth::DISPLAY_NAME_MAX as u32,
    status_text_max: crate::users::STATUS_TEXT_MAX as u32,
    bio_max: crate::users::BIO_MAX as u32,
    avatar_bytes_max: AVATAR_BYTES_MAX_DEFAULT,
    message_chars_max: crate::messages::MESSAGE_MAX_CHARS_DEFAULT as u32,
    attachments_per_message_max: crate::media::ATTACHMENTS_PER_MESSAGE_MAX as u32,
    typing_repeat_ms: TYPING_REPEAT_MS,
    team_name_max: crate::teams::TEAM_NAME_MAX as u32,
    conversation_name_max: crate::conversations::NAME_MAX as u32,
    topic_max: crate::teams::TOPIC_MAX as u32,
    password_max: crate::auth::PASSWORD_MAX as u32,
    email_code_len: crate::account::EMAIL_CODE_LEN as u32,
};

// A repeat must come well before the expiry it keeps off (checked when compiling).
const _: () = assert!(TYPING_REPEAT_MS * 2 <= TYPING_TIMEOUT_MS_DEFAULT);
