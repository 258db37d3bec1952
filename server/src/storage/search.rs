//! Full-text search over messages.
//!
//! The backend keeps its index in step with every send, edit and delete inside the transaction of
//! the change (on SQLite: FTS5 with triggers), and restricts results to conversations the searcher
//! is a member of at query time.
//!
//! The service parses the query (Jeco's language, `jeco_shared::search::query`) and hands the
//! backend plain facts: the text tree to render in the backend's own full-text syntax, and the
//! filters as values the backend applies *in its query* (never by filtering a page afterwards,
//! which would return short or empty pages while older matches exist).

use super::StorageError;
use super::messages::MessageRecord;
use crate::search_query::TextQuery;
use async_trait::async_trait;
use jeco_shared::{ConversationId, MessageId, UserId};

/// Opens and closes a highlighted match inside [`SearchHitRecord::snippet`]. Private-use
/// characters, which the service turns into structured snippet parts.
pub const HIGHLIGHT_START: char = '\u{E000}';
pub const HIGHLIGHT_END: char = '\u{E001}';

#[derive(Debug, Clone)]
pub struct MessageSearch {
    pub user: UserId,
    /// The words to match, parsed; each backend renders the tree in its own syntax. `None`: a
    /// query of filters only — every message that passes them, newest first, with the start of
    /// its text as the snippet.
    pub text: Option<TextQuery>,
    pub conversation: Option<ConversationId>,
    pub author: Option<UserId>,
    /// Sent by a user with any of these usernames (lower case); empty: anyone (`from:`).
    pub from_usernames: Vec<String>,
    /// In a channel or group with any of these names, compared case-insensitively; empty:
    /// anywhere (`in:`).
    pub in_names: Vec<String>,
    /// Only messages with at least one attachment (`has:file`).
    pub has_file: bool,
    /// `created_at >= after_ms`
    pub after_ms: Option<i64>,
    /// `created_at < before_ms`
    pub before_ms: Option<i64>,
    /// Only messages older than this one (the page cursor).
    pub older_than: Option<MessageId>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct SearchHitRecord {
    pub message: MessageRecord,
    /// Text around the matches, matches between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`].
    pub snippet: String,
}

#[async_trait]
pub trait SearchStore: Send + Sync + 'static {
    /// Matching messages, newest first. A query the backend still refuses (it should not: the
    /// rendering quotes every term) is [`StorageError::InvalidQuery`], whose text the service
    /// never shows to the client.
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError>;
}
