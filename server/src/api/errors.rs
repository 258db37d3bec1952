//! The one HTTP error shape, [`jeco_shared::ErrorBody`], and the conversions into it.
//!
//! Handlers return `Result<_, ApiError>`; a service error becomes an `ApiError` with the status its
//! code implies. Every error body is built in `ApiError::into_response`, which adds the id of the
//! request being answered (`error.request_id`, see [`super::observe`]); the connection caps'
//! canned 503 (`connections::refuse`) answers before there is a request, so it has none. Internal failures are logged here with their cause and shown to clients only as
//! `internal`, so no database detail leaks.
//!
//! [`fill_empty_errors`] gives the error shape to error responses that something other than our
//! handlers produced inside the router with no body (the docs page's static files, library
//! extractors). What hyper itself answers before a request reaches the router cannot be reached
//! from here: `400` for a malformed request line, method, header or HTTP version, `414` for a
//! request target too long and `431` for a request head over the buffer limit go out with an
//! empty body and the connection is closed (hyper's `on_error`, no hook); a connection past the
//! connection caps gets the shape from `connections::refuse`; a request head not finished within
//! `http_header_timeout_ms` gets no answer at all, only the close.

use crate::services::ServiceError;
use crate::services::lockout::retry_after_secs;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jeco_shared::{ErrorBody, ErrorCode};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    fields: Option<BTreeMap<String, String>>,
    retry_after: Option<Duration>,
    status: Option<StatusCode>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: None,
            retry_after: None,
            status: None,
            headers: Vec::new(),
        }
    }

    /// Adds a response header (for example where a resumable upload stands).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn with_fields(mut self, fields: BTreeMap<String, String>) -> Self {
        self.fields = Some(fields);
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Overrides the status implied by the code (for example 503 during shutdown).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let code = e.code();
        match e {
            ServiceError::Validation(fields) => {
                ApiError::new(code, "some fields are invalid").with_fields(fields)
            }
            ServiceError::QuotaExceeded { quota, used } => ApiError::new(code, e.to_string())
                .with_fields(BTreeMap::from([
                    (
                        "remaining_bytes".to_owned(),
                        quota.saturating_sub(used).to_string(),
                    ),
                    ("quota_bytes".to_owned(), quota.to_string()),
                    ("used_bytes".to_owned(), used.to_string()),
                ])),
            ServiceError::AccountLocked { retry_after }
            | ServiceError::RateLimited { retry_after }
            | ServiceError::UploadRateLimited { retry_after }
            | ServiceError::MailRateLimited { retry_after }
            | ServiceError::ExportRateLimited { retry_after } => {
                ApiError::new(code, e.to_string()).with_retry_after(retry_after)
            }
            ServiceError::UploadOffsetMismatch { offset, .. } => ApiError::new(code, e.to_string())
                .with_header(
                    HeaderName::from_static(jeco_shared::media::UPLOAD_OFFSET_HEADER),
                    HeaderValue::from(offset),
                ),
            ServiceError::Storage(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                ApiError::new(code, "internal server error")
            }
            other => ApiError::new(code, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        let mut body = ErrorBody::new(self.code, self.message);
        if let Some(fields) = self.fields {
            body = body.with_fields(fields);
        }
        // The id of the request being answered (every error of a request is built here).
        if let Some(id) = super::observe::current_request_id() {
            body = body.with_request_id(id);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(after) = self.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(after)),
            );
        }
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Fills an empty error response (4xx/5xx without a body, not to a `HEAD`) with the one error
/// shape, keeping its status and headers, with the code its status implies.
pub async fn fill_empty_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let head = request.method() == axum::http::Method::HEAD;
    let response = next.run(request).await;
    let status = response.status();
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    if head || !empty || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::RouteNotFound,
        408 => ErrorCode::RequestTimeout,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        416 => ErrorCode::RangeNotSatisfiable,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (mut parts, _) = response.into_parts();
    let filled = ApiError::new(code, reason)
        .with_status(status)
        .into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in filled.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, filled.into_body())
}

/// Fallback for unknown paths.
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {}", uri.path()),
    )
}

/// Fallback for known paths with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("{} is not allowed on {}", method, uri.path()),
    )
    .with_status(StatusCode::METHOD_NOT_ALLOWED)
}
