//! [`SearchStore`] on SQLite: FTS5 over `messages.body`.
//!
//! `messages_fts` is an external-content FTS5 table (migration 0004, rebuilt by 0008): the text is
//! stored once, in `messages`, and the index is updated in the same transaction as every insert
//! (by the send path, once per batch: migration 0007), edit and delete (triggers), so search can
//! never disagree with history. It has a prefix index for 2- and 3-character prefixes
//! (`prefix = '2 3'`, migration 0008): without it `ka*` expands to every term starting with `ka`
//! and merges all their position lists before the first result (151 ms at a million messages). rusqlite's `bundled` feature compiles SQLite
//! with `SQLITE_ENABLE_FTS5` (libsqlite3-sys' build script sets it), so no extra feature is needed;
//! the migration would fail on a build without it.
//!
//! Membership is checked in the query itself (a join on `conversation_members` for the searcher),
//! so a removed member stops finding a conversation's messages the moment they are removed.
//!
//! Results are ordered (and paged) by the FTS table's own `rowid` — the message id — rather than by
//! `messages.id`: FTS5 can then walk its index newest first and stop at the page size, instead of
//! materializing and sorting every match (a common word matches most of a million messages).

use super::messages::{MESSAGE_COLUMNS, complete, message_from_row};
use super::{SqliteStorage, backend};
use crate::storage::search::{HIGHLIGHT_END, HIGHLIGHT_START};
use crate::storage::{MessageSearch, SearchHitRecord, SearchStore, StorageError};
use async_trait::async_trait;
use rusqlite::params;

/// Tokens of context in a snippet.
const SNIPPET_TOKENS: i64 = 16;

/// Errors that come from the text of a MATCH expression rather than from our SQL: FTS5 reports
/// syntax errors ("fts5: syntax error near …"), unknown columns in a column filter ("no such
/// column: …") and bad special queries as plain `SQLITE_ERROR`.
fn query_error(e: rusqlite::Error) -> StorageError {
    match &e {
        rusqlite::Error::SqliteFailure(f, Some(message))
            if f.code == rusqlite::ErrorCode::Unknown =>
        {
            StorageError::InvalidQuery(message.clone())
        }
        _ => backend(e),
    }
}

#[async_trait]
impl SearchStore for SqliteStorage {
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS},
                         snippet(messages_fts, 0, ?1, ?2, '…', {SNIPPET_TOKENS})
                     FROM messages_fts
                     JOIN messages m ON m.id = messages_fts.rowid
                     JOIN conversation_members cm
                         ON cm.conversation_id = m.conversation_id AND cm.user_id = ?3
                     WHERE messages_fts MATCH ?4
                       AND m.deleted_at IS NULL
                       AND (?5 IS NULL OR m.conversation_id = ?5)
                       AND (?6 IS NULL OR m.sender_id = ?6)
                       AND (?7 IS NULL OR m.created_at >= ?7)
                       AND (?8 IS NULL OR m.created_at < ?8)
                       AND (?9 IS NULL OR messages_fts.rowid < ?9)
                     ORDER BY messages_fts.rowid DESC
                     LIMIT ?10"
                );
                let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(
                        params![
                            HIGHLIGHT_START.to_string(),
                            HIGHLIGHT_END.to_string(),
                            search.user.0,
                            search.query.to_fts5(),
                            search.conversation.map(|c| c.0),
                            search.author.map(|u| u.0),
                            search.after_ms,
                            search.before_ms,
                            search.older_than.map(|m| m.0),
                            search.limit
                        ],
                        |r| Ok((message_from_row(r)?, r.get::<_, String>(15)?)),
                    )
                    .map_err(query_error)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(query_error)?;
                let (mut messages, snippets): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
                complete(c, &mut messages)?;
                Ok(messages
                    .into_iter()
                    .zip(snippets)
                    .map(|(message, snippet)| SearchHitRecord { message, snippet })
                    .collect())
            })
            .await
    }
}
