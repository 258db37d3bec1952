//! Conformance checks (see `suite.rs`): messages — edits, deletes, reactions, pins, replies and
//! threads, history anchors, the notification inbox, mutes, search input that must never break
//! the backend's query, and batches that lock several conversations at once.

use crate::suite::Fresh;
use jeco_server::search_query::SearchQuery;
use jeco_server::storage::{
    Admission, EventData, HistoryAnchor, MentionSet, MessageNotification, MessageRecord,
    MessageSearch, NewGroup, NewMessage, NewUser, NotifyPlan, RootTally, SendOutcome, Storage,
    StorageError, UserEventData,
};
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ConversationId, MessageId, NotificationId, UserId};

async fn people(s: &dyn Storage, names: &[&str]) -> Vec<UserId> {
    let mut out = Vec::new();
    for name in names {
        let user = s
            .create_user(NewUser {
                username: (*name).into(),
                password_hash: "h".into(),
                display_name: None,
                is_admin: false,
                created_at_ms: 1,
            })
            .await
            .unwrap();
        out.push(user.id);
    }
    out
}

async fn room(s: &dyn Storage, name: &str, owner: UserId, members: &[UserId]) -> ConversationId {
    s.create_group(NewGroup {
        name: name.into(),
        owner,
        members: members.to_vec(),
        now_ms: 1,
        added_preview: None,
    })
    .await
    .unwrap()
    .0
    .id
}

fn say(conversation: ConversationId, sender: UserId, key: &str, body: &str) -> NewMessage {
    NewMessage {
        conversation_id: conversation,
        sender_id: sender,
        client_id: key.into(),
        body: body.into(),
        reply_to: None,
        thread_only: false,
        mentions: MentionSet::default(),
        attachments: Vec::new(),
        notify: NotifyPlan::none(),
        admission: Admission::always(),
        now_ms: 5,
    }
}

async fn send(s: &dyn Storage, m: NewMessage) -> MessageRecord {
    match s.send_message(m).await {
        Ok(SendOutcome::Created { message, .. }) => message,
        other => panic!("expected created, got {other:?}"),
    }
}

async fn last_seq(s: &dyn Storage, c: ConversationId) -> i64 {
    s.conversation(c).await.unwrap().unwrap().last_seq
}

/// An edit changes the text, mentions and edit time and is an event; a delete leaves a tombstone
/// (no text, mentions, reactions or pin) and is an event; both refuse a message that does not
/// exist, without taking a position.
pub async fn edits_and_deletes_change_the_row_and_append_events(s: Fresh) {
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let r = room(&*s, "r", ann, &[ben]).await;
    let m = send(&*s, say(r, ann, "1", "first words")).await;
    let mentions = MentionSet {
        users: vec![ben],
        channel: true,
        here: false,
    };
    let edited = s
        .edit_message(m.id, ann, "second words".into(), mentions.clone(), 20)
        .await
        .unwrap();
    assert_eq!(edited.events.len(), 1);
    assert!(matches!(
        &edited.events[0].data,
        EventData::MessageEdited { message, body, edited_at_ms: 20, .. }
            if *message == m.id && body == "second words"
    ));
    assert_eq!(edited.recipients, vec![ann, ben]);
    let now = s.message(m.id).await.unwrap().unwrap();
    assert_eq!(now.body, "second words");
    assert_eq!(now.edited_at_ms, Some(20));
    assert_eq!(now.mentions, mentions);
    assert_eq!(now.created_at_ms, m.created_at_ms);

    s.set_reaction(m.id, ben, "👍".into(), Some(true), 21)
        .await
        .unwrap();
    s.set_pinned(m.id, ann, true, 22).await.unwrap().unwrap();
    let deleted = s.delete_message(m.id, ann, 30).await.unwrap();
    assert!(matches!(
        deleted.events[0].data,
        EventData::MessageDeleted { message, thread: None } if message == m.id
    ));
    let gone = s.message(m.id).await.unwrap().unwrap();
    assert_eq!(gone.body, "");
    assert_eq!(gone.deleted_at_ms, Some(30));
    assert!(!gone.pinned);
    assert!(gone.reactions.is_empty());
    assert_eq!(gone.mentions, MentionSet::default());
    assert!(s.pins(r).await.unwrap().is_empty());

    let head = last_seq(&*s, r).await;
    assert!(matches!(
        s.edit_message(MessageId(9999), ann, "x".into(), MentionSet::default(), 40)
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.delete_message(MessageId(9999), ann, 40).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.set_reaction(MessageId(9999), ann, "a".into(), None, 40)
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.set_pinned(MessageId(9999), ann, true, 40).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(
        last_seq(&*s, r).await,
        head,
        "no position for a refused change"
    );
}

/// A reaction toggles, or is set to a wanted state (no event when it already is); the answer is
/// whether it is present and the message's reactions.
pub async fn reactions_toggle_or_set_and_report_the_messages_reactions(s: Fresh) {
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let r = room(&*s, "r", ann, &[ben]).await;
    let m = send(&*s, say(r, ann, "1", "hello")).await;
    let (on, reactions, committed) = s
        .set_reaction(m.id, ben, "🎉".into(), None, 10)
        .await
        .unwrap();
    assert!(on);
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].users, vec![ben]);
    assert!(matches!(
        &committed.unwrap().events[0].data,
        EventData::ReactionAdded { user, emoji, .. } if *user == ben && emoji == "🎉"
    ));
    let (on, _, committed) = s
        .set_reaction(m.id, ben, "🎉".into(), Some(true), 11)
        .await
        .unwrap();
    assert!(on);
    assert!(committed.is_none(), "already there: nothing changes");
    s.set_reaction(m.id, ann, "🎉".into(), Some(true), 12)
        .await
        .unwrap();
    let (on, reactions, committed) = s
        .set_reaction(m.id, ben, "🎉".into(), None, 13)
        .await
        .unwrap();
    assert!(!on);
    assert_eq!(reactions[0].users, vec![ann]);
    assert!(matches!(
        &committed.unwrap().events[0].data,
        EventData::ReactionRemoved { user, .. } if *user == ben
    ));
    let (on, _, committed) = s
        .set_reaction(m.id, ben, "🎉".into(), Some(false), 14)
        .await
        .unwrap();
    assert!(!on);
    assert!(committed.is_none());
}

/// Concurrent toggles of one reaction each see the other's result: an even number of toggles
/// leaves it absent, and every change is one event.
pub async fn concurrent_reaction_toggles_are_serialized(s: Fresh) {
    let p = people(&*s, &["ann"]).await;
    let ann = p[0];
    let r = room(&*s, "r", ann, &[]).await;
    let m = send(&*s, say(r, ann, "1", "hello")).await;
    let head = last_seq(&*s, r).await;
    // Joined on one task, each on its own connection: concurrent on a backend with a pool.
    let toggles = (0..8).map(|i| s.set_reaction(m.id, ann, "x".into(), None, 10 + i));
    for changed in futures_util::future::join_all(toggles).await {
        assert!(
            changed.unwrap().2.is_some(),
            "every toggle changes something"
        );
    }
    assert!(s.message(m.id).await.unwrap().unwrap().reactions.is_empty());
    assert_eq!(last_seq(&*s, r).await, head + 8);
}

/// Pins: most recently pinned first; pinning twice or unpinning what is not pinned is no change;
/// a deleted message cannot be pinned.
pub async fn pins_are_listed_newest_first_and_change_once(s: Fresh) {
    let p = people(&*s, &["ann"]).await;
    let ann = p[0];
    let r = room(&*s, "r", ann, &[]).await;
    let a = send(&*s, say(r, ann, "a", "a")).await;
    let b = send(&*s, say(r, ann, "b", "b")).await;
    let c = send(&*s, say(r, ann, "c", "c")).await;
    assert!(matches!(
        s.set_pinned(b.id, ann, true, 10).await.unwrap().unwrap().events[0].data,
        EventData::Pinned { message } if message == b.id
    ));
    s.set_pinned(a.id, ann, true, 11).await.unwrap().unwrap();
    assert!(s.set_pinned(a.id, ann, true, 12).await.unwrap().is_none());
    let pins: Vec<MessageId> = s.pins(r).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(pins, [a.id, b.id]);
    assert!(s.message(a.id).await.unwrap().unwrap().pinned);
    assert!(matches!(
        s.set_pinned(a.id, ann, false, 13).await.unwrap().unwrap().events[0].data,
        EventData::Unpinned { message } if message == a.id
    ));
    assert!(s.set_pinned(a.id, ann, false, 14).await.unwrap().is_none());
    s.delete_message(c.id, ann, 15).await.unwrap();
    assert!(s.set_pinned(c.id, ann, true, 16).await.unwrap().is_none());
    let pins: Vec<MessageId> = s.pins(r).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(pins, [b.id]);
}

/// Replies: thread-only ones stay out of the channel's history; a root counts its live replies
/// and names its newest distinct repliers; `replies` pages after a position; `threads_of` lists
/// the threads a user wrote or replied to, newest reply first.
pub async fn replies_threads_and_thread_only_replies(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (p[0], p[1], p[2]);
    let r = room(&*s, "r", ann, &[ben, cat]).await;
    let root = send(&*s, say(r, ann, "root", "the root")).await;
    let other_root = send(&*s, say(r, cat, "other", "another root")).await;
    let reply =
        |key: &str, sender: UserId, parent: MessageId, thread_only: bool, at: i64| NewMessage {
            reply_to: Some(parent),
            thread_only,
            now_ms: at,
            ..say(r, sender, key, key)
        };
    let r1 = send(&*s, reply("r1", ben, root.id, true, 10)).await;
    assert!(r1.thread_only);
    let r2 = send(&*s, reply("r2", cat, root.id, false, 11)).await;
    let r3 = send(&*s, reply("r3", ben, root.id, true, 12)).await;
    send(&*s, reply("r4", ann, other_root.id, true, 13)).await;
    // thread_only without a parent is an ordinary message.
    let plain = send(
        &*s,
        NewMessage {
            thread_only: true,
            ..say(r, ann, "plain", "plain")
        },
    )
    .await;
    assert!(!plain.thread_only);

    let history: Vec<MessageId> = s
        .history(r, HistoryAnchor::Latest, 50)
        .await
        .unwrap()
        .items
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(history, [root.id, other_root.id, r2.id, plain.id]);

    let root_now = s.message(root.id).await.unwrap().unwrap();
    assert_eq!(root_now.reply_count, 3);
    assert_eq!(root_now.last_repliers, [ben, cat]);

    let page = s.replies(root.id, 0, 2).await.unwrap();
    assert_eq!(
        page.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [r1.id, r2.id]
    );
    assert!(page.more_after);
    assert!(!page.more_before);
    let page = s.replies(root.id, r2.seq, 2).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), [r3.id]);
    assert!(!page.more_after);
    assert!(page.more_before);

    // Ben replied to the root only; Ann wrote the root and replied to the other one.
    let threads = |user| {
        let s = &s;
        async move {
            s.threads_of(user, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|(m, newest)| (m.id, newest))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(threads(ben).await, [(root.id, 12)]);
    assert_eq!(threads(ann).await, [(other_root.id, 13), (root.id, 12)]);
    // A deleted reply no longer counts, and its event says what the root counts now (a client
    // that never held the reply learns the root's tally from it).
    let deleted = s.delete_message(r3.id, ben, 20).await.unwrap();
    let root_now = s.message(root.id).await.unwrap().unwrap();
    assert_eq!(root_now.reply_count, 2);
    assert_eq!(root_now.last_repliers, [cat, ben]);
    assert_eq!(
        deleted.events[0].data,
        EventData::MessageDeleted {
            message: r3.id,
            thread: Some(RootTally {
                root: root.id,
                replies: 2,
                repliers: vec![cat, ben],
            }),
        }
    );
    assert_eq!(threads(ben).await, [(root.id, 11)]);
    assert_eq!(s.threads_of(ann, 1).await.unwrap().len(), 1);
}

/// History pages around each kind of anchor, with the right "more" flags.
pub async fn history_pages_by_each_anchor(s: Fresh) {
    let p = people(&*s, &["ann"]).await;
    let ann = p[0];
    let r = room(&*s, "r", ann, &[]).await;
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(send(&*s, say(r, ann, &format!("{i}"), &format!("m{i}"))).await);
    }
    let ids = |page: &jeco_server::storage::HistoryPage| -> Vec<MessageId> {
        page.items.iter().map(|m| m.id).collect()
    };
    let want = |range: std::ops::Range<usize>| -> Vec<MessageId> {
        all[range].iter().map(|m| m.id).collect()
    };
    let latest = s.history(r, HistoryAnchor::Latest, 3).await.unwrap();
    assert_eq!(ids(&latest), want(4..7));
    assert!(latest.more_before && !latest.more_after);
    let everything = s.history(r, HistoryAnchor::Latest, 7).await.unwrap();
    assert_eq!(ids(&everything), want(0..7));
    assert!(!everything.more_before);

    let before = s
        .history(r, HistoryAnchor::Before(all[4].seq), 3)
        .await
        .unwrap();
    assert_eq!(ids(&before), want(1..4));
    assert!(before.more_before && before.more_after);
    let first = s
        .history(r, HistoryAnchor::Before(all[2].seq), 3)
        .await
        .unwrap();
    assert_eq!(ids(&first), want(0..2));
    assert!(!first.more_before && first.more_after);

    let after = s
        .history(r, HistoryAnchor::After(all[1].seq), 3)
        .await
        .unwrap();
    assert_eq!(ids(&after), want(2..5));
    assert!(after.more_before && after.more_after);
    let end = s
        .history(r, HistoryAnchor::After(all[4].seq), 3)
        .await
        .unwrap();
    assert_eq!(ids(&end), want(5..7));
    assert!(end.more_before && !end.more_after);

    let around = s
        .history(r, HistoryAnchor::Around(all[3].id), 4)
        .await
        .unwrap();
    assert_eq!(ids(&around), want(1..5));
    assert!(around.more_before && around.more_after);
    assert!(matches!(
        s.history(r, HistoryAnchor::Around(MessageId(9999)), 4)
            .await,
        Err(StorageError::NotFound)
    ));
}

/// The inbox: newest first, a cursor, unread only; read one (once; someone else's is not found),
/// read all (up to the newest), unread counts; mutes are listed.
pub async fn the_notification_inbox_reads_and_counts(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (p[0], p[1], p[2]);
    let r = room(&*s, "r", ann, &[ben, cat]).await;
    let quiet = room(&*s, "q", ann, &[ben]).await;
    let mut sent = Vec::new();
    for i in 0..4 {
        let m = send(
            &*s,
            NewMessage {
                notify: NotifyPlan::fixed(vec![
                    MessageNotification {
                        user_id: ben,
                        kind: NotificationKind::Mention,
                    },
                    MessageNotification {
                        user_id: cat,
                        kind: NotificationKind::Reply,
                    },
                ]),
                ..say(r, ann, &format!("{i}"), &format!("note {i}"))
            },
        )
        .await;
        sent.push(m.id);
    }
    let listed = s.notifications(ben, false, None, 10).await.unwrap();
    let messages: Vec<Option<MessageId>> = listed.iter().map(|n| n.message_id).collect();
    assert_eq!(
        messages,
        sent.iter().rev().map(|&m| Some(m)).collect::<Vec<_>>()
    );
    assert!(listed.iter().all(|n| n.user_id == ben
        && n.kind == NotificationKind::Mention
        && n.actor_id == Some(ann)
        && n.conversation_id == Some(r)
        && n.read_at_ms.is_none()));
    let page = s
        .notifications(ben, false, Some(listed[1].id), 10)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|n| n.id).collect::<Vec<_>>(),
        [listed[2].id, listed[3].id]
    );
    assert_eq!(s.notifications(ben, false, None, 2).await.unwrap().len(), 2);
    assert_eq!(s.unread_notifications(ben).await.unwrap(), 4);

    let read = s
        .mark_notification_read(ben, listed[1].id, 50)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        read.user_events[0].data,
        UserEventData::NotificationRead { notification } if notification == listed[1].id
    ));
    assert!(
        s.mark_notification_read(ben, listed[1].id, 51)
            .await
            .unwrap()
            .is_none(),
        "read already"
    );
    assert!(matches!(
        s.mark_notification_read(cat, listed[0].id, 52).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.mark_notification_read(ben, NotificationId(99_999), 52)
            .await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(s.unread_notifications(ben).await.unwrap(), 3);
    let unread = s.notifications(ben, true, None, 10).await.unwrap();
    assert_eq!(unread.len(), 3);
    assert!(unread.iter().all(|n| n.id != listed[1].id));
    let all_read = s
        .notifications(ben, false, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.id == listed[1].id)
        .unwrap();
    assert_eq!(all_read.read_at_ms, Some(50));

    let everything = s
        .mark_all_notifications_read(ben, 60)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        everything.user_events[0].data,
        UserEventData::NotificationsReadAll { up_to } if up_to == listed[0].id
    ));
    assert_eq!(s.unread_notifications(ben).await.unwrap(), 0);
    assert!(
        s.notifications(ben, true, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.mark_all_notifications_read(ben, 61)
            .await
            .unwrap()
            .is_none(),
        "nothing left to read"
    );
    assert_eq!(s.unread_notifications(cat).await.unwrap(), 4, "cat's stay");
    // The user log holds every notification and read, in order.
    let head = s.user_event_head(ben).await.unwrap();
    let log = s.user_events_after(ben, 0, 100).await.unwrap();
    assert_eq!(log.last().unwrap().seq, head);
    assert!(log.windows(2).all(|w| w[1].seq == w[0].seq + 1));

    // Mutes.
    assert!(s.muted_conversations(ben).await.unwrap().is_empty());
    s.set_muted(quiet, ben, true, 70).await.unwrap();
    s.set_muted(quiet, ben, true, 71).await.unwrap();
    assert_eq!(s.muted_conversations(ben).await.unwrap(), [quiet]);
    s.set_muted(quiet, ben, false, 72).await.unwrap();
    s.set_muted(quiet, ben, false, 73).await.unwrap();
    assert!(s.muted_conversations(ben).await.unwrap().is_empty());
}

fn search_for(user: UserId, q: &SearchQuery) -> MessageSearch {
    MessageSearch {
        user,
        text: q.text.clone(),
        conversation: None,
        author: None,
        from_usernames: q.filters.from.clone(),
        in_names: q.filters.in_names.clone(),
        has_file: q.filters.has_file,
        after_ms: None,
        before_ms: None,
        older_than: None,
        limit: 20,
    }
}

/// Whatever the user types, a query that parses is answered (no backend syntax error): quotes,
/// the full-text syntax of SQLite and PostgreSQL, SQL, NUL, lone operators; and the language's
/// own phrases, prefixes, OR, NOT and grouping find what they should on every backend.
pub async fn search_survives_hostile_input_and_keeps_its_meaning(s: Fresh) {
    let p = people(&*s, &["ann"]).await;
    let ann = p[0];
    let r = room(&*s, "r", ann, &[]).await;
    let quarterly = send(&*s, say(r, ann, "1", "the quarterly report is late")).await;
    let unicode = send(&*s, say(r, ann, "2", "Ünïcödé café text")).await;
    let quote = send(
        &*s,
        say(r, ann, "3", "it's o'clock: a\\b & c | d ! e <-> f"),
    )
    .await;
    let late_report = send(&*s, say(r, ann, "4", "late report")).await;
    for q in [
        "'",
        "''",
        "\\",
        "'\\'",
        "a' | 'b",
        "!",
        "!!",
        "&",
        "|",
        "<->",
        "<2>",
        "a:*",
        ":*",
        "'':*",
        "a & b | !c",
        "(a",
        "a)",
        "\"\"",
        "\"'\"*",
        "\"a b\"*",
        "*",
        "x*",
        "\u{0}",
        "a\u{0}b*",
        "'; DROP TABLE messages; --",
        "$1",
        "$$",
        "NEAR(a b)",
        "col:x",
        "^x",
        "{a b}",
        "report OR",
        "NOT report",
        "report NOT",
        "\"report\" OR (late NOT \"is late\"*)",
        "日本語*",
        "…",
        "%_",
        "from:@x'y in:#a'b report",
    ] {
        let Ok(parsed) = SearchQuery::parse(q) else {
            continue;
        };
        let result = s.search_messages(search_for(ann, &parsed)).await;
        assert!(result.is_ok(), "{q:?}: {:?}", result.err());
    }
    let find = |q: &str| {
        let s = &s;
        let q = q.to_owned();
        async move {
            let parsed = SearchQuery::parse(&q).unwrap();
            let mut ids: Vec<MessageId> = s
                .search_messages(search_for(ann, &parsed))
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.message.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(find("report").await, [quarterly.id, late_report.id]);
    assert_eq!(find("\"is report\"").await, []);
    assert_eq!(find("\"report is late\"").await, [quarterly.id]);
    assert_eq!(find("\"late report\"").await, [late_report.id]);
    assert_eq!(find("quart*").await, [quarterly.id]);
    assert_eq!(find("\"quarterly rep\"*").await, [quarterly.id]);
    assert_eq!(find("report NOT quarterly").await, [late_report.id]);
    assert_eq!(find("quarterly OR cafe").await, [quarterly.id, unicode.id]);
    assert_eq!(find("unicode").await, [unicode.id], "accents fold");
    assert_eq!(
        find("(report OR text) NOT (late OR nothing)").await,
        [unicode.id]
    );
    assert_eq!(find("clock").await, [quote.id]);
    assert_eq!(find("o'clock").await, [quote.id]);
}

/// Batches that each span the same conversations in opposite orders, sent at once, all commit:
/// conversation rows and the notified users' logs are locked in one order, so concurrent
/// batches never deadlock (one would be aborted). Every position is taken once.
pub async fn concurrent_batches_over_the_same_conversations_all_commit(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (p[0], p[1], p[2]);
    let a = room(&*s, "a", ann, &[ben, cat]).await;
    let b = room(&*s, "b", ann, &[ben, cat]).await;
    let notify = move || {
        NotifyPlan::fixed(vec![
            MessageNotification {
                user_id: ben,
                kind: NotificationKind::Mention,
            },
            MessageNotification {
                user_id: cat,
                kind: NotificationKind::Mention,
            },
        ])
    };
    let (head_a, head_b) = (last_seq(&*s, a).await, last_seq(&*s, b).await);
    const BATCHES: usize = 12;
    let batches = (0..BATCHES).map(|i| {
        let order = if i % 2 == 0 { [a, b] } else { [b, a] };
        let batch = (0..4)
            .map(|j| NewMessage {
                notify: notify(),
                ..say(order[j % 2], ann, &format!("{i}-{j}"), "hello")
            })
            .collect();
        s.send_messages(batch)
    });
    for outcomes in futures_util::future::join_all(batches).await {
        for o in outcomes.expect("the batch commits") {
            assert!(matches!(o, Ok(SendOutcome::Created { .. })), "{o:?}");
        }
    }
    assert_eq!(last_seq(&*s, a).await, head_a + 2 * BATCHES as i64);
    assert_eq!(last_seq(&*s, b).await, head_b + 2 * BATCHES as i64);
    assert_eq!(
        s.unread_notifications(ben).await.unwrap(),
        4 * BATCHES as u32
    );
    let log = s.user_events_after(cat, 0, 1000).await.unwrap();
    assert!(log.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}

/// A prefix search over many conversations finds every match in the user's conversations, newest
/// first across them, and pages by the last id seen without gaps or repeats; never a conversation
/// the user is not in, nor a deleted message; the matched words are highlighted in each snippet.
/// (On PostgreSQL, a common prefix is where the plan matters: see `storage/postgres/search.rs`.)
pub async fn prefix_search_pages_newest_first_across_conversations(s: Fresh) {
    use jeco_server::storage::search::{HIGHLIGHT_END, HIGHLIGHT_START};
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let mut shared = Vec::new();
    for i in 0..4 {
        shared.push(room(&*s, &format!("shared {i}"), ann, &[ben]).await);
    }
    let private = room(&*s, "private", ann, &[]).await;
    let mut expected = Vec::new();
    for i in 0..30 {
        let body = match i % 3 {
            0 => format!("a kayak, number {i}"),
            1 => format!("the kale salad {i}"),
            _ => format!("canoe {i} Karaoke"),
        };
        let m = send(&*s, say(shared[i % 4], ann, &format!("m{i}"), &body)).await;
        expected.push(m.id);
        let elsewhere = format!("kayak in private {i}");
        send(&*s, say(private, ann, &format!("p{i}"), &elsewhere)).await;
        if i % 5 == 0 {
            send(&*s, say(shared[i % 4], ann, &format!("n{i}"), "no match")).await;
        }
    }
    let gone = send(&*s, say(shared[0], ann, "gone", "kayak, deleted")).await;
    s.delete_message(gone.id, ann, 9).await.unwrap();
    expected.reverse();

    let page_size = 7;
    let mut got = Vec::new();
    let mut older_than = None;
    loop {
        let mut q = search_for(ben, &SearchQuery::parse("ka*").unwrap());
        q.limit = page_size;
        q.older_than = older_than;
        let page = s.search_messages(q).await.unwrap();
        for hit in &page {
            let marked = hit
                .snippet
                .split(HIGHLIGHT_START)
                .nth(1)
                .and_then(|rest| rest.split(HIGHLIGHT_END).next())
                .unwrap_or_else(|| panic!("no highlight in {:?}", hit.snippet));
            assert!(marked.to_lowercase().starts_with("ka"), "{:?}", hit.snippet);
        }
        got.extend(page.iter().map(|h| h.message.id));
        if page.len() < page_size as usize {
            break;
        }
        older_than = got.last().copied();
    }
    assert_eq!(got, expected);
}

/// Old matches in the user's conversations are found, newest first and paged without gaps or
/// repeats, past newer matches in conversations the user is not in; a page can hold new matches
/// and old ones together. (On PostgreSQL a search walks the newest messages and looks up the
/// rest another way: this is the seam, crossed on every page when the walk is a few rows, as in
/// the `postgres_short_search_walk` run; see `storage/postgres/search.rs`.)
pub async fn old_matches_are_found_past_newer_traffic_elsewhere(s: Fresh) {
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let old = room(&*s, "old", ann, &[]).await;
    let busy = room(&*s, "busy", ben, &[]).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let m = send(
            &*s,
            say(old, ann, &format!("o{i}"), &format!("kayak old {i}")),
        )
        .await;
        expected.push(m.id);
    }
    let mut elsewhere = Vec::new();
    for i in 0..40 {
        let m = send(
            &*s,
            say(busy, ben, &format!("b{i}"), &format!("kayak busy {i}")),
        )
        .await;
        elsewhere.push(m.id);
    }
    for i in 0..2 {
        let m = send(
            &*s,
            say(old, ann, &format!("n{i}"), &format!("kayak new {i}")),
        )
        .await;
        expected.push(m.id);
    }
    expected.reverse();
    elsewhere.reverse();

    let pages = |user: UserId, q: &'static str, page_size: u32| {
        let s = &s;
        async move {
            let mut got = Vec::new();
            let mut older_than = None;
            loop {
                let mut search = search_for(user, &SearchQuery::parse(q).unwrap());
                search.limit = page_size;
                search.older_than = older_than;
                let page = s.search_messages(search).await.unwrap();
                got.extend(page.iter().map(|h| h.message.id));
                if page.len() < page_size as usize {
                    return got;
                }
                older_than = got.last().copied();
            }
        }
    };
    for q in ["kayak", "kay*", "old OR new"] {
        assert_eq!(pages(ann, q, 4).await, expected, "{q}");
        assert_eq!(pages(ann, q, 50).await, expected, "{q}");
    }
    assert_eq!(pages(ann, "kayak in:#old", 3).await, expected);
    assert_eq!(pages(ann, "kayak in:#busy", 3).await, []);
    assert_eq!(pages(ben, "kay*", 7).await, elsewhere);
    // Pages of 4 and 2: with a short walk (PostgreSQL's suite with a window of 3), the first
    // window holds one of ben's matches, dense enough for a second walk before the lookup, so
    // pages cross both seams.
    assert_eq!(pages(ben, "kayak", 4).await, elsewhere);
    assert_eq!(pages(ben, "kayak busy", 2).await, elsewhere);
}
