//! Full-text search over messages (`GET /api/v1/search`).
//!
//! Only messages in conversations the caller is a member of *now* are searched: leaving or being
//! removed from a conversation takes its messages out of the caller's results. Deleted messages are
//! never found; an edited message is found by its current text.
//!
//! `q` is Jeco's own search language ([`query`]): words, `"phrases"`, `prefix*`, `AND`/`OR`/`NOT`
//! with parentheses, and the filters `from:@user`, `in:#name`, `before:`/`after:` (dates, UTC) and
//! `has:file`. The server and the client's offline cache parse it with the same [`query`] module,
//! so a query finds the same messages online and offline. A query that does not parse or passes a
//! limit is answered with `400 invalid_query` naming the problem. Results are newest first and
//! paginated with the opaque `next_cursor`.

pub mod query;

use crate::ids::MessageId;
use crate::messages::Message;
use serde::{Deserialize, Serialize};

/// Default and largest page of hits.
pub const SEARCH_PAGE_DEFAULT: u32 = 20;
pub const SEARCH_PAGE_MAX: u32 = 100;
/// Largest query, in characters.
pub const SEARCH_QUERY_MAX: usize = query::QUERY_MAX_CHARS;

/// One piece of a snippet: highlighted pieces are the words that matched.
///
/// A snippet is a list of pieces rather than text with markup so that a client never has to parse
/// (or escape) markers out of user-written text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnippetPart {
    pub text: String,
    pub highlight: bool,
}

/// One message that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub message: Message,
    /// The part of the text around the matches, with the matches highlighted; `…` marks cuts.
    pub snippet: Vec<SnippetPart>,
}

/// `GET /api/v1/search`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The message id a cursor stands for (cursors are opaque to clients).
pub fn cursor_after(message: MessageId) -> String {
    format!("m{}", message.0)
}

/// Reads a cursor made by [`cursor_after`].
pub fn parse_cursor(cursor: &str) -> Option<MessageId> {
    cursor.strip_prefix('m')?.parse().ok().map(MessageId)
}
