//! The bus between instances, and [`Hub`]: the fan-out every service publishes to.
//!
//! A service hands a committed event to the [`Hub`] once. The hub gives it to this instance's
//! connections directly (the registry, no round trip) and, in a cluster, queues the same encoded
//! frame for Redis pub/sub, where every other instance's subscriber hands it to *its* connections.
//! Session revocations travel the same way, so a logout on one instance closes that session's
//! sockets on all of them.
//!
//! **Presence** crosses the bus as state, not as frames: each instance publishes its own part of a
//! user's status when it changes (`presence` messages), a full list of its connected users when
//! asked (`sync`, asked by an instance that (re)subscribed, saw a gap in another's numbering, or
//! heard from an instance it has no list of) and an empty list when it stops. Every instance keeps
//! the others' parts, merges them with its own connections (online beats away beats offline) and
//! announces changes to its own clients (`services::presence`). An instance not heard from for
//! [`GONE`] — killed, cut off — is presumed dead: its part is dropped, and its users go offline
//! wherever they have no other connection.
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
use crate::services::fanout::presence_rank;
use crate::services::{Fanout, Outgoing, SessionObserver, Stream};
use futures_util::StreamExt;
use jeco_shared::events::PresenceStatus;
use jeco_shared::{ConversationId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
// tokio's clock, so tests can move it (`start_paused`).
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

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
/// An instance not heard from for this long is presumed dead: its users' presence there is
/// dropped (ten missed heartbeats: longer than any pause a live instance's publisher survives).
pub const GONE: Duration = Duration::from_secs(10);
/// How long [`Hub::stop`] waits for what is queued to reach Redis.
const STOP_FLUSH: Duration = Duration::from_secs(1);

/// What this instance knows of the others' connected users.
#[derive(Default)]
struct RemotePresence {
    /// Per instance, its users that are not offline there.
    users: HashMap<String, HashMap<UserId, PresenceStatus>>,
    /// Instances whose full list arrived (so their deltas are the whole story).
    complete: std::collections::HashSet<String>,
}

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
    /// Messages queued, and messages the publisher finished with (sent or dropped): equal when
    /// nothing waits for Redis.
    queued: Arc<std::sync::atomic::AtomicU64>,
    finished: Arc<std::sync::atomic::AtomicU64>,
    remote: Arc<Mutex<RemotePresence>>,
    /// The receiving end of the subscriber's presence changes, until the presence service takes it.
    changes: Mutex<Option<mpsc::UnboundedReceiver<UserId>>>,
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
        let (changed, changes) = mpsc::unbounded_channel();
        let instance = cluster.instance().to_owned();
        let remote = Arc::new(Mutex::new(RemotePresence::default()));
        let finished = Arc::new(std::sync::atomic::AtomicU64::new(0));
        Arc::new_cyclic(|hub: &std::sync::Weak<Hub>| {
            let listener =
                Listener::new(instance.clone(), registry.clone(), remote.clone(), changed);
            let tasks = vec![
                tokio::spawn(publish_loop(
                    waiting,
                    cluster.connection(),
                    finished.clone(),
                )),
                tokio::spawn(subscribe_loop(cluster.clone(), listener, hub.clone())),
                tokio::spawn(beat_loop(hub.clone())),
            ];
            Self {
                registry,
                bus: Some(Bus {
                    instance,
                    last: Mutex::new(0),
                    queue,
                    queued: Default::default(),
                    finished,
                    remote,
                    changes: Mutex::new(Some(changes)),
                    tasks,
                }),
            }
        })
    }

    /// The connections of this instance.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Leaves the cluster (shutdown, after the gateway closed its connections): tells the others
    /// this instance has no users any more, waits (at most [`STOP_FLUSH`]) for what is queued to
    /// reach Redis, and stops the bus tasks.
    pub async fn stop(&self) {
        let Some(bus) = &self.bus else {
            return;
        };
        self.to_bus(
            Kind::Presence {
                users: Vec::new(),
                full: true,
            },
            "",
        );
        let deadline = Instant::now() + STOP_FLUSH;
        let ordering = std::sync::atomic::Ordering::Acquire;
        while bus.finished.load(ordering) < bus.queued.load(ordering) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for task in &bus.tasks {
            task.abort();
        }
    }

    /// Publishes this instance's full list of connected users and their status here.
    fn publish_snapshot(&self) {
        let users = self
            .registry
            .connected_users()
            .into_iter()
            .map(|u| (u, self.registry.presence(u)))
            .filter(|(_, status)| *status != PresenceStatus::Offline)
            .collect();
        self.to_bus(Kind::Presence { users, full: true }, "");
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
        } else {
            bus.queued
                .fetch_add(1, std::sync::atomic::Ordering::Release);
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
        let here = self.registry.presence(user);
        let Some(bus) = &self.bus else {
            return here;
        };
        if here == PresenceStatus::Online {
            return here;
        }
        merged(
            here,
            &bus.remote.lock().unwrap_or_else(|p| p.into_inner()),
            user,
        )
    }

    fn local_presence(&self, user: UserId) -> PresenceStatus {
        self.registry.presence(user)
    }

    fn publish_here(&self, recipients: &[UserId], frame: Outgoing) {
        self.registry.publish(recipients, frame);
    }

    fn local_presence_changed(&self, user: UserId, status: PresenceStatus) {
        self.to_bus(
            Kind::Presence {
                users: vec![(user, status)],
                full: false,
            },
            "",
        );
    }

    fn remote_presence_changes(&self) -> Option<mpsc::UnboundedReceiver<UserId>> {
        self.bus
            .as_ref()?
            .changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
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
    /// The sender's own part of these users' presence; `full`: the whole list (users not in it
    /// are offline there).
    Presence {
        users: Vec<(UserId, PresenceStatus)>,
        full: bool,
    },
    /// "Publish your full presence list": `from` one instance, or every instance.
    Sync { from: Option<String> },
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
    finished: Arc<std::sync::atomic::AtomicU64>,
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
        finished.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Release);
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
    /// When its presence list was last asked for.
    asked: Option<Instant>,
}

/// A user's status here merged with the other instances' parts: the most present one wins.
fn merged(here: PresenceStatus, remote: &RemotePresence, user: UserId) -> PresenceStatus {
    remote
        .users
        .values()
        .filter_map(|users| users.get(&user).copied())
        .chain([here])
        .max_by_key(|s| presence_rank(*s))
        .unwrap_or(here)
}

/// What the subscriber keeps between messages, and how it handles each.
struct Listener {
    me: String,
    registry: Arc<Registry>,
    peers: HashMap<String, Peer>,
    remote: Arc<Mutex<RemotePresence>>,
    /// Users whose status elsewhere changed, for the presence service.
    changed: mpsc::UnboundedSender<UserId>,
    /// When the current subscription started.
    since: Instant,
    swept: Instant,
}

/// What the subscriber asks the hub to publish after a message.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// Our full presence list (someone asked).
    Snapshot,
    /// Ask for one instance's list, or everyone's.
    AskSync(Option<String>),
}

impl Listener {
    fn new(
        me: String,
        registry: Arc<Registry>,
        remote: Arc<Mutex<RemotePresence>>,
        changed: mpsc::UnboundedSender<UserId>,
    ) -> Self {
        let now = Instant::now();
        Self {
            me,
            registry,
            peers: HashMap::new(),
            remote,
            changed,
            since: now,
            swept: now,
        }
    }

    /// A new subscription: numbering starts over, and everything missed is read again (events
    /// from the database, presence lists from the others).
    fn subscribed(&mut self) -> Reply {
        self.peers.clear();
        self.since = Instant::now();
        catch_up(&self.registry);
        Reply::AskSync(None)
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, RemotePresence> {
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops the presence of instances not heard from for [`GONE`].
    fn sweep(&mut self, now: Instant) {
        if now.duration_since(self.swept) < BEAT {
            return;
        }
        self.swept = now;
        let gone: Vec<String> = {
            let remote = self.remote();
            remote
                .users
                .keys()
                .chain(remote.complete.iter())
                .filter(|i| {
                    let heard = self.peers.get(*i).map_or(self.since, |p| p.heard);
                    now.duration_since(heard) >= GONE
                })
                .cloned()
                .collect()
        };
        for instance in gone {
            let users = {
                let mut remote = self.remote();
                remote.complete.remove(&instance);
                remote.users.remove(&instance).unwrap_or_default()
            };
            if !users.is_empty() {
                tracing::warn!(
                    %instance,
                    users = users.len(),
                    "an instance stopped answering; its users' presence there is dropped"
                );
            }
            for user in users.into_keys() {
                let _ = self.changed.send(user);
            }
        }
    }

    /// Applies another instance's presence list or changes.
    fn apply_presence(&self, from: &str, users: Vec<(UserId, PresenceStatus)>, full: bool) {
        let mut touched = Vec::with_capacity(users.len());
        {
            let mut remote = self.remote();
            if full {
                remote.complete.insert(from.to_owned());
            }
            let theirs = remote.users.entry(from.to_owned()).or_default();
            if full {
                touched.extend(theirs.drain().map(|(u, _)| u));
            }
            for (user, status) in users {
                if status == PresenceStatus::Offline {
                    theirs.remove(&user);
                } else {
                    theirs.insert(user, status);
                }
                touched.push(user);
            }
            if theirs.is_empty() {
                remote.users.remove(from);
            }
        }
        for user in touched {
            let _ = self.changed.send(user);
        }
    }

    /// Handles one bus message: delivers or closes locally, keeps the others' presence, notices
    /// gaps in a sender's numbering. Returns what to publish in answer.
    fn receive(&mut self, payload: &[u8]) -> Vec<Reply> {
        let now = Instant::now();
        self.sweep(now);
        let (header, frame) = match payload.iter().position(|b| *b == b'\n') {
            Some(at) => (&payload[..at], &payload[at + 1..]),
            None => (payload, &[][..]),
        };
        let Ok(header) = serde_json::from_slice::<Header>(header) else {
            tracing::warn!("ignoring a malformed message on the cluster bus");
            return Vec::new();
        };
        if header.i == self.me {
            return Vec::new();
        }
        crate::metrics::get().bus_received.inc();
        let mut replies = Vec::new();
        let is_beat = matches!(header.kind, Kind::Beat);
        let settled = now.duration_since(self.since) > BEAT * 2;
        let gap = match self.peers.get_mut(&header.i) {
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
                self.peers.insert(
                    header.i.clone(),
                    Peer {
                        last: header.n,
                        heard: now,
                        asked: settled.then_some(now),
                    },
                );
                false
            }
        };
        // An instance whose list we lack (new, or back after we gave it up): ask it, unless the
        // question every instance got at subscribe time is still being answered.
        let complete = self.remote().complete.contains(&header.i);
        if let Some(peer) = self.peers.get_mut(&header.i)
            && !complete
            && settled
            && peer.asked.is_none_or(|t| now.duration_since(t) > BEAT * 2)
        {
            peer.asked = Some(now);
            replies.push(Reply::AskSync(Some(header.i.clone())));
        }
        let registry = &self.registry;
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
            Kind::Beat => self
                .peers
                .retain(|_, p| now.duration_since(p.heard) < FORGET_AFTER),
            Kind::Presence { users, full } => self.apply_presence(&header.i, users, full),
            Kind::Sync { from } => {
                if from.is_none_or(|f| f == self.me) {
                    replies.push(Reply::Snapshot);
                }
            }
        }
        if gap {
            tracing::debug!(instance = %header.i, "gap on the cluster bus; catching up from the database");
            catch_up(&self.registry);
            // A lost presence change is recovered the same way: by asking for the whole list.
            if !replies.contains(&Reply::AskSync(Some(header.i.clone()))) {
                replies.push(Reply::AskSync(Some(header.i)));
            }
        }
        replies
    }
}

async fn subscribe_loop(cluster: Arc<Cluster>, mut listener: Listener, hub: std::sync::Weak<Hub>) {
    let metrics = crate::metrics::get();
    let mut backoff = Duration::from_millis(100);
    let mut down_since: Option<Instant> = None;
    let answer = |replies: Vec<Reply>| {
        let Some(hub) = hub.upgrade() else {
            return;
        };
        for reply in replies {
            match reply {
                Reply::Snapshot => hub.publish_snapshot(),
                Reply::AskSync(from) => hub.to_bus(Kind::Sync { from }, ""),
            }
        }
    };
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
                answer(vec![listener.subscribed()]);
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
                    answer(listener.receive(message.get_payload_bytes()));
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

    fn listener(registry: &Arc<Registry>) -> (Listener, mpsc::UnboundedReceiver<UserId>) {
        let (changed, changes) = mpsc::unbounded_channel();
        let listener = Listener::new(
            "me".into(),
            registry.clone(),
            Arc::new(Mutex::new(RemotePresence::default())),
            changed,
        );
        (listener, changes)
    }

    #[tokio::test]
    async fn frames_arrive_byte_for_byte_and_a_gap_asks_for_a_catch_up() {
        let registry = Arc::new(Registry::default());
        let (_reg, mailbox) = registry.register(UserId(7), SessionId(1), 16);
        let (mut listener, _changes) = listener(&registry);
        let frame = r#"{"type":"typing","text":"line\nbreak"}"#;
        listener.receive(&deliver("other", 1, UserId(7), frame));
        match mailbox.take() {
            Some(Mail::Delivery(d)) => assert_eq!(d.frame.as_str(), frame),
            other => panic!("expected the frame, got {other:?}"),
        }
        // Our own messages come back from Redis too: ignored.
        listener.receive(&deliver("me", 1, UserId(7), frame));
        assert!(mailbox.take().is_none());
        // Number 2 lost: number 3 arrives, then a catch-up instruction.
        listener.receive(&deliver("other", 3, UserId(7), "3"));
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.frame.as_str() == "3"));
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.stream == Stream::CatchUp));
        // A heartbeat at the number we have: nothing; ahead of it (the last message was lost): catch up.
        listener.receive(&message("other", 3, Kind::Beat, ""));
        assert!(mailbox.take().is_none());
        listener.receive(&message("other", 4, Kind::Beat, ""));
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.stream == Stream::CatchUp));
        // Garbage is ignored, and the next message is still delivered.
        listener.receive(b"not json\n{}");
        listener.receive(&deliver("other", 5, UserId(7), "5"));
        assert!(matches!(mailbox.take(), Some(Mail::Delivery(d)) if d.frame.as_str() == "5"));
        assert!(mailbox.take().is_none());
    }

    #[tokio::test]
    async fn a_revocation_from_another_instance_closes_the_session_here() {
        let registry = Arc::new(Registry::default());
        let (_reg, mailbox) = registry.register(UserId(7), SessionId(9), 16);
        let (mut listener, _changes) = listener(&registry);
        let close = message(
            "other",
            1,
            Kind::Close {
                sessions: vec![SessionId(9)],
                why: Why::SignedOut,
            },
            "",
        );
        listener.receive(&close);
        assert!(
            matches!(mailbox.take(), Some(Mail::Close(r)) if r.code == jeco_shared::ws::close::SIGNED_OUT)
        );
    }

    fn drain(changes: &mut mpsc::UnboundedReceiver<UserId>) -> Vec<i64> {
        let mut users = Vec::new();
        while let Ok(u) = changes.try_recv() {
            users.push(u.0);
        }
        users.sort_unstable();
        users.dedup();
        users
    }

    fn presence(users: &[(i64, PresenceStatus)], full: bool) -> Kind {
        Kind::Presence {
            users: users.iter().map(|(u, s)| (UserId(*u), *s)).collect(),
            full,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn presence_elsewhere_merges_with_here_and_ends_when_its_instance_goes_silent() {
        use PresenceStatus::{Away, Offline, Online};
        let registry = Arc::new(Registry::default());
        let (mut listener, mut changes) = listener(&registry);
        let remote = listener.remote.clone();
        let status = |user: i64| {
            let here = registry.presence(UserId(user));
            merged(here, &remote.lock().unwrap(), UserId(user))
        };
        // A full list from "other": 8 online and 9 away there.
        let replies = listener.receive(&message(
            "other",
            1,
            presence(&[(8, Online), (9, Away)], true),
            "",
        ));
        assert!(replies.is_empty(), "{replies:?}");
        assert_eq!(drain(&mut changes), vec![8, 9]);
        assert_eq!((status(8), status(9), status(10)), (Online, Away, Offline));
        // 9 also connects here and is active: online wins over away elsewhere.
        let (_here, _mailbox) = registry.register(UserId(9), SessionId(1), 16);
        assert_eq!(status(9), Online);
        // 8 leaves "other".
        listener.receive(&message("other", 2, presence(&[(8, Offline)], false), ""));
        assert_eq!(drain(&mut changes), vec![8]);
        assert_eq!(status(8), Offline);
        // Asked for lists: everyone's, ours, someone else's.
        let ask = |n, from: Option<&str>| {
            message(
                "other",
                n,
                Kind::Sync {
                    from: from.map(str::to_owned),
                },
                "",
            )
        };
        assert_eq!(listener.receive(&ask(3, None)), vec![Reply::Snapshot]);
        assert_eq!(listener.receive(&ask(4, Some("me"))), vec![Reply::Snapshot]);
        assert!(listener.receive(&ask(5, Some("third"))).is_empty());
        // A lost message from "other" (6 missing): catch up, and ask for its whole list again.
        let replies = listener.receive(&message("other", 7, Kind::Beat, ""));
        assert_eq!(replies, vec![Reply::AskSync(Some("other".into()))]);
        // "other" goes silent while "third" keeps beating: after GONE its users are dropped.
        tokio::time::advance(GONE + BEAT).await;
        listener.receive(&message("third", 1, Kind::Beat, ""));
        assert_eq!(drain(&mut changes), vec![9]);
        assert!(remote.lock().unwrap().users.is_empty());
        // 9 is still connected here.
        assert_eq!(status(9), Online);
        // "third" never sent its list: it is asked for it (the subscribe-time question is old).
        tokio::time::advance(BEAT * 3).await;
        let replies = listener.receive(&message("third", 1, Kind::Beat, ""));
        assert_eq!(replies, vec![Reply::AskSync(Some("third".into()))]);
    }
}
