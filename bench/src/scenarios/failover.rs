//! Scenario `failover`: under steady traffic, one instance of a cluster is killed (SIGKILL, no
//! drain); how soon are its clients back on another instance and caught up, and is anything lost
//! or duplicated on the way?
//!
//! Method: at `--addr` (instance 0), register one sender and R receivers and create G groups
//! (receiver `i` in group `i mod G`, the sender in all). Each receiver opens one WebSocket,
//! round-robin over the instances (`--addr`, then every `--also-addr`), with a resume from
//! position 0 so that it knows its position in its group from the start. The sender's connection
//! is on instance 0, which is never killed; it sends `--rate` messages/s in total, round-robin over
//! the groups, with at most `--window` unacknowledged, and records each acknowledgement's
//! `(conversation, seq)` and time. `--kill-after` seconds into the sending, the tool sends SIGKILL
//! to the instance `--kill-index` (default: the last one; its pid comes from `--also-pid`).
//!
//! A receiver does what a real client does (the model is `receive()` in the server's
//! `tests/api/failover.rs`): whenever its connection ends, for whatever reason, it reconnects —
//! to the next address in the list, as a balancer would send it elsewhere, trying the one after
//! that with a short backoff while that fails — and resumes from the last position it has. The
//! server replays what it missed, exactly once, then `caught_up`, then live events.
//!
//! After `--secs` of sending (and the last acks), the tool waits (at most `--drain-secs`) until
//! every receiver has every acknowledged message of its group, then computes, all on one clock
//! (Unix µs, one process):
//! - per receiver of the killed instance, *reconnect* = its resumed connection's `ready` − kill,
//!   and *recovery* = the moment it had every message acknowledged before that `ready`
//!   (and the `ready` itself) − kill ([`recovery_us`]);
//! - for every receiver: messages expected (acknowledged in its group), delivered (distinct),
//!   lost, duplicated (a position seen twice) and gaps (positions skipped). A run is valid only
//!   with nothing lost or duplicated.

use crate::accounts;
use crate::gateway_client::{self, Failure, Socket, TokenPlacement};
use crate::groups::{self, GroupPlan};
use crate::latency::{Histogram, Percentiles};
use crate::procfs::Machine;
use crate::report::{self, Table, thousands};
use crate::target::{ServerUnderTest, TargetSpec};
use crate::traffic::{self, Rng, Scanned, TextKind, unix_micros};
use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt, stream};
use jeco_shared::ConversationId;
use jeco_shared::events::{Position, Resume};
use jeco_shared::ws::{ClientFrame, ServerFrame};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Issue 18: clients of a killed instance back and caught up within 3 s (p99).
pub const TARGET_RECOVERY_P99_MS: f64 = 3000.0;
/// One reconnect attempt (upgrade → `ready`) may take this long before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed reconnect attempt, growing by this much per attempt up to [`BACKOFF_MAX`].
const BACKOFF_STEP: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Longest wait for the sender's outstanding acks after sending stopped.
const ACK_DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, clap::Args)]
pub struct FailoverArgs {
    /// Receiver users, one connection each, spread round-robin over the instances.
    #[arg(long, short = 'r', default_value_t = 200)]
    pub receivers: usize,
    /// Groups; every receiver is in one, the sender in all.
    #[arg(long, short = 'g', default_value_t = 4)]
    pub groups: usize,
    /// Messages per second in total, round-robin over the groups.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Unacknowledged sends at most.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 15)]
    pub secs: u64,
    /// Seconds into the sending when the instance is killed.
    #[arg(long, default_value_t = 5.0)]
    pub kill_after: f64,
    /// The instance to kill: 1 = the first --also-addr, … (default: the last). Instance 0
    /// (--addr, the sender's) is never killed.
    #[arg(long)]
    pub kill_index: Option<usize>,
    /// Longest wait after sending for every receiver to have every acknowledged message.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Bytes of message text.
    #[arg(long, default_value_t = 64)]
    pub text_bytes: usize,
    /// Registrations in flight (argon2-bound on the server).
    #[arg(long, default_value_t = 4)]
    pub register_parallel: usize,
    /// Handshakes in flight during setup.
    #[arg(long, default_value_t = 64)]
    pub parallel: usize,
}

#[derive(Debug, Serialize)]
pub struct FailoverResult {
    pub scenario: &'static str,
    pub bench_version: &'static str,
    pub unix_time: u64,
    pub machine: Machine,
    pub params: Params,
    pub server: Server,
    pub sender: SenderFigures,
    /// Seconds from the first send to the kill.
    pub killed_after_secs: f64,
    pub killed_receivers: usize,
    /// Receivers of the killed instance that were ready again elsewhere.
    pub reconnected: usize,
    /// Receivers of the killed instance that were ready again and had everything acknowledged
    /// before that `ready`.
    pub recovered: usize,
    /// `ready` of the resumed connection − kill, for the killed instance's receivers.
    pub reconnect_ms: Summary,
    /// Back and caught up − kill (see [`recovery_us`]).
    pub recovery_ms: Summary,
    /// Messages the killed instance's receivers got by replay after their resumed `ready` (acked
    /// before that `ready`, arrived after it), summed.
    pub owed_at_ready: u64,
    /// Reconnect attempts that failed (the next address was tried after a backoff).
    pub failed_attempts: u64,
    /// Receivers of surviving instances whose connection ended anyway.
    pub other_receivers_reconnected: usize,
    /// Every receiver: acknowledged messages of its group, summed.
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Positions a receiver saw twice.
    pub duplicated: u64,
    /// Positions a receiver's stream skipped.
    pub gaps: u64,
    /// `resync` frames (a resume too far behind): should be 0.
    pub resyncs: u64,
    /// Why connections ended → count.
    pub ends: BTreeMap<String, u64>,
    /// From the end of sending until every receiver had everything (`null`: not within
    /// `--drain-secs`).
    pub all_caught_up_after_secs: Option<f64>,
    /// Nothing lost or duplicated, every receiver connected and the kill signal delivered.
    pub valid: bool,
    pub targets: Targets,
}

#[derive(Debug, Serialize)]
pub struct Params {
    pub receivers: usize,
    pub groups: usize,
    pub rate: f64,
    pub window: usize,
    pub secs: u64,
    pub kill_after: f64,
    pub kill_index: usize,
    pub text_bytes: usize,
}

#[derive(Debug, Serialize)]
pub struct Server {
    pub instances: Vec<String>,
    pub killed: String,
    pub killed_pid: u32,
}

#[derive(Debug, Serialize)]
pub struct SenderFigures {
    pub sent: u64,
    /// `sent` ÷ `--secs`: below `--rate` when acks came back too slowly for the window.
    pub sent_per_sec: f64,
    pub acked: u64,
    pub refused: BTreeMap<String, u64>,
    pub unanswered: u64,
    /// Why the sender's own connection ended, if it did (it should not: instance 0 lives).
    pub lost_connection: Option<String>,
    pub ack_latency_ms: Percentiles,
}

/// Count and nearest-rank percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Of durations in µs (any order).
    pub fn of_micros(values: &[u64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let ms = |q: f64| nearest_rank(&sorted, q).map_or(0.0, |us| us as f64 / 1000.0);
        Self {
            count: sorted.len(),
            p50: ms(0.50),
            p90: ms(0.90),
            p99: ms(0.99),
            max: ms(1.0),
        }
    }

    fn render(&self) -> String {
        format!(
            "p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0} ms  (n = {})",
            self.p50, self.p90, self.p99, self.max, self.count
        )
    }
}

/// The nearest-rank `q` quantile of sorted values: the smallest value with at least `q` of them
/// at or below it.
pub fn nearest_rank(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub recovery_p99_ms: f64,
    /// p99 recovery ≤ 3 s, every killed receiver recovered, and the run valid.
    pub recovery_met: bool,
}

/// When a receiver of the killed instance was back and caught up, relative to the kill (µs):
/// the later of its resumed connection's `ready` and the arrival of the last of the messages of
/// its group acknowledged before that `ready`. `acked`: position → ack time; `arrivals`:
/// position → first arrival at this receiver. `None` when one of those messages never arrived.
pub fn recovery_us(
    kill_us: u64,
    ready_us: u64,
    acked: &BTreeMap<i64, u64>,
    arrivals: &HashMap<i64, u64>,
) -> Option<u64> {
    let mut done = ready_us;
    for (seq, ack_us) in acked {
        if *ack_us < ready_us {
            done = done.max(*arrivals.get(seq)?);
        }
    }
    Some(done.saturating_sub(kill_us))
}

pub async fn run(spec: &TargetSpec, args: &FailoverArgs) -> Result<()> {
    if args.groups == 0 || args.receivers < args.groups || args.rate <= 0.0 || args.window == 0 {
        bail!("need --groups ≥ 1, --receivers ≥ --groups, --rate > 0 and --window ≥ 1");
    }
    let server = ServerUnderTest::start(spec).await?;
    let result = measure(&server, args).await;
    server.stop().await?;
    let result = result?;
    report::emit(&table(&result), &result)
}

/// The instance to kill and its pid.
fn victim(also_pids: &[u32], instances: usize, kill_index: Option<usize>) -> Result<(usize, u32)> {
    let also = instances.saturating_sub(1);
    if also == 0 {
        bail!(
            "failover needs a cluster: --addr A --also-addr B … --also-pid PID_B … \
             (scripts/bench-cluster.sh --instances 3 failover)"
        );
    }
    let index = kill_index.unwrap_or(also);
    if index == 0 || index > also {
        bail!("--kill-index must be 1..={also} (instance 0 holds the sender)");
    }
    let pid = *also_pids
        .get(index - 1)
        .context("give --also-pid for every --also-addr: the killed instance's pid is needed")?;
    Ok((index, pid))
}

async fn measure(server: &ServerUnderTest, args: &FailoverArgs) -> Result<FailoverResult> {
    let (kill_index, kill_pid) = victim(&server.also_pids, 1 + server.also.len(), args.kill_index)?;
    let addrs: Arc<Vec<SocketAddr>> =
        Arc::new((0..=server.also.len()).map(|i| server.gateway(i)).collect());
    let base_url = server.base_url();

    eprintln!("registering 1 sender and {} receivers", args.receivers);
    let tag = accounts::run_tag();
    let users =
        accounts::register_users(&base_url, &tag, 1 + args.receivers, args.register_parallel)
            .await?;
    // User 0 sends; receiver i is user 1 + i, in group i mod G.
    let plans: Vec<GroupPlan> = (0..args.groups)
        .map(|g| GroupPlan {
            name: format!("{tag} failover {g}"),
            members: std::iter::once(0)
                .chain(
                    (0..args.receivers)
                        .filter(|i| i % args.groups == g)
                        .map(|i| 1 + i),
                )
                .collect(),
        })
        .collect();
    let conversations = groups::create_groups(&base_url, &users, &plans, 4).await?;

    eprintln!("connecting the receivers over {} instances", addrs.len());
    let opened: Vec<Result<gateway_client::LiveConnection, Failure>> =
        stream::iter(0..args.receivers)
            .map(|i| {
                let addr = addrs[i % addrs.len()];
                let token = users[1 + i].access_token.clone();
                let resume = from_start(conversations[i % args.groups]);
                async move {
                    tokio::time::timeout(
                        Duration::from_secs(60),
                        gateway_client::open_resuming(
                            addr,
                            &token,
                            TokenPlacement::Header,
                            Some(resume),
                        ),
                    )
                    .await
                    .unwrap_or(Err(Failure::Timeout))
                }
            })
            .buffered(args.parallel.max(1))
            .collect()
            .await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut receivers = Vec::with_capacity(args.receivers);
    for (i, connection) in opened.into_iter().enumerate() {
        let connection =
            connection.map_err(|f| anyhow::anyhow!("receiver {i} could not connect: {f}"))?;
        let job = ReceiverJob {
            token: users[1 + i].access_token.clone(),
            conversation: conversations[i % args.groups],
            addrs: addrs.clone(),
            instance: i % addrs.len(),
            progress: Arc::new(AtomicU64::new(0)),
        };
        let progress = job.progress.clone();
        let user_seq = connection.user_seq;
        let task = tokio::spawn(receive(
            job,
            connection.into_socket(),
            user_seq,
            stop_rx.clone(),
        ));
        receivers.push((i % addrs.len(), i % args.groups, progress, task));
    }
    let sender = gateway_client::open(addrs[0], &users[0].access_token, TokenPlacement::Header)
        .await
        .map_err(|f| anyhow::anyhow!("the sender could not connect: {f}"))?;
    // Let the receivers' replays from position 0 finish before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    eprintln!(
        "sending {} msg/s for {} s; killing instance {kill_index} ({}, pid {kill_pid}) after {} s",
        args.rate, args.secs, addrs[kill_index], args.kill_after
    );
    let start_us = unix_micros();
    let sending = tokio::spawn(send(
        sender.into_socket(),
        conversations.clone(),
        args.clone(),
    ));
    tokio::time::sleep(Duration::from_secs_f64(args.kill_after.max(0.0))).await;
    let kill_us = unix_micros();
    let killed = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(kill_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    if let Err(e) = killed {
        eprintln!("could not kill pid {kill_pid}: {e}");
    }
    let sent = sending.await??;
    let sending_ended = Instant::now();

    // Acknowledged positions per group, with their ack times.
    let mut acked: Vec<BTreeMap<i64, u64>> = vec![BTreeMap::new(); args.groups];
    let group_of: HashMap<i64, usize> = conversations
        .iter()
        .enumerate()
        .map(|(g, c)| (c.0, g))
        .collect();
    for ack in &sent.acks {
        if let Some(g) = group_of.get(&ack.conversation) {
            acked[*g].insert(ack.seq, ack.ack_us);
        }
    }
    eprintln!(
        "sent {}, acked {}; waiting for every receiver to have everything",
        sent.sent,
        sent.acks.len()
    );
    let deadline = sending_ended + Duration::from_secs(args.drain_secs);
    let all_caught_up_after_secs = loop {
        let done = receivers
            .iter()
            .all(|(_, g, progress, _)| progress.load(Ordering::Relaxed) >= acked[*g].len() as u64);
        if done {
            break Some(sending_ended.elapsed().as_secs_f64());
        }
        if Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop_tx.send_replace(true);

    let mut logs = Vec::with_capacity(receivers.len());
    for (instance, g, _, task) in receivers {
        logs.push((instance, g, task.await?));
    }
    let mut reconnects = Vec::new();
    let mut recoveries = Vec::new();
    let mut killed_receivers = 0;
    let mut owed_at_ready = 0;
    let mut other_receivers_reconnected = 0;
    let (mut expected, mut delivered, mut duplicated, mut gaps, mut resyncs, mut failed_attempts) =
        (0, 0, 0, 0, 0, 0);
    let mut ends = BTreeMap::new();
    for (instance, g, log) in &logs {
        let group = &acked[*g];
        expected += group.len() as u64;
        delivered += group
            .keys()
            .filter(|seq| log.arrivals.contains_key(seq))
            .count() as u64;
        duplicated += log.repeats;
        gaps += log.gaps;
        resyncs += log.resyncs;
        failed_attempts += log.failed_attempts;
        for why in &log.ends {
            *ends.entry(why.clone()).or_insert(0) += 1;
        }
        if *instance != kill_index {
            if !log.readies.is_empty() {
                other_receivers_reconnected += 1;
            }
            continue;
        }
        killed_receivers += 1;
        let Some(&ready_us) = log.readies.iter().find(|r| **r >= kill_us) else {
            continue;
        };
        reconnects.push(ready_us - kill_us);
        owed_at_ready += group
            .iter()
            .filter(|(seq, ack_us)| {
                **ack_us < ready_us && log.arrivals.get(seq).is_some_and(|a| *a >= ready_us)
            })
            .count() as u64;
        if let Some(r) = recovery_us(kill_us, ready_us, group, &log.arrivals) {
            recoveries.push(r);
        }
    }
    let lost = expected - delivered;
    let valid = killed.is_ok() && lost == 0 && duplicated == 0 && sent.lost_connection.is_none();
    let recovery_ms = Summary::of_micros(&recoveries);
    let mut ack_latency = Histogram::new();
    for ack in &sent.acks {
        ack_latency.record(ack.ack_us.saturating_sub(ack.sent_us));
    }
    Ok(FailoverResult {
        scenario: "failover",
        bench_version: env!("CARGO_PKG_VERSION"),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::describe(),
        params: Params {
            receivers: args.receivers,
            groups: args.groups,
            rate: args.rate,
            window: args.window,
            secs: args.secs,
            kill_after: args.kill_after,
            kill_index,
            text_bytes: args.text_bytes,
        },
        server: Server {
            instances: addrs.iter().map(ToString::to_string).collect(),
            killed: addrs[kill_index].to_string(),
            killed_pid: kill_pid,
        },
        sender: SenderFigures {
            sent: sent.sent,
            sent_per_sec: sent.sent as f64 / args.secs.max(1) as f64,
            acked: sent.acks.len() as u64,
            refused: sent.refused,
            unanswered: sent.unanswered,
            lost_connection: sent.lost_connection,
            ack_latency_ms: ack_latency.summary_ms(),
        },
        killed_after_secs: kill_us.saturating_sub(start_us) as f64 / 1e6,
        killed_receivers,
        reconnected: reconnects.len(),
        recovered: recoveries.len(),
        reconnect_ms: Summary::of_micros(&reconnects),
        recovery_ms,
        owed_at_ready,
        failed_attempts,
        other_receivers_reconnected,
        expected,
        delivered,
        lost,
        duplicated,
        gaps,
        resyncs,
        ends,
        all_caught_up_after_secs,
        valid,
        targets: Targets {
            recovery_p99_ms: TARGET_RECOVERY_P99_MS,
            recovery_met: valid
                && killed_receivers > 0
                && recoveries.len() == killed_receivers
                && recovery_ms.p99 <= TARGET_RECOVERY_P99_MS,
        },
    })
}

/// A resume from the start of `conversation` (the server starts at the user's joining event).
fn from_start(conversation: ConversationId) -> Resume {
    Resume {
        conversations: vec![Position {
            conversation_id: conversation,
            seq: 0,
        }],
        user_seq: 0,
    }
}

/// One receiver's connection details.
struct ReceiverJob {
    token: String,
    conversation: ConversationId,
    /// Every instance, in the order reconnects walk them.
    addrs: Arc<Vec<SocketAddr>>,
    /// Where the first connection went.
    instance: usize,
    /// Distinct messages of this tool received, for the coordinator's "has everything" check.
    progress: Arc<AtomicU64>,
}

/// What one receiver saw; times are Unix µs.
#[derive(Debug, Default)]
struct ReceiverLog {
    /// Position → first arrival, for this tool's messages.
    arrivals: HashMap<i64, u64>,
    /// Positions that came again.
    repeats: u64,
    /// Positions skipped.
    gaps: u64,
    resyncs: u64,
    /// Why each connection ended.
    ends: Vec<String>,
    /// When each reconnect's `ready` came.
    readies: Vec<u64>,
    failed_attempts: u64,
}

/// Reads the receiver's group until told to stop; reconnects and resumes from its last position
/// whenever the connection ends (see the module doc).
async fn receive(
    job: ReceiverJob,
    mut socket: Socket,
    mut user_seq: i64,
    mut stop: watch::Receiver<bool>,
) -> ReceiverLog {
    let mut log = ReceiverLog::default();
    let mut last: Option<i64> = None;
    let mut instance = job.instance;
    loop {
        let ended = tokio::select! {
            _ = stop.wait_for(|s| *s) => return log,
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    on_text(&job, &mut log, &mut last, &mut user_seq, text.as_str());
                    None
                }
                Some(Ok(Message::Close(frame))) => {
                    Some(Failure::Closed(frame.map_or(1005, |f| u16::from(f.code))))
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => Some(Failure::from(e)),
                None => Some(Failure::Eof),
            },
        };
        let Some(why) = ended else { continue };
        log.ends.push(why.to_string());
        let resume = Resume {
            conversations: vec![Position {
                conversation_id: job.conversation,
                seq: last.unwrap_or(0),
            }],
            user_seq,
        };
        let mut attempt = 0;
        socket = loop {
            if *stop.borrow() {
                return log;
            }
            let next = (instance + 1 + attempt) % job.addrs.len();
            let opened = tokio::time::timeout(
                CONNECT_TIMEOUT,
                gateway_client::open_resuming(
                    job.addrs[next],
                    &job.token,
                    TokenPlacement::Header,
                    Some(resume.clone()),
                ),
            )
            .await;
            if let Ok(Ok(connection)) = opened {
                log.readies.push(unix_micros());
                instance = next;
                break connection.into_socket();
            }
            log.failed_attempts += 1;
            attempt += 1;
            tokio::time::sleep((BACKOFF_STEP * attempt as u32).min(BACKOFF_MAX)).await;
        };
    }
}

fn on_text(
    job: &ReceiverJob,
    log: &mut ReceiverLog,
    last: &mut Option<i64>,
    user_seq: &mut i64,
    text: &str,
) {
    match traffic::scan(text) {
        Scanned::Event {
            conversation,
            seq,
            sent_us,
        } if conversation == job.conversation.0 => {
            match *last {
                Some(l) if seq <= l => log.repeats += 1,
                Some(l) => log.gaps += (seq - l - 1) as u64,
                None => {}
            }
            if last.is_none_or(|l| seq > l) {
                *last = Some(seq);
            }
            if sent_us.is_some() && !log.arrivals.contains_key(&seq) {
                log.arrivals.insert(seq, unix_micros());
                job.progress.fetch_add(1, Ordering::Relaxed);
            }
        }
        Scanned::Other
            if text.starts_with(r#"{"type":"user_event""#)
                || text.starts_with(r#"{"type":"resync""#) =>
        {
            match serde_json::from_str::<ServerFrame>(text) {
                Ok(ServerFrame::UserEvent(e)) => *user_seq = (*user_seq).max(e.seq),
                Ok(ServerFrame::Resync {
                    conversation_id,
                    seq,
                }) => {
                    log.resyncs += 1;
                    // Events continue after `seq`; what came before is lost to this stream.
                    if conversation_id == Some(job.conversation) {
                        *last = Some(seq);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// One acknowledged message.
#[derive(Debug, Clone, Copy)]
struct AckRecord {
    conversation: i64,
    seq: i64,
    sent_us: u64,
    ack_us: u64,
}

/// What the sender did.
#[derive(Debug, Default)]
struct SenderLog {
    sent: u64,
    acks: Vec<AckRecord>,
    refused: BTreeMap<String, u64>,
    unanswered: u64,
    lost_connection: Option<String>,
}

/// Sends `args.rate` messages/s round-robin over `conversations` for `args.secs`, at most
/// `args.window` unacknowledged, then waits (bounded) for the outstanding acks.
async fn send(
    socket: Socket,
    conversations: Vec<ConversationId>,
    args: FailoverArgs,
) -> Result<SenderLog> {
    let (mut sink, mut stream) = socket.split();
    let window = Arc::new(Semaphore::new(args.window));
    let (done_tx, mut done_rx) = watch::channel(false);
    let reader_window = window.clone();
    let reader = tokio::spawn(async move {
        let mut log = SenderLog::default();
        loop {
            let message = tokio::select! {
                _ = done_rx.wait_for(|d| *d) => break,
                message = stream.next() => message,
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    log.lost_connection = Some(Failure::Closed(code).to_string());
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    log.lost_connection = Some(Failure::from(e).to_string());
                    break;
                }
                None => {
                    log.lost_connection = Some(Failure::Eof.to_string());
                    break;
                }
            };
            match traffic::scan(text.as_str()) {
                Scanned::Ack {
                    client_id,
                    conversation,
                    seq,
                } => {
                    let ack_us = unix_micros();
                    let sent_us = client_id
                        .split_once('.')
                        .and_then(|(_, us)| us.parse().ok())
                        .unwrap_or(ack_us);
                    log.acks.push(AckRecord {
                        conversation,
                        seq,
                        sent_us,
                        ack_us,
                    });
                    reader_window.add_permits(1);
                }
                Scanned::Error {
                    code,
                    client_id: Some(_),
                } => {
                    *log.refused.entry(code.to_owned()).or_insert(0) += 1;
                    reader_window.add_permits(1);
                }
                _ => {}
            }
        }
        log
    });

    let mut rng = Rng::new(1);
    let started = Instant::now();
    let until = started + Duration::from_secs(args.secs);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    loop {
        ticker.tick().await;
        if Instant::now() >= until {
            break;
        }
        match tokio::time::timeout_at(until, window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            _ => break,
        }
        let sent_us = unix_micros();
        let frame = ClientFrame::Send {
            conversation_id: conversations[sent as usize % conversations.len()],
            client_id: format!("{sent}.{sent_us}"),
            text: traffic::message_text(
                &TextKind::Padded {
                    bytes: args.text_bytes,
                },
                sent_us,
                &mut rng,
            ),
            reply_to: None,
            thread_only: false,
            attachment_ids: Vec::new(),
        };
        if sink
            .send(Message::text(serde_json::to_string(&frame)?))
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    let outstanding = args.window as u32;
    let unanswered = match tokio::time::timeout(ACK_DRAIN, window.acquire_many(outstanding)).await {
        Ok(Ok(_)) => 0,
        _ => u64::from(outstanding.saturating_sub(window.available_permits() as u32)),
    };
    done_tx.send_replace(true);
    let _ = sink.close().await;
    let mut log = reader.await?;
    log.sent = sent;
    log.unanswered = unanswered;
    Ok(log)
}

fn table(r: &FailoverResult) -> Table {
    let mut t = Table::default();
    let p = &r.params;
    t.heading(format!(
        "failover — {} instances, {} receivers in {} groups, {} msg/s for {} s; SIGKILL to instance {} ({}) after {:.1} s",
        r.server.instances.len(),
        thousands(p.receivers as f64, 0),
        p.groups,
        thousands(p.rate, 0),
        p.secs,
        p.kill_index,
        r.server.killed,
        r.killed_after_secs
    ));
    t.row(
        "sent / acked",
        format!(
            "{} / {}  ({} msg/s sent)",
            thousands(r.sender.sent as f64, 0),
            thousands(r.sender.acked as f64, 0),
            thousands(r.sender.sent_per_sec, 1)
        ),
    )
    .row(
        "refused / unanswered",
        format!("{:?} / {}", r.sender.refused, r.sender.unanswered),
    )
    .row("ack latency", r.sender.ack_latency_ms.render());
    if let Some(lost) = &r.sender.lost_connection {
        t.row("sender's connection lost", lost.clone());
    }
    t.heading("receivers of the killed instance")
        .row(
            "killed / reconnected / recovered",
            format!(
                "{} / {} / {}",
                r.killed_receivers, r.reconnected, r.recovered
            ),
        )
        .row("reconnect (ready − kill)", r.reconnect_ms.render())
        .row("recovery (caught up − kill)", r.recovery_ms.render())
        .row(
            "replayed after ready (owed then)",
            thousands(r.owed_at_ready as f64, 0),
        )
        .row("failed reconnect attempts", r.failed_attempts.to_string());
    t.heading("every receiver")
        .row("expected", thousands(r.expected as f64, 0))
        .row("delivered", thousands(r.delivered as f64, 0))
        .row(
            "lost / duplicated / gaps / resyncs",
            format!("{} / {} / {} / {}", r.lost, r.duplicated, r.gaps, r.resyncs),
        )
        .row(
            "connections ended",
            if r.ends.is_empty() {
                "none".to_owned()
            } else {
                format!("{:?}", r.ends)
            },
        )
        .row(
            "others reconnected",
            r.other_receivers_reconnected.to_string(),
        )
        .row(
            "all caught up",
            r.all_caught_up_after_secs
                .map_or("NOT within --drain-secs".to_owned(), |s| {
                    format!("{s:.2} s after sending ended")
                }),
        )
        .row(
            "valid run (nothing lost or duplicated)",
            if r.valid { "yes" } else { "NO" },
        );
    t.heading("targets").row(
        "clients of a killed instance back and caught up ≤ 3 s (p99)",
        if r.targets.recovery_met {
            "met"
        } else {
            "MISSED"
        },
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_waits_for_what_was_acknowledged_before_ready() {
        let kill = 1_000_000;
        let ready = 1_400_000;
        // Positions 10..=12 acked before the kill, 13 between kill and ready, 14 after ready.
        let acked: BTreeMap<i64, u64> = [
            (10, 900_000),
            (11, 950_000),
            (12, 990_000),
            (13, 1_200_000),
            (14, 1_500_000),
        ]
        .into();
        let mut arrivals: HashMap<i64, u64> = [
            (10, 901_000),
            (11, 951_000),
            (12, 1_450_000), // replayed after the reconnect
            (13, 1_600_000), // the last one the resume owed
            (14, 2_500_000), // live, after: not part of the recovery
        ]
        .into();
        assert_eq!(recovery_us(kill, ready, &acked, &arrivals), Some(600_000));
        // Nothing owed after ready: recovery is the reconnect itself.
        arrivals.insert(13, 1_000_500);
        arrivals.insert(12, 999_000);
        assert_eq!(recovery_us(kill, ready, &acked, &arrivals), Some(400_000));
        // An owed message that never came: not recovered.
        arrivals.remove(&13);
        assert_eq!(recovery_us(kill, ready, &acked, &arrivals), None);
        // Missing a message acknowledged after ready does not matter here (it is loss, counted
        // elsewhere).
        arrivals.insert(13, 1_300_000);
        arrivals.remove(&14);
        assert_eq!(recovery_us(kill, ready, &acked, &arrivals), Some(400_000));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=200).map(|v| v * 1000).collect();
        let s = Summary::of_micros(&values);
        assert_eq!(s.count, 200);
        assert_eq!(s.p50, 100.0);
        assert_eq!(s.p90, 180.0);
        assert_eq!(s.p99, 198.0);
        assert_eq!(s.max, 200.0);
        assert_eq!(nearest_rank(&[5], 0.99), Some(5));
        assert_eq!(nearest_rank(&[], 0.5), None);
        assert_eq!(Summary::of_micros(&[]), Summary::default());
    }

    #[test]
    fn the_last_instance_is_killed_by_default() {
        assert_eq!(victim(&[20, 30], 3, None).unwrap(), (2, 30));
        assert_eq!(victim(&[20, 30], 3, Some(1)).unwrap(), (1, 20));
        assert!(victim(&[20, 30], 3, Some(0)).is_err());
        assert!(victim(&[20, 30], 3, Some(3)).is_err());
        assert!(victim(&[], 3, None).is_err());
        assert!(victim(&[], 1, None).is_err());
    }
}
