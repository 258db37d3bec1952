//! Per-user budgets (a GCRA token bucket from `governor`): messages, shared by REST and WebSocket
//! sends so a client cannot double its rate by using both, and new uploads.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use jeco_shared::UserId;
use std::num::NonZeroU32;
use std::time::Duration;

/// Forget idle users once this many are tracked, so the map stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub struct UserRateLimiter {
    limiter: DefaultKeyedRateLimiter<UserId>,
    clock: DefaultClock,
}

impl UserRateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// `per_minute` sustained, `burst` at once.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `user` has spent their budget.
    pub fn check(&self, user: UserId) -> Result<(), Duration> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&user)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_per_user() {
        let limiter = UserRateLimiter::new(1, 2);
        assert!(limiter.check(UserId(1)).is_ok());
        assert!(limiter.check(UserId(1)).is_ok());
        assert!(limiter.check(UserId(1)).is_err());
        assert!(limiter.check(UserId(2)).is_ok());
    }
}
