//! Several instances as one server: what they share through Redis.
//!
//! With `redis_url` set, every instance connects to one Redis and one PostgreSQL database. The
//! database stays the truth (positions, messages, sessions); Redis carries what must reach the
//! other instances *now* and is allowed to lose it:
//! - [`bus`]: every committed event, published once (the same encoded bytes the local connections
//!   get) and delivered by each instance to its own connections; session revocations. A lost bus
//!   message costs latency, never data: each instance numbers what it publishes, so the others see
//!   a gap (or a heartbeat ahead of what they received, or a reconnect) and tell their connections
//!   to compare positions with the database, which fills exactly what is missing. Presence travels
//!   the same bus as state (each instance's part), so online on one instance is online everywhere
//!   and a dead instance's users go offline within [`bus::GONE`].
//! - [`budgets`]: the message and sign-in rate budgets, one GCRA bucket per key in Redis, so a
//!   client cannot multiply its rate by spreading connections over instances.
//!
//! Why `redis` (redis-rs) and not `fred`: redis-rs is the crate most of the ecosystem uses, it is
//! smaller (no TLS, no cluster client, no built-in pool in the features we enable), and the two
//! things we need from it are plain — a multiplexed [`ConnectionManager`] that reconnects by
//! itself for publishing and scripts, and a dedicated pub/sub connection. Resubscribing is ours on
//! purpose: after every (re)subscribe the instance must catch its connections up from the database,
//! which an automatic resubscription inside the client would hide from us.
//!
//! No TLS to Redis (like PostgreSQL, see `storage::postgres`): run it on a private network.

pub mod budgets;
pub mod bus;

use crate::config::Secret;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;

/// How long a Redis command may take before the caller treats Redis as unavailable.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// This instance's handle on the cluster's Redis.
pub struct Cluster {
    /// A random name for this run of this instance (bus messages say who sent them).
    instance: String,
    client: redis::Client,
    connection: ConnectionManager,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot reach Redis: {0}")]
pub struct ClusterError(String);

impl Cluster {
    /// Connects to Redis (the URL is never logged: it may hold a password).
    pub async fn connect(url: &Secret) -> Result<Arc<Self>, ClusterError> {
        let client = redis::Client::open(url.expose()).map_err(|e| ClusterError(redact(&e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_max_delay(Duration::from_secs(2));
        let connection = tokio::time::timeout(
            REDIS_TIMEOUT * 2,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| ClusterError("timed out".into()))?
        .map_err(|e| ClusterError(redact(&e)))?;
        let mut id = [0u8; 6];
        getrandom::fill(&mut id).map_err(|e| ClusterError(e.to_string()))?;
        let instance = id.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Arc::new(Self {
            instance,
            client,
            connection,
        }))
    }

    /// This instance's name on the bus.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A handle on the shared, self-reconnecting connection (cheap to clone).
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// For connections of their own (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A round trip to Redis, for readiness.
    pub async fn ping(&self) -> Result<(), ClusterError> {
        let mut connection = self.connection();
        let reply: Result<String, _> = tokio::time::timeout(
            REDIS_TIMEOUT,
            redis::cmd("PING").query_async(&mut connection),
        )
        .await
        .map_err(|_| ClusterError("timed out".into()))?;
        reply.map(drop).map_err(|e| ClusterError(redact(&e)))
    }
}

/// A Redis error as text without anything that could carry the URL's password.
pub(crate) fn redact(e: &redis::RedisError) -> String {
    let text = e.to_string();
    match text.find("redis://") {
        Some(at) => format!("{} [address redacted]", &text[..at]),
        None => text,
    }
}
