//! What the message-sending scenarios (`fanout`, `durable`, `history`'s fill) share: users and
//! group rooms created over HTTP, one gateway connection per user spread over worker processes,
//! a synchronized start, and exact accounting of what every member received.
//!
//! Accounting: the workers report every acknowledged `(conversation, seq)` and, per connection,
//! the set of `seq`s of this tool's messages it received in each conversation. A member's
//! connection is expected to receive every acknowledged message of each of its conversations
//! exactly once: `lost` counts acknowledged messages a member never received, `duplicated` second
//! arrivals, and `unacknowledged_delivered` messages that arrived although their ack did not (the
//! server committed them, but the ack was still in flight when the run ended).

use crate::accounts::{self, BenchUser};
use crate::groups::{self, GroupPlan};
use crate::latency::{Histogram, SeqSet};
use crate::procfs;
use crate::target::ServerUnderTest;
use crate::traffic::{SendPlan, TrafficConnection, TrafficPlan, TrafficReport};
use crate::workers::{Worker, WorkerEvent, WorkerJob};
use anyhow::{Result, bail};
use jeco_shared::ConversationId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Users, rooms and who sends where.
pub struct Population {
    pub users: Vec<BenchUser>,
    /// Each conversation with its members (indices into `users`).
    pub conversations: Vec<(ConversationId, Vec<usize>)>,
    /// `(user, conversation)` per sending stream.
    pub senders: Vec<(usize, ConversationId)>,
}

/// Registers `users` users and creates `rooms` groups of `members` each (members drawn as in
/// [`groups::members_of`]); the first `senders` members of each room send into it.
pub async fn populate(
    server: &ServerUnderTest,
    users: usize,
    rooms: usize,
    members: usize,
    senders: usize,
    register_parallel: usize,
) -> Result<Population> {
    if members == 0 || members > users {
        bail!("members per conversation must be 1..=users ({users})");
    }
    if senders > members {
        bail!("senders per conversation must be at most the members ({members})");
    }
    if members > jeco_shared::conversations::GROUP_MEMBERS_MAX {
        bail!(
            "a group has at most {} members",
            jeco_shared::conversations::GROUP_MEMBERS_MAX
        );
    }
    let began = Instant::now();
    eprintln!("registering {users} users…");
    let registered = accounts::register_users(
        &server.base_url(),
        &accounts::run_tag(),
        users,
        register_parallel,
    )
    .await?;
    eprintln!(
        "registered in {:.1} s; creating {rooms} conversations of {members}…",
        began.elapsed().as_secs_f64()
    );
    let plans: Vec<GroupPlan> = (0..rooms)
        .map(|r| GroupPlan {
            name: format!("bench {r}"),
            members: groups::members_of(r, members, users),
        })
        .collect();
    let ids = groups::create_groups(&server.base_url(), &registered, &plans, 8).await?;
    let conversations: Vec<(ConversationId, Vec<usize>)> = ids
        .into_iter()
        .zip(plans)
        .map(|(id, p)| (id, p.members))
        .collect();
    let senders = conversations
        .iter()
        .flat_map(|(id, m)| m.iter().take(senders).map(move |u| (*u, *id)))
        .collect();
    Ok(Population {
        users: registered,
        conversations,
        senders,
    })
}

/// How to drive the population.
pub struct Drive {
    pub send: SendPlan,
    pub workers: usize,
    pub parallel: usize,
    pub handshake_timeout_ms: u64,
}

/// The merged outcome of a traffic run.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub connections: u64,
    pub connect_failed: u64,
    pub connect_failures: BTreeMap<String, u64>,
    pub connect_secs: f64,
    pub sent: u64,
    pub acknowledged: u64,
    pub refused: BTreeMap<String, u64>,
    pub unanswered: u64,
    pub expected_deliveries: u64,
    /// Distinct acknowledged messages that reached a member (duplicates not counted).
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub unacknowledged_delivered: u64,
    pub lost_connections: BTreeMap<String, u64>,
    /// From the first send to the last ack.
    pub send_secs: f64,
    /// From the first send to the last delivery.
    pub delivery_secs: f64,
    pub acknowledged_per_sec: f64,
    pub deliveries_per_sec: f64,
    pub ack_latency_ms: crate::latency::Percentiles,
    pub delivery_latency_ms: crate::latency::Percentiles,
    /// Server CPU over the traffic window, % of one core (`null` without a pid).
    pub server_cpu_percent: Option<f64>,
    /// The load generator's CPU (coordinator + workers) over the same window.
    pub bench_cpu_percent: Option<f64>,
    /// Highest acknowledged `seq` per conversation (for checks after the run).
    #[serde(skip)]
    pub acked_max: HashMap<i64, i64>,
}

/// Opens one connection per user over `workers` processes, starts them together, and accounts.
pub async fn drive(
    server: &ServerUnderTest,
    population: &Population,
    drive: &Drive,
) -> Result<Outcome> {
    let mut streams: HashMap<usize, Vec<ConversationId>> = HashMap::new();
    for (user, conversation) in &population.senders {
        streams.entry(*user).or_default().push(*conversation);
    }
    let n = population.users.len();
    let workers = drive.workers.clamp(1, n.max(1));
    // Connection `i` belongs to worker `i % workers`; reports come back in plan order.
    let mut plans: Vec<TrafficPlan> = (0..workers)
        .map(|_| TrafficPlan {
            addr: server.addr,
            connections: Vec::new(),
            parallel: (drive.parallel / workers).max(1),
            handshake_timeout_ms: drive.handshake_timeout_ms,
            send: drive.send.clone(),
        })
        .collect();
    for (i, user) in population.users.iter().enumerate() {
        plans[i % workers].connections.push(TrafficConnection {
            token: user.access_token.clone(),
            addr: Some(server.gateway(i)),
            sends_to: streams.remove(&i).unwrap_or_default(),
        });
    }
    eprintln!(
        "opening {n} connections from {workers} worker process(es), {} sending streams…",
        population.senders.len()
    );
    let began = Instant::now();
    let mut pool = Vec::with_capacity(workers);
    for plan in plans {
        pool.push(Worker::spawn(&WorkerJob::Traffic(Box::new(plan))).await?);
    }
    let (mut connections, mut connect_failed) = (0, 0);
    let mut connect_failures = BTreeMap::new();
    for worker in &mut pool {
        match worker.next_event().await? {
            WorkerEvent::Established {
                opened,
                failed,
                failures,
                ..
            } => {
                connections += opened;
                connect_failed += failed;
                for (k, v) in failures {
                    *connect_failures.entry(k).or_insert(0) += v;
                }
            }
            other => bail!("unexpected worker report {other:?}"),
        }
    }
    let connect_secs = began.elapsed().as_secs_f64();
    eprintln!("{connections} connected ({connect_failed} failed) in {connect_secs:.1} s; sending…");
    let bench_pids: Vec<u32> = std::iter::once(std::process::id())
        .chain(pool.iter().map(|w| w.pid))
        .collect();
    let bench_ticks = || -> Option<u64> {
        bench_pids
            .iter()
            .map(|p| procfs::cpu_ticks(*p))
            .sum::<Result<u64>>()
            .ok()
    };
    let server_before = server.pid.and_then(|p| procfs::cpu_ticks(p).ok());
    let bench_before = bench_ticks();
    let window = Instant::now();
    for worker in &mut pool {
        worker.signal().await?;
    }
    let mut reports = Vec::with_capacity(workers);
    for worker in &mut pool {
        match worker.next_event().await? {
            WorkerEvent::Traffic(report) => reports.push(*report),
            other => bail!("unexpected worker report {other:?}"),
        }
    }
    let window_secs = window.elapsed().as_secs_f64();
    let server_after = server.pid.and_then(|p| procfs::cpu_ticks(p).ok());
    let bench_after = bench_ticks();
    for mut worker in pool {
        worker.stop();
        worker.wait().await?;
    }
    let percent = |a: Option<u64>, b: Option<u64>| {
        a.zip(b)
            .map(|(a, b)| procfs::cpu_percent(a, b, window_secs))
    };
    let mut outcome = account(population, &reports, workers, drive.send.record_deliveries);
    outcome.connections = connections;
    outcome.connect_failed = connect_failed;
    outcome.connect_failures = connect_failures;
    outcome.connect_secs = connect_secs;
    outcome.server_cpu_percent = percent(server_before, server_after);
    outcome.bench_cpu_percent = percent(bench_before, bench_after);
    Ok(outcome)
}

/// Merges the workers' reports and does the exact loss/duplicate accounting.
fn account(
    population: &Population,
    reports: &[TrafficReport],
    workers: usize,
    exact: bool,
) -> Outcome {
    let mut acked: HashMap<i64, SeqSet> = HashMap::new();
    let (mut ack_latency, mut delivery_latency) = (Histogram::new(), Histogram::new());
    let mut refused = BTreeMap::new();
    let mut lost_connections = BTreeMap::new();
    let (mut sent, mut acknowledged, mut unanswered, mut raw_delivered, mut duplicated) =
        (0, 0, 0, 0, 0);
    let mut first_send = u64::MAX;
    let (mut last_ack, mut last_delivery) = (0u64, 0u64);
    for r in reports {
        sent += r.sent;
        acknowledged += r.acked;
        unanswered += r.unanswered;
        raw_delivered += r.delivered;
        duplicated += r.duplicates;
        if r.first_send_us > 0 {
            first_send = first_send.min(r.first_send_us);
        }
        last_ack = last_ack.max(r.last_ack_us);
        last_delivery = last_delivery.max(r.last_delivery_us);
        ack_latency.merge(&r.ack_latency);
        delivery_latency.merge(&r.delivery_latency);
        for (k, v) in &r.refused {
            *refused.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &r.lost_connections {
            *lost_connections.entry(k.clone()).or_insert(0) += v;
        }
        for (conversation, seqs) in &r.acked_seqs {
            acked.entry(*conversation).or_default().union(seqs);
        }
    }
    let members_of: HashMap<i64, usize> = population
        .conversations
        .iter()
        .map(|(id, m)| (id.0, m.len()))
        .collect();
    let expected_deliveries: u64 = acked
        .iter()
        .map(|(c, s)| s.len() * members_of.get(c).copied().unwrap_or(0) as u64)
        .sum();
    let (mut delivered, mut unacknowledged_delivered) = (0u64, 0u64);
    if exact {
        // Which conversations each user is in.
        let mut rooms_of: Vec<Vec<i64>> = vec![Vec::new(); population.users.len()];
        for (id, members) in &population.conversations {
            for m in members {
                rooms_of[*m].push(id.0);
            }
        }
        let empty = SeqSet::default();
        for (i, rooms) in rooms_of.iter().enumerate() {
            let received = reports
                .get(i % workers)
                .and_then(|r| r.received.get(i / workers));
            for room in rooms {
                let got = received
                    .and_then(|r| r.conversations.iter().find(|(c, _)| c == room))
                    .map_or(&empty, |(_, s)| s);
                let want = acked.get(room).unwrap_or(&empty);
                let both = want.intersection_len(got);
                delivered += both;
                unacknowledged_delivered += got.len() - both;
            }
        }
    } else {
        delivered = raw_delivered.saturating_sub(duplicated);
    }
    let secs = |end: u64| {
        if first_send == u64::MAX || end <= first_send {
            0.0
        } else {
            (end - first_send) as f64 / 1e6
        }
    };
    let send_secs = secs(last_ack);
    let delivery_secs = secs(last_delivery);
    let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    Outcome {
        connections: 0,
        connect_failed: 0,
        connect_failures: BTreeMap::new(),
        connect_secs: 0.0,
        sent,
        acknowledged,
        refused,
        unanswered,
        expected_deliveries,
        delivered,
        lost: expected_deliveries.saturating_sub(delivered),
        duplicated,
        unacknowledged_delivered,
        lost_connections,
        send_secs,
        delivery_secs,
        acknowledged_per_sec: rate(acknowledged, send_secs),
        deliveries_per_sec: rate(raw_delivered, delivery_secs),
        ack_latency_ms: ack_latency.summary_ms(),
        delivery_latency_ms: delivery_latency.summary_ms(),
        server_cpu_percent: None,
        bench_cpu_percent: None,
        acked_max: acked
            .iter()
            .filter_map(|(c, s)| s.max().map(|m| (*c, m)))
            .collect(),
    }
}

/// Rows every traffic scenario shows.
pub fn outcome_rows(t: &mut crate::report::Table, o: &Outcome) {
    use crate::report::thousands;
    let n = |v: u64| thousands(v as f64, 0);
    t.row(
        "connections",
        format!(
            "{} ({} failed, {:.1} s to connect)",
            n(o.connections),
            n(o.connect_failed),
            o.connect_secs
        ),
    );
    for (reason, count) in &o.connect_failures {
        t.row(format!("  failed: {reason}"), n(*count));
    }
    t.row("sent", n(o.sent))
        .row("acknowledged", n(o.acknowledged));
    for (code, count) in &o.refused {
        t.row(format!("  refused: {code}"), n(*count));
    }
    if o.unanswered > 0 {
        t.row("unanswered at the end", n(o.unanswered));
    }
    t.row("expected deliveries", n(o.expected_deliveries))
        .row("delivered", n(o.delivered))
        .row("lost", n(o.lost))
        .row("duplicated", n(o.duplicated));
    if o.unacknowledged_delivered > 0 {
        t.row("delivered, ack not seen", n(o.unacknowledged_delivered));
    }
    for (reason, count) in &o.lost_connections {
        t.row(format!("connection lost: {reason}"), n(*count));
    }
    t.row(
        "acknowledged/s",
        format!(
            "{} over {:.2} s",
            thousands(o.acknowledged_per_sec, 0),
            o.send_secs
        ),
    )
    .row(
        "deliveries/s",
        format!(
            "{} over {:.2} s",
            thousands(o.deliveries_per_sec, 0),
            o.delivery_secs
        ),
    )
    .row("send → ack", o.ack_latency_ms.render())
    .row("send → receive", o.delivery_latency_ms.render());
    let pct = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} % of one core"));
    t.row("server CPU", pct(o.server_cpu_percent))
        .row("bench CPU (all processes)", pct(o.bench_cpu_percent));
}
