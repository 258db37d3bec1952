//! The bus between instances, and [`Hub`]: the fan-out every service publishes to.
//!
//! A service hands a committed event to the [`Hub`] once. The hub gives it to this instance's
//! connections directly (the registry, no round trip) and, in a cluster, queues the same encoded
//! frame for Redis pub/sub, where every other instance's subscriber hands it to *its* connections.
//! Session revocations travel the same way, so a logout on one instance closes that session's
//! sockets on all of them.
//!
//! **Redis is a hint, the database is the truth.** Pub/sub is at-most-once: a message is lost when
//! Redis restarts, when a subscriber is disconnected or too slow, or when our queue to Redis is full.
//! So every message carries its sender's instance name and a number that grows by one per message
//! (`n`), and each instance publishes a heartbeat every [`BEAT`] with its latest number. A receiver
//! that sees a number skip, a heartbeat ahead of what it received, or that (re)subscribes, tells
//! every local connection to compare its positions with the database
//! ([`Stream::CatchUp`](crate::services::Stream::CatchUp)); the connection's follower then reads
//! and sends exactly what it lacks. Delivery stays exactly-once per connection because the follower
//! drops anything at or below the position it already sent. A subscription that hears nothing —
//! not even its own heartbeat — for [`SILENCE`] is presumed dead and made again.
//!
//! **Wire format** (one Redis message): a JSON header line, `\n`, then the frame's JSON exactly as
//! local connections get it (`serde_json` escapes newlines inside strings, so the first `\n` ends
//! the header). Readable with `redis-cli SUBSCRIBE jeco:bus`.

use super::{Cluster, REDIS_TIMEOUT, redact};
use crate::gateway::registry::Registry;
use crate::services::{Fanout, Outgoing, SessionObserver, Stream};
use futures_util::StreamExt;
use jeco_shared::events::PresenceStatus;
use jeco_shared::{ConversationId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The pub/sub channel every instance publishes on and subscribes to. One Redis per cluster (pub/sub
/// ignores Redis database numbers).
pub const CHANNEL: &str = "jeco:bus";
/// How often an instance says where its numbering is (and that it is alive).
pub const BEAT: Duration = Duration::from_secs(1);
/// A subscription silent this long (not even our own heartbeat came back) is made again.
pub const SILENCE: Duration = Duration::from_secs(5);
/// Messages waiting for Redis at most; past that they are dropped (and caught up from the database).
const QUEUE: usize = 65_536;
/// Messages per pipelined round trip to Redis at most.
const BATCH: usize = 512;
/// An instance not heard from for this long is forgotten (its numbering with it).
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// The fan-out of one instance: its own connections, and the other instances through the bus.
pub struct Hub {
    registry: Arc<Registry>,
    bus: Option<Bus>,
}

struct Bus {
    instance: String,
    /// The last number given out; held while queueing so numbers reach Redis in order.
    last: Mutex<u64>,
    queue: mpsc::Sender<Vec<u8>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("clustered", &self.bus.is_some())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// One instance on its own: publishing is local delivery.
    pub fn local(registry: Arc<Registry>) -> Arc<Self> {
        Arc::new(Self {
            registry,
            bus: None,
        })
    }

    /// A member of a cluster: starts the publisher, the subscriber and the heartbeat.
    pub fn clustered(registry: Arc<Registry>, cluster: Arc<Cluster>) -> Arc<Self> {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let instance = cluster.instance().to_owned();
        Arc::new_cyclic(|hub: &std::sync::Weak<Hub>| {
            let tasks = vec![
                tokio::spawn(publish_loop(waiting, cluster.connection())),
                tokio::spawn(subscribe_loop(cluster.clone(), registry.clone())),
                tokio::spawn(beat_loop(hub.clone())),
            ];
            Self {
                registry,
                bus: Some(Bus {
                    instance,
                    last: Mutex::new(0),
                    queue,
                    tasks,
                }),
            }
        })
    }

    /// The connections of this instance.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Stops the bus tasks (shutdown).
    pub fn stop(&self) {
        if let Some(bus) = &self.bus {
            for task in &bus.tasks {
                task.abort();
            }
        }
    }

    fn to_bus(&self, kind: Kind, frame: &str) {
        let Some(bus) = &self.bus else {
            return;
        };
        let mut last = bus.last.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(kind, Kind::Beat) {
            *last += 1;
        }
        let header = Header {
            i: bus.instance.clone(),
            n: *last,
            kind,
        };
        let mut bytes = serde_json::to_vec(&header).unwrap_or_default();
        bytes.push(b'\n');
        bytes.extend_from_slice(frame.as_bytes());
        if bus.queue.try_send(bytes).is_err() {
            // Redis is down or slow: the number is spent, so the others see the gap.
            crate::metrics::get().bus_publish_dropped.inc();
        }
    }
}

impl Fanout for Hub {
    fn publish(&self, recipients: &[UserId], frame: Outgoing) {
        if recipients.is_empty() {
            return;
        }
        if self.bus.is_some() {
            self.to_bus(
                Kind::Deliver {
                    s: WireStream::from(frame.stream),
                    to: recipients.to_vec(),
                },
                &frame.json,
            );
        }
        self.registry.publish(recipients, frame);
    }

    fn presence(&self, user: UserId) -> PresenceStatus {
        self.registry.presence(user)
    }
}

impl SessionObserver for Hub {
    fn session_revoked(&self, session: SessionId) {
        self.to_bus(
            Kind::Close {
                sessions: vec![session],
                why: Why::Revoked,
            },
            "",
        );
        self.registry.session_revoked(session);
    }

    fn sessions_signed_out(&self, sessions: &[SessionId]) {
        self.to_bus(
            Kind::Close {
                sessions: sessions.to_vec(),
                why: Why::SignedOut,
            },
            "",
        );
        self.registry.sessions_signed_out(sessions);
    }

    fn account_deactivated(&self, sessions: &[SessionId]) {
        self.to_bus(
            Kind::Close {
                sessions: sessions.to_vec(),
                why: Why::Deactivated,
            },
            "",
        );
        self.registry.account_deactivated(sessions);
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    /// The sending instance.
    i: String,
    /// Its number for this message (for a heartbeat: the last number it gave out).
    n: u64,
    #[serde(flatten)]
    kind: Kind,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Kind {
    /// The frame after the header, for these users' connections.
    Deliver { s: WireStream, to: Vec<UserId> },
    /// Close these sessions' connections.
    Close { sessions: Vec<SessionId>, why: Why },
    /// Alive, and this far in the numbering.
    Beat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Why {
    Revoked,
    SignedOut,
    Deactivated,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum WireStream {
    Conversation {
        id: ConversationId,
        seq: i64,
    },
    User {
        seq: i64,
        left: Option<ConversationId>,
    },
    Ephemeral,
}

impl From<Stream> for WireStream {
    fn from(s: Stream) -> Self {
        match s {
            Stream::Conversation { id, seq } => Self::Conversation { id, seq },
            Stream::User { seq, left } => Self::User { seq, left },
            // Never published (a local instruction), but a total mapping costs nothing.
            Stream::Ephemeral | Stream::CatchUp => Self::Ephemeral,
        }
    }
}

impl From<WireStream> for Stream {
    fn from(s: WireStream) -> Self {
        match s {
            WireStream::Conversation { id, seq } => Self::Conversation { id, seq },
            WireStream::User { seq, left } => Self::User { seq, left },
            WireStream::Ephemeral => Self::Ephemeral,
        }
    }
}

async fn publish_loop(
    mut waiting: mpsc::Receiver<Vec<u8>>,
    mut redis: redis::aio::ConnectionManager,
) {
    let metrics = crate::metrics::get();
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_warning: Option<Instant> = None;
    while waiting.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for message in &batch {
            pipe.cmd("PUBLISH").arg(CHANNEL).arg(&message[..]).ignore();
        }
        let sent = tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<()>(&mut redis)).await;
        match sent {
            Ok(Ok(())) => metrics.bus_published.inc_by(batch.len() as u64),
            failed => {
                metrics.bus_publish_dropped.inc_by(batch.len() as u64);
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    last_warning = Some(Instant::now());
                    let why = match failed {
                        Ok(Err(e)) => redact(&e),
                        _ => "timed out".into(),
                    };
                    tracing::warn!(
                        error = %why,
                        dropped = batch.len(),
                        "cannot publish on the cluster bus; other instances will catch up from the database"
                    );
                }
            }
        }
        batch.clear();
    }
}

async fn beat_loop(hub: std::sync::Weak<Hub>) {
    let mut every = tokio::time::interval(BEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.to_bus(Kind::Beat, "");
    }
}

/// What one instance knows about another's numbering.
struct Peer {
    last: u64,
    heard: Instant,
}

async fn subscribe_loop(cluster: Arc<Cluster>, registry: Arc<Registry>) {
    let metrics = crate::metrics::get();
    let mut backoff = Duration::from_millis(100);
    let mut down_since: Option<Instant> = None;
    loop {
        match subscribe(&cluster).await {
            Ok(mut pubsub) => {
                backoff = Duration::from_millis(100);
                if let Some(since) = down_since.take() {
                    tracing::info!(
                        after_ms = since.elapsed().as_millis() as u64,
                        "subscribed to the cluster bus again"
                    );
                }
                metrics.bus_subscribed.set(1);
                // Anything published while we were not listening is in the database.
                catch_up(&registry);
                let mut peers: HashMap<String, Peer> = HashMap::new();
                let mut messages = pubsub.on_message();
                loop {
                    let message = match tokio::time::timeout(SILENCE, messages.next()).await {
                        Ok(Some(message)) => message,
                        Ok(None) => break,
                        Err(_) => {
                            tracing::warn!("the cluster bus went silent; subscribing again");
                            break;
                        }
                    };
                    receive(
                        cluster.instance(),
                        message.get_payload_bytes(),
                        &registry,
                        &mut peers,
                    );
                }
                metrics.bus_subscribed.set(0);
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(error = %e, "cannot subscribe to the cluster bus; retrying");
                }
            }
        }
        down_since.get_or_insert_with(Instant::now);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn subscribe(cluster: &Cluster) -> Result<redis::aio::PubSub, String> {
    let attempt = async {
        let mut pubsub = cluster
            .client()
            .get_async_pubsub()
            .await
            .map_err(|e| redact(&e))?;
        pubsub.subscribe(CHANNEL).await.map_err(|e| redact(&e))?;
        Ok(pubsub)
    };
    tokio::time::timeout(REDIS_TIMEOUT * 2, attempt)
        .await
        .map_err(|_| "timed out".to_string())?
}

fn catch_up(registry: &Registry) {
    crate::metrics::get().bus_catch_ups.inc();
    registry.catch_up_all();
}

/// Handles one bus message: delivers or closes locally, and notices gaps in the sender's numbering.
fn receive(me: &str, payload: &[u8], registry: &Registry, peers: &mut HashMap<String, Peer>) {
    let (header, frame) = match payload.iter().position(|b| *b == b'\n') {
        Some(at) => (&payload[..at], &payload[at + 1..]),
        None => (payload, &[][..]),
    };
    let Ok(header) = serde_json::from_slice::<Header>(header) else {
        tracing::warn!("ignoring a malformed message on the cluster bus");
        return;
    };
    if header.i == me {
        return;
    }
    crate::metrics::get().bus_received.inc();
    let now = Instant::now();
    let is_beat = matches!(header.kind, Kind::Beat);
    let gap = match peers.get_mut(&header.i) {
        Some(peer) => {
            let expected = if is_beat { peer.last } else { peer.last + 1 };
            let gap = header.n > expected;
            peer.last = peer.last.max(header.n);
            peer.heard = now;
            gap
        }
        None => {
            // A peer we have not heard since subscribing: the catch-up at subscribe time covers
            // everything it published before this.
            peers.insert(
                header.i.clone(),
                Peer {
                    last: header.n,
                    heard: now,
                },
            );
            false
        }
    };
    match header.kind {
        Kind::Deliver { s, to } => match std::str::from_utf8(frame) {
            Ok(json) => registry.publish(
                &to,
                Outgoing {
                    stream: Stream::from(s),
                    json: json.to_owned(),
                },
            ),
            Err(_) => tracing::warn!("ignoring a bus frame that is not UTF-8"),
        },
        Kind::Close { sessions, why } => match why {
            Why::Revoked => sessions.iter().for_each(|s| registry.session_revoked(*s)),
            Why::SignedOut => registry.sessions_signed_out(&sessions),
            Why::Deactivated => registry.account_deactivated(&sessions),
        },
        Kind::Beat => peers.retain(|_, p| now.duration_since(p.heard) < FORGET_AFTER),
    }
    if gap {
        tracing::debug!(instance = %header.i, "gap on the cluster bus; catching up from the database");
        catch_up(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::mailbox::Mail;

    fn message(instance: &str, n: u64, kind: Kind, frame: &str) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(&Header {
            i: instance.into(),
            n,
            kind,
        })
        .unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(frame.as_bytes());
        bytes
    }

    fn deliver(instance: &str, n: u64, to: UserId, frame: &str) -> Vec<u8> {
        message(
            instance,
            n,
            Kind::Deliver {
                s: WireStream::Ephemeral,
                to: vec![to],
            },
            frame,
        )
    }

    #[tokio::test]
    async fn frames_arrive_byte_for_byte_and_a_gap_asks_for_a_catch_up() {
        let registry = Arc::new(Registry::default());
        let (_reg, mailbox) = registry.register(UserId(7), SessionId(1), 16);
        let mut peers = HashMap::new();
        let frame = r#"{"type":"typing","text":"line\nbreak"}"#;
        receive(
            "me",
            &deliver("other", 1, UserId(7), frame),
            &registry,
            &mut peers,
        );
        match mailbox.take() {
            Some(Mail::Delivery(d)) => assert_eq!(d.frame.as_str(), frame),
            other => panic!("expected the frame, got {other:?}"),
        }
        // Our own messages come back from Redis too: ignored.
        receive(
            "me",
            &deliver("me", 1, UserId(7), frame),
            &registry,
            &mut peers,
        );
        assert!(mailbox.take().is_none());
        // Number 2 lost: number 3 arrives, then a catch-up instruction.
        receive(
            "me",
            &deliver("other", 3, UserId(7), "3"),
            &registry,
            &mut peers,
        );
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.frame.as_str() == "3"));
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.stream == Stream::CatchUp));
        // A heartbeat at the number we have: nothing; ahead of it (the last message was lost): catch up.
        receive(
            "me",
            &message("other", 3, Kind::Beat, ""),
            &registry,
            &mut peers,
        );
        assert!(mailbox.take().is_none());
        receive(
            "me",
            &message("other", 4, Kind::Beat, ""),
            &registry,
            &mut peers,
        );
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.stream == Stream::CatchUp));
        // Garbage is ignored, and the next message is still delivered.
        receive("me", b"not json\n{}", &registry, &mut peers);
        receive(
            "me",
            &deliver("other", 5, UserId(7), "5"),
            &registry,
            &mut peers,
        );
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.frame.as_str() == "5"));
        assert!(mailbox.take().is_none());
    }

    #[tokio::test]
    async fn a_revocation_from_another_instance_closes_the_session_here() {
        let registry = Arc::new(Registry::default());
        let (_reg, mailbox) = registry.register(UserId(7), SessionId(9), 16);
        let mut peers = HashMap::new();
        let close = message(
            "other",
            1,
            Kind::Close {
                sessions: vec![SessionId(9)],
                why: Why::SignedOut,
            },
            "",
        );
        receive("me", &close, &registry, &mut peers);
        assert!(
            matches!(mailbox.take(), Some(Mail::Close(r)) if r.code == jeco_shared::ws::close::SIGNED_OUT)
        );
    }
}
