//! The `jeco` binary against a real `jeco-server` on `127.0.0.1:0`: each user is a separate
//! `--data-dir`, each command a separate process, as a person (or a script) would use it.

use jeco_server::{Config, RunningServer};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PASSWORD: &str = "a long enough password";

/// A server running on its own runtime, so the tests can block on child processes.
struct Server {
    url: String,
    addr: std::net::SocketAddr,
    running: Option<RunningServer>,
    runtime: tokio::runtime::Runtime,
    data: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        // The server's warnings and errors go to the test's output (shown when it fails).
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_max_level(tracing::Level::WARN)
            .try_init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let running = runtime.block_on(listen(data.path(), "127.0.0.1:0"));
        let addr = running.local_addr();
        Self {
            url: format!("http://{addr}"),
            addr,
            running: Some(running),
            runtime,
            data,
        }
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }

    /// Starts again on the same address and data (same accounts, same messages).
    fn restart(&mut self) {
        self.stop();
        let addr = self.addr.to_string();
        self.running = Some(self.runtime.block_on(listen(self.data.path(), &addr)));
    }
}

async fn listen(data: &Path, addr: &str) -> RunningServer {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let mut config = Config::with_data_dir(data);
    config.bind = listener.local_addr().unwrap();
    // Each jeco run signs in or refreshes; a test makes more of those a minute than the default
    // per-address budget of `/auth/*` allows one address.
    config.auth_rate_per_minute = 1_000;
    config.auth_rate_burst = 1_000;
    RunningServer::start(config, listener).await.unwrap()
}

/// One person: a data directory of their own.
struct User {
    name: &'static str,
    dir: PathBuf,
}

impl User {
    fn new(root: &tempfile::TempDir, name: &'static str) -> Self {
        Self {
            name,
            dir: root.path().join(name),
        }
    }

    /// Runs `jeco --server … --data-dir … <args>` with `stdin` as standard input.
    fn run_with(&self, server: &Server, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jeco"))
            .arg("--server")
            .arg(&server.url)
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env_remove("JECO_PASSWORD")
            .env_remove("JECO_SERVER")
            .env_remove("JECO_DATA_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the jeco binary runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, server: &Server, args: &[&str]) -> String {
        self.ok_with(server, args, "")
    }

    fn ok_with(&self, server: &Server, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(server, args, stdin);
        assert!(
            out.status.success(),
            "{} $ jeco {}: {}\nstdout: {}\nstderr: {}",
            self.name,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; returns its parsed output.
    fn json(&self, server: &Server, args: &[&str]) -> Value {
        self.json_with_stdin(server, args, "")
    }

    fn json_with_stdin(&self, server: &Server, args: &[&str], stdin: &str) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok_with(server, &all, stdin);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn register(&self, server: &Server) {
        let line = format!("{PASSWORD}\n");
        let stdout = self.ok_with(server, &["register", self.name, "--password-stdin"], &line);
        assert!(stdout.contains(self.name), "{stdout}");
    }
}

/// `[(sender, text)]` of a `history --json` answer.
fn texts(history: &Value) -> Vec<(String, String)> {
    history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["sender"].as_str().unwrap().to_owned(),
                i["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn two_people_chat_in_a_direct_conversation() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);

    let dm = alice.ok(&server, &["dm", "bob"]);
    assert!(dm.contains("@bob"), "{dm}");
    let sent = alice.ok(
        &server,
        &["send", "@bob", "hello", "from", "the", "arguments"],
    );
    assert!(sent.contains("sent to @bob"), "{sent}");
    // No text arguments: all of stdin is one message, its trailing newline dropped.
    let sent = alice.json_with_stdin(&server, &["send", "@bob"], "from stdin\nsecond line\n");
    assert_eq!(sent["message"]["text"], "from stdin\nsecond line", "{sent}");
    assert!(sent["message"]["id"].as_i64().unwrap() > 0, "{sent}");

    let history = bob.json(&server, &["history", "@alice"]);
    assert_eq!(
        texts(&history),
        [
            ("alice".to_owned(), "hello from the arguments".to_owned()),
            ("alice".to_owned(), "from stdin\nsecond line".to_owned()),
        ],
        "{history:#}"
    );
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "synced"),
        "{history:#}"
    );

    let found = bob.json(&server, &["search", "arguments"]);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{found:#}");
    assert_eq!(results[0]["message"]["text"], "hello from the arguments");
    assert_eq!(results[0]["conversation"], "@alice");

    let list = bob.json(&server, &["conversations"]);
    let list = list.as_array().expect("an array of conversations");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["label"], "@alice");
    assert_eq!(list[0]["kind"], "direct");
    assert_eq!(list[0]["unread_count"], 2);
    // The human form names it the same way.
    let ls = bob.ok(&server, &["ls"]);
    assert!(ls.contains("@alice") && ls.contains("2 unread"), "{ls}");
}

#[test]
fn an_unknown_conversation_is_an_error() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["dm", "bob"]);

    let out = alice.run_with(&server, &["send", "nowhere", "hi"], "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("nowhere") && stderr.contains("@bob"),
        "the error names the argument and the candidates: {stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = alice.run_with(&server, &["--json", "history", "@carol"], "");
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "not_found", "{error}");
    // Nothing was queued for it.
    let outbox = alice.json(&server, &["outbox"]);
    assert_eq!(outbox, serde_json::json!([]));
}

#[test]
fn a_message_written_offline_is_sent_by_the_next_online_run() {
    let mut server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["dm", "bob"]);

    server.stop();
    let queued = alice.json(&server, &["send", "@bob", "written offline", "--wait", "1"]);
    assert_eq!(queued["queued"], true, "{queued}");
    assert!(queued["client_id"].is_string(), "{queued}");
    // Reading works offline, from the cache, with the message shown as pending.
    let history = alice.json(&server, &["history", "@bob"]);
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{history:#}");
    assert_eq!(items[0]["state"], "pending");

    server.restart();
    let synced = alice.json(&server, &["sync"]);
    assert_eq!(synced["outbox"]["queued"], 0, "{synced}");
    let history = bob.json(&server, &["history", "@alice"]);
    assert_eq!(
        texts(&history),
        [("alice".to_owned(), "written offline".to_owned())]
    );
}

#[test]
fn a_file_is_sent_and_downloaded() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["dm", "bob"]);

    let file = root.path().join("notes.txt");
    std::fs::write(&file, "meeting notes\nline two\n").unwrap();
    let sent = alice.json(&server, &["send", "@bob", "--file", file.to_str().unwrap()]);
    let attachments = sent["message"]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{sent:#}");
    assert_eq!(attachments[0]["name"], "notes.txt");
    assert_eq!(attachments[0]["content_type"], "text/plain; charset=utf-8");

    let history = bob.ok(&server, &["history", "@alice"]);
    assert!(history.contains("notes.txt"), "{history}");
    let message = sent["message"]["id"].as_i64().unwrap().to_string();
    let out = root.path().join("downloads");
    bob.ok(
        &server,
        &[
            "download",
            "@alice",
            &message,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "meeting notes\nline two\n"
    );
}

#[test]
fn jeco_export_saves_my_data_as_a_zip() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["dm", "bob"]);
    alice.ok(&server, &["send", "@bob", "mine to keep"]);
    bob.ok(&server, &["send", "@alice", "not alice's"]);

    let to = root.path().join("alice.zip");
    let saved = alice.json(&server, &["export", "--to", to.to_str().unwrap()]);
    let bytes = saved["bytes"].as_u64().unwrap();
    assert_eq!(std::fs::metadata(&to).unwrap().len(), bytes, "{saved}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&to).unwrap()).unwrap();
    let mut messages = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("messages.json").unwrap(), &mut messages)
        .unwrap();
    let messages: Value = serde_json::from_str(&messages).unwrap();
    let bodies: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["mine to keep"]);
    let said = alice.ok(&server, &["export", "--to", to.to_str().unwrap()]);
    assert!(said.contains("saved your data to"), "{said}");
}

#[test]
fn an_image_arrives_with_a_thumbnail() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["dm", "bob"]);

    // A real 640×8 PNG (grayscale, stored blocks) built by hand: no image crate needed here.
    let png = tiny_png(640, 8);
    let file = root.path().join("wide.png");
    std::fs::write(&file, &png).unwrap();
    let sent = alice.json(
        &server,
        &["send", "@bob", "look", "--file", file.to_str().unwrap()],
    );
    let a = &sent["message"]["attachments"][0];
    assert_eq!(a["kind"], "image", "{sent:#}");
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(640), Some(8))
    );

    let message = sent["message"]["id"].as_i64().unwrap().to_string();
    let out = root.path().join("thumbs");
    // Thumbnails are made in the background: try for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let run = bob.run_with(
            &server,
            &[
                "download",
                "@alice",
                &message,
                "--thumbnail",
                "--out",
                out.to_str().unwrap(),
            ],
            "",
        );
        if run.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no thumbnail: {run:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let thumb = std::fs::read(out.join("thumbnail-wide.png")).unwrap();
    assert!(thumb.len() > 8, "a thumbnail image, got {thumb:?}");
    assert!(
        thumb.starts_with(b"\x89PNG") || thumb.starts_with(&[0xff, 0xd8]),
        "PNG or JPEG"
    );
}

/// A grayscale PNG of `w`×`h` with a gradient, zlib "stored" blocks (no compression library).
fn tiny_png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        raw.extend((0..w).map(|x| ((x + y * 3) % 256) as u8));
    }
    // zlib: header, stored blocks of at most 65535 bytes, Adler-32.
    let mut z = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        z.push(u8::from(last));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A team with an invite code, made by its owner through the engine (the CLI joins teams; it
/// does not run them).
fn team_with_invite(server: &Server, root: &tempfile::TempDir) -> String {
    use jeco_shared::teams::CreateInviteRequest;
    let dir = root.path().join("owner");
    server.runtime.block_on(async {
        let owner = jeco_client::Engine::builder(&server.url)
            .data_dir(&dir)
            .token_store(std::sync::Arc::new(jeco_client::MemoryTokenStore::new()))
            .build()
            .unwrap();
        owner.register("owner", PASSWORD, None).await.unwrap();
        let team = owner.create_team("Analytical").await.unwrap();
        let invite = owner
            .create_invite(team.id, &CreateInviteRequest::default())
            .await
            .unwrap();
        owner.shutdown();
        invite.code
    })
}

/// The `design` row of a `channels --json` answer (one team).
fn design_row(listed: &Value) -> Value {
    listed[0]["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["name"] == "design")
        .cloned()
        .unwrap_or_else(|| panic!("no #design in {listed:#}"))
}

/// Archives (or unarchives) a channel as `username`, straight through the API (the CLI has no
/// command for it).
fn set_archived(server: &Server, username: &str, channel: i64, archived: bool) {
    use jeco_shared::conversations::UpdateConversationRequest;
    use jeco_shared::endpoints::UpdateConversation;
    server.runtime.block_on(async {
        let client = jeco_client::Client::builder(&server.url).build().unwrap();
        client.login(username, PASSWORD).await.unwrap();
        let token = client.access_token().await.unwrap();
        let body = UpdateConversationRequest {
            archived: Some(archived),
            ..Default::default()
        };
        client
            .api()
            .call::<UpdateConversation>(&token, &(jeco_shared::ConversationId(channel),), &body)
            .await
            .unwrap();
    });
}

/// A conversation's changes go in order: a message written after one the server refused waits
/// behind it — `send` says so at once instead of waiting out its time — and `jeco outbox` shows
/// it waiting; discarding the refused one lets it go.
#[test]
fn a_message_behind_a_refused_one_waits_until_that_one_is_discarded() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let code = team_with_invite(&server, &root);
    let alice = User::new(&root, "alice");
    alice.register(&server);
    alice.ok(&server, &["join", &code]);
    let created = alice.json(&server, &["create-channel", "#design"]);
    let channel = created["id"].as_i64().expect("the channel's id");
    set_archived(&server, "alice", channel, true);

    let out = alice.run_with(&server, &["--json", "send", "#design", "refused"], "");
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "conversation_archived", "{error}");
    let outbox = alice.json(&server, &["outbox"]);
    let refused = outbox[0]["id"].as_i64().unwrap();

    // (`waiting_behind` is only said by the early answer, not after waiting out `--wait`.)
    let waiting = alice.json(&server, &["send", "#design", "written after it"]);
    assert_eq!(waiting["queued"], true, "{waiting:#}");
    assert_eq!(waiting["waiting_behind"], refused, "{waiting:#}");
    let listed = alice.ok(&server, &["outbox"]);
    assert!(
        listed.contains(&format!("waiting behind refused item {refused}")),
        "{listed}"
    );
    let history = alice.ok(&server, &["history", "#design"]);
    assert!(history.contains("[waiting behind"), "{history}");

    set_archived(&server, "alice", channel, false);
    alice.ok(&server, &["outbox", "--discard", &refused.to_string()]);
    alice.ok(&server, &["sync"]);
    assert_eq!(alice.json(&server, &["outbox"]), serde_json::json!([]));
    let history = alice.json(&server, &["history", "#design"]);
    assert_eq!(
        texts(&history),
        [("alice".to_owned(), "written after it".to_owned())],
        "{history:#}"
    );
}

#[test]
fn channels_are_created_browsed_joined_and_left() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let code = team_with_invite(&server, &root);
    let (alice, bob) = (User::new(&root, "alice"), User::new(&root, "bob"));
    alice.register(&server);
    bob.register(&server);
    alice.ok(&server, &["join", &code]);
    bob.ok(&server, &["join", &code]);

    // Alice makes a channel (one team: no --team needed); she is in it.
    let created = alice.json(
        &server,
        &["create-channel", "#design", "--topic", "Gears and cards"],
    );
    assert_eq!(created["label"], "#design", "{created:#}");
    assert_eq!(
        created["channel"]["topic"], "Gears and cards",
        "{created:#}"
    );

    // Bob browses: the channel, its topic and size, and that he is not in it.
    let listed = bob.json(&server, &["channels"]);
    assert_eq!(listed[0]["team"]["name"], "Analytical", "{listed:#}");
    let row = design_row(&listed);
    assert_eq!(row["topic"], "Gears and cards");
    assert_eq!(row["member_count"], 1);
    assert_eq!(row["joined"], false);
    let human = bob.ok(&server, &["channels", "--team", "analytical"]);
    let line = human
        .lines()
        .find(|l| l.contains("#design"))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(
        line.contains("1 member") && line.contains("Gears and cards") && !line.contains("joined"),
        "{line}"
    );

    // He joins by name; it is among his conversations and counts him.
    let joined = bob.ok(&server, &["join-channel", "design"]);
    assert!(joined.contains("#design"), "{joined}");
    let labels = |user: &User| -> Vec<String> {
        user.json(&server, &["conversations"])
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["label"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(labels(&bob).contains(&"#design".to_owned()));
    let row = design_row(&bob.json(&server, &["channels"]));
    assert_eq!(
        (row["member_count"].clone(), row["joined"].clone()),
        (2.into(), true.into())
    );

    // And leaves again.
    let left = bob.ok(&server, &["leave", "#design"]);
    assert_eq!(left.trim(), "left #design");
    assert!(!labels(&bob).contains(&"#design".to_owned()));
    let row = design_row(&bob.json(&server, &["channels"]));
    assert_eq!(row["member_count"], 1);

    // #general is left by leaving the team; an unknown channel or team is named in the error.
    let out = bob.run_with(&server, &["--json", "leave", "#general"], "");
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "conflict", "{error}");
    let out = bob.run_with(&server, &["join-channel", "#nowhere"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("#nowhere"));
    let out = bob.run_with(&server, &["--json", "channels", "--team", "Difference"], "");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "not_found", "{error}");
}

#[test]
fn sessions_are_listed_and_signed_out_and_the_password_changed() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let laptop = User::new(&root, "alice");
    laptop.register(&server);
    let phone = User {
        name: "alice",
        dir: root.path().join("alice-phone"),
    };
    let line = format!("{PASSWORD}\n");
    phone.ok_with(&server, &["login", "alice", "--password-stdin"], &line);

    let listed = laptop.json(&server, &["sessions"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);
    let human = laptop.ok(&server, &["sessions"]);
    assert!(human.contains("(this one)"), "{human}");

    // A wrong current password is refused; the right one changes it and signs the phone out.
    let out = laptop.run_with(
        &server,
        &["password", "--password-stdin"],
        "not the password\nnew enough password\n",
    );
    assert!(!out.status.success());
    let changed = laptop.json_with_stdin(
        &server,
        &["password", "--password-stdin", "--sign-out-others"],
        &format!("{PASSWORD}\nnew enough password\n"),
    );
    assert_eq!(changed["password_changed"], true, "{changed}");
    assert!(!phone.run_with(&server, &["sessions"], "").status.success());
    assert_eq!(
        laptop
            .json(&server, &["sessions"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Back on the phone with the new password; ended one by id, then none left to end.
    phone.ok_with(
        &server,
        &["login", "alice", "--password-stdin"],
        "new enough password\n",
    );
    let listed = laptop.json(&server, &["sessions"]);
    let other = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    laptop.ok(&server, &["sessions", "--end", &other.to_string()]);
    assert!(!phone.run_with(&server, &["sessions"], "").status.success());
    let ended = laptop.json(&server, &["sign-out-others"]);
    assert_eq!(ended["signed_out"], 0, "{ended}");
}

/// The newest message the server's dev mailer wrote into its data directory.
fn newest_mail(server: &Server, count: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(server.data.path().join("mail"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|x| x == "eml"));
        paths.sort();
        if paths.len() >= count {
            return std::fs::read_to_string(&paths[count - 1]).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no mail #{count}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn an_email_address_is_verified_and_a_forgotten_password_reset() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let alice = User::new(&root, "alice");
    alice.register(&server);

    let set = alice.ok(&server, &["email", "alice@example.org"]);
    assert!(
        set.contains("waiting for the code sent to alice@example.org"),
        "{set}"
    );
    let mail = newest_mail(&server, 1);
    let at = mail.find("code is ").unwrap() + "code is ".len();
    let status = alice.json(&server, &["email", "--verify", &mail[at..at + 6]]);
    assert_eq!(status["email"], "alice@example.org", "{status}");
    let shown = alice.ok(&server, &["email"]);
    assert!(shown.contains("email: alice@example.org"), "{shown}");

    // Someone without a session (another machine) asks for a reset and uses the token.
    let stranger = User::new(&root, "elsewhere");
    let asked = stranger.ok(&server, &["forgot-password", "alice"]);
    assert!(asked.contains("if that account"), "{asked}");
    let token = newest_mail(&server, 2)
        .lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .unwrap()
        .trim()
        .to_owned();
    let done = stranger.json_with_stdin(
        &server,
        &["reset-password", "--password-stdin"],
        &format!("{token}\nreset to this password\n"),
    );
    assert_eq!(done["password_reset"], true, "{done}");
    // Once only; alice's own session ended with it.
    let again = stranger.run_with(
        &server,
        &["--json", "reset-password", "--password-stdin"],
        &format!("{token}\nand once more please\n"),
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("code_used"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(!alice.run_with(&server, &["email"], "").status.success());
    alice.ok_with(
        &server,
        &["login", "alice", "--password-stdin"],
        "reset to this password\n",
    );
    alice.ok(&server, &["email", "--remove"]);
    let shown = alice.ok(&server, &["email"]);
    assert!(shown.contains("email: none"), "{shown}");
}

#[test]
fn a_server_admin_manages_accounts_with_jeco_admin() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let boss = User::new(&root, "boss");
    boss.register(&server);
    let worker = User::new(&root, "worker");
    worker.register(&server);
    // Not an admin yet: refused by the server.
    let out = boss.run_with(&server, &["--json", "admin", "users"], "");
    assert!(!out.status.success());
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "forbidden", "{error}");
    // The operator makes boss an admin on the data directory (`jeco-server admin grant-admin`).
    server.runtime.block_on(async {
        let admin = jeco_server::open_admin(&Config::with_data_dir(server.data.path()))
            .await
            .unwrap();
        let operator = jeco_server::services::admin::Caller::Operator;
        let boss = admin.find(operator, "boss").await.unwrap();
        admin.set_admin(operator, boss.user.id, true).await.unwrap();
    });

    let users = boss.json(&server, &["admin", "users"]);
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boss", "worker"]);
    let human = boss.ok(&server, &["admin", "users", "wor"]);
    assert!(
        human.contains("worker") && !human.contains("boss"),
        "{human}"
    );

    let out = boss.json(&server, &["admin", "deactivate", "@worker"]);
    assert_eq!(out["user"]["deactivated"], true, "{out}");
    assert!(!worker.run_with(&server, &["sessions"], "").status.success());
    let refused = worker.run_with(
        &server,
        &["--json", "login", "worker", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let error: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(error["error"]["code"], "account_deactivated", "{error}");
    boss.ok(&server, &["admin", "reactivate", "worker"]);
    let set = boss.json_with_stdin(
        &server,
        &["admin", "set-password", "worker", "--password-stdin"],
        "chosen by the boss\n",
    );
    assert_eq!(set["mailed"], false, "{set}");
    worker.ok_with(
        &server,
        &["login", "worker", "--password-stdin"],
        "chosen by the boss\n",
    );

    let out = boss.run_with(&server, &["--json", "admin", "revoke", "boss"], "");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "last_admin", "{error}");
    assert!(
        boss.ok(&server, &["admin", "grant", "worker"])
            .contains("is a server admin")
    );
    worker.ok(&server, &["admin", "revoke", "boss"]);
    let out = boss.run_with(&server, &["admin", "users"], "");
    assert!(!out.status.success());
    let out = worker.run_with(&server, &["--json", "admin", "deactivate", "nobody"], "");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "not_found", "{error}");
}

/// An authenticator app for `secret`: each code for a later time step than the one before (the
/// server takes each step once), within the step either side of now that it accepts.
struct TotpApp {
    secret: String,
    last: Option<u64>,
}

impl TotpApp {
    fn code(&mut self) -> String {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let (step, left) = (now / 30, 30 - now % 30);
            let earliest = if left > 3 { step - 1 } else { step };
            let want = self.last.map_or(earliest, |l| (l + 1).max(earliest));
            if want <= step + 1 {
                self.last = Some(want);
                return totp_rs::Builder::new()
                    .with_algorithm(totp_rs::Algorithm::SHA1)
                    .with_digits(6)
                    .with_step_duration(30)
                    .with_secret(totp_rs::Secret::try_from_base32(&self.secret).unwrap())
                    .build()
                    .unwrap()
                    .generate(want * 30)
                    .to_string();
            }
            std::thread::sleep(std::time::Duration::from_secs(left));
        }
    }
}

#[test]
fn two_factor_and_sign_in_codes_with_jeco() {
    let server = Server::start();
    let root = tempfile::tempdir().unwrap();
    let alice = User::new(&root, "alice");
    alice.register(&server);
    alice.ok(&server, &["email", "alice@example.org"]);
    let mail = newest_mail(&server, 1);
    let at = mail.find("code is ").unwrap() + "code is ".len();
    alice.ok(&server, &["email", "--verify", &mail[at..at + 6]]);

    // Enable in two steps (a script has no terminal): the secret, then the app's code.
    let e = alice.json(&server, &["two-factor", "enable", "--no-prompt"]);
    let secret = e["secret"].as_str().unwrap().to_owned();
    assert!(
        e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Jeco:alice?"),
        "{e}"
    );
    let mut app = TotpApp { secret, last: None };
    let on = alice.json(&server, &["two-factor", "confirm", &app.code()]);
    let recovery: Vec<String> = serde_json::from_value(on["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);

    // Sign in again: password and the app's code.
    alice.ok(&server, &["logout"]);
    let code = app.code();
    let v = alice.json_with_stdin(
        &server,
        &["login", "alice", "--password-stdin", "--code", &code],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(v["user"]["username"], "alice", "{v}");
    // With a mailed code and a recovery code instead.
    alice.ok(&server, &["logout"]);
    let asked = alice.ok(&server, &["login-code", "alice", "--no-prompt"]);
    assert!(asked.contains("sign-in code is on its way"), "{asked}");
    let mail = newest_mail(&server, 2);
    let at = mail.find("code is ").unwrap() + "code is ".len();
    let v = alice.json(
        &server,
        &[
            "login",
            "alice",
            "--email-code",
            &mail[at..at + 6],
            "--recovery-code",
            &recovery[0],
        ],
    );
    assert_eq!(v["recovery_codes_left"], 9, "{v}");
    let status = alice.json(&server, &["two-factor", "status"]);
    assert_eq!(status["enabled"], true, "{status}");

    // An admin resets it: alice is signed out, and the password alone signs her in again.
    let boss = User::new(&root, "boss");
    boss.register(&server);
    server.runtime.block_on(async {
        let admin = jeco_server::open_admin(&Config::with_data_dir(server.data.path()))
            .await
            .unwrap();
        let operator = jeco_server::services::admin::Caller::Operator;
        let boss = admin.find(operator, "boss").await.unwrap();
        admin.set_admin(operator, boss.user.id, true).await.unwrap();
    });
    let out = boss.run_with(
        &server,
        &["--json", "admin", "require-two-factor", "on"],
        "",
    );
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "conflict", "{error}");
    let reset = boss.json(&server, &["admin", "reset-two-factor", "alice"]);
    assert_eq!(reset["signed_out"], 1, "{reset}");
    assert!(
        !alice
            .run_with(&server, &["two-factor", "status"], "")
            .status
            .success()
    );
    alice.ok_with(
        &server,
        &["login", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let status = alice.json(&server, &["two-factor", "status"]);
    assert_eq!(status["enabled"], false, "{status}");
}
