//! Scenario `fanout`: R conversations × N members, S senders per conversation; every message must
//! reach every member's connection exactly once.
//!
//! Method: register the users (R × N distinct by default, or `--users U` shared round-robin), create
//! the R groups over HTTP, open one WebSocket per user (hello → ready) in worker processes, then on
//! one signal every sender sends `send` frames for `--secs` seconds — at `--rate` messages/s in total
//! (spread evenly over the senders, open loop), or with `--rate 0` as fast as acknowledgements come
//! back (closed loop, `--window` unacknowledged per sender). Receivers record `(conversation, seq)`
//! of every event of a message this tool sent and its send→receive latency (the send time travels
//! in the text; all processes share the machine's clock). After sending stops the receivers listen
//! until nothing has arrived for `--quiet-ms`. See [`super::messaging`] for the accounting.
//!
//! deliveries/s = events of this tool's messages received (duplicates included) ÷ time from the
//! first send to the last delivery.

use super::messaging::{self, Drive, Outcome};
use crate::procfs::Machine;
use crate::report::{self, Table, thousands};
use crate::target::{ServerUnderTest, TargetSpec};
use crate::traffic::{SendPlan, TextKind};
use anyhow::{Result, bail};
use serde::Serialize;

pub const TARGET_DELIVERIES_PER_SEC: f64 = 400_000.0;
pub const TARGET_P99_MS: f64 = 10.0;
pub const TARGET_P99_AT_DELIVERIES_PER_SEC: f64 = 200_000.0;

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Conversations.
    #[arg(long, short = 'r', default_value_t = 100)]
    pub conversations: usize,
    /// Members per conversation (each member is one user with one connection).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub members: usize,
    /// Senders per conversation (its first S members).
    #[arg(long, short = 's', default_value_t = 1)]
    pub senders: usize,
    /// Users in all (default R × N, every member distinct); fewer makes each user a member of
    /// several conversations, which saves registration time but changes the shape.
    #[arg(long, short = 'u')]
    pub users: Option<usize>,
    /// Messages per second over all senders; 0 = each sender as fast as its acks come back.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Unacknowledged sends per sender.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// Bytes of message text.
    #[arg(long, default_value_t = 64)]
    pub text_bytes: usize,
    /// After sending, stop once nothing arrived for this long.
    #[arg(long, default_value_t = 1000)]
    pub quiet_ms: u64,
    /// Worker processes holding the connections.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Registrations in flight (argon2-bound on the server).
    #[arg(long, default_value_t = 4)]
    pub register_parallel: usize,
    /// Handshakes in flight.
    #[arg(long, default_value_t = 128)]
    pub parallel: usize,
}

#[derive(Debug, Serialize)]
pub struct FanoutResult {
    pub scenario: &'static str,
    pub bench_version: &'static str,
    pub unix_time: u64,
    pub machine: Machine,
    pub params: Params,
    pub server: Server,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub targets: Targets,
}

#[derive(Debug, Serialize)]
pub struct Params {
    pub conversations: usize,
    pub members: usize,
    pub senders: usize,
    pub users: usize,
    pub rate: f64,
    pub window: usize,
    pub secs: u64,
    pub text_bytes: usize,
    pub workers: usize,
}

#[derive(Debug, Serialize)]
pub struct Server {
    pub addr: String,
    pub pid: Option<u32>,
    pub spawned: bool,
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub deliveries_per_sec: f64,
    pub p99_ms: f64,
    /// ≥ 400,000 deliveries/s with nothing lost or duplicated.
    pub throughput_met: bool,
    /// p99 ≤ 10 ms — judged only for a run at ≥ 95 % of 200,000 deliveries/s (`null` otherwise).
    pub latency_met: Option<bool>,
}

pub async fn run(spec: &TargetSpec, args: &FanoutArgs) -> Result<()> {
    if args.conversations == 0 || args.members == 0 || args.senders == 0 {
        bail!("--conversations, --members and --senders must be positive");
    }
    let users = args.users.unwrap_or(args.conversations * args.members);
    let server = ServerUnderTest::start(spec).await?;
    eprintln!("server at {}", server.addr);
    let result = measure(&server, args, users).await;
    if result.is_err() && server.is_spawned() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    server.stop().await?;
    let result = result?;
    report::emit(&table(&result), &result)
}

async fn measure(
    server: &ServerUnderTest,
    args: &FanoutArgs,
    users: usize,
) -> Result<FanoutResult> {
    let population = messaging::populate(
        server,
        users,
        args.conversations,
        args.members,
        args.senders,
        args.register_parallel,
    )
    .await?;
    let streams = population.senders.len();
    let send = SendPlan {
        rate_per_stream: if args.rate > 0.0 {
            args.rate / streams as f64
        } else {
            0.0
        },
        window: args.window.max(1),
        duration_ms: args.secs * 1000,
        max_per_stream: None,
        quiet_ms: args.quiet_ms,
        drain_timeout_ms: 30_000,
        text: TextKind::Padded {
            bytes: args.text_bytes,
        },
        record_deliveries: true,
    };
    let outcome = messaging::drive(
        server,
        &population,
        &Drive {
            send,
            workers: args.workers,
            parallel: args.parallel,
            handshake_timeout_ms: 60_000,
        },
    )
    .await?;
    let exact = outcome.lost == 0 && outcome.duplicated == 0 && outcome.connect_failed == 0;
    let targets = Targets {
        deliveries_per_sec: TARGET_DELIVERIES_PER_SEC,
        p99_ms: TARGET_P99_MS,
        throughput_met: exact && outcome.deliveries_per_sec >= TARGET_DELIVERIES_PER_SEC,
        // A run aimed at 200,000/s lands within a few percent of it.
        latency_met: (outcome.deliveries_per_sec >= 0.95 * TARGET_P99_AT_DELIVERIES_PER_SEC)
            .then_some(exact && outcome.delivery_latency_ms.p99 <= TARGET_P99_MS),
    };
    Ok(FanoutResult {
        scenario: "fanout",
        bench_version: env!("CARGO_PKG_VERSION"),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::describe(),
        params: Params {
            conversations: args.conversations,
            members: args.members,
            senders: args.senders,
            users,
            rate: args.rate,
            window: args.window,
            secs: args.secs,
            text_bytes: args.text_bytes,
            workers: args.workers,
        },
        server: Server {
            addr: server.addr.to_string(),
            pid: server.pid,
            spawned: server.is_spawned(),
        },
        outcome,
        targets,
    })
}

fn table(r: &FanoutResult) -> Table {
    let mut t = Table::default();
    let p = &r.params;
    t.heading(format!(
        "fanout — {} conversations × {} members, {} sender(s) each, {} users; {}; {} s",
        p.conversations,
        p.members,
        p.senders,
        thousands(p.users as f64, 0),
        if p.rate > 0.0 {
            format!("{} msg/s in total", thousands(p.rate, 0))
        } else {
            format!("as fast as acks allow (window {})", p.window)
        },
        p.secs
    ));
    messaging::outcome_rows(&mut t, &r.outcome);
    let met = |v: bool| if v { "met" } else { "MISSED" };
    t.heading("targets")
        .row(
            "≥ 400,000 deliveries/s, zero loss",
            met(r.targets.throughput_met),
        )
        .row(
            "p99 ≤ 10 ms at ≥ 200,000 deliveries/s",
            r.targets
                .latency_met
                .map_or("n/a (run below 200,000/s)", met),
        );
    t
}
