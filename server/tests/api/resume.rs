//! Resume: a client that was away gets exactly the events it missed, once, in order — or a resync
//! when it is too far behind.

use crate::support::*;
use jeco_shared::events::{EventBody, UserEventBody};
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::json;

/// Frames up to and including `caught_up`, without ephemeral ones.
async fn replay(ws: &mut Ws) -> Vec<ServerFrame> {
    let mut out = Vec::new();
    loop {
        let f = next_frame(ws).await;
        match f {
            ServerFrame::CaughtUp => return out,
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => {}
            other => out.push(other),
        }
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let first = s.say(a, g, "1", "before").await;

    // Bob is live, sees the message, remembers his positions, goes away.
    let mut ws = s.ws_live(b).await;
    let (position, user_seq) = {
        let conv = s
            .ok(
                Method::GET,
                &format!("/api/v1/conversations/{g}"),
                None,
                b,
                200,
            )
            .await;
        // Bob's own log: the welcome notification (1), added to G (2) and notified of it (3).
        (conv["last_seq"].as_i64().unwrap(), 3)
    };
    assert_eq!(position, first["seq"].as_i64().unwrap());
    drop(ws);

    // While he is away: messages, an edit, a reaction, a pin, membership changes.
    let m2 = s.say(a, g, "2", "missed one").await;
    let m3 = s.say(a, g, "3", "missed two").await;
    let msgs = format!("/api/v1/conversations/{g}/messages");
    s.ok(
        Method::PATCH,
        &format!("{msgs}/{}", m2["id"]),
        Some(json!({"text": "missed one (edited)"})),
        a,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("{msgs}/{}/reactions", m3["id"]),
        Some(json!({"emoji": "🎉"})),
        a,
        200,
    )
    .await;
    s.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{g}/pins/{}", m3["id"]),
        None,
        a,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/members"),
        Some(json!({"user_ids": [carol.user.id.0]})),
        a,
        200,
    )
    .await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/members/{}", carol.user.id.0),
        None,
        a,
        204,
    )
    .await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{g}"),
        Some(json!({"name": "G2"})),
        a,
        200,
    )
    .await;

    // Bob resumes from his positions.
    ws = s
        .ws_resume(
            b,
            Some(json!({"conversations": [{"conversation_id": g, "seq": position}], "user_seq": user_seq})),
        )
        .await;
    let frames = replay(&mut ws).await;
    let events: Vec<_> = frames
        .iter()
        .map(|f| match f {
            ServerFrame::Event(e) => e.clone(),
            other => panic!("only conversation events were missed, got {other:?}"),
        })
        .collect();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, ((position + 1)..=(position + 8)).collect::<Vec<_>>());
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match &e.body {
            EventBody::MessageCreated { .. } => "created",
            EventBody::MessageEdited { .. } => "edited",
            EventBody::ReactionAdded { .. } => "reaction",
            EventBody::MessagePinned { .. } => "pinned",
            EventBody::MemberAdded { .. } => "added",
            EventBody::MemberRemoved { .. } => "removed",
            EventBody::ConversationRenamed { .. } => "renamed",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "created", "created", "edited", "reaction", "pinned", "added", "removed", "renamed"
        ]
    );
    assert!(
        matches!(&events[2].body, EventBody::MessageEdited { text, .. } if text == "missed one (edited)")
    );

    // Then live, continuing exactly after the replay.
    s.say(a, g, "4", "live again").await;
    let live = next_event(&mut ws).await;
    assert_eq!(live.seq, position + 9);
    assert!(matches!(live.body, EventBody::MessageCreated { .. }));

    // Carol, who was never connected, learns from her own log that she was added and removed.
    let mut cws = s
        .ws_resume(&carol.access_token, Some(json!({"user_seq": 0})))
        .await;
    let frames = replay(&mut cws).await;
    let bodies: Vec<UserEventBody> = frames
        .into_iter()
        .map(|f| match f {
            ServerFrame::UserEvent(e) => e.body,
            other => panic!("{other:?}"),
        })
        // Her log starts with the welcome notification (see `notifications`).
        .skip(1)
        .collect();
    // Being added by Alice also notified her (right after the `conversation_added`).
    assert!(
        matches!(&bodies[1], UserEventBody::NotificationCreated { notification }
            if notification.kind == jeco_shared::notifications::NotificationKind::AddedToConversation),
        "{bodies:?}"
    );
    let bodies: Vec<UserEventBody> = bodies
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        bodies,
        [
            UserEventBody::ConversationAdded {
                conversation_id: jeco_shared::ConversationId(g),
                from_seq: position + 6,
            },
            UserEventBody::ConversationRemoved {
                conversation_id: jeco_shared::ConversationId(g)
            }
        ]
    );
    // And a client that resumes from the present gets nothing but caught_up.
    let mut again = s
        .ws_resume(
            b,
            Some(json!({"conversations": [{"conversation_id": g, "seq": position + 9}], "user_seq": user_seq})),
        )
        .await;
    assert!(replay(&mut again).await.is_empty());
}

#[tokio::test]
async fn too_far_behind_gets_a_resync() {
    let s = TestServer::start_with(|c| c.resume_max_events = 3).await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let near = s.group(a, "Near", &[]).await;
    for i in 0..5 {
        s.say(a, g, &format!("g{i}"), "x").await;
    }
    let near_msg = s.say(a, near, "n", "y").await;
    let mut ws = s
        .ws_resume(
            a,
            Some(json!({
                "conversations": [
                    {"conversation_id": g, "seq": 1},
                    {"conversation_id": near, "seq": near_msg["seq"].as_i64().unwrap() - 1}
                ],
                // Welcome notification (1), added to G (2) and to Near (3).
                "user_seq": 3
            })),
        )
        .await;
    let frames = replay(&mut ws).await;
    let conv = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}"),
            None,
            a,
            200,
        )
        .await;
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(
        frames[0],
        ServerFrame::Resync {
            conversation_id: Some(jeco_shared::ConversationId(g)),
            seq: conv["last_seq"].as_i64().unwrap()
        }
    );
    assert!(matches!(&frames[1], ServerFrame::Event(e) if e.conversation_id.0 == near));
    // After a resync, live events continue after the announced position.
    s.say(a, g, "after", "z").await;
    let live = next_event(&mut ws).await;
    assert_eq!(live.seq, conv["last_seq"].as_i64().unwrap() + 1);
}

/// A hello that lists one conversation twice (at different positions, in either order) gets its
/// missed events once, from the earliest position listed, then live events after them — never a
/// second replay of the same positions.
#[tokio::test]
async fn a_conversation_listed_twice_is_replayed_once() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let other = s.group(a, "Other", &[]).await;
    let first = s.say(a, g, "0", "seen").await["seq"].as_i64().unwrap();
    for i in 1..=4 {
        s.say(a, g, &format!("{i}"), "missed").await;
    }
    let other_seq = s.say(a, other, "o", "missed too").await["seq"]
        .as_i64()
        .unwrap();
    let head = first + 4;
    for listed in [
        json!([
            {"conversation_id": g, "seq": first + 2},
            {"conversation_id": other, "seq": other_seq - 1},
            {"conversation_id": g, "seq": first},
        ]),
        json!([
            {"conversation_id": g, "seq": first},
            {"conversation_id": g, "seq": first},
            {"conversation_id": other, "seq": other_seq - 1},
            {"conversation_id": g, "seq": first + 3},
        ]),
    ] {
        let mut ws = s
            .ws_resume(
                a,
                // The user log is left at its head: only conversation events are replayed.
                Some(json!({"conversations": listed, "user_seq": 1_000})),
            )
            .await;
        let replayed: Vec<(i64, i64)> = replay(&mut ws)
            .await
            .into_iter()
            .map(|f| match f {
                ServerFrame::Event(e) => (e.conversation_id.0, e.seq),
                other => panic!("only conversation events were missed, got {other:?}"),
            })
            .collect();
        let mut want: Vec<(i64, i64)> = ((first + 1)..=head).map(|seq| (g, seq)).collect();
        want.push((other, other_seq));
        let mut got = replayed.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "each missed event once, for {listed}");
        // Per conversation, in order.
        let g_seqs: Vec<i64> = replayed
            .iter()
            .filter(|(c, _)| *c == g)
            .map(|(_, seq)| *seq)
            .collect();
        assert_eq!(g_seqs, ((first + 1)..=head).collect::<Vec<_>>());
        drop(ws);
    }
}
