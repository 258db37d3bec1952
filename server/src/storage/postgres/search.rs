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
//! Filters (`from:`, `in:`, dates, `has:file`) and paging are SQL conditions on bound values, as
//! on SQLite, ordered and paged by message id, newest first.
//!
//! # Why a search is a fixed sequence of statements
//!
//! One statement left the choice of plan to the planner, and the planner cannot know where in
//! the table a user's matches lie. Its two plans each fail somewhere (BENCHMARKS.md, "Prefix
//! search on PostgreSQL"): walking the primary key newest first and stopping after a page is
//! instant when matches are everywhere, and took 1.3 s for a user whose only conversation holds
//! the oldest messages (the walk crosses the whole table first); one GIN bitmap per conversation
//! of the user, planned when it underestimated the user's memberships, took 1.65 s for a prefix
//! matching 4 % of the messages. So a search is a fixed sequence, in one read-only
//! `REPEATABLE READ` transaction (one snapshot for all of it):
//!
//! 1. **Conversations**: the user's conversations, narrowed by `in:` and the conversation
//!    filter, read into a list. Nothing to search in: no more statements. The list is bound as
//!    a constant array in every following statement, so the planner sees the conversations
//!    themselves (and their share of the messages, from the column's statistics) instead of
//!    guessing a join's size.
//! 2. **Walk**: the newest [`SEARCH_WALK_ROWS`] (4,096) messages below the cursor (tests set a
//!    few with [`PgStorage::with_search_walk_rows`]), read backwards along the primary key
//!    inside a sub-select with its own `LIMIT` — which the planner can neither flatten nor turn
//!    into another plan — and filtered; the statement stops as soon as it has the page. Its cost
//!    is bounded by the window whatever the query: ~1.5 ms at 1M messages.
//! 3. **A second walk**, four times as long, only when the first found part of a page and
//!    matches at that density would fill it there ([`second_walk`]): a common word narrowed by
//!    `from:` to one sender, say. Such queries are dense enough to walk to, and would be costly
//!    to look up (the lookup below reads every match of the word).
//! 4. **The rest**, only when the walks found less than a page: every match in the user's
//!    conversations *older than the walked windows* (the windows' last id read by an index-only
//!    scan), in a `MATERIALIZED` CTE, then the newest of them. The CTE has no order and no
//!    limit, so no plan of it walks the primary key: the planner picks between the GIN index's
//!    bitmap (cost ~ the term's matches) and the conversations' index (cost ~ the user's
//!    messages), both estimated from constants. By then the matches are known to be sparse
//!    among the user's recent messages, so few rows come back to sort.
//!
//! The window's size is a trade measured at 1M messages (`EXPLAIN ANALYZE`, BENCHMARKS.md
//! "PostgreSQL search, the walk's window"): a longer first walk pays its rows on every sparse
//! query (16,384 rows cost ~8–12 ms, a middling word read 18 matches there and still needed the
//! lookup), a shorter one sends more queries to the lookup, whose cost grows with the matches.
//!
//! What is still not bounded: a query whose matches are sparse among the newest messages but
//! dense among older ones — above all a common word with `before:` a date long ago, where every
//! match older than the date is read (~0.3 s for `ka before:` the middle of 1M messages, for a
//! reader of every conversation; the single statement, walking the primary key across the newer
//! half, took ~0.2 s). Ids, not `created_at`, order the table, and no index ties the two.
//!
//! The `tsquery` expression is built only of immutable functions of bound parameters, never a
//! sub-select, so each statement (prepared anew, so planned with the parameters' values) folds it
//! into a constant the planner can estimate: the prefix term used to take its phrase from a
//! sub-select, which hid it (the planner guessed 0.5 % of the rows for `ka*`, which matches
//! 57 %: 2.6 s median over HTTP). `ts_headline`, the costly column, is computed for the page's
//! rows only: above the walk's `LIMIT`, or in the last statement's join to the page.

use super::messages::{MSG_COLUMN_COUNT, MSG_COLUMNS, msg_complete, msg_from_row};
use super::{PgStorage, pg};
use crate::search_query::TextQuery;
use crate::storage::StorageError;
use crate::storage::search::*;
use async_trait::async_trait;
use tokio_postgres::IsolationLevel;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Messages the first walk (statement 2, see the module doc) reads. ~0.4 µs a row at 1M
/// messages.
pub(super) const SEARCH_WALK_ROWS: i64 = 4_096;

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

/// Statement 1: the conversations the search looks in (the user's, narrowed by the
/// conversation filter and `in:`).
fn conversations_sql(search: &MessageSearch) -> (String, Params) {
    let mut p = Params::default();
    let mut sql = format!(
        "SELECT cm.conversation_id FROM conversation_members cm WHERE cm.user_id = {}",
        p.bind(search.user.0)
    );
    if let Some(c) = search.conversation {
        sql.push_str(&format!(" AND cm.conversation_id = {}", p.bind(c.0)));
    }
    if !search.in_names.is_empty() {
        // Names compare case-insensitively, as on SQLite.
        let names: Vec<String> = search.in_names.iter().map(|n| clean(n)).collect();
        sql.push_str(&format!(
            " AND cm.conversation_id IN (SELECT id FROM conversations
                  WHERE kind IN ('channel', 'group')
                    AND lower(name) IN (SELECT lower(n) FROM unnest({}::TEXT[]) AS n))",
            p.bind(names)
        ));
    }
    (sql, p)
}

/// What statements 2 and 3 share: the parameters bound so far, the snippet column, the join
/// that names the `tsquery` `tq.q` (empty for a filters-only query) and the conditions on `m`
/// other than the cursor.
struct Shape {
    p: Params,
    select: String,
    query: String,
    conds: Vec<String>,
}

impl Shape {
    fn new(search: &MessageSearch, conversations: &[i64]) -> Self {
        let mut p = Params::default();
        let mut conds = vec![format!(
            "m.conversation_id = ANY({}::BIGINT[])",
            p.bind(conversations.to_vec())
        )];
        let (select, query) = match &search.text {
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
                    format!("CROSS JOIN (SELECT {q} AS q) tq"),
                )
            }
            None => (
                format!(
                    "CASE WHEN char_length(m.body) > {PLAIN_SNIPPET_CHARS}
                         THEN substr(m.body, 1, {PLAIN_SNIPPET_CHARS}) || '…' ELSE m.body END"
                ),
                String::new(),
            ),
        };
        conds.push("m.deleted_at IS NULL".into());
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
        if search.has_file {
            conds.push("EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)".into());
        }
        if let Some(t) = search.after_ms {
            conds.push(format!("m.created_at >= {}", p.bind(t)));
        }
        if let Some(t) = search.before_ms {
            conds.push(format!("m.created_at < {}", p.bind(t)));
        }
        Shape {
            p,
            select,
            query,
            conds,
        }
    }

    /// `column < the id after the newest `skip` messages below the cursor`: what a walk of
    /// `skip` rows left unread (an index-only scan finds that id; NULL, so nothing, when the
    /// walk read every message below the cursor).
    fn older_than_skipped(&mut self, search: &MessageSearch, column: &str, skip: i64) -> String {
        let below = match search.older_than {
            Some(m) => format!("WHERE id < {}", self.p.bind(m.0)),
            None => String::new(),
        };
        let offset = self.p.bind(skip - 1);
        format!(
            "{column} < (SELECT id FROM messages {below} ORDER BY id DESC OFFSET {offset} LIMIT 1)"
        )
    }
}

/// A walk's window: the newest `limit` matches among `rows` messages below the cursor, after
/// the newest `skip` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    skip: i64,
    rows: i64,
    limit: i64,
}

/// How many times the first window the second one is.
const SECOND_WALK_FACTOR: i64 = 4;

/// The second walk, when the first one found `found` of a page but not all of it, and matches
/// at that density would fill the page within [`SECOND_WALK_FACTOR`] times the first window:
/// dense matches are cheaper to walk to than to look up (a common word narrowed by `from:`
/// reads every match of the word in the lookup). Sparser ones go straight to the lookup.
fn second_walk(first: Window, found: i64) -> Option<Window> {
    let missing = first.limit - found;
    (missing > 0 && found * SECOND_WALK_FACTOR >= first.limit).then_some(Window {
        skip: first.skip + first.rows,
        rows: first.rows * SECOND_WALK_FACTOR,
        limit: missing,
    })
}

/// Statement 2: the newest `limit` matches among `rows` messages below the cursor, after the
/// newest `skip` of them (see the module doc).
fn walk_sql(search: &MessageSearch, conversations: &[i64], window: Window) -> (String, Params) {
    let mut s = Shape::new(search, conversations);
    let mut bounds = Vec::new();
    if let Some(m) = search.older_than {
        bounds.push(format!("id < {}", s.p.bind(m.0)));
    }
    if window.skip > 0 {
        bounds.push(s.older_than_skipped(search, "id", window.skip));
    }
    let below = match bounds.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", bounds.join(" AND ")),
    };
    let rows = s.p.bind(window.rows);
    let limit = s.p.bind(window.limit);
    let sql = format!(
        "SELECT {MSG_COLUMNS}, {select}
         FROM (SELECT * FROM messages {below} ORDER BY id DESC LIMIT {rows}) m
         {query}
         WHERE {conds}
         ORDER BY m.id DESC
         LIMIT {limit}",
        select = s.select,
        query = s.query,
        conds = s.conds.join("\n           AND "),
    );
    (sql, s.p)
}

/// Statement 3: the newest `limit` matches older than the walk's window (see the module doc).
/// Nothing when the walk read every message below the cursor (the window's end is NULL).
fn rest_sql(
    search: &MessageSearch,
    conversations: &[i64],
    walked: i64,
    limit: i64,
) -> (String, Params) {
    let mut s = Shape::new(search, conversations);
    let older = s.older_than_skipped(search, "m.id", walked);
    let limit = s.p.bind(limit);
    let sql = format!(
        "WITH hits AS MATERIALIZED (
             SELECT m.id FROM messages m {query}
             WHERE {conds}
               AND {older}
         )
         SELECT {MSG_COLUMNS}, {select}
         FROM (SELECT id FROM hits ORDER BY id DESC LIMIT {limit}) page
         JOIN messages m ON m.id = page.id
         {query}
         ORDER BY m.id DESC",
        select = s.select,
        query = s.query,
        conds = s.conds.join("\n               AND "),
    );
    (sql, s.p)
}

#[async_trait]
impl SearchStore for PgStorage {
    async fn search_messages(
        &self,
        search: MessageSearch,
    ) -> Result<Vec<SearchHitRecord>, StorageError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        // Not cached: the texts follow the query's shape, and the pool's statement cache has no
        // bound. Prepared anew, each is planned with its parameters' values (module doc).
        let (sql, params) = conversations_sql(&search);
        let conversations: Vec<i64> = tx
            .query(sql.as_str(), &params.refs())
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut rows: Vec<Row> = Vec::new();
        if !conversations.is_empty() && search.limit > 0 {
            let limit = i64::from(search.limit);
            let first = Window {
                skip: 0,
                rows: self.search_walk_rows,
                limit,
            };
            let (sql, params) = walk_sql(&search, &conversations, first);
            rows = tx.query(sql.as_str(), &params.refs()).await.map_err(pg)?;
            let mut walked = first.rows;
            if let Some(second) = second_walk(first, rows.len() as i64) {
                let (sql, params) = walk_sql(&search, &conversations, second);
                rows.extend(tx.query(sql.as_str(), &params.refs()).await.map_err(pg)?);
                walked += second.rows;
            }
            let missing = limit - rows.len() as i64;
            if missing > 0 {
                let (sql, params) = rest_sql(&search, &conversations, walked, missing);
                rows.extend(tx.query(sql.as_str(), &params.refs()).await.map_err(pg)?);
            }
        }
        let (mut messages, snippets): (Vec<_>, Vec<String>) = rows
            .iter()
            .map(|r| (msg_from_row(r), r.get(MSG_COLUMN_COUNT)))
            .unzip();
        msg_complete(&tx, &mut messages).await?;
        tx.commit().await.map_err(pg)?;
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
    fn a_second_walk_only_when_the_first_ones_density_fills_the_page_in_it() {
        let first = Window {
            skip: 0,
            rows: 4_096,
            limit: 21,
        };
        // A full page, or too few matches to fill one in four times the window: no second walk.
        assert_eq!(second_walk(first, 21), None);
        assert_eq!(second_walk(first, 0), None);
        assert_eq!(second_walk(first, 5), None);
        // 6 in 4,096 rows: 24 expected in the next 16,384, enough for the 15 missing.
        assert_eq!(
            second_walk(first, 6),
            Some(Window {
                skip: 4_096,
                rows: 16_384,
                limit: 15,
            })
        );
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
