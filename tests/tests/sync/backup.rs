//! Backup and restore of a serving `jeco-server`: `jeco-server backup` runs while several senders
//! keep writing, `jeco-server restore` puts the archive into an empty directory, and a second
//! server on the restored data answers every conversation's history exactly as the first did up
//! to the positions the backup's manifest records — with the sessions of the first (the signing
//! secret came along) and the attachments sent before the backup, byte for byte.
//!
//! Also, with the real binary: a restore into a directory that holds anything is refused, and an
//! archive cut short is refused with a clear message and leaves nothing behind.

use crate::support::eventually;
use jeco_e2e::process::{ServerProcess, binary};
use jeco_shared::messages::{Message, MessagePage};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const USERS: usize = 4;
/// Sends each user keeps in flight.
const LANES: usize = 2;

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status}: {text}");
    serde_json::from_str(&text).expect("a JSON body")
}

/// Uploads `bytes` in one chunk; returns the attachment's id.
async fn upload(http: &reqwest::Client, base: &str, token: &str, name: &str, bytes: &[u8]) -> i64 {
    let u = post(
        http,
        &format!("{base}/api/v1/uploads"),
        Some(token),
        json!({"name": name, "size": bytes.len(), "kind": "file"}),
    )
    .await;
    let done: Value = http
        .patch(format!(
            "{base}/api/v1/uploads/{}",
            u["id"].as_str().unwrap()
        ))
        .bearer_auth(token)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    done["attachment"]["id"]
        .as_i64()
        .expect("the upload completed")
}

/// Every message of a conversation, oldest first, read in pages of 50.
async fn history(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m["seq"].as_i64().unwrap());
        let page: Value = http
            .get(format!(
                "{base}/api/v1/conversations/{id}/messages?after={after}&limit=50"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("history answers")
            .json()
            .await
            .expect("a page");
        // The wire type, to be sure this is a page and not an error body.
        let typed: MessagePage = serde_json::from_value(page.clone()).expect("a message page");
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        if !typed.has_more_after {
            return all;
        }
    }
}

async fn last_seq(http: &reqwest::Client, base: &str, token: &str, id: i64) -> i64 {
    let conv: Value = http
        .get(format!("{base}/api/v1/conversations/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    conv["last_seq"].as_i64().expect("last_seq")
}

async fn download(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Vec<u8> {
    let resp = http
        .get(format!("{base}/api/v1/attachments/{id}/content"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "attachment {id} on {base}");
    resp.bytes().await.unwrap().to_vec()
}

/// Runs `jeco-server` with `args` to completion (on a blocking thread: the senders keep going).
async fn jeco_server(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(binary("jeco-server"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("jeco-server runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<String> {
    list.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect()
}

/// The manifest, read from the archive's first entry.
fn manifest(archive: &Path) -> Value {
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut entries = tar.entries().unwrap();
    let first = entries.next().unwrap().unwrap();
    assert_eq!(first.path().unwrap().to_str(), Some("manifest.json"));
    serde_json::from_reader(first).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_conversation_up_to_its_positions() {
    let dirs = tempfile::tempdir().unwrap();
    let original_dir = dirs.path().join("original");
    let limits = [
        "--auth-rate-per-minute=10000",
        "--auth-rate-burst=10000",
        "--message-rate-per-sec=100000",
        "--message-rate-burst=100000",
    ];
    let original = ServerProcess::start(&original_dir, &limits);
    let base = original.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for i in 0..USERS {
        let t = post(
            &http,
            &format!("{base}/api/v1/auth/register"),
            None,
            json!({"username": format!("backup{i}"), "password": "a long enough password"}),
        )
        .await;
        tokens.push(t["access_token"].as_str().unwrap().to_owned());
        ids.push(t["user"]["id"].as_i64().unwrap());
    }
    // Three rooms with different members, so each conversation has a history of its own.
    let mut rooms = Vec::new();
    for (name, members) in [
        ("everyone", ids[1..].to_vec()),
        ("pair", vec![ids[1]]),
        ("trio", vec![ids[2], ids[3]]),
    ] {
        let c = post(
            &http,
            &format!("{base}/api/v1/conversations"),
            Some(&tokens[0]),
            json!({"name": name, "member_ids": members}),
        )
        .await;
        rooms.push(c["id"].as_i64().unwrap());
    }
    // Who may write where: the creator everywhere, the others where they are members.
    let writers: Vec<(usize, i64)> = vec![
        (0, rooms[0]),
        (1, rooms[0]),
        (2, rooms[0]),
        (0, rooms[1]),
        (1, rooms[1]),
        (2, rooms[2]),
        (3, rooms[2]),
    ];

    // Attachments sent before the backup: a larger one and a small one.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let small = b"minutes of the meeting\n".repeat(20);
    let mut attachments = Vec::new();
    for (room, name, bytes) in [(rooms[0], "big.bin", &big), (rooms[2], "notes.txt", &small)] {
        let id = upload(&http, &base, &tokens[0], name, bytes).await;
        post(
            &http,
            &format!("{base}/api/v1/conversations/{room}/messages"),
            Some(&tokens[0]),
            json!({"client_id": format!("file-{name}"), "text": name, "attachment_ids": [id]}),
        )
        .await;
        attachments.push((id, bytes.clone()));
    }

    // The load: every writer's lanes send one message after another until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<std::sync::Mutex<HashMap<i64, i64>>> = Arc::default();
    // Acknowledged sends so far, all lanes: what the test waits on to know the load is running.
    let progress = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut lanes = Vec::new();
    for (w, &(user, room)) in writers.iter().enumerate() {
        for lane in 0..LANES {
            let (http, base, stop, acked, progress) = (
                http.clone(),
                base.clone(),
                stop.clone(),
                acked.clone(),
                progress.clone(),
            );
            let token = tokens[user].clone();
            lanes.push(tokio::spawn(async move {
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let m: Message = serde_json::from_value(
                        post(
                            &http,
                            &format!("{base}/api/v1/conversations/{room}/messages"),
                            Some(&token),
                            json!({"client_id": format!("w{w}-l{lane}-{sent}"), "text": format!("writer {w} lane {lane} #{sent}")}),
                        )
                        .await,
                    )
                    .unwrap();
                    let mut acked = acked.lock().unwrap();
                    let head = acked.entry(room).or_insert(0);
                    *head = (*head).max(m.seq);
                    progress.fetch_add(1, Ordering::Relaxed);
                    sent += 1;
                }
                sent
            }));
        }
    }
    // Every writer's lanes under way before the backup starts.
    let lanes_running = (writers.len() * LANES) as u64;
    eventually(|| progress.load(Ordering::Relaxed) >= 2 * lanes_running).await;

    // The backup, in the middle of the load. What was acknowledged before it started must be in it.
    let acked_before: HashMap<i64, i64> = acked.lock().unwrap().clone();
    let archive = dirs.path().join("backups").join("jeco.tar");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    let out = jeco_server(args(&[
        &"backup",
        &"--data-dir",
        &original_dir,
        &"--to",
        &archive,
    ]))
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "backup failed: {stderr}");
    assert!(
        stderr.contains("snapshot taken"),
        "progress on stderr: {stderr}"
    );
    assert!(stderr.contains("backup written to"), "{stderr}");
    // Writers go on a little after it, then stop.
    let after_backup = progress.load(Ordering::Relaxed);
    eventually(|| progress.load(Ordering::Relaxed) >= after_backup + lanes_running).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for lane in lanes {
        sent += lane.await.unwrap();
    }
    println!("{sent} messages sent during the scenario; backup: {stderr}");
    // Only the archive is left in its directory: no temporary files.
    assert_eq!(
        std::fs::read_dir(archive.parent().unwrap())
            .unwrap()
            .count(),
        1
    );

    let manifest = manifest(&archive);
    assert_eq!(manifest["format"], "jeco-backup");
    assert_eq!(manifest["media"]["included"], true);
    let positions: HashMap<i64, i64> = manifest["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["last_seq"].as_i64().unwrap()))
        .collect();
    for &room in &rooms {
        let pos = positions[&room];
        assert!(
            pos >= acked_before.get(&room).copied().unwrap_or(0),
            "room {room}: every send acknowledged before the backup began is in it"
        );
    }

    // Restore into a directory that does not exist yet, and serve it.
    let restored_dir = dirs.path().join("restored");
    let out = jeco_server(args(&[&"restore", &archive, &"--data-dir", &restored_dir])).await;
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = ServerProcess::start(&restored_dir, &limits);
    let restored_base = restored.url();

    let mut writes_after_the_snapshot = 0;
    for &room in &rooms {
        let pos = positions[&room];
        let token = &tokens[0];
        let before: Vec<Value> = history(&http, &base, token, room)
            .await
            .into_iter()
            .filter(|m| m["seq"].as_i64().unwrap() <= pos)
            .collect();
        // The tokens the first server issued are good on the second: same signing secret.
        let after = history(&http, &restored_base, token, room).await;
        assert!(!after.is_empty(), "room {room} has its history");
        assert_eq!(
            after, before,
            "room {room}: the restored history is the original's up to position {pos}"
        );
        assert_eq!(last_seq(&http, &restored_base, token, room).await, pos);
        writes_after_the_snapshot += last_seq(&http, &base, token, room).await - pos;
    }
    assert!(
        writes_after_the_snapshot > 0,
        "the load went on after the snapshot, so the comparison was a real prefix"
    );
    // Every conversation of the manifest answers on the restored server (rooms are all there is).
    assert_eq!(positions.len(), rooms.len());

    for (id, bytes) in &attachments {
        assert_eq!(&download(&http, &base, &tokens[0], *id).await, bytes);
        assert_eq!(
            &download(&http, &restored_base, &tokens[0], *id).await,
            bytes,
            "attachment {id} downloads identically from the restored server"
        );
    }
    // The restored server takes new writes where the snapshot left off.
    let m: Message = serde_json::from_value(
        post(
            &http,
            &format!("{restored_base}/api/v1/conversations/{}/messages", rooms[1]),
            Some(&tokens[1]),
            json!({"client_id": "after-restore", "text": "hello again"}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(m.seq, positions[&rooms[1]] + 1);

    // Restoring over the running original's data directory is refused; nothing there changes.
    let db_before = std::fs::metadata(original_dir.join("jeco.db"))
        .unwrap()
        .len();
    let out = jeco_server(args(&[&"restore", &archive, &"--data-dir", &original_dir])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(
        std::fs::metadata(original_dir.join("jeco.db"))
            .unwrap()
            .len()
            >= db_before
    );
    assert!(
        last_seq(&http, &base, &tokens[0], rooms[0]).await > 0,
        "the original still serves"
    );

    // An archive cut short is refused with a clear message, and leaves no directory behind.
    let bytes = std::fs::read(&archive).unwrap();
    let cut = dirs.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = dirs.path().join("from-cut");
    let out = jeco_server(args(&[&"restore", &cut, &"--data-dir", &target])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not a complete Jeco backup"),
        "a clear message: {stderr}"
    );
    assert!(!target.exists(), "a failed restore leaves nothing behind");
}
