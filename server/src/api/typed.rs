//! Handlers bound to their endpoint in [`jeco_shared::endpoints`].
//!
//! A JSON handler answers [`Reply<E>`], which only holds `E::Response`, and reads its body as
//! [`Body<E>`], which only holds `E::Request`; its route is registered at `E::PATH` (the
//! `#[utoipa::path(…, path = E::PATH)]` of the handler, which `routes!` serves). So a handler that
//! answers another type than the client engine reads for `E` does not compile — the bug class of
//! issue 13 — and the server test `endpoints` checks that every listed endpoint is served with its
//! method and that nothing is served that is not listed.

use super::errors::ApiError;
use super::extract::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jeco_shared::endpoints::Endpoint;

/// The success answer of endpoint `E`: a status and `E::Response` as JSON, or `204 No Content`
/// for endpoints that answer `()`.
///
/// Creating a channel answers the conversation, which is what the engine reads:
///
/// ```
/// use jeco_server::api::typed::Reply;
/// use jeco_shared::endpoints::CreateChannel;
/// fn answer(channel: jeco_shared::conversations::Conversation) -> Reply<CreateChannel> {
///     Reply::created(channel)
/// }
/// ```
///
/// and answering anything else does not compile (issue 13 answered one type and read another):
///
/// ```compile_fail
/// use jeco_server::api::typed::Reply;
/// use jeco_shared::endpoints::CreateChannel;
/// fn answer(channel: jeco_shared::teams::Channel) -> Reply<CreateChannel> {
///     Reply::created(channel)
/// }
/// ```
pub struct Reply<E: Endpoint> {
    status: StatusCode,
    body: E::Response,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl<E: Endpoint> Reply<E> {
    /// `200 OK` with the body.
    pub fn ok(body: E::Response) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// `201 Created` with the body.
    pub fn created(body: E::Response) -> Self {
        Self::with_status(StatusCode::CREATED, body)
    }

    /// `201` when a get-or-create call created the resource now, `200` when it already existed.
    pub fn created_or_ok(created: bool, body: E::Response) -> Self {
        Self::with_status(super::created_or_ok(created), body)
    }

    /// Any status with the body (for example `503` from the health check).
    pub fn with_status(status: StatusCode, body: E::Response) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// Adds response headers (where an upload stands, its `Location`).
    pub fn with_headers(
        mut self,
        headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
    ) -> Self {
        self.headers.extend(headers);
        self
    }
}

impl<E: Endpoint<Response = ()>> Reply<E> {
    /// `204 No Content`.
    pub fn no_content() -> Self {
        Self::with_status(StatusCode::NO_CONTENT, ())
    }
}

impl<E: Endpoint> IntoResponse for Reply<E> {
    fn into_response(self) -> Response {
        let mut response = if self.status == StatusCode::NO_CONTENT {
            self.status.into_response()
        } else {
            (self.status, axum::Json(self.body)).into_response()
        };
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// The JSON body of endpoint `E`, with the rejections of [`Json`] (the one error shape).
pub struct Body<E: Endpoint>(pub E::Request);

impl<E, S> FromRequest<S> for Body<E>
where
    E: Endpoint,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(body) = Json::<E::Request>::from_request(req, state).await?;
        Ok(Body(body))
    }
}
