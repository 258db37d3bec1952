//! Per-key budgets (a GCRA token bucket from `governor`): per user for messages, shared by REST
//! and WebSocket sends so a client cannot double its rate by using both, for new uploads and for
//! mail sent to an account and data exports; per address for password-reset requests.
//!
//! In a cluster a budget kept in one process's memory would multiply by the number of instances
//! (a client spreading its connections gets N times the rate), so the message and sign-in budgets
//! are kept where every instance sees them: [`SharedBudgets`], implemented on Redis by
//! `cluster::budgets`. When the shared store does not answer in time, an instance falls back to
//! its own in-memory budget: a cluster with Redis down limits per instance, as a single server
//! does, rather than refusing everything or nothing.

use futures_util::future::BoxFuture;
use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};
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
                governor::Quota::per_second(per_second).allow_burst(burst),
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
                governor::Quota::per_minute(per_minute).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// `per_hour` sustained, `burst` at once.
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                governor::Quota::per_hour(per_hour).allow_burst(burst),
            ),
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

/// How a shared budget refills: one unit per `interval`, at most `burst` units at once (the same
/// GCRA as [`KeyedRateLimiter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub interval: Duration,
    pub burst: u32,
}

impl Quota {
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
        }
    }

    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(60) / per_minute.max(1),
            burst: burst.max(1),
        }
    }
}

/// Budgets every instance of a cluster shares. `key` names the budget and its owner
/// (`message:42`, `auth:10.0.0.7`).
pub trait SharedBudgets: Send + Sync + 'static {
    /// Takes one unit: `Some(Ok(()))`, `Some(Err(wait))` when the budget is spent, `None` when the
    /// shared store did not answer in time (the caller then uses its own budget).
    fn take(&self, key: String, quota: Quota) -> BoxFuture<'static, Option<Result<(), Duration>>>;
    /// Returns a unit taken for something that then did not happen (a send refused or answered
    /// from an earlier one), so that it costs no budget.
    fn give_back(&self, key: String, quota: Quota) -> BoxFuture<'static, ()>;
}

/// A per-key budget kept in this process, or shared by the cluster when there is one.
pub struct Budget<K: Hash + Eq + Clone + std::fmt::Display> {
    /// `message`, `auth`: the first part of the shared key.
    name: &'static str,
    quota: Quota,
    local: KeyedRateLimiter<K>,
    shared: Option<std::sync::Arc<dyn SharedBudgets>>,
}

/// Whose budget paid for an action, so it can be given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The cluster's shared budget.
    Shared,
    /// This process's own (single server, or the shared store did not answer).
    Local,
}

impl<K: Hash + Eq + Clone + std::fmt::Display> Budget<K> {
    /// `per_second` sustained, `burst` at once.
    pub fn per_second(
        name: &'static str,
        per_second: u32,
        burst: u32,
        shared: Option<std::sync::Arc<dyn SharedBudgets>>,
    ) -> Self {
        Self {
            name,
            quota: Quota::per_second(per_second, burst),
            local: KeyedRateLimiter::new(per_second, burst),
            shared,
        }
    }

    /// `per_minute` sustained, `burst` at once.
    pub fn per_minute(
        name: &'static str,
        per_minute: u32,
        burst: u32,
        shared: Option<std::sync::Arc<dyn SharedBudgets>>,
    ) -> Self {
        Self {
            name,
            quota: Quota::per_minute(per_minute, burst),
            local: KeyedRateLimiter::per_minute(per_minute, burst),
            shared,
        }
    }

    /// Whether a cluster shares this budget.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn key(&self, key: &K) -> String {
        format!("{}:{key}", self.name)
    }

    /// Takes one unit of `key`'s budget: from the cluster's when there is one and it answers,
    /// else from this process's. `Err(wait)` when spent.
    pub async fn take(&self, key: K) -> Result<Taken, Duration> {
        if let Some(shared) = &self.shared {
            match shared.take(self.key(&key), self.quota).await {
                Some(Ok(())) => return Ok(Taken::Shared),
                Some(Err(wait)) => return Err(wait),
                None => {}
            }
        }
        self.local.check(key).map(|()| Taken::Local)
    }

    /// Takes one unit of this process's budget only (where waiting is not possible: inside a
    /// storage transaction).
    pub fn take_local(&self, key: K) -> Result<(), Duration> {
        self.local.check(key)
    }

    /// Gives back a unit [`Budget::take`] took from the cluster. (A local unit is not given back:
    /// `governor` cannot, and a local budget is the fallback, not the rule.)
    pub async fn give_back(&self, key: K, taken: Taken) {
        if let (Taken::Shared, Some(shared)) = (taken, &self.shared) {
            shared.give_back(self.key(&key), self.quota).await;
        }
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
