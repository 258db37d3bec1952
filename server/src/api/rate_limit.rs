//! Per-IP request budget for `/api/v1/auth/*` (a GCRA token bucket from `governor`).
//!
//! The account lockout stops guessing one account's password; this stops one address from
//! hammering many accounts or registering in bulk. The client address is the TCP peer, or behind
//! a configured trusted proxy the address its `X-Forwarded-For` names (`trusted_proxies`, see
//! [`super::extract::client_ip`]).

use super::errors::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use jeco_shared::ErrorCode;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// Forget idle addresses once this many are tracked, so the map stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub struct AuthRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl AuthRateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `ip` has spent its budget.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = super::extract::client_ip(
        request.headers(),
        request.extensions(),
        &state.trusted_proxies,
    );
    match state.auth_limiter.check(ip) {
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

    #[test]
    fn budget_is_per_address() {
        let limiter = AuthRateLimiter::new(1, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok());
    }
}
