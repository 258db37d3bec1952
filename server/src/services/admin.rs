//! Server administration: the account list, deactivation, passwords set by an admin, and the
//! server-admin flag.
//!
//! Every operation names its [`Caller`]: a signed-in user over the API, who must be a server admin
//! *now* (the flag is read from the database with the session on every request, never trusted
//! from the token), or the [`Caller::Operator`] of `jeco-server admin …`, who already holds the
//! data directory and so everything in it. The check is here, not in the handlers, so the API
//! and the CLI cannot disagree.
//!
//! - **Deactivate** keeps the account and its messages (others see `deactivated: true` on the
//!   author) but ends every session in the same transaction and closes its sockets with
//!   [`close::DEACTIVATED`]; sign-in answers `account_deactivated` to whoever knows the password,
//!   and a refresh finds its session revoked. **Reactivate** lets it sign in again; the old
//!   sessions stay ended.
//! - **Password**: an admin sets a new one, or has the recovery service mail a reset token to the
//!   verified address; either way every session ends (closed with `SIGNED_OUT`), because an admin
//!   resets a password when someone else may know it.
//! - **Admin flag**: granted and removed freely, except that the last active admin can neither
//!   lose the flag nor be deactivated (`409 last_admin`): a server without an admin cannot be
//!   administered over the API at all.
//!
//! - **Two-factor**: an admin turns off someone's two-factor (a lost phone); every session of the
//!   account ends (closed with `SIGNED_OUT`), so whoever held the account must sign in again.
//!   **Requiring two-factor** for everyone (a server setting, stored in the database) ends, in
//!   the same transaction, every session of accounts without it; their next sign-in enrols them
//!   (`two_factor`). An admin over the API must use two-factor before requiring it (`409`),
//!   or they would sign themselves out of the server they are administering.
//!
//! Over the API the changes take effect at once on live sockets. From the CLI (a separate process)
//! the database changes the same way, so the running server refuses the next request, refresh or
//! connection; sockets already open there stay until they disconnect, since the CLI cannot reach
//! another process's connections.
//!
//! [`close::DEACTIVATED`]: jeco_shared::ws::close::DEACTIVATED

use super::accounts::{password_problem, to_user};
use super::render::rfc3339;
use super::{Principal, Recovery, ServiceError, SessionObserver, passwords};
use crate::storage::{AdminUserRecord, Storage};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jeco_shared::UserId;
use jeco_shared::admin::{AdminPasswordRequest, AdminPasswordReset, AdminUser, AdminUserPage};
use jeco_shared::two_factor::{AdminSignedOut, ServerSettings};
use jeco_shared::users::{USER_PAGE_DEFAULT, USER_PAGE_MAX};
use std::sync::Arc;

/// Who asks for an admin operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user over the API: refused with `403` unless a server admin.
    User(Principal),
    /// `jeco-server admin …` on the data directory: whoever can open it owns the server already.
    Operator,
}

pub struct Admin {
    storage: Arc<dyn Storage>,
    observer: Arc<dyn SessionObserver>,
    /// Mails reset tokens; `None` where no mail goes out (the CLI sets passwords directly).
    recovery: Option<Arc<Recovery>>,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

impl Admin {
    pub fn new(
        storage: Arc<dyn Storage>,
        observer: Arc<dyn SessionObserver>,
        recovery: Option<Arc<Recovery>>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            storage,
            observer,
            recovery,
            clock,
        }
    }

    fn authorize(caller: Caller) -> Result<(), ServiceError> {
        match caller {
            Caller::User(who) if !who.is_admin => Err(ServiceError::Forbidden),
            _ => Ok(()),
        }
    }

    /// `GET /admin/users?q=&limit=&cursor=`: prefix search on username, display name or email,
    /// keyset-paged by username.
    pub async fn list(
        &self,
        caller: Caller,
        query: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<AdminUserPage, ServiceError> {
        Self::authorize(caller)?;
        let limit = limit.unwrap_or(USER_PAGE_DEFAULT);
        if !(1..=USER_PAGE_MAX).contains(&limit) {
            return Err(ServiceError::field(
                "limit",
                format!("must be between 1 and {USER_PAGE_MAX}"),
            ));
        }
        let after = cursor
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ServiceError::field("cursor", "is not a cursor from this server")
                    })
            })
            .transpose()?;
        let prefix = query.unwrap_or("").trim().to_lowercase();
        let mut rows = self
            .storage
            .admin_users(&prefix, after.as_deref(), limit + 1, self.clock.now_ms())
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last()
                .map(|u| URL_SAFE_NO_PAD.encode(u.user.username.as_bytes()))
        } else {
            None
        };
        Ok(AdminUserPage {
            items: rows.iter().map(to_admin_user).collect(),
            next_cursor,
        })
    }

    /// `GET /admin/users/{id}`
    pub async fn get(&self, caller: Caller, id: UserId) -> Result<AdminUser, ServiceError> {
        Self::authorize(caller)?;
        self.load(id).await
    }

    /// The user named `username` (the CLI names accounts by username).
    pub async fn find(&self, caller: Caller, username: &str) -> Result<AdminUser, ServiceError> {
        Self::authorize(caller)?;
        let user = self
            .storage
            .user_by_username(&username.trim().to_lowercase())
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.load(user.id).await
    }

    /// `POST /admin/users/{id}/deactivate`
    pub async fn deactivate(&self, caller: Caller, id: UserId) -> Result<AdminUser, ServiceError> {
        Self::authorize(caller)?;
        let ended = self
            .storage
            .deactivate_user(id, self.clock.now_ms())
            .await?;
        self.observer.account_deactivated(&ended);
        tracing::info!(
            user = id.0,
            signed_out = ended.len(),
            by = ?caller_id(caller),
            "account deactivated"
        );
        self.load(id).await
    }

    /// `POST /admin/users/{id}/reactivate`
    pub async fn reactivate(&self, caller: Caller, id: UserId) -> Result<AdminUser, ServiceError> {
        Self::authorize(caller)?;
        self.storage.reactivate_user(id).await?;
        tracing::info!(user = id.0, by = ?caller_id(caller), "account reactivated");
        self.load(id).await
    }

    /// `POST /admin/users/{id}/password`: a new password, or a reset mail; every session ends.
    pub async fn reset_password(
        &self,
        caller: Caller,
        id: UserId,
        req: AdminPasswordRequest,
    ) -> Result<AdminPasswordReset, ServiceError> {
        Self::authorize(caller)?;
        let user = self
            .storage
            .user_by_id(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let (ended, mailed) = match req.new_password {
            Some(password) => {
                if let Some(p) = password_problem(&password) {
                    return Err(ServiceError::field("new_password", p));
                }
                let hash = passwords::hash(password).await?;
                let ended = self
                    .storage
                    .set_password(id, hash, Some(None), self.clock.now_ms())
                    .await?;
                (ended, false)
            }
            None => {
                let recovery = self
                    .recovery
                    .as_ref()
                    .ok_or(ServiceError::MailUnavailable)?;
                if !recovery.mail_reset_token(&user).await? {
                    return Err(ServiceError::Conflict(
                        "this account has no verified email address; set a new password instead"
                            .into(),
                    ));
                }
                let ended = self
                    .storage
                    .revoke_sessions_except(id, None, self.clock.now_ms())
                    .await?;
                (ended, true)
            }
        };
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            user = id.0,
            signed_out = ended.len(),
            mailed,
            by = ?caller_id(caller),
            "password reset by an admin"
        );
        Ok(AdminPasswordReset {
            signed_out: u32::try_from(ended.len()).unwrap_or(u32::MAX),
            mailed,
        })
    }

    /// `PUT`/`DELETE /admin/users/{id}/admin`
    pub async fn set_admin(
        &self,
        caller: Caller,
        id: UserId,
        admin: bool,
    ) -> Result<AdminUser, ServiceError> {
        Self::authorize(caller)?;
        self.storage.set_admin(id, admin).await?;
        tracing::info!(user = id.0, admin, by = ?caller_id(caller), "server admin flag set");
        self.load(id).await
    }

    /// `DELETE /admin/users/{id}/two-factor`: turns it off; every session of the account ends.
    pub async fn reset_two_factor(
        &self,
        caller: Caller,
        id: UserId,
    ) -> Result<AdminSignedOut, ServiceError> {
        Self::authorize(caller)?;
        let ended = self
            .storage
            .reset_two_factor(id, self.clock.now_ms())
            .await?;
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            user = id.0,
            signed_out = ended.len(),
            by = ?caller_id(caller),
            "two-factor reset by an admin"
        );
        Ok(AdminSignedOut {
            signed_out: u32::try_from(ended.len()).unwrap_or(u32::MAX),
        })
    }

    /// `GET /admin/settings`
    pub async fn settings(&self, caller: Caller) -> Result<ServerSettings, ServiceError> {
        Self::authorize(caller)?;
        Ok(ServerSettings {
            require_two_factor: self.storage.require_two_factor().await?,
        })
    }

    /// `PUT /admin/settings`
    pub async fn set_settings(
        &self,
        caller: Caller,
        settings: ServerSettings,
    ) -> Result<AdminSignedOut, ServiceError> {
        Self::authorize(caller)?;
        if let Caller::User(who) = caller
            && settings.require_two_factor
            && !self
                .storage
                .two_factor(who.user_id)
                .await?
                .is_some_and(|r| r.enabled)
        {
            return Err(ServiceError::Conflict(
                "turn on two-factor for your own account before requiring it of everyone".into(),
            ));
        }
        let ended = self
            .storage
            .set_require_two_factor(settings.require_two_factor, self.clock.now_ms())
            .await?;
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            require_two_factor = settings.require_two_factor,
            signed_out = ended.len(),
            by = ?caller_id(caller),
            "server settings changed"
        );
        Ok(AdminSignedOut {
            signed_out: u32::try_from(ended.len()).unwrap_or(u32::MAX),
        })
    }

    async fn load(&self, id: UserId) -> Result<AdminUser, ServiceError> {
        let row = self
            .storage
            .admin_user(id, self.clock.now_ms())
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(to_admin_user(&row))
    }
}

/// For the log: which admin did it (`None`: the CLI operator).
fn caller_id(caller: Caller) -> Option<i64> {
    match caller {
        Caller::User(who) => Some(who.user_id.0),
        Caller::Operator => None,
    }
}

fn to_admin_user(r: &AdminUserRecord) -> AdminUser {
    AdminUser {
        user: to_user(&r.user),
        email: r.email.clone(),
        last_active_at: r.last_active_at_ms.map(rfc3339),
        live_sessions: r.live_sessions,
        two_factor: r.two_factor,
    }
}
