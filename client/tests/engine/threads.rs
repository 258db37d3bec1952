//! Threads that reduce noise (issue 13): a reply kept in its thread reaches every member's
//! thread but not their channel timeline; one also sent to the channel shows in both; the root
//! counts both and names the last repliers; the Threads view lists the threads a user takes part
//! in, with the replies not yet seen on this device.

use crate::support::{PASSWORD, engine, eventually, start};
use jeco_client::Engine;
use jeco_shared::{ConversationId, MessageId};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn timeline_texts(engine: &Engine, conversation: ConversationId) -> Vec<String> {
    engine
        .timeline(conversation, None, 50)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.message.text)
        .collect()
}

fn reply_count(engine: &Engine, root: MessageId) -> u32 {
    engine
        .thread(root)
        .map(|replies| replies.len() as u32)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_only_reply_stays_out_of_the_channel_on_every_device() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), &dirs.path().join("ada"));
    let bob = engine(server.base(), &dirs.path().join("bob"));
    ada.register("ada", PASSWORD, None).await.unwrap();
    let bob_me = bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    let group = ada.create_group("Crew", &[bob_me.id]).await.unwrap();
    ada.send(group.id, "root", None).unwrap();
    ada.wait_outbox_drained(WAIT).await.unwrap();
    let root = ada
        .timeline(group.id, None, 50)
        .unwrap()
        .items
        .iter()
        .find(|i| i.message.text == "root" && i.message.id.0 != 0)
        .map(|i| i.message.id)
        .expect("the root is delivered");
    eventually("bob has the root", || {
        bob.conversation(group.id).ok().flatten().is_some()
            && timeline_texts(&bob, group.id).contains(&"root".to_owned())
    })
    .await;

    // Bob replies in the thread only: while queued it is not in his channel either.
    bob.send_in_thread(group.id, root, "just for the thread", &[], false)
        .unwrap();
    assert_eq!(timeline_texts(&bob, group.id), ["root"]);
    bob.wait_outbox_drained(WAIT).await.unwrap();
    eventually("ada gets the thread reply", || reply_count(&ada, root) == 1).await;
    assert_eq!(timeline_texts(&ada, group.id), ["root"]);
    assert_eq!(timeline_texts(&bob, group.id), ["root"]);

    // Then also to the channel: both places.
    bob.send_in_thread(group.id, root, "for everyone", &[], true)
        .unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();
    eventually("ada gets the channel reply", || {
        reply_count(&ada, root) == 2
    })
    .await;
    assert_eq!(timeline_texts(&ada, group.id), ["root", "for everyone"]);

    // The root counts both and names Bob; the Threads view has it, unread until shown.
    let threads = ada.threads(50).await.unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].root.id, root);
    assert_eq!(threads[0].root.reply_count, 2);
    assert_eq!(threads[0].root.last_repliers, [bob_me.id]);
    assert_eq!(threads[0].unread, 2);
    let thread = ada.load_thread(group.id, root).await.unwrap();
    let texts: Vec<_> = thread
        .replies
        .iter()
        .map(|r| r.message.text.as_str())
        .collect();
    assert_eq!(texts, ["just for the thread", "for everyone"]);
    assert_eq!(thread.root.unwrap().message.reply_count, 2);
    assert_eq!(ada.threads(50).await.unwrap()[0].unread, 0);
    // Bob replied, so it is his thread too; a new reply is unread for Ada again.
    assert_eq!(bob.threads(50).await.unwrap()[0].root.id, root);
    bob.send_in_thread(group.id, root, "one more", &[], false)
        .unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();
    eventually("ada gets the third reply", || reply_count(&ada, root) == 3).await;
    assert_eq!(ada.threads(50).await.unwrap()[0].unread, 1);

    // A fresh device (empty cache) loads the channel from the server: still without them.
    let ada_again = engine(server.base(), &dirs.path().join("ada-2"));
    ada_again.login("ada", PASSWORD).await.unwrap();
    ada_again.wait_live(WAIT).await.unwrap();
    let page = ada_again.load_timeline(group.id, None, 50).await.unwrap();
    let texts: Vec<_> = page.items.iter().map(|i| i.message.text.as_str()).collect();
    assert_eq!(texts, ["root", "for everyone"]);

    // Offline, and after a restart of the engine: the Threads view is the list as last seen,
    // with the unread count of this device.
    ada.shutdown();
    drop(ada);
    ada_again.shutdown();
    drop(ada_again);
    bob.shutdown();
    drop(bob);
    let stopped = server.stop().await;
    let ada = engine(stopped.base(), &dirs.path().join("ada"));
    let offline = ada.threads(50).await.unwrap();
    assert_eq!(offline.len(), 1, "{offline:?}");
    assert_eq!(offline[0].root.id, root);
    assert_eq!(offline[0].root.reply_count, 3);
    assert_eq!(offline[0].unread, 1);
}
