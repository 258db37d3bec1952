//! Throttling of failed logins, per (account, source address), with a per-account backstop.
//!
//! Counting failures per username alone let anyone lock anyone out: five wrong passwords for
//! `victim` locked the real owner out for the whole window, and one address could keep every
//! account it cared to name locked indefinitely. So the throttle is keyed by who is guessing:
//!
//! - **Per (account, address).** After [`LockoutPolicy::attempts`] failures for one username from
//!   one address within the window, that address must wait before its next try for that
//!   username: 1 s after the latest failure, doubling with every further failure up to
//!   [`LockoutPolicy::max_delay`]. Refused tries are not counted and cost no password hash, so
//!   hammering does not extend the wait. The owner signing in from another address is not
//!   affected at all; from the same address (a shared NAT) they get in after at most
//!   `max_delay`. A success from an address forgets that address's failures.
//! - **Per account, every address (backstop).** A distributed guesser spreads its guesses over
//!   many addresses. Once a username has [`LockoutPolicy::backstop_attempts`] failures within the
//!   window, every address must leave [`BACKSTOP_DELAY`] after the latest failure: that slows the
//!   guessing to about one try per second for the account, but it never locks — a correct
//!   password a moment later goes through.
//!
//! IPv6 addresses count by their /64 prefix (one subscriber usually holds a whole /64), IPv4 by
//! the address. Failures are counted whether or not the username exists, and the decision uses
//! only those counts, so existing and unknown names behave — and take — the same. Counts live in
//! storage, so a restart or a second server instance sees them.

use super::ServiceError;
use crate::clock::Clock;
use crate::storage::{LoginFailures, Storage};
use std::net::IpAddr;
use std::time::Duration;

/// The first wait once an address has used its free attempts; it doubles per further failure.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The spacing the backstop imposes on an account under a distributed attack.
pub const BACKSTOP_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Free failures per (account, address) within the window.
    pub attempts: u32,
    /// How long failures count.
    pub window: Duration,
    /// Longest wait imposed on one address.
    pub max_delay: Duration,
    /// Failures per account, from all addresses, after which the backstop spaces tries.
    pub backstop_attempts: u32,
}

impl LockoutPolicy {
    /// The policy the configuration sets (`login_lockout_*`, `login_backstop_attempts`): the
    /// same for passwords, sign-in codes and two-factor codes.
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            attempts: config.login_lockout_attempts,
            window: Duration::from_secs(config.login_lockout_window_secs),
            max_delay: Duration::from_secs(config.login_lockout_max_delay_secs),
            backstop_attempts: config.login_backstop_attempts,
        }
    }

    pub fn window_ms(&self) -> i64 {
        self.window.as_millis() as i64
    }

    /// The wait imposed on one address after `from_addr` failures.
    pub fn address_delay(&self, from_addr: u32) -> Option<Duration> {
        let extra = from_addr.checked_sub(self.attempts)?;
        let delay = FIRST_DELAY.saturating_mul(1u32.checked_shl(extra.min(31)).unwrap_or(u32::MAX));
        Some(delay.min(self.max_delay))
    }

    /// How long the address asking must still wait before trying this username, or `None`.
    pub fn wait(&self, f: &LoginFailures, now_ms: i64) -> Option<Duration> {
        let remaining = |since: Option<i64>, delay: Duration| {
            let until = since? + delay.as_millis() as i64;
            (until > now_ms).then(|| Duration::from_millis((until - now_ms) as u64))
        };
        let by_address = self
            .address_delay(f.from_addr)
            .and_then(|d| remaining(f.from_addr_last_ms, d));
        let by_account = (f.total >= self.backstop_attempts)
            .then(|| remaining(f.last_ms, BACKSTOP_DELAY))
            .flatten();
        by_address.max(by_account)
    }
}

/// The key failures are counted under for an address: IPv4 (and IPv4-mapped IPv6) as is, IPv6
/// by its /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The throttle around one guess at a secret of `username` (a password, a mailed code, a TOTP or
/// recovery code) from `from`: every kind shares the counters of password sign-in, so switching
/// between them buys a guesser nothing.
pub struct Guard<'a> {
    storage: &'a dyn Storage,
    policy: LockoutPolicy,
    clock: &'a Clock,
    username: String,
    addr: String,
    failures: LoginFailures,
}

impl<'a> Guard<'a> {
    /// `account_locked` when the address must still wait before trying this username.
    pub async fn check(
        storage: &'a dyn Storage,
        policy: LockoutPolicy,
        clock: &'a Clock,
        username: &str,
        from: IpAddr,
    ) -> Result<Guard<'a>, ServiceError> {
        let addr = address_key(from);
        let now = clock.now_ms();
        let failures = storage
            .login_failures(username, &addr, now - policy.window_ms())
            .await?;
        if let Some(retry_after) = policy.wait(&failures, now) {
            return Err(ServiceError::AccountLocked { retry_after });
        }
        Ok(Guard {
            storage,
            policy,
            clock,
            username: username.to_owned(),
            addr,
            failures,
        })
    }

    /// The counted address key, for logs.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Counts a wrong guess.
    pub async fn failed(&self) -> Result<(), ServiceError> {
        let now = self.clock.now_ms();
        self.storage
            .record_login_failure(
                &self.username,
                &self.addr,
                now,
                now - self.policy.window_ms(),
            )
            .await?;
        Ok(())
    }

    /// Forgets this address's failures after a right guess.
    pub async fn succeeded(&self) -> Result<(), ServiceError> {
        if self.failures.from_addr > 0 {
            self.storage
                .clear_login_failures(&self.username, &self.addr)
                .await?;
        }
        Ok(())
    }
}

/// Seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: LockoutPolicy = LockoutPolicy {
        attempts: 3,
        window: Duration::from_secs(600),
        max_delay: Duration::from_secs(8),
        backstop_attempts: 10,
    };

    fn from_addr(n: u32, last: i64) -> LoginFailures {
        LoginFailures {
            from_addr: n,
            from_addr_last_ms: Some(last),
            total: n,
            last_ms: Some(last),
        }
    }

    #[test]
    fn an_address_waits_only_past_its_free_attempts_and_the_wait_doubles_to_a_cap() {
        assert_eq!(P.wait(&LoginFailures::default(), 0), None);
        assert_eq!(P.wait(&from_addr(2, 5_000), 5_000), None);
        assert_eq!(
            P.wait(&from_addr(3, 5_000), 5_000),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            P.wait(&from_addr(4, 5_000), 5_000),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            P.wait(&from_addr(5, 5_000), 5_500),
            Some(Duration::from_millis(3_500))
        );
        assert_eq!(
            P.wait(&from_addr(9, 5_000), 5_000),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            P.wait(&from_addr(u32::MAX, 5_000), 5_000),
            Some(Duration::from_secs(8))
        );
        // After the wait, the address may try again: nothing is locked for the window.
        assert_eq!(P.wait(&from_addr(9, 5_000), 13_000), None);
    }

    #[test]
    fn another_address_is_not_held_back_by_a_strangers_failures() {
        let stranger_hammered = LoginFailures {
            from_addr: 0,
            from_addr_last_ms: None,
            total: 9,
            last_ms: Some(5_000),
        };
        assert_eq!(P.wait(&stranger_hammered, 5_000), None);
    }

    #[test]
    fn the_backstop_spaces_tries_for_everyone_but_never_for_long() {
        let distributed = LoginFailures {
            from_addr: 1,
            from_addr_last_ms: Some(1_000),
            total: 10,
            last_ms: Some(5_000),
        };
        assert_eq!(
            P.wait(&distributed, 5_200),
            Some(Duration::from_millis(800))
        );
        assert_eq!(P.wait(&distributed, 6_000), None);
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(500)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
