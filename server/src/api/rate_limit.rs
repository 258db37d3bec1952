//! Per-IP request budget for `/api/v1/auth/*` (a GCRA token bucket from `governor`; in a cluster,
//! the cluster's shared budget in Redis, see `services::rate`).
//!
//! The account lockout stops guessing one account's password; this stops one address from
//! hammering many accounts or registering in bulk. The client address is the TCP peer, or behind
//! a configured trusted proxy the address its `X-Forwarded-For` names (`trusted_proxies`, see
//! [`super::extract::client_ip`]).

use super::errors::ApiError;
use crate::services::rate::{Budget, SharedBudgets};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jeco_shared::ErrorCode;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct AuthRateLimiter {
    budget: Budget<IpAddr>,
}

impl AuthRateLimiter {
    pub fn new(per_minute: u32, burst: u32, shared: Option<Arc<dyn SharedBudgets>>) -> Self {
        Self {
            budget: Budget::per_minute("auth", per_minute, burst, shared),
        }
    }

    /// `Err(wait)` when `ip` has spent its budget.
    pub async fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.budget.take(ip).await.map(drop)
    }
}

pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = super::extract::client_ip(
        request.headers(),
        request.extensions(),
        &state.trusted_proxies,
    );
    match state.auth_limiter.check(ip).await {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::new(
            ErrorCode::RateLimited,
            "too many requests from this address; slow down",
        )
        .with_retry_after(wait)
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budget_is_per_address() {
        let limiter = AuthRateLimiter::new(1, 2, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.check(a).await.is_ok());
        assert!(limiter.check(a).await.is_ok());
        let wait = limiter.check(a).await.unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiter.check(b).await.is_ok());
    }
}
