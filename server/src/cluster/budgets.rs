//! Rate budgets every instance shares, kept in Redis ([`crate::services::rate::SharedBudgets`]).
//!
//! Each budget is one Redis string: the GCRA "theoretical arrival time" in milliseconds of Redis's
//! own clock (so instances' clocks do not matter), expiring when the budget is full again. One
//! Lua script takes a unit or says how long to wait, atomically, in one round trip; a second one
//! gives a unit back. The same algorithm as `governor`'s in-process buckets, so a limit means the
//! same on one server and on a cluster.
//!
//! A call that does not answer within [`TIMEOUT`] returns `None` and the caller uses its own
//! in-process budget: a slow or absent Redis degrades the limit to per-instance, it never stops
//! sends or sign-ins.

use super::{Cluster, redact};
use crate::services::rate::{Quota, SharedBudgets};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a budget check may wait for Redis before the local budget decides.
pub const TIMEOUT: Duration = Duration::from_millis(250);

/// `KEYS[1]`: the budget. `ARGV`: interval (ms), burst. Returns 0 when a unit was taken, else the
/// milliseconds until one is available.
const TAKE: &str = r#"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local after = tat + interval
local allowed_at = after - burst * interval
if allowed_at > now then
  return allowed_at - now
end
redis.call('SET', KEYS[1], after, 'PX', after - now)
return 0
"#;

/// `KEYS[1]`: the budget. `ARGV`: interval (ms). Moves the arrival time back by one unit.
const GIVE_BACK: &str = r#"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
local before = tat - tonumber(ARGV[1])
if before > now then
  redis.call('SET', KEYS[1], before, 'PX', before - now)
else
  redis.call('DEL', KEYS[1])
end
return 0
"#;

pub struct RedisBudgets {
    cluster: Arc<Cluster>,
    take: redis::Script,
    give_back: redis::Script,
    /// When a failure was last logged (at most one warning per 10 s).
    warned: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl RedisBudgets {
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(Self {
            cluster,
            take: redis::Script::new(TAKE),
            give_back: redis::Script::new(GIVE_BACK),
            warned: Default::default(),
        })
    }
}

fn warn(warned: &std::sync::Mutex<Option<Instant>>, why: &str) {
    let mut warned = warned.lock().unwrap_or_else(|p| p.into_inner());
    if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
        *warned = Some(Instant::now());
        tracing::warn!(
            error = %why,
            "shared rate budgets unavailable; limiting per instance until Redis answers"
        );
    }
}

fn redis_key(key: &str) -> String {
    format!("jeco:rate:{key}")
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl SharedBudgets for RedisBudgets {
    fn take(&self, key: String, quota: Quota) -> BoxFuture<'static, Option<Result<(), Duration>>> {
        let mut connection = self.cluster.connection();
        let script = self.take.clone();
        let warned = self.warned.clone();
        Box::pin(async move {
            let mut invocation = script.key(redis_key(&key));
            invocation.arg(millis(quota.interval)).arg(quota.burst);
            let answer =
                tokio::time::timeout(TIMEOUT, invocation.invoke_async::<u64>(&mut connection))
                    .await;
            match answer {
                Ok(Ok(0)) => Some(Ok(())),
                Ok(Ok(wait_ms)) => Some(Err(Duration::from_millis(wait_ms))),
                Ok(Err(e)) => {
                    warn(&warned, &redact(&e));
                    None
                }
                Err(_) => {
                    warn(&warned, "timed out");
                    None
                }
            }
        })
    }

    fn give_back(&self, key: String, quota: Quota) -> BoxFuture<'static, ()> {
        let mut connection = self.cluster.connection();
        let script = self.give_back.clone();
        Box::pin(async move {
            let mut invocation = script.key(redis_key(&key));
            invocation.arg(millis(quota.interval));
            let _ = tokio::time::timeout(TIMEOUT, invocation.invoke_async::<u64>(&mut connection))
                .await;
        })
    }
}
