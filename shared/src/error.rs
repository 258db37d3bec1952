//! The one error shape every client sees.
//!
//! HTTP errors are `{"error": {"code": "...", "message": "...", "fields": {...}}}`; WebSocket error
//! frames carry the same [`ErrorCode`]. Clients switch on `code`, never on `message`, which is prose for
//! people and may change.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Machine-readable error codes, `snake_case` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON or does not have the expected shape.
    InvalidJson,
    /// The body parsed but some fields are invalid; `fields` names them.
    ValidationFailed,
    /// The request is malformed in some other way (bad query string, bad path parameter).
    BadRequest,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The request's Content-Type is not `application/json`.
    UnsupportedMediaType,
    /// No credentials were presented where they are required.
    Unauthorized,
    /// Wrong username or password.
    InvalidCredentials,
    /// The access token is malformed or its signature does not verify.
    TokenInvalid,
    /// The access token has expired; refresh it.
    TokenExpired,
    /// The session behind the token was logged out or revoked.
    TokenRevoked,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// No such resource (or the caller may not know it exists).
    NotFound,
    /// No such route or method.
    RouteNotFound,
    /// The username is already registered (case-insensitively).
    UsernameTaken,
    /// Too many requests; retry after `Retry-After` seconds.
    RateLimited,
    /// Too many failed logins for this account; retry after `Retry-After` seconds.
    AccountLocked,
    /// The client's protocol major version differs from the server's.
    ProtocolMismatch,
    /// A WebSocket frame could not be parsed.
    MalformedFrame,
    /// A WebSocket frame has a `type` the server does not know.
    UnknownFrame,
    /// A WebSocket frame was larger than the server accepts.
    FrameTooLarge,
    /// A frame that needs the handshake was sent before it, or a second hello.
    HandshakeRequired,
    /// Something failed on the server; it was logged.
    Internal,
    /// No invitation has this code.
    InviteNotFound,
    /// The invitation's expiry has passed.
    InviteExpired,
    /// The invitation was revoked by a team admin.
    InviteRevoked,
    /// The invitation has been used as often as it allows.
    InviteUsedUp,
    /// The channel is archived: readable, but nothing new may be posted.
    ConversationArchived,
    /// A team's owner must transfer ownership before leaving.
    OwnerMustTransfer,
    /// The request conflicts with the current state (for example a contact request that is already
    /// pending, or one that was already answered).
    Conflict,
    /// A resumable upload's chunk did not start at the offset the server has; the answer's
    /// `Upload-Offset` header (and `HEAD` on the upload) tells where to continue.
    UploadOffsetMismatch,
    /// A `Range` request asked for bytes outside the file.
    RangeNotSatisfiable,
    /// The request body stalled: no bytes arrived for the server's body timeout (HTTP 408).
    RequestTimeout,
    /// The server has no room for this connection now (too many open connections in total or
    /// from this address; HTTP 503 with `Retry-After`). Retry later, with fewer connections.
    Unavailable,
    /// An image's dimensions would need more memory to decode than the server allows (a
    /// decompression bomb, or simply too many pixels). Send a smaller image.
    ImageTooLarge,
    /// The upload would pass the user's storage quota. `fields` carry `remaining_bytes`,
    /// `quota_bytes` and `used_bytes` (decimal strings); delete messages with files to free space.
    QuotaExceeded,
    /// A one-time code or token (email verification code, password-reset token) that is not one
    /// the server issued, or whose attempts are used up. Ask for a new one.
    CodeInvalid,
    /// The code or token is past its expiry. Ask for a new one.
    CodeExpired,
    /// The code or token was already used. Ask for a new one.
    CodeUsed,
    /// A server admin deactivated this account: it cannot sign in until reactivated. Only said to
    /// whoever gives the account's right password.
    AccountDeactivated,
    /// The change would leave the server without an active admin (removing or deactivating the
    /// last one). Make someone else an admin first.
    LastAdmin,
    /// A search query that does not parse or passes a limit (length, terms, filters); the message
    /// says what is wrong, in terms of Jeco's search language (`jeco_shared::search::query`).
    InvalidQuery,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::BadRequest => "bad_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TokenInvalid => "token_invalid",
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::UsernameTaken => "username_taken",
            Self::RateLimited => "rate_limited",
            Self::AccountLocked => "account_locked",
            Self::ProtocolMismatch => "protocol_mismatch",
            Self::MalformedFrame => "malformed_frame",
            Self::UnknownFrame => "unknown_frame",
            Self::FrameTooLarge => "frame_too_large",
            Self::HandshakeRequired => "handshake_required",
            Self::Internal => "internal",
            Self::InviteNotFound => "invite_not_found",
            Self::InviteExpired => "invite_expired",
            Self::InviteRevoked => "invite_revoked",
            Self::InviteUsedUp => "invite_used_up",
            Self::ConversationArchived => "conversation_archived",
            Self::OwnerMustTransfer => "owner_must_transfer",
            Self::Conflict => "conflict",
            Self::UploadOffsetMismatch => "upload_offset_mismatch",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::RequestTimeout => "request_timeout",
            Self::Unavailable => "unavailable",
            Self::ImageTooLarge => "image_too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::CodeInvalid => "code_invalid",
            Self::CodeExpired => "code_expired",
            Self::CodeUsed => "code_used",
            Self::AccountDeactivated => "account_deactivated",
            Self::LastAdmin => "last_admin",
            Self::InvalidQuery => "invalid_query",
        }
    }

    /// The HTTP status that goes with this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidJson | Self::ValidationFailed | Self::BadRequest => 400,
            Self::MalformedFrame | Self::UnknownFrame | Self::HandshakeRequired => 400,
            Self::ProtocolMismatch => 400,
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::TokenInvalid
            | Self::TokenExpired
            | Self::TokenRevoked => 401,
            Self::Forbidden => 403,
            Self::NotFound | Self::RouteNotFound => 404,
            Self::UsernameTaken | Self::Conflict | Self::UploadOffsetMismatch => 409,
            Self::RangeNotSatisfiable => 416,
            Self::RequestTimeout => 408,
            Self::Unavailable => 503,
            Self::PayloadTooLarge | Self::FrameTooLarge | Self::ImageTooLarge => 413,
            Self::QuotaExceeded => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited | Self::AccountLocked => 429,
            Self::Internal => 500,
            Self::InviteNotFound => 404,
            Self::InviteExpired | Self::InviteRevoked | Self::InviteUsedUp => 410,
            Self::ConversationArchived | Self::OwnerMustTransfer => 409,
            Self::CodeInvalid => 400,
            Self::CodeExpired | Self::CodeUsed => 410,
            Self::AccountDeactivated => 403,
            Self::LastAdmin => 409,
            Self::InvalidQuery => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every HTTP error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// Prose for people; clients must not parse it.
    pub message: String,
    /// For `validation_failed`: field name → what is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// The id of the request that failed (the `x-request-id` response header), so a user's
    /// report can be matched with the server's log line. Absent from older servers' bodies,
    /// and omitted when there is none, so existing clients read the shape unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
                fields: None,
                request_id: None,
            },
        }
    }

    pub fn with_fields(mut self, fields: BTreeMap<String, String>) -> Self {
        self.error.fields = Some(fields);
        self
    }

    /// Attach the id of the failed request (see [`ErrorDetail::request_id`]).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.error.request_id = Some(request_id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_serde() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::ValidationFailed,
            ErrorCode::TokenRevoked,
            ErrorCode::UsernameTaken,
            ErrorCode::AccountLocked,
            ErrorCode::RouteNotFound,
            ErrorCode::HandshakeRequired,
            ErrorCode::InviteNotFound,
            ErrorCode::InviteExpired,
            ErrorCode::InviteRevoked,
            ErrorCode::InviteUsedUp,
            ErrorCode::ConversationArchived,
            ErrorCode::OwnerMustTransfer,
            ErrorCode::Conflict,
            ErrorCode::UploadOffsetMismatch,
            ErrorCode::RangeNotSatisfiable,
            ErrorCode::RequestTimeout,
            ErrorCode::Unavailable,
            ErrorCode::ImageTooLarge,
            ErrorCode::QuotaExceeded,
            ErrorCode::CodeInvalid,
            ErrorCode::CodeExpired,
            ErrorCode::CodeUsed,
            ErrorCode::AccountDeactivated,
            ErrorCode::LastAdmin,
            ErrorCode::InvalidQuery,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn statuses_are_client_errors_except_internal() {
        assert_eq!(ErrorCode::UsernameTaken.http_status(), 409);
        assert_eq!(ErrorCode::AccountLocked.http_status(), 429);
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::UnsupportedMediaType.http_status(), 415);
        assert_eq!(ErrorCode::Internal.http_status(), 500);
        assert_eq!(ErrorCode::RequestTimeout.http_status(), 408);
        assert_eq!(ErrorCode::Unavailable.http_status(), 503);
        assert_eq!(ErrorCode::AccountDeactivated.http_status(), 403);
        assert_eq!(ErrorCode::LastAdmin.http_status(), 409);
        assert_eq!(ErrorCode::InvalidQuery.http_status(), 400);
    }
}
