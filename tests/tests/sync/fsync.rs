//! An acknowledged write is on disk: the real `jeco-server` syncs its WAL before it answers.
//!
//! A process crash (SIGKILL, see `crash`) loses nothing the OS already has in its page cache, so it
//! cannot tell a synced commit from an unsynced one; power loss or an OS crash can. What can be
//! observed without pulling the plug is the system call: this scenario traces the server's
//! `fsync`/`fdatasync` calls with strace (`-y` names the file of each descriptor) while a client
//! makes writes one at a time, each waiting for its answer, and counts the syncs of the database's
//! `-wal` file. Each answered write must have caused at least one: with SQLite's `synchronous =
//! NORMAL` in WAL mode there are none until a checkpoint (every ~40 MB of log).
//!
//! strace comes with `./dev setup`. Without it (or where ptrace is not allowed) the scenario says
//! why it skipped; under `CI=true` it fails instead.

use jeco_e2e::process::ServerProcess;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Sends, then edits, each waiting for its answer.
const SENDS: usize = 60;
const EDITS: usize = 20;

/// Whether every thread of `pid` is traced (strace has attached).
fn traced(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("status")).is_ok_and(|status| {
            status
                .lines()
                .any(|l| l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0"))
        })
    })
}

fn skip_or_fail(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why} (CI=true: this scenario must run)"
    );
    eprintln!("SKIPPED acknowledged writes are synced: {why}");
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut req = http.request(method, &url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("the server answers");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().await.expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_syncs_the_wal_first() {
    if Command::new("strace").arg("-V").output().is_err() {
        return skip_or_fail("strace is not installed (`./dev setup` installs it)");
    }
    let dirs = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        &dirs.path().join("server"),
        &[
            "--message-rate-per-sec=100000",
            "--message-rate-burst=100000",
        ],
    );
    let base = server.url();
    let http = reqwest::Client::new();
    let me = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/register"),
        None,
        json!({"username": "syncs", "password": "a long enough password"}),
    )
    .await;
    let token = me["access_token"].as_str().unwrap().to_owned();
    let room = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/conversations"),
        Some(&token),
        json!({"name": "synced", "member_ids": []}),
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let pid = server.pid().expect("running");
    let log = dirs.path().join("strace.log");
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&log)
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !traced(pid) {
        if let Ok(Some(_)) = strace.try_wait() {
            let out = strace.wait_with_output().unwrap();
            return skip_or_fail(&format!(
                "strace cannot attach: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        assert!(Instant::now() < deadline, "strace did not attach in 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }

    let messages = format!("{base}/api/v1/conversations/{room}/messages");
    let mut ids = Vec::new();
    for i in 0..SENDS {
        let m = call(
            &http,
            reqwest::Method::POST,
            messages.clone(),
            Some(&token),
            json!({"client_id": format!("s{i}"), "text": format!("synced {i}")}),
        )
        .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    for (i, id) in ids.iter().take(EDITS).enumerate() {
        call(
            &http,
            reqwest::Method::PATCH,
            format!("{messages}/{id}"),
            Some(&token),
            json!({"text": format!("edited {i}")}),
        )
        .await;
    }

    // SIGINT detaches strace, which writes out what it saw.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(strace.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    strace.wait().unwrap();
    let trace = std::fs::read_to_string(&log).unwrap();
    let wal_syncs = trace
        .lines()
        .filter(|l| (l.contains("fsync(") || l.contains("fdatasync(")) && l.contains("-wal>"))
        .count();
    println!(
        "{wal_syncs} syncs of the WAL for {} acknowledged writes",
        SENDS + EDITS
    );
    assert!(
        wal_syncs >= SENDS + EDITS,
        "{SENDS} sends and {EDITS} edits were acknowledged one at a time, but the WAL was synced \
         {wal_syncs} times:\n{trace}"
    );
}
