//! Notifications: welcome, direct messages, mentions (@name, @channel, @here to online members
//! only), replies, never for one's own message, none from a muted conversation; live user events
//! and resume; list, unread filter, pagination, mark read, read all.

use crate::support::*;
use jeco_shared::events::UserEventBody;
use jeco_shared::notifications::{Notification, NotificationKind, NotificationPage};
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// Long enough for a frame that was going to arrive to arrive.
const SETTLE: Duration = Duration::from_millis(300);

async fn inbox(s: &TestServer, token: &str, query: &str) -> NotificationPage {
    let v = s
        .ok(
            Method::GET,
            &format!("/api/v1/notifications{query}"),
            None,
            token,
            200,
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// The caller's notifications about messages (not the welcome, not being added), oldest first,
/// as (kind, message id).
async fn about_messages(s: &TestServer, token: &str) -> Vec<(NotificationKind, i64)> {
    let mut v: Vec<_> = inbox(s, token, "")
        .await
        .items
        .into_iter()
        .filter(|n| n.message_id.is_some())
        .map(|n| (n.kind, n.message_id.map_or(0, |m| m.0)))
        .collect();
    v.reverse();
    v
}

/// A live connection that is certainly registered for deliveries: the gateway sends `ready`
/// before it registers the connection, so an event committed right after `ready` could miss a
/// client that did not resume. A ping is answered only once the connection is live.
pub async fn live(s: &TestServer, token: &str) -> Ws {
    let mut ws = s.ws_live(token).await;
    send_json(&mut ws, json!({"type": "ping", "nonce": 77})).await;
    next_where(&mut ws, |f| matches!(f, ServerFrame::Pong { nonce: 77 })).await;
    ws
}

/// The next `notification_created` user event on a connection.
pub async fn next_notification(ws: &mut Ws) -> (i64, Notification) {
    loop {
        if let ServerFrame::UserEvent(e) = next_frame(ws).await
            && let UserEventBody::NotificationCreated { notification } = e.body
        {
            return (e.seq, notification);
        }
    }
}

fn notifications_in(frames: &[ServerFrame]) -> Vec<Notification> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::UserEvent(e) => match &e.body {
                UserEventBody::NotificationCreated { notification } => Some(notification.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

async fn reply(s: &TestServer, token: &str, g: i64, client_id: &str, text: &str, to: i64) -> i64 {
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages"),
        Some(json!({"client_id": client_id, "text": text, "reply_to": to})),
        token,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn registration_creates_a_welcome_notification() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let page = inbox(&s, &alice.access_token, "").await;
    assert_eq!(page.items.len(), 1, "{page:?}");
    let welcome = &page.items[0];
    assert_eq!(welcome.kind, NotificationKind::Welcome);
    assert_eq!(welcome.actor_id, None);
    assert!(welcome.preview.contains("Welcome"), "{welcome:?}");
    assert_eq!(welcome.read_at, None);
    assert_eq!(page.unread_count, 1);
    // It is in the user's own log, so a first resume delivers it.
    let mut ws = s
        .ws_resume(&alice.access_token, Some(json!({"user_seq": 0})))
        .await;
    let (seq, n) = next_notification(&mut ws).await;
    assert_eq!(seq, 1);
    assert_eq!(n.id, welcome.id);
}

#[tokio::test]
async fn direct_messages_mentions_and_replies_notify_live_but_never_the_author() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let mut bob_ws = live(&s, b).await;
    let mut carol_ws = live(&s, c).await;
    let mut alice_ws = live(&s, a).await;

    // A direct message: the other member gets `direct_message`, pushed live.
    let dm = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": bob.user.id.0})),
            a,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let hello = s.say(a, dm, "d1", "hello bob, @bob").await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, NotificationKind::DirectMessage);
    assert_eq!(n.actor_id, Some(alice.user.id));
    assert_eq!(n.conversation_id.map(|c| c.0), Some(dm));
    assert_eq!(n.message_id.map(|m| m.0), hello["id"].as_i64());
    assert_eq!(n.preview, "hello bob, @bob");
    // A retried send (same client id) is the same message and notifies nobody again.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{dm}/messages"),
        Some(json!({"client_id": "d1", "text": "hello bob, @bob"})),
        a,
        200,
    )
    .await;

    // In a group: `@bob` notifies bob only; a reply notifies the parent's author.
    let g = s.group(a, "G", &[bob.user.id.0, carol.user.id.0]).await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, NotificationKind::AddedToConversation);
    let m1 = s.say(a, g, "g1", "hi @bob, and @alice myself").await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, NotificationKind::Mention);
    assert_eq!(n.message_id.map(|m| m.0), m1["id"].as_i64());
    let r = reply(
        &s,
        c,
        g,
        "c1",
        "replying to alice",
        m1["id"].as_i64().unwrap(),
    )
    .await;
    let (_, n) = next_notification(&mut alice_ws).await;
    assert_eq!(n.kind, NotificationKind::Reply);
    assert_eq!(n.actor_id, Some(carol.user.id));
    assert_eq!(n.message_id.map(|m| m.0), Some(r));
    // Replying to oneself, or a plain message, notifies nobody.
    reply(&s, c, g, "c2", "me again", r).await;
    s.say(a, g, "g2", "nothing special").await;

    assert_eq!(
        about_messages(&s, b).await,
        [
            (
                NotificationKind::DirectMessage,
                hello["id"].as_i64().unwrap()
            ),
            (NotificationKind::Mention, m1["id"].as_i64().unwrap())
        ]
    );
    assert_eq!(about_messages(&s, a).await, [(NotificationKind::Reply, r)]);
    assert!(about_messages(&s, c).await.is_empty());
    // Carol heard only that she was added to G.
    let carol_frames = frames_within(&mut carol_ws, SETTLE).await;
    assert_eq!(
        notifications_in(&carol_frames)
            .iter()
            .map(|n| n.kind)
            .collect::<Vec<_>>(),
        [NotificationKind::AddedToConversation],
        "{carol_frames:?}"
    );
    let alice_frames = frames_within(&mut alice_ws, SETTLE).await;
    assert!(
        notifications_in(&alice_frames).is_empty(),
        "{alice_frames:?}"
    );
}

#[tokio::test]
async fn here_reaches_only_members_online_now_and_channel_reaches_all() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[bob.user.id.0, carol.user.id.0]).await;
    // Bob is online, carol is not.
    let mut bob_ws = live(&s, &bob.access_token).await;
    let here = s.say(a, g, "h", "@here standup").await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, NotificationKind::Mention);
    assert_eq!(n.message_id.map(|m| m.0), here["id"].as_i64());
    assert!(about_messages(&s, &carol.access_token).await.is_empty());

    let all = s.say(a, g, "c", "@channel release").await;
    let all_id = all["id"].as_i64().unwrap();
    assert_eq!(
        about_messages(&s, &carol.access_token).await,
        [(NotificationKind::Mention, all_id)]
    );
    assert_eq!(
        about_messages(&s, &bob.access_token).await,
        [
            (NotificationKind::Mention, here["id"].as_i64().unwrap()),
            (NotificationKind::Mention, all_id)
        ]
    );
    // The author is never notified about their own @channel.
    assert!(about_messages(&s, a).await.is_empty());
}

#[tokio::test]
async fn a_muted_conversation_creates_no_notifications() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let dm = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": bob.user.id.0})),
            a,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    for id in [g, dm] {
        let state = s
            .ok(
                Method::PUT,
                &format!("/api/v1/conversations/{id}/mute"),
                Some(json!({"muted": true})),
                b,
                200,
            )
            .await;
        assert_eq!(state, json!({"conversation_id": id, "muted": true}));
    }
    // The conversation list shows it.
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, b, 200)
        .await;
    for c in list["items"].as_array().unwrap() {
        assert_eq!(c["muted"], true, "{c}");
    }
    let mut bob_ws = live(&s, b).await;
    let m = s.say(a, g, "1", "@bob @channel @here look").await;
    s.say(a, dm, "2", "psst").await;
    reply(&s, a, g, "3", "thread", m["id"].as_i64().unwrap()).await;
    // Bob still gets the messages, only no notifications.
    let frames = frames_within(&mut bob_ws, SETTLE).await;
    assert!(notifications_in(&frames).is_empty(), "{frames:?}");
    assert!(
        frames.iter().any(|f| matches!(f, ServerFrame::Event(_))),
        "{frames:?}"
    );
    assert!(about_messages(&s, b).await.is_empty());

    // Unmuted, they come again; the flag is per user.
    s.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{g}/mute"),
        Some(json!({"muted": false})),
        b,
        200,
    )
    .await;
    let one = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(one["muted"], false);
    let again = s.say(a, g, "4", "@bob now?").await;
    assert_eq!(
        about_messages(&s, b).await,
        [(NotificationKind::Mention, again["id"].as_i64().unwrap())]
    );
    // Only members can mute.
    let carol = s.register("carol").await;
    expect_error(
        s.call(
            Method::PUT,
            &format!("/api/v1/conversations/{g}/mute"),
            Some(json!({"muted": true})),
            &carol.access_token,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn inbox_pages_filters_unread_and_marks_read() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    // Bob creates the room, so his inbox holds only the welcome and the mentions.
    let g = s.group(b, "G", &[alice.user.id.0]).await;
    for i in 0..3 {
        s.say(a, g, &format!("m{i}"), &format!("@bob number {i}"))
            .await;
    }
    // Welcome + 3 mentions, newest first, two per page.
    let first = inbox(&s, b, "?limit=2").await;
    assert_eq!(first.unread_count, 4);
    assert_eq!(
        first
            .items
            .iter()
            .map(|n| n.preview.as_str())
            .collect::<Vec<_>>(),
        ["@bob number 2", "@bob number 1"]
    );
    let before = first.next_before.expect("a second page").0;
    let second = inbox(&s, b, &format!("?limit=2&before={before}")).await;
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.items[1].kind, NotificationKind::Welcome);
    assert_eq!(second.next_before, None);

    // Mark one read: it leaves the unread filter and the count, and bob's other devices hear it.
    let mut bob_ws = live(&s, b).await;
    let newest = first.items[0].id.0;
    let count = s
        .ok(
            Method::POST,
            &format!("/api/v1/notifications/{newest}/read"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(count, json!({"unread_count": 3}));
    let read = next_where(&mut bob_ws, |f| matches!(f, ServerFrame::UserEvent(_))).await;
    let ServerFrame::UserEvent(read) = read else {
        unreachable!()
    };
    assert_eq!(
        read.body,
        UserEventBody::NotificationRead {
            notification_id: first.items[0].id
        }
    );
    // Marking it again changes nothing and says nothing.
    s.ok(
        Method::POST,
        &format!("/api/v1/notifications/{newest}/read"),
        None,
        b,
        200,
    )
    .await;
    let unread = inbox(&s, b, "?unread=true").await;
    assert_eq!(unread.items.len(), 3);
    assert!(unread.items.iter().all(|n| n.id.0 != newest));
    let all = inbox(&s, b, "").await;
    assert!(all.items[0].read_at.is_some());
    // Somebody else's notification is not found.
    expect_error(
        s.call(
            Method::POST,
            &format!("/api/v1/notifications/{newest}/read"),
            None,
            a,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let count = s
        .ok(Method::POST, "/api/v1/notifications/read-all", None, b, 200)
        .await;
    assert_eq!(count, json!({"unread_count": 0}));
    let all_read = next_where(&mut bob_ws, |f| matches!(f, ServerFrame::UserEvent(_))).await;
    let ServerFrame::UserEvent(all_read) = all_read else {
        unreachable!()
    };
    assert_eq!(all_read.seq, read.seq + 1, "no event for the repeated read");
    assert_eq!(
        all_read.body,
        UserEventBody::NotificationsReadAll {
            up_to: first.items[0].id
        }
    );
    let count = s
        .ok(
            Method::GET,
            "/api/v1/notifications/unread-count",
            None,
            b,
            200,
        )
        .await;
    assert_eq!(count, json!({"unread_count": 0}));
    assert!(inbox(&s, b, "?unread=true").await.items.is_empty());
    expect_error(
        s.call(Method::GET, "/api/v1/notifications?limit=0", None, b)
            .await,
        400,
        "validation_failed",
    )
    .await;
    // Alice's own inbox (welcome, added to G) is untouched by bob's read-all.
    assert_eq!(inbox(&s, a, "").await.unread_count, 2);
}

#[tokio::test]
async fn the_quote_follows_edits_and_deletes() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let m = s.say(a, g, "1", "@bob the password is hunter2").await;
    let url = format!("/api/v1/conversations/{g}/messages/{}", m["id"]);
    s.ok(
        Method::PATCH,
        &url,
        Some(json!({"text": "@bob ask me in person"})),
        a,
        200,
    )
    .await;
    assert_eq!(
        inbox(&s, b, "").await.items[0].preview,
        "@bob ask me in person"
    );
    s.ok(Method::DELETE, &url, None, a, 204).await;
    let n = &inbox(&s, b, "").await.items[0];
    assert_eq!(n.kind, NotificationKind::Mention);
    assert_eq!(n.preview, "");
}

#[tokio::test]
async fn missed_notifications_are_replayed_on_resume() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    // Bob's log so far: welcome (1), added to G (2) and notified of it (3).
    s.say(a, g, "1", "@bob while you were away").await;
    let mut ws = s
        .ws_resume(&bob.access_token, Some(json!({"user_seq": 3})))
        .await;
    let (seq, n) = next_notification(&mut ws).await;
    assert_eq!(seq, 4);
    assert_eq!(n.kind, NotificationKind::Mention);
    assert_eq!(n.preview, "@bob while you were away");
}

/// The caller's notifications about being added, oldest first, as (kind, team id, conversation id).
async fn added(s: &TestServer, token: &str) -> Vec<(NotificationKind, i64, i64)> {
    let mut v: Vec<_> = inbox(s, token, "")
        .await
        .items
        .into_iter()
        .filter(|n| {
            matches!(
                n.kind,
                NotificationKind::AddedToTeam | NotificationKind::AddedToConversation
            )
        })
        .map(|n| {
            (
                n.kind,
                n.team_id.map_or(0, |t| t.0),
                n.conversation_id.map_or(0, |c| c.0),
            )
        })
        .collect();
    v.reverse();
    v
}

#[tokio::test]
async fn being_added_by_someone_else_notifies_once_joining_oneself_does_not() {
    use NotificationKind::{AddedToConversation, AddedToTeam};
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let dave = s.register("dave").await;
    let (o, b, c, d) = (
        owner.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
        dave.access_token.as_str(),
    );
    let (t, _general) = team(&s, o, "Rocket").await;
    let mut bob_ws = live(&s, b).await;

    // Added to a team: one notification, live, with the team and the actor — none for #general.
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, AddedToTeam);
    assert_eq!(n.team_id.map(|t| t.0), Some(t));
    assert_eq!(n.actor_id, Some(owner.user.id));
    assert_eq!(n.conversation_id, None);
    assert_eq!(n.preview, "owner added you to the team Rocket");
    assert!(notifications_in(&frames_within(&mut bob_ws, SETTLE).await).is_empty());

    // Added to a private channel by one of its members.
    let private = channel(&s, o, t, "secret", true).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{private}/members"),
        Some(json!({"user_ids": [bob.user.id.0]})),
        o,
        200,
    )
    .await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, AddedToConversation);
    assert_eq!(n.conversation_id.map(|c| c.0), Some(private));
    assert_eq!(n.preview, "owner added you to #secret");

    // Joining a public channel oneself notifies nobody.
    let public = channel(&s, o, t, "lobby", false).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{public}/join"),
        None,
        b,
        200,
    )
    .await;
    assert!(notifications_in(&frames_within(&mut bob_ws, SETTLE).await).is_empty());

    // Joining a team by invite code notifies nobody either.
    let invite = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/invites"),
            Some(json!({})),
            o,
            201,
        )
        .await;
    s.ok(
        Method::POST,
        "/api/v1/invites/join",
        Some(json!({"code": invite["code"]})),
        c,
        201,
    )
    .await;
    assert!(added(&s, c).await.is_empty());

    // A group created with someone in it, and someone added to it later.
    let g = s.group(o, "Room", &[bob.user.id.0]).await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, AddedToConversation);
    assert_eq!(n.conversation_id.map(|c| c.0), Some(g));
    assert_eq!(n.preview, "owner added you to the group Room");
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/members"),
        Some(json!({"user_ids": [dave.user.id.0, bob.user.id.0]})),
        b,
        200,
    )
    .await;
    // Bob, already a member, is not notified again; Dave is, by Bob.
    assert!(notifications_in(&frames_within(&mut bob_ws, SETTLE).await).is_empty());
    let dave_inbox = inbox(&s, d, "").await;
    assert_eq!(dave_inbox.items[0].kind, AddedToConversation);
    assert_eq!(dave_inbox.items[0].actor_id, Some(bob.user.id));

    // The inbox holds exactly one per action; whoever added nobody got nothing.
    assert_eq!(
        added(&s, b).await,
        [
            (AddedToTeam, t, 0),
            (AddedToConversation, 0, private),
            (AddedToConversation, 0, g)
        ]
    );
    assert_eq!(added(&s, d).await, [(AddedToConversation, 0, g)]);
    assert!(added(&s, o).await.is_empty());
    assert_eq!(inbox(&s, b, "?unread=true").await.unread_count, 4); // with the welcome
}

#[tokio::test]
async fn an_edit_that_adds_a_mention_notifies_once() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let g = s.group(a, "G", &[bob.user.id.0, carol.user.id.0]).await;
    let m = s.say(a, g, "1", "@carol lunch?").await;
    let id = m["id"].as_i64().unwrap();
    let url = format!("/api/v1/conversations/{g}/messages/{id}");
    let mut bob_ws = live(&s, b).await;
    let mut carol_ws = live(&s, c).await;
    let edit = |text: &'static str| {
        let url = url.clone();
        let s = &s;
        async move {
            s.ok(Method::PATCH, &url, Some(json!({"text": text})), a, 200)
                .await;
        }
    };

    // The edit names Bob: he is notified, live; Carol, named before, is not again.
    edit("@carol @bob lunch?").await;
    let (_, n) = next_notification(&mut bob_ws).await;
    assert_eq!(n.kind, NotificationKind::Mention);
    assert_eq!(n.message_id.map(|m| m.0), Some(id));
    assert_eq!(n.actor_id, Some(alice.user.id));
    assert_eq!(n.preview, "@carol @bob lunch?");
    assert!(notifications_in(&frames_within(&mut carol_ws, SETTLE).await).is_empty());
    // Further edits, even dropping and re-adding the name, do not notify again; nor does the
    // author naming themselves.
    edit("lunch? @alice").await;
    edit("@bob lunch at noon").await;
    assert!(notifications_in(&frames_within(&mut bob_ws, SETTLE).await).is_empty());
    assert_eq!(
        about_messages(&s, b).await,
        [(NotificationKind::Mention, id)]
    );
    assert_eq!(
        about_messages(&s, c).await,
        [(NotificationKind::Mention, id)]
    );
    assert!(about_messages(&s, a).await.is_empty());
}
