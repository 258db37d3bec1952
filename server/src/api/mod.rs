//! The HTTP API under `/api/v1`, its OpenAPI document and the API docs page.
//!
//! One router per resource ([`auth`], [`account`], [`users`], [`conversations`], [`messages`], [`teams`],
//! [`notifications`], [`search`], [`contacts`], [`media`], [`admin`], [`export`], [`health`], plus
//! the gateway's upgrade route), each
//! handler annotated with `#[utoipa::path]` so that the OpenAPI document at
//! `/api/v1/openapi.json` is generated from the code that serves it and cannot drift. Each JSON
//! handler is bound to its endpoint type in [`jeco_shared::endpoints`] (the one list the client
//! engine calls by): its route is that endpoint's path, it answers [`typed::Reply<E>`] and reads
//! [`typed::Body<E>`], so it cannot answer another type than the engine reads. Swagger UI at
//! `/api/docs` is compiled into the binary (no CDN), and its "Authorize" button takes the
//! `access_token` from register or login.
//!
//! Cross-cutting behaviour is set once here: a request id on every request, in its response, its
//! log span and any error body, and the HTTP metrics ([`observe`]); the request body limit (a
//! too-long `Content-Length` is refused with 413 before the body is read), the body idle timeout
//! (408), CORS (off unless origins are configured), request tracing (method, matched route, status, latency — never the
//! query string, headers or bodies, see [`request_span`]), 404/405 in the one error shape, and the
//! error shape for empty error answers from inside the router ([`errors::fill_empty_errors`]).
//! The OpenAPI document is amended in [`openapi`] with the errors and limits enforced outside
//! the handlers.

pub mod account;
pub mod admin;
pub mod auth;
pub mod contacts;
pub mod conversations;
pub mod errors;
pub mod export;
pub mod extract;
pub mod health;
pub mod media;
pub mod messages;
pub mod notifications;
pub mod observe;
mod openapi;
pub mod rate_limit;
pub mod search;
pub mod teams;
pub mod two_factor;
pub mod typed;
pub mod users;

use crate::Config;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

/// 201 when a get-or-create call created the resource now, 200 when it already existed (a direct
/// conversation opened again, a retried send, an invitation used by a member).
pub(crate) fn created_or_ok(created: bool) -> axum::http::StatusCode {
    if created {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    }
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Where the human API docs are served.
pub const DOCS_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jeco Chat API",
        description = "REST API of a Jeco Chat server. Register or log in under `auth`, then press \
                       **Authorize** and paste the `access_token`. Errors always have the shape \
                       `{\"error\": {\"code\", \"message\", \"fields\"?, \"request_id\"?}}`; \
                       switch on `code`. Every response carries an `x-request-id` header; an \
                       error body repeats it as `request_id`.",
    ),
    components(schemas(
        jeco_shared::ErrorBody,
        jeco_shared::ErrorDetail,
        jeco_shared::ErrorCode,
        jeco_shared::media::MediaVariant,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "account", description = "The caller's email address and signed-in sessions"),
        (name = "users", description = "Profiles and the user directory"),
        (name = "conversations", description = "Group rooms, direct conversations, members and read state"),
        (name = "messages", description = "Messages, threads, reactions and pins"),
        (name = "teams", description = "Teams, their members and invitations"),
        (name = "channels", description = "A team's channels (conversations of kind channel)"),
        (name = "gateway", description = "Real-time WebSocket gateway"),
        (name = "notifications", description = "The notification inbox and per-conversation mutes"),
        (name = "search", description = "Full-text search over messages"),
        (name = "contacts", description = "Contacts and contact requests"),
        (name = "media", description = "Resumable uploads, attachments (files, images, voice notes) and avatars"),
        (name = "admin", description = "Server administration: accounts, deactivation, passwords, the admin flag (server admins only)"),
        (name = "meta", description = "Server status"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The `/api/v1` routes and the OpenAPI document describing them.
pub fn api_routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .merge(auth::router(state.clone()))
        .merge(account::router())
        .merge(export::router())
        .merge(two_factor::router())
        .merge(users::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(teams::router())
        .merge(notifications::router())
        .merge(search::router())
        .merge(contacts::router())
        .merge(media::router())
        .merge(admin::router())
        .merge(health::router())
        .routes(routes!(crate::gateway::ws_handler));
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(jeco_shared::API_PREFIX, v1)
        .split_for_parts();
    (router, openapi::amend(openapi))
}

/// The OpenAPI document, without serving anything (for tooling and tests).
pub fn openapi_document(state: &AppState) -> utoipa::openapi::OpenApi {
    api_routes(state).1
}

/// The whole HTTP application.
pub fn router(state: AppState, config: &Config) -> Router {
    let (api, openapi) = api_routes(&state);
    let mut app = Router::new()
        .merge(api)
        .merge(SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH, openapi))
        .fallback(errors::route_not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::Extension(extract::BodyLimit(config.max_body_bytes)))
        .layer(axum::middleware::from_fn(errors::fill_empty_errors))
        // A body that stops arriving ends the request (408) instead of holding the connection.
        .layer(RequestBodyTimeoutLayer::new(config.http_body_timeout()))
        .with_state(state);
    if let Some(cors) = cors_layer(&config.cors_allowed_origins) {
        app = app.layer(cors);
    }
    // Spans carry method, matched route and request id only: no query, no headers, no bodies (see
    // `request_span`). `Router::layer` wraps each route, so the span sees the `MatchedPath`.
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    let request_id = HeaderName::from_static(observe::REQUEST_ID_HEADER);
    // Outermost last: an unusable client id is dropped, a missing one made, then the span opens
    // with it, and the handler runs with it at hand (`observe`).
    app.layer(axum::middleware::from_fn(observe::record))
        .layer(trace)
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::SEC_WEBSOCKET_PROTOCOL,
            header::COOKIE,
        ]))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(observe::drop_unusable_request_id))
}

/// The span of one request in the log: its method, the route it matched
/// (`/api/v1/attachments/{id}/content`) and its request id (see [`observe`]), never the URI it
/// came with. Query strings carry secrets (a signed download's `sig`, which works without a token;
/// search words; a token a client put in a URL) and paths carry whatever a client typed, so a
/// request that matched no route is logged as `(no route)` and its status.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", axum::extract::MatchedPath::as_str);
    let request_id = request
        .extensions()
        .get::<tower_http::request_id::RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        version = ?request.version(),
        request_id = %request_id,
    )
}

/// `None` (no CORS headers at all) unless origins are configured.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring invalid CORS origin");
                None
            }
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::RANGE,
                header::IF_NONE_MATCH,
                HeaderName::from_static(jeco_shared::media::UPLOAD_OFFSET_HEADER),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static(observe::REQUEST_ID_HEADER),
                HeaderName::from_static("www-authenticate"),
                header::CONTENT_RANGE,
                header::CONTENT_DISPOSITION,
                header::ETAG,
                HeaderName::from_static(jeco_shared::media::UPLOAD_OFFSET_HEADER),
                HeaderName::from_static(jeco_shared::media::UPLOAD_LENGTH_HEADER),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
