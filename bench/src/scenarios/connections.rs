//! Scenario `connections`: what C idle, authenticated WebSocket connections cost the server.
//!
//! Method (all over the real protocol):
//! 1. Register U users over HTTP; each gets one access token (connections of one user share it,
//!    like one user's devices). Restart a spawned server (see below) and sample it: the
//!    **baseline**.
//! 2. Workers ([`crate::workers`]) open C connections, each doing upgrade → hello → ready, a bounded
//!    number at a time. Time to establish runs from the first worker's start to the last `ready`.
//! 3. Wait `settle` seconds, sample (**established**), then hold everything idle for `idle` seconds
//!    — heartbeats only, as real clients do — and sample again (**end**).
//! 4. Memory per connection = (end − baseline) / established, for VmRSS and PSS. Idle CPU = the
//!    server's utime+stime over the idle window, as a percentage of one core; the load generator's
//!    own CPU over the same window is reported next to it because it shares the machine.
//! 5. Stop the workers: each reports how many connections were still open (**held**) and why any
//!    others ended, which catches a server that silently drops idle clients.
//!
//! A spawned server is restarted on the same data directory between setup and the baseline:
//! registering hashes passwords (argon2id, ~19 MiB each) and glibc keeps that memory in its
//! per-thread arenas (50 registrations left ~650 MiB resident in the first runs), which both
//! inflates the baseline and gets reused by connections, hiding their cost. Users and tokens survive
//! the restart. An attached server cannot be restarted; its figures carry that caveat. Comparing
//! runs at different C helps too: the slope between two runs is free of any fixed offset.

use crate::accounts;
use crate::procfs::{self, Machine, ProcessSample};
use crate::report::{self, Table, thousands};
use crate::target::{ServerUnderTest, TargetSpec};
use crate::workers::{HoldPlan, Placement, Worker, WorkerEvent, WorkerJob};
use anyhow::{Result, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Targets from the performance issue, for this scenario.
pub const TARGET_CONNECTIONS: u64 = 20_000;
pub const TARGET_KIB_PER_CONNECTION: f64 = 12.0;
pub const TARGET_IDLE_CPU_PERCENT: f64 = 2.0;

/// File descriptors a worker keeps for itself (runtime, stdio, DNS, …) below its limit.
const WORKER_FD_RESERVE: u64 = 128;

#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionsArgs {
    /// Idle connections to open and hold.
    #[arg(long, short = 'c', default_value_t = 20_000)]
    pub connections: usize,
    /// Users to spread them over (registering is argon2-bound: keep this in the hundreds).
    #[arg(long, short = 'u', default_value_t = 200)]
    pub users: usize,
    /// Seconds to hold the connections idle while measuring CPU (at least one heartbeat interval
    /// of the server, 25 s by default, to include heartbeat traffic).
    #[arg(long, default_value_t = 30)]
    pub idle_secs: u64,
    /// Seconds to wait after the last connection is ready before sampling memory.
    #[arg(long, default_value_t = 3)]
    pub settle_secs: u64,
    /// Handshakes in flight at once, over all workers.
    #[arg(long, default_value_t = 256)]
    pub parallel: usize,
    /// Seconds a connection may take to reach ready.
    #[arg(long, default_value_t = 60)]
    pub handshake_timeout_secs: u64,
    /// Where connections put their access token.
    #[arg(long, value_enum, default_value_t = Placement::Alternate)]
    pub token_in: Placement,
    /// Worker processes opening the connections (default: as few as the fd limit allows).
    #[arg(long)]
    pub workers: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct ConnectionsResult {
    pub scenario: &'static str,
    pub bench_version: &'static str,
    pub unix_time: u64,
    pub machine: Machine,
    pub params: Params,
    pub server: ServerInfo,
    pub established: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    /// From the first worker's start until every connection was ready or had failed.
    pub establish_secs: f64,
    /// Established connections / `last_ready_secs`.
    pub connections_per_sec: f64,
    /// Until the last successful `ready` (excludes failures waiting out their timeout).
    pub last_ready_secs: f64,
    pub held_to_end: u64,
    pub lost: u64,
    pub losses: BTreeMap<String, u64>,
    pub pongs: u64,
    /// `None` when the server's pid is unknown (`--addr` without `--server-pid`).
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub targets: Targets,
}

#[derive(Debug, Serialize)]
pub struct Params {
    pub connections: usize,
    pub users: usize,
    pub workers: usize,
    pub parallel: usize,
    pub token_in: Placement,
    pub idle_secs: u64,
    pub settle_secs: u64,
}

#[derive(Debug, Serialize)]
pub struct ServerInfo {
    pub addr: String,
    pub pid: Option<u32>,
    pub spawned: bool,
    /// The server's soft limit on open files: its ceiling on connections.
    pub fd_limit: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    /// After registering the users (password hashing), before the restart.
    pub after_setup: ProcessSample,
    /// Whether the server was restarted after setup (spawned servers are), so that `baseline`
    /// is a fresh process on the same database.
    pub restarted_after_setup: bool,
    /// Before any connection.
    pub baseline: ProcessSample,
    pub established: ProcessSample,
    pub end: ProcessSample,
    pub per_connection_rss_kib: Option<f64>,
    pub per_connection_pss_kib: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Cpu {
    pub window_secs: f64,
    /// Server CPU over the idle window, percent of one core.
    pub server_idle_percent: f64,
    /// Server CPU seconds spent while the connections were being established.
    pub server_establish_cpu_secs: f64,
    /// Coordinator + workers over the idle window, percent of one core.
    pub bench_idle_percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub connections: u64,
    pub kib_per_connection: f64,
    pub idle_cpu_percent: f64,
    pub connections_met: bool,
    pub memory_met: Option<bool>,
    pub cpu_met: Option<bool>,
}

pub async fn run(spec: &TargetSpec, args: &ConnectionsArgs, fd_soft_limit: u64) -> Result<()> {
    if args.connections == 0 || args.users == 0 {
        bail!("--connections and --users must be positive");
    }
    let users = args.users.min(args.connections);
    let server = ServerUnderTest::start(spec).await?;
    let (server, result) = measure(server, args, users, fd_soft_limit).await;
    if result.is_err() && server.is_spawned() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    server.stop().await?;
    let result = result?;
    report::emit(&table(&result), &result)
}

/// Setup, then [`measure_connections`]; hands the server back (possibly restarted) for stopping.
async fn measure(
    server: ServerUnderTest,
    args: &ConnectionsArgs,
    users: usize,
    fd_soft_limit: u64,
) -> (ServerUnderTest, Result<ConnectionsResult>) {
    let sample = |pid: Option<u32>| pid.map(procfs::sample).transpose();
    eprintln!(
        "server at {} (pid {}); registering {users} users…",
        server.addr,
        server.pid.map_or("unknown".into(), |p| p.to_string())
    );
    let setup = async {
        let registered =
            accounts::register_users(&server.base_url(), &accounts::run_tag(), users, 4).await?;
        let after_setup = sample(server.pid)?;
        anyhow::Ok((registered, after_setup))
    };
    let (registered, after_setup) = match setup.await {
        Ok(done) => done,
        Err(e) => return (server, Err(e)),
    };
    let tokens: Vec<String> = registered.into_iter().map(|u| u.access_token).collect();
    // A fresh process on the same database: the baseline holds no allocator residue of setup.
    let (server, restarted) = match server.restart().await {
        Ok(restarted) => restarted,
        Err(e) => return (ServerUnderTest::gone(), Err(e)),
    };
    if !restarted {
        eprintln!(
            "note: an attached server keeps whatever memory setup left in its allocator; \
             the baseline is taken after setup"
        );
    }
    let result = measure_connections(
        &server,
        args,
        users,
        fd_soft_limit,
        tokens,
        after_setup,
        restarted,
    )
    .await;
    (server, result)
}

async fn measure_connections(
    server: &ServerUnderTest,
    args: &ConnectionsArgs,
    users: usize,
    fd_soft_limit: u64,
    tokens: Vec<String>,
    after_setup: Option<ProcessSample>,
    restarted: bool,
) -> Result<ConnectionsResult> {
    let pid = server.pid;
    let sample = |pid: Option<u32>| pid.map(procfs::sample).transpose();
    let baseline = sample(pid)?;
    let fd_limit = pid.map(procfs::fd_limit).transpose()?;
    if let (Some(limit), Some(base)) = (fd_limit, &baseline) {
        let headroom = limit.saturating_sub(base.fds);
        if (args.connections as u64) > headroom {
            eprintln!(
                "warning: the server may open {limit} files and has {} open, so it can accept at most \
                 {headroom} more connections; {} requested connections will fail",
                base.fds,
                args.connections as u64 - headroom
            );
        }
    }

    let per_worker_cap = fd_soft_limit.saturating_sub(WORKER_FD_RESERVE).max(1) as usize;
    let workers = args
        .workers
        .unwrap_or_else(|| args.connections.div_ceil(per_worker_cap))
        .clamp(1, args.connections);
    eprintln!(
        "opening {} connections from {workers} worker process(es)…",
        args.connections
    );
    let server_ticks_before = pid.map(procfs::cpu_ticks).transpose()?;
    let began = Instant::now();
    let mut pool = Vec::with_capacity(workers);
    let mut first_index = 0;
    for w in 0..workers {
        let share = args.connections / workers + usize::from(w < args.connections % workers);
        let plan = HoldPlan {
            addr: server.addr,
            tokens: tokens.clone(),
            first_index,
            connections: share,
            placement: args.token_in,
            parallel: (args.parallel / workers).max(1),
            handshake_timeout_ms: args.handshake_timeout_secs * 1000,
        };
        first_index += share;
        pool.push(Worker::spawn(&WorkerJob::HoldIdle(plan)).await?);
    }
    let (mut established, mut failed) = (0, 0);
    let mut last_ready_secs: f64 = 0.0;
    let mut failures = BTreeMap::new();
    for worker in &mut pool {
        match worker.next_event().await? {
            WorkerEvent::Established {
                opened,
                failed: f,
                failures: reasons,
                last_ready_ms,
                ..
            } => {
                last_ready_secs = last_ready_secs.max(last_ready_ms as f64 / 1000.0);
                established += opened;
                failed += f;
                merge(&mut failures, reasons);
            }
            other => bail!("unexpected worker report {other:?}"),
        }
    }
    let establish_secs = began.elapsed().as_secs_f64();
    let server_ticks_established = pid.map(procfs::cpu_ticks).transpose()?;
    eprintln!(
        "{established} established, {failed} failed in {establish_secs:.1} s; settling {} s, then idle for {} s…",
        args.settle_secs, args.idle_secs
    );
    tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
    let established_sample = sample(pid)?;

    let bench_pids: Vec<u32> = std::iter::once(std::process::id())
        .chain(pool.iter().map(|w| w.pid))
        .collect();
    let bench_ticks = || -> Result<u64> {
        bench_pids
            .iter()
            .map(|p| procfs::cpu_ticks(*p))
            .sum::<Result<u64>>()
    };
    let window_start = Instant::now();
    let server_window_before = pid.map(procfs::cpu_ticks).transpose()?;
    let bench_before = bench_ticks().ok();
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let server_window_after = pid.map(procfs::cpu_ticks).transpose()?;
    let bench_after = bench_ticks().ok();
    let window_secs = window_start.elapsed().as_secs_f64();
    let end = sample(pid)?;

    let (mut held, mut lost, mut pongs) = (0, 0, 0);
    let mut losses = BTreeMap::new();
    for worker in &mut pool {
        worker.stop();
    }
    for mut worker in pool {
        match worker.next_event().await? {
            WorkerEvent::Finished {
                held: h,
                lost: l,
                losses: reasons,
                pongs: p,
            } => {
                held += h;
                lost += l;
                pongs += p;
                merge(&mut losses, reasons);
            }
            other => bail!("unexpected worker report {other:?}"),
        }
        worker.wait().await?;
    }

    let memory = match (after_setup, baseline, established_sample, end) {
        (Some(after_setup), Some(baseline), Some(established_sample), Some(end)) => {
            let per = |after: u64, before: u64| {
                (established > 0).then(|| (after as f64 - before as f64) / established as f64)
            };
            Some(Memory {
                per_connection_rss_kib: per(end.rss_kib, baseline.rss_kib),
                per_connection_pss_kib: per(end.pss_kib, baseline.pss_kib),
                after_setup,
                restarted_after_setup: restarted,
                baseline,
                established: established_sample,
                end,
            })
        }
        _ => None,
    };
    let tps = procfs::ticks_per_second() as f64;
    let cpu = match (
        server_ticks_before,
        server_ticks_established,
        server_window_before,
        server_window_after,
    ) {
        (Some(t0), Some(t1), Some(w0), Some(w1)) => Some(Cpu {
            window_secs,
            server_idle_percent: procfs::cpu_percent(w0, w1, window_secs),
            server_establish_cpu_secs: t1.saturating_sub(t0) as f64 / tps,
            bench_idle_percent: bench_before
                .zip(bench_after)
                .map(|(b0, b1)| procfs::cpu_percent(b0, b1, window_secs)),
        }),
        _ => None,
    };
    let worst_kib = memory.as_ref().and_then(|m| {
        m.per_connection_rss_kib
            .zip(m.per_connection_pss_kib)
            .map(|(r, p)| r.max(p))
    });
    let targets = Targets {
        connections: TARGET_CONNECTIONS,
        kib_per_connection: TARGET_KIB_PER_CONNECTION,
        idle_cpu_percent: TARGET_IDLE_CPU_PERCENT,
        connections_met: established >= TARGET_CONNECTIONS && failed == 0 && lost == 0,
        memory_met: worst_kib.map(|k| k <= TARGET_KIB_PER_CONNECTION),
        cpu_met: cpu
            .as_ref()
            .map(|c| c.server_idle_percent < TARGET_IDLE_CPU_PERCENT),
    };
    Ok(ConnectionsResult {
        scenario: "connections",
        bench_version: env!("CARGO_PKG_VERSION"),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::describe(),
        params: Params {
            connections: args.connections,
            users,
            workers,
            parallel: args.parallel,
            token_in: args.token_in,
            idle_secs: args.idle_secs,
            settle_secs: args.settle_secs,
        },
        server: ServerInfo {
            addr: server.addr.to_string(),
            pid,
            spawned: server.is_spawned(),
            fd_limit,
        },
        established,
        failed,
        failures,
        establish_secs,
        connections_per_sec: established as f64 / last_ready_secs.max(1e-3),
        last_ready_secs,
        held_to_end: held,
        lost,
        losses,
        pongs,
        memory,
        cpu,
        targets,
    })
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (reason, count) in from {
        *into.entry(reason).or_insert(0) += count;
    }
}

fn met(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "n/a",
    }
}

fn table(r: &ConnectionsResult) -> Table {
    let mut t = Table::default();
    t.heading(format!(
        "connections — {} requested over {} users, {} worker(s); server {}{}",
        thousands(r.params.connections as f64, 0),
        r.params.users,
        r.params.workers,
        r.server.addr,
        if r.server.spawned { " (spawned)" } else { "" }
    ));
    t.row("established", thousands(r.established as f64, 0))
        .row("failed", thousands(r.failed as f64, 0));
    for (reason, count) in &r.failures {
        t.row(format!("  failed: {reason}"), thousands(*count as f64, 0));
    }
    t.row(
        "time to last ready",
        format!(
            "{:.2} s ({} connections/s)",
            r.last_ready_secs,
            thousands(r.connections_per_sec, 0)
        ),
    )
    .row(
        "time until all had an outcome",
        format!("{:.2} s", r.establish_secs),
    )
    .row("held to the end", thousands(r.held_to_end as f64, 0))
    .row("lost while idle", thousands(r.lost as f64, 0));
    for (reason, count) in &r.losses {
        t.row(format!("  lost: {reason}"), thousands(*count as f64, 0));
    }
    t.row(
        "heartbeats (pings answered, pongs)",
        thousands(r.pongs as f64, 0),
    );
    if let Some(fd_limit) = r.server.fd_limit {
        t.row("server fd limit", thousands(fd_limit as f64, 0));
    }
    match &r.memory {
        Some(m) => {
            t.heading("server memory (KiB)           VmRSS / PSS");
            for (label, s) in [
                ("after user setup", &m.after_setup),
                (
                    if m.restarted_after_setup {
                        "baseline (restarted)"
                    } else {
                        "baseline (no restart)"
                    },
                    &m.baseline,
                ),
                ("connections established", &m.established),
                ("after idle window", &m.end),
            ] {
                t.row(
                    label,
                    format!(
                        "{} / {}   ({} fds, {} threads)",
                        thousands(s.rss_kib as f64, 0),
                        thousands(s.pss_kib as f64, 0),
                        thousands(s.fds as f64, 0),
                        s.threads
                    ),
                );
            }
            let kib = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}"));
            t.row(
                "per connection",
                format!(
                    "{} / {} KiB (target ≤ {} KiB: {})",
                    kib(m.per_connection_rss_kib),
                    kib(m.per_connection_pss_kib),
                    TARGET_KIB_PER_CONNECTION,
                    met(r.targets.memory_met)
                ),
            );
        }
        None => {
            t.heading("server memory")
                .row("n/a", "pass --server-pid with --addr");
        }
    }
    if let Some(c) = &r.cpu {
        t.heading(format!(
            "CPU (% of one core, {:.1} s idle window)",
            c.window_secs
        ));
        t.row(
            "server idle",
            format!(
                "{:.2} % (target < {} %: {})",
                c.server_idle_percent,
                TARGET_IDLE_CPU_PERCENT,
                met(r.targets.cpu_met)
            ),
        )
        .row(
            "server while establishing",
            format!("{:.2} CPU-s", c.server_establish_cpu_secs),
        )
        .row(
            "bench (coordinator + workers) idle",
            c.bench_idle_percent
                .map_or("n/a".into(), |p| format!("{p:.2} %")),
        );
    }
    t.heading("target").row(
        format!(
            "{} connections held",
            thousands(TARGET_CONNECTIONS as f64, 0)
        ),
        if r.targets.connections_met {
            "met"
        } else {
            "MISSED"
        },
    );
    t
}
