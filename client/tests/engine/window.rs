//! The timeline window (`Engine::open_window` and its operations) against a real server: every
//! change reaches the view as `EngineEvent::Window` diffs, and a view that applies them in order
//! (here a `Vec`, with `jeco_client::apply_window_diffs`) holds exactly what the engine holds and
//! what a fresh read of the cache gives.

use crate::queues::set_archived;
use crate::support::{PASSWORD, ada_and_bob, engine, eventually, start};
use jeco_client::{
    Engine, EngineEvent, FileTokenStore, ItemId, ItemState, MessageRef, TimelineItem, WindowBounds,
    WindowDiff, apply_window_diffs, outbox::OutboxOp,
};
use jeco_shared::teams::CreateChannelRequest;
use jeco_shared::{ConversationId, MessageId};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;

/// What a view built from the diffs holds, and every diff it was sent.
#[derive(Default)]
struct Seen {
    items: Vec<TimelineItem>,
    has_more_before: bool,
    diffs: Vec<WindowDiff>,
    lagged: bool,
}

type Shared = Arc<Mutex<Seen>>;

/// A view of `id`'s window on `engine`: applies the window's diffs as they come. Subscribe before
/// opening, so the first diff is the `Reset`.
fn mirror(engine: &Engine, id: ConversationId) -> Shared {
    let seen: Shared = Arc::default();
    let mut events = engine.subscribe();
    let into = seen.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Window {
                    conversation_id,
                    diffs,
                }) if conversation_id == id => {
                    let mut s = into.lock().unwrap();
                    let Seen {
                        items,
                        has_more_before,
                        ..
                    } = &mut *s;
                    apply_window_diffs(items, has_more_before, &diffs);
                    s.diffs.extend(diffs);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => into.lock().unwrap().lagged = true,
                Err(RecvError::Closed) => return,
            }
        }
    });
    seen
}

fn texts(items: &[TimelineItem]) -> Vec<String> {
    items.iter().map(|i| i.message.text.clone()).collect()
}

/// The mirror equals the engine's window, and (when `fresh` is given) a fresh read of the newest
/// `fresh` messages.
async fn settled(engine: &Engine, id: ConversationId, seen: &Shared, fresh: Option<u32>) {
    eventually("the view's items equal the engine's window", || {
        let s = seen.lock().unwrap();
        assert!(!s.lagged, "the test fell behind the events");
        let window = engine.window(id).expect("open");
        let read = fresh.map(|n| engine.timeline(id, None, n).unwrap().items);
        s.items == window.items
            && s.has_more_before == window.has_more_before
            && read.is_none_or(|r| r == s.items)
    })
    .await;
}

fn shown(seen: &Shared) -> Vec<String> {
    texts(&seen.lock().unwrap().items)
}

/// The id of the cached message with `text` in `id`, once it is there.
async fn id_of(engine: &Engine, id: ConversationId, text: &str) -> MessageId {
    let find = || {
        engine
            .timeline(id, None, 200)
            .unwrap()
            .items
            .into_iter()
            .find_map(|i| match i.id {
                ItemId::Sent { id, .. } if i.message.text == text => Some(id),
                _ => None,
            })
    };
    eventually(&format!("{text:?} reaches the cache"), || find().is_some()).await;
    find().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_shows_the_newest_page_and_every_change_is_a_diff_at_its_index() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;
    for text in ["one", "two", "three"] {
        bob.send(dm, text, None).unwrap();
    }
    let one = id_of(&ada, dm, "one").await;
    let two = id_of(&ada, dm, "two").await;
    let three = id_of(&ada, dm, "three").await;

    let seen = mirror(&ada, dm);
    let opened = ada.open_window(dm).await.unwrap();
    assert_eq!(texts(&opened.items), ["one", "two", "three"]);
    settled(&ada, dm, &seen, Some(50)).await;
    assert!(matches!(
        seen.lock().unwrap().diffs[..],
        [WindowDiff::Reset { .. }]
    ));

    // A message from Bob: pushed at the end, nothing else touched.
    bob.send(dm, "four", None).unwrap();
    eventually("four arrives", || shown(&seen).len() == 4).await;
    settled(&ada, dm, &seen, Some(50)).await;
    assert!(
        matches!(&seen.lock().unwrap().diffs[1..], [WindowDiff::PushBack { item }] if item.message.text == "four")
    );

    // An edit, a reaction, a delete: each a `Set` at that message's index.
    let bob_id = bob.me().unwrap().id;
    bob.edit(dm, MessageRef::Id(one), "one, edited").unwrap();
    bob.react(dm, MessageRef::Id(two), "👍", true).unwrap();
    bob.delete(dm, MessageRef::Id(three)).unwrap();
    eventually("the edit, reaction and delete arrive", || {
        let s = seen.lock().unwrap();
        s.items[0].message.text == "one, edited"
            && s.items[1]
                .message
                .reactions
                .iter()
                .any(|r| r.user_ids.contains(&bob_id))
            && s.items[2].message.deleted
    })
    .await;
    settled(&ada, dm, &seen, Some(50)).await;
    let s = seen.lock().unwrap();
    let later = &s.diffs[2..];
    assert!(
        later
            .iter()
            .all(|d| matches!(d, WindowDiff::Set { index, .. } if *index <= 2)),
        "only Sets at the changed messages: {later:?}"
    );
    for index in 0..3 {
        assert!(
            later
                .iter()
                .any(|d| matches!(d, WindowDiff::Set { index: i, .. } if *i == index)),
            "a Set at {index}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_send_is_a_local_item_replaced_in_place_when_confirmed() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;
    let bob_user = ada.find_user("bob").await.unwrap().unwrap();
    let dm = ada.open_direct(bob_user.id).await.unwrap().id;
    ada.send(dm, "hello", None).unwrap();
    id_of(&ada, dm, "hello").await;
    drop(bob);

    let seen = mirror(&ada, dm);
    ada.open_window(dm).await.unwrap();
    settled(&ada, dm, &seen, Some(50)).await;

    // Offline: the send shows at once, as a local item.
    let stopped = server.stop().await;
    eventually("ada sees the server gone", || {
        !ada.connection_state().is_live()
    })
    .await;
    let queued = ada.send(dm, "while away", None).unwrap();
    eventually("the pending send shows", || shown(&seen).len() == 2).await;
    settled(&ada, dm, &seen, Some(50)).await;
    {
        let s = seen.lock().unwrap();
        assert!(matches!(
            &s.items[1],
            TimelineItem { id: ItemId::Local { client_id }, state: ItemState::Pending, .. }
                if matches!(&queued.op, OutboxOp::Send { client_id: c, .. } if c == client_id)
        ));
    }
    // Opened afresh offline (from the cache): exactly what the diffs built.
    ada.close_window(dm);
    let reopened = ada.open_window(dm).await.unwrap();
    assert_eq!(reopened.items, seen.lock().unwrap().items);
    eventually("the view got the second reset", || {
        let s = seen.lock().unwrap();
        s.diffs
            .iter()
            .filter(|d| matches!(d, WindowDiff::Reset { .. }))
            .count()
            == 2
    })
    .await;
    settled(&ada, dm, &seen, Some(50)).await;
    let before_confirm = seen.lock().unwrap().diffs.len();

    // Back: the server confirms it, and the same item (index 1) becomes the sent message.
    let _server = stopped.start().await;
    eventually("the send is confirmed", || {
        matches!(shown(&seen)[..], [_, _]) && seen.lock().unwrap().items[1].seq().is_some()
    })
    .await;
    settled(&ada, dm, &seen, Some(50)).await;
    let applied = {
        let s = seen.lock().unwrap();
        assert_eq!(texts(&s.items), ["hello", "while away"]);
        assert!(
            s.diffs[before_confirm..]
                .iter()
                .all(|d| matches!(d, WindowDiff::Set { index: 1, .. })),
            "confirmed in place, no removal or insertion: {:?}",
            &s.diffs[before_confirm..]
        );
        s.items.clone()
    };
    // Opened afresh: exactly what the diffs built.
    ada.close_window(dm);
    let fresh = ada.open_window(dm).await.unwrap();
    assert_eq!(
        fresh.items, applied,
        "the diffs built what a fresh open reads"
    );
}

/// An engine like `support::engine` with small windows.
fn small_windows(url: &str, dir: &Path) -> Engine {
    Engine::builder(url)
        .data_dir(dir)
        .token_store(Arc::new(FileTokenStore::new(dir.join("tokens.json"))))
        .client_name("engine-test/1")
        .window_bounds(WindowBounds { page: 4, keep: 6 })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_pages_a_jump_back_to_the_newest_and_the_following_bound() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada = small_windows(server.base(), &dirs.path().join("ada"));
    let bob = engine(server.base(), &dirs.path().join("bob"));
    ada.register("ada", PASSWORD, None).await.unwrap();
    bob.register("bob", PASSWORD, None).await.unwrap();
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;
    let names = |range: std::ops::RangeInclusive<u32>| -> Vec<String> {
        range.map(|n| format!("m{n}")).collect()
    };
    for text in names(1..=12) {
        bob.send(dm, &text, None).unwrap();
    }
    let first = id_of(&ada, dm, "m1").await;
    id_of(&ada, dm, "m12").await;
    ada.wait_live(std::time::Duration::from_secs(20))
        .await
        .unwrap();

    let seen = mirror(&ada, dm);
    let opened = ada.open_window(dm).await.unwrap();
    assert_eq!(texts(&opened.items), names(9..=12));
    assert!(opened.has_more_before);
    settled(&ada, dm, &seen, Some(4)).await;

    // One older page: put in front, in one diff.
    let n = seen.lock().unwrap().diffs.len();
    assert!(ada.window_load_older(dm).await.unwrap());
    settled(&ada, dm, &seen, Some(8)).await;
    assert_eq!(shown(&seen), names(5..=12));
    assert!(matches!(
        &seen.lock().unwrap().diffs[n..],
        [WindowDiff::PushFront { items }] if items.len() == 4
    ));

    // Reaching back to a seq (the first unread message): pages until the window holds it.
    let m3 = id_of(&ada, dm, "m3").await;
    let m3_seq = ada.timeline(dm, None, 200).unwrap().items[2].seq().unwrap();
    assert_eq!(ada.timeline(dm, None, 200).unwrap().items[2].message.id, m3);
    assert!(ada.window_reach(dm, m3_seq).await.unwrap());
    settled(&ada, dm, &seen, None).await;
    assert_eq!(shown(&seen).first().map(String::as_str), Some("m1"));

    // A jump to the first message: it is in the window, with everything after it.
    assert!(ada.window_jump(dm, first).await.unwrap().is_some());
    settled(&ada, dm, &seen, Some(12)).await;
    assert_eq!(shown(&seen), names(1..=12));
    assert!(!seen.lock().unwrap().has_more_before);

    // Not following (a jump stops it): new messages are added, nothing is trimmed.
    bob.send(dm, "m13", None).unwrap();
    eventually("m13 arrives", || shown(&seen).len() == 13).await;
    settled(&ada, dm, &seen, Some(13)).await;

    // Back to the newest: the newest page, following again.
    let n = seen.lock().unwrap().diffs.len();
    ada.window_newest(dm).unwrap();
    settled(&ada, dm, &seen, Some(4)).await;
    assert_eq!(shown(&seen), names(10..=13));
    assert!(matches!(
        &seen.lock().unwrap().diffs[n..],
        [
            WindowDiff::RemoveFront { count: 9 },
            WindowDiff::HasMoreBefore {
                has_more_before: true
            }
        ]
    ));

    // Following: the window grows to `keep` (6) and is trimmed from the front after that.
    for text in names(14..=17) {
        bob.send(dm, &text, None).unwrap();
    }
    eventually("m17 arrives", || {
        shown(&seen).last().map(String::as_str) == Some("m17")
    })
    .await;
    settled(&ada, dm, &seen, Some(6)).await;
    assert_eq!(shown(&seen), names(12..=17));
    assert!(
        seen.lock()
            .unwrap()
            .diffs
            .iter()
            .any(|d| matches!(d, WindowDiff::RemoveFront { .. })),
    );

    // The reader scrolls up (not following): older pages come back from the cache.
    ada.window_following(dm, false).unwrap();
    assert!(ada.window_load_older(dm).await.unwrap());
    settled(&ada, dm, &seen, Some(10)).await;
    assert_eq!(shown(&seen), names(8..=17));

    // Closed: no more diffs.
    ada.close_window(dm);
    assert!(ada.window(dm).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_is_set_failed_in_place_and_discarding_removes_it() {
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
    ada.send(channel, "before", None).unwrap();
    id_of(&ada, channel, "before").await;
    let seen = mirror(&ada, channel);
    ada.open_window(channel).await.unwrap();
    settled(&ada, channel, &seen, Some(50)).await;

    // An archived channel refuses the send: the same item, now failed.
    set_archived(&ada, channel, true).await;
    let refused = ada.send(channel, "refused", None).unwrap();
    eventually("the refusal shows", || {
        let s = seen.lock().unwrap();
        matches!(s.items.get(1), Some(TimelineItem { state: ItemState::Failed { outbox_id, .. }, .. }) if *outbox_id == refused.id)
    })
    .await;
    settled(&ada, channel, &seen, Some(50)).await;
    {
        let s = seen.lock().unwrap();
        let first = s
            .diffs
            .iter()
            .position(|d| matches!(d, WindowDiff::PushBack { .. }))
            .expect("the send was pushed");
        assert!(
            s.diffs[first + 1..]
                .iter()
                .all(|d| matches!(d, WindowDiff::Set { index: 1, .. })),
            "refused in place: {:?}",
            &s.diffs[first..]
        );
    }

    // Discarded: removed.
    ada.discard(refused.id).unwrap();
    eventually("the discarded send leaves", || shown(&seen) == ["before"]).await;
    settled(&ada, channel, &seen, Some(50)).await;
    assert!(matches!(
        seen.lock().unwrap().diffs.last(),
        Some(WindowDiff::Remove { index: 1 })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_fell_behind_gets_each_window_whole() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;
    bob.send(dm, "one", None).unwrap();
    id_of(&ada, dm, "one").await;
    let seen = mirror(&ada, dm);
    ada.open_window(dm).await.unwrap();
    settled(&ada, dm, &seen, Some(50)).await;

    // A listener that has not read anything since: its queue holds the window's diffs.
    let mut behind = ada.subscribe();
    bob.send(dm, "two", None).unwrap();
    eventually("two arrives", || shown(&seen).len() == 2).await;
    let resent = ada.window_resync(&mut behind);
    let windows: Vec<_> = resent
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Window {
                conversation_id,
                diffs,
            } => Some((*conversation_id, diffs.clone())),
            _ => None,
        })
        .collect();
    let window = ada.window(dm).unwrap();
    assert_eq!(
        windows,
        [(
            dm,
            vec![WindowDiff::Reset {
                items: window.items,
                has_more_before: window.has_more_before
            }]
        )],
        "no diff from before the reset, and the reset is the window"
    );
    assert!(behind.try_recv().is_err(), "the queue was drained");
}
