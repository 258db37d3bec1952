//! The outbox as one queue per conversation (see `jeco_client::outbox::Lane`), against a real
//! server: a large upload holds back neither a text in another conversation nor a read mark in
//! its own; a refused item stops its conversation's queue only, until it is retried or
//! discarded; order within a conversation is kept. Every wait is on an event or a condition with
//! a timeout, never on a fixed sleep.

use crate::support::{PASSWORD, ada_and_bob, engine, start};
use jeco_client::{Engine, EngineEvent, FileTokenStore, ItemState, OutboxState};
use jeco_shared::conversations::UpdateConversationRequest;
use jeco_shared::endpoints::UpdateConversation;
use jeco_shared::teams::CreateChannelRequest;
use jeco_shared::{ConversationId, ErrorCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, error::RecvError};

const WAIT: Duration = Duration::from_secs(30);

/// Events until `pick` says stop (returning its value), within [`WAIT`].
async fn until<T>(
    events: &mut Receiver<EngineEvent>,
    mut pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(found) = pick(&e) {
                        return found;
                    }
                }
                Err(RecvError::Lagged(n)) => panic!("the test fell {n} events behind"),
                Err(RecvError::Closed) => panic!("the engine stopped"),
            }
        }
    })
    .await
    .expect("the awaited event within the timeout")
}

/// Polls `ok` on every event (the cache is the truth, events say when to look), within [`WAIT`].
async fn eventually(engine: &Engine, mut ok: impl FnMut() -> bool) {
    let mut events = engine.subscribe();
    tokio::time::timeout(WAIT, async {
        while !ok() {
            let _ = events.recv().await;
        }
    })
    .await
    .expect("the condition within the timeout");
}

/// The texts of a conversation as the server has them, in order.
async fn server_texts(engine: &Engine, id: ConversationId) -> Vec<String> {
    let token = engine.client().access_token().await.unwrap();
    let mut page = engine
        .client()
        .api()
        .messages(&token, id, None, None, 100)
        .await
        .unwrap()
        .items;
    page.sort_by_key(|m| m.seq);
    page.into_iter().map(|m| m.text).collect()
}

pub(crate) async fn set_archived(engine: &Engine, id: ConversationId, archived: bool) {
    let token = engine.client().access_token().await.unwrap();
    let body = UpdateConversationRequest {
        archived: Some(archived),
        ..Default::default()
    };
    engine
        .client()
        .api()
        .call::<UpdateConversation>(&token, &(id,), &body)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_holds_back_neither_other_conversations_nor_read_marks() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada_dir = dirs.path().join("ada");
    // Small chunks make the upload many requests long: it is still running when the text and
    // the read mark are queued, and it cannot finish between two of their requests.
    let ada = Engine::builder(server.base())
        .data_dir(&ada_dir)
        .token_store(Arc::new(FileTokenStore::new(ada_dir.join("tokens.json"))))
        .client_name("engine-test/1")
        .upload_chunk_bytes(16 * 1024)
        .build()
        .unwrap();
    let bob = engine(server.base(), &dirs.path().join("bob"));
    ada.register("ada", PASSWORD, None).await.unwrap();
    bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    let bob_user = ada.find_user("bob").await.unwrap().unwrap();
    let dm = ada.open_direct(bob_user.id).await.unwrap().id;
    let group = ada
        .create_group("elsewhere", &[bob_user.id])
        .await
        .unwrap()
        .id;

    // Something for Ada to mark read in the DM.
    bob.send(dm, "unread", None).unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();
    eventually(&ada, || {
        ada.timeline(dm, None, 10)
            .unwrap()
            .items
            .iter()
            .any(|i| i.message.text == "unread")
    })
    .await;
    let unread_seq = ada
        .timeline(dm, None, 10)
        .unwrap()
        .items
        .last()
        .unwrap()
        .message
        .seq;

    let file = dirs.path().join("big.bin");
    let bytes: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let mut events = ada.subscribe();
    let upload = ada
        .send_files(
            dm,
            "the big one",
            None,
            &[jeco_client::FileToSend::new(&file)],
        )
        .unwrap();
    // The upload is under way (some bytes on the server, most not).
    until(&mut events, |e| match e {
        EngineEvent::UploadProgress {
            outbox_id,
            sent,
            total,
            ..
        } if *outbox_id == upload.id => (*sent > 0 && sent < total).then_some(()),
        _ => None,
    })
    .await;

    // A text elsewhere, a read mark in the same conversation, and a text after the file in the
    // same conversation (which keeps its place behind the file).
    let text = ada.send(group, "not held back", None).unwrap();
    ada.mark_read(dm, unread_seq).unwrap();
    let after = ada.send(dm, "after the file", None).unwrap();

    let mut delivered = Vec::new();
    let mut upload_done = false;
    // The read mark's outbox id, from the event that queued it (it may be delivered before the
    // test could read the outbox).
    let mut read = None;
    until(&mut events, |e| {
        match e {
            EngineEvent::Outbox(item)
                if item.op.kind() == "mark_read" && item.conversation_id == dm =>
            {
                read = Some(item.id);
            }
            EngineEvent::UploadProgress {
                outbox_id,
                sent,
                total,
                ..
            } if *outbox_id == upload.id && sent == total => upload_done = true,
            EngineEvent::OutboxRemoved {
                id,
                delivered: true,
                ..
            } => {
                assert!(
                    !upload_done || (*id != text.id && Some(*id) != read),
                    "item {id} was delivered only after the upload finished"
                );
                delivered.push(*id);
            }
            _ => {}
        }
        (delivered.contains(&text.id) && read.is_some_and(|r| delivered.contains(&r))).then_some(())
    })
    .await;
    assert!(
        !upload_done,
        "the text and the read mark waited for the upload"
    );
    assert!(
        !delivered.contains(&after.id),
        "a message overtook the file queued before it in its conversation"
    );
    assert!(
        ada.outbox(Some(dm))
            .unwrap()
            .iter()
            .any(|i| i.id == upload.id)
    );
    // The server has them: Bob sees the text and Ada's read position.
    assert_eq!(server_texts(&bob, group).await, ["not held back"]);
    eventually(&bob, || {
        bob.read_receipts(dm)
            .unwrap()
            .iter()
            .any(|(u, seq)| *u != bob_user.id && *seq >= unread_seq)
    })
    .await;

    // The file's message then goes, and the text queued after it follows it.
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert!(ada.outbox(None).unwrap().is_empty());
    assert_eq!(
        server_texts(&ada, dm).await,
        ["unread", "the big one", "after the file"]
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_item_stops_its_conversation_only_until_retried_or_discarded() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, _bob) = ada_and_bob(&server, dirs.path()).await;
    let team = ada.create_team("Analytical").await.unwrap();
    let channel = ada
        .create_channel(
            team.id,
            &CreateChannelRequest {
                name: "design".into(),
                private: false,
                topic: None,
            },
        )
        .await
        .unwrap()
        .id;
    let bob_user = ada.find_user("bob").await.unwrap().unwrap();
    let dm = ada.open_direct(bob_user.id).await.unwrap().id;

    // An archived channel refuses messages for good (`conversation_archived`): the first fails, the second
    // waits behind it, and the DM's messages go on.
    set_archived(&ada, channel, true).await;
    let mut events = ada.subscribe();
    let one = ada.send(channel, "one", None).unwrap();
    let two = ada.send(channel, "two", None).unwrap();
    ada.send(dm, "dm first", None).unwrap();
    ada.send(dm, "dm second", None).unwrap();
    let refused = until(&mut events, |e| match e {
        EngineEvent::Outbox(item) if item.id == one.id && item.state == OutboxState::Failed => {
            Some(item.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(refused.error.unwrap().code, ErrorCode::ConversationArchived);
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert_eq!(server_texts(&ada, dm).await, ["dm first", "dm second"]);
    assert!(server_texts(&ada, channel).await.is_empty());
    let queued = ada.outbox(Some(channel)).unwrap();
    assert_eq!(
        queued.iter().map(|i| (i.id, i.state)).collect::<Vec<_>>(),
        [
            (one.id, OutboxState::Failed),
            (two.id, OutboxState::Pending)
        ]
    );
    assert_eq!(queued[1].attempts, 0, "nothing overtook the refusal");
    // The timeline shows the refusal, and the message waiting behind it.
    let states: Vec<ItemState> = ada
        .timeline(channel, None, 10)
        .unwrap()
        .items
        .into_iter()
        .filter(|i| i.message.id.0 == 0)
        .map(|i| i.state)
        .collect();
    assert!(
        matches!(&states[..], [ItemState::Failed { outbox_id, .. }, ItemState::Waiting { behind }]
            if *outbox_id == one.id && *behind == one.id),
        "{states:?}"
    );

    // Unarchived and retried: the refused one goes, then the one that waited, in order.
    set_archived(&ada, channel, false).await;
    assert!(ada.retry(one.id).unwrap());
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert!(ada.outbox(None).unwrap().is_empty());
    assert_eq!(server_texts(&ada, channel).await, ["one", "two"]);

    // Refused again; this time discarded: what waited goes on.
    set_archived(&ada, channel, true).await;
    let mut events = ada.subscribe();
    let three = ada.send(channel, "three", None).unwrap();
    let four = ada.send(channel, "four", None).unwrap();
    until(&mut events, |e| match e {
        EngineEvent::Outbox(item) if item.id == three.id && item.state == OutboxState::Failed => {
            Some(())
        }
        _ => None,
    })
    .await;
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert_eq!(ada.outbox(Some(channel)).unwrap().len(), 2);
    set_archived(&ada, channel, false).await;
    assert_eq!(ada.discard(three.id).unwrap(), [three.id]);
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert!(ada.outbox(None).unwrap().is_empty(), "{:?}", four);
    assert_eq!(server_texts(&ada, channel).await, ["one", "two", "four"]);
    drop(server);
}
