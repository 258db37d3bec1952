//! Message traffic over real gateway connections: senders, receivers and exact accounting.
//!
//! A worker process runs one [`TrafficPlan`]: it opens its connections (hello → ready), waits for
//! the coordinator's go, then every *sending stream* (one connection sending into one conversation)
//! sends `send` frames — at a fixed rate, or as fast as acknowledgements allow with at most
//! `window` unacknowledged — while every connection records what arrives:
//! - each `ack`: the `(conversation, seq)` the server assigned, and send→ack latency;
//! - each `event` of a message this tool sent: `(conversation, seq)` into a [`SeqSet`] per
//!   conversation (a second arrival is a duplicate), and send→receive latency.
//!
//! The send time travels inside the message text (`jb:<unix µs>:…`) and the `client_id`, so any
//! receiver in any worker process on this machine can compute the latency from one clock. Losses
//! are computed by the coordinator: every acknowledged `(conversation, seq)` must have reached every
//! member's connection exactly once.
//!
//! Frames are recognised by a small scan of the JSON instead of a full decode: the receivers run on
//! the same cores as the server under test, and every microsecond they spend is one the server
//! does not get. The scan relies on the field order of `jeco_shared::ws::ServerFrame` (tag first,
//! then the event's `conversation_id` and `seq`); a unit test pins that against the real types.

use crate::gateway_client::{self, Failure, Socket, TokenPlacement};
use crate::latency::{Histogram, SeqSet};
use anyhow::{Result, bail};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use jeco_shared::ConversationId;
use jeco_shared::ws::ClientFrame;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Prefix of every message text this tool sends.
pub const TEXT_PREFIX: &str = "jb:";

/// One worker's share of a traffic scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrafficPlan {
    pub addr: SocketAddr,
    pub connections: Vec<TrafficConnection>,
    /// Handshakes in flight at once.
    pub parallel: usize,
    pub handshake_timeout_ms: u64,
    pub send: SendPlan,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrafficConnection {
    pub token: String,
    /// The instance to connect to, when not the plan's `addr` (a cluster).
    #[serde(default)]
    pub addr: Option<SocketAddr>,
    /// Conversations this connection sends into (one sending stream each).
    pub sends_to: Vec<ConversationId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendPlan {
    /// Messages per second of each sending stream; 0 means as fast as acks allow.
    pub rate_per_stream: f64,
    /// Unacknowledged sends a stream may have.
    pub window: usize,
    /// How long to send; 0 means until `max_per_stream`.
    pub duration_ms: u64,
    /// Messages per stream, if bounded.
    pub max_per_stream: Option<u64>,
    /// After the senders are done, stop once no event arrived for this long.
    pub quiet_ms: u64,
    /// Longest wait for outstanding acks and deliveries after sending stopped.
    pub drain_timeout_ms: u64,
    pub text: TextKind,
    /// Keep per-conversation sets of what each connection received (exact loss accounting).
    pub record_deliveries: bool,
}

/// What message texts look like.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TextKind {
    /// The prefix padded with `x` to `bytes`.
    Padded { bytes: usize },
    /// The prefix and `words` words from a skewed vocabulary (see [`vocabulary_word`]).
    Words { words: usize, vocabulary: usize },
}

/// What one connection received, for the coordinator's loss accounting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Received {
    /// `(conversation, seqs)` of this tool's messages that arrived.
    pub conversations: Vec<(i64, SeqSet)>,
}

/// A worker's result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrafficReport {
    pub opened: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    pub sent: u64,
    pub acked: u64,
    /// Error frames answering a send, by error code.
    pub refused: BTreeMap<String, u64>,
    /// Sends with neither ack nor error when the drain timed out.
    pub unanswered: u64,
    /// Acknowledged `(conversation, seqs)`, merged over this worker's streams.
    pub acked_seqs: Vec<(i64, SeqSet)>,
    /// Per connection, in plan order (empty unless `record_deliveries`).
    pub received: Vec<Received>,
    /// Events of this tool's messages that arrived (duplicates included).
    pub delivered: u64,
    pub duplicates: u64,
    pub ack_latency: Histogram,
    pub delivery_latency: Histogram,
    /// Unix µs of the first send and of the last ack / delivery.
    pub first_send_us: u64,
    pub last_ack_us: u64,
    pub last_delivery_us: u64,
    /// Connections the server closed (or that broke) during the run, by reason.
    pub lost_connections: BTreeMap<String, u64>,
}

pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A frame as the scan sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned<'a> {
    /// A conversation event; `sent_us` when it is a message this tool sent.
    Event {
        conversation: i64,
        seq: i64,
        sent_us: Option<u64>,
    },
    Ack {
        client_id: &'a str,
        conversation: i64,
        seq: i64,
    },
    Error {
        code: &'a str,
        client_id: Option<&'a str>,
    },
    Other,
}

fn number_after(text: &str, key: &str) -> Option<(i64, usize)> {
    let at = text.find(key)? + key.len();
    let digits = text[at..]
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(text.len() - at);
    Some((text[at..at + digits].parse().ok()?, at + digits))
}

fn string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let end = text[at..].find('"')?;
    Some(&text[at..at + end])
}

fn sent_micros(text: &str) -> Option<u64> {
    let at = text.find(r#""text":"jb:"#)? + r#""text":"jb:"#.len();
    let end = text[at..].find(':')?;
    text[at..at + end].parse().ok()
}

/// Recognises the frames the traffic scenarios care about (see the module doc).
pub fn scan(text: &str) -> Scanned<'_> {
    if text.starts_with(r#"{"type":"event","#) {
        let Some((conversation, rest)) = number_after(text, r#""conversation_id":"#) else {
            return Scanned::Other;
        };
        let Some((seq, _)) = number_after(&text[rest..], r#""seq":"#) else {
            return Scanned::Other;
        };
        let sent_us = if text.contains(r#""kind":"message_created""#) {
            sent_micros(text)
        } else {
            None
        };
        Scanned::Event {
            conversation,
            seq,
            sent_us,
        }
    } else if text.starts_with(r#"{"type":"ack","#) {
        let Some(client_id) = string_after(text, r#""client_id":""#) else {
            return Scanned::Other;
        };
        let Some(message) = text.find(r#""message":{"#) else {
            return Scanned::Other;
        };
        let body = &text[message..];
        match (
            number_after(body, r#""conversation_id":"#),
            number_after(body, r#""seq":"#),
        ) {
            (Some((conversation, _)), Some((seq, _))) => Scanned::Ack {
                client_id,
                conversation,
                seq,
            },
            _ => Scanned::Other,
        }
    } else if text.starts_with(r#"{"type":"error","#) {
        Scanned::Error {
            code: string_after(text, r#""code":""#).unwrap_or("?"),
            client_id: string_after(text, r#""client_id":""#),
        }
    } else {
        Scanned::Other
    }
}

/// A small deterministic generator (xorshift64*); benchmarks need repeatable, not secure, numbers.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ten", "ra", "vu", "sel", "no", "pi", "dar", "e", "qua", "zo", "fin", "ba",
    "lu",
];

/// Word number `n` of the benchmark vocabulary: pronounceable, distinct for distinct `n`.
pub fn vocabulary_word(n: usize) -> String {
    let mut word = String::new();
    let mut n = n;
    loop {
        word.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
        n -= 1;
    }
    word
}

/// A word index with a skewed distribution: low indices are common, high ones rare (the density
/// falls like 1/√i), so queries for `vocabulary_word(0)` match many messages and for
/// `vocabulary_word(vocabulary - 1)` few.
pub fn skewed_index(rng: &mut Rng, vocabulary: usize) -> usize {
    let u = rng.unit();
    ((u * u) * vocabulary as f64) as usize % vocabulary.max(1)
}

/// The text of a message sent at `sent_us`.
pub fn message_text(kind: &TextKind, sent_us: u64, rng: &mut Rng) -> String {
    let mut text = format!("{TEXT_PREFIX}{sent_us}:");
    match kind {
        TextKind::Padded { bytes } => {
            while text.len() < *bytes {
                text.push('x');
            }
        }
        TextKind::Words { words, vocabulary } => {
            for _ in 0..*words {
                text.push(' ');
                text.push_str(&vocabulary_word(skewed_index(rng, *vocabulary)));
            }
        }
    }
    text
}

/// Shared across a worker's connections; merged and reported at the end.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    duplicates: AtomicU64,
    first_send_us: AtomicU64,
    last_ack_us: AtomicU64,
    last_delivery_us: AtomicU64,
    histograms: Mutex<(Histogram, Histogram)>,
    refused: Mutex<BTreeMap<String, u64>>,
    acked_seqs: Mutex<HashMap<i64, SeqSet>>,
}

/// Latencies are buffered per connection and merged into the shared histograms in batches.
const LATENCY_BATCH: usize = 256;

struct Stream {
    conversation: ConversationId,
    window: Arc<Semaphore>,
}

/// One live connection's receiving side.
struct Receiver {
    streams: Arc<Vec<Stream>>,
    received: HashMap<i64, SeqSet>,
    record: bool,
    ack_buf: Vec<u64>,
    delivery_buf: Vec<u64>,
    totals: Arc<Totals>,
}

impl Receiver {
    /// Handles one text frame; `true` when it was traffic (an event, ack or error), not a pong.
    fn on_text(&mut self, text: &str) -> bool {
        match scan(text) {
            Scanned::Event {
                conversation,
                seq,
                sent_us: Some(sent_us),
            } => {
                let now = unix_micros();
                self.totals.delivered.fetch_add(1, Ordering::Relaxed);
                self.totals
                    .last_delivery_us
                    .fetch_max(now, Ordering::Relaxed);
                if self.record && !self.received.entry(conversation).or_default().insert(seq) {
                    self.totals.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                self.delivery_buf.push(now.saturating_sub(sent_us));
                if self.delivery_buf.len() >= LATENCY_BATCH {
                    self.flush();
                }
            }
            Scanned::Ack {
                client_id,
                conversation,
                seq,
            } => {
                let Some((stream, sent_us)) = parse_client_id(client_id) else {
                    return true;
                };
                let now = unix_micros();
                self.totals.acked.fetch_add(1, Ordering::Relaxed);
                self.totals.last_ack_us.fetch_max(now, Ordering::Relaxed);
                self.totals
                    .acked_seqs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(conversation)
                    .or_default()
                    .insert(seq);
                self.ack_buf.push(now.saturating_sub(sent_us));
                if let Some(s) = self.streams.get(stream) {
                    s.window.add_permits(1);
                }
            }
            Scanned::Error { code, client_id } => {
                *self
                    .totals
                    .refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(code.to_owned())
                    .or_insert(0) += 1;
                if let Some((stream, _)) = client_id.and_then(parse_client_id)
                    && let Some(s) = self.streams.get(stream)
                {
                    s.window.add_permits(1);
                }
            }
            Scanned::Event { sent_us: None, .. } => {}
            Scanned::Other => return false,
        }
        true
    }

    fn flush(&mut self) {
        let mut h = self
            .totals
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for v in self.ack_buf.drain(..) {
            h.0.record(v);
        }
        for v in self.delivery_buf.drain(..) {
            h.1.record(v);
        }
    }
}

/// `client_id` = `<stream>.<n>.<sent µs>`.
fn client_id(stream: usize, n: u64, sent_us: u64) -> String {
    format!("{stream}.{n}.{sent_us}")
}

fn parse_client_id(id: &str) -> Option<(usize, u64)> {
    let mut parts = id.split('.');
    let stream = parts.next()?.parse().ok()?;
    let _n = parts.next()?;
    let sent = parts.next()?.parse().ok()?;
    Some((stream, sent))
}

/// Feeds queued frames to the socket and flushes once per batch (one write for many frames).
async fn write_loop(
    mut sink: SplitSink<Socket, Message>,
    mut rx: mpsc::UnboundedReceiver<Message>,
) {
    while let Some(first) = rx.recv().await {
        if sink.feed(first).await.is_err() {
            return;
        }
        while let Ok(next) = rx.try_recv() {
            if sink.feed(next).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// Runs the plan: opens the connections, reports `opened`, waits for `go`, runs traffic, reports.
/// `go` resolves when the coordinator says so; `established` is called once every connection has
/// an outcome.
pub async fn run(
    plan: TrafficPlan,
    established: impl FnOnce(u64, u64, &BTreeMap<String, u64>) -> Result<()>,
    go: impl std::future::Future<Output = ()>,
) -> Result<TrafficReport> {
    if plan.send.window == 0 {
        bail!("window must be at least 1");
    }
    let gate = Arc::new(Semaphore::new(plan.parallel.max(1)));
    let timeout = Duration::from_millis(plan.handshake_timeout_ms);
    let mut opening = Vec::with_capacity(plan.connections.len());
    for connection in &plan.connections {
        let gate = gate.clone();
        let token = connection.token.clone();
        let addr = connection.addr.unwrap_or(plan.addr);
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            tokio::time::timeout(
                timeout,
                gateway_client::open(addr, &token, TokenPlacement::Header),
            )
            .await
            .unwrap_or(Err(Failure::Timeout))
        }));
    }
    let mut live = Vec::with_capacity(opening.len());
    let mut failures = BTreeMap::new();
    for task in opening {
        match task.await? {
            Ok(connection) => live.push(Some(connection)),
            Err(failure) => {
                *failures.entry(failure.to_string()).or_insert(0) += 1;
                live.push(None);
            }
        }
    }
    let opened = live.iter().filter(|c| c.is_some()).count() as u64;
    let failed = live.len() as u64 - opened;
    established(opened, failed, &failures)?;
    go.await;

    let totals = Arc::new(Totals::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let last_event = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    for (index, connection) in live.into_iter().enumerate() {
        let Some(connection) = connection else {
            readers.push(None);
            continue;
        };
        let heartbeat = connection.heartbeat_interval;
        let (sink, mut stream) = connection.into_socket().split();
        let (tx, rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(write_loop(sink, rx));
        let streams: Arc<Vec<Stream>> = Arc::new(
            plan.connections[index]
                .sends_to
                .iter()
                .map(|c| Stream {
                    conversation: *c,
                    window: Arc::new(Semaphore::new(plan.send.window)),
                })
                .collect(),
        );
        for k in 0..streams.len() {
            let streams = streams.clone();
            let tx = tx.clone();
            let totals = totals.clone();
            let send = plan.send.clone();
            let seed = (index as u64) << 16 | k as u64;
            senders.push(tokio::spawn(async move {
                send_stream(&streams[k], k, &send, tx, totals, seed).await
            }));
        }
        let mut receiver = Receiver {
            streams,
            received: HashMap::new(),
            record: plan.send.record_deliveries,
            ack_buf: Vec::new(),
            delivery_buf: Vec::new(),
            totals: totals.clone(),
        };
        let mut stop = stop_rx.clone();
        let last_event = last_event.clone();
        readers.push(Some(tokio::spawn(async move {
            // As the engine does: the server pings a silent connection; ping only after more
            // than an interval without hearing anything.
            let silence = heartbeat + heartbeat / 10;
            let mut last_heard = Instant::now();
            let mut nonce = 0;
            let lost = loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break None,
                    () = tokio::time::sleep_until(last_heard + silence) => {
                        nonce += 1;
                        last_heard = Instant::now();
                        let ping = serde_json::to_string(&ClientFrame::Ping { nonce }).unwrap_or_default();
                        let _ = tx.send(Message::text(ping));
                    }
                    message = stream.next() => {
                        last_heard = Instant::now();
                        match message {
                            Some(Ok(Message::Text(text))) => {
                                // Heartbeat pongs do not count: "quiet" means no traffic.
                                if receiver.on_text(text.as_str()) {
                                    last_event.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                                }
                            }
                            Some(Ok(Message::Close(frame))) => {
                                break Some(Failure::Closed(frame.map_or(1005, |f| u16::from(f.code))));
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => break Some(e.into()),
                            None => break Some(Failure::Eof),
                        }
                    }
                }
            };
            receiver.flush();
            (receiver.received, lost)
        })));
    }

    // Senders finish by duration or count, then wait (bounded) for their outstanding acks.
    let mut unanswered = 0;
    for sender in senders {
        unanswered += sender.await?;
    }
    // Then the receivers listen until deliveries go quiet.
    let quiet = plan.send.quiet_ms;
    let deadline = Instant::now() + Duration::from_millis(plan.send.drain_timeout_ms);
    loop {
        let since = started.elapsed().as_millis() as u64 - last_event.load(Ordering::Relaxed);
        if since >= quiet || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis((quiet - since).max(10))).await;
    }
    stop_tx.send_replace(true);
    let mut report = TrafficReport {
        opened,
        failed,
        failures,
        unanswered,
        ..Default::default()
    };
    for reader in readers {
        let Some(reader) = reader else {
            report.received.push(Received::default());
            continue;
        };
        let (received, lost) = reader.await?;
        if let Some(failure) = lost {
            *report
                .lost_connections
                .entry(failure.to_string())
                .or_insert(0) += 1;
        }
        let mut conversations: Vec<(i64, SeqSet)> = received.into_iter().collect();
        conversations.sort_by_key(|(c, _)| *c);
        report.received.push(Received { conversations });
    }
    let totals = Arc::try_unwrap(totals).unwrap_or_default();
    report.sent = totals.sent.into_inner();
    report.acked = totals.acked.into_inner();
    report.delivered = totals.delivered.into_inner();
    report.duplicates = totals.duplicates.into_inner();
    report.first_send_us = totals.first_send_us.into_inner();
    report.last_ack_us = totals.last_ack_us.into_inner();
    report.last_delivery_us = totals.last_delivery_us.into_inner();
    let (ack, delivery) = totals
        .histograms
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    report.ack_latency = ack.to_sparse();
    report.delivery_latency = delivery.to_sparse();
    report.refused = totals.refused.into_inner().unwrap_or_default();
    let mut acked: Vec<(i64, SeqSet)> = totals
        .acked_seqs
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .collect();
    acked.sort_by_key(|(c, _)| *c);
    report.acked_seqs = acked;
    if !plan.send.record_deliveries {
        report.received.clear();
    }
    Ok(report)
}

/// One sending stream; returns how many sends were still unanswered when it gave up waiting.
async fn send_stream(
    stream: &Stream,
    k: usize,
    plan: &SendPlan,
    tx: mpsc::UnboundedSender<Message>,
    totals: Arc<Totals>,
    seed: u64,
) -> u64 {
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let until = (plan.duration_ms > 0).then(|| started + Duration::from_millis(plan.duration_ms));
    let mut ticker = (plan.rate_per_stream > 0.0).then(|| {
        let period = Duration::from_secs_f64(1.0 / plan.rate_per_stream);
        // Streams start spread over one period so they do not send in lockstep.
        let phase = period.mul_f64(rng.unit());
        let mut t = tokio::time::interval_at(started + phase, period);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut n = 0u64;
    loop {
        if plan.max_per_stream.is_some_and(|max| n >= max) {
            break;
        }
        if let Some(ticker) = &mut ticker {
            ticker.tick().await;
        }
        if until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        let permit = match until {
            Some(u) => match tokio::time::timeout_at(u, stream.window.acquire()).await {
                Ok(Ok(p)) => p,
                _ => break,
            },
            None => match stream.window.acquire().await {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        permit.forget();
        let sent_us = unix_micros();
        let _ =
            totals
                .first_send_us
                .compare_exchange(0, sent_us, Ordering::Relaxed, Ordering::Relaxed);
        let frame = ClientFrame::Send {
            conversation_id: stream.conversation,
            client_id: client_id(k, n, sent_us),
            text: message_text(&plan.text, sent_us, &mut rng),
            reply_to: None,
            thread_only: false,
            attachment_ids: Vec::new(),
        };
        let text = serde_json::to_string(&frame).unwrap_or_default();
        if tx.send(Message::text(text)).is_err() {
            break;
        }
        totals.sent.fetch_add(1, Ordering::Relaxed);
        n += 1;
    }
    // Wait for the window to fill back up: every send answered.
    let window = plan.window as u32;
    match tokio::time::timeout(
        Duration::from_millis(plan.drain_timeout_ms),
        stream.window.acquire_many(window),
    )
    .await
    {
        Ok(Ok(_)) => 0,
        _ => (window as usize - stream.window.available_permits().min(window as usize)) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeco_shared::events::{ConversationEvent, EventBody};
    use jeco_shared::messages::Message as ChatMessage;
    use jeco_shared::ws::ServerFrame;
    use jeco_shared::{ErrorCode, MessageId, UserId};

    fn message(text: &str) -> ChatMessage {
        ChatMessage::new(
            MessageId(77),
            ConversationId(12),
            345,
            UserId(3),
            "0.5.1700000000000000".into(),
            text.into(),
            "2026-01-01T00:00:00Z".into(),
        )
    }

    #[test]
    fn the_scan_reads_real_frames() {
        let event = serde_json::to_string(&ServerFrame::Event(ConversationEvent {
            conversation_id: ConversationId(12),
            seq: 345,
            at: "2026-01-01T00:00:00Z".into(),
            actor_id: UserId(3),
            body: EventBody::MessageCreated {
                message: message("jb:1700000000000123:xxxx"),
            },
        }))
        .unwrap();
        assert_eq!(
            scan(&event),
            Scanned::Event {
                conversation: 12,
                seq: 345,
                sent_us: Some(1_700_000_000_000_123)
            },
            "{event}"
        );
        let ack = serde_json::to_string(&ServerFrame::Ack {
            client_id: "0.5.1700000000000000".into(),
            message: message("hi"),
        })
        .unwrap();
        assert_eq!(
            scan(&ack),
            Scanned::Ack {
                client_id: "0.5.1700000000000000",
                conversation: 12,
                seq: 345
            }
        );
        assert_eq!(
            parse_client_id("0.5.1700000000000000"),
            Some((0, 1_700_000_000_000_000))
        );
        let error = serde_json::to_string(&ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            frame: Some("send".into()),
            client_id: Some("1.2.3".into()),
        })
        .unwrap();
        assert_eq!(
            scan(&error),
            Scanned::Error {
                code: ErrorCode::RateLimited.as_str(),
                client_id: Some("1.2.3")
            }
        );
        let foreign = serde_json::to_string(&ServerFrame::Event(ConversationEvent {
            conversation_id: ConversationId(1),
            seq: 2,
            at: "t".into(),
            actor_id: UserId(3),
            body: EventBody::MessageCreated {
                message: message("hello"),
            },
        }))
        .unwrap();
        assert!(matches!(
            scan(&foreign),
            Scanned::Event { sent_us: None, .. }
        ));
        assert_eq!(scan(r#"{"type":"pong","nonce":1}"#), Scanned::Other);
    }

    #[test]
    fn texts_and_words() {
        let mut rng = Rng::new(1);
        let t = message_text(&TextKind::Padded { bytes: 40 }, 5, &mut rng);
        assert_eq!(t.len(), 40);
        assert!(t.starts_with("jb:5:"));
        let t = message_text(
            &TextKind::Words {
                words: 8,
                vocabulary: 1000,
            },
            5,
            &mut rng,
        );
        assert_eq!(t.split(' ').count(), 9);
        let words: std::collections::HashSet<String> = (0..5000).map(vocabulary_word).collect();
        assert_eq!(words.len(), 5000);
    }
}
