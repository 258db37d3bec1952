//! The client engine against real `jeco-server` processes that are stopped and restarted under
//! it: offline queues delivered exactly once and in order, no gaps across server restarts, the
//! cache readable with no server at all, token rotation and revoked sessions.
//!
//! Engines run in this test process (each with its own data directory, as separate installs
//! would); the server is a real process so that "the server went away" means what it means in
//! production: connections reset, the port closed, then the same data served again.

mod backup;
mod crash;
mod fsync;
mod people;
mod support;
mod threads;

use jeco_client::{ConnectionState, EngineEvent, FileToSend, ItemState, MessageRef, TokenStore};
use jeco_e2e::process::ServerProcess;
use std::time::Duration;
use support::*;

/// Messages written while the server is down are shown as pending, survive local rewrites (an edit
/// of a pending message, a cancelled one), and arrive exactly once and in order when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sends_arrive_exactly_once_in_order_after_the_server_returns() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let (alice, bob, dm) = two_users_in_a_dm(&server.url(), &dirs).await;

    alice.send(dm, "before the outage", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();

    server.stop();
    alice
        .wait_for(WAIT, |s| {
            matches!(s, ConnectionState::WaitingToRetry { .. })
        })
        .await
        .unwrap();
    bob.wait_for(WAIT, |s| !s.is_live()).await.unwrap();

    let mut sent = Vec::new();
    for i in 0..20 {
        let text = format!("offline message {i}");
        alice.send(dm, &text, None).unwrap();
        sent.push(text);
    }
    // Rewrite one pending message and cancel another, locally.
    let timeline = alice.timeline(dm, None, 100).unwrap();
    let pending: Vec<_> = timeline
        .items
        .iter()
        .filter(|i| i.state == ItemState::Pending)
        .collect();
    assert_eq!(pending.len(), 20, "every offline message shows as pending");
    alice
        .edit(dm, pending[3].reference(), "offline message 3 (edited)")
        .unwrap();
    sent[3] = "offline message 3 (edited)".into();
    alice.delete(dm, pending[7].reference()).unwrap();
    sent.remove(7);
    assert_eq!(alice.outbox(Some(dm)).unwrap().len(), 19);

    server.restart();
    alice.reconnect_now();
    bob.reconnect_now();
    alice.wait_live(WAIT).await.unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();

    // The server holds each message once, in the order written.
    let mut expected = vec!["before the outage".to_owned()];
    expected.extend(sent);
    assert_eq!(server_texts(&alice, dm).await, expected);
    // Bob's engine got them live or in its resume, each once, in order.
    bob.wait_live(WAIT).await.unwrap();
    eventually(|| cached_texts(&bob, dm) == expected).await;
    // Alice's own timeline has no pending echoes left and no duplicates.
    assert_eq!(cached_texts(&alice, dm), expected);
    assert!(
        alice
            .timeline(dm, None, 100)
            .unwrap()
            .items
            .iter()
            .all(|i| i.state == ItemState::Synced)
    );
}

/// A `jeco` CLI that queued messages with no server, and one killed (SIGKILL) while it waited,
/// leave them in the cache's outbox; the next `jeco` run delivers each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_cli_sends_its_queue_after_restart() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let url = server.url();
    let cli = dirs.root.path().join("cli");
    jeco_ok(&cli, &url, &["register", "carol"]);
    let bob = engine(&url, &dirs.bob);
    bob.register("bob", PASSWORD, None).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    jeco_ok(&cli, &url, &["dm", "bob"]);

    server.stop();
    for i in 0..3 {
        let out = jeco_ok(
            &cli,
            &url,
            &[
                "--json",
                "send",
                "@bob",
                "--wait",
                "1",
                &format!("queued {i}"),
            ],
        );
        assert!(out.contains("\"queued\""), "offline send is queued: {out}");
    }
    // A follower that is killed outright while the server is away.
    let mut follower = std::process::Command::new(jeco_e2e::process::binary("jeco"))
        .args(["--server", &url, "--data-dir"])
        .arg(&cli)
        .arg("follow")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once it is following (it has opened the cache with the queued sends and tried the
    // server): it says so on stderr.
    let stderr = follower.stderr.take().unwrap();
    let started = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.starts_with("following "))
    });
    let started = tokio::time::timeout(WAIT, started)
        .await
        .expect("the follower started in time")
        .unwrap();
    assert!(started.is_some(), "the follower ended before following");
    follower.kill().unwrap();
    follower.wait().unwrap();

    server.restart();
    jeco_ok(&cli, &url, &["sync", "--wait", "20"]);
    // Once more: nothing is sent twice by a second run.
    jeco_ok(&cli, &url, &["sync", "--wait", "5"]);

    bob.reconnect_now();
    bob.wait_live(WAIT).await.unwrap();
    let dm = bob.conversations().unwrap()[0].id;
    let expected = vec!["queued 0", "queued 1", "queued 2"];
    assert_eq!(server_texts(&bob, dm).await, expected);
    eventually(|| cached_texts(&bob, dm) == expected).await;
}

/// Messages sent while one member is disconnected by a server restart reach it on resume with no
/// gap and no duplicate, and edits, reactions and deletions made meanwhile are applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_conversation_leaves_no_gap() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let (alice, bob, dm) = two_users_in_a_dm(&server.url(), &dirs).await;

    for i in 0..5 {
        alice.send(dm, &format!("live {i}"), None).unwrap();
    }
    alice.wait_outbox_drained(WAIT).await.unwrap();
    eventually(|| cached_texts(&bob, dm).len() == 5).await;

    // Bob goes away (his engine stops), the server restarts, conversation continues without him.
    bob.shutdown();
    server.restart();
    alice.reconnect_now();
    alice.wait_live(WAIT).await.unwrap();
    for i in 5..10 {
        alice.send(dm, &format!("live {i}"), None).unwrap();
    }
    alice.wait_outbox_drained(WAIT).await.unwrap();
    let first = alice.timeline(dm, None, 100).unwrap().items[0].message.id;
    alice
        .edit(dm, MessageRef::Id(first), "live 0 (edited)")
        .unwrap();
    alice.react(dm, MessageRef::Id(first), "🎉", true).unwrap();
    let second = alice.timeline(dm, None, 100).unwrap().items[1].message.id;
    alice.delete(dm, MessageRef::Id(second)).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();

    // Bob starts again from his cache and resumes.
    let bob = engine(&server.url(), &dirs.bob);
    assert_eq!(
        cached_texts(&bob, dm).len(),
        5,
        "the cache opened before any sync"
    );
    bob.wait_live(WAIT).await.unwrap();
    let mut expected: Vec<String> = (0..10).map(|i| format!("live {i}")).collect();
    expected[0] = "live 0 (edited)".into();
    expected[1] = String::new();
    eventually(|| cached_texts(&bob, dm) == expected).await;
    let seqs: Vec<i64> = bob
        .timeline(dm, None, 100)
        .unwrap()
        .items
        .iter()
        .map(|i| i.message.seq)
        .collect();
    let server_seqs: Vec<i64> = server_messages(&bob, dm)
        .await
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(
        seqs, server_seqs,
        "the cache holds exactly the server's messages"
    );
    let top = &bob.timeline(dm, None, 100).unwrap().items[0].message;
    assert_eq!(top.reactions.len(), 1);
    assert_eq!(top.reactions[0].emoji, "🎉");
    assert!(
        bob.timeline(dm, None, 100).unwrap().items[1]
            .message
            .deleted
    );
}

/// With no server at all, a restarted client shows its conversations, its cached timeline and
/// local search results at once, and says it is offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_reads_offline_after_a_client_restart() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let url = server.url();
    let (alice, bob, dm) = two_users_in_a_dm(&url, &dirs).await;
    alice
        .send(dm, "the quarterly report is ready", None)
        .unwrap();
    alice.send(dm, "see you tomorrow", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    eventually(|| cached_texts(&bob, dm).len() == 2).await;
    bob.shutdown();
    alice.shutdown();
    server.stop();

    let started = std::time::Instant::now();
    let bob = engine(&url, &dirs.bob);
    let conversations = bob.conversations().unwrap();
    let timeline = bob.timeline(dm, None, 50).unwrap();
    let opened = started.elapsed();
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        timeline
            .items
            .iter()
            .map(|i| i.message.text.as_str())
            .collect::<Vec<_>>(),
        ["the quarterly report is ready", "see you tomorrow"]
    );
    let hits = bob.search("quart", None, 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].local);
    // The server's search language works offline too: filters on the cached rows, and the same
    // typed error for a query that does not parse.
    let texts = |hits: Vec<jeco_client::SearchResult>| {
        hits.into_iter().map(|h| h.message.text).collect::<Vec<_>>()
    };
    assert_eq!(
        texts(bob.search("from:@alice", None, 10).await.unwrap()),
        ["see you tomorrow", "the quarterly report is ready"]
    );
    assert_eq!(
        texts(
            bob.search(
                "\"quarterly report\" from:@alice after:2000-01-01",
                None,
                10
            )
            .await
            .unwrap()
        ),
        ["the quarterly report is ready"]
    );
    assert!(
        bob.search("report from:@bob", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        bob.search("report before:2000-01-01", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let refused = bob
        .search("report before:someday", None, 10)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), jeco_shared::ErrorCode::InvalidQuery);
    assert!(
        refused.to_string().contains("before: needs a date"),
        "{refused}"
    );
    assert_eq!(bob.me().unwrap().username, "bob");
    bob.wait_for(WAIT, |s| {
        matches!(s, ConnectionState::WaitingToRetry { .. })
    })
    .await
    .unwrap();
    println!("offline open: conversations + timeline read in {opened:?}");

    // Writing offline queues; the server coming back delivers it.
    bob.send(dm, "written offline", None).unwrap();
    server.restart();
    bob.reconnect_now();
    bob.wait_live(WAIT).await.unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();
    assert_eq!(
        server_texts(&bob, dm).await,
        [
            "the quarterly report is ready",
            "see you tomorrow",
            "written offline"
        ]
    );
}

/// An access token about to expire is refreshed (rotating the refresh token) before the engine
/// uses it; a session revoked elsewhere turns into "signed out" with the cache kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_rotate_and_a_revoked_session_signs_out_keeping_the_cache() {
    let dirs = Dirs::new();
    let server = ServerProcess::start(&dirs.server, &[]);
    let url = server.url();
    let (alice, _bob, dm) = two_users_in_a_dm(&url, &dirs).await;
    alice.send(dm, "kept after sign-out", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();

    // Make the stored access token look expired and start the app again (an engine holds the
    // tokens it read): its first use refreshes the token.
    alice.shutdown();
    let store = token_store(&dirs.alice);
    let before = store.load().unwrap().unwrap();
    let mut stale = before.clone();
    stale.access_expires_at = 0;
    store.save(&stale).unwrap();
    let alice = engine(&url, &dirs.alice);
    alice.send(dm, "sent with a refreshed token", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    let after = store.load().unwrap().unwrap();
    assert_ne!(after.refresh_token, before.refresh_token, "refresh rotated");
    assert!(
        after.access_expires_at > 0,
        "a fresh access token was stored"
    );

    // Someone ends the session (here: a plain client holding the same tokens logs out).
    let other = jeco_client::Client::builder(url.as_str())
        .token_store(std::sync::Arc::new(jeco_client::MemoryTokenStore::new()))
        .build()
        .unwrap();
    let mut events = alice.subscribe();
    other_logout(&other, &after).await;
    alice
        .wait_for(WAIT, |s| *s == ConnectionState::SignedOut)
        .await
        .unwrap();
    // The UI is told (the event follows the state change).
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Connection(ConnectionState::SignedOut)) => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("a signed_out event");
    assert!(store.load().unwrap().is_none(), "dead tokens are forgotten");
    // The cache is still readable.
    assert!(
        cached_texts(&alice, dm)
            .iter()
            .any(|t| t == "kept after sign-out")
    );
    // Signing in again resumes on the same cache.
    alice.login("alice", PASSWORD).await.unwrap();
    alice.wait_live(WAIT).await.unwrap();
    assert_eq!(cached_texts(&alice, dm).len(), 2);
}

/// A send the server refuses for good becomes failed with the server's reason and stops its
/// conversation's queue: what was written after it waits behind it (and shows so) instead of
/// overtaking it. Rewriting the refused message sends both, in the order written.
///
/// The engine checks a message against the limits the server announced, so a refusal for good
/// happens when the limit changed while the client was away: written offline under the old
/// limit, delivered to a server restarted with a lower one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_fails_with_the_reason_and_holds_back_what_follows() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let (alice, _bob, dm) = two_users_in_a_dm(&server.url(), &dirs).await;
    server.stop();
    alice.send(dm, "this one is far too long", None).unwrap();
    alice.send(dm, "short", None).unwrap();
    server.restart_with(&["--message-max-chars", "10"]);
    alice.reconnect_now();
    // The new limit arrives with the ready frame, before anything queued is sent.
    eventually(|| alice.limits().message_chars_max == 10).await;
    alice.wait_outbox_drained(WAIT).await.unwrap();
    let outbox = alice.outbox(Some(dm)).unwrap();
    assert_eq!(outbox.len(), 2);
    let failed = &outbox[0];
    assert_eq!(failed.state, jeco_client::OutboxState::Failed);
    let error = failed.error.as_ref().unwrap();
    assert_eq!(error.code, jeco_shared::ErrorCode::ValidationFailed);
    assert_eq!(outbox[1].state, jeco_client::OutboxState::Pending);
    assert_eq!(outbox[1].attempts, 0, "nothing overtook the refused send");
    let timeline = alice.timeline(dm, None, 50).unwrap();
    let [.., refused, waiting] = &timeline.items[..] else {
        panic!("two queued messages in {timeline:?}")
    };
    assert!(matches!(refused.state, ItemState::Failed { .. }));
    assert_eq!(waiting.state, ItemState::Waiting { behind: failed.id });
    assert!(server_texts(&alice, dm).await.is_empty());
    // Rewriting the failed message puts it back at its place; both then go through, in order.
    alice.edit(dm, refused.reference(), "now short").unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    assert_eq!(server_texts(&alice, dm).await, ["now short", "short"]);
    assert!(alice.outbox(Some(dm)).unwrap().is_empty());
}

/// The worst case for duplicates: the server commits a send but its answer is lost, and the link
/// then goes silent without closing (a pulled cable). The engine notices the dead link within its
/// pong timeout, reconnects when the network is back, sends again with the same `client_id`, and
/// the server keeps the message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_answer_was_lost_is_kept_once() {
    let dirs = Dirs::new();
    let server = ServerProcess::start(&dirs.server, &[]);
    let proxy = proxy_for(&server).await;
    let alice = engine(&proxy.url(), &dirs.alice);
    let bob = engine(&server.url(), &dirs.bob);
    let dm = dm_between(&alice, &bob).await;

    // Connection states as events, not the latest state: waiting to retry may last only a few
    // milliseconds (jittered backoff) before the next attempt, which then hangs in its handshake.
    let mut events = alice.subscribe();
    proxy.cut_answers(true);
    alice.send(dm, "said once", None).unwrap();
    // The server gets it (Bob sees it) while Alice hears nothing back.
    eventually(|| cached_texts(&bob, dm) == ["said once"]).await;
    let state = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Connection(state @ ConnectionState::WaitingToRetry { .. })) => {
                    return state;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    panic!("the engine stopped")
                }
            }
        }
    })
    .await
    .expect("a silent link is declared dead within seconds");
    println!("dead link detected: {state:?}");
    assert_eq!(
        alice.outbox(Some(dm)).unwrap().len(),
        1,
        "still unconfirmed"
    );

    proxy.cut_answers(false);
    alice.reconnect_now();
    alice.wait_live(WAIT).await.unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    assert_eq!(server_texts(&bob, dm).await, ["said once"]);
    assert_eq!(cached_texts(&alice, dm), ["said once"]);
    assert_eq!(cached_texts(&bob, dm), ["said once"]);
}

/// A client too far behind for a replay is told to resync: it reloads the conversation's newest
/// page, keeps what it had cached, and fetches the missing older part on demand — ending with
/// exactly the server's history. Search online merges cache and server without duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_too_far_behind_resyncs_and_fills_the_gap_on_demand() {
    let dirs = Dirs::new();
    // Replays stop at 10 events; more than that is a resync.
    let server = ServerProcess::start(&dirs.server, &["--resume-max-events", "10"]);
    let url = server.url();
    let (alice, bob, dm) = two_users_in_a_dm(&url, &dirs).await;
    alice.send(dm, "before bob left", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    eventually(|| cached_texts(&bob, dm).len() == 1).await;
    bob.shutdown();

    let mut expected = vec!["before bob left".to_owned()];
    for i in 0..80 {
        let text = format!("while away {i}");
        alice.send(dm, &text, None).unwrap();
        expected.push(text);
    }
    alice.wait_outbox_drained(WAIT).await.unwrap();

    let bob = engine(&url, &dirs.bob);
    bob.wait_live(WAIT).await.unwrap();
    // Not a replay of 80 messages: a resync brought the newest page (50), and the old message is
    // still cached below the gap.
    assert_eq!(bob.cache().unwrap().message_count().unwrap(), 51);
    eventually(|| {
        cached_texts(&bob, dm)
            .last()
            .is_some_and(|t| t == "while away 79")
    })
    .await;
    let newest = bob.timeline(dm, None, 50).unwrap();
    assert_eq!(newest.items.len(), 50);
    assert!(newest.has_more_before);
    // Scrolling back fetches what the cache lacks, until the start.
    let mut before = newest.items[0].message.seq;
    let mut older = Vec::new();
    loop {
        let page = bob.load_timeline(dm, Some(before), 20).await.unwrap();
        older.splice(0..0, page.items.iter().map(|i| i.message.text.clone()));
        if !page.has_more_before {
            break;
        }
        before = page.items[0].message.seq;
    }
    let mut all = older;
    all.extend(newest.items.iter().map(|i| i.message.text.clone()));
    assert_eq!(all, expected);
    assert_eq!(
        cached_texts(&bob, dm),
        expected,
        "the gap is filled in the cache"
    );

    // Online search: cached hits and the server's, each message once.
    let hits = bob.search("away", None, 100).await.unwrap();
    let mut ids: Vec<_> = hits.iter().map(|h| h.message.id).collect();
    assert_eq!(ids.len(), 80);
    ids.dedup();
    assert_eq!(ids.len(), 80, "no duplicates between cache and server");
    assert!(hits.iter().all(|h| h.local), "every hit is also cached now");
}

/// A file written while the server is down is uploaded when it is back; an upload cut off half-way
/// (answers lost, link silent) resumes from where the server got to instead of from zero; the
/// message arrives once with its attachment; the other side downloads it into its media cache,
/// checked against its SHA-256, and opens it again with no server at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_out_offline_resume_after_a_cut_and_stay_cached() {
    let dirs = Dirs::new();
    let mut server = ServerProcess::start(&dirs.server, &[]);
    let proxy = proxy_for(&server).await;
    let alice = engine_with(&proxy.url(), &dirs.alice, |b| {
        b.upload_chunk_bytes(64 * 1024)
    });
    let bob = engine(&server.url(), &dirs.bob);
    let dm = dm_between(&alice, &bob).await;

    // 8 MiB that are not all the same byte.
    let content: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 4099) as u8)
        .collect();
    let original = dirs.root.path().join("report.bin");
    std::fs::write(&original, &content).unwrap();

    server.stop();
    alice
        .wait_for(WAIT, |s| {
            matches!(s, ConnectionState::WaitingToRetry { .. })
        })
        .await
        .unwrap();
    let queued = alice
        .send_files(dm, "the report", None, &[FileToSend::new(&original)])
        .unwrap();
    std::fs::remove_file(&original).unwrap(); // the engine kept its own copy

    let mut events = alice.subscribe();
    server.restart();
    alice.reconnect_now();
    // Cut the answers once the upload is under way.
    let cut_at = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(EngineEvent::UploadProgress { sent, total, .. }) = events.recv().await
                && sent > 0
                && sent < total
            {
                proxy.cut_answers(true);
                return sent;
            }
        }
    })
    .await
    .expect("the upload starts");
    alice
        .wait_for(Duration::from_secs(10), |s| {
            matches!(s, ConnectionState::WaitingToRetry { .. })
        })
        .await
        .expect("the silent link is noticed");
    let mut events = alice.subscribe();
    proxy.cut_answers(false);
    alice.reconnect_now();
    let resumed_from = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(EngineEvent::UploadProgress { sent, .. }) = events.recv().await {
                return sent;
            }
        }
    })
    .await
    .expect("the upload resumes");
    assert!(
        resumed_from >= cut_at,
        "resumed at {resumed_from}, not from zero (cut at {cut_at})"
    );
    alice.wait_outbox_drained(WAIT).await.unwrap();
    assert!(alice.outbox(None).unwrap().is_empty());
    assert_eq!(queued.conversation_id, dm);

    // The server has one message with one attachment: the same bytes.
    let messages = server_messages(&bob, dm).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "the report");
    assert_eq!(messages[0].attachments.len(), 1);
    let attachment = messages[0].attachments[0].clone();
    assert_eq!(attachment.size, content.len() as u64);

    // Bob downloads it through his media cache, then reads it with no server.
    bob.wait_live(WAIT).await.unwrap();
    eventually(|| cached_texts(&bob, dm) == ["the report"]).await;
    // Asked for by several views at once (as the app's timeline does), every caller gets the
    // whole, verified file, and it is stored once.
    let (a, b, c) = tokio::join!(
        bob.attachment_file(&attachment, false),
        bob.attachment_file(&attachment, false),
        bob.attachment_file(&attachment, false),
    );
    let path = a.unwrap();
    assert_eq!(b.unwrap(), path);
    assert_eq!(c.unwrap(), path);
    assert_eq!(std::fs::read(&path).unwrap(), content);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial downloads left: {leftovers:?}"
    );
    assert_eq!(
        bob.cache().unwrap().media_bytes().unwrap(),
        content.len() as u64
    );
    server.stop();
    let again = bob.attachment_file(&attachment, false).await.unwrap();
    assert_eq!(again, path);
    assert_eq!(std::fs::read(&again).unwrap().len(), content.len());
}
