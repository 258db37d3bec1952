//! Search: full-text over the messages the caller can read.
//!
//! The query text is parsed here, once, with Jeco's own search language ([`crate::search_query`],
//! the same parser the client's offline cache uses), so a query that does not parse or passes a
//! limit is a `400 invalid_query` naming the problem before any storage is touched. The backend
//! gets the parsed text (which it renders with every term quoted) and the filters as values; its
//! own error text never reaches a client.
//!
//! The query's filters combine with the request's parameters: all must hold. `in:#name` inside a
//! search scoped by `conversation_id` narrows further (a different conversation's name finds
//! nothing); `before:`/`after:` days and the RFC 3339 `before`/`after` parameters both apply, the
//! tighter bound winning.
//!
//! The caller's membership is enforced by the storage query itself (only conversations the caller
//! is a member of at query time), so there is no window in which a removed member still finds a
//! conversation's messages. A `conversation_id` filter for a conversation the caller is not in
//! simply finds nothing — the same answer as for one that does not exist.

use super::{Principal, ServiceError, render};
use crate::search_query::SearchQuery;
use crate::storage::search::{HIGHLIGHT_END, HIGHLIGHT_START};
use crate::storage::{MessageSearch, Storage, StorageError};
use jeco_shared::search::{
    SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX, SEARCH_QUERY_MAX, SearchHit, SearchPage, SnippetPart,
    cursor_after, parse_cursor,
};
use jeco_shared::{ConversationId, UserId};
use std::sync::Arc;

/// A search request, as the API read it from the query string.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub conversation_id: Option<ConversationId>,
    pub author_id: Option<UserId>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub struct Search {
    storage: Arc<dyn Storage>,
}

fn parse_time(field: &str, value: &str) -> Result<i64, ServiceError> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ServiceError::field(field, "must be an RFC 3339 time"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Of two optional bounds, the one `pick` prefers (both must hold, so the tighter one).
fn tighter(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// Splits a snippet with highlight markers into parts.
pub fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut highlight = false;
    let mut flush = |text: &mut String, highlight: bool| {
        if !text.is_empty() {
            parts.push(SnippetPart {
                text: std::mem::take(text),
                highlight,
            });
        }
    };
    for ch in snippet.chars() {
        match ch {
            HIGHLIGHT_START => {
                flush(&mut current, highlight);
                highlight = true;
            }
            HIGHLIGHT_END => {
                flush(&mut current, highlight);
                highlight = false;
            }
            other => current.push(other),
        }
    }
    flush(&mut current, highlight);
    parts
}

impl Search {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    pub async fn search(
        &self,
        who: &Principal,
        req: SearchRequest,
    ) -> Result<SearchPage, ServiceError> {
        // Length first, before any work on the text (the parser checks it too).
        if req.q.chars().count() > SEARCH_QUERY_MAX {
            return Err(ServiceError::InvalidQuery(format!(
                "a search is at most {SEARCH_QUERY_MAX} characters"
            )));
        }
        let query =
            SearchQuery::parse(&req.q).map_err(|e| ServiceError::InvalidQuery(e.to_string()))?;
        let limit = req.limit.unwrap_or(SEARCH_PAGE_DEFAULT);
        if limit == 0 || limit > SEARCH_PAGE_MAX {
            return Err(ServiceError::field(
                "limit",
                format!("must be 1 to {SEARCH_PAGE_MAX}"),
            ));
        }
        let older_than = match req.cursor.as_deref() {
            None => None,
            Some(c) => Some(
                parse_cursor(c)
                    .ok_or_else(|| ServiceError::field("cursor", "is not a search cursor"))?,
            ),
        };
        let after_ms = tighter(
            req.after
                .as_deref()
                .map(|v| parse_time("after", v))
                .transpose()?,
            query.filters.after.map(|d| d.end_unix_ms()),
            i64::max,
        );
        let before_ms = tighter(
            req.before
                .as_deref()
                .map(|v| parse_time("before", v))
                .transpose()?,
            query.filters.before.map(|d| d.start_unix_ms()),
            i64::min,
        );
        let filters = query.filters;
        let hits = self
            .storage
            .search_messages(MessageSearch {
                user: who.user_id,
                text: query.text,
                conversation: req.conversation_id,
                author: req.author_id,
                from_usernames: filters.from,
                in_names: filters.in_names,
                has_file: filters.has_file,
                after_ms,
                before_ms,
                older_than,
                limit: limit + 1,
            })
            .await
            .map_err(|e| match e {
                // The rendering quotes every term, so this is a bug; the backend's text (which
                // quotes the query) stays out of the answer and the log.
                StorageError::InvalidQuery(_) => {
                    tracing::warn!("the search backend refused a rendered query");
                    ServiceError::InvalidQuery(
                        "this search could not be run; try other words".into(),
                    )
                }
                other => other.into(),
            })?;
        let more = hits.len() > limit as usize;
        let items: Vec<SearchHit> = hits
            .into_iter()
            .take(limit as usize)
            .map(|h| SearchHit {
                message: render::message(&h.message),
                snippet: snippet_parts(&h.snippet),
            })
            .collect();
        let next_cursor = more
            .then(|| items.last().map(|h| cursor_after(h.message.id)))
            .flatten();
        Ok(SearchPage { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_markers_become_parts() {
        let parts = snippet_parts("…the \u{E000}quick\u{E001} brown \u{E000}fox\u{E001}");
        let flat: Vec<(&str, bool)> = parts
            .iter()
            .map(|p| (p.text.as_str(), p.highlight))
            .collect();
        assert_eq!(
            flat,
            [
                ("…the ", false),
                ("quick", true),
                (" brown ", false),
                ("fox", true)
            ]
        );
    }

    #[test]
    fn the_tighter_bound_holds() {
        assert_eq!(tighter(Some(5), Some(9), i64::max), Some(9));
        assert_eq!(tighter(Some(5), Some(9), i64::min), Some(5));
        assert_eq!(tighter(None, Some(9), i64::min), Some(9));
        assert_eq!(tighter(Some(5), None, i64::max), Some(5));
        assert_eq!(tighter(None, None, i64::max), None);
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(parse_time("after", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("after", "yesterday").is_err());
    }
}
