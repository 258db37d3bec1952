//! `GET /api/v1/users/me/export`: "export my data", a zip of the caller's profile, messages and
//! files (layout in [`jeco_shared::export`]). Thin: the service builds the archive and decides
//! whose data it holds ([`crate::services::export`]); this streams the finished file.

use super::errors::ApiError;
use super::extract::Auth;
use crate::services::export::Running;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use jeco_shared::ErrorBody;
use tokio::io::AsyncReadExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_my_data))
}

/// Bytes read from the finished archive per chunk sent.
const CHUNK: usize = 64 * 1024;

/// Everything the caller wrote, as a zip: `profile.json` (profile and email), `messages.json`
/// (every message they authored that is not deleted, in every conversation, with the
/// conversation's name and kind, times, thread parent and their own reactions),
/// `files/<id>-<name>` (the files they attached) and `avatar`. Other people's messages are not
/// included. One export at a time per user, three an hour.
#[utoipa::path(get, path = "/users/me/export", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The zip (Content-Length set; Content-Disposition: attachment)", body = [u8], content_type = "application/zip"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "An export of the caller's data is being made or downloaded now (conflict)", body = ErrorBody),
        (status = 429, description = "Too many exports this hour; see Retry-After", body = ErrorBody),
    ))]
pub async fn export_my_data(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Response, ApiError> {
    let export = state.exports.export(&who).await?;
    let len = export.len;
    let file = tokio::fs::File::from_std(export.file);
    let body = Body::from_stream(chunks(file, export.running));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"jeco-export.zip\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The file's bytes; the export counts as running (`running`) until the stream is dropped.
fn chunks(
    file: tokio::fs::File,
    running: Running,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    // `None` after an error: the stream ends there (the response is cut, not looped).
    futures_util::stream::unfold(Some((file, running)), |state| async move {
        let (mut file, running) = state?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some((file, running))))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
