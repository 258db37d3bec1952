//! `GET /api/v1/search`: full-text search over the caller's messages.

use super::errors::ApiError;
use super::extract::{Auth, Query};
use super::typed::Reply;
use crate::services::search::SearchRequest;
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::endpoints::{Endpoint, Search};
use jeco_shared::search::SearchPage;
use jeco_shared::{ConversationId, ErrorBody, UserId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query, in Jeco's search language: words (all must occur), `"a phrase"`, `prefix*`,
    /// the capitalised operators `AND`, `OR`, `NOT` with parentheses (`NOT` binds tighter than
    /// `AND`, `AND` than `OR`), and filters that apply to the whole query: `from:@user`,
    /// `in:#channel` (a channel or group name; several `from:`/`in:` mean any of them),
    /// `before:YYYY-MM-DD` (before that day began, UTC), `after:YYYY-MM-DD` (after that day
    /// ended, UTC) and `has:file`. Anything else (FTS5 syntax, SQL, punctuation) is text. At most
    /// 256 characters, 32 terms, 8 levels of parentheses, 8 filters; a query of filters only
    /// returns every message that passes them.
    pub q: String,
    /// Only this conversation (combined with `in:`: both must hold).
    pub conversation_id: Option<i64>,
    /// Only messages by this user.
    pub author_id: Option<i64>,
    /// Only messages sent before this RFC 3339 time.
    pub before: Option<String>,
    /// Only messages sent at or after this RFC 3339 time.
    pub after: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Messages matching `q` in conversations the caller is a member of, newest first, each with a
/// snippet whose matching words are highlighted. A query that does not parse or passes a limit is
/// `400 invalid_query`, saying why.
#[utoipa::path(get, path = Search::PATH, tag = "search", security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, body = SearchPage),
        (status = 400, description = "`invalid_query`: empty, malformed or over-long query; `validation_failed`: bad `limit`, `cursor`, `before` or `after`", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn search(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(p): Query<SearchParams>,
) -> Result<Reply<Search>, ApiError> {
    let req = SearchRequest {
        q: p.q,
        conversation_id: p.conversation_id.map(ConversationId),
        author_id: p.author_id.map(UserId),
        before: p.before,
        after: p.after,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Reply::ok(state.chat.search.search(&who, req).await?))
}
