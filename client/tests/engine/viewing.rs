//! What is read is decided by the engine from what the view reports (`set_viewing`,
//! `set_focused`): only what was on screen in a focused window is read, and reading a
//! conversation reads the notifications about what was seen — on the server too.

use crate::support::{ada_and_bob, eventually, start};
use jeco_client::Engine;
use jeco_shared::notifications::Notification;
use jeco_shared::{ConversationId, MessageId};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The seq of the cached message with `text` in `id`, once it is there.
async fn seq_of(engine: &Engine, id: ConversationId, text: &str) -> (MessageId, i64) {
    eventually(&format!("{text:?} reaches the cache"), || {
        find(engine, id, text).is_some()
    })
    .await;
    find(engine, id, text).unwrap()
}

fn find(engine: &Engine, id: ConversationId, text: &str) -> Option<(MessageId, i64)> {
    engine
        .timeline(id, None, 50)
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.message.text == text && i.message.seq > 0)
        .map(|i| (i.message.id, i.message.seq))
}

/// Whether the cached notification about `message` is read (`None`: not cached yet).
fn note_read(engine: &Engine, message: MessageId) -> Option<bool> {
    engine
        .notifications(50)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n.message_id == Some(message))
        .map(|(_, read)| read)
}

/// What the server says: the conversation's read position and its notifications.
async fn on_server(engine: &Engine, id: ConversationId) -> (i64, Vec<Notification>) {
    let token = engine.client().access_token().await.unwrap();
    let api = engine.client().api();
    let list = api.conversations(&token).await.unwrap();
    let read_seq = list
        .items
        .iter()
        .find(|c| c.id == id)
        .expect("a member")
        .read_seq;
    let notes = api.notifications(&token).await.unwrap().items;
    (read_seq, notes)
}

fn server_read(notes: &[Notification], message: MessageId) -> bool {
    notes
        .iter()
        .find(|n| n.message_id == Some(message))
        .expect("the server has the notification")
        .read_at
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_was_on_screen_in_a_focused_window_is_read_with_its_notifications() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;

    // Two direct messages: each notifies Ada.
    bob.send(dm, "one", None).unwrap();
    bob.send(dm, "two", None).unwrap();
    let (one, seq_one) = seq_of(&ada, dm, "one").await;
    let (two, seq_two) = seq_of(&ada, dm, "two").await;
    eventually("both notifications reach Ada's cache", || {
        note_read(&ada, one) == Some(false) && note_read(&ada, two) == Some(false)
    })
    .await;

    // On screen, but the window is not focused: nothing is read, nothing is queued.
    assert!(!ada.viewing().focused, "an engine starts unfocused");
    ada.set_viewing(Some(dm), Some(seq_two)).unwrap();
    let c = ada.conversation(dm).unwrap().unwrap();
    assert_eq!((c.read_seq, c.unread_count), (0, 2));
    assert_eq!(note_read(&ada, one), Some(false));
    assert_eq!(note_read(&ada, two), Some(false));
    assert!(ada.outbox(Some(dm)).unwrap().is_empty());
    // The conversation shown is the one the next start opens on.
    assert_eq!(ada.last_opened().unwrap(), Some(dm));

    // Focused with only the first message on screen: read up to it, and its notification.
    ada.set_viewing(Some(dm), Some(seq_one)).unwrap();
    ada.set_focused(true).unwrap();
    let c = ada.conversation(dm).unwrap().unwrap();
    assert_eq!((c.read_seq, c.unread_count), (seq_one, 1));
    assert_eq!(note_read(&ada, one), Some(true));
    assert_eq!(note_read(&ada, two), Some(false), "not on screen yet");
    ada.wait_outbox_drained(WAIT).await.unwrap();
    let (read_seq, notes) = on_server(&ada, dm).await;
    assert_eq!(read_seq, seq_one);
    assert!(server_read(&notes, one));
    assert!(!server_read(&notes, two));

    // Scrolled to the second: read up to it too.
    ada.set_viewing(Some(dm), Some(seq_two)).unwrap();
    let c = ada.conversation(dm).unwrap().unwrap();
    assert_eq!((c.read_seq, c.unread_count), (seq_two, 0));
    assert_eq!(note_read(&ada, two), Some(true));
    ada.wait_outbox_drained(WAIT).await.unwrap();
    let (read_seq, notes) = on_server(&ada, dm).await;
    assert_eq!(read_seq, seq_two);
    assert!(server_read(&notes, two));

    // The window goes to the background; a message arrives and is drawn on screen: unread.
    ada.set_focused(false).unwrap();
    bob.send(dm, "three", None).unwrap();
    let (three, seq_three) = seq_of(&ada, dm, "three").await;
    eventually("the third notification reaches Ada's cache", || {
        note_read(&ada, three).is_some()
    })
    .await;
    ada.set_viewing(Some(dm), Some(seq_three)).unwrap();
    let c = ada.conversation(dm).unwrap().unwrap();
    assert_eq!((c.read_seq, c.unread_count), (seq_two, 1));
    assert_eq!(note_read(&ada, three), Some(false));
    assert!(ada.outbox(Some(dm)).unwrap().is_empty());
    let (read_seq, notes) = on_server(&ada, dm).await;
    assert_eq!(read_seq, seq_two);
    assert!(!server_read(&notes, three));

    // Back to the window: what is on screen is read now.
    ada.set_focused(true).unwrap();
    let c = ada.conversation(dm).unwrap().unwrap();
    assert_eq!((c.read_seq, c.unread_count), (seq_three, 0));
    assert_eq!(note_read(&ada, three), Some(true));
    ada.wait_outbox_drained(WAIT).await.unwrap();
    let (read_seq, notes) = on_server(&ada, dm).await;
    assert_eq!(read_seq, seq_three);
    assert!(server_read(&notes, three));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_about_a_message_already_on_screen_is_read_as_it_arrives() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;
    let ada_user = bob.find_user("ada").await.unwrap().unwrap();
    let dm = bob.open_direct(ada_user.id).await.unwrap().id;
    ada.set_focused(true).unwrap();

    bob.send(dm, "hello", None).unwrap();
    let (hello, seq) = seq_of(&ada, dm, "hello").await;
    // The view reports the message on screen; its notification may come before or after.
    ada.set_viewing(Some(dm), Some(seq)).unwrap();
    eventually("the notification is cached and read", || {
        note_read(&ada, hello) == Some(true)
    })
    .await;
    ada.wait_outbox_drained(WAIT).await.unwrap();
    let (read_seq, notes) = on_server(&ada, dm).await;
    assert_eq!(read_seq, seq);
    assert!(server_read(&notes, hello));
}
