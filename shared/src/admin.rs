//! Server administration (`/api/v1/admin/*`): what a server admin sees of the accounts and the
//! changes only they may make — deactivating and reactivating an account, setting or mailing a
//! new password, granting and removing the server-admin flag.
//!
//! A server admin is an account with [`User::is_admin`](crate::users::User::is_admin); the server
//! keeps at least one (removing or deactivating the last one is `409 last_admin`). Everyone else
//! is refused every admin operation with `403 forbidden`.

use crate::users::User;
use serde::{Deserialize, Serialize};

/// One account as the admin list shows it: the public profile (with `is_admin` and
/// `deactivated`) plus what only an admin sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminUser {
    pub user: User,
    /// The verified email address; `null` when none.
    pub email: Option<String>,
    /// RFC 3339 UTC: the latest sign-in or token refresh of any of the account's sessions;
    /// `null` when it never signed in (or only before the server recorded it).
    pub last_active_at: Option<String>,
    /// Sessions signed in now.
    pub live_sessions: u32,
    /// Two-factor sign-in is on for the account (an admin can turn it off when the person lost
    /// their authenticator and recovery codes).
    pub two_factor: bool,
}

/// One page of the admin user list. Pass `next_cursor` back as `cursor`; `null` means the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminUserPage {
    pub items: Vec<AdminUser>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/admin/users/{id}/password`: set a new password, or (without one) mail the
/// account a password-reset token at its verified address. Either way every session of the
/// account ends at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AdminPasswordRequest {
    /// The new password (8–256 characters); absent or `null`: mail a reset token instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub new_password: Option<String>,
}

/// What an admin password reset did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminPasswordReset {
    /// Sessions of the account that were ended.
    pub signed_out: u32,
    /// Whether a reset token was mailed (no new password was given).
    pub mailed: bool,
}
