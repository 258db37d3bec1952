//! The checks of the conformance suite: each takes a fresh, empty store ([`Fresh`]) and uses only
//! the storage traits, so any backend can run them (see `main.rs`).
//!
//! They pin down what the services rely on a backend for: positions (gap-free per conversation and
//! per user, visible in order, under concurrent writers), idempotent sends, refusals that write
//! nothing, invitations, notifications, replay, search, media records, login-failure counters and
//! refresh-token families.

use jeco_server::search_query::SearchQuery;
use jeco_server::storage::{
    AddedNotice, AddedTo, Admission, EventData, HistoryAnchor, LoginFailures, MentionSet,
    MessageNotification, MessageRecord, MessageSearch, NewAttachment, NewGroup, NewInvite,
    NewMessage, NewNotification, NewUser, NotifyPlan, ProfileChange, Redeemed, RefreshOutcome,
    SendOutcome, SendRefusal, Storage, StorageError, UploadAdmission, UploadRecord, UserEventData,
    UserRecord,
};
use jeco_server::storage::{BlobRecord, ThumbnailState};
use jeco_shared::conversations::ConversationKind;
use jeco_shared::media::AttachmentKind;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ConversationId, MessageId, UserId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty store, and whatever keeps it alive (a temporary directory, a database).
pub struct Fresh {
    store: Arc<dyn Storage>,
    _keep: Box<dyn Send>,
}

impl Fresh {
    pub fn new(store: Arc<dyn Storage>, keep: impl Send + 'static) -> Self {
        Self {
            store,
            _keep: Box::new(keep),
        }
    }
}

impl std::ops::Deref for Fresh {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        password_hash: "h".into(),
        display_name: None,
        is_admin: false,
        created_at_ms: 1,
    }
}

async fn users(s: &dyn Storage, names: &[&str]) -> Vec<UserId> {
    let mut out = Vec::new();
    for name in names {
        out.push(s.create_user(new_user(name)).await.unwrap().id);
    }
    out
}

async fn group(s: &dyn Storage, owner: UserId, members: &[UserId]) -> ConversationId {
    s.create_group(NewGroup {
        name: "room".into(),
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

fn message(conversation: ConversationId, sender: UserId, client_id: &str) -> NewMessage {
    NewMessage {
        conversation_id: conversation,
        sender_id: sender,
        client_id: client_id.into(),
        body: format!("text of {client_id}"),
        reply_to: None,
        thread_only: false,
        mentions: MentionSet::default(),
        attachments: Vec::new(),
        notify: NotifyPlan::none(),
        admission: Admission::always(),
        now_ms: 5,
    }
}

fn created(r: Result<SendOutcome, StorageError>) -> MessageRecord {
    match r {
        Ok(SendOutcome::Created { message, committed }) => {
            assert_eq!(committed.events[0].seq, message.seq);
            message
        }
        other => panic!("expected created, got {other:?}"),
    }
}

async fn last_seq(s: &dyn Storage, c: ConversationId) -> i64 {
    s.conversation(c).await.unwrap().unwrap().last_seq
}

/// `user`'s notifications, oldest first, as (kind, message, preview).
async fn inbox(
    s: &dyn Storage,
    user: UserId,
) -> Vec<(NotificationKind, Option<MessageId>, String)> {
    let mut v: Vec<_> = s
        .notifications(user, false, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind, n.message_id, n.preview))
        .collect();
    v.reverse();
    v
}

pub async fn usernames_are_unique(s: Fresh) {
    s.create_user(new_user("alice")).await.unwrap();
    assert!(matches!(
        s.create_user(new_user("alice")).await,
        Err(StorageError::Conflict)
    ));
}

pub async fn user_search_is_prefix_keyset_and_escapes_wildcards(s: Fresh) {
    for n in ["ann", "anna", "bob", "a_b"] {
        s.create_user(new_user(n)).await.unwrap();
    }
    let mut bob = s.user_by_username("bob").await.unwrap().unwrap();
    bob = s
        .update_profile(
            bob.id,
            ProfileChange {
                display_name: Some(Some("Annie Bob".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.display_name.as_deref(), Some("Annie Bob"));
    let names = |v: Vec<UserRecord>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(s.search_users("an", None, 10).await.unwrap()),
        ["ann", "anna", "bob"]
    );
    assert_eq!(
        names(s.search_users("an", None, 2).await.unwrap()),
        ["ann", "anna"]
    );
    assert_eq!(
        names(s.search_users("an", Some("anna"), 2).await.unwrap()),
        ["bob"]
    );
    assert_eq!(
        names(s.search_users("a_", None, 10).await.unwrap()),
        ["a_b"]
    );
}

/// Many writers on many conversations at once — single sends, batches, reactions — while readers
/// follow each conversation's log: every log ends up numbered 1, 2, 3… with no gap and no repeat,
/// each message's `seq` is its event's, and a reader never sees a position before the ones below
/// it (so a client that resumes "after 41" can never miss 41).
pub async fn positions_are_gap_free_under_concurrent_writers(s: Fresh) {
    const WRITERS: usize = 6;
    const CONVERSATIONS: usize = 4;
    const ROUNDS: usize = 6;
    let names: Vec<String> = (0..WRITERS).map(|i| format!("writer{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let people = users(&*s, &names).await;
    let mut rooms = Vec::new();
    for _ in 0..CONVERSATIONS {
        rooms.push(group(&*s, people[0], &people[1..]).await);
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for &room in &rooms {
        let store = s.store.clone();
        let done = done.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                for e in store.events_after(room, seen, 50).await.unwrap() {
                    assert_eq!(e.seq, seen + 1, "a reader saw a gap in {room:?}");
                    seen = e.seq;
                }
                if finished {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut writers = Vec::new();
    for (w, &user) in people.iter().enumerate() {
        for (r, &room) in rooms.iter().enumerate() {
            let store = s.store.clone();
            writers.push(tokio::spawn(async move {
                let mut sent = Vec::new();
                for round in 0..ROUNDS {
                    let key = |n: usize| format!("w{w}-r{r}-{round}-{n}");
                    if round % 2 == 0 {
                        sent.push(created(
                            store.send_message(message(room, user, &key(0))).await,
                        ));
                    } else {
                        let batch = (0..3).map(|n| message(room, user, &key(n))).collect();
                        for result in store.send_messages(batch).await.unwrap() {
                            sent.push(created(result));
                        }
                    }
                    let last = sent.last().unwrap().id;
                    store
                        .set_reaction(last, user, "👍".into(), Some(true), 6)
                        .await
                        .unwrap();
                }
                sent
            }));
        }
    }
    let mut sent: Vec<MessageRecord> = Vec::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    for (room, reader) in rooms.iter().zip(readers) {
        let seen = reader.await.unwrap();
        let head = last_seq(&*s, *room).await;
        assert_eq!(seen, head, "the reader reached the head of {room:?}");
        let events = s.events_after(*room, 0, 100_000).await.unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
        let in_room: Vec<&MessageRecord> =
            sent.iter().filter(|m| m.conversation_id == *room).collect();
        assert_eq!(in_room.len(), WRITERS * ROUNDS / 2 * 4);
        for m in in_room {
            let event = &events[(m.seq - 1) as usize];
            assert!(
                matches!(&event.data, EventData::MessageCreated { message } if message.id == m.id),
                "{event:?} is not the creation of {m:?}"
            );
        }
    }
}

/// Each user's own log is numbered 1, 2, 3… too, with notifications created concurrently by
/// messages and by other changes.
pub async fn user_positions_are_gap_free_under_concurrent_writers(s: Fresh) {
    let people = users(&*s, &["target", "a", "b", "c"]).await;
    let target = people[0];
    let room = group(&*s, people[1], &[target, people[2], people[3]]).await;
    let mut tasks = Vec::new();
    for (i, &sender) in people[1..].iter().enumerate() {
        let store = s.store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..8 {
                let key = format!("{i}-{n}");
                created(
                    store
                        .send_message(NewMessage {
                            notify: NotifyPlan::fixed(vec![MessageNotification {
                                user_id: target,
                                kind: NotificationKind::Mention,
                            }]),
                            ..message(room, sender, &key)
                        })
                        .await,
                );
                store
                    .create_notifications(vec![NewNotification {
                        user_id: target,
                        kind: NotificationKind::ContactAccepted,
                        actor_id: Some(sender),
                        contact_request_id: None,
                        preview: key,
                        now_ms: 7,
                    }])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let head = s.user_event_head(target).await.unwrap();
    let events = s.user_events_after(target, 0, 10_000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    let created_notifications = events
        .iter()
        .filter(|e| matches!(e.data, UserEventData::NotificationCreated { .. }))
        .count();
    assert_eq!(created_notifications, 3 * 8 * 2);
    // Replay after a position returns exactly the rest.
    let rest = s.user_events_after(target, head - 5, 100).await.unwrap();
    assert_eq!(rest, events[(head - 5) as usize..]);
}

pub async fn a_batch_is_stored_in_order_once_per_client_id_and_failures_stay_alone(s: Fresh) {
    let user = users(&*s, &["batcher"]).await[0];
    let room = group(&*s, user, &[]).await;
    let before = last_seq(&*s, room).await;
    let results = s
        .send_messages(vec![
            message(room, user, "a"),
            // Mentions a user who does not exist: refused alone.
            NewMessage {
                mentions: MentionSet {
                    users: vec![UserId(424_242)],
                    ..MentionSet::default()
                },
                ..message(room, user, "b")
            },
            // No such conversation: refused alone, before anything is written.
            message(ConversationId(9_999), user, "x"),
            message(room, user, "c"),
            // The same key again within the batch: the original, not a second row.
            message(room, user, "a"),
        ])
        .await
        .unwrap();
    let mut results = results.into_iter();
    let a = created(results.next().unwrap());
    assert!(results.next().unwrap().is_err());
    assert!(matches!(
        results.next().unwrap(),
        Ok(SendOutcome::Refused(SendRefusal::NotMember))
    ));
    let c = created(results.next().unwrap());
    assert!(matches!(results.next().unwrap(), Ok(SendOutcome::Duplicate(m)) if m.id == a.id));
    assert_eq!((a.seq, c.seq), (before + 1, before + 2));
    let page = s.history(room, HistoryAnchor::Latest, 10).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(keys, ["a", "c"]);
    assert_eq!(last_seq(&*s, room).await, before + 2);
}

/// A batch that repeats keys stored before it answers each with the original — from either
/// conversation — and takes positions only for its new messages, in batch order, on each
/// conversation; each new message's event replays as the message the send answered.
pub async fn a_batch_answers_earlier_keys_and_takes_positions_for_new_messages_only(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let one = group(&*s, ann, &[ben]).await;
    let two = group(&*s, ann, &[ben]).await;
    let original = created(s.send_message(message(one, ann, "k")).await);
    let (one_head, two_head) = (last_seq(&*s, one).await, last_seq(&*s, two).await);
    let mut results = s
        .send_messages(vec![
            message(two, ann, "new-in-two"),
            message(one, ann, "k"),
            message(two, ann, "k"),
            message(one, ann, "new-in-one"),
            message(two, ben, "k"),
        ])
        .await
        .unwrap()
        .into_iter();
    let first = created(results.next().unwrap());
    for _ in 0..2 {
        match results.next().unwrap() {
            Ok(SendOutcome::Duplicate(m)) => assert_eq!(m, original),
            other => panic!("expected the original, got {other:?}"),
        }
    }
    let in_one = created(results.next().unwrap());
    let bens = created(results.next().unwrap());
    assert_eq!(
        [
            (first.conversation_id, first.seq),
            (in_one.conversation_id, in_one.seq)
        ],
        [(two, two_head + 1), (one, one_head + 1)]
    );
    assert_eq!((bens.conversation_id, bens.seq), (two, two_head + 2));
    assert_eq!(
        (last_seq(&*s, one).await, last_seq(&*s, two).await),
        (one_head + 1, two_head + 2)
    );
    let replayed: Vec<MessageRecord> = s
        .events_after(two, two_head, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e.data {
            EventData::MessageCreated { message } => message,
            other => panic!("expected a new message, got {other:?}"),
        })
        .collect();
    assert_eq!(replayed, [first, bens]);
    let page = s.history(one, HistoryAnchor::Latest, 10).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(keys, ["k", "new-in-one"]);
}

/// A `client_id` names one message of its sender: sending it again — into the same conversation or
/// another — returns the original and writes nothing (the service answers a reuse in another
/// conversation with a conflict, from the original's conversation). Another sender's same key is
/// another message.
pub async fn client_id_is_idempotent_per_sender(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let one = group(&*s, ann, &[ben]).await;
    let two = group(&*s, ann, &[ben]).await;
    let original = created(s.send_message(message(one, ann, "k")).await);
    let (one_head, two_head) = (last_seq(&*s, one).await, last_seq(&*s, two).await);
    for (room, body) in [(one, "again"), (two, "elsewhere")] {
        let again = NewMessage {
            body: body.into(),
            ..message(room, ann, "k")
        };
        match s.send_message(again).await.unwrap() {
            SendOutcome::Duplicate(m) => {
                assert_eq!(m, original);
                assert_eq!(m.conversation_id, one, "the original's conversation");
            }
            other => panic!("expected the original, got {other:?}"),
        }
    }
    assert_eq!(
        (last_seq(&*s, one).await, last_seq(&*s, two).await),
        (one_head, two_head)
    );
    let bens = created(s.send_message(message(one, ben, "k")).await);
    assert_ne!(bens.id, original.id);
}

/// A send refused for membership or an archived channel writes nothing, takes no position and
/// never asks the sender's budget; a send over budget is refused and takes no position either.
pub async fn a_refused_send_takes_no_position_and_no_budget(s: Fresh) {
    let people = users(&*s, &["owner", "outsider"]).await;
    let (owner, outsider) = (people[0], people[1]);
    let room = group(&*s, owner, &[]).await;
    let asked = Arc::new(AtomicU32::new(0));
    let budget = |allow: bool| {
        let asked = asked.clone();
        Admission::by(move || {
            asked.fetch_add(1, Ordering::SeqCst);
            if allow {
                Ok(())
            } else {
                Err(std::time::Duration::from_secs(3))
            }
        })
    };
    let head = last_seq(&*s, room).await;
    let refused = s
        .send_message(NewMessage {
            admission: budget(true),
            ..message(room, outsider, "n")
        })
        .await
        .unwrap();
    assert!(matches!(
        refused,
        SendOutcome::Refused(SendRefusal::NotMember)
    ));
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "no budget for a non-member"
    );

    let over = s
        .send_message(NewMessage {
            admission: budget(false),
            ..message(room, owner, "o")
        })
        .await
        .unwrap();
    assert!(matches!(
        over,
        SendOutcome::Refused(SendRefusal::RateLimited { retry_after }) if retry_after.as_secs() == 3
    ));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(last_seq(&*s, room).await, head, "no position taken");

    // The key of a refused send is still free.
    created(
        s.send_message(NewMessage {
            admission: budget(true),
            ..message(room, owner, "o")
        })
        .await,
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    // An archived channel.
    let (team, _) = s.create_team("crew".into(), owner, 1).await.unwrap();
    let general = s.channels_visible_to(team.id, owner).await.unwrap()[0]
        .conversation
        .id;
    s.set_archived(general, owner, true, 2)
        .await
        .unwrap()
        .unwrap();
    let head = last_seq(&*s, general).await;
    let archived = s
        .send_message(NewMessage {
            admission: budget(true),
            ..message(general, owner, "arch")
        })
        .await
        .unwrap();
    assert!(matches!(
        archived,
        SendOutcome::Refused(SendRefusal::Archived)
    ));
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "no budget for an archived channel"
    );
    assert_eq!(last_seq(&*s, general).await, head);
}

/// A new team has its owner as owner and a default public `#general` with the owner in it; anyone
/// who joins the team joins `#general`.
pub async fn a_team_comes_with_its_general_channel(s: Fresh) {
    let people = users(&*s, &["owner", "joiner"]).await;
    let (owner, joiner) = (people[0], people[1]);
    let (team, committed) = s.create_team("crew".into(), owner, 1).await.unwrap();
    assert!(!committed.is_empty());
    let channels = s.channels_visible_to(team.id, owner).await.unwrap();
    assert_eq!(channels.len(), 1);
    let general = &channels[0];
    assert_eq!(
        general.conversation.name.as_deref(),
        Some(jeco_shared::teams::DEFAULT_CHANNEL)
    );
    assert!(general.is_default && !general.private && !general.archived);
    assert_eq!(general.conversation.kind, ConversationKind::Channel);
    let id = general.conversation.id;
    assert!(s.member(id, owner).await.unwrap().is_some());
    assert_eq!(
        s.team_member(team.id, owner).await.unwrap().unwrap().role,
        jeco_shared::conversations::MemberRole::Owner
    );
    s.add_team_member(
        team.id,
        owner,
        joiner,
        jeco_shared::conversations::MemberRole::Member,
        2,
        None,
    )
    .await
    .unwrap();
    assert!(s.member(id, joiner).await.unwrap().is_some());
}

/// Redeeming a code: unknown, revoked, expired, already a member (no use counted), used up, or
/// joined (the team and its `#general`), in that order of precedence.
pub async fn invite_outcomes(s: Fresh) {
    let people = users(&*s, &["owner", "a", "b", "c"]).await;
    let (owner, a, b, c) = (people[0], people[1], people[2], people[3]);
    let (team, _) = s.create_team("crew".into(), owner, 1).await.unwrap();
    let invite = |code: &str, expires_at_ms: Option<i64>, max_uses: Option<u32>| NewInvite {
        team_id: team.id,
        code: code.into(),
        created_by: owner,
        expires_at_ms,
        max_uses,
        now_ms: 1,
    };
    let once = s
        .create_invite(invite("once", None, Some(1)))
        .await
        .unwrap();
    let expiring = s
        .create_invite(invite("soon", Some(100), None))
        .await
        .unwrap();
    let revoked = s.create_invite(invite("gone", None, None)).await.unwrap();
    s.revoke_invite(team.id, revoked.id, 2).await.unwrap();
    // An already-used-up code that is also revoked answers "revoked" first.
    assert!(matches!(
        s.redeem_invite("nope".into(), a, 10).await.unwrap(),
        Redeemed::Unknown
    ));
    assert!(matches!(
        s.redeem_invite("gone".into(), a, 10).await.unwrap(),
        Redeemed::Revoked
    ));
    assert!(matches!(
        s.redeem_invite("soon".into(), a, 100).await.unwrap(),
        Redeemed::Expired
    ));
    assert!(matches!(
        s.redeem_invite("once".into(), owner, 10).await.unwrap(),
        Redeemed::AlreadyMember(t) if t == team.id
    ));
    match s.redeem_invite("once".into(), a, 10).await.unwrap() {
        Redeemed::Joined { team: t, committed } => {
            assert_eq!(t, team.id);
            assert!(!committed.is_empty());
        }
        other => panic!("expected joined, got {other:?}"),
    }
    assert!(s.team_member(team.id, a).await.unwrap().is_some());
    let general = s.channels_visible_to(team.id, a).await.unwrap()[0]
        .conversation
        .id;
    assert!(s.member(general, a).await.unwrap().is_some());
    // Already a member again: still no use counted. Then used up for a newcomer.
    assert!(matches!(
        s.redeem_invite("once".into(), a, 11).await.unwrap(),
        Redeemed::AlreadyMember(_)
    ));
    assert!(matches!(
        s.redeem_invite("once".into(), b, 11).await.unwrap(),
        Redeemed::UsedUp
    ));
    let uses: Vec<(String, u32)> = s
        .invites(team.id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.code, i.uses))
        .collect();
    assert!(uses.contains(&("once".into(), 1)), "{uses:?}");
    // Before it expires the expiring code works.
    assert!(matches!(
        s.redeem_invite("soon".into(), c, 99).await.unwrap(),
        Redeemed::Joined { .. }
    ));
    let _ = (once, expiring);
}

/// A message's notifications go to whom the plan names, except its sender, a non-member and a
/// member who muted the conversation; each quotes the start of the message.
pub async fn message_notifications_skip_sender_non_members_and_muted(s: Fresh) {
    let people = users(&*s, &["ann", "ben", "cat", "dan"]).await;
    let (ann, ben, cat, dan) = (people[0], people[1], people[2], people[3]);
    let room = group(&*s, ann, &[ben, cat]).await;
    s.set_muted(room, cat, true, 2).await.unwrap();
    let plan = [ann, ben, cat, dan]
        .into_iter()
        .map(|user_id| MessageNotification {
            user_id,
            kind: NotificationKind::Mention,
        })
        .collect();
    let long = "x".repeat(300);
    let sent = created(
        s.send_message(NewMessage {
            body: long.clone(),
            notify: NotifyPlan::fixed(plan),
            ..message(room, ann, "m")
        })
        .await,
    );
    let quote: String = long.chars().take(140).collect();
    assert_eq!(
        inbox(&*s, ben).await,
        [(NotificationKind::Mention, Some(sent.id), quote)]
    );
    for nobody in [ann, cat, dan] {
        assert_eq!(inbox(&*s, nobody).await, [], "{nobody:?}");
    }
    assert_eq!(s.unread_notifications(ben).await.unwrap(), 1);
    // A plan decided in the transaction sees the conversation's kind and members.
    let decided = created(
        s.send_message(NewMessage {
            notify: NotifyPlan::decide_in_transaction(move |kind, members| {
                assert_eq!(kind, ConversationKind::Group);
                members
                    .iter()
                    .map(|&user_id| MessageNotification {
                        user_id,
                        kind: NotificationKind::Reply,
                    })
                    .collect()
            }),
            ..message(room, ann, "d")
        })
        .await,
    );
    assert_eq!(inbox(&*s, ben).await[1].1, Some(decided.id));
    assert_eq!(inbox(&*s, cat).await, []);
}

/// An edit that newly names `@ben` notifies Ben once, as a mention; a later edit naming him again,
/// the author naming themself, a muted member and a non-member are not notified.
pub async fn an_edit_that_adds_a_mention_notifies_once(s: Fresh) {
    let people = users(&*s, &["ann", "ben", "cat", "dan", "eve"]).await;
    let (ann, ben, cat, dan, eve) = (people[0], people[1], people[2], people[3], people[4]);
    let room = group(&*s, ann, &[ben, cat, dan]).await;
    s.set_muted(room, dan, true, 2).await.unwrap();
    // Cat is notified by the send already.
    let sent = created(
        s.send_message(NewMessage {
            notify: NotifyPlan::fixed(vec![MessageNotification {
                user_id: cat,
                kind: NotificationKind::Mention,
            }]),
            ..message(room, ann, "m")
        })
        .await,
    );
    let naming = |users: Vec<UserId>| MentionSet {
        users,
        ..MentionSet::default()
    };
    s.edit_message(
        sent.id,
        ann,
        "hi @ben".into(),
        naming(vec![ben, ann, cat, dan, eve]),
        10,
    )
    .await
    .unwrap();
    s.edit_message(sent.id, ann, "hi @ben!".into(), naming(vec![ben]), 11)
        .await
        .unwrap();
    assert_eq!(
        inbox(&*s, ben).await,
        [(NotificationKind::Mention, Some(sent.id), "hi @ben!".into())]
    );
    assert_eq!(inbox(&*s, cat).await.len(), 1);
    for nobody in [ann, dan, eve] {
        assert_eq!(inbox(&*s, nobody).await, [], "{nobody:?}");
    }
}

/// A notification quotes its message as it is now: an edit changes the quote, a delete empties it.
pub async fn notification_previews_follow_edits_and_deletes(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let room = group(&*s, ann, &[ben]).await;
    let notify = || {
        NotifyPlan::fixed(vec![MessageNotification {
            user_id: ben,
            kind: NotificationKind::Mention,
        }])
    };
    let first = created(
        s.send_message(NewMessage {
            notify: notify(),
            ..message(room, ann, "1")
        })
        .await,
    );
    let other = created(
        s.send_message(NewMessage {
            notify: notify(),
            ..message(room, ann, "2")
        })
        .await,
    );
    let long = "é".repeat(200);
    s.edit_message(first.id, ann, long.clone(), MentionSet::default(), 10)
        .await
        .unwrap();
    let previews = |v: Vec<(NotificationKind, Option<MessageId>, String)>| {
        v.into_iter().map(|(_, _, p)| p).collect::<Vec<_>>()
    };
    assert_eq!(
        previews(inbox(&*s, ben).await),
        [
            long.chars().take(140).collect::<String>(),
            other.body.clone()
        ]
    );
    s.delete_message(first.id, ann, 11).await.unwrap();
    assert_eq!(previews(inbox(&*s, ben).await), [String::new(), other.body]);
}

/// Being added by someone else notifies the added users (not the one who added them); a group
/// created with members notifies them the same way.
pub async fn being_added_notifies_only_when_someone_else_adds(s: Fresh) {
    let people = users(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (people[0], people[1], people[2]);
    let (room, _) = s
        .create_group(NewGroup {
            name: "room".into(),
            owner: ann,
            members: vec![ben],
            now_ms: 1,
            added_preview: Some("Ann added you to room".into()),
        })
        .await
        .unwrap();
    s.add_members(
        room.id,
        ann,
        vec![cat, ann],
        2,
        Some(AddedNotice {
            actor: ann,
            target: AddedTo::Conversation(room.id),
            preview: "Ann added you to room".into(),
        }),
    )
    .await
    .unwrap();
    for added in [ben, cat] {
        assert_eq!(
            inbox(&*s, added).await,
            [(
                NotificationKind::AddedToConversation,
                None,
                "Ann added you to room".into()
            )]
        );
    }
    assert_eq!(inbox(&*s, ann).await, []);
}

/// Replay returns exactly the events after a position, oldest first, at most `limit`; membership
/// heads give each conversation's newest position and the position that made the user a member.
pub async fn replay_after_a_position_and_membership_heads(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let room = group(&*s, ann, &[]).await;
    for n in 0..5 {
        created(s.send_message(message(room, ann, &format!("{n}"))).await);
    }
    let all = s.events_after(room, 0, 1000).await.unwrap();
    let head = last_seq(&*s, room).await;
    assert_eq!(all.last().unwrap().seq, head);
    let page = s.events_after(room, 2, 3).await.unwrap();
    assert_eq!(page, all[2..5]);
    assert_eq!(s.events_after(room, head, 10).await.unwrap(), []);

    assert_eq!(s.membership_heads(ben).await.unwrap(), []);
    let added = s.add_members(room, ann, vec![ben], 3, None).await.unwrap();
    let joined_seq = added.events.last().unwrap().seq;
    created(s.send_message(message(room, ben, "hello")).await);
    let heads = s.membership_heads(ben).await.unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].conversation_id, room);
    assert_eq!(heads[0].joined_seq, joined_seq);
    assert_eq!(heads[0].last_seq, last_seq(&*s, room).await);
    // The user's own log says from where to follow it.
    let user_events = s.user_events_after(ben, 0, 100).await.unwrap();
    assert!(user_events.iter().any(|e| matches!(
        e.data,
        UserEventData::ConversationAdded { conversation, .. } if conversation == room
    )));
    s.remove_member(room, ann, ben, 4).await.unwrap();
    assert_eq!(s.membership_heads(ben).await.unwrap(), []);
}

/// A `message_created` event shows the message exactly as it was created — not with later
/// reactions, pins, replies, edits or the delete.
pub async fn replayed_message_created_events_show_the_message_as_created(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let room = group(&*s, ann, &[ben]).await;
    let send = |key: &str, reply_to: Option<MessageId>| NewMessage {
        reply_to,
        mentions: MentionSet {
            users: vec![ben],
            channel: true,
            here: false,
        },
        ..message(room, ann, key)
    };
    let first = created(s.send_message(send("first", None)).await);
    let second = created(s.send_message(send("second", None)).await);
    let third = created(s.send_message(send("third", None)).await);
    created(s.send_message(send("reply", Some(first.id))).await);
    s.set_reaction(first.id, ben, "👍".into(), Some(true), 9)
        .await
        .unwrap();
    s.set_pinned(first.id, ann, true, 9).await.unwrap();
    s.edit_message(second.id, ann, "changed".into(), MentionSet::default(), 10)
        .await
        .unwrap();
    s.delete_message(third.id, ann, 11).await.unwrap();
    let replayed: Vec<MessageRecord> = s
        .events_after(room, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.data {
            EventData::MessageCreated { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(replayed.len(), 4);
    assert_eq!(replayed[..3], [first, second, third]);
}

/// Each message of a page gets exactly its own mentions (by user id) and reactions (emojis by
/// first use, then users by when they reacted), and a single read agrees with the page.
pub async fn a_page_gets_each_message_its_own_mentions_and_reactions(s: Fresh) {
    let people = users(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (people[0], people[1], people[2]);
    let room = group(&*s, ann, &[ben, cat]).await;
    let mentioning = |key: &str, users: Vec<UserId>| NewMessage {
        mentions: MentionSet {
            users,
            ..MentionSet::default()
        },
        ..message(room, ann, key)
    };
    let ids: Vec<MessageId> = s
        .send_messages(vec![
            mentioning("one", vec![cat, ben]),
            mentioning("two", Vec::new()),
            mentioning("three", vec![ann]),
        ])
        .await
        .unwrap()
        .into_iter()
        .map(|r| created(r).id)
        .collect();
    for (m, user, emoji, at) in [
        (ids[0], ben, "👍", 10),
        (ids[0], ann, "🎉", 11),
        (ids[0], ann, "👍", 12),
        (ids[2], cat, "a", 20),
        (ids[0], cat, "🎉", 21),
    ] {
        s.set_reaction(m, user, emoji.into(), Some(true), at)
            .await
            .unwrap();
    }
    let page = s.history(room, HistoryAnchor::Latest, 10).await.unwrap();
    type Reactions = Vec<(String, Vec<UserId>)>;
    let got: Vec<(Vec<UserId>, Reactions)> = page
        .items
        .iter()
        .map(|m| {
            (
                m.mentions.users.clone(),
                m.reactions
                    .iter()
                    .map(|r| (r.emoji.clone(), r.users.clone()))
                    .collect(),
            )
        })
        .collect();
    let mut ben_cat = vec![ben, cat];
    ben_cat.sort();
    assert_eq!(
        got,
        vec![
            (
                ben_cat,
                vec![
                    ("👍".to_owned(), vec![ben, ann]),
                    ("🎉".to_owned(), vec![ann, cat])
                ]
            ),
            (Vec::new(), Vec::new()),
            (vec![ann], vec![("a".to_owned(), vec![cat])]),
        ]
    );
    for m in &page.items {
        assert_eq!(s.message(m.id).await.unwrap().as_ref(), Some(m));
    }
}

/// "Export my data" reads a sender's messages: every id they wrote, deleted ones too, oldest first
/// whatever their client ids, none of anyone else's; then the records by id, complete, unknown ids
/// skipped.
pub async fn a_senders_message_ids_and_messages_by_id(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let room = group(&*s, ann, &[ben]).await;
    let other = group(&*s, ben, &[ann]).await;
    let mut mine = Vec::new();
    // Client ids in descending order: the answer must follow the ids, not the client ids.
    for (conversation, sender, key) in [
        (room, ann, "z"),
        (room, ben, "y"),
        (other, ann, "x"),
        (other, ben, "w"),
        (room, ann, "v"),
    ] {
        let m = created(s.send_message(message(conversation, sender, key)).await);
        if sender == ann {
            mine.push(m.id);
        }
    }
    s.delete_message(mine[2], ann, 9).await.unwrap();
    assert_eq!(s.message_ids_by_sender(ann).await.unwrap(), mine);
    assert!(
        s.message_ids_by_sender(UserId(9999))
            .await
            .unwrap()
            .is_empty()
    );

    let mut asked = mine.clone();
    asked.reverse();
    asked.push(MessageId(9999));
    let got = s.messages_by_ids(asked).await.unwrap();
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), mine);
    for m in &got {
        assert_eq!(s.message(m.id).await.unwrap().as_ref(), Some(m));
    }
    assert!(got[2].deleted_at_ms.is_some());
    assert!(s.messages_by_ids(Vec::new()).await.unwrap().is_empty());
}

/// Search finds messages with all the words, or words starting with a prefix, in conversations the
/// user is a member of, newest first; not deleted messages, not an edit's old words, not other
/// people's conversations.
pub async fn search_finds_words_and_prefixes_in_the_users_conversations_only(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let shared = group(&*s, ann, &[ben]).await;
    let private = group(&*s, ann, &[]).await;
    let say = |room, key: &str, body: &str| NewMessage {
        body: body.into(),
        ..message(room, ann, key)
    };
    let canoe = created(
        s.send_message(say(shared, "1", "a canoe trip on Sunday"))
            .await,
    );
    let paddle = created(
        s.send_message(say(shared, "2", "bring the canoes and paddles"))
            .await,
    );
    let edited = created(s.send_message(say(shared, "3", "kayak plans")).await);
    let deleted = created(s.send_message(say(shared, "4", "canoe secret")).await);
    created(s.send_message(say(private, "5", "canoe in private")).await);
    s.edit_message(
        edited.id,
        ann,
        "rowing plans".into(),
        MentionSet::default(),
        10,
    )
    .await
    .unwrap();
    s.delete_message(deleted.id, ann, 11).await.unwrap();
    let search = |user: UserId, q: &str| text_search(user, q);
    let ids = |hits: Vec<jeco_server::storage::SearchHitRecord>| {
        hits.into_iter().map(|h| h.message.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.search_messages(search(ben, "canoe")).await.unwrap()),
        [canoe.id]
    );
    assert_eq!(
        ids(s.search_messages(search(ben, "canoe*")).await.unwrap()),
        [paddle.id, canoe.id]
    );
    assert_eq!(
        ids(s
            .search_messages(search(ben, "canoe sunday"))
            .await
            .unwrap()),
        [canoe.id]
    );
    assert_eq!(
        ids(s.search_messages(search(ben, "kayak")).await.unwrap()),
        []
    );
    assert_eq!(
        ids(s.search_messages(search(ben, "rowing")).await.unwrap()),
        [edited.id]
    );
    assert_eq!(
        ids(s.search_messages(search(ben, "secret")).await.unwrap()),
        []
    );
    assert_eq!(
        ids(s.search_messages(search(ann, "private")).await.unwrap()).len(),
        1
    );
    assert_eq!(
        ids(s.search_messages(search(ben, "private")).await.unwrap()),
        []
    );
    // Matches are highlighted in the snippet.
    let hit = &s.search_messages(search(ben, "sunday")).await.unwrap()[0];
    assert!(
        hit.snippet
            .contains(jeco_server::storage::search::HIGHLIGHT_START)
    );
    // A conversation filter and a page cursor narrow the results.
    let mut narrowed = search(ben, "canoe*");
    narrowed.older_than = Some(paddle.id);
    assert_eq!(ids(s.search_messages(narrowed).await.unwrap()), [canoe.id]);
    let mut elsewhere = search(ann, "canoe*");
    elsewhere.conversation = Some(private);
    assert_eq!(ids(s.search_messages(elsewhere).await.unwrap()).len(), 1);
}

/// A search for the words of `q` (its filters are left out: see [`filtered_search`]).
fn text_search(user: UserId, q: &str) -> MessageSearch {
    MessageSearch {
        user,
        text: SearchQuery::parse(q).unwrap().text,
        conversation: None,
        author: None,
        from_usernames: Vec::new(),
        in_names: Vec::new(),
        has_file: false,
        after_ms: None,
        before_ms: None,
        older_than: None,
        limit: 20,
    }
}

/// A search as the service builds it from a whole query: words and filters.
fn filtered_search(user: UserId, q: &str, limit: u32) -> MessageSearch {
    let query = SearchQuery::parse(q).unwrap();
    MessageSearch {
        text: query.text,
        from_usernames: query.filters.from,
        in_names: query.filters.in_names,
        has_file: query.filters.has_file,
        after_ms: query.filters.after.map(|d| d.end_unix_ms()),
        before_ms: query.filters.before.map(|d| d.start_unix_ms()),
        limit,
        ..text_search(user, "x")
    }
}

/// Filters are part of the backend's query, not a sieve over a page: a page of one still finds
/// the newest message that passes them however many newer ones do not. `from:` is by username,
/// `in:` by conversation name (case-insensitively), dates bound `created_at`, `has:file` needs an
/// attachment, and a query of filters only returns every message that passes them, newest first.
pub async fn search_filters_are_applied_in_the_query(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let named = |name: &str, members: Vec<UserId>| NewGroup {
        name: name.into(),
        owner: ann,
        members,
        now_ms: 1,
        added_preview: None,
    };
    let plans = s
        .create_group(named("Plans", vec![ben]))
        .await
        .unwrap()
        .0
        .id;
    let chat = s.create_group(named("chat", vec![ben])).await.unwrap().0.id;
    const DAY: i64 = 86_400_000;
    // 2026-12-01 is day 20_788 since the epoch.
    let dec = |d: i64| (20_788 + d - 1) * DAY;
    let say = |room, sender, key: &str, body: &str, at: i64| NewMessage {
        body: body.into(),
        now_ms: at,
        ..message(room, sender, key)
    };
    let old_ben = created(
        s.send_message(say(plans, ben, "1", "budget draft", dec(1) + 5))
            .await,
    );
    let mid_ann = created(
        s.send_message(say(plans, ann, "2", "budget review", dec(2) + 5))
            .await,
    );
    // Many newer matches that the filters below exclude.
    for i in 0..30 {
        s.send_message(say(chat, ann, &format!("n{i}"), "budget noise", dec(3) + i))
            .await
            .unwrap();
    }
    let find = |q: &str, limit| filtered_search(ann, q, limit);
    let ids = |hits: Vec<jeco_server::storage::SearchHitRecord>| {
        hits.into_iter().map(|h| h.message.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s
            .search_messages(find("budget from:@ben", 1))
            .await
            .unwrap()),
        [old_ben.id]
    );
    assert_eq!(
        ids(s
            .search_messages(find("budget in:#plans", 1))
            .await
            .unwrap()),
        [mid_ann.id]
    );
    assert_eq!(
        ids(s
            .search_messages(find("budget in:#PLANS from:@ann from:@ben", 5))
            .await
            .unwrap()),
        [mid_ann.id, old_ben.id]
    );
    // before: the day itself is excluded; after: the day itself is excluded.
    assert_eq!(
        ids(s
            .search_messages(find("budget before:2026-12-02", 1))
            .await
            .unwrap()),
        [old_ben.id]
    );
    assert_eq!(
        ids(s
            .search_messages(find("budget after:2026-12-01 before:2026-12-03", 5))
            .await
            .unwrap()),
        [mid_ann.id]
    );
    // Filters only: every message that passes them, newest first, the text as its snippet.
    let only = s.search_messages(find("in:#plans", 5)).await.unwrap();
    assert_eq!(
        only.iter().map(|h| h.message.id).collect::<Vec<_>>(),
        [mid_ann.id, old_ben.id]
    );
    assert_eq!(only[0].snippet, "budget review");
    // Paging by cursor works for filters-only queries too.
    let mut older = find("in:#plans", 5);
    older.older_than = Some(mid_ann.id);
    assert_eq!(ids(s.search_messages(older).await.unwrap()), [old_ben.id]);
    // No such user or conversation name: nothing, not everything.
    assert_eq!(
        ids(s
            .search_messages(find("budget from:@nobody", 5))
            .await
            .unwrap()),
        []
    );
    assert_eq!(
        ids(s.search_messages(find("in:#nowhere", 5)).await.unwrap()),
        []
    );
    // has:file: none of these has an attachment.
    assert_eq!(
        ids(s.search_messages(find("budget has:file", 5)).await.unwrap()),
        []
    );
    // Values are bound, never SQL.
    assert_eq!(
        ids(s
            .search_messages(find("from:@x'--  in:#a'OR'1'='1", 5))
            .await
            .unwrap()),
        []
    );
}

fn upload(id: &str, uploader: UserId, size: u64) -> UploadRecord {
    UploadRecord {
        id: id.into(),
        uploader_id: uploader,
        name: format!("{id}.bin"),
        kind: AttachmentKind::File,
        size,
        received: 0,
        sha256: None,
        duration_ms: None,
        waveform: None,
        created_at_ms: 1,
        updated_at_ms: 1,
    }
}

fn blob(sha: char, size: u64) -> BlobRecord {
    BlobRecord {
        sha256: sha.to_string().repeat(64),
        size,
        content_type: "application/octet-stream".into(),
        width: None,
        height: None,
        thumbnail: ThumbnailState::None,
        thumbnail_type: None,
        created_at_ms: 2,
    }
}

fn attachment(uploader: UserId) -> NewAttachment {
    NewAttachment {
        uploader_id: uploader,
        kind: AttachmentKind::File,
        name: "file.bin".into(),
        duration_ms: None,
        waveform: None,
        created_at_ms: 2,
    }
}

/// An upload becomes an unattached attachment, is attached by a send (only by its uploader, only
/// once), is placed in the message's conversation, and is detached when the message is deleted —
/// its blob then an orphan.
pub async fn media_records_from_upload_to_attachment(s: Fresh) {
    let people = users(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (people[0], people[1]);
    let room = group(&*s, ann, &[ben]).await;
    assert_eq!(
        s.create_upload(upload("u1", ann, 10), None).await.unwrap(),
        UploadAdmission::Created
    );
    s.set_upload_received("u1", 10, 3).await.unwrap();
    assert_eq!(s.upload("u1").await.unwrap().unwrap().received, 10);
    let record = s
        .complete_upload("u1", blob('a', 10), attachment(ann))
        .await
        .unwrap();
    assert!(
        s.upload("u1").await.unwrap().is_none(),
        "the upload is done"
    );
    assert_eq!(s.blob(&"a".repeat(64)).await.unwrap().unwrap().size, 10);
    let place = s.attachment(record.id).await.unwrap().unwrap();
    assert_eq!(
        (place.conversation_id, place.attachment.message_id),
        (None, None)
    );

    // Ben cannot attach Ann's upload.
    let stolen = s
        .send_message(NewMessage {
            attachments: vec![record.id],
            ..message(room, ben, "steal")
        })
        .await;
    assert!(matches!(stolen, Err(StorageError::Conflict)), "{stolen:?}");
    assert_eq!(
        s.history(room, HistoryAnchor::Latest, 10)
            .await
            .unwrap()
            .items,
        []
    );

    let sent = created(
        s.send_message(NewMessage {
            attachments: vec![record.id],
            ..message(room, ann, "with file")
        })
        .await,
    );
    assert_eq!(sent.attachments.len(), 1);
    assert_eq!(sent.attachments[0].id, record.id);
    let place = s.attachment(record.id).await.unwrap().unwrap();
    assert_eq!(place.conversation_id, Some(room));
    assert_eq!(place.attachment.message_id, Some(sent.id));
    let again = s
        .send_message(NewMessage {
            attachments: vec![record.id],
            ..message(room, ann, "twice")
        })
        .await;
    assert!(matches!(again, Err(StorageError::Conflict)), "{again:?}");

    s.delete_message(sent.id, ann, 20).await.unwrap();
    assert!(s.attachment(record.id).await.unwrap().is_none());
    let orphans = s.orphan_blobs(10).await.unwrap();
    assert_eq!(orphans.iter().map(|b| b.size).collect::<Vec<_>>(), [10]);
    assert!(s.delete_orphan_blob(&"a".repeat(64)).await.unwrap());
    assert!(s.blob(&"a".repeat(64)).await.unwrap().is_none());

    // A stale upload is found for the sweep, and goes.
    s.create_upload(upload("u2", ann, 5), None).await.unwrap();
    assert_eq!(s.stale_uploads(2).await.unwrap(), ["u2"]);
    s.delete_upload("u2").await.unwrap();
    assert_eq!(s.stale_uploads(2).await.unwrap(), Vec::<String>::new());
}

/// The quota counts the uploader's pending uploads and stored attachments.
pub async fn upload_quota_counts_uploads_and_attachments(s: Fresh) {
    let ann = users(&*s, &["ann"]).await[0];
    s.create_upload(upload("u1", ann, 40), Some(100))
        .await
        .unwrap();
    s.complete_upload("u1", blob('b', 40), attachment(ann))
        .await
        .unwrap();
    s.create_upload(upload("u2", ann, 30), Some(100))
        .await
        .unwrap();
    assert_eq!(
        s.create_upload(upload("u3", ann, 31), Some(100))
            .await
            .unwrap(),
        UploadAdmission::OverQuota { used: 70 }
    );
    assert!(s.upload("u3").await.unwrap().is_none());
    assert_eq!(
        s.create_upload(upload("u3", ann, 30), Some(100))
            .await
            .unwrap(),
        UploadAdmission::Created
    );
    let usage = s.media_usage().await.unwrap();
    let ann_usage = usage.iter().find(|u| u.user_id == ann).unwrap();
    assert_eq!(
        (
            ann_usage.attachment_bytes,
            ann_usage.upload_bytes,
            ann_usage.uploads
        ),
        (40, 60, 2)
    );
}

pub async fn login_failures_window(s: Fresh) {
    for (t, addr) in [(10, "a"), (20, "b"), (30, "a")] {
        s.record_login_failure("eve", addr, t, 0).await.unwrap();
    }
    let f = s.login_failures("eve", "a", 15).await.unwrap();
    assert_eq!(
        f,
        LoginFailures {
            from_addr: 1,
            from_addr_last_ms: Some(30),
            total: 2,
            last_ms: Some(30)
        }
    );
    s.record_login_failure("eve", "b", 40, 25).await.unwrap();
    let f = s.login_failures("eve", "b", 0).await.unwrap();
    assert_eq!(
        (f.from_addr, f.from_addr_last_ms, f.total),
        (1, Some(40), 2)
    );
    // Success from one address forgets only that address's failures.
    s.clear_login_failures("eve", "a").await.unwrap();
    let f = s.login_failures("eve", "a", 0).await.unwrap();
    assert_eq!((f.from_addr, f.from_addr_last_ms, f.total), (0, None, 1));
    assert_eq!(
        s.login_failures("nobody", "a", 0).await.unwrap(),
        LoginFailures::default()
    );
}

pub async fn refresh_rotation_and_reuse(s: Fresh) {
    let u = s.create_user(new_user("carol")).await.unwrap();
    let sid = s.create_session(u.id, [1; 32], 1000, 10).await.unwrap();
    assert_eq!(
        s.rotate_refresh_token([1; 32], [2; 32], 2000, 20, 0)
            .await
            .unwrap(),
        RefreshOutcome::Rotated {
            session: sid,
            user: u.id
        }
    );
    assert_eq!(
        s.rotate_refresh_token([9; 32], [3; 32], 2000, 20, 0)
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );
    // Presenting the rotated token again revokes the family, including the live token.
    assert_eq!(
        s.rotate_refresh_token([1; 32], [3; 32], 2000, 30, 0)
            .await
            .unwrap(),
        RefreshOutcome::Reused { session: sid }
    );
    assert!(s.session(sid).await.unwrap().unwrap().revoked);
    assert_eq!(
        s.rotate_refresh_token([2; 32], [4; 32], 2000, 40, 0)
            .await
            .unwrap(),
        RefreshOutcome::Revoked
    );
}

pub async fn a_retry_within_the_grace_period_names_the_same_successor(s: Fresh) {
    let u = s.create_user(new_user("erin")).await.unwrap();
    let sid = s.create_session(u.id, [1; 32], 1000, 10).await.unwrap();
    let rotated = s.rotate_refresh_token([1; 32], [2; 32], 2000, 20, 30).await;
    assert!(matches!(rotated, Ok(RefreshOutcome::Rotated { .. })));
    let retried = RefreshOutcome::Retried {
        session: sid,
        user: u.id,
        rotated_at_ms: 20,
    };
    assert_eq!(
        s.rotate_refresh_token([1; 32], [2; 32], 2000, 50, 30)
            .await
            .unwrap(),
        retried
    );
    assert!(!s.session(sid).await.unwrap().unwrap().revoked);
    // Another successor, or after the grace period, is reuse: the family is revoked.
    assert_eq!(
        s.rotate_refresh_token([1; 32], [3; 32], 2000, 50, 30)
            .await
            .unwrap(),
        RefreshOutcome::Reused { session: sid }
    );
    assert!(s.session(sid).await.unwrap().unwrap().revoked);

    let sid = s.create_session(u.id, [5; 32], 1000, 10).await.unwrap();
    s.rotate_refresh_token([5; 32], [6; 32], 2000, 20, 30)
        .await
        .unwrap();
    assert_eq!(
        s.rotate_refresh_token([5; 32], [6; 32], 2000, 51, 30)
            .await
            .unwrap(),
        RefreshOutcome::Reused { session: sid }
    );

    // Once the successor has itself been used, a retry of the old token is reuse too.
    let sid = s.create_session(u.id, [7; 32], 1000, 10).await.unwrap();
    s.rotate_refresh_token([7; 32], [8; 32], 2000, 20, 30)
        .await
        .unwrap();
    s.rotate_refresh_token([8; 32], [9; 32], 2000, 25, 30)
        .await
        .unwrap();
    assert_eq!(
        s.rotate_refresh_token([7; 32], [8; 32], 2000, 30, 30)
            .await
            .unwrap(),
        RefreshOutcome::Reused { session: sid }
    );
}

pub async fn expired_refresh_token(s: Fresh) {
    let u = s.create_user(new_user("dave")).await.unwrap();
    s.create_session(u.id, [1; 32], 100, 10).await.unwrap();
    assert_eq!(
        s.rotate_refresh_token([1; 32], [2; 32], 2000, 100, 0)
            .await
            .unwrap(),
        RefreshOutcome::Expired
    );
}

// Checks added with the PostgreSQL backend, one file per area (see `main.rs`).
pub use crate::checks_accounts::*;
pub use crate::checks_messages::*;
pub use crate::checks_teams::*;
