//! Per-key budgets (a GCRA token bucket from `governor`): per user for messages, shared by REST
//! and WebSocket sends so a client cannot double its rate by using both, for new uploads and for
//! mail sent to an account and data exports; per address for password-reset requests.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use jeco_shared::UserId;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

/// Forget idle users once this many are tracked, so the map stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub struct KeyedRateLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

/// A budget per user.
pub type UserRateLimiter = KeyedRateLimiter<UserId>;

impl<K: Hash + Eq + Clone> KeyedRateLimiter<K> {
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

    /// `per_hour` sustained, `burst` at once.
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_hour(per_hour).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `key` has spent its budget.
    pub fn check(&self, key: K) -> Result<(), Duration> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key)
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
