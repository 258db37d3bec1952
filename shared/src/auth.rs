//! Registration, login, token refresh and logout bodies (`/api/v1/auth/*`).
//!
//! The flow is SimpleJWT's, hardened: a short-lived JWT access token, and an opaque long-lived
//! refresh token that rotates on every use. A refresh token presented twice means it was stolen, and
//! the server then revokes the whole session (the token's "family").

use crate::users::User;
use serde::{Deserialize, Serialize};

/// Smallest and largest username length, in characters.
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// Smallest and largest password length, in characters.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 256;
/// Largest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 64;

/// Why a username is not acceptable, or `None` when it is. Usernames are 3–32 characters of
/// `[a-z0-9_.-]`; callers lowercase first (usernames are case-insensitive).
pub fn username_problem(username: &str) -> Option<&'static str> {
    let len = username.chars().count();
    if len < USERNAME_MIN {
        return Some("must be at least 3 characters");
    }
    if len > USERNAME_MAX {
        return Some("must be at most 32 characters");
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
    {
        return Some("may contain only a-z, 0-9, '_', '.' and '-'");
    }
    None
}

/// `POST /api/v1/auth/register`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 characters of `[a-z0-9_.-]`, case-insensitive (stored lowercased).
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// Shown instead of the username where set; up to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `POST /api/v1/auth/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/auth/refresh`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Answer to login, register and refresh: a fresh token pair and the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer …` and the WebSocket handshake.
    pub access_token: String,
    /// Opaque; exchange it at `/auth/refresh` for a new pair. Single use.
    pub refresh_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

/// Claims inside an access token. Clients treat the token as opaque; this is here so the server and
/// tests agree on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id, as a decimal string (JWT convention).
    pub sub: String,
    /// Session (refresh family) id; logging out revokes it.
    pub sid: i64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// Whether the user is a server administrator.
    #[serde(default)]
    pub adm: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            username_problem("ab"),
            Some("must be at least 3 characters")
        );
        assert!(username_problem("abc").is_none());
        assert!(username_problem("a.b-c_9").is_none());
        assert!(username_problem(&"a".repeat(32)).is_none());
        assert!(username_problem(&"a".repeat(33)).is_some());
        assert!(username_problem("Abc").is_some());
        assert!(username_problem("a b").is_some());
        assert!(username_problem("héllo").is_some());
        assert!(username_problem("../x").is_some());
    }
}
