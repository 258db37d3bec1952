//! What every request handler can reach. Cheap to clone (all `Arc`s).

use crate::api::rate_limit::AuthRateLimiter;
use crate::gateway::Gateway;
use crate::services::admin::Admin;
use crate::services::sessions::Sessions;
use crate::services::{Accounts, Chat, Media, Recovery};
use crate::storage::Storage;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub accounts: Arc<Accounts>,
    /// Signing in with a mailed code.
    pub login_codes: Arc<crate::services::login_code::LoginCodes>,
    /// The caller's two-factor enrolment.
    pub two_factor: Arc<crate::services::two_factor::TwoFactor>,
    /// Email addresses, password change and reset.
    pub recovery: Arc<Recovery>,
    /// The caller's session list.
    pub sessions: Arc<Sessions>,
    /// Server administration (server admins only).
    pub admin: Arc<Admin>,
    pub chat: Chat,
    pub storage: Arc<dyn Storage>,
    pub media: Arc<Media>,
    /// "Export my data".
    pub exports: Arc<crate::services::export::Exports>,
    pub gateway: Arc<Gateway>,
    /// Redis and this instance's name in a cluster (`redis_url`); `None` for a single server.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    pub auth_limiter: Arc<AuthRateLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client (`trusted_proxies`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}
