//! Starting real servers for tests: a temp data dir, `127.0.0.1:0`, real HTTP and WebSocket clients.

use futures_util::{SinkExt, StreamExt};
use jeco_server::Config;
use jeco_shared::ErrorBody;
use jeco_shared::auth::TokenResponse;
use jeco_shared::ws::ServerFrame;
pub use jeco_testkit::server::{Backend, TestServer, database_for, limits_config, test_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub const PASSWORD: &str = "correct horse battery";

/// The real `jeco-server` binary, without the `JECO_*` and `RUST_LOG` variables of the test's own
/// environment: a test sets what it needs on the returned command.
pub fn server_binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jeco-server"));
    for (key, _) in std::env::vars() {
        if key.starts_with("JECO_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `jeco-server serve` from `cmd` (a [`server_binary`] with its environment set) on
/// `127.0.0.1:0` with its data in `data` and `extra` flags, stderr into `log`; waits for its
/// "listening on" line. Stop it with [`stop_binary`].
pub async fn spawn_binary(
    mut cmd: std::process::Command,
    extra: &[&str],
    data: &std::path::Path,
    log: &std::path::Path,
) -> (std::process::Child, TestServer) {
    use std::io::{BufRead, BufReader};
    cmd.envs(database_env(data));
    let mut child = cmd
        .arg("serve")
        .args(extra)
        .args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(PATIENCE, line).await.unwrap().unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    (
        child,
        TestServer::external(base, tempfile::tempdir().unwrap()),
    )
}

/// Stops a [`spawn_binary`] server with SIGTERM and waits for it to exit.
pub async fn stop_binary(mut child: std::process::Child) -> std::process::ExitStatus {
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

/// The backend this run of the suite uses (`jeco_testkit::server::Backend::from_env`):
/// `JECO_TEST_BACKEND=postgres` runs every test on a fresh database of the test process's own
/// PostgreSQL cluster; unset or `sqlite`, on a SQLite file in the test's data directory.
/// `./dev test` runs the suite once per backend.
pub fn on_postgres() -> bool {
    Backend::from_env() == Backend::Postgres
}

/// `JECO_DATABASE_URL` for a `jeco-server` command on data directory `dir` ([`database_for`]).
pub fn database_env(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    database_for(dir)
        .map(|url| ("JECO_DATABASE_URL", url))
        .into_iter()
        .collect()
}

/// The API calls the tests make, on the shared [`TestServer`]: real HTTP and WebSocket clients.
#[allow(async_fn_in_trait)] // implemented and called only in this test binary
pub trait Api {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> reqwest::Response;
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> reqwest::Response;
    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        status: u16,
    ) -> Value;
    async fn group(&self, token: &str, name: &str, members: &[i64]) -> i64;
    async fn say(&self, token: &str, conversation: i64, client_id: &str, text: &str) -> Value;
    async fn ws_resume(&self, token: &str, resume: Option<Value>) -> Ws;
    async fn ws_live(&self, token: &str) -> Ws;
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response;
    async fn register(&self, username: &str) -> TokenResponse;
    async fn login(&self, username: &str, password: &str) -> reqwest::Response;
    async fn ws(&self, protocols: &[&str]) -> Ws;
    async fn ws_ready(&self, token: &str) -> (Ws, ServerFrame);
}

impl Api for TestServer {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http().post(self.url(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// Any method with an optional JSON body and a bearer token.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> reqwest::Response {
        let mut req = self
            .http()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// A successful call's JSON body (asserting the status).
    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        status: u16,
    ) -> Value {
        let resp = self.call(method.clone(), path, body, token).await;
        let got = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Creates a group owned by `token`'s user with the given members; returns its id.
    async fn group(&self, token: &str, name: &str, members: &[i64]) -> i64 {
        let c = self
            .ok(
                reqwest::Method::POST,
                "/api/v1/conversations",
                Some(json!({"name": name, "member_ids": members})),
                token,
                201,
            )
            .await;
        c["id"].as_i64().unwrap()
    }

    /// Sends a message over REST; returns the message.
    async fn say(&self, token: &str, conversation: i64, client_id: &str, text: &str) -> Value {
        self.ok(
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{conversation}/messages"),
            Some(json!({"client_id": client_id, "text": text})),
            token,
            201,
        )
        .await
    }

    /// hello (with an optional resume) → ready; the frames after ready are the caller's to read.
    async fn ws_resume(&self, token: &str, resume: Option<Value>) -> Ws {
        let mut ws = self.ws(&["jeco.v1", &format!("jeco.auth.{token}")]).await;
        let mut hello = json!({"type": "hello", "protocol": jeco_shared::PROTOCOL_VERSION});
        if let Some(resume) = resume {
            hello["resume"] = resume;
        }
        send_json(&mut ws, hello).await;
        let ready = next_frame(&mut ws).await;
        assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
        ws
    }

    /// A live connection without resume (it starts from the present).
    async fn ws_live(&self, token: &str) -> Ws {
        self.ws_resume(token, None).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http().get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    async fn register(&self, username: &str) -> TokenResponse {
        let resp = self
            .post(
                "/api/v1/auth/register",
                json!({"username": username, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "register {username}");
        resp.json().await.unwrap()
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/login",
            json!({"username": username, "password": password}),
            None,
        )
        .await
    }

    /// Opens the gateway with the given `Sec-WebSocket-Protocol` entries.
    async fn ws(&self, protocols: &[&str]) -> Ws {
        let mut request = self.ws_url().into_client_request().unwrap();
        if !protocols.is_empty() {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                protocols.join(", ").parse().unwrap(),
            );
        }
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        if !protocols.is_empty() {
            assert_eq!(response.headers()["sec-websocket-protocol"], "jeco.v1");
        }
        ws
    }

    /// Opens the gateway with the token in the subprotocol header and completes hello → ready.
    async fn ws_ready(&self, token: &str) -> (Ws, ServerFrame) {
        let mut ws = self.ws(&["jeco.v1", &format!("jeco.auth.{token}")]).await;
        send_json(
            &mut ws,
            json!({"type": "hello", "protocol": jeco_shared::PROTOCOL_VERSION}),
        )
        .await;
        let ready = next_frame(&mut ws).await;
        assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
        (ws, ready)
    }
}

/// Instances of one cluster in this test process: servers sharing one PostgreSQL database (always,
/// whatever `JECO_TEST_BACKEND` says), one Redis and one data directory (so one signing secret and
/// one media store), each on its own port of 127.0.0.1.
pub struct TestCluster {
    pub redis: jeco_testkit::redis::RedisServer,
    pub instances: Vec<TestServer>,
    /// The shared data directory, removed when the cluster is dropped.
    _dir: TempDir,
}

impl TestCluster {
    pub async fn start(instances: usize) -> Self {
        Self::start_with(instances, |_| {}).await
    }

    pub async fn start_with(instances: usize, adjust: impl Fn(&mut Config)) -> Self {
        let redis = jeco_testkit::redis::RedisServer::start();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            database_url: Some(jeco_server::Secret::new(
                jeco_testkit::postgres::fresh_database(),
            )),
            redis_url: Some(jeco_server::Secret::new(redis.url())),
            ..limits_config(dir.path())
        };
        adjust(&mut config);
        let mut started = Vec::new();
        for _ in 0..instances {
            // Its own scratch space, not the data directory (that is shared).
            let scratch = tempfile::tempdir().unwrap();
            started.push(TestServer::start_on(config.clone(), scratch).await);
        }
        Self {
            redis,
            instances: started,
            _dir: dir,
        }
    }

    /// Instance `i` (0-based).
    pub fn at(&self, i: usize) -> &TestServer {
        &self.instances[i]
    }
}

/// Tests that start their own PostgreSQL and Redis run in the SQLite pass of the suite only: the
/// PostgreSQL pass would run them again unchanged. Says so when it skips.
pub fn once_per_suite(test: &str) -> bool {
    if on_postgres() {
        eprintln!(
            "{test}: skipped in the JECO_TEST_BACKEND=postgres pass (it always uses PostgreSQL and ran in the other pass)"
        );
        return false;
    }
    true
}

/// Asserts status and error code and returns the error body.
///
/// Every error answered to a request names that request (`error.request_id`, the same as the
/// `x-request-id` header); the returned body has it removed, so that two answers can be compared.
pub async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> ErrorBody {
    assert_eq!(resp.status().as_u16(), status, "status for expected {code}");
    let header_id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = resp.json().await.unwrap();
    assert!(header_id.is_some(), "no x-request-id: {body}");
    assert_eq!(
        body["error"]["request_id"].as_str(),
        header_id.as_deref(),
        "{body}"
    );
    let body = without_request_id(&mut body).clone();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    serde_json::from_value(body).unwrap()
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The next application frame, skipping WebSocket pings and pongs.
pub async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("timed out waiting for a frame")
            .expect("connection ended")
            .expect("websocket error");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next frame that satisfies `want`, skipping others (presence, typing, …).
pub async fn next_where(ws: &mut Ws, want: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
    loop {
        let frame = next_frame(ws).await;
        if want(&frame) {
            return frame;
        }
    }
}

/// The next conversation event, skipping ephemeral frames.
pub async fn next_event(ws: &mut Ws) -> jeco_shared::events::ConversationEvent {
    match next_where(ws, |f| matches!(f, ServerFrame::Event(_))).await {
        ServerFrame::Event(e) => e,
        _ => unreachable!(),
    }
}

/// Every application frame that arrives within `wait` (to show that nothing else came).
pub async fn frames_within(ws: &mut Ws, wait: Duration) -> Vec<ServerFrame> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return out,
            Ok(Some(Ok(Message::Text(text)))) => {
                out.push(serde_json::from_str(text.as_str()).unwrap())
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code, skipping other frames.
pub async fn expect_close(ws: &mut Ws) -> u16 {
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("timed out waiting for close");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) => panic!("close without a code"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("websocket error before close: {e}"),
            None => panic!("connection ended without a close frame"),
        }
    }
}

/// Signs an access token with the server's secret (for expired-token tests).
pub fn forge_token(data_dir: &std::path::Path, claims: &jeco_shared::auth::AccessClaims) -> String {
    use base64::Engine;
    let text = std::fs::read_to_string(data_dir.join("secret.key")).unwrap();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Creates a team owned by `token`'s user; returns its id and its `#general` channel.
pub async fn team(s: &TestServer, token: &str, name: &str) -> (i64, i64) {
    let t = s
        .ok(
            reqwest::Method::POST,
            "/api/v1/teams",
            Some(json!({"name": name})),
            token,
            201,
        )
        .await;
    (
        t["id"].as_i64().unwrap(),
        t["default_channel_id"].as_i64().unwrap(),
    )
}

/// Adds a user to a team with a role (`member` or `admin`).
pub async fn add_to_team(s: &TestServer, token: &str, team: i64, user: i64, role: &str) {
    s.ok(
        reqwest::Method::POST,
        &format!("/api/v1/teams/{team}/members"),
        Some(json!({"user_id": user, "role": role})),
        token,
        200,
    )
    .await;
}

/// Creates a channel in a team; returns its conversation id.
pub async fn channel(s: &TestServer, token: &str, team: i64, name: &str, private: bool) -> i64 {
    let c = s
        .ok(
            reqwest::Method::POST,
            &format!("/api/v1/teams/{team}/channels"),
            Some(json!({"name": name, "private": private})),
            token,
            201,
        )
        .await;
    c["id"].as_i64().unwrap()
}

/// The next user event, skipping everything else.
pub async fn next_user_event(ws: &mut Ws) -> jeco_shared::events::UserEvent {
    match next_where(ws, |f| matches!(f, ServerFrame::UserEvent(_))).await {
        ServerFrame::UserEvent(e) => e,
        _ => unreachable!(),
    }
}

/// A connection that is certainly following the user's conversations: it resumes from "now" for
/// the user's own log and waits for `caught_up`, which the gateway sends only after registering the
/// connection for live deliveries. (`ready` comes before that registration, so an event committed
/// right after `ready` can miss a plain [`TestServer::ws_live`] connection.)
pub async fn ws_caught_up(s: &TestServer, token: &str) -> Ws {
    let mut ws = s
        .ws_resume(
            token,
            Some(json!({"conversations": [], "user_seq": i64::MAX})),
        )
        .await;
    next_where(&mut ws, |f| matches!(f, ServerFrame::CaughtUp)).await;
    ws
}

/// The messages the dev mailer wrote into `data_dir/mail/` for `to`, oldest first.
pub fn mails_to(data_dir: &std::path::Path, to: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("mail")) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    let header = format!("To: {to}\r\n");
    paths
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|text| text.contains(&header))
        .collect()
}

/// Waits until the dev mailer has written the `n`th message for `to`, and returns it.
pub async fn nth_mail_to(data_dir: &std::path::Path, to: &str, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mails = mails_to(data_dir, to);
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail #{n} for {to}: {mails:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The 6-digit code in a verification mail.
pub fn code_in(mail: &str) -> String {
    let at = mail.find("code is ").expect("a code mail") + "code is ".len();
    mail[at..at + 6].to_owned()
}

/// The token in a password-reset mail.
pub fn token_in(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .expect("a reset mail")
        .trim()
        .to_owned()
}

/// Gives `token`'s account the verified address `email` (through the dev mailer's file).
pub async fn verified_email(s: &TestServer, token: &str, email: &str) {
    let before = mails_to(s.data_dir(), email).len();
    s.ok(
        reqwest::Method::PUT,
        "/api/v1/users/me/email",
        Some(json!({"email": email})),
        token,
        200,
    )
    .await;
    let mail = nth_mail_to(s.data_dir(), email, before + 1).await;
    let status = s
        .ok(
            reqwest::Method::POST,
            "/api/v1/users/me/email/verify",
            Some(json!({"code": code_in(&mail)})),
            token,
            200,
        )
        .await;
    assert_eq!(status["email"], email);
}

/// An error body without its `request_id` (which differs between any two requests).
pub fn without_request_id(body: &mut Value) -> &mut Value {
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("request_id");
    }
    body
}
