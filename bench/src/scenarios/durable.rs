//! Scenario `durable`: many concurrent senders as fast as acknowledgements come back; how many
//! messages per second the server commits and acknowledges.
//!
//! Method: register C users; each creates its own group (so senders do not contend for one
//! conversation's position) and sends into it over its WebSocket with at most `--window`
//! unacknowledged sends, for `--secs` seconds. An ack means committed (the server acknowledges
//! only after the commit), so acknowledged/s is durable messages/s. Each sender also receives its
//! own messages' events, so the run checks loss and duplicates as `fanout` does.
//!
//! Afterwards a spawned server is **restarted** on the same data directory and every
//! conversation's newest message is read over HTTP: its `seq` must be at least the highest one
//! acknowledged (positions are gap-free, so every acknowledged message is there). That is the
//! "ack means committed" check — a graceful restart, not a power cut. That an ack also survives a
//! power cut rests on the server syncing its WAL before it answers (`synchronous = FULL`), which
//! the `jeco-e2e` scenario `fsync` checks with strace, and `crash` with SIGKILLs under load.

use super::messaging::{self, Drive, Outcome};
use crate::procfs::Machine;
use crate::report::{self, Table, thousands};
use crate::target::{ServerUnderTest, TargetSpec};
use crate::traffic::{SendPlan, TextKind};
use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use jeco_shared::API_PREFIX;
use jeco_shared::messages::MessagePage;
use serde::Serialize;

pub const TARGET_ACKS_PER_SEC: f64 = 50_000.0;

#[derive(Debug, Clone, clap::Args)]
pub struct DurableArgs {
    /// Concurrent senders (one user, one connection and one conversation each).
    #[arg(long, short = 'c', default_value_t = 256)]
    pub senders: usize,
    /// Unacknowledged sends per sender.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// Bytes of message text.
    #[arg(long, default_value_t = 64)]
    pub text_bytes: usize,
    /// Worker processes holding the connections.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Registrations in flight (argon2-bound on the server).
    #[arg(long, default_value_t = 4)]
    pub register_parallel: usize,
    /// Skip the restart-and-verify step.
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Serialize)]
pub struct DurableResult {
    pub scenario: &'static str,
    pub bench_version: &'static str,
    pub unix_time: u64,
    pub machine: Machine,
    pub params: Params,
    pub server: Server,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub verification: Option<Verification>,
    pub targets: Targets,
}

#[derive(Debug, Serialize)]
pub struct Params {
    pub senders: usize,
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

/// After the run (and a restart, for a spawned server): were the acknowledged messages there?
#[derive(Debug, Serialize)]
pub struct Verification {
    pub restarted: bool,
    pub conversations_checked: usize,
    /// Conversations whose newest stored `seq` is below the highest acknowledged one.
    pub conversations_missing_acked: usize,
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub acks_per_sec: f64,
    pub met: bool,
}

pub async fn run(spec: &TargetSpec, args: &DurableArgs) -> Result<()> {
    if args.senders == 0 {
        bail!("--senders must be positive");
    }
    let server = ServerUnderTest::start(spec).await?;
    eprintln!("server at {}", server.addr);
    let (server, result) = measure(server, args).await;
    if result.is_err() && server.is_spawned() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    server.stop().await?;
    let result = result?;
    report::emit(&table(&result), &result)
}

async fn measure(
    server: ServerUnderTest,
    args: &DurableArgs,
) -> (ServerUnderTest, Result<DurableResult>) {
    let population = match messaging::populate(
        &server,
        args.senders,
        args.senders,
        1,
        1,
        args.register_parallel,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return (server, Err(e)),
    };
    let send = SendPlan {
        rate_per_stream: 0.0,
        window: args.window.max(1),
        duration_ms: args.secs * 1000,
        max_per_stream: None,
        quiet_ms: 500,
        drain_timeout_ms: 30_000,
        text: TextKind::Padded {
            bytes: args.text_bytes,
        },
        record_deliveries: true,
    };
    let outcome = match messaging::drive(
        &server,
        &population,
        &Drive {
            send,
            workers: args.workers,
            parallel: 128,
            handshake_timeout_ms: 60_000,
        },
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return (server, Err(e)),
    };
    let server_info = Server {
        addr: server.addr.to_string(),
        pid: server.pid,
        spawned: server.is_spawned(),
    };
    let (server, verification) = if args.no_verify {
        (server, None)
    } else {
        let (server, restarted) = match server.restart().await {
            Ok(r) => r,
            Err(e) => return (ServerUnderTest::gone(), Err(e)),
        };
        match verify(&server, &population, &outcome, restarted).await {
            Ok(v) => (server, Some(v)),
            Err(e) => return (server, Err(e)),
        }
    };
    let exact = outcome.lost == 0 && outcome.duplicated == 0;
    let targets = Targets {
        acks_per_sec: TARGET_ACKS_PER_SEC,
        met: exact
            && verification
                .as_ref()
                .is_none_or(|v| v.conversations_missing_acked == 0)
            && outcome.acknowledged_per_sec >= TARGET_ACKS_PER_SEC,
    };
    let result = DurableResult {
        scenario: "durable",
        bench_version: env!("CARGO_PKG_VERSION"),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::describe(),
        params: Params {
            senders: args.senders,
            window: args.window,
            secs: args.secs,
            text_bytes: args.text_bytes,
            workers: args.workers,
        },
        server: server_info,
        outcome,
        verification,
        targets,
    };
    (server, Ok(result))
}

async fn verify(
    server: &ServerUnderTest,
    population: &messaging::Population,
    outcome: &Outcome,
    restarted: bool,
) -> Result<Verification> {
    let http = reqwest::Client::new();
    let base = server.base_url();
    let checks = population.conversations.iter().map(|(id, members)| {
        let token = population.users[members[0]].access_token.clone();
        let url = format!("{base}{API_PREFIX}/conversations/{}/messages?limit=1", id.0);
        let want = outcome.acked_max.get(&id.0).copied().unwrap_or(0);
        let http = http.clone();
        async move {
            let page: MessagePage = http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
                .context("history page")?;
            let newest = page.items.last().map_or(0, |m| m.seq);
            anyhow::Ok(newest >= want)
        }
    });
    let results: Vec<Result<bool>> = stream::iter(checks).buffer_unordered(16).collect().await;
    let mut missing = 0;
    for r in &results {
        if !*r.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))? {
            missing += 1;
        }
    }
    Ok(Verification {
        restarted,
        conversations_checked: results.len(),
        conversations_missing_acked: missing,
    })
}

fn table(r: &DurableResult) -> Table {
    let mut t = Table::default();
    let p = &r.params;
    t.heading(format!(
        "durable — {} senders, window {}, {} s, {}-byte texts",
        thousands(p.senders as f64, 0),
        p.window,
        p.secs,
        p.text_bytes
    ));
    messaging::outcome_rows(&mut t, &r.outcome);
    if let Some(v) = &r.verification {
        t.heading(if v.restarted {
            "after a server restart"
        } else {
            "after the run (attached server: not restarted)"
        })
        .row(
            "conversations checked",
            thousands(v.conversations_checked as f64, 0),
        )
        .row(
            "missing an acknowledged message",
            thousands(v.conversations_missing_acked as f64, 0),
        );
    }
    t.heading("target").row(
        "≥ 50,000 durably acknowledged messages/s",
        if r.targets.met { "met" } else { "MISSED" },
    );
    t
}
