//! Request extractors whose rejections use the one error shape.
//!
//! axum's own `Json`, `Query` and `Path` answer with plain-text bodies; these wrappers keep their
//! behaviour but map every rejection to an [`ApiError`] with a precise code:
//! wrong content type → 415, body over the limit → 413 (a too-long `Content-Length` before the
//! body is read), a stalled body → 408, broken JSON → 400 `invalid_json`, JSON of the wrong shape
//! (an array or a scalar where an object belongs, too) → 400 `validation_failed` naming the field.

use super::errors::ApiError;
use crate::services::Principal;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use jeco_shared::ErrorCode;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A JSON request body.
pub struct Json<T>(pub T);

fn is_json(parts: &axum::http::HeaderMap) -> bool {
    let Some(value) = parts
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        // A declared length over the limit is refused before a byte of the body is read.
        if let Some(BodyLimit(limit)) = req.extensions().get::<BodyLimit>().copied()
            && declared_length(req.headers()).is_some_and(|n| n > limit as u64)
        {
            return Err(too_large(limit));
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match limit {
                Some(limit) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    too_large(limit)
                }
                _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                }
                _ => body_error(&rejection),
            })?;
        require_object(&bytes)?;
        parse_json(&bytes).map(Json)
    }
}

/// Every JSON body of this API is an object. serde would also fill a struct from an array, by
/// position (`[null, null]` as a profile update), which no schema allows: refuse anything else.
fn require_object(bytes: &[u8]) -> Result<(), ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(());
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(invalid_json(&e));
    }
    let problem = "must be a JSON object".to_owned();
    Err(
        ApiError::new(ErrorCode::ValidationFailed, format!("body: {problem}"))
            .with_fields(BTreeMap::from([("body".to_owned(), problem)])),
    )
}

/// The largest JSON body a route accepts, as a request extension (set in [`super::router`] from
/// `max_body_bytes`), so that [`Json`] can refuse a too-long `Content-Length` before reading.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body may be at most {limit} bytes"),
    )
}

/// The request's `Content-Length`, if it has a readable one.
pub fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// A request body that could not be read: 408 `request_timeout` when it stalled for the body
/// timeout (`tower_http`'s `RequestBodyTimeoutLayer`), 400 otherwise.
pub fn body_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                ErrorCode::RequestTimeout,
                "the request body stopped arriving; send it without pauses",
            );
        }
        cause = c.source();
    }
    ApiError::new(
        ErrorCode::BadRequest,
        format!("the request body could not be read: {e}"),
    )
}

/// Parses a JSON body, telling syntax errors from shape errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = without_position(&inner.to_string());
                let (field, problem) = field_problem(&path, &message);
                ApiError::new(ErrorCode::ValidationFailed, format!("{field}: {problem}"))
                    .with_fields(BTreeMap::from([(field, problem)]))
            }
            _ => invalid_json(&inner),
        }
    })?;
    de.end().map_err(|e| invalid_json(&e))?;
    Ok(value)
}

fn invalid_json(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidJson,
        format!("the body is not valid JSON: {e}"),
    )
}

/// serde_json appends " at line L column C"; the field path says more to an API client.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Names the field a shape error is about: the path, or for missing/unknown fields at that path the
/// field named in the message.
fn field_problem(path: &str, message: &str) -> (String, String) {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    // serde_path_to_error already ends the path with an unknown field's name, not a missing one's.
    let join = |name: String| match path {
        "." => name,
        p if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        p => format!("{p}.{name}"),
    };
    if let Some(name) = named("missing field `") {
        return (join(name), "is required".to_owned());
    }
    if let Some(name) = named("unknown field `") {
        return (join(name), "is not a known field".to_owned());
    }
    let field = if path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    (field, message.to_owned())
}

/// A query string.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r| ApiError::new(ErrorCode::BadRequest, r.body_text()))
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r| ApiError::new(ErrorCode::BadRequest, r.body_text()))
    }
}

/// The signed-in caller, from `Authorization: Bearer <access token>`; the session is checked on
/// every request so logout takes effect immediately.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Auth(authenticate(&parts.headers, state).await?))
    }
}

/// The caller from `Authorization: Bearer <access token>` (for handlers that accept another
/// credential too, such as a signed download URL).
pub async fn authenticate(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Principal, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "sign in: send Authorization: Bearer <access token>",
        ));
    };
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "the Authorization scheme must be Bearer",
            )
        })?;
    Ok(state.accounts.authenticate(token).await?)
}

/// The client's address: the TCP peer (axum's `ConnectInfo`), or — when that peer is one of the
/// `trusted_proxies` — the address its `X-Forwarded-For` names (see [`client_ip`]).
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(
            &parts.headers,
            &parts.extensions,
            &state.trusted_proxies,
        )))
    }
}

/// The `User-Agent` a client sent, for the session list: cut to
/// [`SESSION_CLIENT_MAX`](crate::services::sessions::SESSION_CLIENT_MAX) characters, control
/// characters dropped; `None` when absent, blank or not text.
pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(crate::services::sessions::SESSION_CLIENT_MAX)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|v| !v.is_empty());
        Ok(Self(agent))
    }
}

/// The client's address. Without trusted proxies (the default) it is the TCP peer, whatever the
/// headers say — a client cannot pick its own address. From a trusted proxy it is the rightmost
/// `X-Forwarded-For` entry that is not a trusted proxy itself (entries further left were written
/// by the client and prove nothing); the peer when there is none. The unspecified address when the
/// router runs without connection info (never in the server itself).
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage where the nearest untrusted hop should be: do not guess further left.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeco_shared::auth::LoginRequest;

    #[test]
    fn json_errors_are_classified() {
        let e = parse_json::<LoginRequest>(b"{\"username\": ").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidJson);
        let e = parse_json::<LoginRequest>(br#"{"username": 5, "password": "x"}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ValidationFailed);
        let e = parse_json::<LoginRequest>(br#"{"username": "a"}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ValidationFailed);
        let e = parse_json::<LoginRequest>(br#"{"username": "a", "password": "b"} trailing"#)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidJson);
        assert!(parse_json::<LoginRequest>(br#"{"username": "a", "password": "b"}"#).is_ok());
        // serde alone fills a struct from an array; the extractor refuses it.
        assert!(parse_json::<LoginRequest>(br#"["a", "b"]"#).is_ok());
        assert_eq!(
            require_object(br#" ["a", "b"]"#).unwrap_err().code(),
            ErrorCode::ValidationFailed
        );
        assert_eq!(
            require_object(b"7").unwrap_err().code(),
            ErrorCode::ValidationFailed
        );
        assert_eq!(
            require_object(b"[1,").unwrap_err().code(),
            ErrorCode::InvalidJson
        );
        assert!(require_object(b" \n{}").is_ok());
    }

    #[test]
    fn field_names_come_from_path_or_message() {
        assert_eq!(
            field_problem(".", "missing field `password`"),
            ("password".into(), "is required".into())
        );
        assert_eq!(
            field_problem(
                ".",
                "unknown field `pwd`, expected one of `username`, `password`"
            ),
            ("pwd".into(), "is not a known field".into())
        );
        assert_eq!(
            field_problem(
                "pwd",
                "unknown field `pwd`, expected one of `username`, `password`"
            ),
            ("pwd".into(), "is not a known field".into())
        );
        assert_eq!(
            field_problem("user", "missing field `name`"),
            ("user.name".into(), "is required".into())
        );
        assert_eq!(
            field_problem("username", "invalid type: integer `5`, expected a string"),
            (
                "username".into(),
                "invalid type: integer `5`, expected a string".into()
            )
        );
        assert_eq!(without_position("oops at line 1 column 5"), "oops");
    }

    #[test]
    fn content_types() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&h));
    }
}
