//! Scenario `history`: with M stored messages (1,000,000 by default), how long a page of history
//! and a full-text search take over HTTP.
//!
//! Fill: K users each create one group and send M / K messages into it over their WebSocket, as fast
//! as acknowledgements allow (`--window` in flight per sender) — the real send path, so filling
//! also exercises group commit. Texts are 12 words from a vocabulary of `--vocabulary` words with a
//! skewed distribution (word 0 is in most messages, the last words in almost none), so queries range
//! from very common to rare. Then one more user — the *reader* — is added to every group (members
//! see a conversation's whole history) and the fill's connections are closed.
//!
//! Measure, as the reader, one request at a time (`--concurrency` to change), each kind
//! `--requests` times, cycling over the conversations and queries:
//! - `newest`: `GET /conversations/{id}/messages?limit=50`;
//! - `deep`: `?before=S&limit=50` with S in the oldest 5 % of the conversation;
//! - `search_*`: `GET /search?q=…` (default page of 20, newest first) over all K conversations:
//!   a very common word, a word of middling frequency, a rare word, two words (AND), a short
//!   prefix matching most messages, and the middling word's first five letters as a prefix;
//! - `search_one_member_prefix_middling`: that last search again as the owner of the first
//!   conversation alone (a member of one conversation in K): the search must not depend on the
//!   database guessing how many of the table's messages a user can see.

use super::messaging::{self, Drive};
use crate::accounts;
use crate::latency::{Histogram, Percentiles};
use crate::procfs::Machine;
use crate::report::{self, Table, thousands};
use crate::target::{ServerUnderTest, TargetSpec};
use crate::traffic::{Rng, SendPlan, TextKind, vocabulary_word};
use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use jeco_shared::API_PREFIX;
use jeco_shared::conversations::AddMembersRequest;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const TARGET_PAGE_P99_MS: f64 = 5.0;
pub const TARGET_SEARCH_P99_MS: f64 = 50.0;
const PAGE: u32 = 50;

#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// Messages to store before measuring.
    #[arg(long, short = 'm', default_value_t = 1_000_000)]
    pub messages: u64,
    /// Conversations (one sender each) the messages are spread over.
    #[arg(long, short = 'k', default_value_t = 20)]
    pub conversations: usize,
    /// Unacknowledged sends per sender while filling.
    #[arg(long, default_value_t = 16)]
    pub window: usize,
    /// Distinct words in message texts.
    #[arg(long, default_value_t = 20_000)]
    pub vocabulary: usize,
    /// Requests per kind of query.
    #[arg(long, default_value_t = 500)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
}

#[derive(Debug, Serialize)]
pub struct HistoryResult {
    pub scenario: &'static str,
    pub bench_version: &'static str,
    pub unix_time: u64,
    pub machine: Machine,
    pub params: Params,
    pub server_addr: String,
    pub fill: Fill,
    /// Latency per kind of request, in ms.
    pub latency_ms: BTreeMap<String, Percentiles>,
    /// The queries the `search_*` kinds used.
    pub queries: BTreeMap<String, String>,
    /// Matches found by the first request of each search kind (the page holds at most 20).
    pub first_page_hits: BTreeMap<String, usize>,
    pub targets: Targets,
}

#[derive(Debug, Serialize)]
pub struct Params {
    pub messages: u64,
    pub conversations: usize,
    pub window: usize,
    pub vocabulary: usize,
    pub requests: usize,
    pub concurrency: usize,
}

#[derive(Debug, Serialize)]
pub struct Fill {
    pub acknowledged: u64,
    pub lost: u64,
    pub secs: f64,
    pub acknowledged_per_sec: f64,
    pub refused: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub page_p99_ms: f64,
    pub search_p99_ms: f64,
    pub page_met: bool,
    pub search_met: bool,
}

pub async fn run(spec: &TargetSpec, args: &HistoryArgs) -> Result<()> {
    if args.conversations == 0 || args.messages == 0 || args.requests == 0 {
        bail!("--messages, --conversations and --requests must be positive");
    }
    let server = ServerUnderTest::start(spec).await?;
    eprintln!("server at {}", server.addr);
    let result = measure(&server, args).await;
    if result.is_err() && server.is_spawned() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    server.stop().await?;
    let result = result?;
    report::emit(&table(&result), &result)
}

/// The first `n` characters of `word`.
fn prefix_of(word: &str, n: usize) -> &str {
    word.char_indices().nth(n).map_or(word, |(i, _)| &word[..i])
}

struct Target {
    id: i64,
    last_seq: i64,
}

async fn measure(server: &ServerUnderTest, args: &HistoryArgs) -> Result<HistoryResult> {
    let k = args.conversations;
    let population = messaging::populate(server, k, k, 1, 1, 4).await?;
    let per_stream = args.messages.div_ceil(k as u64);
    eprintln!(
        "filling: {} messages over {k} conversations…",
        thousands((per_stream * k as u64) as f64, 0)
    );
    let send = SendPlan {
        rate_per_stream: 0.0,
        window: args.window.max(1),
        duration_ms: 0,
        max_per_stream: Some(per_stream),
        quiet_ms: 500,
        drain_timeout_ms: 60_000,
        text: TextKind::Words {
            words: 12,
            vocabulary: args.vocabulary,
        },
        record_deliveries: false,
    };
    let outcome = messaging::drive(
        server,
        &population,
        &Drive {
            send,
            workers: 1,
            parallel: 64,
            handshake_timeout_ms: 60_000,
        },
    )
    .await?;
    eprintln!(
        "filled {} in {:.1} s ({}/s); adding the reader…",
        thousands(outcome.acknowledged as f64, 0),
        outcome.send_secs,
        thousands(outcome.acknowledged_per_sec, 0)
    );
    let fill = Fill {
        acknowledged: outcome.acknowledged,
        lost: outcome.lost,
        secs: outcome.send_secs,
        acknowledged_per_sec: outcome.acknowledged_per_sec,
        refused: outcome.refused.clone(),
    };

    let base = server.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let reader = accounts::register_users(&base, &format!("{}r", accounts::run_tag()), 1, 1)
        .await?
        .remove(0);
    for (id, members) in &population.conversations {
        let owner = &population.users[members[0]];
        http.post(format!("{base}{API_PREFIX}/conversations/{}/members", id.0))
            .bearer_auth(&owner.access_token)
            .json(&AddMembersRequest {
                user_ids: vec![reader.user_id],
            })
            .send()
            .await?
            .error_for_status()
            .context("adding the reader")?;
    }
    let targets: Vec<Target> = population
        .conversations
        .iter()
        .map(|(id, _)| Target {
            id: id.0,
            last_seq: outcome.acked_max.get(&id.0).copied().unwrap_or(1),
        })
        .collect();

    let v = args.vocabulary.max(1);
    let mut queries: BTreeMap<String, String> = [
        ("search_common", vocabulary_word(0)),
        ("search_middling", vocabulary_word(v / 20)),
        ("search_rare", vocabulary_word(v - 1)),
        (
            "search_two_words",
            format!("{} {}", vocabulary_word(1), vocabulary_word(v / 50)),
        ),
        (
            "search_prefix",
            format!(
                "{}*",
                &vocabulary_word(v / 10)[..2.min(vocabulary_word(v / 10).len())]
            ),
        ),
        (
            "search_prefix_middling",
            format!("{}*", prefix_of(&vocabulary_word(v / 20), 5)),
        ),
    ]
    .into_iter()
    .map(|(k, q)| (k.to_owned(), q))
    .collect();
    let one_member = &population.users[population.conversations[0].1[0]];

    let mut latency_ms = BTreeMap::new();
    let mut first_page_hits = BTreeMap::new();
    let mut rng = Rng::new(7);
    // (kind, requests, the token they are made with)
    let mut kinds: Vec<(String, Vec<String>, &str)> = Vec::new();
    let newest: Vec<String> = (0..args.requests)
        .map(|i| {
            let t = &targets[i % targets.len()];
            format!(
                "{base}{API_PREFIX}/conversations/{}/messages?limit={PAGE}",
                t.id
            )
        })
        .collect();
    kinds.push(("newest".into(), newest, &reader.access_token));
    let deep: Vec<String> = (0..args.requests)
        .map(|i| {
            let t = &targets[i % targets.len()];
            let oldest_5 = (t.last_seq / 20).max(2);
            let before = 2 + rng.below(oldest_5 as u64) as i64;
            format!(
                "{base}{API_PREFIX}/conversations/{}/messages?before={before}&limit={PAGE}",
                t.id
            )
        })
        .collect();
    kinds.push(("deep".into(), deep, &reader.access_token));
    let search_url = |q: &str| -> Result<String> {
        Ok(
            reqwest::Url::parse_with_params(&format!("{base}{API_PREFIX}/search"), [("q", q)])?
                .to_string(),
        )
    };
    for (kind, q) in &queries {
        let url = search_url(q)?;
        kinds.push((kind.clone(), vec![url; args.requests], &reader.access_token));
    }
    let one_member_kind = "search_one_member_prefix_middling".to_owned();
    let q = queries["search_prefix_middling"].clone();
    kinds.push((
        one_member_kind.clone(),
        vec![search_url(&q)?; args.requests],
        &one_member.access_token,
    ));
    queries.insert(one_member_kind, q);
    for (kind, urls, token) in kinds {
        eprintln!("measuring {kind}…");
        // The first response of each kind: how many hits a search found.
        let first: serde_json::Value = http
            .get(&urls[0])
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("{kind}: {}", urls[0]))?
            .json()
            .await?;
        if kind.starts_with("search") {
            first_page_hits.insert(kind.clone(), first["items"].as_array().map_or(0, Vec::len));
        }
        let timings: Vec<Result<u64>> = stream::iter(urls)
            .map(|url| {
                let http = http.clone();
                let token = token.to_owned();
                async move {
                    let began = Instant::now();
                    let body = http
                        .get(&url)
                        .bearer_auth(token)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    let took = began.elapsed().as_micros() as u64;
                    anyhow::ensure!(!body.is_empty(), "empty response");
                    Ok(took)
                }
            })
            .buffer_unordered(args.concurrency.max(1))
            .collect()
            .await;
        let mut h = Histogram::new();
        for t in timings {
            h.record(t?);
        }
        latency_ms.insert(kind, h.summary_ms());
    }
    let worst = |prefix: &str| {
        latency_ms
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, p)| p.p99)
            .fold(0.0, f64::max)
    };
    let page_p99 = worst("newest").max(worst("deep"));
    let search_p99 = worst("search");
    Ok(HistoryResult {
        scenario: "history",
        bench_version: env!("CARGO_PKG_VERSION"),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::describe(),
        params: Params {
            messages: args.messages,
            conversations: k,
            window: args.window,
            vocabulary: args.vocabulary,
            requests: args.requests,
            concurrency: args.concurrency,
        },
        server_addr: server.addr.to_string(),
        fill,
        targets: Targets {
            page_p99_ms: TARGET_PAGE_P99_MS,
            search_p99_ms: TARGET_SEARCH_P99_MS,
            page_met: page_p99 <= TARGET_PAGE_P99_MS,
            search_met: search_p99 <= TARGET_SEARCH_P99_MS,
        },
        latency_ms,
        queries,
        first_page_hits,
    })
}

fn table(r: &HistoryResult) -> Table {
    let mut t = Table::default();
    let p = &r.params;
    t.heading(format!(
        "history — {} messages over {} conversations; {} requests per kind, {} in flight",
        thousands(p.messages as f64, 0),
        p.conversations,
        p.requests,
        p.concurrency
    ));
    t.row(
        "fill",
        format!(
            "{} acknowledged in {:.1} s ({}/s), {} lost",
            thousands(r.fill.acknowledged as f64, 0),
            r.fill.secs,
            thousands(r.fill.acknowledged_per_sec, 0),
            r.fill.lost
        ),
    );
    for (code, count) in &r.fill.refused {
        t.row(format!("  refused: {code}"), thousands(*count as f64, 0));
    }
    t.heading(
        "latency (over HTTP, as a member of every conversation; one_member: of the first only)",
    );
    for (kind, l) in &r.latency_ms {
        let label = match r.queries.get(kind) {
            Some(q) => format!(
                "{kind} \"{q}\" ({} hits on page 1)",
                r.first_page_hits.get(kind).copied().unwrap_or(0)
            ),
            None => format!("{kind} (page of {PAGE})"),
        };
        t.row(label, l.render());
    }
    let met = |v: bool| if v { "met" } else { "MISSED" };
    t.heading("targets")
        .row("history page p99 ≤ 5 ms", met(r.targets.page_met))
        .row("search p99 ≤ 50 ms", met(r.targets.search_met));
    t
}
