//! Local full-text search over cached messages (FTS5), offline and instant.
//!
//! What a person types is turned into a safe FTS5 query: each word is quoted (so `-`, `:`, `*` or an
//! unbalanced quote can never be a syntax error) and all must occur; the last word also matches as
//! a prefix, so results appear while typing. Snippets mark the matching words the way the server's
//! search does, so the UI renders both alike.

use super::{Cache, Result};
use jeco_shared::ConversationId;
use jeco_shared::messages::Message;
use jeco_shared::search::SnippetPart;
use rusqlite::params;

/// A cached message matching a local search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHit {
    pub message: Message,
    pub snippet: Vec<SnippetPart>,
}

const START: char = '\u{2}';
const END: char = '\u{3}';

/// The FTS5 query for what a person typed; `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"", w.replace('"', "")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut q = rest.join(" ");
    if !q.is_empty() {
        q.push(' ');
    }
    q.push_str(last);
    q.push('*');
    Some(q)
}

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

impl Cache {
    /// Cached messages matching `input`, newest first (optionally in one conversation).
    pub fn search(
        &self,
        input: &str,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<LocalHit>> {
        let Some(query) = fts_query(input) else {
            return Ok(Vec::new());
        };
        let conn = self.lock();
        // Ordered by the FTS table's own rowid (= message id): FTS5 walks its index newest first
        // and stops after `limit`, so snippets are made for the shown hits only, not every match.
        let mut stmt = conn.prepare_cached(
            "SELECT m.json, snippet(messages_fts, 0, char(2), char(3), '…', 12)
             FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
             WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR m.conversation_id = ?2)
             ORDER BY messages_fts.rowid DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![query, conversation.map(|c| c.0), limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (json, snippet) = row?;
            let message: Message = serde_json::from_str(&json)?;
            if message.deleted {
                continue;
            }
            hits.push(LocalHit {
                message,
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
    fn typed_text_becomes_a_safe_prefix_query() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("hello wor").as_deref(), Some(r#""hello" "wor"*"#));
        assert_eq!(
            fts_query(r#"a"b -c: NOT*"#).as_deref(),
            Some(r#""a" "b" "c" "NOT"*"#)
        );
        assert_eq!(fts_query("don't").as_deref(), Some(r#""don't"*"#));
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
