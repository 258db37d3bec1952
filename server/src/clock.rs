//! Wall time, injected: the one place the server asks what time it is for anything stored or
//! compared with stored times.
//!
//! Expiry (sessions and refresh tokens, access tokens, invites, mailed codes, password resets,
//! two-factor challenges, signed media URLs), the sign-in lockout's window and the upload sweeper
//! all compare "now" with a time written earlier. Read straight from the system, the only way to
//! test them is to wait out the real duration, or to shrink it so far that the test measures the
//! scheduler instead. So the server reads wall time from the [`Clock`] in its
//! [`Config`](crate::Config): the system's by default, a [`ManualClock`] in tests, which the test
//! moves forward past an expiry and then checks, with nothing to wait for.
//!
//! A manual clock is the system's time plus an offset the test advances: time still flows
//! (ordering, `created_at` of consecutive rows, anything measured in real time keeps working), it
//! only jumps when told. What stays on the system's clock, on purpose: durations measured in
//! process (`Instant`: request timing for metrics, heartbeats, timeouts, backup progress), which
//! are tokio's or the OS's business, not stored, and tokio's paused time already covers them in
//! unit tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Where the server reads wall time. Cheap to clone; clones share the source.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: system time plus the offset of a [`ManualClock`].
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock (the default).
    pub fn system() -> Clock {
        Clock { offset_ms: None }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        match &self.offset_ms {
            None => system,
            Some(offset) => system.saturating_add(offset.load(Ordering::SeqCst)),
        }
    }

    /// Whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        u64::try_from(self.now_ms() / 1000).unwrap_or(0)
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Clock {
        Clock {
            offset_ms: Some(manual.offset_ms),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.offset_ms {
            None => f.write_str("Clock::System"),
            Some(offset) => write!(f, "Clock::Manual(+{} ms)", offset.load(Ordering::SeqCst)),
        }
    }
}

/// Two configurations are the same when they read the same clock.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.offset_ms, &other.offset_ms) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

/// A clock a test moves forward: give `Clock::from(manual.clone())` to the server's config, keep
/// `manual`, and [`ManualClock::advance`] it.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    offset_ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// Starts at the system's time.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves every clock made from this one `by` into the future. Time never goes back: expired
    /// things stay expired, as with a real clock.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(by, Ordering::SeqCst);
    }

    /// The clock to give the server.
    pub fn clock(&self) -> Clock {
        Clock::from(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_its_own_clocks() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let system = Clock::system();
        let before = clock.now_ms();
        manual.advance(Duration::from_secs(3600));
        let after = clock.now_ms();
        assert!(after - before >= 3_600_000, "{before} → {after}");
        assert!(clock.now_ms() - system.now_ms() >= 3_600_000);
        // A clone reads the same source; another manual clock does not.
        assert_eq!(clock.clone(), clock);
        assert_ne!(ManualClock::new().clock(), clock);
        assert_eq!(Clock::default(), Clock::system());
    }
}
