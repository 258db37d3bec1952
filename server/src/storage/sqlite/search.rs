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
//!
//! The query arrives parsed (Jeco's search language): the text tree is rendered to FTS5 with
//! every term a quoted phrase ([`TextQuery::to_fts5`]), and each filter (`from:`, `in:`, dates,
//! `has:file`) becomes a SQL condition whose values are bound parameters, so neither the words nor
//! the filter values can be read as syntax by FTS5 or by SQL. A query of filters only has no
//! `MATCH`: it walks `messages` newest first under the same conditions.

use super::messages::{MESSAGE_COLUMNS, complete, message_from_row};
use super::{SqliteStorage, backend};
use crate::search_query::TextQuery;
use crate::storage::search::{HIGHLIGHT_END, HIGHLIGHT_START};
use crate::storage::{MessageSearch, SearchHitRecord, SearchStore, StorageError};
use async_trait::async_trait;
use rusqlite::types::Value;

/// Tokens of context in a snippet.
const SNIPPET_TOKENS: i64 = 16;
/// Characters of text shown for a hit of a filters-only query (nothing to highlight).
const PLAIN_SNIPPET_CHARS: i64 = 200;

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

/// Bound parameters, numbered in the order they are added.
#[derive(Default)]
struct Params(Vec<Value>);

impl Params {
    /// Adds a value and returns its placeholder.
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.0.push(v.into());
        format!("?{}", self.0.len())
    }

    /// Adds values and returns their placeholders, comma-separated.
    fn bind_all(&mut self, vs: &[String]) -> String {
        vs.iter()
            .map(|v| self.bind(v.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The SQL of one search and its parameters. Each condition is added only when its filter is
/// given, so the statement (cached by its text) stays as simple as the query.
fn search_sql(search: &MessageSearch) -> (String, Vec<Value>) {
    let mut p = Params::default();
    let member = p.bind(search.user.0);
    // Paging and ordering by the FTS rowid when there is a MATCH (see the module docs).
    let (select, from, mut conds, id) = match &search.text {
        Some(text) => {
            let (start, end) = (
                p.bind(HIGHLIGHT_START.to_string()),
                p.bind(HIGHLIGHT_END.to_string()),
            );
            let q = p.bind(TextQuery::to_fts5(text));
            (
                format!("snippet(messages_fts, 0, {start}, {end}, '…', {SNIPPET_TOKENS})"),
                "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
                vec![format!("messages_fts MATCH {q}")],
                "messages_fts.rowid",
            )
        }
        None => (
            format!(
                "CASE WHEN length(m.body) > {PLAIN_SNIPPET_CHARS}
                     THEN substr(m.body, 1, {PLAIN_SNIPPET_CHARS}) || '…' ELSE m.body END"
            ),
            "messages m",
            Vec::new(),
            "m.id",
        ),
    };
    conds.push("m.deleted_at IS NULL".into());
    if let Some(c) = search.conversation {
        conds.push(format!("m.conversation_id = {}", p.bind(c.0)));
    }
    if let Some(u) = search.author {
        conds.push(format!("m.sender_id = {}", p.bind(u.0)));
    }
    if !search.from_usernames.is_empty() {
        let names = p.bind_all(&search.from_usernames);
        conds.push(format!(
            "m.sender_id IN (SELECT id FROM users WHERE username IN ({names}))"
        ));
    }
    if !search.in_names.is_empty() {
        // Names compare case-insensitively (SQLite's lower(): ASCII letters), as the client's
        // cache does, so `in:#General` finds #general on both.
        let names: Vec<String> = search
            .in_names
            .iter()
            .map(|n| format!("lower({})", p.bind(n.clone())))
            .collect();
        conds.push(format!(
            "m.conversation_id IN (SELECT id FROM conversations
                 WHERE kind IN ('channel', 'group') AND lower(name) IN ({}))",
            names.join(", ")
        ));
    }
    if search.has_file {
        conds.push("EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)".into());
    }
    if let Some(t) = search.after_ms {
        conds.push(format!("m.created_at >= {}", p.bind(t)));
    }
    if let Some(t) = search.before_ms {
        conds.push(format!("m.created_at < {}", p.bind(t)));
    }
    if let Some(m) = search.older_than {
        conds.push(format!("{id} < {}", p.bind(m.0)));
    }
    let limit = p.bind(i64::from(search.limit));
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, {select}
         FROM {from}
         JOIN conversation_members cm
             ON cm.conversation_id = m.conversation_id AND cm.user_id = {member}
         WHERE {}
         ORDER BY {id} DESC
         LIMIT {limit}",
        conds.join("\n           AND ")
    );
    (sql, p.0)
}

#[async_trait]
impl SearchStore for SqliteStorage {
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let (sql, params) = search_sql(&search);
                let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params), |r| {
                        Ok((message_from_row(r)?, r.get::<_, String>(15)?))
                    })
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
