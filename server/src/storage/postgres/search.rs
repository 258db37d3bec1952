//! [`SearchStore`] on PostgreSQL: `messages.search`, a generated `tsvector` (text search
//! configuration `jeco`: no stemming, no stop words, accents folded) with a partial GIN index
//! over the messages that are not deleted.
//!
//! Differences from SQLite's FTS5:
//! - the parsed text tree ([`TextQuery`]) is rendered to a `tsquery` *expression* whose every term
//!   is a bound parameter given to `phraseto_tsquery('jeco', $n)` — which tokenizes it as the index
//!   does and never raises a syntax error, whatever the text — combined with `&&`, `||` and `!!`
//!   in the tree's own grouping. A prefix term (`word*`) takes its phrase's text form (quoted by
//!   PostgreSQL itself) and marks the last lexeme `:*`. No user text is ever parsed as tsquery
//!   syntax, and none is concatenated into SQL;
//! - snippets come from `ts_headline`, matches between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`];
//! - NUL characters, which PostgreSQL text cannot hold, are replaced before binding.
//!
//! Filters (`from:`, `in:`, dates, `has:file`), membership and paging are SQL conditions on bound
//! values, as on SQLite, ordered and paged by message id, newest first.
//!
//! Why the statement has its shape — the planner has to see the query's terms as a constant:
//! - each search prepares its own statement, so PostgreSQL plans it with the parameters' values
//!   (a custom plan). The `tsquery` expression is built only of immutable functions of those
//!   parameters, never a sub-select, so the planner folds it into a constant `tsquery` and
//!   estimates from the column's statistics how many messages match. A common word or prefix
//!   (most messages) is then answered by walking the primary key backwards, newest first,
//!   checking each message against the query and the user's memberships and stopping after the
//!   page; a rare one by the GIN index's bitmap, sorted. The prefix term used to take its phrase
//!   from a sub-select (`SELECT … FROM phraseto_tsquery(…) AS t`), which the planner cannot see
//!   into: it guessed 0.5 % of the rows, took the GIN bitmap of all ~570,000 matches of `ka*` once
//!   per conversation of the user and sorted them — 2.6 s median over HTTP at 1M messages,
//!   8.5 s in `EXPLAIN ANALYZE` on a busy machine; 0.3 ms with the constant (BENCHMARKS.md,
//!   "Prefix search on PostgreSQL");
//! - `ts_headline`, the costly column, is computed for the page's rows only: above the walk's
//!   limit, or postponed past the sort by the planner.

use super::messages::{MSG_COLUMN_COUNT, MSG_COLUMNS, msg_complete, msg_from_row};
use super::{PgStorage, pg};
use crate::search_query::TextQuery;
use crate::storage::StorageError;
use crate::storage::search::*;
use async_trait::async_trait;
use tokio_postgres::types::ToSql;

/// Words of context in a snippet (FTS5's snippet takes 16 tokens).
const SNIPPET_MAX_WORDS: u32 = 16;
/// Characters of text shown for a hit of a filters-only query (nothing to highlight).
const PLAIN_SNIPPET_CHARS: i64 = 200;

/// Bound parameters, numbered in the order they are added.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Adds a value and returns its placeholder.
    fn bind(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect()
    }
}

/// User text as PostgreSQL text can hold it (no NUL).
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The tree as a `tsquery` expression over bound parameters (see the module doc).
fn tsquery(q: &TextQuery, p: &mut Params) -> String {
    match q {
        TextQuery::Term { text, prefix } => {
            let t = p.bind(clean(text));
            if *prefix {
                // Spelled out three times rather than named once in a sub-select: every function
                // here is immutable, so the planner folds the whole expression into a constant
                // `tsquery` it can estimate (see the module doc).
                let phrase = format!("phraseto_tsquery('jeco', {t}::TEXT)");
                format!(
                    "(CASE WHEN numnode({phrase}) = 0 THEN {phrase}
                      ELSE ({phrase}::TEXT || ':*')::TSQUERY END)"
                )
            } else {
                format!("phraseto_tsquery('jeco', {t}::TEXT)")
            }
        }
        TextQuery::And(l, r) => format!("({} && {})", tsquery(l, p), tsquery(r, p)),
        TextQuery::Or(l, r) => format!("({} || {})", tsquery(l, p), tsquery(r, p)),
        TextQuery::Not(l, r) => format!("({} && !!{})", tsquery(l, p), tsquery(r, p)),
    }
}

/// The SQL of one search and its parameters. Each condition is added only when its filter is
/// given, so the statement (cached by its text) stays as simple as the query.
fn search_sql(search: &MessageSearch) -> (String, Params) {
    let mut p = Params::default();
    let member = p.bind(search.user.0);
    let mut conds = Vec::new();
    let (select, from) = match &search.text {
        Some(text) => {
            let q = tsquery(text, &mut p);
            let options = format!(
                "StartSel=\"{HIGHLIGHT_START}\", StopSel=\"{HIGHLIGHT_END}\", \
                 MaxWords={SNIPPET_MAX_WORDS}, MinWords=6, ShortWord=0"
            );
            let options = p.bind(options);
            conds.push("m.search @@ tq.q".to_string());
            (
                format!("ts_headline('jeco', m.body, tq.q, {options}::TEXT)"),
                format!("messages m CROSS JOIN (SELECT {q} AS q) tq"),
            )
        }
        None => (
            format!(
                "CASE WHEN char_length(m.body) > {PLAIN_SNIPPET_CHARS}
                     THEN substr(m.body, 1, {PLAIN_SNIPPET_CHARS}) || '…' ELSE m.body END"
            ),
            "messages m".to_string(),
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
        let names: Vec<String> = search.from_usernames.iter().map(|n| clean(n)).collect();
        conds.push(format!(
            "m.sender_id IN (SELECT id FROM users WHERE username = ANY({}::TEXT[]))",
            p.bind(names)
        ));
    }
    if !search.in_names.is_empty() {
        // Names compare case-insensitively, as on SQLite.
        let names: Vec<String> = search.in_names.iter().map(|n| clean(n)).collect();
        conds.push(format!(
            "m.conversation_id IN (SELECT id FROM conversations
                 WHERE kind IN ('channel', 'group')
                   AND lower(name) IN (SELECT lower(n) FROM unnest({}::TEXT[]) AS n))",
            p.bind(names)
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
        conds.push(format!("m.id < {}", p.bind(m.0)));
    }
    let limit = p.bind(i64::from(search.limit));
    let sql = format!(
        "SELECT {MSG_COLUMNS}, {select}
         FROM {from}
         JOIN conversation_members cm
             ON cm.conversation_id = m.conversation_id AND cm.user_id = {member}
         WHERE {}
         ORDER BY m.id DESC
         LIMIT {limit}",
        conds.join("\n           AND ")
    );
    (sql, p)
}

#[async_trait]
impl SearchStore for PgStorage {
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError> {
        let c = self.client().await?;
        let (sql, params) = search_sql(&search);
        // Not cached: the text follows the query's shape, and the pool's statement cache has no
        // bound.
        let rows = c.query(sql.as_str(), &params.refs()).await.map_err(pg)?;
        let (mut messages, snippets): (Vec<_>, Vec<String>) = rows
            .iter()
            .map(|r| (msg_from_row(r), r.get(MSG_COLUMN_COUNT)))
            .unzip();
        msg_complete(&c, &mut messages).await?;
        Ok(messages
            .into_iter()
            .zip(snippets)
            .map(|(message, snippet)| SearchHitRecord {
                message,
                snippet: join_adjacent_matches(&snippet),
            })
            .collect())
    }
}

/// `ts_headline` marks each matching word on its own, where FTS5 marks a matched phrase as one
/// span: matches separated by nothing but spaces become one, so `"brown fox"` is highlighted as
/// one match on both backends.
fn join_adjacent_matches(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len());
    let mut rest = snippet;
    while let Some(end) = rest.find(HIGHLIGHT_END) {
        let after = &rest[end + HIGHLIGHT_END.len_utf8()..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        if spaces > 0 && after[spaces..].starts_with(HIGHLIGHT_START) {
            out.push_str(&rest[..end]);
            out.push_str(&after[..spaces]);
            rest = &after[spaces + HIGHLIGHT_START.len_utf8()..];
        } else {
            out.push_str(&rest[..end + HIGHLIGHT_END.len_utf8()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search_query::SearchQuery;

    #[test]
    fn the_tsquery_expression_has_no_sub_select() {
        // A sub-select hides the query from the planner (see the module doc): 2.5 s instead of
        // 0.3 ms for a common prefix at 1M messages.
        for q in ["ka*", "\"late rep\"* OR ka* NOT lo", "report"] {
            let text = SearchQuery::parse(q).unwrap().text.unwrap();
            let sql = tsquery(&text, &mut Params::default());
            assert!(!sql.to_uppercase().contains("SELECT"), "{q}: {sql}");
        }
    }

    #[test]
    fn adjacent_matches_join_and_others_stay_apart() {
        let (s, e) = (HIGHLIGHT_START, HIGHLIGHT_END);
        assert_eq!(
            join_adjacent_matches(&format!("the {s}brown{e} {s}fox{e} jumps")),
            format!("the {s}brown fox{e} jumps")
        );
        assert_eq!(
            join_adjacent_matches(&format!("{s}quick{e}, {s}fox{e}")),
            format!("{s}quick{e}, {s}fox{e}")
        );
        assert_eq!(join_adjacent_matches("plain"), "plain");
    }
}
