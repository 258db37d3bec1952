//! "Export my data": what the zip from `GET /api/v1/users/me/export` holds.
//!
//! The archive is for the person it belongs to, and for any tool they take it to, so its JSON is
//! described here once: the server writes these types and clients (and tests) read them.
//!
//! - `profile.json` — [`ExportProfile`]: the profile, the email address, when the export was made.
//! - `messages.json` — a JSON array of [`ExportedMessage`], oldest first: every message the user
//!   wrote that is not deleted, in every conversation, including ones they have left. Other
//!   people's messages are not in it (not even the parents of the user's thread replies: only
//!   their ids).
//! - `files/<attachment id>-<name>` — the bytes of each file the user attached to those messages
//!   (`<name>` made safe for a path, see [`ExportedFile::path`]).
//! - `avatar` — the profile picture, when there is one.

use crate::conversations::ConversationKind;
use crate::ids::{AttachmentId, ConversationId, MessageId};
use crate::users::User;
use serde::{Deserialize, Serialize};

/// The version of the archive's layout; raised when a file or field changes meaning.
pub const EXPORT_FORMAT: u32 = 1;

/// Names of the entries every export has.
pub const PROFILE_ENTRY: &str = "profile.json";
pub const MESSAGES_ENTRY: &str = "messages.json";
/// The folder of the attached files.
pub const FILES_DIR: &str = "files/";
/// The profile picture, when there is one.
pub const AVATAR_ENTRY: &str = "avatar";

/// `profile.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProfile {
    /// [`EXPORT_FORMAT`] of the server that made it.
    pub format: u32,
    /// RFC 3339 UTC: when the export was made.
    pub exported_at: String,
    pub user: User,
    /// The verified email address, if any.
    pub email: Option<String>,
}

/// One message of `messages.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub conversation_kind: ConversationKind,
    /// The channel's or group's name; `null` for direct conversations.
    pub conversation_name: Option<String>,
    pub body: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC, when it was edited.
    pub edited_at: Option<String>,
    /// The thread this message replies to (that message may be someone else's; it is not in the
    /// export then).
    pub thread_parent: Option<MessageId>,
    /// The emoji the user reacted with on this message.
    pub my_reactions: Vec<String>,
    /// The files attached, in order; their bytes are at [`ExportedFile::path`] in the zip.
    pub attachments: Vec<ExportedFile>,
}

/// A file of an exported message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    pub id: AttachmentId,
    /// The name it was uploaded with.
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Where its bytes are in the zip: `files/<id>-<safe name>`.
    pub path: String,
}

/// The path of an attachment's bytes in the zip: `files/<id>-<name>`, with every character of
/// the name that is not a letter, digit, `.`, `-`, `_` or space replaced by `_`, leading dots
/// dropped and at most 100 characters kept — so no name can climb out of `files/` or collide
/// with another (the id is unique).
pub fn file_path(id: AttachmentId, name: &str) -> String {
    let safe: String = name
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let safe = safe.trim();
    if safe.is_empty() {
        format!("{FILES_DIR}{id}")
    } else {
        format!("{FILES_DIR}{id}-{safe}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_stay_in_their_folder() {
        assert_eq!(file_path(AttachmentId(7), "photo.png"), "files/7-photo.png");
        assert_eq!(
            file_path(AttachmentId(8), "../../etc/passwd"),
            "files/8-_.._etc_passwd"
        );
        assert_eq!(file_path(AttachmentId(9), "a/b\\c:d"), "files/9-a_b_c_d");
        assert_eq!(file_path(AttachmentId(10), "..."), "files/10");
        assert_eq!(
            file_path(AttachmentId(11), "ünï cødé.txt"),
            "files/11-ünï cødé.txt"
        );
        assert_eq!(
            file_path(AttachmentId(12), &"x".repeat(500)).len(),
            "files/12-".len() + 100
        );
    }
}
