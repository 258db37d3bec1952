//! Threads, quoted parents, pins and read receipts through the engine against a real server.

use crate::support::*;
use jeco_client::ItemState;
use jeco_e2e::process::ServerProcess;

/// A reply joins its parent's thread (also one the cache never held: it comes from the server),
/// pins land in both caches and the pin list, and read positions arrive as receipts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_pins_and_read_receipts() {
    let dirs = Dirs::new();
    let server = ServerProcess::start(&dirs.server, &[]);
    let (alice, bob, dm) = two_users_in_a_dm(&server.url(), &dirs).await;

    alice.send(dm, "the root", None).unwrap();
    alice.wait_outbox_drained(WAIT).await.unwrap();
    let root = server_messages(&alice, dm).await[0].clone();
    bob.send(dm, "first reply", Some(root.id)).unwrap();
    bob.send(dm, "second reply", Some(root.id)).unwrap();
    bob.send(dm, "not in the thread", None).unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();

    // Alice sees the thread live in her cache, with the root's reply count.
    let a = alice.clone();
    eventually(move || a.thread(root.id).unwrap().len() == 2).await;
    let thread = alice.load_thread(dm, root.id).await.unwrap();
    let root_item = thread.root.expect("the root");
    assert_eq!(root_item.message.text, "the root");
    assert_eq!(root_item.message.reply_count, 2);
    let texts: Vec<_> = thread
        .replies
        .iter()
        .map(|r| r.message.text.as_str())
        .collect();
    assert_eq!(texts, ["first reply", "second reply"]);

    // A pending reply shows at the end of the thread before the server has it.
    reply_in_thread(&alice, dm, root.id).await;

    // A fresh installation of Bob's account has nothing cached: the thread and the quoted parent
    // come from the server, and stay cached.
    let fresh_dir = dirs.root.path().join("bob-fresh");
    let fresh = engine(&server.url(), &fresh_dir);
    fresh.login("bob", PASSWORD).await.unwrap();
    fresh.wait_live(WAIT).await.unwrap();
    let f = fresh.clone();
    eventually(move || f.conversation(dm).unwrap().is_some()).await;
    assert!(fresh.message(dm, root.id).await.unwrap().is_some());
    let thread = fresh.load_thread(dm, root.id).await.unwrap();
    assert_eq!(thread.replies.len(), 3);
    assert!(
        fresh.thread(root.id).unwrap().len() >= 3,
        "kept in the cache"
    );
    // Unknown ids are "not there", not errors.
    assert!(
        fresh
            .message(dm, jeco_shared::MessageId(999_999))
            .await
            .unwrap()
            .is_none()
    );

    // Pins: Bob pins the root; both caches and the pin list show it; then he unpins it.
    let pinned = bob.set_pinned(dm, root.id, true).await.unwrap();
    assert!(pinned.pinned);
    assert!(
        bob.cache()
            .unwrap()
            .message(root.id)
            .unwrap()
            .unwrap()
            .pinned
    );
    let a = alice.clone();
    eventually(move || {
        a.cache()
            .unwrap()
            .message(root.id)
            .unwrap()
            .is_some_and(|m| m.pinned)
    })
    .await;
    let pins = alice.pins(dm).await.unwrap();
    assert_eq!(pins.iter().map(|m| m.id).collect::<Vec<_>>(), [root.id]);
    bob.set_pinned(dm, root.id, false).await.unwrap();
    let a = alice.clone();
    eventually(move || {
        a.cache()
            .unwrap()
            .message(root.id)
            .unwrap()
            .is_some_and(|m| !m.pinned)
    })
    .await;
    assert!(alice.pins(dm).await.unwrap().is_empty());

    // Read receipts: Bob reads up to the newest message; Alice's cache learns it.
    let newest = server_messages(&bob, dm).await.last().unwrap().seq;
    bob.mark_read(dm, newest).unwrap();
    let bob_id = bob.me().unwrap().id;
    let a = alice.clone();
    eventually(move || {
        a.read_receipts(dm)
            .unwrap()
            .iter()
            .any(|(u, seq)| *u == bob_id && *seq >= newest)
    })
    .await;
}

/// Alice replies in the thread; the reply shows as pending in the thread, then synced.
async fn reply_in_thread(
    alice: &jeco_client::Engine,
    dm: jeco_shared::ConversationId,
    root: jeco_shared::MessageId,
) {
    alice.send(dm, "alice's reply", Some(root)).unwrap();
    let thread = alice.load_thread(dm, root).await.unwrap();
    let last = thread.replies.last().unwrap();
    assert_eq!(last.message.text, "alice's reply");
    alice.wait_outbox_drained(WAIT).await.unwrap();
    let thread = alice.load_thread(dm, root).await.unwrap();
    assert_eq!(thread.replies.len(), 3);
    assert!(thread.replies.iter().all(|r| r.state == ItemState::Synced));
}
