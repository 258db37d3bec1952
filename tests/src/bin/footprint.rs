//! `footprint` — the desktop app's memory and startup, measured on the real app.
//!
//! It starts a real `jeco-server`, the built app under the WebDriver (signed up as `watcher`,
//! looking at a conversation), and two senders on the engine that write to the app user at a steady
//! rate for a while. Every few seconds it adds up the PSS (proportional set size: shared pages
//! counted once across processes) of the whole app process tree — the app and its WebKit web and
//! network processes — from `/proc/<pid>/smaps_rollup`. At the end it measures the startup to a
//! cached timeline with the server stopped. It prints a table and one JSON line.
//!
//! Run it with `scripts/footprint.sh [--minutes N] [--rate MSGS_PER_S]`, which provides the display,
//! D-Bus session and keychain. Figures go to BENCHMARKS.md by hand; nothing here asserts a time.

use anyhow::{Context, Result, bail};
use jeco_client::{Engine, MemoryTokenStore};
use jeco_e2e::desktop::{Driver, app_pid, prerequisites};
use jeco_e2e::process::ServerProcess;
use jeco_e2e::webdriver::Session;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";

struct Options {
    minutes: f64,
    rate: f64,
    sample_secs: u64,
}

fn options() -> Result<Options> {
    let mut o = Options {
        minutes: 60.0,
        rate: 2.0,
        sample_secs: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().context("a flag without its value");
        match flag.as_str() {
            "--minutes" => o.minutes = value()?.parse()?,
            "--rate" => o.rate = value()?.parse()?,
            "--sample-secs" => o.sample_secs = value()?.parse()?,
            "-h" | "--help" => {
                println!("footprint [--minutes 60] [--rate 2 (messages/s)] [--sample-secs 30]");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if !(o.minutes > 0.0 && o.minutes <= 24.0 * 60.0 && o.rate > 0.0 && o.rate <= 1000.0) {
        bail!("--minutes must be in (0, 1440] and --rate in (0, 1000]");
    }
    Ok(o)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let o = options()?;
    let prereqs = prerequisites()?.context("the desktop scenario is skipped")?;
    let root = tempfile::tempdir()?;
    let mut server = ServerProcess::start(&root.path().join("server"), &[]);
    let url = server.url();
    let app_data = root.path().join("app");
    let log = jeco_e2e::target_dir().join("footprint-tauri-driver.log");
    let driver = Driver::start(
        &prereqs,
        &[
            ("JECO_DESKTOP_SERVER", Path::new(&url)),
            // Measure the app as it runs for people: its default rendering, not the compositing
            // the e2e driver turns on for screenshots (none are taken here).
            ("JECO_DESKTOP_GPU", Path::new("auto")),
            ("JECO_DESKTOP_DATA_DIR", &app_data),
        ],
        &log,
    )
    .await?;
    let caps = Driver::capabilities(&prereqs.app);

    let app = Session::start(&driver.url, caps.clone()).await?;
    app.click(&app.wait_for("[data-testid=tab-register]").await?)
        .await?;
    app.fill(&app.wait_for("#username").await?, "watcher")
        .await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for("[data-testid=welcome]").await?;

    let alice = sender(&url, root.path(), "alice").await?;
    let bob = sender(&url, root.path(), "bob").await?;
    let watcher = alice
        .find_user("watcher")
        .await?
        .context("watcher exists")?;
    let to_alice = alice.open_direct(watcher.id).await?.id;
    let to_bob = bob.open_direct(watcher.id).await?.id;
    alice.send(to_alice, "hello, watcher", None)?;
    app.wait_for_text("[data-testid=conversation]", "@alice")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "hello, watcher")
        .await?;

    tokio::time::sleep(Duration::from_secs(10)).await;
    let app_pid = app_pid(&prereqs.app)?;
    let start = tree_pss_kib(app_pid)?;
    println!("app pid {app_pid}; PSS after start: {} MiB", mib(start.0));

    // Traffic: alternate senders at the rate, sampling the app's memory as it goes.
    let total = Duration::from_secs_f64(o.minutes * 60.0);
    let gap = Duration::from_secs_f64(1.0 / o.rate);
    let began = Instant::now();
    let mut samples = vec![(0.0f64, start.0, start.1)];
    let mut next_sample = Duration::from_secs(o.sample_secs);
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(gap);
    while began.elapsed() < total {
        tick.tick().await;
        let (engine, conversation) = if sent.is_multiple_of(2) {
            (&alice, to_alice)
        } else {
            (&bob, to_bob)
        };
        engine.send(
            conversation,
            &format!("message {sent}: {}", filler(sent)),
            None,
        )?;
        sent += 1;
        if began.elapsed() >= next_sample {
            let parts = tree_pss_parts(app_pid)?;
            let (pss, processes) = (parts.iter().map(|p| p.1).sum::<u64>(), parts.len());
            let minutes = began.elapsed().as_secs_f64() / 60.0;
            println!(
                "{minutes:7.1} min  {sent:7} sent  PSS {:7.1} MiB  ({})",
                mib(pss),
                describe(&parts)
            );
            samples.push((minutes, pss, processes));
            next_sample += Duration::from_secs(o.sample_secs);
        }
    }
    alice.wait_outbox_drained(Duration::from_secs(60)).await?;
    bob.wait_outbox_drained(Duration::from_secs(60)).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let end = tree_pss_kib(app_pid)?;
    println!("PSS after traffic and 30 s idle: {} MiB", mib(end.0));

    // Startup to a cached timeline, with no server: the app opens on its cache.
    app.quit().await?;
    server.stop();
    let t0 = Instant::now();
    let app = Session::start(&driver.url, caps).await?;
    app.wait_for_text("[data-testid=conversation]", "@alice")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "message")
        .await?;
    let startup = t0.elapsed();
    println!(
        "startup to a cached timeline (server stopped): {} ms",
        startup.as_millis()
    );
    app.quit().await?;
    drop(driver);

    // Growth: slope over the second half of the samples (the first minutes include warm-up).
    let half: Vec<_> = samples[samples.len() / 2..].to_vec();
    let slope = slope_kib_per_hour(&half);
    println!(
        "messages received: {sent}; PSS start {:.1} MiB, end {:.1} MiB, peak {:.1} MiB; second-half trend {:+.1} MiB/hour",
        mib(start.0),
        mib(end.0),
        mib(samples.iter().map(|s| s.1).max().unwrap_or(0)),
        slope / 1024.0
    );
    println!(
        "{}",
        serde_json::json!({
            "scenario": "desktop_footprint",
            "minutes": o.minutes,
            "rate_per_s": o.rate,
            "messages": sent,
            "pss_start_kib": start.0,
            "pss_end_kib": end.0,
            "pss_peak_kib": samples.iter().map(|s| s.1).max(),
            "processes": end.1,
            "trend_kib_per_hour_second_half": slope.round(),
            "startup_cached_timeline_ms": startup.as_millis() as u64,
            "samples": samples.iter().map(|s| serde_json::json!([s.0, s.1])).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

async fn sender(url: &str, root: &Path, name: &str) -> Result<Engine> {
    let engine = Engine::builder(url)
        .data_dir(root.join(name))
        .token_store(Arc::new(MemoryTokenStore::default()))
        .client_name("footprint/1")
        .build()?;
    engine.register(name, PASSWORD, None).await?;
    engine.wait_live(Duration::from_secs(30)).await?;
    Ok(engine)
}

/// Some words, so messages are not all alike (search indexes and layouts see real text).
fn filler(n: u64) -> &'static str {
    const LINES: [&str; 4] = [
        "the build is green again",
        "can someone review the migration before lunch?",
        "shipping the release notes in an hour, comments welcome",
        "ok",
    ];
    LINES[(n % 4) as usize]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// PSS of `root` and every process under it, in KiB, and how many processes that is.
fn tree_pss_kib(root: u32) -> Result<(u64, usize)> {
    let parts = tree_pss_parts(root)?;
    Ok((parts.iter().map(|p| p.1).sum(), parts.len()))
}

/// Each process of the tree: its name and PSS in KiB.
fn tree_pss_parts(root: u32) -> Result<Vec<(String, u64)>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: the ppid follows the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut parts = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            let pss = rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            parts.push((name.trim().to_owned(), pss));
        }
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    Ok(parts)
}

fn describe(parts: &[(String, u64)]) -> String {
    parts
        .iter()
        .map(|(name, kib)| format!("{name} {:.0}", mib(*kib)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Least-squares slope of (minutes, KiB) samples, in KiB per hour.
fn slope_kib_per_hour(samples: &[(f64, u64, usize)]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.1 as f64).sum::<f64>() / n;
    let cov: f64 = samples.iter().map(|s| (s.0 - mx) * (s.1 as f64 - my)).sum();
    let var: f64 = samples.iter().map(|s| (s.0 - mx).powi(2)).sum();
    if var == 0.0 { 0.0 } else { cov / var * 60.0 }
}
