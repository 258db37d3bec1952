//! Media over HTTP: resumable uploads (`/uploads`), attachment downloads (`/attachments`) and
//! avatars (`/users/.../avatar`, `/teams/{id}/avatar`).
//!
//! Downloads are streamed from the object store with the detected `Content-Type`,
//! `X-Content-Type-Options: nosniff`, a `Content-Disposition` that is `attachment` for anything a
//! browser could execute, a restrictive `Content-Security-Policy`, an `ETag` (the content hash) and
//! `Range` requests (206/416; several ranges coalesced into one) so audio and video can seek. Access is decided by the media
//! service: with the bearer token, or with a signed URL's `user`/`expires`/`sig` query.

use super::errors::ApiError;
use super::extract::{Auth, Path, Query, authenticate};
use super::typed::{self, Reply};
use crate::services::media::signed::Grant;
use crate::services::media::{Download, Viewer};
use crate::state::AppState;
use crate::storage::AvatarOwner;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use jeco_shared::endpoints::{
    CancelUpload, CreateUpload, Endpoint, GetAttachment, MediaUsage, RemoveMyAvatar,
    SignedAttachmentUrl, UploadStatus,
};
use jeco_shared::media::{
    Attachment, CreateUploadRequest, MediaUsageReport, MediaVariant, SignedUrl,
    UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, Upload,
};
use jeco_shared::users::User;
use jeco_shared::{AttachmentId, ErrorBody, ErrorCode, TeamId, UserId};
use serde::Deserialize;
use std::ops::Range;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_upload))
        .routes(routes!(media_usage))
        .routes(routes!(upload_status, append, cancel_upload))
        .routes(routes!(attachment))
        .routes(routes!(content))
        .routes(routes!(thumbnail))
        .routes(routes!(signed_url))
        .routes(routes!(put_my_avatar, delete_my_avatar))
        .routes(routes!(user_avatar))
        .routes(routes!(team_avatar, put_team_avatar, delete_team_avatar))
}

fn offset_headers(u: &Upload) -> [(HeaderName, HeaderValue); 3] {
    [
        (
            HeaderName::from_static(UPLOAD_OFFSET_HEADER),
            HeaderValue::from(u.offset),
        ),
        (
            HeaderName::from_static(UPLOAD_LENGTH_HEADER),
            HeaderValue::from(u.size),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Storage used per user, for server admins: what counts toward each user's quota.
#[utoipa::path(get, path = MediaUsage::PATH, tag = "media", security(("bearer" = [])),
    responses(
        (status = 200, description = "Users with media, most bytes first", body = MediaUsageReport),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a server admin", body = ErrorBody),
    ))]
pub async fn media_usage(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<MediaUsage>, ApiError> {
    Ok(Reply::ok(state.media.usage(&who).await?))
}

/// Open a resumable upload. Then send the bytes with `PATCH /uploads/{id}`.
#[utoipa::path(post, path = CreateUpload::PATH, tag = "media", security(("bearer" = [])),
    request_body = CreateUploadRequest,
    responses(
        (status = 201, description = "Opened at offset 0 (header Location: the upload)", body = Upload),
        (status = 400, description = "Invalid name, sha256 or voice metadata", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "The declared size is above the server's limit (payload_too_large), or the upload would pass the caller's storage quota (quota_exceeded; fields: remaining_bytes, quota_bytes, used_bytes)", body = ErrorBody),
        (status = 429, description = "Too many new uploads; see Retry-After", body = ErrorBody),
    ))]
pub async fn create_upload(
    State(state): State<AppState>,
    Auth(who): Auth,
    typed::Body(req): typed::Body<CreateUpload>,
) -> Result<Reply<CreateUpload>, ApiError> {
    let upload = state.media.create_upload(&who, req).await?;
    let location = format!("{}/uploads/{}", jeco_shared::API_PREFIX, upload.id);
    let location = HeaderValue::from_str(&location)
        .ok()
        .map(|v| (header::LOCATION, v));
    let headers = offset_headers(&upload);
    Ok(Reply::created(upload)
        .with_headers(headers)
        .with_headers(location))
}

/// Where an upload stands: how many bytes the server has (also in the `Upload-Offset` header,
/// which `HEAD` returns alone). Resume from there after a disconnect.
#[utoipa::path(get, path = UploadStatus::PATH, tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses(
        (status = 200, body = Upload, headers(("Upload-Offset" = u64, description = "Bytes received"))),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such upload of the caller's (or it has expired)", body = ErrorBody),
    ))]
pub async fn upload_status(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Reply<UploadStatus>, ApiError> {
    let upload = state.media.upload_status(&who, &id).await?;
    let headers = offset_headers(&upload);
    Ok(Reply::ok(upload).with_headers(headers))
}

fn is_chunk_type(headers: &HeaderMap) -> bool {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(v) => {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/offset+octet-stream")
                || mime.eq_ignore_ascii_case("application/octet-stream")
        }
    }
}

/// Append bytes at `Upload-Offset` (which must equal the server's offset). The chunk that reaches
/// the declared size completes the upload: the answer then carries the `attachment`.
#[utoipa::path(patch, path = "/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Upload id"),
        ("Upload-Offset" = u64, Header, description = "Where this chunk starts"),
    ),
    request_body(content = [u8], content_type = "application/offset+octet-stream",
        description = "The next bytes (any amount up to the declared size)"),
    responses(
        (status = 200, description = "Appended; complete when `attachment` is set", body = Upload),
        (status = 400, description = "Missing Upload-Offset, or the sha256 did not match (the upload is discarded)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such upload of the caller's", body = ErrorBody),
        (status = 409, description = "`upload_offset_mismatch` (see the Upload-Offset header), or another request is writing", body = ErrorBody),
        (status = 413, description = "More bytes than declared: the upload is discarded", body = ErrorBody),
        (status = 415, description = "Not an octet stream", body = ErrorBody),
    ))]
pub async fn append(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !is_chunk_type(&headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the bytes as application/offset+octet-stream",
        ));
    }
    let offset = headers
        .get(UPLOAD_OFFSET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                "the Upload-Offset header (a byte offset) is required",
            )
        })?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let upload = state
        .media
        .append(&who, &id, offset, declared, body.into_data_stream())
        .await?;
    Ok((offset_headers(&upload), axum::Json(&upload)).into_response())
}

/// Abandon an upload; its bytes are deleted.
#[utoipa::path(delete, path = CancelUpload::PATH, tag = "media", security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such upload of the caller's", body = ErrorBody),
    ))]
pub async fn cancel_upload(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Reply<CancelUpload>, ApiError> {
    state.media.cancel_upload(&who, &id).await?;
    Ok(Reply::no_content())
}

/// An attachment's metadata, with the current thumbnail state.
#[utoipa::path(get, path = GetAttachment::PATH, tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, body = Attachment),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such attachment, or not a member of its conversation", body = ErrorBody),
    ))]
pub async fn attachment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<GetAttachment>, ApiError> {
    Ok(Reply::ok(
        state.media.attachment(&who, AttachmentId(id)).await?,
    ))
}

/// The query of a signed URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// Signed URLs: the user it was made for.
    pub user: Option<i64>,
    /// Signed URLs: expiry, Unix seconds.
    pub expires: Option<i64>,
    /// Signed URLs: the signature.
    pub sig: Option<String>,
}

/// The viewer: from a signed URL's query when it has one, else from the bearer token.
async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
    q: &SignedQuery,
    id: AttachmentId,
    variant: MediaVariant,
) -> Result<Viewer, ApiError> {
    match (&q.sig, q.user, q.expires) {
        (Some(sig), Some(user), Some(expires)) => {
            let grant = Grant {
                attachment: id,
                variant,
                user: UserId(user),
                expires,
            };
            state
                .media
                .redeem(&grant, sig)
                .map_err(|e| ApiError::from(e).with_status(StatusCode::FORBIDDEN))
        }
        (None, None, None) => Ok(Viewer::from(&authenticate(headers, state).await?)),
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "a signed URL needs user, expires and sig",
        )),
    }
}

/// The byte range to send for `Range: bytes=…` against a file of `size` bytes (RFC 9110 §14):
/// `Ok(None)` to send the whole file (no header, another unit, or a header that does not parse),
/// `Ok(Some(range))` for a 206, `Err(())` for a 416.
///
/// Every number comes from the client, so nothing here may overflow: positions past `u64::MAX`
/// are clamped (an end that large means "to the end"; a start that large lies outside the file).
/// Several ranges are coalesced into the one range covering all satisfiable ones (RFC 9110
/// allows coalescing; a single part is what every media player handles); a range whose end is
/// before its start is refused with 416, as nginx does, rather than silently ignored.
fn parse_range(value: Option<&str>, size: u64) -> Result<Option<Range<u64>>, ()> {
    let Some(set) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    let mut covering: Option<Range<u64>> = None;
    let mut any = false;
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((first, last)) = spec.split_once('-') else {
            return Ok(None);
        };
        let (first, last) = (first.trim(), last.trim());
        let range = match (position(first), position(last)) {
            (Some(s), Some(e)) if e < s => return Err(()),
            // `e < size` here, so `e + 1` cannot overflow.
            (Some(s), Some(e)) if s < size => Some(s..e.min(size - 1) + 1),
            (Some(s), None) if last.is_empty() && s < size => Some(s..size),
            (Some(_), _) if !last.is_empty() && position(last).is_none() => return Ok(None),
            (Some(_), _) => None,
            (None, Some(n)) if first.is_empty() => {
                (n > 0 && size > 0).then(|| size.saturating_sub(n)..size)
            }
            _ => return Ok(None),
        };
        any = true;
        if let Some(r) = range {
            covering = Some(match covering {
                Some(c) => c.start.min(r.start)..c.end.max(r.end),
                None => r,
            });
        }
    }
    match covering {
        Some(r) => Ok(Some(r)),
        None if any => Err(()),
        None => Ok(None),
    }
}

/// A decimal byte position; one too large for `u64` saturates (no real file is that long).
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

/// Headers every media response carries, whatever it holds.
fn harden(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Opened directly in a browser, the file can run nothing and load nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
}

/// Streams a download with its labels.
fn send(
    d: Download,
    status: StatusCode,
    length: u64,
    content_range: Option<String>,
    cache: &'static str,
) -> Response {
    let mut response = Response::new(Body::from_stream(d.fetched.stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    harden(h);
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(v) = HeaderValue::from_str(&d.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let disposition = match &d.file_name {
        Some(name) => crate::services::media::sniff::content_disposition(d.inline, name),
        None => "inline".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(range) = content_range
        && let Ok(v) = HeaderValue::from_str(&range)
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

/// `304 Not Modified` when the client already has this version.
fn not_modified(headers: &HeaderMap, etag: &str, cache: &'static str) -> Option<Response> {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    matches.then(|| {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        let h = r.headers_mut();
        harden(h);
        if let Ok(v) = HeaderValue::from_str(etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        r
    })
}

/// Attachments never change: a version is cached for good, privately.
const ATTACHMENT_CACHE: &str = "private, max-age=31536000, immutable";
/// Avatars keep their URL but change: revalidate with the ETag each time.
const AVATAR_CACHE: &str = "private, no-cache";

async fn download(
    state: AppState,
    headers: HeaderMap,
    q: SignedQuery,
    id: AttachmentId,
    variant: MediaVariant,
) -> Result<Response, ApiError> {
    let viewer = viewer(&state, &headers, &q, id, variant).await?;
    let a = state.media.authorize(viewer, id).await?;
    let etag = match variant {
        MediaVariant::Content => format!("\"{}\"", a.blob.sha256),
        MediaVariant::Thumbnail => format!("\"{}-thumb\"", a.blob.sha256),
    };
    if let Some(r) = not_modified(&headers, &etag, ATTACHMENT_CACHE) {
        return Ok(r);
    }
    let size = a.blob.size;
    // `If-Range` with another validator means "the version I have changed": send it whole.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let range = match variant {
        MediaVariant::Content if if_range_ok => {
            let requested = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
            match parse_range(requested, size) {
                Ok(r) => r,
                Err(()) => {
                    let mut e = ApiError::new(
                        ErrorCode::RangeNotSatisfiable,
                        format!("the file has {size} bytes"),
                    )
                    .into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                        e.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return Ok(e);
                }
            }
        }
        _ => None,
    };
    let d = state.media.open(&a, variant, range.clone()).await?;
    Ok(match range {
        Some(r) => {
            let content_range = format!("bytes {}-{}/{size}", r.start, r.end - 1);
            send(
                d,
                StatusCode::PARTIAL_CONTENT,
                r.end - r.start,
                Some(content_range),
                ATTACHMENT_CACHE,
            )
        }
        None => {
            let length = d.fetched.total;
            send(d, StatusCode::OK, length, None, ATTACHMENT_CACHE)
        }
    })
}

/// The file. Members of the message's conversation (and the uploader before it is sent) only —
/// with the bearer token, or a signed URL from `POST /attachments/{id}/url` and no token. Supports
/// `Range` (206), `If-None-Match` (304) and `If-Range`.
#[utoipa::path(get, path = "/attachments/{id}/content", tag = "media", security(("bearer" = []), ()),
    params(("id" = i64, Path, description = "Attachment id"), SignedQuery),
    responses(
        (status = 200, description = "The bytes, labelled with the detected type", body = [u8], content_type = "*/*"),
        (status = 206, description = "The requested range (Content-Range)", body = [u8], content_type = "*/*"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 401, description = "Neither a token nor a signed URL", body = ErrorBody),
        (status = 403, description = "A signed URL that is invalid or expired", body = ErrorBody),
        (status = 404, description = "No such attachment, or not a member of its conversation", body = ErrorBody),
        (status = 416, description = "The range lies outside the file", body = ErrorBody),
    ))]
pub async fn content(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<SignedQuery>,
) -> Result<Response, ApiError> {
    download(state, headers, q, AttachmentId(id), MediaVariant::Content).await
}

/// An image attachment's thumbnail (at most 480 px a side, upright), once `has_thumbnail` is
/// true. Same access rules as the content.
#[utoipa::path(get, path = "/attachments/{id}/thumbnail", tag = "media", security(("bearer" = []), ()),
    params(("id" = i64, Path, description = "Attachment id"), SignedQuery),
    responses(
        (status = 200, description = "A JPEG or PNG", body = [u8], content_type = "image/*"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 401, description = "Neither a token nor a signed URL", body = ErrorBody),
        (status = 403, description = "A signed URL that is invalid or expired", body = ErrorBody),
        (status = 404, description = "No such attachment or thumbnail (yet), or not a member", body = ErrorBody),
    ))]
pub async fn thumbnail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<SignedQuery>,
) -> Result<Response, ApiError> {
    download(state, headers, q, AttachmentId(id), MediaVariant::Thumbnail).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedUrlParams {
    /// `content` (default) or `thumbnail`.
    #[serde(default)]
    pub variant: MediaVariant,
}

/// A short-lived URL for the attachment that works without an `Authorization` header (for
/// `<img src>` and `<audio src>`). It is bound to the caller and stops working when the caller
/// leaves the conversation or it expires (minutes).
#[utoipa::path(post, path = SignedAttachmentUrl::PATH, tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Attachment id"), SignedUrlParams),
    responses(
        (status = 200, body = SignedUrl),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such attachment (or thumbnail), or not a member", body = ErrorBody),
    ))]
pub async fn signed_url(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    Query(p): Query<SignedUrlParams>,
) -> Result<Reply<SignedAttachmentUrl>, ApiError> {
    Ok(Reply::ok(
        state
            .media
            .signed_url(&who, AttachmentId(id), p.variant)
            .await?,
    ))
}

/// Reads a whole request body of at most `limit` bytes (413 beyond, without reading on).
async fn read_limited(body: Body, limit: u64) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the image may be at most {limit} bytes"),
        )
    };
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| super::extract::body_error(&e))?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn set_avatar(
    state: &AppState,
    who: &crate::services::Principal,
    owner: AvatarOwner,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), ApiError> {
    let limit = state.media.settings().avatar_max_bytes;
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the image may be at most {limit} bytes"),
        ));
    }
    let image = read_limited(body, limit).await?;
    state.media.set_avatar(who, owner, image).await?;
    Ok(())
}

/// Set the caller's profile picture: the body is a JPEG, PNG, GIF or WebP image (its type is
/// detected from the bytes); it is turned upright, centre-cropped to a square and resized.
#[utoipa::path(put, path = "/users/me/avatar", tag = "media", security(("bearer" = [])),
    request_body(content = [u8], content_type = "image/*"),
    responses(
        (status = 200, description = "The caller's profile with the new `avatar` version", body = User),
        (status = 400, description = "The image cannot be read", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "Larger than the avatar limit", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image", body = ErrorBody),
    ))]
pub async fn put_my_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<User>, ApiError> {
    set_avatar(&state, &who, AvatarOwner::User(who.user_id), &headers, body).await?;
    Ok(axum::Json(state.accounts.me(&who).await?))
}

/// Remove the caller's profile picture.
#[utoipa::path(delete, path = RemoveMyAvatar::PATH, tag = "media", security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn delete_my_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<RemoveMyAvatar>, ApiError> {
    state
        .media
        .clear_avatar(&who, AvatarOwner::User(who.user_id))
        .await?;
    Ok(Reply::no_content())
}

async fn avatar_response(
    state: &AppState,
    who: &crate::services::Principal,
    owner: AvatarOwner,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let d = state.media.avatar(who, owner).await?;
    if let Some(r) = not_modified(headers, &d.etag, AVATAR_CACHE) {
        return Ok(r);
    }
    let length = d.fetched.total;
    Ok(send(d, StatusCode::OK, length, None, AVATAR_CACHE))
}

/// A user's profile picture (any signed-in user). Revalidate with `If-None-Match`.
#[utoipa::path(get, path = "/users/{id}/avatar", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The picture (JPEG or PNG, 256×256)", body = [u8], content_type = "image/*"),
        (status = 304, description = "Not modified"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such user, or no picture", body = ErrorBody),
    ))]
pub async fn user_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    avatar_response(&state, &who, AvatarOwner::User(UserId(id)), &headers).await
}

/// A team's picture (team members).
#[utoipa::path(get, path = "/teams/{id}/avatar", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "The picture (JPEG or PNG, 256×256)", body = [u8], content_type = "image/*"),
        (status = 304, description = "Not modified"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such team, not a member, or no picture", body = ErrorBody),
    ))]
pub async fn team_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    avatar_response(&state, &who, AvatarOwner::Team(TeamId(id)), &headers).await
}

/// Set a team's picture (team admins). Same rules as the profile picture.
#[utoipa::path(put, path = "/teams/{id}/avatar", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    request_body(content = [u8], content_type = "image/*"),
    responses(
        (status = 204, description = "Set; the team's `avatar` version changed"),
        (status = 400, description = "The image cannot be read", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a team admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
        (status = 413, description = "Larger than the avatar limit", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image", body = ErrorBody),
    ))]
pub async fn put_team_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    set_avatar(&state, &who, AvatarOwner::Team(TeamId(id)), &headers, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a team's picture (team admins).
#[utoipa::path(delete, path = "/teams/{id}/avatar", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Team id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a team admin", body = ErrorBody),
        (status = 404, description = "No such team, or not a member", body = ErrorBody),
    ))]
pub async fn delete_team_avatar(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .media
        .clear_avatar(&who, AvatarOwner::Team(TeamId(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let max = u64::MAX;
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Ok(Some(0..4)));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Ok(Some(5..10)));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some(7..10)));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Ok(Some(0..10)));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Ok(Some(8..10)));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=-0"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Ok(Some(0..6)));
        assert_eq!(parse_range(Some("bytes=20-30, 4-5"), 10), Ok(Some(4..6)));
        assert_eq!(parse_range(Some("bytes=20-30,40-"), 10), Err(()));
        assert_eq!(parse_range(Some("items=0-1"), 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=x-2"), 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-x"), 10), Ok(None));
        // Numbers at and past u64::MAX: never an overflow.
        let whole = format!("bytes=0-{max}");
        assert_eq!(parse_range(Some(&whole), 10), Ok(Some(0..10)));
        let past = "bytes=0-99999999999999999999999";
        assert_eq!(parse_range(Some(past), 10), Ok(Some(0..10)));
        let far = format!("bytes={max}-{max}");
        assert_eq!(parse_range(Some(&far), 10), Err(()));
        let suffix = format!("bytes=-{max}");
        assert_eq!(parse_range(Some(&suffix), 10), Ok(Some(0..10)));
        assert_eq!(parse_range(Some(&whole), max), Ok(Some(0..max)));
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Err(()));
        assert_eq!(parse_range(Some("bytes=-1"), 0), Err(()));
    }
}
