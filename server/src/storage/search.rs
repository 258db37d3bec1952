//! Full-text search over messages.
//!
//! The backend keeps its index in step with every send, edit and delete inside the transaction of
//! the change (on SQLite: FTS5 with triggers), and restricts results to conversations the searcher
//! is a member of at query time.

use super::StorageError;
use super::messages::MessageRecord;
use crate::search_query::SearchQuery;
use async_trait::async_trait;
use jeco_shared::{ConversationId, MessageId, UserId};

/// Opens and closes a highlighted match inside [`SearchHitRecord::snippet`]. Private-use
/// characters, which the service turns into structured snippet parts.
pub const HIGHLIGHT_START: char = '\u{E000}';
pub const HIGHLIGHT_END: char = '\u{E001}';

#[derive(Debug, Clone)]
pub struct MessageSearch {
    pub user: UserId,
    /// The parsed query; each backend renders it in its own syntax.
    pub query: SearchQuery,
    pub conversation: Option<ConversationId>,
    pub author: Option<UserId>,
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
    /// rendering quotes every term) is [`StorageError::InvalidQuery`].
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError>;
}
