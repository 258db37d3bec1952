//! Load-generating worker processes: how one benchmark holds more sockets than one process may open.
//!
//! Every socket is a file descriptor, and `RLIMIT_NOFILE` caps them per process; where the hard
//! limit cannot be raised (containers, CI sandboxes — 20,000 on the machine the first figures were
//! taken on) a single load generator cannot hold 20,000 connections plus its own files. So the
//! scenario process (the *coordinator*) does setup and measurement, and re-executes its own binary
//! as `jeco-bench worker` children that open the connections. Each child reads one [`WorkerJob`]
//! as a JSON line on stdin, reports [`WorkerEvent`]s as JSON lines on stdout, and is told to stop
//! by the end of its stdin (which also stops it if the coordinator dies).
//!
//! Extension point: a later scenario that needs many client sockets (fan-out receivers) adds a
//! variant to [`WorkerJob`] and its events to [`WorkerEvent`]; the process plumbing stays.

use crate::gateway_client::{self, Failure, HoldOutcome, TokenPlacement};
use crate::traffic::{self, TrafficPlan, TrafficReport};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

/// Name of the hidden subcommand a worker runs as.
pub const WORKER_SUBCOMMAND: &str = "worker";

/// What a worker process is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum WorkerJob {
    /// Open authenticated connections and keep them alive until stopped.
    HoldIdle(HoldPlan),
    /// Open connections, then on the coordinator's go send and receive messages
    /// ([`crate::traffic`]); report when done.
    Traffic(Box<TrafficPlan>),
}

/// One worker's share of the `connections` scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HoldPlan {
    pub addr: SocketAddr,
    /// Access tokens of all benchmark users; connection `i` uses `tokens[i % len]`.
    pub tokens: Vec<String>,
    /// Index of this worker's first connection among all workers' connections.
    pub first_index: usize,
    pub connections: usize,
    pub placement: Placement,
    /// Handshakes in flight at once.
    pub parallel: usize,
    pub handshake_timeout_ms: u64,
}

/// How connections carry their token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    Header,
    Hello,
    /// Even connections use the header, odd ones the hello frame.
    Alternate,
}

impl Placement {
    fn for_connection(self, index: usize) -> TokenPlacement {
        match self {
            Placement::Header => TokenPlacement::Header,
            Placement::Hello => TokenPlacement::Hello,
            Placement::Alternate if index.is_multiple_of(2) => TokenPlacement::Header,
            Placement::Alternate => TokenPlacement::Hello,
        }
    }
}

/// What a worker reports, one JSON line each.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Every connection of the plan has either reached `ready` or failed.
    Established {
        opened: u64,
        failed: u64,
        /// Failure reason → count.
        failures: BTreeMap<String, u64>,
        /// Until every connection had an outcome (failures may wait out their timeout).
        elapsed_ms: u64,
        /// Until the last successful `ready`.
        last_ready_ms: u64,
    },
    /// Stopped: how many connections were still open, and why the others ended.
    Finished {
        held: u64,
        lost: u64,
        losses: BTreeMap<String, u64>,
        /// Heartbeats while holding: server pings answered and application pongs received (proves
        /// heartbeats flowed).
        pongs: u64,
    },
    /// A traffic job's result.
    Traffic(Box<TrafficReport>),
}

/// The coordinator's handle on one worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Lines<BufReader<ChildStdout>>,
    pub pid: u32,
}

impl Worker {
    /// Starts `jeco-bench worker` (this same executable) and hands it `job`.
    pub async fn spawn(job: &WorkerJob) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find own executable")?;
        let mut child = Command::new(exe)
            .arg(WORKER_SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a worker process")?;
        let pid = child.id().context("worker has no pid")?;
        let mut stdin = child.stdin.take().context("no worker stdin")?;
        let stdout = child.stdout.take().context("no worker stdout")?;
        let mut line = serde_json::to_string(job)?;
        line.push('\n');
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await?;
        Ok(Self {
            child,
            stdin: Some(stdin),
            events: BufReader::new(stdout).lines(),
            pid,
        })
    }

    /// The worker's next report.
    pub async fn next_event(&mut self) -> Result<WorkerEvent> {
        let Some(line) = self.events.next_line().await? else {
            bail!("worker {} exited without reporting", self.pid);
        };
        serde_json::from_str(&line).with_context(|| format!("bad worker report: {line}"))
    }

    /// Sends one line to the worker (a traffic worker starts on it).
    pub async fn signal(&mut self) -> Result<()> {
        let stdin = self.stdin.as_mut().context("worker already stopped")?;
        stdin.write_all(b"go\n").await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Closes the worker's stdin, which tells it to stop.
    pub fn stop(&mut self) {
        self.stdin.take();
    }

    pub async fn wait(mut self) -> Result<()> {
        let status = self.child.wait().await?;
        if !status.success() {
            bail!("worker {} failed: {status}", self.pid);
        }
        Ok(())
    }
}

/// The worker side: reads a job from stdin, runs it, reports on stdout.
pub async fn run_worker() -> Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let line = stdin
        .next_line()
        .await?
        .context("no job on standard input")?;
    let job: WorkerJob = serde_json::from_str(&line).context("bad job")?;
    match job {
        WorkerJob::HoldIdle(plan) => hold_idle(plan, stdin).await,
        WorkerJob::Traffic(plan) => {
            let started = Instant::now();
            let result = traffic::run(
                *plan,
                |opened, failed, failures| {
                    report(&WorkerEvent::Established {
                        opened,
                        failed,
                        failures: failures.clone(),
                        elapsed_ms: started.elapsed().as_millis() as u64,
                        last_ready_ms: started.elapsed().as_millis() as u64,
                    })
                },
                async {
                    let _ = stdin.next_line().await;
                },
            )
            .await?;
            report(&WorkerEvent::Traffic(Box::new(result)))
        }
    }
}

fn report(event: &WorkerEvent) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, event)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

async fn hold_idle(plan: HoldPlan, mut stdin: Lines<BufReader<tokio::io::Stdin>>) -> Result<()> {
    if plan.tokens.is_empty() {
        bail!("no tokens in the plan");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(plan.parallel.max(1)));
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<Result<(), Failure>>();
    let timeout = Duration::from_millis(plan.handshake_timeout_ms);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(plan.connections);
    for i in 0..plan.connections {
        let index = plan.first_index + i;
        let token = plan.tokens[index % plan.tokens.len()].clone();
        let placement = plan.placement.for_connection(index);
        let permit = gate.clone().acquire_owned().await?;
        let opened_tx = opened_tx.clone();
        let stop = stop_rx.clone();
        let addr = plan.addr;
        tasks.push(tokio::spawn(async move {
            let opened =
                tokio::time::timeout(timeout, gateway_client::open(addr, &token, placement))
                    .await
                    .unwrap_or(Err(Failure::Timeout));
            drop(permit);
            match opened {
                Ok(connection) => {
                    let _ = opened_tx.send(Ok(()));
                    drop(opened_tx);
                    Some(connection.hold(stop).await)
                }
                Err(failure) => {
                    let _ = opened_tx.send(Err(failure));
                    None
                }
            }
        }));
    }
    drop(opened_tx);
    let (mut opened, mut failed) = (0u64, 0u64);
    let mut last_ready = Duration::ZERO;
    let mut failures = BTreeMap::new();
    // Count exactly one report per connection: the senders live on in the holding tasks.
    for _ in 0..plan.connections {
        let Some(result) = opened_rx.recv().await else {
            break;
        };
        match result {
            Ok(()) => {
                opened += 1;
                last_ready = started.elapsed();
            }
            Err(failure) => {
                failed += 1;
                *failures.entry(failure.to_string()).or_insert(0) += 1;
            }
        }
    }
    report(&WorkerEvent::Established {
        opened,
        failed,
        failures,
        elapsed_ms: started.elapsed().as_millis() as u64,
        last_ready_ms: last_ready.as_millis() as u64,
    })?;
    // Hold until the coordinator closes our stdin (or says anything at all).
    let _ = stdin.next_line().await;
    stop_tx.send_replace(true);
    let (mut held, mut lost, mut pongs) = (0u64, 0u64, 0u64);
    let mut losses = BTreeMap::new();
    for task in tasks {
        match task.await {
            Ok(Some(HoldOutcome::Held { pongs: p })) => {
                held += 1;
                pongs += p;
            }
            Ok(Some(HoldOutcome::Lost(failure))) => {
                lost += 1;
                *losses.entry(failure.to_string()).or_insert(0) += 1;
            }
            Ok(None) => {}
            Err(e) => {
                lost += 1;
                *losses.entry(format!("task failed: {e}")).or_insert(0) += 1;
            }
        }
    }
    report(&WorkerEvent::Finished {
        held,
        lost,
        losses,
        pongs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_events_round_trip_as_json_lines() {
        let job = WorkerJob::HoldIdle(HoldPlan {
            addr: "127.0.0.1:1".parse().unwrap(),
            tokens: vec!["t".into()],
            first_index: 0,
            connections: 3,
            placement: Placement::Alternate,
            parallel: 1,
            handshake_timeout_ms: 10,
        });
        let line = serde_json::to_string(&job).unwrap();
        assert!(line.starts_with(r#"{"job":"hold_idle""#), "{line}");
        let back: WorkerJob = serde_json::from_str(&line).unwrap();
        let WorkerJob::HoldIdle(plan) = back else {
            panic!("not a hold job")
        };
        assert_eq!(plan.connections, 3);
        assert_eq!(
            Placement::Alternate.for_connection(1),
            TokenPlacement::Hello
        );
    }
}
