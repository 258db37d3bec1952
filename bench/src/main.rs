//! `jeco-bench`: run a benchmark scenario against a real jeco-server. See `--help` and README.md.

#![forbid(unsafe_code)]

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use jeco_bench::scenarios::connections::{self, ConnectionsArgs};
use jeco_bench::scenarios::durable::{self, DurableArgs};
use jeco_bench::scenarios::failover::{self, FailoverArgs};
use jeco_bench::scenarios::fanout::{self, FanoutArgs};
use jeco_bench::scenarios::history::{self, HistoryArgs};
use jeco_bench::target::{self, TargetSpec};
use jeco_bench::workers;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jeco-bench",
    version,
    about = "Benchmarks a real jeco-server over HTTP + WebSocket: prints a table, then one JSON line.",
    long_about = "Benchmarks a real jeco-server over HTTP + WebSocket.\n\n\
        By default it starts the jeco-server binary found next to its own executable (build both with \
        `cargo build --release -p jeco-server -p jeco-bench`) on 127.0.0.1:0 with a temporary data \
        directory; --addr uses a running server instead (add --server-pid for memory and CPU figures).\n\n\
        Output: a table for people on stdout, ending with one JSON line {\"scenario\":…} for \
        comparing runs. Progress goes to stderr."
)]
struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// The jeco-server binary to spawn (default: $JECO_BENCH_SERVER_BIN, else next to jeco-bench).
    #[arg(long, global = true, conflicts_with = "addr")]
    server_bin: Option<PathBuf>,
    /// Extra flag for the spawned server, before `serve` (repeatable), e.g.
    /// --server-arg=--ws-heartbeat-interval-ms=5000
    #[arg(long, global = true, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Use the server already listening here instead of spawning one.
    #[arg(long, global = true)]
    addr: Option<SocketAddr>,
    /// Another instance of the same cluster as --addr (repeatable): WebSocket connections are
    /// spread round-robin over --addr and these; accounts and conversations are made at --addr.
    #[arg(long, global = true, requires = "addr")]
    also_addr: Vec<SocketAddr>,
    /// Process id of the instance at the matching --also-addr (repeatable, same order); the
    /// `failover` scenario kills one of them.
    #[arg(long, global = true, requires = "also_addr")]
    also_pid: Vec<u32>,
    /// Process id of the server at --addr, for memory and CPU figures.
    #[arg(long, global = true, requires = "addr")]
    server_pid: Option<u32>,
}

/// The scenarios, one module each in `scenarios/`.
#[derive(Debug, Subcommand)]
enum Scenario {
    /// C idle authenticated WebSocket connections: server memory per connection and idle CPU.
    Connections(ConnectionsArgs),
    /// R conversations × N members, S senders each: deliveries/s, loss, duplicates, latency.
    Fanout(FanoutArgs),
    /// Many concurrent senders as fast as acks come back: durably acknowledged messages/s.
    Durable(DurableArgs),
    /// Kill one instance of a cluster under steady traffic: how soon its clients are back and
    /// caught up elsewhere, with nothing lost or duplicated.
    Failover(FailoverArgs),
    /// History page and full-text search latency over HTTP with M stored messages.
    History(HistoryArgs),
    /// Internal: a load-generating worker process, started by a scenario (reads its job on stdin).
    #[command(name = "worker", hide = true)]
    Worker,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Sockets are file descriptors: take the whole allowance before anything opens. Children
    // (the spawned server, workers) inherit it.
    let fd_limit = target::raise_fd_limit()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.scenario {
        Scenario::Worker => runtime.block_on(workers::run_worker()),
        Scenario::Connections(args) => {
            let spec = target_spec(&cli.target)?;
            runtime.block_on(connections::run(&spec, &args, fd_limit))
        }
        Scenario::Fanout(args) => runtime.block_on(fanout::run(&target_spec(&cli.target)?, &args)),
        Scenario::Durable(args) => {
            runtime.block_on(durable::run(&target_spec(&cli.target)?, &args))
        }
        Scenario::Failover(args) => {
            runtime.block_on(failover::run(&target_spec(&cli.target)?, &args))
        }
        Scenario::History(args) => {
            runtime.block_on(history::run(&target_spec(&cli.target)?, &args))
        }
    }
}

fn target_spec(args: &TargetArgs) -> Result<TargetSpec> {
    if let Some(addr) = args.addr {
        if !args.server_arg.is_empty() {
            bail!("--server-arg applies only to a spawned server, not with --addr");
        }
        if !args.also_pid.is_empty() && args.also_pid.len() != args.also_addr.len() {
            bail!("give one --also-pid per --also-addr, in the same order (or none)");
        }
        return Ok(TargetSpec::Attach {
            addr,
            pid: args.server_pid,
            also: args.also_addr.clone(),
            also_pids: args.also_pid.clone(),
        });
    }
    Ok(TargetSpec::Spawn {
        binary: target::locate_server_binary(args.server_bin.as_deref())?,
        extra_args: args.server_arg.clone(),
    })
}
