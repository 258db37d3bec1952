//! Media (`/api/v1/uploads/*`, `/api/v1/attachments/*`, avatars): files, images and voice notes.
//!
//! Uploading is resumable, in the manner of tus:
//!
//! 1. `POST /uploads` with a [`CreateUploadRequest`] (name, exact size, kind, optional sha256 and
//!    voice-note metadata) opens an [`Upload`] at offset 0. A size above the server's limit is
//!    refused at once with 413.
//! 2. `PATCH /uploads/{id}` with header `Upload-Offset: <offset>` and the next bytes as an
//!    `application/offset+octet-stream` (or `application/octet-stream`) body appends them. Any
//!    chunking works; a chunk that does not start where the server is gets 409
//!    `upload_offset_mismatch`. Bytes beyond the declared size get 413 and the whole upload is
//!    discarded.
//! 3. After a disconnect, `HEAD /uploads/{id}` (header `Upload-Offset`) or `GET /uploads/{id}`
//!    tells how much the server has; continue from there.
//! 4. The chunk that reaches the declared size completes the upload: the server checks the sha256
//!    (when one was declared), detects the content type from the bytes (the name and the client's
//!    claims are never trusted for it), stores the blob once per content (deduplicated by sha256)
//!    and answers with [`Upload::attachment`] set.
//!
//! The attachment is then sent with a message (`attachment_ids` of a send). Uploads that are not
//! attached within the server's time limit are deleted. Attachments are served only to members of
//! the message's conversation (and to the uploader before it is attached): with the bearer token,
//! or through a short-lived [`SignedUrl`] for places that cannot send headers (`<img src>`).

use crate::ids::AttachmentId;
use serde::{Deserialize, Serialize};

/// Most attachments on one message.
pub const ATTACHMENTS_PER_MESSAGE_MAX: usize = 10;
/// Longest file name, in characters (longer names are shortened, keeping the extension).
pub const FILE_NAME_MAX: usize = 200;
/// Most waveform peaks of a voice note.
pub const WAVEFORM_PEAKS_MAX: usize = 256;
/// Longest voice note, in milliseconds (one hour).
pub const VOICE_DURATION_MAX_MS: u32 = 60 * 60 * 1000;
/// Request and response header carrying an upload's offset, in bytes.
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Response header carrying an upload's declared size, in bytes.
pub const UPLOAD_LENGTH_HEADER: &str = "upload-length";

/// What an attachment is for, which decides how clients show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// Any file, shown as a download.
    #[default]
    File,
    /// A JPEG, PNG, GIF or WebP image with its dimensions and a thumbnail.
    Image,
    /// A recorded voice message (Ogg/Opus, WebM/Opus, M4A, MP3, WAV…) with duration and waveform.
    Voice,
}

/// A stored file, as attached to a message (or waiting to be).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Attachment {
    pub id: AttachmentId,
    /// `image` only when the bytes are an image the server can read; `voice` only when they are
    /// audio. Anything else is a `file`, whatever the uploader asked for.
    pub kind: AttachmentKind,
    /// The uploader's file name, without any directory part.
    pub name: String,
    /// Detected from the bytes (`application/octet-stream` when unknown), never from the name.
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the content (also its `ETag`).
    pub sha256: String,
    /// Images: upright width and height in pixels (EXIF orientation applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Voice notes: length in milliseconds, as recorded by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// Voice notes: loudness peaks 0–255 for drawing the waveform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
    /// A thumbnail is ready at `GET /attachments/{id}/thumbnail` (images; made in the background,
    /// so it can turn true a moment after the upload).
    pub has_thumbnail: bool,
    pub created_at: String,
}

/// `POST /api/v1/uploads`: opens a resumable upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// The file's name (a directory part is dropped).
    pub name: String,
    /// Exact size in bytes.
    pub size: u64,
    /// What the client means it to be; the server checks it against the bytes.
    #[serde(default)]
    pub kind: AttachmentKind,
    /// Lowercase hex SHA-256 of the whole content; the upload fails if the bytes do not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Voice notes: length in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// Voice notes: up to 256 loudness peaks, 0–255.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
}

/// The state of a resumable upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Upload {
    /// Opaque, unguessable.
    pub id: String,
    pub name: String,
    /// Declared size in bytes.
    pub size: u64,
    /// Bytes the server has; the next chunk starts here.
    pub offset: u64,
    /// An upload left without progress until then is discarded.
    pub expires_at: String,
    /// Set once all bytes have arrived: the stored file, ready to be attached to a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// Which rendition of an attachment a signed URL is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MediaVariant {
    #[default]
    Content,
    Thumbnail,
}

/// `POST /api/v1/attachments/{id}/url`: a short-lived link that needs no `Authorization` header.
/// It works only for the user it was made for, and only while that user is still a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedUrl {
    /// Path and query, relative to the server (for example
    /// `/api/v1/attachments/7/content?user=3&expires=…&sig=…`).
    pub url: String,
    pub expires_at: String,
}

/// `GET /api/v1/admin/media-usage` (server admins): storage used per user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediaUsageReport {
    /// The per-user quota in bytes; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    /// Users with any attachment or unfinished upload, most bytes first.
    pub users: Vec<MediaUsage>,
}

/// One user's storage. `used_bytes` is what counts toward the quota: every attachment they
/// uploaded at its full size (even when identical content is stored once for several users —
/// deduplication saves the server space, it does not lend quota) plus the declared size of their
/// unfinished uploads. Avatars do not count (they are resized to a small fixed size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediaUsage {
    pub user_id: crate::ids::UserId,
    pub username: String,
    pub used_bytes: u64,
    pub attachments: u64,
    pub attachment_bytes: u64,
    pub uploads_in_progress: u64,
    pub upload_bytes: u64,
}
