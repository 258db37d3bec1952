//! Muting a conversation through the engine: the server stops notifying, the cache (and so the
//! list, offline too) shows it, and the UI is told; offline, the change waits in the outbox and
//! reaches the server when it is back.

use crate::support::{PASSWORD, engine, start};
use jeco_client::EngineEvent;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The next event that `pick` accepts, within [`WAIT`].
async fn next_matching<T>(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    mut pick: impl FnMut(&EngineEvent) -> Option<T>,
) -> Option<T> {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let Some(found) = pick(&e) {
                        return Some(found);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muting_stops_notifications_and_shows_in_the_cached_list() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada_dir = dirs.path().join("ada");
    let ada = engine(server.base(), &ada_dir);
    let bob = engine(server.base(), &dirs.path().join("bob"));
    ada.register("ada", PASSWORD, None).await.unwrap();
    bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;

    // Not muted: a message notifies Ada.
    let mut events = ada.subscribe();
    bob.send(dm, "first", None).unwrap();
    let notified = next_matching(&mut events, |e| match e {
        EngineEvent::Notification(n) if n.conversation_id == Some(dm) => Some(n.preview.clone()),
        _ => None,
    })
    .await;
    assert_eq!(notified.as_deref(), Some("first"));

    // Mute: the answer, the cache and an event agree.
    let mut events = ada.subscribe();
    let state = ada.set_muted(dm, true).unwrap();
    assert!(state.muted);
    assert_eq!(state.conversation_id, dm);
    assert!(ada.conversation(dm).unwrap().unwrap().muted);
    assert!(
        next_matching(&mut events, |e| matches!(
            e,
            EngineEvent::ConversationsChanged
        )
        .then_some(()))
        .await
        .is_some(),
        "muting tells the UI the list changed"
    );

    // Muted (once the queued change reached the server): the server creates no notification. A
    // later unmuted conversation's message proves the silence is not just slowness:
    // notifications arrive in order.
    ada.wait_outbox_drained(WAIT).await.unwrap();
    bob.send(dm, "while muted", None).unwrap();
    bob.wait_outbox_drained(WAIT).await.unwrap();
    let group = bob.create_group("after", &[ada_user.id]).await.unwrap().id;
    bob.send(group, "@ada in the group", None).unwrap();
    let previews: Vec<String> = {
        let mut seen = Vec::new();
        next_matching(&mut events, |e| match e {
            EngineEvent::Notification(n) => {
                seen.push(n.preview.clone());
                (n.conversation_id == Some(group)).then_some(())
            }
            _ => None,
        })
        .await
        .expect("the group's mention notifies");
        seen
    };
    assert!(
        !previews.iter().any(|p| p.contains("while muted")),
        "a muted conversation notified: {previews:?}"
    );

    // The flag is in the cache file: a restarted engine shows it before any network.
    ada.shutdown();
    drop(ada);
    let stopped = server.stop().await;
    let ada = engine(stopped.base(), &ada_dir);
    assert!(ada.conversation(dm).unwrap().unwrap().muted);

    // Unmuting offline works at once (the list shows it) and waits in the outbox.
    let state = ada.set_muted(dm, false).unwrap();
    assert!(!state.muted);
    assert!(!ada.conversation(dm).unwrap().unwrap().muted);
    let queued = ada.outbox(Some(dm)).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].op.kind(), "set_muted");
    // Changing one's mind again rewrites the queued change instead of adding one.
    ada.set_muted(dm, true).unwrap();
    ada.set_muted(dm, false).unwrap();
    assert_eq!(ada.outbox(Some(dm)).unwrap().len(), 1);

    // The server comes back: the change is delivered, and the server now notifies Ada again.
    let server = stopped.start().await;
    ada.wait_live(WAIT).await.unwrap();
    ada.wait_outbox_drained(WAIT).await.unwrap();
    assert!(!ada.conversation(dm).unwrap().unwrap().muted);
    bob.wait_live(WAIT).await.unwrap();
    let mut events = ada.subscribe();
    bob.send(dm, "unmuted again", None).unwrap();
    let notified = next_matching(&mut events, |e| match e {
        EngineEvent::Notification(n) if n.conversation_id == Some(dm) => Some(n.preview.clone()),
        _ => None,
    })
    .await;
    assert_eq!(notified.as_deref(), Some("unmuted again"));
    drop(server);
}
