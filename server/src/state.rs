//! What every request handler can reach. Cheap to clone (all `Arc`s).

use crate::api::rate_limit::AuthRateLimiter;
use crate::gateway::Gateway;
use crate::services::{Accounts, Chat, Media};
use crate::storage::Storage;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub accounts: Arc<Accounts>,
    pub chat: Chat,
    pub storage: Arc<dyn Storage>,
    pub media: Arc<Media>,
    pub gateway: Arc<Gateway>,
    pub auth_limiter: Arc<AuthRateLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client (`trusted_proxies`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}
