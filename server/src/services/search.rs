//! Search: full-text over the messages the caller can read.
//!
//! The query text is parsed here ([`crate::search_query`]), so a query that does not parse is a
//! `400` naming the problem before any storage is touched, and the backend only ever sees a
//! rendering in which every term is quoted.
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
        let q = req.q.trim();
        if q.is_empty() {
            return Err(ServiceError::field("q", "must not be empty"));
        }
        if q.chars().count() > SEARCH_QUERY_MAX {
            return Err(ServiceError::field(
                "q",
                format!("must be at most {SEARCH_QUERY_MAX} characters"),
            ));
        }
        let query = SearchQuery::parse(q)
            .map_err(|e| ServiceError::BadRequest(format!("invalid search query: {e}")))?;
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
        let after_ms = req
            .after
            .as_deref()
            .map(|v| parse_time("after", v))
            .transpose()?;
        let before_ms = req
            .before
            .as_deref()
            .map(|v| parse_time("before", v))
            .transpose()?;
        let hits = self
            .storage
            .search_messages(MessageSearch {
                user: who.user_id,
                query,
                conversation: req.conversation_id,
                author: req.author_id,
                after_ms,
                before_ms,
                older_than,
                limit: limit + 1,
            })
            .await
            .map_err(|e| match e {
                StorageError::InvalidQuery(why) => {
                    ServiceError::BadRequest(format!("invalid search query: {why}"))
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
    fn times_are_rfc3339() {
        assert_eq!(parse_time("after", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("after", "yesterday").is_err());
    }
}
