//! `footprint` — the desktop app's memory and startup, measured on the real app.
//!
//! It starts a real `jeco-server`, the built app under the WebDriver (signed up as `watcher`), and
//! two senders on the engine. The senders open `--conversations` conversations with the watcher (two
//! direct ones, the rest groups), each with a little history, then write into all of them in turn
//! at a steady rate while the app, like a person, switches conversations and scrolls back and
//! forth. Every few seconds it adds up the PSS (proportional set size: shared pages counted once
//! across processes) of the whole app process tree — the app and its WebKit web and network
//! processes — from `/proc/<pid>/smaps_rollup`. With `--breakdown` it also says where each
//! process's memory is (its largest mappings from `/proc/<pid>/smaps`, and the page's DOM size). At
//! the end it measures the startup to the cached timeline with the server stopped, `--launches`
//! times. It prints a table and one JSON line.
//!
//! `--leak-check MIB` makes it a check that CI runs: it fails (exit 1) when the tree's PSS grew by
//! more than MIB between minute 2 and the last minute (medians of the samples there, so one
//! garbage-collection peak does not decide). It asserts memory growth only, never a time.
//!
//! `--heap-snapshots` says which JavaScript objects the page keeps: after a full garbage
//! collection it takes a JavaScriptCore heap snapshot through WebKit's inspector after start and
//! after the traffic, writes both to `<target>/footprint-heap-*.json`, and prints the classes
//! that grew (objects and self size) with what holds them. WebKit's inspector and its WebDriver
//! cannot share the app (see `jeco_e2e::inspector`), so in this mode the app is launched
//! directly and driven through the inspector, and the startup launches are not measured.
//!
//! Run it with `scripts/footprint.sh [...]`, which provides the display, D-Bus session and
//! keychain. Figures go to BENCHMARKS.md by hand.

use anyhow::{Context, Result, bail};
use jeco_client::{Engine, MemoryTokenStore};
use jeco_e2e::desktop::{Driver, Prerequisites, app_pid, prerequisites};
use jeco_e2e::heapsnap::{Snapshot, compare};
use jeco_e2e::inspector::Inspector;
use jeco_e2e::process::ServerProcess;
use jeco_e2e::webdriver::Session;
use jeco_shared::ConversationId;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";

struct Options {
    minutes: f64,
    rate: f64,
    sample_secs: u64,
    conversations: usize,
    history: usize,
    switch_secs: u64,
    launches: usize,
    breakdown: bool,
    max_growth_mib: Option<f64>,
    heap_snapshots: bool,
}

const USAGE: &str = "footprint [--minutes 60] [--rate 2 (messages/s)] [--sample-secs 30] \
[--conversations 20] [--history 30 (messages each)] [--switch-secs 20] [--launches 1] \
[--breakdown] [--leak-check MIB] [--heap-snapshots]";

fn options() -> Result<Options> {
    let mut o = Options {
        minutes: 60.0,
        rate: 2.0,
        sample_secs: 30,
        conversations: 20,
        history: 30,
        switch_secs: 20,
        launches: 1,
        breakdown: false,
        max_growth_mib: None,
        heap_snapshots: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().context("a flag without its value");
        match flag.as_str() {
            "--minutes" => o.minutes = value()?.parse()?,
            "--rate" => o.rate = value()?.parse()?,
            "--sample-secs" => o.sample_secs = value()?.parse()?,
            "--conversations" => o.conversations = value()?.parse()?,
            "--history" => o.history = value()?.parse()?,
            "--switch-secs" => o.switch_secs = value()?.parse()?,
            "--launches" => o.launches = value()?.parse()?,
            "--breakdown" => o.breakdown = true,
            "--leak-check" => o.max_growth_mib = Some(value()?.parse()?),
            "--heap-snapshots" => o.heap_snapshots = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    if !(o.minutes > 0.0 && o.minutes <= 24.0 * 60.0 && o.rate > 0.0 && o.rate <= 1000.0) {
        bail!("--minutes must be in (0, 1440] and --rate in (0, 1000]");
    }
    if !(2..=200).contains(&o.conversations) || o.launches == 0 || o.sample_secs == 0 {
        bail!("--conversations must be in [2, 200], --launches and --sample-secs above 0");
    }
    if o.max_growth_mib.is_some() && o.minutes < 3.0 {
        bail!("--leak-check compares minute 2 with the last minute: it needs --minutes 3 or more");
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
    let env: [(&str, &Path); 3] = [
        ("JECO_DESKTOP_SERVER", Path::new(&url)),
        // Measure the app as it runs for people: its default rendering, not the compositing
        // the e2e driver turns on for screenshots (none are taken here).
        ("JECO_DESKTOP_GPU", Path::new("auto")),
        ("JECO_DESKTOP_DATA_DIR", &app_data),
    ];
    let caps = Driver::capabilities(&prereqs.app);
    let (driver, mut app) = if o.heap_snapshots {
        let (direct, inspector) = DirectApp::launch(&prereqs, &env).await?;
        (Launched::Direct(direct), Ui::Inspected(Box::new(inspector)))
    } else {
        let driver = Driver::start(&prereqs, &env, &log).await?;
        let session = Session::start(&driver.url, caps.clone()).await?;
        (Launched::Driver(driver), Ui::Driver(session))
    };
    app.click("[data-testid=tab-register]").await?;
    app.fill("#username", "watcher").await?;
    app.fill("#password", PASSWORD).await?;
    app.click("[data-testid=submit]").await?;
    app.wait_for("[data-testid=welcome]").await?;

    // The conversations: a direct one with each sender, the rest groups of all three.
    let alice = sender(&url, root.path(), "alice").await?;
    let bob = sender(&url, root.path(), "bob").await?;
    let watcher = alice
        .find_user("watcher")
        .await?
        .context("watcher exists")?;
    let bob_id = alice.find_user("bob").await?.context("bob exists")?.id;
    let mut rooms: Vec<ConversationId> = vec![
        alice.open_direct(watcher.id).await?.id,
        bob.open_direct(watcher.id).await?.id,
    ];
    for n in 2..o.conversations {
        let group = alice
            .create_group(&format!("room {n:02}"), &[watcher.id, bob_id])
            .await?;
        rooms.push(group.id);
    }
    bob.wait_live(Duration::from_secs(30)).await?;
    // Some history in each, so every conversation in the app's cache has pages to show.
    let mut sent = 0u64;
    for round in 0..o.history {
        for (i, room) in rooms.iter().enumerate() {
            let (engine, conversation) = pick(&alice, &bob, *room, i, round);
            send(engine, conversation, sent)?;
            sent += 1;
        }
    }
    alice.wait_outbox_drained(Duration::from_secs(120)).await?;
    bob.wait_outbox_drained(Duration::from_secs(120)).await?;
    let history = sent;
    app.wait_for_text("[data-testid=conversation]", "room")
        .await?;
    let conversations_shown = app
        .execute(
            "return document.querySelectorAll('[data-testid=conversation]').length",
            serde_json::json!([]),
        )
        .await?;
    println!(
        "{} conversations, {history} messages of history; the app lists {conversations_shown}",
        rooms.len()
    );
    open_nth(&mut app, 0).await?;
    app.wait_for("[data-testid=timeline] .timeline-scroller")
        .await?;

    tokio::time::sleep(Duration::from_secs(10)).await;
    let app_pid = app_pid(&prereqs.app)?;
    let start = tree_pss_kib(app_pid)?;
    println!(
        "app pid {app_pid}; PSS after start: {:.1} MiB ({})",
        mib(start.0),
        describe(&tree_pss_parts(app_pid)?)
    );
    // The app turns JavaScriptCore's optimizing tiers off for its web process (jeco-desktop's
    // `javascript_jit`); every figure here depends on it, so say what the web process got, and
    // fail the CI check when it got nothing (this harness sets no `JSC_` variable itself).
    let jsc = web_process_jsc_env(app_pid)?;
    println!(
        "web process JavaScriptCore options: {}",
        if jsc.is_empty() {
            "none".into()
        } else {
            jsc.join(" ")
        }
    );
    if o.max_growth_mib.is_some() && !jsc.iter().any(|v| v.starts_with("JSC_useDFGJIT=")) {
        bail!("the app's web process runs without JSC_useDFGJIT: the app did not set it");
    }
    if o.breakdown {
        print_breakdown(&mut app, app_pid, "after start").await?;
    }
    let heap_start = match &mut app {
        Ui::Inspected(inspector) => {
            let snapshot = heap_snapshot(inspector, "after-start").await?;
            after_gc(app_pid).await?;
            Some(snapshot)
        }
        Ui::Driver(_) => None,
    };

    // Traffic into every conversation in turn at the rate; the app switches conversation every
    // `switch_secs` and scrolls up and back down in between, sampling its memory as it goes.
    let total = Duration::from_secs_f64(o.minutes * 60.0);
    let gap = Duration::from_secs_f64(1.0 / o.rate);
    let began = Instant::now();
    let mut samples = vec![(0.0f64, start.0, start.1)];
    let mut next_sample = Duration::from_secs(o.sample_secs);
    let mut next_switch = Duration::from_secs(o.switch_secs);
    let mut next_scroll = Duration::from_secs(o.switch_secs / 2);
    let mut switches = 0usize;
    let mut tick = tokio::time::interval(gap);
    let mut traffic = 0u64;
    while began.elapsed() < total {
        tick.tick().await;
        let i = (traffic as usize) % rooms.len();
        let (engine, conversation) =
            pick(&alice, &bob, rooms[i], i, traffic as usize / rooms.len());
        send(engine, conversation, sent)?;
        sent += 1;
        traffic += 1;
        let now = began.elapsed();
        if now >= next_switch {
            switches += 1;
            open_nth(&mut app, switches % rooms.len()).await?;
            next_switch += Duration::from_secs(o.switch_secs);
        } else if now >= next_scroll {
            scroll(&mut app).await?;
            next_scroll += Duration::from_secs(o.switch_secs);
        }
        if now >= next_sample {
            let parts = tree_pss_parts(app_pid)?;
            let (pss, processes) = (parts.iter().map(|p| p.1).sum::<u64>(), parts.len());
            let minutes = now.as_secs_f64() / 60.0;
            let web = if o.breakdown {
                format!("; {}", web_process_line(app_pid)?)
            } else {
                String::new()
            };
            println!(
                "{minutes:7.1} min  {traffic:7} sent  PSS {:7.1} MiB  ({}){web}",
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
    println!("PSS after traffic and 30 s idle: {:.1} MiB", mib(end.0));
    if o.breakdown {
        print_breakdown(&mut app, app_pid, "after traffic").await?;
    }
    if let (Some(before), Ui::Inspected(inspector)) = (&heap_start, &mut app) {
        let after = heap_snapshot(inspector, "after-traffic").await?;
        after_gc(app_pid).await?;
        println!(
            "the JavaScript heap, after start → after traffic (full GC before each snapshot):\n{}",
            compare(before, &after, 25, 6)
        );
    }
    let growth = o.max_growth_mib.map(|_| growth_kib(&samples, o.minutes));
    if let (Some(bound), Some(growth)) = (o.max_growth_mib, growth) {
        let grown = growth as f64 / 1024.0;
        if grown > bound {
            bail!(
                "LEAK CHECK FAILED: the app's PSS grew {grown:.1} MiB between minute 2 and the last minute (bound {bound} MiB)"
            );
        }
        println!(
            "leak check passed: grew {grown:.1} MiB between minute 2 and the last minute (bound {bound} MiB)"
        );
    }

    // Startup to the cached timeline, with no server: the app opens on its cache, at the
    // conversation that was open when it quit.
    let title = app.text("[data-testid=conversation-title]").await?;
    app.quit().await?;
    server.stop();
    let mut launches = Vec::new();
    let mut phases = Vec::new();
    let driver = match driver {
        Launched::Driver(driver) => Some(driver),
        Launched::Direct(direct) => {
            drop(direct);
            println!(
                "startup not measured: the app was launched without the WebDriver (--heap-snapshots)"
            );
            None
        }
    };
    for _ in 0..driver.as_ref().map_or(0, |_| o.launches) {
        let Some(driver) = &driver else { break };
        let t0 = Instant::now();
        let app = Session::start(&driver.url, caps.clone()).await?;
        app.wait_for_text("[data-testid=conversation-title]", &title)
            .await?;
        app.wait_for("[data-testid=timeline] [data-testid=message-text]")
            .await?;
        launches.push(t0.elapsed().as_millis() as u64);
        match launch_phases(&app, jeco_e2e::desktop::app_pid(&prereqs.app)?).await {
            Ok(p) => phases.push(p),
            Err(e) => println!("no startup breakdown for this launch: {e:#}"),
        }
        app.quit().await?;
    }
    drop(driver);
    let p50 = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
    };
    launches.sort_unstable();
    let p95 = launches
        .get(((launches.len() as f64 * 0.95).ceil() as usize).clamp(1, launches.len().max(1)) - 1)
        .copied()
        .unwrap_or(0);
    if !launches.is_empty() {
        println!(
            "startup to the cached timeline (server stopped), {} launches, as the driver sees it: p50 {} ms, p95 {p95} ms ({launches:?})",
            launches.len(),
            p50(launches.clone()),
        );
    }
    if !phases.is_empty() {
        let column = |f: fn(&Phases) -> u64| p50(phases.iter().map(f).collect());
        println!(
            "  as the app sees it (p50 of {}): process start → timeline drawn {} ms = process → page {} ms + page → script {} ms + script → drawn {} ms",
            phases.len(),
            column(|p| p.page + p.script + p.drawn),
            column(|p| p.page),
            column(|p| p.script),
            column(|p| p.drawn),
        );
        let mut names: Vec<&String> = phases.iter().flat_map(|p| p.steps.keys()).collect();
        names.sort_unstable();
        names.dedup();
        let mut steps: Vec<(u64, &String)> = names
            .into_iter()
            .map(|name| {
                let at = phases.iter().filter_map(|p| p.steps.get(name).copied());
                (p50(at.collect()), name)
            })
            .collect();
        steps.sort_unstable();
        let steps: Vec<String> = steps.iter().map(|(at, n)| format!("{n} +{at}")).collect();
        println!(
            "  the script's steps, ms after it began (p50): {}",
            steps.join(", ")
        );
    }

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
            "conversations": rooms.len(),
            "history": history,
            "messages": sent,
            "switches": switches,
            "pss_start_kib": start.0,
            "pss_end_kib": end.0,
            "pss_peak_kib": samples.iter().map(|s| s.1).max(),
            "processes": end.1,
            "trend_kib_per_hour_second_half": slope.round(),
            "growth_minute_2_to_end_kib": growth,
            "startup_cached_timeline_ms": launches,
            "startup_p50_ms": p50(launches.clone()),
            "startup_phases_ms": phases.iter().map(|p| [p.page, p.script, p.drawn]).collect::<Vec<_>>(),
            "startup_p95_ms": p95,
            "samples": samples.iter().map(|s| serde_json::json!([s.0, s.1])).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

/// Who writes the `turn`th message into the `index`th conversation: alice in her direct
/// conversation with the watcher, bob in his, the two in turn in the groups.
fn pick<'a>(
    alice: &'a Engine,
    bob: &'a Engine,
    room: ConversationId,
    index: usize,
    turn: usize,
) -> (&'a Engine, ConversationId) {
    let alice_writes = match index {
        0 => true,
        1 => false,
        _ => turn.is_multiple_of(2),
    };
    (if alice_writes { alice } else { bob }, room)
}

fn send(engine: &Engine, conversation: ConversationId, n: u64) -> Result<()> {
    engine.send(conversation, &format!("message {n}: {}", filler(n)), None)?;
    Ok(())
}

/// The app as the tool drives it: through the WebDriver, or (`--heap-snapshots`) through WebKit's
/// inspector.
enum Ui {
    Driver(Session),
    Inspected(Box<Inspector>),
}

impl Ui {
    async fn execute(&mut self, script: &str, args: Value) -> Result<Value> {
        match self {
            Ui::Driver(s) => s.execute(script, args).await,
            Ui::Inspected(i) => i.execute(script, args).await,
        }
    }

    async fn wait_for(&mut self, css: &str) -> Result<()> {
        match self {
            Ui::Driver(s) => s.wait_for(css).await.map(drop),
            Ui::Inspected(i) => i.wait_for(css).await,
        }
    }

    async fn wait_for_text(&mut self, css: &str, text: &str) -> Result<()> {
        match self {
            Ui::Driver(s) => s.wait_for_text(css, text).await.map(drop),
            Ui::Inspected(i) => i.wait_for_text(css, text).await,
        }
    }

    async fn click(&mut self, css: &str) -> Result<()> {
        match self {
            Ui::Driver(s) => s.click(&s.wait_for(css).await?).await,
            Ui::Inspected(i) => i.click(css).await,
        }
    }

    async fn fill(&mut self, css: &str, text: &str) -> Result<()> {
        match self {
            Ui::Driver(s) => s.fill(&s.wait_for(css).await?, text).await,
            Ui::Inspected(i) => i.fill(css, text).await,
        }
    }

    async fn text(&mut self, css: &str) -> Result<String> {
        match self {
            Ui::Driver(s) => s.text(&s.wait_for(css).await?).await,
            Ui::Inspected(i) => i.text(css).await,
        }
    }

    /// Ends the app (a WebDriver session's end; an inspected app is ended with its process group).
    async fn quit(self) -> Result<()> {
        match self {
            Ui::Driver(s) => s.quit().await,
            Ui::Inspected(_) => Ok(()),
        }
    }
}

/// What started the app: the WebDriver, or this tool directly.
enum Launched {
    Driver(Driver),
    Direct(DirectApp),
}

/// The app started directly with WebKit's inspector server on a free local port, in its own
/// process group (ended, WebKit's processes with it, when dropped).
struct DirectApp {
    child: std::process::Child,
}

impl DirectApp {
    async fn launch(prereqs: &Prerequisites, env: &[(&str, &Path)]) -> Result<(Self, Inspector)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let address = format!("127.0.0.1:{port}");
        let log = jeco_e2e::target_dir().join("footprint-app.log");
        let log =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = std::process::Command::new(&prereqs.app);
        command
            .env("JECO_DESKTOP_GPU", "on")
            .env("WEBKIT_INSPECTOR_HTTP_SERVER", &address)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(home) = std::env::var_os(jeco_e2e::desktop::ENV_HOME) {
            command.env("HOME", home);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", prereqs.app.display()))?;
        let app = Self { child };
        let inspector = Inspector::connect(&address, Duration::from_secs(60))
            .await
            .context("WebKit's inspector server (WEBKIT_INSPECTOR_HTTP_SERVER)")?;
        println!("inspecting the app's page at http://{address}/");
        Ok((app, inspector))
    }
}

impl Drop for DirectApp {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            use nix::sys::signal::{Signal, killpg};
            let _ = killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The web process's memory 10 s after the snapshot's full collections (time for WebKit's
/// allocator to give freed pages back).
async fn after_gc(app_pid: u32) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "  10 s after the snapshot's full GC: {}",
        web_process_line(app_pid)?
    );
    Ok(())
}

/// A heap snapshot after a full collection, written to `<target>/footprint-heap-<label>.json`.
async fn heap_snapshot(inspector: &mut Inspector, label: &str) -> Result<Snapshot> {
    let t0 = Instant::now();
    let json = inspector.heap_snapshot().await?;
    let path = jeco_e2e::target_dir().join(format!("footprint-heap-{label}.json"));
    std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    let snapshot = Snapshot::parse(&json)?;
    let total = snapshot.total();
    println!(
        "heap snapshot {label}: {} objects, {:.1} KiB of JavaScript heap (self sizes), {:.1} MiB of JSON in {:.1} s: {}",
        total.count,
        total.bytes as f64 / 1024.0,
        json.len() as f64 / 1048576.0,
        t0.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(snapshot)
}

/// Opens the `n`th conversation of the sidebar, as a click would.
async fn open_nth(app: &mut Ui, n: usize) -> Result<()> {
    app.execute(
        "const all = document.querySelectorAll('[data-testid=conversation]'); \
         if (all.length > 0) all[arguments[0] % all.length].click(); return all.length",
        serde_json::json!([n]),
    )
    .await?;
    Ok(())
}

/// Scrolls the open timeline to its top (loading older pages as a reader would) and, a moment
/// later, back to the newest message.
async fn scroll(app: &mut Ui) -> Result<()> {
    app.execute(
        "const el = document.querySelector('.timeline-scroller'); \
         if (el) { el.scrollTop = 0; setTimeout(() => { el.scrollTop = el.scrollHeight; }, 1500); }",
        serde_json::json!([]),
    )
    .await?;
    Ok(())
}

/// PSS growth from minute 2 to the last minute: medians of the samples within half a minute of
/// minute 2 and of those in the last minute.
fn growth_kib(samples: &[(f64, u64, usize)], minutes: f64) -> i64 {
    let median = |from: f64, to: f64| {
        let mut v: Vec<u64> = samples
            .iter()
            .filter(|s| s.0 >= from && s.0 <= to)
            .map(|s| s.1)
            .collect();
        v.sort_unstable();
        v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
    };
    median(minutes - 1.0, minutes) as i64 - median(1.5, 2.5) as i64
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

/// One launch as the app saw it, in milliseconds: from the process's start to the page's time
/// origin (Rust, GTK, the engine opening, WebKit's processes, the page's navigation), from there to
/// the app's script running (HTML, JS and CSS loaded and parsed), and from there to the first
/// cached timeline row drawn (React, the engine's answers, layout and paint). The driver's own
/// session set-up and its 100 ms polling are in neither.
struct Phases {
    page: u64,
    script: u64,
    drawn: u64,
    /// The UI's steps between script and drawn (`startupStep`), in ms after the script began.
    steps: std::collections::BTreeMap<String, u64>,
}

async fn launch_phases(app: &Session, pid: u32) -> Result<Phases> {
    // The marks `ui/src/startup.ts` leaves; `drawn` comes a frame after the row, so wait for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let marks = loop {
        let marks = app
            .execute(
                "const m = window.__jecoStartup; return m && m.drawn !== undefined ? [performance.timeOrigin, m.script, m.drawn, Date.now(), m.steps] : null;",
                serde_json::json!([]),
            )
            .await?;
        if !marks.is_null() {
            break marks;
        }
        if Instant::now() > deadline {
            bail!("the page left no startup marks");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mark = |i: usize| marks[i].as_f64().context("a startup mark is not a number");
    let (origin, script, drawn, now_epoch) = (mark(0)?, mark(1)?, mark(2)?, mark(3)?);
    let started = process_start_epoch_ms(pid, now_epoch)?;
    let ms = |v: f64| v.max(0.0).round() as u64;
    let steps = marks[4]
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), ms(v.as_f64()? - script))))
                .collect()
        })
        .unwrap_or_default();
    Ok(Phases {
        page: ms(origin - started),
        script: ms(script),
        drawn: ms(drawn - script),
        steps,
    })
}

/// When `pid` started, in milliseconds since the epoch, to the kernel's 10 ms tick: its start in
/// ticks since boot (`/proc/<pid>/stat`, field 22, in USER_HZ = 100 on Linux) against the time
/// since boot now (`/proc/uptime`), read next to the page's `Date.now()`.
fn process_start_epoch_ms(pid: u32, now_epoch_ms: f64) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks: f64 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19))
        .and_then(|t| t.parse().ok())
        .context("no start time in /proc/<pid>/stat")?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")?
        .split_whitespace()
        .next()
        .and_then(|u| u.parse().ok())
        .context("no /proc/uptime")?;
    Ok(now_epoch_ms - (uptime - ticks / 100.0) * 1000.0)
}

/// PSS of `root` and every process under it, in KiB, and how many processes that is.
fn tree_pss_kib(root: u32) -> Result<(u64, usize)> {
    let parts = tree_pss_parts(root)?;
    Ok((parts.iter().map(|p| p.1).sum(), parts.len()))
}

/// Each process of the tree: its name and PSS in KiB.
fn tree_pss_parts(root: u32) -> Result<Vec<(String, u64)>> {
    let mut parts = Vec::new();
    for pid in tree_pids(root)? {
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            let pss = rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            parts.push((name.trim().to_owned(), pss));
        }
    }
    Ok(parts)
}

/// `root` and every process under it.
fn tree_pids(root: u32) -> Result<Vec<u32>> {
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
    let mut pids = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        pids.push(pid);
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    Ok(pids)
}

/// A process's PSS in KiB by mapping: libraries by file name, `[heap]`, `anon` for the rest.
fn pss_by_mapping(pid: u32) -> Option<HashMap<String, u64>> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut by_kind: HashMap<String, u64> = HashMap::new();
    let mut current = String::from("anon");
    for line in smaps.lines() {
        if let Some(pss) = line.strip_prefix("Pss:") {
            let kib: u64 = pss
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            *by_kind.entry(current.clone()).or_default() += kib;
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            // A mapping's header: address perms offset dev inode [path].
            let path = line.split_whitespace().nth(5).unwrap_or("");
            current = match path {
                "" => "anon".into(),
                p if p.starts_with('[') => p.into(),
                p => p.rsplit('/').next().unwrap_or(p).into(),
            };
        }
    }
    Some(by_kind)
}

/// A process's largest anonymous mappings by PSS: `(size KiB, permissions, PSS KiB)`. Their sizes
/// and permissions tell allocators apart: JavaScriptCore's JIT region is executable, glibc's
/// per-thread arenas are 64 MiB reservations, libpas and JavaScriptCore's heap map large regions.
fn anon_mappings(pid: u32) -> Vec<(u64, String, u64)> {
    let Ok(smaps) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut current: Option<(u64, String)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let perms = fields.next().unwrap_or("").to_owned();
            let path = fields.nth(3).unwrap_or("");
            current = path.is_empty().then(|| {
                let (a, b) = first.split_once('-').unwrap_or(("0", "0"));
                let size = u64::from_str_radix(b, 16).unwrap_or(0)
                    - u64::from_str_radix(a, 16).unwrap_or(0);
                (size / 1024, perms)
            });
        } else if let (Some(pss), Some((size, perms))) = (line.strip_prefix("Pss:"), &current) {
            let kib: u64 = pss
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            out.push((*size, perms.clone(), kib));
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.2));
    out
}

/// The app's WebKit web process, if it runs yet.
fn web_process_pid(root: u32) -> Result<Option<u32>> {
    Ok(tree_pids(root)?.into_iter().find(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|n| n.trim() == "WebKitWebProces")
    }))
}

/// The `JSC_…` variables in the web process's environment (what JavaScriptCore reads its options
/// from), as `NAME=value`.
fn web_process_jsc_env(root: u32) -> Result<Vec<String>> {
    let pid =
        web_process_pid(root)?.with_context(|| format!("no web process under the app ({root})"))?;
    let environ = std::fs::read(format!("/proc/{pid}/environ"))
        .with_context(|| format!("reading the web process's ({pid}) environment"))?;
    Ok(environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| v.starts_with("JSC_"))
        .collect())
}

/// The web process's PSS and its anonymous part, in KiB, as a line.
fn web_process_line(root: u32) -> Result<String> {
    if let Some(pid) = web_process_pid(root)?
        && let Some(by_kind) = pss_by_mapping(pid)
    {
        let total: u64 = by_kind.values().sum();
        let anon = by_kind.get("anon").copied().unwrap_or(0);
        return Ok(format!(
            "web process PSS {:.1} MiB, anon {:.1} MiB",
            mib(total),
            mib(anon)
        ));
    }
    Ok("no web process".into())
}

/// Where each process of the tree keeps its memory: its largest mappings by PSS (libraries by
/// name, `[heap]` for malloc's main arena, `anon` for other anonymous memory: JavaScriptCore's heap,
/// other malloc arenas, thread stacks), and the page's size in DOM nodes and message rows.
async fn print_breakdown(app: &mut Ui, root: u32, label: &str) -> Result<()> {
    println!("where the memory is, {label}:");
    for pid in tree_pids(root)? {
        let Some(by_kind) = pss_by_mapping(pid) else {
            continue;
        };
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let total: u64 = by_kind.values().sum();
        let mut kinds: Vec<_> = by_kind.into_iter().collect();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        let top: Vec<String> = kinds
            .iter()
            .take(10)
            .map(|(k, v)| format!("{k} {:.1}", mib(*v)))
            .collect();
        println!(
            "  {} ({pid}) {:.1} MiB: {}",
            name.trim(),
            mib(total),
            top.join(", ")
        );
        if name.trim() == "WebKitWebProces" {
            let regions = anon_mappings(pid);
            let count = regions.len();
            let top: Vec<String> = regions
                .iter()
                .take(8)
                .map(|(size, perms, pss)| {
                    format!("{:.1} of {:.1} ({perms})", mib(*pss), mib(*size))
                })
                .collect();
            println!(
                "    its {count} anonymous mappings, largest (PSS of size, MiB): {}",
                top.join(", ")
            );
        }
    }
    let dom = app
        .execute(
            "return [document.getElementsByTagName('*').length, \
             document.querySelectorAll('[data-testid=message]').length, \
             document.images.length]",
            serde_json::json!([]),
        )
        .await?;
    println!("  page: [DOM elements, message rows rendered, images] = {dom}");
    if let Ui::Inspected(inspector) = app {
        match inspector.memory_categories().await {
            Ok(categories) => {
                let parts: Vec<String> = categories
                    .iter()
                    .map(|(kind, bytes)| format!("{kind} {:.1}", *bytes as f64 / 1048576.0))
                    .collect();
                println!("  WebKit's memory categories (MiB): {}", parts.join(", "));
            }
            Err(e) => println!("  WebKit's memory categories: not available ({e:#})"),
        }
    }
    Ok(())
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
