//! The `jeco-server` binary itself: serve + SIGTERM, healthcheck, print-config, admin create-user, --help.

use crate::support::*;
use jeco_shared::auth::TokenResponse;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_jeco-server");

/// A command without inherited `JECO_*` variables.
fn jeco() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("JECO_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("jeco-server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_prints_its_address_and_exits_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("fresh");
    let mut child = jeco()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(PATIENCE, line)
        .await
        .expect("no address printed")
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let resp = reqwest::get(format!("{base}/api/v1/health")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(data.join("jeco.db").exists());
    assert!(data.join("secret.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "data dir is owner-only");
    }

    // The container health check: healthy while it serves (asked on loopback when the bind address
    // is unspecified), unhealthy once it stopped.
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let healthcheck = move |bind: String| {
        tokio::task::spawn_blocking(move || {
            jeco()
                .args(["healthcheck", "--bind", &bind])
                .output()
                .unwrap()
        })
    };
    let out = healthcheck(addr.clone()).await.unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = healthcheck(format!("0.0.0.0:{port}")).await.unwrap();
    assert!(out.status.success(), "{out:?}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || wait_with_timeout(&mut child, PATIENCE))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let out = healthcheck(addr).await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("unhealthy: "),
        "{out:?}"
    );
}

#[test]
fn print_config_layers_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jeco.toml");
    std::fs::write(
        &file,
        "max_body_bytes = 12345\nlogin_lockout_attempts = 7\n",
    )
    .unwrap();
    let out = jeco()
        .args(["print-config", "--login-lockout-attempts", "9", "--config"])
        .arg(&file)
        .env("JECO_BIND", "127.0.0.1:9999")
        .env("JECO_ADMIN_USERNAME", "root")
        .env("JECO_ADMIN_PASSWORD", "hunter2-top-secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("admin_password = \"[redacted]\""), "{text}");
    assert!(
        text.contains("bind = \"127.0.0.1:9999\""),
        "env applies: {text}"
    );
    assert!(
        text.contains("max_body_bytes = 12345"),
        "file applies: {text}"
    );
    assert!(
        text.contains("login_lockout_attempts = 9"),
        "flag beats file: {text}"
    );
    // The output is valid TOML for the same config.
    let parsed: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(parsed["refresh_token_ttl_days"].as_integer(), Some(30));

    // The connection limits, by flag, variable and file like every other setting.
    std::fs::write(&file, "http_body_timeout_ms = 1234\n").unwrap();
    let out = jeco()
        .args(["print-config", "--max-connections", "77", "--config"])
        .arg(&file)
        .env("JECO_MAX_CONNECTIONS_PER_IP", "7")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "max_connections = 77",
        "max_connections_per_ip = 7",
        "http_body_timeout_ms = 1234",
        "http_header_timeout_ms = 10000",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    let bad = jeco()
        .args(["print-config", "--ws-outbound-queue", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn help_documents_every_knob_with_its_variable() {
    let out = jeco().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "JECO_CONFIG",
        "JECO_BIND",
        "JECO_DATA_DIR",
        "JECO_ACCESS_TOKEN_TTL_MINUTES",
        "JECO_REFRESH_TOKEN_TTL_DAYS",
        "JECO_MAX_BODY_BYTES",
        "JECO_HTTP_HEADER_TIMEOUT_MS",
        "JECO_HTTP_BODY_TIMEOUT_MS",
        "JECO_MAX_CONNECTIONS",
        "JECO_MAX_CONNECTIONS_PER_IP",
        "JECO_CORS_ALLOWED_ORIGINS",
        "JECO_LOGIN_LOCKOUT_ATTEMPTS",
        "JECO_LOGIN_LOCKOUT_WINDOW_SECS",
        "JECO_AUTH_RATE_PER_MINUTE",
        "JECO_AUTH_RATE_BURST",
        "JECO_WS_HEARTBEAT_INTERVAL_MS",
        "JECO_WS_IDLE_TIMEOUT_MS",
        "JECO_WS_HANDSHAKE_TIMEOUT_MS",
        "JECO_WS_MAX_FRAME_BYTES",
        "JECO_WS_OUTBOUND_QUEUE",
        "JECO_ADMIN_USERNAME",
        "JECO_ADMIN_PASSWORD",
        "JECO_REFRESH_REUSE_GRACE_SECS",
        "JECO_LOGIN_LOCKOUT_MAX_DELAY_SECS",
        "JECO_LOGIN_BACKSTOP_ATTEMPTS",
        "JECO_MEDIA_QUOTA_BYTES",
        "JECO_MEDIA_UPLOAD_RATE_PER_MINUTE",
        "JECO_MEDIA_UPLOAD_RATE_BURST",
        "JECO_TRUSTED_PROXIES",
    ] {
        assert!(help.contains(var), "{var} missing from serve --help");
    }
    let top = String::from_utf8(jeco().arg("--help").output().unwrap().stdout).unwrap();
    for word in ["serve", "print-config", "admin", "JECO_BIND"] {
        assert!(top.contains(word), "{word} missing from --help");
    }
}

fn create_user(data_dir: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    let mut child = jeco()
        .args(["admin", "create-user"])
        .args(args)
        .args(["--password-stdin", "--data-dir"])
        .arg(data_dir)
        .envs(database_env(data_dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admin_create_user_then_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_user(
        dir.path(),
        &["Boss", "--admin", "--display-name", "The Boss"],
        "admin password 1",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin boss"));

    let dup = create_user(dir.path(), &["boss"], "another password");
    assert!(!dup.status.success());
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("taken"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );
    let bad = create_user(dir.path(), &["x"], "short");
    assert!(!bad.status.success());
    assert!(!String::from_utf8_lossy(&bad.stderr).contains("short\n"));

    let plain = create_user(dir.path(), &["worker"], "worker password");
    assert!(plain.status.success());

    let config = test_config(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = jeco_server::RunningServer::start(config, listener)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let login = |u: &'static str, p: &'static str| {
        http.post(format!("http://{}/api/v1/auth/login", server.local_addr()))
            .json(&serde_json::json!({"username": u, "password": p}))
            .send()
    };
    let boss: TokenResponse = login("boss", "admin password 1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(boss.user.is_admin);
    assert_eq!(boss.user.display_name.as_deref(), Some("The Boss"));
    let worker: TokenResponse = login("worker", "worker password")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!worker.user.is_admin);
    server.shutdown().await;
}

#[tokio::test]
async fn admin_usage_lists_what_each_user_stores() {
    let s = TestServer::start_with(|c| c.media_quota_bytes = 50_000).await;
    let alice = s.register("alice").await;
    let u = s
        .ok(
            reqwest::Method::POST,
            "/api/v1/uploads",
            Some(serde_json::json!({"name": "x.bin", "size": 1234})),
            &alice.access_token,
            201,
        )
        .await;
    assert!(u["id"].is_string());
    s.register("idle").await;
    let out = jeco()
        .args([
            "admin",
            "usage",
            "--media-quota-bytes",
            "50000",
            "--data-dir",
        ])
        .arg(s.data_dir())
        .envs(database_env(s.data_dir()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("quota per user: 50000 bytes"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("alice"))
        .expect(&stdout);
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols, ["alice", "1234", "0", "1"]);
    assert!(!stdout.contains("idle"), "{stdout}");
    let json = jeco()
        .args(["admin", "usage", "--json", "--data-dir"])
        .arg(s.data_dir())
        .envs(database_env(s.data_dir()))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["users"][0]["used_bytes"], 1234);
}

/// `jeco-server admin <args> --data-dir <dir>`, with `stdin` as standard input.
fn admin(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = jeco()
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(database_env(data_dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    write!(child.stdin.take().unwrap(), "{stdin}").unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_of(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn admin_account_commands_work_on_the_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    stdout_of(&create_user(data, &["root", "--admin"], "root password"));
    stdout_of(&create_user(
        data,
        &["ada", "--display-name", "Ada L"],
        "ada password",
    ));

    let table = stdout_of(&admin(data, &["list-users"], ""));
    let row = |name: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in {table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("root")[3..5], ["yes", "no"]);
    assert_eq!(row("ada")[2..6], ["Ada", "L", "no", "no"]);
    let json: serde_json::Value = serde_json::from_str(&stdout_of(&admin(
        data,
        &["list-users", "--json", "--query", "ad"],
        "",
    )))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["user"]["username"], "ada");

    // The last admin stays.
    let refused = admin(data, &["revoke-admin", "root"], "");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("last active server admin"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!admin(data, &["deactivate", "root"], "").status.success());
    let unknown = admin(data, &["deactivate", "nobody"], "");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account is named"));

    assert!(stdout_of(&admin(data, &["grant-admin", "ada"], "")).contains("ada is a server admin"));
    stdout_of(&admin(data, &["revoke-admin", "root"], ""));
    stdout_of(&admin(data, &["deactivate", "root"], ""));
    stdout_of(&admin(
        data,
        &["set-password", "ada", "--password-stdin"],
        "a brand new password\n",
    ));
    let refused = admin(
        data,
        &["set-password", "ada", "--password-stdin"],
        "short\n",
    );
    assert!(!refused.status.success());

    // What the CLI did, seen by a server on the same directory.
    let mut config = test_config(data);
    config.data_dir = data.to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = jeco_server::RunningServer::start(config, listener)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::external(format!("http://{}", server.local_addr()), dir);
    expect_error(
        s.login("root", "root password").await,
        403,
        "account_deactivated",
    )
    .await;
    expect_error(
        s.login("ada", "ada password").await,
        401,
        "invalid_credentials",
    )
    .await;
    let ada: TokenResponse = s
        .login("ada", "a brand new password")
        .await
        .json()
        .await
        .unwrap();
    assert!(ada.user.is_admin);
    server.shutdown().await;

    // Two-factor from the CLI: required of everyone (ada's session ends), then reset for ada.
    let on = stdout_of(&admin(data, &["require-two-factor", "on"], ""));
    assert!(on.contains("1 session(s) without it signed out"), "{on}");
    assert!(
        !admin(data, &["require-two-factor", "maybe"], "")
            .status
            .success()
    );
    let reset = stdout_of(&admin(data, &["reset-two-factor", "ada"], ""));
    assert!(reset.contains("two-factor of ada is off"), "{reset}");
    let mut config = test_config(data);
    config.data_dir = data.to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = jeco_server::RunningServer::start(config, listener)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::external(format!("http://{}", server.local_addr()), dir);
    expect_error(
        s.post(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": ada.refresh_token}),
            None,
        )
        .await,
        401,
        "token_revoked",
    )
    .await;
    let step: serde_json::Value = s
        .login("ada", "a brand new password")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(step["status"], "two_factor_setup_required", "{step}");
    server.shutdown().await;
    stdout_of(&admin(data, &["require-two-factor", "off"], ""));
    stdout_of(&admin(data, &["reactivate", "root"], ""));
    let table = stdout_of(&admin(data, &["list-users"], ""));
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("root")
                && l.split_whitespace().nth(3) == Some("no")
                && l.split_whitespace().nth(4) == Some("no")),
        "{table}"
    );
}

#[tokio::test]
async fn seed_demo_fills_a_server_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let out = stdout_of(&admin(data, &["seed-demo"], ""));
    // Five people, each with a generated password printed once.
    let passwords: Vec<(String, String)> = jeco_server::demo::DEMO_USERS
        .iter()
        .map(|(username, _)| {
            let line = out
                .lines()
                .find(|l| l.split_whitespace().next() == Some(username))
                .unwrap_or_else(|| panic!("{username} in {out}"));
            let password = line.split_whitespace().last().unwrap().to_owned();
            assert_eq!(password.len(), 16, "{line}");
            ((*username).to_owned(), password)
        })
        .collect();

    let again = admin(data, &["seed-demo"], "");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already here"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let mut config = test_config(data);
    config.data_dir = data.to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = jeco_server::RunningServer::start(config, listener)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::external(format!("http://{}", server.local_addr()), dir);
    let (username, password) = &passwords[0];
    let ada: TokenResponse = s.login(username, password).await.json().await.unwrap();
    let a = ada.access_token.as_str();
    let teams = s
        .ok(reqwest::Method::GET, "/api/v1/teams", None, a, 200)
        .await;
    assert_eq!(teams["items"][0]["name"], jeco_server::demo::DEMO_TEAM);
    assert_eq!(teams["items"][0]["member_count"], 5);
    let list = s
        .ok(reqwest::Method::GET, "/api/v1/conversations", None, a, 200)
        .await;
    let conversations = list["items"].as_array().unwrap();
    let kinds = |k: &str| conversations.iter().filter(|c| c["kind"] == k).count();
    assert_eq!(
        (kinds("channel"), kinds("group"), kinds("direct")),
        (4, 1, 1),
        "{list}"
    );
    let mut messages = 0;
    let mut replies = 0;
    let mut reactions = 0;
    for c in conversations {
        if c["kind"] == "channel" {
            assert!(
                c["channel"]["topic"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "{c}"
            );
        }
        let page = s
            .ok(
                reqwest::Method::GET,
                &format!("/api/v1/conversations/{}/messages?limit=200", c["id"]),
                None,
                a,
                200,
            )
            .await;
        for m in page["items"].as_array().unwrap() {
            messages += 1;
            replies += usize::from(!m["reply_to"].is_null());
            reactions += m["reactions"].as_array().map_or(0, Vec::len);
        }
    }
    // Ada is not in the other direct conversation, and one reply stays in its thread.
    assert!(messages >= 25, "{messages}");
    assert!(replies >= 5, "{replies}");
    assert!(reactions >= 4, "{reactions}");
    let releases = conversations
        .iter()
        .find(|c| c["name"] == "releases")
        .unwrap();
    let pins = s
        .ok(
            reqwest::Method::GET,
            &format!("/api/v1/conversations/{}/pins", releases["id"]),
            None,
            a,
            200,
        )
        .await;
    assert!(
        pins[0]["text"].as_str().unwrap().contains("checklist"),
        "{pins}"
    );
    server.shutdown().await;

    // One shared password from standard input.
    let other = tempfile::tempdir().unwrap();
    let out = stdout_of(&admin(
        other.path(),
        &["seed-demo", "--password-stdin"],
        "demo password\n",
    ));
    assert!(
        out.lines()
            .filter(|l| l.ends_with(" demo password"))
            .count()
            == 5,
        "{out}"
    );
}
