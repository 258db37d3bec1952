//! Looking after one's own account: an email address verified by a code, changing and resetting
//! the password, and the list of signed-in sessions (`/api/v1/users/me/email`,
//! `/api/v1/auth/password*`, `/api/v1/users/me/sessions`).
//!
//! Codes and tokens are one-time secrets sent by mail: a 6-digit [`EMAIL_CODE_LEN`] code to
//! prove an address, and a [`RESET_TOKEN_LEN`]-character token to set a new password without the
//! old one. Wrong, expired and used ones get their own error codes (`code_invalid`,
//! `code_expired`, `code_used`), so a client can say "ask for a new one" rather than "try again".
//! Asking for a reset answers the same whether or not the account exists.

use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// Longest email address, in characters (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Digits in an email verification code.
pub const EMAIL_CODE_LEN: usize = 6;
/// Characters in a password-reset token (base64url of 9 + 32 random bytes).
pub const RESET_TOKEN_LEN: usize = 55;
/// Longest username-or-email a reset may be asked for with.
pub const RESET_LOGIN_MAX: usize = EMAIL_MAX;

/// The caller's email address, as `GET /users/me/email` and its changes answer. Never part of the
/// public [`User`](crate::users::User): addresses are not shown to other users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EmailStatus {
    /// The verified address, where password resets are sent; `null` when none.
    pub email: Option<String>,
    /// An address waiting for its code (set by `PUT /users/me/email`); `null` when none.
    pub pending: Option<String>,
}

/// `PUT /api/v1/users/me/email`: sends a verification code to the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SetEmailRequest {
    /// An address of at most 254 characters.
    pub email: String,
}

/// `POST /api/v1/users/me/email/verify`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The 6 digits from the mail.
    pub code: String,
}

/// `POST /api/v1/auth/password`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8–256 characters, as at registration.
    pub new_password: String,
    /// Also end every other session of the account (their sockets close with
    /// [`close::SIGNED_OUT`](crate::ws::close::SIGNED_OUT)).
    #[serde(default)]
    pub sign_out_others: bool,
}

/// `POST /api/v1/auth/password-reset`: by username or email address; the answer is `204` whether
/// or not such an account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// A username or a verified email address.
    pub login: String,
}

/// `POST /api/v1/auth/password-reset/confirm`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordResetRequest {
    /// The token from the mail.
    pub token: String,
    /// 8–256 characters.
    pub new_password: String,
}

/// One signed-in session (a device or program), as `GET /users/me/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    pub id: SessionId,
    /// The `User-Agent` the client signed in with (cut to 128 characters); `null` if none.
    pub client: Option<String>,
    /// The address it signed in or last refreshed from (IPv6 by its /64).
    pub address: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// When it last signed in or refreshed its token, RFC 3339.
    pub last_active_at: String,
    /// Whether this is the session asking.
    pub current: bool,
}

/// `GET /api/v1/users/me/sessions`: live sessions, most recently active first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionList {
    pub items: Vec<SessionInfo>,
}

/// Answer to `POST /api/v1/users/me/sessions/sign-out-others`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedOut {
    /// How many sessions were ended.
    pub sessions: u32,
}
