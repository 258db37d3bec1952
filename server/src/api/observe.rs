//! What every HTTP request leaves behind for an operator: its request id and its metrics.
//!
//! **Request ids.** Every request has an `x-request-id`: the client's, if it sent a short, plain
//! one (so a proxy's id carries through), else a new UUID (tower-http's `SetRequestIdLayer`). It
//! goes back in the response header (`PropagateRequestIdLayer`), into the request's log span
//! ([`super::request_span`]) and into every error body ([`current_request_id`], read by
//! `ApiError`'s one response builder), so a user's error report, the response and the log line
//! name the same request. A client's id that is long or has characters other than
//! `A-Z a-z 0-9 . _ : -` is replaced ([`drop_unusable_request_id`]): it is copied into logs and
//! bodies, and must not carry anything into them but an id.
//!
//! **Metrics.** [`record`] counts each request by method, matched route template and status and
//! times it (see [`crate::metrics`]). The route is the template (`/api/v1/users/{id}`), never the
//! raw path; a request that matched nothing is `(no route)`, and a method other than the standard
//! ones is `other`, so no client can make up new series.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

/// The request-id header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id taken from a client.
const MAX_CLIENT_ID_LEN: usize = 64;

tokio::task_local! {
    /// The id of the request whose handler runs in this task, for error bodies.
    static REQUEST_ID: String;
}

/// The request id of the request being answered, if called while answering one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Whether a client's request id is used as it is.
fn usable(id: &HeaderValue) -> bool {
    let id = id.as_bytes();
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Outermost: removes a client's `x-request-id` that is not [`usable`], so that a new one is made.
pub async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    let all_usable = headers.get_all(REQUEST_ID_HEADER).iter().all(usable);
    if !all_usable || headers.get_all(REQUEST_ID_HEADER).iter().count() > 1 {
        headers.remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// Innermost of the request's layers (around the route's handler, where the route is known):
/// runs the request with its id at hand for error bodies, and records its metrics.
pub async fn record(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |p| p.as_str().to_owned());
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    let response = match id {
        Some(id) => REQUEST_ID.scope(id, next.run(request)).await,
        None => next.run(request).await,
    };
    let metrics = crate::metrics::get();
    metrics
        .http_requests
        .with_label_values(&[method, route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_request_seconds
        .with_label_values(&[method, route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard ones by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The metrics listener's application: `GET /metrics` and nothing else (404 in the one error shape
/// for any other path).
pub fn metrics_router() -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        crate::metrics::TEXT_FORMAT,
                    )],
                    crate::metrics::get().render(),
                )
            }),
        )
        .fallback(super::errors::route_not_found)
}

/// Serves [`metrics_router`] on `listener` until `stop` completes. Scrapes are few and small: plain
/// `axum::serve`, without the API listener's connection caps.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    if let Err(e) = axum::serve(listener, metrics_router())
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_clients() {
        for ok in ["abc", "0b7c-11:22.x_y", &"a".repeat(64)] {
            assert!(usable(&HeaderValue::from_str(ok).unwrap()), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "{x}", "ä", &"a".repeat(65), "id\u{7f}"] {
            let Ok(v) = HeaderValue::from_bytes(bad.as_bytes()) else {
                continue;
            };
            assert!(!usable(&v), "{bad:?}");
        }
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
