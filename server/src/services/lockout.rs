//! Account lockout after repeated failed logins (django-axes style).
//!
//! Failures are counted per username (whether or not the account exists, so lockout does not reveal
//! which usernames are registered) and kept in storage so that a restart or a second server instance
//! sees them. With `attempts` failures inside `window`, the account is locked until the oldest of
//! those failures leaves the window. A successful login clears the count.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub attempts: u32,
    pub window: Duration,
}

impl LockoutPolicy {
    pub fn window_ms(&self) -> i64 {
        self.window.as_millis() as i64
    }

    /// Given the newest-first times of recent failures (at most `attempts` of them, all inside the
    /// window), how long the account stays locked, or `None` when it is not locked.
    pub fn locked_for(
        &self,
        recent_failures_newest_first: &[i64],
        now_ms: i64,
    ) -> Option<Duration> {
        let nth = *recent_failures_newest_first.get(self.attempts.checked_sub(1)? as usize)?;
        let unlock_at = nth + self.window_ms();
        (unlock_at > now_ms).then(|| Duration::from_millis((unlock_at - now_ms) as u64))
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
        window: Duration::from_secs(10),
    };

    #[test]
    fn locks_only_at_the_threshold() {
        assert_eq!(P.locked_for(&[], 0), None);
        assert_eq!(P.locked_for(&[5_000, 4_000], 5_000), None);
        assert_eq!(
            P.locked_for(&[5_000, 4_000, 3_000], 5_000),
            Some(Duration::from_secs(8))
        );
    }

    #[test]
    fn unlocks_when_the_oldest_counted_failure_leaves_the_window() {
        assert_eq!(P.locked_for(&[5_000, 4_000, 3_000], 13_000), None);
        assert_eq!(
            P.locked_for(&[5_000, 4_000, 3_000], 12_500),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(500)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
