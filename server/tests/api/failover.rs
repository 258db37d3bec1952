//! Real `jeco-server` processes behind nginx, run from the deployment's own site file
//! (`deploy/nginx/jeco.conf`, see `jeco_testkit::nginx`): three instances on one PostgreSQL
//! database, one Redis and one data directory, and every client going through nginx, as in
//! production. An instance killed with SIGKILL during a flood, and every instance restarted in turn
//! (SIGTERM, then started again on its port), must lose nothing: every acknowledged message reaches
//! every receiver exactly once, at gap-free positions. Clients do what real ones do: a sender
//! retries a failed send with the same `client_id` (the server deduplicates), and a receiver whose
//! WebSocket closes or fails, for whatever reason, reconnects through nginx and resumes from its
//! last positions.
//!
//! The deployment's systemd unit (`deploy/systemd/jeco-server@.service`) is checked here too, with
//! `systemd-analyze verify`, since its `ExecStart` needs the built binary.

use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use jeco_shared::events::EventBody;
use jeco_shared::ws::ServerFrame;
use jeco_testkit::nginx::{Nginx, UPSTREAM_HEADER};
use jeco_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Instances behind nginx.
const INSTANCES: usize = 3;
/// Users in the flood: each one sends and each one receives everything.
const USERS: usize = 4;
/// How long a sender keeps retrying one message, and a receiver keeps trying to reconnect.
const RETRY_FOR: Duration = Duration::from_secs(30);

/// One `jeco-server` process of the cluster.
struct Instance {
    child: Option<Child>,
    /// `127.0.0.1:PORT`, kept across restarts.
    addr: String,
    log: PathBuf,
}

/// How to start an instance of this cluster: the shared database, Redis and data directory.
struct Launcher {
    database_url: String,
    redis_url: String,
    data: TempDir,
}

impl Launcher {
    /// Starts `jeco-server serve` on `bind` and returns it with its `127.0.0.1:PORT` once it
    /// listens.
    async fn spawn(&self, bind: &str, log: &Path) -> Result<(Child, String), String> {
        use std::io::{BufRead, BufReader};
        let mut child = dies_with_this_thread(server_binary())
            .envs([
                ("JECO_DATABASE_URL", self.database_url.as_str()),
                ("JECO_REDIS_URL", self.redis_url.as_str()),
                // A flood from a few users, and every client arriving from nginx's address.
                ("JECO_MESSAGE_RATE_PER_SEC", "100000"),
                ("JECO_MESSAGE_RATE_BURST", "100000"),
                ("JECO_AUTH_RATE_PER_MINUTE", "100000"),
                ("JECO_AUTH_RATE_BURST", "100000"),
                ("JECO_RESUME_MAX_EVENTS", "100000"),
                ("JECO_TRUSTED_PROXIES", "127.0.0.1"),
            ])
            .args(["serve", "--bind", bind, "--data-dir"])
            .arg(self.data.path())
            .stdout(std::process::Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            line
        });
        // Generous: the first start migrates the database, and CI runs many tests at once.
        let line = tokio::time::timeout(RETRY_FOR, line)
            .await
            .map_err(|_| "no \"listening on\" line in time".to_owned())?
            .unwrap();
        let Some(base) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("did not start ({line:?}): {log}"));
        };
        Ok((child, base.to_owned()))
    }
}

/// `cmd` run through util-linux's `setpriv --pdeathsig KILL`: the kernel kills the instance when
/// the thread that started it ends, so a test process that is itself killed (no `Drop`) leaves no
/// server behind. `setpriv` execs the server, so the child's pid, signals and exit status are the
/// server's own. Without `setpriv` (not Debian), `cmd` as it is, and `Drop` alone cleans up.
fn dies_with_this_thread(cmd: std::process::Command) -> std::process::Command {
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        return cmd;
    }
    let mut wrapped = std::process::Command::new(setpriv);
    wrapped
        .args(["--pdeathsig", "KILL", "--"])
        .arg(cmd.get_program());
    wrapped.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// Three instances, PostgreSQL, Redis and nginx in front; `front` talks to nginx.
struct Cluster {
    _redis: RedisServer,
    launcher: Launcher,
    _logs: TempDir,
    instances: Vec<Instance>,
    _nginx: Nginx,
    front: TestServer,
}

impl Cluster {
    async fn start() -> Self {
        let redis = RedisServer::start();
        let launcher = Launcher {
            database_url: jeco_testkit::postgres::fresh_database(),
            redis_url: redis.url(),
            data: tempfile::tempdir().unwrap(),
        };
        let logs = tempfile::tempdir().unwrap();
        let mut instances = Vec::new();
        // One after the other: the first creates the shared signing secret and the schema.
        for i in 0..INSTANCES {
            let log = logs.path().join(format!("instance-{i}.log"));
            let (child, addr) = launcher
                .spawn("127.0.0.1:0", &log)
                .await
                .unwrap_or_else(|e| panic!("instance {i}: {e}"));
            instances.push(Instance {
                child: Some(child),
                addr,
                log,
            });
        }
        let addrs: Vec<&str> = instances.iter().map(|i| i.addr.as_str()).collect();
        let nginx = Nginx::start(&addrs);
        let front = TestServer::external(nginx.url(), tempfile::tempdir().unwrap());
        Self {
            _redis: redis,
            launcher,
            _logs: logs,
            instances,
            _nginx: nginx,
            front,
        }
    }

    /// SIGKILL: a crash, no drain.
    fn kill(&mut self, i: usize) {
        let mut child = self.instances[i].child.take().expect("instance running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM and wait for the drain to end, then start again on the same port.
    async fn restart(&mut self, i: usize) -> (std::process::ExitStatus, Duration) {
        let child = self.instances[i].child.take().expect("instance running");
        let stopping = Instant::now();
        let status = tokio::time::timeout(RETRY_FOR, stop_binary(child))
            .await
            .unwrap_or_else(|_| {
                panic!("instance {i} did not exit within {RETRY_FOR:?} of SIGTERM")
            });
        let drained = stopping.elapsed();
        let (addr, log) = (
            self.instances[i].addr.clone(),
            self.instances[i].log.clone(),
        );
        // The old socket may linger for a moment; the port is ours, so retry until it binds.
        let deadline = Instant::now() + RETRY_FOR;
        let child = loop {
            match self.launcher.spawn(&addr, &log).await {
                Ok((child, _)) => break child,
                Err(e) if Instant::now() > deadline => panic!("restarting instance {i}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        self.instances[i].child = Some(child);
        (status, drained)
    }

    /// Waits until nginx sends requests to instance `i` again, returning how long that took.
    /// After failed connects nginx leaves an instance out for `fail_timeout`: restarting the next
    /// instance before then can leave nginx with no instance it believes in ("no live upstreams",
    /// 502 for everyone), which is what a rolling restart must avoid.
    async fn wait_until_nginx_uses(&self, i: usize) -> Duration {
        let start = Instant::now();
        let deadline = start + RETRY_FOR;
        let http = reqwest::Client::new();
        loop {
            if let Ok(resp) = http.get(self.front.url("/api/v1/health")).send().await {
                let upstream = resp
                    .headers()
                    .get(UPSTREAM_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(", ").next())
                    .unwrap_or_default();
                if resp.status().is_success() && self.index_of(upstream) == Some(i) {
                    return start.elapsed();
                }
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not send anything to instance {i} within {RETRY_FOR:?} of its restart"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn index_of(&self, upstream: &str) -> Option<usize> {
        self.instances.iter().position(|i| i.addr == upstream)
    }

    fn ws_url(&self) -> String {
        self.front.ws_url()
    }

    /// Every instance's log, for failure messages.
    fn logs(&self) -> String {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let log = std::fs::read_to_string(&inst.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                format!(
                    "--- instance {i} ({}) last lines:\n{}\n",
                    inst.addr,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for inst in &mut self.instances {
            if let Some(mut child) = inst.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The instance that answered, from the test nginx's header (the last one listed, when nginx
/// had to try several).
fn upstream_of(response: &tokio_tungstenite::tungstenite::handshake::client::Response) -> String {
    response
        .headers()
        .get(UPSTREAM_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(", ").next())
        .unwrap_or("?")
        .to_owned()
}

/// A WebSocket through nginx, after hello (with `resume`, if any) → ready. Errors are returned,
/// not panicked on: during a failover any step may fail, and the caller tries again.
async fn connect(
    ws_url: &str,
    token: &str,
    resume: Option<Value>,
) -> Result<(Ws, String, i64), String> {
    let mut request = ws_url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("jeco.v1, jeco.auth.{token}").parse().unwrap(),
    );
    let (mut ws, response) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))?;
    let upstream = upstream_of(&response);
    let mut hello = json!({"type": "hello", "protocol": jeco_shared::PROTOCOL_VERSION});
    if let Some(resume) = resume {
        hello["resume"] = resume;
    }
    ws.send(Message::text(hello.to_string()))
        .await
        .map_err(|e| format!("hello: {e}"))?;
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Err(_) => return Err("no ready in time".into()),
            Ok(Some(Ok(Message::Text(text)))) => {
                return match serde_json::from_str(text.as_str()) {
                    Ok(ServerFrame::Ready { user_seq, .. }) => Ok((ws, upstream, user_seq)),
                    other => Err(format!("expected ready, got {other:?}")),
                };
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(format!("before ready: {other:?}")),
        }
    }
}

/// What one receiver saw of conversation `g`.
#[derive(Default, Debug)]
struct Received {
    /// Times each message text arrived.
    texts: BTreeMap<String, usize>,
    /// Positions skipped, and positions that came again.
    gaps: i64,
    seq_repeats: usize,
    resyncs: usize,
    /// Why each connection ended: `close 1012`, `error: …`, `eof`.
    ends: Vec<String>,
    /// When each reconnect's ready came, and through which instance.
    reconnects: Vec<(Instant, String)>,
}

/// Shared between the flood's tasks and the test.
#[derive(Default)]
struct Progress {
    acked: AtomicUsize,
    /// Receivers that saw the warm-up message (their starting position).
    warmed: AtomicUsize,
    /// Set when the senders are to stop.
    stop: AtomicBool,
    /// Set once every sender stopped: the total to wait for.
    expected: AtomicUsize,
}

/// Reads conversation `g` on `ws` until it has `progress.expected` distinct messages (after
/// the senders stopped) or `RETRY_FOR` passed after they did; reconnects and resumes from its
/// last positions whenever the connection ends.
async fn receive(
    ws_url: String,
    token: String,
    g: i64,
    mut ws: Ws,
    mut user_seq: i64,
    progress: Arc<Progress>,
) -> Received {
    let mut got = Received::default();
    let mut last: Option<i64> = None;
    let mut stopped_at: Option<Instant> = None;
    loop {
        let expected = progress.expected.load(Ordering::SeqCst);
        if expected > 0 {
            let since = *stopped_at.get_or_insert_with(Instant::now);
            let messages = got.texts.keys().filter(|t| *t != "warmup").count();
            if messages >= expected || since.elapsed() > RETRY_FOR {
                return got;
            }
        }
        let ended = match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            Err(_) => None,
            Ok(Some(Ok(Message::Text(text)))) => {
                match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Event(e)) if e.conversation_id.0 == g => {
                        match last {
                            Some(l) if e.seq <= l => got.seq_repeats += 1,
                            Some(l) => got.gaps += e.seq - l - 1,
                            None => {}
                        }
                        if last.is_none_or(|l| e.seq > l) {
                            last = Some(e.seq);
                        }
                        if let EventBody::MessageCreated { message } = e.body {
                            if message.text == "warmup" {
                                progress.warmed.fetch_add(1, Ordering::SeqCst);
                            }
                            *got.texts.entry(message.text).or_default() += 1;
                        }
                    }
                    Ok(ServerFrame::UserEvent(e)) => user_seq = user_seq.max(e.seq),
                    Ok(ServerFrame::Resync { .. }) => got.resyncs += 1,
                    Ok(_) => {}
                    Err(e) => panic!("unreadable frame {text}: {e}"),
                }
                None
            }
            Ok(Some(Ok(Message::Close(frame)))) => Some(match frame {
                Some(f) => format!("close {}", u16::from(f.code)),
                None => "close without code".to_owned(),
            }),
            Ok(Some(Ok(_))) => None,
            Ok(Some(Err(e))) => Some(format!("error: {e}")),
            Ok(None) => Some("eof".to_owned()),
        };
        let Some(why) = ended else { continue };
        got.ends.push(why);
        let Some(seq) = last else {
            panic!(
                "the connection ended before the warm-up message: {:?}",
                got.ends
            )
        };
        let resume = json!({
            "conversations": [{"conversation_id": g, "seq": seq}],
            "user_seq": user_seq,
        });
        let deadline = Instant::now() + RETRY_FOR;
        ws = loop {
            match connect(&ws_url, &token, Some(resume.clone())).await {
                Ok((ws, upstream, _)) => {
                    got.reconnects.push((Instant::now(), upstream));
                    break ws;
                }
                Err(e) if Instant::now() > deadline => {
                    panic!("no reconnect through nginx within {RETRY_FOR:?}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
    }
}

/// What one sender did.
#[derive(Default, Debug)]
struct Sent {
    acked: Vec<String>,
    /// Failed attempts by kind (`502`, `transport`, …); each was retried with the same client id.
    retries: BTreeMap<String, usize>,
    /// The longest one message took from its first attempt to its acknowledgement.
    slowest: Duration,
}

/// How a sender sends: `POST …/messages` or a `send` frame on its own WebSocket, both through
/// nginx.
enum Route {
    Http(reqwest::Client, String),
    Ws {
        url: String,
        socket: Option<Box<Ws>>,
    },
}

impl Route {
    /// One attempt to send `text` with client id `text`; the error names what went wrong.
    async fn send(&mut self, token: &str, g: i64, text: &str) -> Result<(), String> {
        match self {
            Route::Http(http, url) => {
                let resp = http
                    .post(url.as_str())
                    .bearer_auth(token)
                    .json(&json!({"client_id": text, "text": text}))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.unwrap_or_default();
                        if body["client_id"] == text {
                            Ok(())
                        } else {
                            Err(format!("unexpected body {body}"))
                        }
                    }
                    Ok(r) => Err(r.status().as_u16().to_string()),
                    Err(e) if e.is_timeout() => Err("timeout".to_owned()),
                    Err(_) => Err("transport".to_owned()),
                }
            }
            Route::Ws { url, socket } => {
                let result = Self::send_frame(url, socket, token, g, text).await;
                if result.is_err() {
                    // Whatever failed, the next attempt starts on a new connection.
                    *socket = None;
                }
                result
            }
        }
    }

    /// A `send` frame, then frames until its `ack` (events and others are skipped).
    async fn send_frame(
        url: &str,
        socket: &mut Option<Box<Ws>>,
        token: &str,
        g: i64,
        text: &str,
    ) -> Result<(), String> {
        if socket.is_none() {
            let (ws, _, _) = connect(url, token, None)
                .await
                .map_err(|_| "ws connect".to_owned())?;
            *socket = Some(Box::new(ws));
        }
        let ws = socket.as_mut().unwrap();
        let frame = json!({"type": "send", "conversation_id": g, "client_id": text, "text": text});
        ws.send(Message::text(frame.to_string()))
            .await
            .map_err(|_| "ws send".to_owned())?;
        loop {
            match tokio::time::timeout(PATIENCE, ws.next()).await {
                Err(_) => return Err("ws timeout".into()),
                Ok(Some(Ok(Message::Text(frame)))) => {
                    match serde_json::from_str::<ServerFrame>(frame.as_str()) {
                        Ok(ServerFrame::Ack { client_id, .. }) if client_id == text => {
                            return Ok(());
                        }
                        Ok(ServerFrame::Error {
                            code,
                            client_id: Some(id),
                            ..
                        }) if id == text => return Err(format!("ws error {code:?}")),
                        _ => {}
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let code = frame.map(|f| u16::from(f.code));
                    return Err(format!("ws close {code:?}"));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) => return Err("ws broken".into()),
                Ok(None) => return Err("ws eof".into()),
            }
        }
    }
}

/// Sends `u{user}-{i}` for i = 0, 1, … through nginx until `progress.stop`, each retried with its
/// client id until it is acknowledged: over HTTP for even users, over a WebSocket for odd ones.
async fn send(base: String, token: String, g: i64, user: usize, progress: Arc<Progress>) -> Sent {
    let mut route = if user.is_multiple_of(2) {
        let http = reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .unwrap();
        Route::Http(http, format!("{base}/api/v1/conversations/{g}/messages"))
    } else {
        Route::Ws {
            url: format!("{}/api/v1/ws", base.replacen("http", "ws", 1)),
            socket: None,
        }
    };
    let mut sent = Sent::default();
    for i in 0.. {
        if progress.stop.load(Ordering::SeqCst) {
            break;
        }
        let text = format!("u{user}-{i}");
        let first_attempt = Instant::now();
        let deadline = first_attempt + RETRY_FOR;
        while let Err(failure) = route.send(&token, g, &text).await {
            *sent.retries.entry(failure.clone()).or_default() += 1;
            assert!(
                Instant::now() < deadline,
                "{text} not acknowledged within {RETRY_FOR:?}: {failure}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sent.slowest = sent.slowest.max(first_attempt.elapsed());
        sent.acked.push(text);
        progress.acked.fetch_add(1, Ordering::SeqCst);
    }
    sent
}

/// The flood's clients: `USERS` users in one group, each with a WebSocket through nginx.
struct Flood {
    progress: Arc<Progress>,
    senders: Vec<tokio::task::JoinHandle<Sent>>,
    receivers: Vec<tokio::task::JoinHandle<Received>>,
    /// The instance each receiver first landed on.
    upstreams: Vec<String>,
}

impl Flood {
    /// Registers the users, connects them, sends a warm-up message every receiver must see (its
    /// starting position), then starts the senders.
    async fn start(c: &Cluster) -> Self {
        let mut users = Vec::new();
        for u in 0..USERS {
            users.push(c.front.register(&format!("flood{u}")).await);
        }
        let others: Vec<i64> = users[1..].iter().map(|u| u.user.id.0).collect();
        let owner = users[0].access_token.clone();
        let g = c.front.group(&owner, "Flood", &others).await;
        let progress = Arc::new(Progress::default());
        let mut receivers = Vec::new();
        let mut upstreams = Vec::new();
        for user in &users {
            let token = user.access_token.clone();
            let (ws, upstream, user_seq) = connect(&c.ws_url(), &token, None).await.unwrap();
            upstreams.push(upstream);
            receivers.push(tokio::spawn(receive(
                c.ws_url(),
                token,
                g,
                ws,
                user_seq,
                progress.clone(),
            )));
        }
        c.front.say(&owner, g, "warmup", "warmup").await;
        let deadline = Instant::now() + PATIENCE;
        while progress.warmed.load(Ordering::SeqCst) < USERS {
            assert!(
                Instant::now() < deadline,
                "the warm-up message did not reach everyone"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let senders = users
            .iter()
            .enumerate()
            .map(|(u, user)| {
                tokio::spawn(send(
                    c.front.base().to_owned(),
                    user.access_token.clone(),
                    g,
                    u,
                    progress.clone(),
                ))
            })
            .collect();
        Self {
            progress,
            senders,
            receivers,
            upstreams,
        }
    }

    fn acked(&self) -> usize {
        self.progress.acked.load(Ordering::SeqCst)
    }

    /// Waits until `n` more messages than now are acknowledged.
    async fn wait_for_acks(&self, n: usize, c: &Cluster) {
        let target = self.acked() + n;
        let deadline = Instant::now() + RETRY_FOR;
        while self.acked() < target {
            assert!(
                Instant::now() < deadline,
                "the flood stalled at {} acknowledged messages\n{}",
                self.acked(),
                c.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the senders, waits for the receivers, and checks that every acknowledged message
    /// reached every receiver exactly once at gap-free positions. Returns the receivers' reports.
    async fn finish(self, c: &Cluster, label: &str, since: Instant) -> Vec<Received> {
        self.progress.stop.store(true, Ordering::SeqCst);
        let mut acked = BTreeSet::new();
        let mut retries: BTreeMap<String, usize> = BTreeMap::new();
        let mut slowest = Duration::ZERO;
        for sender in self.senders {
            let sent = sender.await.expect("a sender failed");
            slowest = slowest.max(sent.slowest);
            acked.extend(sent.acked);
            for (k, n) in sent.retries {
                *retries.entry(k).or_default() += n;
            }
        }
        self.progress.expected.store(acked.len(), Ordering::SeqCst);
        let mut received = Vec::new();
        for receiver in self.receivers {
            received.push(receiver.await.expect("a receiver failed"));
        }
        let done = since.elapsed();
        let mut lost = 0;
        let mut duplicates = 0;
        let mut gaps = 0;
        let mut repeats = 0;
        let mut resyncs = 0;
        let mut unknown = 0;
        for r in &received {
            lost += acked.iter().filter(|t| !r.texts.contains_key(*t)).count();
            duplicates += r.texts.values().map(|n| n - 1).sum::<usize>();
            unknown += r
                .texts
                .keys()
                .filter(|t| *t != "warmup" && !acked.contains(*t))
                .count();
            gaps += r.gaps;
            repeats += r.seq_repeats;
            resyncs += r.resyncs;
        }
        let reconnects: usize = received.iter().map(|r| r.reconnects.len()).sum();
        let recovered = received
            .iter()
            .filter_map(|r| r.reconnects.last().map(|(at, _)| at.duration_since(since)))
            .max();
        eprintln!(
            "{label}: {} acked by {USERS} senders (retries: {retries:?}, slowest send from first \
             attempt to ack {slowest:?}), {USERS} receivers through nginx on {:?}: lost {lost}, \
             duplicates {duplicates}, gaps {gaps}, repeated positions {repeats}, resyncs {resyncs}, \
             never-acked messages {unknown}; {reconnects} reconnects, the last one {recovered:?} \
             after the first failure; flood over and everything delivered {done:?} after it",
            acked.len(),
            self.upstreams,
        );
        for (i, r) in received.iter().enumerate() {
            let via: Vec<&str> = r.reconnects.iter().map(|(_, u)| u.as_str()).collect();
            eprintln!(
                "  receiver {i}: started on {}, connection ends {:?}, reconnected via {via:?}",
                self.upstreams[i], r.ends
            );
        }
        let logs = c.logs();
        assert_eq!(lost, 0, "acknowledged messages never delivered\n{logs}");
        assert_eq!(duplicates, 0, "messages delivered twice\n{logs}");
        assert_eq!(gaps, 0, "positions skipped\n{logs}");
        assert_eq!(repeats, 0, "positions delivered twice\n{logs}");
        assert_eq!(resyncs, 0, "a resume was refused\n{logs}");
        assert_eq!(
            unknown, 0,
            "messages delivered that no sender had acked\n{logs}"
        );
        received
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_through_nginx_reach_each_other_across_instances() {
    if !once_per_suite("clients_through_nginx_reach_each_other_across_instances") {
        return;
    }
    let c = Cluster::start().await;
    const PEOPLE: usize = 6;
    let mut users = Vec::new();
    for u in 0..PEOPLE {
        users.push(c.front.register(&format!("person{u}")).await);
    }
    let others: Vec<i64> = users[1..].iter().map(|u| u.user.id.0).collect();
    let g = c
        .front
        .group(&users[0].access_token, "Everyone", &others)
        .await;
    let mut sockets = Vec::new();
    let mut on = BTreeSet::new();
    for user in &users {
        let (ws, upstream, _) = connect(&c.ws_url(), &user.access_token, None)
            .await
            .unwrap();
        let i = c
            .index_of(&upstream)
            .unwrap_or_else(|| panic!("nginx named no instance: {upstream}"));
        on.insert(i);
        sockets.push(ws);
    }
    eprintln!("{PEOPLE} WebSockets through nginx landed on instances {on:?}");
    assert!(
        on.len() > 1,
        "nginx sent every WebSocket to one instance: {on:?}"
    );
    for (u, user) in users.iter().enumerate() {
        let text = format!("hello from {u}");
        c.front
            .say(&user.access_token, g, &format!("c{u}"), &text)
            .await;
    }
    for (u, ws) in sockets.iter_mut().enumerate() {
        let mut texts = BTreeSet::new();
        while texts.len() < PEOPLE {
            if let EventBody::MessageCreated { message } = next_event(ws).await.body {
                texts.insert(message.text);
            }
        }
        let want: BTreeSet<String> = (0..PEOPLE).map(|i| format!("hello from {i}")).collect();
        assert_eq!(texts, want, "person {u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_during_a_flood_loses_nothing() {
    if !once_per_suite("an_instance_killed_during_a_flood_loses_nothing") {
        return;
    }
    let mut c = Cluster::start().await;
    let flood = Flood::start(&c).await;
    flood.wait_for_acks(100, &c).await;
    // The instance holding the most receivers dies.
    let victim = (0..INSTANCES)
        .max_by_key(|i| {
            flood
                .upstreams
                .iter()
                .filter(|u| c.index_of(u) == Some(*i))
                .count()
        })
        .unwrap();
    let at = flood.acked();
    let killed = Instant::now();
    c.kill(victim);
    eprintln!(
        "SIGKILL to instance {victim} ({}) after {at} acknowledged messages",
        c.instances[victim].addr
    );
    flood.wait_for_acks(150, &c).await;
    let received = flood
        .finish(&c, "an instance killed during a flood", killed)
        .await;
    let dropped: usize = received.iter().map(|r| r.ends.len()).sum();
    assert!(
        dropped > 0,
        "no receiver was on the killed instance: the test did not test failover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_traffic_loses_nothing() {
    if !once_per_suite("a_rolling_restart_under_traffic_loses_nothing") {
        return;
    }
    let mut c = Cluster::start().await;
    let flood = Flood::start(&c).await;
    flood.wait_for_acks(50, &c).await;
    let first = Instant::now();
    for i in 0..INSTANCES {
        let at = flood.acked();
        let (status, drained) = c.restart(i).await;
        let back = c.wait_until_nginx_uses(i).await;
        eprintln!(
            "instance {i} ({}) restarted after {at} acknowledged messages: {status}, drained in \
             {drained:?}, back in nginx's rotation {back:?} after it listened again",
            c.instances[i].addr
        );
        flood.wait_for_acks(50, &c).await;
    }
    let received = flood.finish(&c, "a rolling restart", first).await;
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &received {
        for why in &r.ends {
            *codes.entry(why.as_str()).or_default() += 1;
        }
    }
    eprintln!("connection ends the receivers saw during the rolling restart: {codes:?}");
    assert!(
        !codes.is_empty(),
        "no receiver's connection ended: the restarts did not reach the clients"
    );
}

/// `systemd-analyze verify` on the deployment's template unit, instantiated for port 7878, with
/// `ExecStart` pointing at the built binary (verify checks that it exists). Skips, saying why,
/// where systemd-analyze is missing (CI containers without systemd).
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: no systemd-analyze on this machine (install the `systemd` package)");
        return;
    };
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd/jeco-server@.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains("ExecStart=/usr/bin/jeco-server serve"),
        "{text}"
    );
    let text = text.replace(
        "ExecStart=/usr/bin/jeco-server",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_jeco-server")),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jeco-server@.service"), text).unwrap();
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(dir.path().join("jeco-server@7878.service"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys and bad values are only warnings (exit 0): any line about our file fails.
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("jeco-server@"))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}
