//! Tests of the cache on its own (no server): events and positions, outbox rewrites, search,
//! drafts, and what survives reopening the file.

use super::*;
use crate::outbox::{MessageRef, OutboxError, OutboxOp, OutboxState, PendingUpload};
use jeco_shared::ErrorCode;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::events::{ConversationEvent, EventBody};
use jeco_shared::search::query::SearchQuery;

/// What the engine makes of text typed in a search box.
fn typed(q: &str) -> SearchQuery {
    SearchQuery::parse(q).unwrap().last_term_as_prefix()
}

const ME: UserId = UserId(1);
const PEER: UserId = UserId(2);
const C: ConversationId = ConversationId(10);

fn message(seq: i64, sender: UserId, text: &str) -> Message {
    crate::fixtures::message(MessageId(100 + seq), C, seq, sender, text)
}

fn conversation(last_seq: i64) -> Conversation {
    crate::fixtures::direct(C, last_seq, [ME, PEER])
}

fn event(seq: i64, body: EventBody) -> ConversationEvent {
    ConversationEvent {
        conversation_id: C,
        seq,
        at: format!("2026-11-23T10:00:{seq:02}Z"),
        actor_id: PEER,
        body,
    }
}

fn created(seq: i64, sender: UserId, text: &str) -> ConversationEvent {
    event(
        seq,
        EventBody::MessageCreated {
            message: message(seq, sender, text),
        },
    )
}

/// A cache with the conversation snapshotted at `seq` 2 with one message.
fn seeded() -> Cache {
    let cache = Cache::in_memory().unwrap();
    let page = MessagePage {
        items: vec![message(2, PEER, "hello")],
        has_more_before: false,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &conversation(2), &page).unwrap();
    cache
}

fn texts(cache: &Cache) -> Vec<String> {
    cache
        .messages(C, None, 100)
        .unwrap()
        .0
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[test]
fn events_apply_once_in_order_and_gaps_are_reported() {
    let cache = seeded();
    assert_eq!(
        cache.apply_event(ME, &created(3, PEER, "one")).unwrap(),
        Applied::Changed {
            conversation_id: C,
            messages: vec![3]
        }
    );
    // Replayed: ignored.
    assert_eq!(
        cache.apply_event(ME, &created(3, PEER, "one")).unwrap(),
        Applied::Duplicate
    );
    // Skipping ahead: not applied, the position stays.
    assert_eq!(
        cache.apply_event(ME, &created(5, PEER, "three")).unwrap(),
        Applied::Gap { position: 3 }
    );
    assert_eq!(cache.position(C).unwrap(), Some(3));
    assert_eq!(texts(&cache), ["hello", "one"]);
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!(c.unread_count, 1);
    assert_eq!(c.last_message.unwrap().text, "one");
    // An unknown conversation needs a snapshot first.
    let mut other = created(1, PEER, "x");
    other.conversation_id = ConversationId(99);
    assert_eq!(
        cache.apply_event(ME, &other).unwrap(),
        Applied::UnknownConversation
    );
}

#[test]
fn edits_deletes_reactions_pins_and_read_receipts_change_the_cached_message() {
    let cache = seeded();
    let id = MessageId(102);
    let events = [
        EventBody::MessageEdited {
            message_id: id,
            text: "hello there".into(),
            edited_at: "2026-11-23T10:01:00Z".into(),
            mentions: Default::default(),
        },
        EventBody::ReactionAdded {
            message_id: id,
            user_id: ME,
            emoji: "👍".into(),
        },
        EventBody::ReactionAdded {
            message_id: id,
            user_id: PEER,
            emoji: "👍".into(),
        },
        EventBody::ReactionRemoved {
            message_id: id,
            user_id: ME,
            emoji: "👍".into(),
        },
        EventBody::MessagePinned { message_id: id },
        EventBody::ReadReceipt {
            user_id: PEER,
            read_seq: 2,
        },
    ];
    for (i, body) in events.into_iter().enumerate() {
        cache.apply_event(ME, &event(3 + i as i64, body)).unwrap();
    }
    let m = cache.message(id).unwrap().unwrap();
    assert_eq!(m.text, "hello there");
    assert!(m.edited_at.is_some());
    assert!(m.pinned);
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].user_ids, [PEER]);
    assert_eq!(cache.read_receipts(C).unwrap(), [(PEER, 2)]);
    // Search follows the edit.
    assert_eq!(cache.search(&typed("there"), None, 10).unwrap().len(), 1);

    cache
        .apply_event(
            ME,
            &event(
                9,
                EventBody::MessageDeleted {
                    message_id: id,
                    thread: None,
                },
            ),
        )
        .unwrap();
    let m = cache.message(id).unwrap().unwrap();
    assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty());
    assert!(cache.search(&typed("there"), None, 10).unwrap().is_empty());
    assert_eq!(cache.position(C).unwrap(), Some(9));
}

#[test]
fn read_marks_clear_unread_counts_and_own_messages_do_not_count() {
    let cache = seeded();
    cache.apply_event(ME, &created(3, PEER, "a")).unwrap();
    let mut mention = message(4, PEER, "@me b");
    mention.mentions.user_ids = vec![ME];
    cache
        .apply_event(
            ME,
            &event(4, EventBody::MessageCreated { message: mention }),
        )
        .unwrap();
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!((c.unread_count, c.mention_count), (2, 1));
    assert!(cache.mark_read_locally(ME, C, 3).unwrap());
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!((c.unread_count, c.mention_count), (1, 1));
    // One's own message is not unread, and it does not read what came before it: the server
    // keeps the read position where the user put it (its conversation list says so, and a fresh
    // device shows that), so the cache must too.
    cache.apply_event(ME, &created(5, ME, "mine")).unwrap();
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!((c.unread_count, c.mention_count, c.read_seq), (1, 1, 3));
    assert!(cache.mark_read_locally(ME, C, 5).unwrap());
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!((c.unread_count, c.mention_count, c.read_seq), (0, 0, 5));
}

#[test]
fn thread_only_replies_stay_out_of_the_timeline_but_count_in_the_thread() {
    let cache = seeded();
    let root = message(2, PEER, "hello").id;
    let reply = |seq: i64, sender: UserId, text: &str, thread_only: bool| {
        let mut m = message(seq, sender, text);
        m.reply_to = Some(root);
        m.thread_only = thread_only;
        event(seq, EventBody::MessageCreated { message: m })
    };
    cache
        .apply_event(ME, &reply(3, PEER, "only in the thread", true))
        .unwrap();
    cache
        .apply_event(ME, &reply(4, UserId(3), "also in the channel", false))
        .unwrap();
    cache
        .apply_event(ME, &reply(5, PEER, "again in the thread", true))
        .unwrap();
    assert_eq!(texts(&cache), ["hello", "also in the channel"]);
    let thread: Vec<String> = cache
        .thread(root)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        thread,
        [
            "only in the thread",
            "also in the channel",
            "again in the thread"
        ]
    );
    let root_message = cache.message(root).unwrap().unwrap();
    assert_eq!(root_message.reply_count, 3);
    // Each replier once, the most recent first.
    assert_eq!(root_message.last_repliers, [PEER, UserId(3)]);
    // Only the reply shown in the channel is unread there, and it is the channel's preview.
    let c = cache.conversation(C).unwrap().unwrap();
    assert_eq!(c.unread_count, 1);
    assert_eq!(
        c.last_message.map(|p| p.text).as_deref(),
        Some("also in the channel")
    );
    // The thread's read mark only goes up.
    assert_eq!(cache.thread_read_count(root).unwrap(), 0);
    assert!(cache.mark_thread_read(root, 3).unwrap());
    assert!(!cache.mark_thread_read(root, 2).unwrap());
    assert!(!cache.mark_thread_read(root, 3).unwrap());
    assert_eq!(cache.thread_read_count(root).unwrap(), 3);
}

/// A snapshot brings the root counting a thread-only reply the page does not carry; the reply's
/// deletion must still take the root to the server's count (found by the cache model test: the
/// root kept counting a deleted reply whenever the snapshot landed between the reply and its
/// deletion).
#[test]
fn a_deleted_reply_the_cache_never_held_sets_its_roots_tally() {
    let cache = Cache::in_memory().unwrap();
    let mut root = message(2, PEER, "hello");
    root.reply_count = 2;
    root.last_repliers = vec![ME, PEER];
    let page = MessagePage {
        items: vec![root.clone()],
        has_more_before: false,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &conversation(4), &page).unwrap();
    let deleted = EventBody::MessageDeleted {
        message_id: MessageId(103),
        thread: Some(jeco_shared::messages::ThreadTally {
            root: root.id,
            reply_count: 1,
            last_repliers: vec![PEER],
        }),
    };
    cache.apply_event(ME, &event(5, deleted)).unwrap();
    let root_now = cache.message(root.id).unwrap().unwrap();
    assert_eq!(root_now.reply_count, 1);
    assert_eq!(root_now.last_repliers, [PEER]);
    assert_eq!(cache.position(C).unwrap(), Some(5));
}

#[test]
fn pending_sends_are_rewritten_or_cancelled_locally() {
    let cache = seeded();
    let send = |cid: &str, text: &str| OutboxOp::Send {
        client_id: cid.into(),
        text: text.into(),
        reply_to: None,
        thread_only: false,
        attachments: Vec::new(),
    };
    cache.enqueue(C, send("a", "first")).unwrap();
    cache.enqueue(C, send("b", "second")).unwrap();
    // Editing a pending send rewrites it.
    let edited = cache
        .enqueue(
            C,
            OutboxOp::Edit {
                target: MessageRef::Pending("a".into()),
                text: "first!".into(),
            },
        )
        .unwrap();
    assert!(matches!(edited, Enqueued::Rewrote(_)));
    // A reaction queued against a pending send, then the send deleted: both go.
    cache
        .enqueue(
            C,
            OutboxOp::React {
                target: MessageRef::Pending("b".into()),
                emoji: "👍".into(),
                add: true,
            },
        )
        .unwrap();
    let cancelled = cache
        .enqueue(
            C,
            OutboxOp::Delete {
                target: MessageRef::Pending("b".into()),
            },
        )
        .unwrap();
    assert!(matches!(cancelled, Enqueued::Cancelled { ref removed } if removed.len() == 2));
    let items = cache.outbox(Some(C)).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].op, send("a", "first!"));

    // Once in flight, an edit waits behind the send instead.
    cache.outbox_sending(items[0].id).unwrap();
    let queued = cache
        .enqueue(
            C,
            OutboxOp::Edit {
                target: MessageRef::Pending("a".into()),
                text: "first!!".into(),
            },
        )
        .unwrap();
    assert!(matches!(queued, Enqueued::Queued(_)));
    // The server confirms the send: it leaves the outbox; the edit now targets a real message.
    let mut confirmed = message(3, ME, "first!");
    confirmed.client_id = "a".into();
    cache.store_confirmed(ME, &confirmed).unwrap();
    let items = cache.outbox(Some(C)).unwrap();
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0].op, OutboxOp::Edit { .. }));
    assert_eq!(
        cache.message_by_client_id(C, "a").unwrap().unwrap().id,
        confirmed.id
    );
    // An unknown message cannot be changed.
    assert_eq!(
        cache
            .enqueue(
                C,
                OutboxOp::Delete {
                    target: MessageRef::Pending("nope".into())
                }
            )
            .unwrap(),
        Enqueued::UnknownMessage
    );
}

#[test]
fn reactions_and_read_marks_coalesce_and_failures_can_be_retried_or_discarded() {
    let cache = seeded();
    let target = MessageRef::Id(MessageId(102));
    for add in [true, false, true] {
        cache
            .enqueue(
                C,
                OutboxOp::React {
                    target: target.clone(),
                    emoji: "🎉".into(),
                    add,
                },
            )
            .unwrap();
    }
    cache.enqueue(C, OutboxOp::MarkRead { seq: 2 }).unwrap();
    cache.enqueue(C, OutboxOp::MarkRead { seq: 1 }).unwrap();
    let items = cache.outbox(Some(C)).unwrap();
    assert_eq!(items.len(), 2);
    assert!(matches!(items[0].op, OutboxOp::React { add: true, .. }));
    assert_eq!(items[1].op, OutboxOp::MarkRead { seq: 2 });

    let error = OutboxError {
        code: ErrorCode::Forbidden,
        message: "no".into(),
    };
    cache.outbox_failed(items[0].id, &error).unwrap();
    let failed = cache.outbox_item(items[0].id).unwrap().unwrap();
    assert_eq!(failed.state, OutboxState::Failed);
    assert_eq!(failed.error, Some(error));
    // The failed reaction stops the message queue; the read mark's queue is not behind it.
    let heads = cache.outbox_heads().unwrap();
    assert_eq!(
        heads.iter().map(|h| (h.id, h.state)).collect::<Vec<_>>(),
        [
            (items[0].id, OutboxState::Failed),
            (items[1].id, OutboxState::Pending)
        ]
    );
    assert!(cache.outbox_retry(items[0].id).unwrap());
    assert_eq!(cache.outbox_heads().unwrap()[0].state, OutboxState::Pending);
    assert_eq!(cache.outbox_discard(items[0].id).unwrap(), [items[0].id]);
    assert_eq!(cache.outbox(Some(C)).unwrap().len(), 1);
}

fn send_op(cid: &str, text: &str) -> OutboxOp {
    OutboxOp::Send {
        client_id: cid.into(),
        text: text.into(),
        reply_to: None,
        thread_only: false,
        attachments: Vec::new(),
    }
}

#[test]
fn each_conversation_queue_delivers_its_head_and_a_failure_stops_only_its_own_queue() {
    let cache = seeded();
    const D: ConversationId = ConversationId(8);
    let a = queued(cache.enqueue(C, send_op("a", "first")).unwrap());
    let b = queued(cache.enqueue(C, send_op("b", "second")).unwrap());
    let react = queued(
        cache
            .enqueue(
                C,
                OutboxOp::React {
                    target: MessageRef::Pending("b".into()),
                    emoji: "👍".into(),
                    add: true,
                },
            )
            .unwrap(),
    );
    let read = queued(cache.enqueue(C, OutboxOp::MarkRead { seq: 2 }).unwrap());
    let x = queued(cache.enqueue(D, send_op("x", "elsewhere")).unwrap());
    let head_ids = |cache: &Cache| {
        cache
            .outbox_heads()
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>()
    };
    // One head per conversation and lane, oldest first: not the oldest item overall only.
    assert_eq!(head_ids(&cache), [a.id, read.id, x.id]);

    // `a` refused for good: its queue stops there; the other queues go on.
    cache
        .outbox_failed(
            a.id,
            &OutboxError {
                code: ErrorCode::Forbidden,
                message: "no".into(),
            },
        )
        .unwrap();
    assert_eq!(head_ids(&cache), [a.id, read.id, x.id]);
    let items = cache.outbox(Some(C)).unwrap();
    assert_eq!(
        blocked_by(&items, &items[0]),
        None,
        "the failed item itself"
    );
    assert_eq!(blocked_by(&items, &b), Some(a.id));
    assert_eq!(blocked_by(&items, &react), Some(a.id));
    assert_eq!(
        blocked_by(&items, &read),
        None,
        "read marks have their own queue"
    );
    assert!(cache.outbox_has_deliverable().unwrap());
    cache.outbox_done(read.id).unwrap();
    cache.outbox_done(x.id).unwrap();
    // Only the failure and what waits behind it are left: nothing deliverable.
    assert_eq!(head_ids(&cache), [a.id]);
    assert!(!cache.outbox_has_deliverable().unwrap());

    // Retry puts it back at its place, ahead of what waited.
    assert!(cache.outbox_retry(a.id).unwrap());
    assert!(cache.outbox_has_deliverable().unwrap());
    let items = cache.outbox(Some(C)).unwrap();
    assert_eq!(blocked_by(&items, &b), None);
    assert_eq!(head_ids(&cache), [a.id]);

    // Refused again, then edited: the rewritten send gets another chance, still first.
    let refusal = OutboxError {
        code: ErrorCode::ValidationFailed,
        message: "too long".into(),
    };
    cache.outbox_failed(a.id, &refusal).unwrap();
    let rewritten = cache
        .enqueue(
            C,
            OutboxOp::Edit {
                target: MessageRef::Pending("a".into()),
                text: "1st".into(),
            },
        )
        .unwrap();
    assert!(matches!(rewritten, Enqueued::Rewrote(ref i) if i.id == a.id));
    assert_eq!(cache.outbox_heads().unwrap()[0].state, OutboxState::Pending);

    // Refused again and discarded: the next in line is the head.
    cache.outbox_failed(a.id, &refusal).unwrap();
    assert_eq!(cache.outbox_discard(a.id).unwrap(), [a.id]);
    assert_eq!(head_ids(&cache), [b.id]);
    assert!(cache.outbox_has_deliverable().unwrap());

    // A refused edit of a confirmed message is replaced by the next edit of it, not queued
    // behind it forever.
    let edit = queued(
        cache
            .enqueue(
                D,
                OutboxOp::Edit {
                    target: MessageRef::Id(MessageId(102)),
                    text: "v1".into(),
                },
            )
            .unwrap(),
    );
    cache.outbox_failed(edit.id, &refusal).unwrap();
    let again = cache
        .enqueue(
            D,
            OutboxOp::Edit {
                target: MessageRef::Id(MessageId(102)),
                text: "v2".into(),
            },
        )
        .unwrap();
    assert!(
        matches!(again, Enqueued::Rewrote(ref i) if i.id == edit.id && i.state == OutboxState::Pending)
    );
}

#[test]
fn uploads_are_listed_beside_the_queues_and_their_progress_keeps_later_edits() {
    let cache = seeded();
    let file = |name: &str| PendingUpload {
        path: format!("/staged/{name}"),
        name: name.into(),
        kind: jeco_shared::media::AttachmentKind::File,
        size: 10,
        sha256: "ab".repeat(32),
        duration_ms: None,
        waveform: None,
        upload_id: None,
        attachment: None,
    };
    let text = queued(cache.enqueue(C, send_op("t", "text first")).unwrap());
    let with_files = queued(
        cache
            .enqueue(
                C,
                OutboxOp::Send {
                    client_id: "f".into(),
                    text: "files".into(),
                    reply_to: None,
                    thread_only: false,
                    attachments: vec![file("one"), file("two")],
                },
            )
            .unwrap(),
    );
    // The files upload at once, though their send is not at the head of its queue.
    let uploads = cache.outbox_uploads().unwrap();
    assert_eq!(
        uploads.iter().map(|u| u.id).collect::<Vec<_>>(),
        [with_files.id]
    );
    assert_eq!(uploads[0].op.uploads_left(), 2);
    assert_eq!(cache.outbox_heads().unwrap()[0].id, text.id);

    // Progress is saved into the send; an edit made meanwhile is kept.
    let mut one = file("one");
    one.upload_id = Some("u1".into());
    assert!(cache.outbox_set_upload(with_files.id, 0, &one).unwrap());
    cache
        .enqueue(
            C,
            OutboxOp::Edit {
                target: MessageRef::Pending("f".into()),
                text: "files, edited".into(),
            },
        )
        .unwrap();
    one.attachment = Some(jeco_shared::media::Attachment {
        id: jeco_shared::AttachmentId(5),
        kind: jeco_shared::media::AttachmentKind::File,
        name: "one".into(),
        content_type: "application/octet-stream".into(),
        size: 10,
        sha256: "ab".repeat(32),
        width: None,
        height: None,
        duration_ms: None,
        waveform: None,
        has_thumbnail: false,
        created_at: "2026-01-01T00:00:00Z".into(),
    });
    assert!(cache.outbox_set_upload(with_files.id, 0, &one).unwrap());
    let item = cache.outbox_item(with_files.id).unwrap().unwrap();
    let OutboxOp::Send {
        text, attachments, ..
    } = &item.op
    else {
        panic!("still a send: {item:?}")
    };
    assert_eq!(text, "files, edited");
    assert_eq!(attachments[0], one);
    assert_eq!(item.op.uploads_left(), 1);
    // A file that is not the send's (or a send that is gone) is not saved.
    assert!(!cache.outbox_set_upload(with_files.id, 1, &one).unwrap());
    assert!(!cache.outbox_set_upload(9999, 0, &one).unwrap());

    // A failed send's uploads wait for its retry.
    cache
        .outbox_failed(
            with_files.id,
            &OutboxError {
                code: ErrorCode::NotFound,
                message: "the file to send is gone".into(),
            },
        )
        .unwrap();
    assert!(cache.outbox_uploads().unwrap().is_empty());
    assert!(cache.outbox_retry(with_files.id).unwrap());
    assert_eq!(cache.outbox_uploads().unwrap().len(), 1);
}

fn queued(e: Enqueued) -> crate::outbox::OutboxItem {
    match e {
        Enqueued::Queued(item) => item,
        other => panic!("not queued: {other:?}"),
    }
}

#[test]
fn a_queued_mute_shows_at_once_and_an_older_listing_does_not_undo_it() {
    let cache = seeded();
    cache
        .enqueue(C, OutboxOp::SetMuted { muted: true })
        .unwrap();
    cache.set_muted(C, true).unwrap();
    // Changing one's mind rewrites the queued change.
    let again = cache
        .enqueue(C, OutboxOp::SetMuted { muted: false })
        .unwrap();
    assert!(matches!(again, Enqueued::Rewrote(_)));
    cache.set_muted(C, false).unwrap();
    cache
        .enqueue(C, OutboxOp::SetMuted { muted: true })
        .unwrap();
    cache.set_muted(C, true).unwrap();
    assert_eq!(cache.outbox(Some(C)).unwrap().len(), 1);

    // The server still lists it unmuted (the change has not reached it): the cache keeps muted,
    // from a listing and from a snapshot alike.
    let listed = conversation(2);
    assert!(!listed.muted);
    cache.refresh_conversation(&listed).unwrap();
    assert!(cache.conversation(C).unwrap().unwrap().muted);
    let page = MessagePage {
        items: vec![message(2, PEER, "hello")],
        has_more_before: false,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &listed, &page).unwrap();
    assert!(cache.conversation(C).unwrap().unwrap().muted);

    // Delivered: the server's word counts again.
    let item = cache.outbox(Some(C)).unwrap().remove(0);
    cache.outbox_done(item.id).unwrap();
    cache.refresh_conversation(&listed).unwrap();
    assert!(!cache.conversation(C).unwrap().unwrap().muted);
}

#[test]
fn history_contiguity_decides_when_the_server_is_needed() {
    let cache = Cache::in_memory().unwrap();
    // The newest page of a long conversation: seqs 60..=100, more before.
    let page = MessagePage {
        items: (60..=100).map(|s| message(s, PEER, "x")).collect(),
        has_more_before: true,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &conversation(100), &page).unwrap();
    let (items, needs) = cache.messages(C, None, 20).unwrap();
    assert_eq!((items.len(), needs), (20, false));
    let (items, needs) = cache.messages(C, Some(70), 20).unwrap();
    assert_eq!(
        (items.len(), needs),
        (10, true),
        "runs out of cached history"
    );
    // The older page joins the contiguous range and reaches the start.
    let older = MessagePage {
        items: (1..60).map(|s| message(s, PEER, "y")).collect(),
        has_more_before: false,
        has_more_after: true,
    };
    cache.store_older(ME, C, Some(60), &older).unwrap();
    let (items, needs) = cache.messages(C, Some(70), 100).unwrap();
    assert_eq!((items.len(), needs), (69, false));
}

#[test]
fn search_drafts_and_positions_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("account.sqlite3");
    {
        let cache = Cache::open(&path).unwrap();
        cache
            .set_me(&jeco_shared::users::User {
                id: ME,
                username: "me".into(),
                display_name: None,
                bio: None,
                status_text: None,
                is_admin: false,
                deactivated: false,
                created_at: "2026-11-23T10:00:00Z".into(),
                avatar: None,
            })
            .unwrap();
        let page = MessagePage {
            items: vec![
                message(2, PEER, "Café meeting at noon"),
                message(3, PEER, "bring the quarterly report"),
            ],
            has_more_before: false,
            has_more_after: false,
        };
        cache.store_snapshot(ME, &conversation(3), &page).unwrap();
        cache.set_user_seq(42).unwrap();
        cache.set_draft(C, "half a thought", None).unwrap();
        cache
            .enqueue(
                C,
                OutboxOp::Send {
                    client_id: "queued".into(),
                    text: "queued offline".into(),
                    reply_to: None,
                    thread_only: false,
                    attachments: Vec::new(),
                },
            )
            .unwrap();
    }
    let cache = Cache::open(&path).unwrap();
    assert_eq!(cache.me().unwrap().unwrap().username, "me");
    assert_eq!(cache.user_seq().unwrap(), Some(42));
    assert_eq!(cache.position(C).unwrap(), Some(3));
    assert_eq!(cache.draft(C).unwrap().unwrap().text, "half a thought");
    assert_eq!(cache.outbox(None).unwrap().len(), 1);
    // Accents folded, prefixes match while typing, snippets highlight.
    let hits = cache.search(&typed("cafe meet"), None, 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0]
            .snippet
            .iter()
            .any(|p| p.highlight && p.text == "Café")
    );
    assert_eq!(
        cache.search(&typed("quarter"), Some(C), 10).unwrap().len(),
        1
    );
    assert!(
        cache
            .search(&typed("report"), Some(ConversationId(5)), 10)
            .unwrap()
            .is_empty()
    );
    // Syntax that would break a raw FTS5 query is just text.
    assert!(
        cache
            .search(&typed("\"unbalanced NEAR(x) col:y ^z"), None, 10)
            .unwrap()
            .is_empty()
    );
    cache.set_draft(C, "", None).unwrap();
    assert!(cache.draft(C).unwrap().is_none());
}

#[test]
fn the_media_cache_evicts_least_recently_used_files_beyond_its_cap() {
    let cache = Cache::in_memory().unwrap();
    assert!(!cache.media_touch("a", 400).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(3));
    cache.media_touch("b", 400).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    // "a" is used again: "b" is now the least recently used.
    assert!(cache.media_touch("a", 400).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(3));
    cache.media_touch("c", 400).unwrap();
    assert_eq!(cache.media_bytes().unwrap(), 1200);
    // A cap of 900 bytes: "b" goes; "c" (just fetched) never does.
    assert_eq!(cache.media_evict(900, "c").unwrap(), ["b"]);
    assert_eq!(cache.media_bytes().unwrap(), 800);
    assert!(cache.media_evict(900, "c").unwrap().is_empty());
    // Even a tiny cap keeps the file being opened.
    assert_eq!(cache.media_evict(1, "c").unwrap(), ["a"]);
    assert_eq!(cache.media_bytes().unwrap(), 400);
}

#[test]
fn loose_messages_fill_threads_and_pins_without_faking_contiguous_history() {
    let cache = Cache::in_memory().unwrap();
    let page = MessagePage {
        items: (60..=100).map(|s| message(s, PEER, "x")).collect(),
        has_more_before: true,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &conversation(100), &page).unwrap();
    // A thread far back in history, fetched on its own: its root (pinned) and two replies.
    let mut root = message(10, PEER, "root");
    root.pinned = true;
    root.reply_count = 2;
    let mut first = message(11, ME, "first reply");
    first.reply_to = Some(root.id);
    let mut second = message(30, PEER, "second reply");
    second.reply_to = Some(root.id);
    cache
        .store_loose(ME, &[root.clone(), first, second])
        .unwrap();
    let thread: Vec<String> = cache
        .thread(root.id)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(thread, ["first reply", "second reply"]);
    assert_eq!(cache.message(root.id).unwrap().unwrap().text, "root");
    // The gap between them and the contiguous range is still the server's to fill.
    let (items, needs) = cache.messages(C, Some(60), 50).unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        needs,
        "loose messages do not make older history look complete"
    );
    // Pins: the cached pinned messages, newest first.
    let mut newer_pin = message(90, ME, "newer pin");
    newer_pin.pinned = true;
    cache.store_loose(ME, &[newer_pin]).unwrap();
    let pinned: Vec<String> = cache
        .pinned(C)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(pinned, ["newer pin", "root"]);
    assert!(cache.pinned(ConversationId(999)).unwrap().is_empty());
}

/// The offline side of the search language: the same filters as the server's, applied in the
/// cache's query (a page of one still finds an older match behind newer non-matches), and the
/// server's errors for what does not parse.
#[test]
fn offline_search_speaks_the_same_language() {
    use jeco_shared::media::{Attachment, AttachmentKind};
    use jeco_shared::search::query::QueryError;
    let cache = Cache::in_memory().unwrap();
    let user = |id: UserId, name: &str| jeco_shared::users::User {
        id,
        username: name.into(),
        display_name: None,
        bio: None,
        status_text: None,
        is_admin: false,
        deactivated: false,
        created_at: "2026-11-23T10:00:00Z".into(),
        avatar: None,
    };
    cache
        .upsert_users(&[user(ME, "me"), user(PEER, "peer")])
        .unwrap();
    const PLANS: ConversationId = ConversationId(20);
    let in_plans = |seq: i64, sender: UserId, text: &str, day: u32| Message {
        id: MessageId(200 + seq),
        conversation_id: PLANS,
        created_at: format!("2026-12-{day:02}T23:59:59.999Z"),
        ..message(seq, sender, text)
    };
    let mut with_file = in_plans(3, PEER, "budget attached", 3);
    with_file.attachments = vec![Attachment {
        id: jeco_shared::AttachmentId(1),
        kind: AttachmentKind::File,
        name: "budget.txt".into(),
        content_type: "text/plain".into(),
        size: 7,
        sha256: "0".repeat(64),
        width: None,
        height: None,
        duration_ms: None,
        waveform: None,
        has_thumbnail: false,
        created_at: "2026-12-03T00:00:00Z".into(),
    }];
    let plans_page = MessagePage {
        items: vec![
            in_plans(1, PEER, "budget draft", 1),
            in_plans(2, ME, "budget review", 2),
            with_file,
        ],
        has_more_before: false,
        has_more_after: false,
    };
    let plans = Conversation {
        id: PLANS,
        kind: ConversationKind::Group,
        name: Some("Plans".into()),
        ..conversation(3)
    };
    cache.store_snapshot(ME, &plans, &plans_page).unwrap();
    // Many newer matches elsewhere (the direct conversation), all by me.
    let noise = MessagePage {
        items: (1..=30)
            .map(|seq| Message {
                created_at: "2026-12-05T10:00:00Z".into(),
                ..message(seq, ME, "budget noise")
            })
            .collect(),
        has_more_before: false,
        has_more_after: false,
    };
    cache.store_snapshot(ME, &conversation(30), &noise).unwrap();
    let find = |q: &str, limit| -> Vec<String> {
        cache
            .search(&SearchQuery::parse(q).unwrap(), None, limit)
            .unwrap()
            .into_iter()
            .map(|h| h.message.text)
            .collect()
    };
    assert_eq!(find("budget", 100).len(), 33);
    assert_eq!(find("budget from:@peer", 1), ["budget attached"]);
    assert_eq!(
        find("budget from:PEER", 5),
        ["budget attached", "budget draft"]
    );
    assert_eq!(find("budget in:#plans", 1), ["budget attached"]);
    assert_eq!(find("budget in:#PLANS from:@me", 5), ["budget review"]);
    assert_eq!(find("has:file", 5), ["budget attached"]);
    // Days are UTC and exclusive: before the day began, after it ended (a message at
    // 23:59:59.999 on the 2nd is on the 2nd).
    assert_eq!(find("budget before:2026-12-02", 5), ["budget draft"]);
    assert_eq!(
        find("budget after:2026-12-01 before:2026-12-03", 5),
        ["budget review"]
    );
    assert_eq!(find("budget after:2026-12-04", 1), ["budget noise"]);
    // Filters only: every cached message passing them, newest first, text as the snippet.
    let only = cache
        .search(
            &SearchQuery::parse("in:#plans from:@peer").unwrap(),
            None,
            5,
        )
        .unwrap();
    assert_eq!(only.len(), 2);
    assert_eq!(only[1].snippet[0].text, "budget draft");
    assert!(only.iter().all(|h| h.snippet.iter().all(|p| !p.highlight)));
    assert!(find("from:@nobody", 5).is_empty());
    assert!(find("in:#nowhere", 5).is_empty());
    // FTS5 syntax and SQL are text; what does not parse is the server's error, not FTS5's.
    assert!(find("NEAR(budget draft) col:budget ^budget", 5).is_empty());
    assert!(find("budget' OR '1'='1 from:@x'--", 5).is_empty());
    assert_eq!(
        SearchQuery::parse("budget before:tomorrow"),
        Err(QueryError::BadFilter {
            filter: "before:",
            expected: "a date as YYYY-MM-DD, as in before:2026-12-01"
        })
    );
}

#[test]
fn the_last_opened_conversation_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("account.sqlite3");
    {
        let cache = Cache::open(&path).unwrap();
        assert_eq!(cache.last_opened().unwrap(), None);
        cache.set_last_opened(ConversationId(7)).unwrap();
        cache.set_last_opened(C).unwrap();
    }
    let cache = Cache::open(&path).unwrap();
    assert_eq!(cache.last_opened().unwrap(), Some(C));
}

fn notification(id: i64, conversation: Option<ConversationId>) -> Notification {
    Notification {
        id: NotificationId(id),
        kind: jeco_shared::notifications::NotificationKind::DirectMessage,
        actor_id: Some(PEER),
        conversation_id: conversation,
        message_id: Some(MessageId(100 + id)),
        contact_request_id: None,
        team_id: None,
        preview: format!("n{id}"),
        created_at: "2026-11-23T10:00:00Z".into(),
        read_at: None,
    }
}

#[test]
fn a_conversations_unread_notifications_and_their_read_marks_coalesce() {
    let cache = seeded();
    for n in [
        notification(1, Some(C)),
        notification(2, Some(ConversationId(11))),
        notification(3, Some(C)),
        notification(4, None),
    ] {
        cache.upsert_notification(&n).unwrap();
    }
    cache
        .mark_notifications_read(NotificationId(1), true)
        .unwrap();
    let unread: Vec<i64> = cache
        .unread_notifications(C)
        .unwrap()
        .iter()
        .map(|n| n.id.0)
        .collect();
    assert_eq!(unread, vec![3], "only this conversation's, only unread");

    // Later marks join the one queued, without repeats.
    let ids = |v: &[i64]| v.iter().map(|&i| NotificationId(i)).collect::<Vec<_>>();
    let first = cache
        .enqueue(C, OutboxOp::MarkNotificationsRead { ids: ids(&[3, 1]) })
        .unwrap();
    assert!(matches!(first, Enqueued::Queued(_)));
    let second = cache
        .enqueue(C, OutboxOp::MarkNotificationsRead { ids: ids(&[5, 3]) })
        .unwrap();
    assert!(matches!(second, Enqueued::Rewrote(_)));
    let queued = cache.outbox(Some(C)).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0].op,
        OutboxOp::MarkNotificationsRead {
            ids: ids(&[1, 3, 5])
        }
    );
}
