//! Local full-text search over cached messages (FTS5), offline and instant.
//!
//! The query is Jeco's own search language, parsed by `jeco_shared::search::query` — the same
//! parser the server uses — so a query finds the same messages here as on the server (as far as
//! the cache holds them). This module translates the parsed query into the cache's SQL: the text
//! tree into FTS5 with every term a quoted phrase ([`TextQuery::to_fts5`]), so nothing typed can be
//! FTS5 syntax, and each filter into a condition on the cached rows with bound values:
//! `from:` on the sender's username in the cached users, `in:` on the conversation's name
//! (case-insensitive for ASCII letters, as on the server), `before:`/`after:` on the UTC day of
//! `created_at`, `has:file` on the message's attachments. Filters are part of the query, so a page
//! is full whenever enough cached messages match. Snippets mark the matching words the way the
//! server's search does, so the UI renders both alike.

use super::{Cache, Result};
use jeco_shared::ConversationId;
use jeco_shared::messages::Message;
use jeco_shared::search::SnippetPart;
use jeco_shared::search::query::{SearchQuery, TextQuery};
use rusqlite::types::Value;

/// A cached message matching a local search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHit {
    pub message: Message,
    pub snippet: Vec<SnippetPart>,
}

const START: char = '\u{2}';
const END: char = '\u{3}';
/// Characters of text shown for a hit of a filters-only query (nothing to highlight).
const PLAIN_SNIPPET_CHARS: i64 = 200;

fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut highlight = false;
    for c in marked.chars() {
        if c == START || c == END {
            if !text.is_empty() {
                parts.push(SnippetPart {
                    text: std::mem::take(&mut text),
                    highlight,
                });
            }
            highlight = c == START;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        parts.push(SnippetPart { text, highlight });
    }
    parts
}

/// Bound parameters, numbered in the order they are added.
#[derive(Default)]
struct Params(Vec<Value>);

impl Params {
    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.0.push(v.into());
        format!("?{}", self.0.len())
    }
}

/// The cache's SQL for a parsed query, and its parameters.
fn search_sql(
    query: &SearchQuery,
    conversation: Option<ConversationId>,
    limit: u32,
) -> (String, Vec<Value>) {
    let mut p = Params::default();
    let f = &query.filters;
    // Ordered by the FTS table's own rowid (= message id) when there is a MATCH: FTS5 walks its
    // index newest first and stops after `limit`, so snippets are made for the shown hits only.
    let (select, from, mut conds, id) = match &query.text {
        Some(text) => {
            let q = p.bind(TextQuery::to_fts5(text));
            (
                "snippet(messages_fts, 0, char(2), char(3), '…', 12)".to_owned(),
                "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
                vec![format!("messages_fts MATCH {q}")],
                "messages_fts.rowid",
            )
        }
        None => (
            format!(
                "CASE WHEN length(m.text) > {PLAIN_SNIPPET_CHARS}
                     THEN substr(m.text, 1, {PLAIN_SNIPPET_CHARS}) || '…' ELSE m.text END"
            ),
            "messages m",
            Vec::new(),
            "m.id",
        ),
    };
    conds.push("NOT json_extract(m.json, '$.deleted')".to_owned());
    if let Some(c) = conversation {
        conds.push(format!("m.conversation_id = {}", p.bind(c.0)));
    }
    if !f.from.is_empty() {
        let names: Vec<String> = f.from.iter().map(|u| p.bind(u.clone())).collect();
        conds.push(format!(
            "json_extract(m.json, '$.sender_id') IN
                 (SELECT id FROM users WHERE lower(username) IN ({}))",
            names.join(", ")
        ));
    }
    if !f.in_names.is_empty() {
        let names: Vec<String> = f
            .in_names
            .iter()
            .map(|n| format!("lower({})", p.bind(n.clone())))
            .collect();
        conds.push(format!(
            "m.conversation_id IN (SELECT id FROM conversations
                 WHERE json_extract(json, '$.kind') IN ('channel', 'group')
                   AND lower(json_extract(json, '$.name')) IN ({}))",
            names.join(", ")
        ));
    }
    // `created_at` is the server's RFC 3339 time in UTC, so its first ten characters are the day.
    if let Some(d) = f.before {
        conds.push(format!(
            "substr(m.created_at, 1, 10) < {}",
            p.bind(d.to_string())
        ));
    }
    if let Some(d) = f.after {
        conds.push(format!(
            "substr(m.created_at, 1, 10) > {}",
            p.bind(d.to_string())
        ));
    }
    if f.has_file {
        conds.push("json_array_length(m.json, '$.attachments') > 0".to_owned());
    }
    let limit = p.bind(i64::from(limit));
    let sql = format!(
        "SELECT m.json, {select} FROM {from}
         WHERE {}
         ORDER BY {id} DESC LIMIT {limit}",
        conds.join(" AND ")
    );
    (sql, p.0)
}

impl Cache {
    /// Cached messages matching `query`, newest first (optionally in one conversation).
    pub fn search(
        &self,
        query: &SearchQuery,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<LocalHit>> {
        let (sql, params) = search_sql(query, conversation, limit);
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (json, snippet) = row?;
            hits.push(LocalHit {
                message: serde_json::from_str(&json)?,
                snippet: snippet_parts(&snippet),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_bound_conditions() {
        let q =
            SearchQuery::parse("a'b from:@x' in:#y' before:2026-12-01 after:2026-11-01 has:file")
                .unwrap();
        let (sql, params) = search_sql(&q, Some(ConversationId(3)), 5);
        // Every typed value is a parameter; none is in the SQL text.
        assert!(!sql.contains("a'b") && !sql.contains("x'") && !sql.contains("y'"));
        assert!(!sql.contains("2026"));
        assert_eq!(params.len(), 7);
        assert!(sql.contains("messages_fts MATCH ?1"));
        let only = SearchQuery::parse("from:@x").unwrap();
        let (sql, _) = search_sql(&only, None, 5);
        assert!(!sql.contains("MATCH") && sql.contains("ORDER BY m.id DESC"));
    }

    #[test]
    fn snippet_markers_become_parts() {
        let parts = snippet_parts("say \u{2}hello\u{3} there");
        assert_eq!(
            parts,
            vec![
                SnippetPart {
                    text: "say ".into(),
                    highlight: false
                },
                SnippetPart {
                    text: "hello".into(),
                    highlight: true
                },
                SnippetPart {
                    text: " there".into(),
                    highlight: false
                },
            ]
        );
    }
}
