//! Server administration for a signed-in server admin: the account list, deactivation, passwords,
//! two-factor resets, the admin flag (`/api/v1/admin/users*`), the server-wide settings
//! (`/api/v1/admin/settings`: requiring two-factor of everyone) and the storage each account uses
//! (`/api/v1/admin/media-usage`).
//!
//! Online-only and uncached, like `account.rs`: these answers are for an admin looking at them
//! now, and the server decides who may ask (everyone else gets `forbidden`). A deactivated
//! account's engine is signed out by the server closing its socket (`DEACTIVATED`).

use super::{Engine, Result};
use jeco_shared::UserId;
use jeco_shared::admin::{AdminPasswordRequest, AdminPasswordReset, AdminUser, AdminUserPage};
use jeco_shared::endpoints::{
    AdminGetUser, AdminResetPassword, AdminResetTwoFactor, AdminSettings, AdminUsers,
    DeactivateUser, GrantAdmin, MediaUsage, ReactivateUser, RevokeAdmin, SetAdminSettings,
};
use jeco_shared::media::MediaUsageReport;
use jeco_shared::two_factor::{AdminSignedOut, ServerSettings};

impl Engine {
    /// One page of accounts by username; `query` is a prefix of a username, display name or
    /// email; `cursor` is the previous page's `next_cursor`.
    pub async fn admin_users(
        &self,
        query: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<AdminUserPage> {
        let mut pairs = vec![("q", query.trim().to_owned()), ("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor.to_owned()));
        }
        self.call_with_query::<AdminUsers>(&(), &pairs).await
    }

    /// One account as the admin list shows it.
    pub async fn admin_user(&self, id: UserId) -> Result<AdminUser> {
        self.call::<AdminGetUser>(&(id,), &()).await
    }

    /// Deactivates an account: it cannot sign in and every session of it ends at once.
    pub async fn deactivate_user(&self, id: UserId) -> Result<AdminUser> {
        self.call::<DeactivateUser>(&(id,), &()).await
    }

    /// Lets a deactivated account sign in again.
    pub async fn reactivate_user(&self, id: UserId) -> Result<AdminUser> {
        self.call::<ReactivateUser>(&(id,), &()).await
    }

    /// Sets an account's password (`Some`), or mails it a reset token (`None`); every session of
    /// the account ends.
    pub async fn admin_reset_password(
        &self,
        id: UserId,
        new_password: Option<&str>,
    ) -> Result<AdminPasswordReset> {
        let body = AdminPasswordRequest {
            new_password: new_password.map(str::to_owned),
        };
        self.call::<AdminResetPassword>(&(id,), &body).await
    }

    /// Grants (`true`) or removes the server-admin flag; the last admin keeps it
    /// (`last_admin`).
    pub async fn set_server_admin(&self, id: UserId, admin: bool) -> Result<AdminUser> {
        if admin {
            self.call::<GrantAdmin>(&(id,), &()).await
        } else {
            self.call::<RevokeAdmin>(&(id,), &()).await
        }
    }

    /// Turns off an account's two-factor (a lost phone); every session of the account ends.
    pub async fn admin_reset_two_factor(&self, id: UserId) -> Result<AdminSignedOut> {
        self.call::<AdminResetTwoFactor>(&(id,), &()).await
    }

    /// The server-wide settings.
    pub async fn server_settings(&self) -> Result<ServerSettings> {
        self.call::<AdminSettings>(&(), &()).await
    }

    /// Changes the server-wide settings. Requiring two-factor ends the sessions of accounts
    /// without it; the admin asking must use two-factor first (`conflict`).
    pub async fn set_server_settings(&self, settings: ServerSettings) -> Result<AdminSignedOut> {
        self.call::<SetAdminSettings>(&(), &settings).await
    }

    /// Storage used per account (attachments and unfinished uploads), most bytes first, and the
    /// per-user quota.
    pub async fn media_usage(&self) -> Result<MediaUsageReport> {
        self.call::<MediaUsage>(&(), &()).await
    }
}
