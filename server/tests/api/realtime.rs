//! Real time over the one WebSocket: fan-out to members only, sends with acks and retries, error
//! frames, rate limits, typing, presence, read receipts, and durability of acknowledged sends.

use crate::support::*;
use jeco_shared::ErrorCode;
use jeco_shared::events::{EventBody, PresenceStatus};
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// Long enough for a frame that was going to arrive to arrive.
const SETTLE: Duration = Duration::from_millis(300);

fn is_event(f: &ServerFrame) -> bool {
    matches!(f, ServerFrame::Event(_) | ServerFrame::UserEvent(_))
}

#[tokio::test]
async fn events_reach_every_member_connection_and_no_one_else() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut alice1 = s.ws_live(&alice.access_token).await;
    let mut alice2 = s.ws_live(&alice.access_token).await;
    let mut bob_ws = s.ws_live(&bob.access_token).await;
    let mut carol_ws = s.ws_live(&carol.access_token).await;

    send_json(
        &mut bob_ws,
        json!({"type": "send", "conversation_id": g, "client_id": "b-1", "text": "hi all"}),
    )
    .await;
    // Sends run concurrently with deliveries: the sender's ack and its own copy of the event may
    // come in either order.
    let (mut ack, mut own_event) = (None, None);
    while ack.is_none() || own_event.is_none() {
        match next_frame(&mut bob_ws).await {
            f @ ServerFrame::Ack { .. } => ack = Some(f),
            ServerFrame::Event(e) => own_event = Some(e),
            _ => {}
        }
    }
    let Some(ServerFrame::Ack { client_id, message }) = ack else {
        unreachable!()
    };
    assert_eq!(client_id, "b-1");
    assert_eq!(message.text, "hi all");
    let others = [next_event(&mut alice1).await, next_event(&mut alice2).await];
    for e in others.into_iter().chain(own_event) {
        assert_eq!(e.conversation_id.0, g);
        assert_eq!(e.seq, message.seq);
        assert_eq!(
            e.body,
            EventBody::MessageCreated {
                message: message.clone()
            }
        );
    }

    // A retried send gets the same ack and creates nothing new.
    send_json(
        &mut bob_ws,
        json!({"type": "send", "conversation_id": g, "client_id": "b-1", "text": "hi all"}),
    )
    .await;
    let again = next_where(&mut bob_ws, |f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(again, ServerFrame::Ack { message: m, .. } if m == message));
    assert!(
        !frames_within(&mut alice1, SETTLE)
            .await
            .iter()
            .any(is_event)
    );
    // The non-member saw nothing of it.
    assert!(
        !frames_within(&mut carol_ws, SETTLE)
            .await
            .iter()
            .any(is_event)
    );

    // Membership changes are events too, and the new member starts receiving.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/members"),
        Some(json!({"user_ids": [carol.user.id.0]})),
        &alice.access_token,
        200,
    )
    .await;
    let added = next_event(&mut alice1).await;
    assert_eq!(
        added.body,
        EventBody::MemberAdded {
            user_id: carol.user.id,
            role: jeco_shared::conversations::MemberRole::Member
        }
    );
    let joined = next_where(&mut carol_ws, |f| matches!(f, ServerFrame::UserEvent(_))).await;
    assert!(matches!(joined, ServerFrame::UserEvent(_)), "{joined:?}");
    let first = next_event(&mut carol_ws).await;
    assert_eq!(first.seq, added.seq);
    s.say(&alice.access_token, g, "a-1", "welcome").await;
    let e = next_event(&mut carol_ws).await;
    assert_eq!(e.seq, added.seq + 1);
    assert!(matches!(e.body, EventBody::MessageCreated { .. }));
}

#[tokio::test]
async fn bad_actions_get_error_frames_and_the_connection_survives() {
    let s = TestServer::start_with(|c| {
        c.message_max_chars = 20;
        c.message_rate_per_sec = 1;
        c.message_rate_burst = 2;
    })
    .await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let g = s.group(&bob.access_token, "Bob's", &[]).await;
    let mine = s.group(&alice.access_token, "Mine", &[]).await;
    let mut ws = s.ws_live(&alice.access_token).await;
    let error = |f: ServerFrame| match f {
        ServerFrame::Error {
            code,
            frame,
            client_id,
            ..
        } => (code, frame, client_id),
        other => panic!("expected an error frame, got {other:?}"),
    };
    let not_error_or_pong = |f: &ServerFrame| matches!(f, ServerFrame::Error { .. });

    for conversation in [g, 999_999] {
        send_json(
            &mut ws,
            json!({"type": "send", "conversation_id": conversation, "client_id": "x", "text": "hi"}),
        )
        .await;
        let (code, frame, client_id) = error(next_where(&mut ws, not_error_or_pong).await);
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!(frame.as_deref(), Some("send"));
        assert_eq!(client_id.as_deref(), Some("x"));
    }
    send_json(
        &mut ws,
        json!({"type": "typing", "conversation_id": g, "active": true}),
    )
    .await;
    assert_eq!(
        error(next_where(&mut ws, not_error_or_pong).await).0,
        ErrorCode::NotFound
    );
    send_json(
        &mut ws,
        json!({"type": "mark_read", "conversation_id": g, "seq": 1}),
    )
    .await;
    assert_eq!(
        error(next_where(&mut ws, not_error_or_pong).await).0,
        ErrorCode::NotFound
    );
    send_json(
        &mut ws,
        json!({"type": "send", "conversation_id": mine, "client_id": "long", "text": "x".repeat(21)}),
    )
    .await;
    assert_eq!(
        error(next_where(&mut ws, not_error_or_pong).await).0,
        ErrorCode::ValidationFailed
    );
    send_json(&mut ws, json!({"type": "send", "conversation_id": mine})).await;
    assert_eq!(
        error(next_where(&mut ws, not_error_or_pong).await).0,
        ErrorCode::MalformedFrame
    );
    send_json(
        &mut ws,
        json!({"type": "set_presence", "status": "offline"}),
    )
    .await;
    assert_eq!(
        error(next_where(&mut ws, not_error_or_pong).await).0,
        ErrorCode::ValidationFailed
    );

    // The rate limit answers with a frame, not a dropped connection.
    let mut limited = None;
    for i in 0..5 {
        send_json(
            &mut ws,
            json!({"type": "send", "conversation_id": mine, "client_id": format!("r{i}"), "text": "go"}),
        )
        .await;
        let reply = next_where(&mut ws, |f| {
            matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. })
        })
        .await;
        if let ServerFrame::Error {
            code, client_id, ..
        } = reply
        {
            limited = Some((code, client_id));
            break;
        }
    }
    assert_eq!(
        limited,
        Some((ErrorCode::RateLimited, Some("r2".to_owned())))
    );
    send_json(&mut ws, json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(
        next_where(&mut ws, |f| matches!(f, ServerFrame::Pong { .. })).await,
        ServerFrame::Pong { nonce: 5 }
    );
}

#[tokio::test]
async fn typing_is_relayed_and_expires_by_itself() {
    let s = TestServer::start_with(|c| c.typing_timeout_ms = 300).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut a = s.ws_live(&alice.access_token).await;
    let mut b = s.ws_live(&bob.access_token).await;
    let typing = |f: &ServerFrame| matches!(f, ServerFrame::Typing { .. });

    send_json(
        &mut b,
        json!({"type": "typing", "conversation_id": g, "active": true}),
    )
    .await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        next_where(&mut a, typing).await,
        ServerFrame::Typing {
            conversation_id: jeco_shared::ConversationId(g),
            user_id: bob.user.id,
            active: true,
            expires_in_ms: 300
        }
    );
    // No stop was sent: the server ends it.
    let ended = next_where(&mut a, typing).await;
    assert!(matches!(ended, ServerFrame::Typing { active: false, .. }));
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The typist does not get its own indicator, and nothing was stored.
    assert!(!frames_within(&mut b, SETTLE).await.iter().any(typing));
    let page = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}/messages"),
            None,
            &alice.access_token,
            200,
        )
        .await;
    assert_eq!(page["items"], json!([]));

    // An explicit stop ends it at once.
    send_json(
        &mut b,
        json!({"type": "typing", "conversation_id": g, "active": true}),
    )
    .await;
    next_where(&mut a, typing).await;
    send_json(
        &mut b,
        json!({"type": "typing", "conversation_id": g, "active": false}),
    )
    .await;
    let stop = next_where(&mut a, typing).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(stop, ServerFrame::Typing { active: false, .. }));
}

#[tokio::test]
async fn presence_counts_all_of_a_users_connections() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut a = s.ws_live(&alice.access_token).await;
    let bobs = |f: &ServerFrame| matches!(f, ServerFrame::Presence { user_id, .. } if *user_id == bob.user.id);
    let status = |f: ServerFrame| match f {
        ServerFrame::Presence { status, .. } => status,
        _ => unreachable!(),
    };

    let mut b1 = s.ws_live(&bob.access_token).await;
    assert_eq!(
        status(next_where(&mut a, bobs).await),
        PresenceStatus::Online
    );
    let b2 = s.ws_live(&bob.access_token).await;
    // One connection away, the other active: still online.
    send_json(&mut b1, json!({"type": "set_presence", "status": "away"})).await;
    assert!(!frames_within(&mut a, SETTLE).await.iter().any(bobs));
    // The active one closes: away.
    drop(b2);
    assert_eq!(status(next_where(&mut a, bobs).await), PresenceStatus::Away);
    send_json(&mut b1, json!({"type": "set_presence", "status": "online"})).await;
    assert_eq!(
        status(next_where(&mut a, bobs).await),
        PresenceStatus::Online
    );
    drop(b1);
    assert_eq!(
        status(next_where(&mut a, bobs).await),
        PresenceStatus::Offline
    );
}

#[tokio::test]
async fn a_connection_that_stops_answering_goes_offline() {
    let s = TestServer::start_with(|c| {
        c.ws_heartbeat_interval_ms = 100;
        c.ws_idle_timeout_ms = 400;
    })
    .await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut a = s.ws_live(&alice.access_token).await;
    // Alice keeps answering (next_where reads, and reading answers pings); Bob never reads again.
    let _silent_bob = s.ws_live(&bob.access_token).await;
    let bobs = |f: &ServerFrame| matches!(f, ServerFrame::Presence { user_id, .. } if *user_id == bob.user.id);
    assert!(matches!(
        next_where(&mut a, bobs).await,
        ServerFrame::Presence {
            status: PresenceStatus::Online,
            ..
        }
    ));
    assert!(matches!(
        next_where(&mut a, bobs).await,
        ServerFrame::Presence {
            status: PresenceStatus::Offline,
            ..
        }
    ));
}

#[tokio::test]
async fn read_receipts_reach_the_other_members() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let m = s.say(&alice.access_token, g, "1", "read me").await;
    let mut a = s.ws_live(&alice.access_token).await;
    let mut b = s.ws_live(&bob.access_token).await;
    send_json(
        &mut b,
        json!({"type": "mark_read", "conversation_id": g, "seq": m["seq"]}),
    )
    .await;
    let receipt = next_event(&mut a).await;
    assert_eq!(receipt.actor_id, bob.user.id);
    assert_eq!(
        receipt.body,
        EventBody::ReadReceipt {
            user_id: bob.user.id,
            read_seq: m["seq"].as_i64().unwrap()
        }
    );
    let list = s
        .ok(
            Method::GET,
            "/api/v1/conversations",
            None,
            &bob.access_token,
            200,
        )
        .await;
    assert_eq!(list["items"][0]["unread_count"], 0);
    assert_eq!(list["items"][0]["read_seq"], m["seq"]);
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let mut s = TestServer::start().await;
    let alice = s.register("alice").await;
    let g = s.group(&alice.access_token, "G", &[]).await;
    let mut ws = s.ws_live(&alice.access_token).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        send_json(
            &mut ws,
            json!({"type": "send", "conversation_id": g, "client_id": format!("d{i}"), "text": format!("durable {i}")}),
        )
        .await;
    }
    for _ in 0..20 {
        if let ServerFrame::Ack { message, .. } =
            next_where(&mut ws, |f| matches!(f, ServerFrame::Ack { .. })).await
        {
            acked.push(message);
        }
    }
    s.restart().await;
    let page = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}/messages?limit=50"),
            None,
            &alice.access_token,
            200,
        )
        .await;
    let stored: Vec<jeco_shared::messages::Message> =
        serde_json::from_value(page["items"].clone()).unwrap();
    assert_eq!(stored, acked);
}

#[tokio::test]
async fn typing_ends_at_once_when_the_typists_last_connection_closes() {
    // The expiry is far away: a stop within the test's patience can only come from the close.
    let s = TestServer::start_with(|c| c.typing_timeout_ms = 600_000).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut a = ws_caught_up(&s, &alice.access_token).await;
    let mut b1 = ws_caught_up(&s, &bob.access_token).await;
    let b2 = ws_caught_up(&s, &bob.access_token).await;
    let typing = |f: &ServerFrame| matches!(f, ServerFrame::Typing { .. });

    send_json(
        &mut b1,
        json!({"type": "typing", "conversation_id": g, "active": true}),
    )
    .await;
    assert!(matches!(
        next_where(&mut a, typing).await,
        ServerFrame::Typing { active: true, .. }
    ));
    // Another connection of Bob's closes: he is still there, still typing.
    drop(b2);
    assert!(!frames_within(&mut a, SETTLE).await.iter().any(typing));
    // His last one closes: the indicator ends now.
    drop(b1);
    assert_eq!(
        next_where(&mut a, typing).await,
        ServerFrame::Typing {
            conversation_id: jeco_shared::ConversationId(g),
            user_id: bob.user.id,
            active: false,
            expires_in_ms: 0
        }
    );
}

#[tokio::test]
async fn sends_in_flight_together_are_each_acknowledged_exactly_once() {
    use futures_util::SinkExt;
    use std::collections::{BTreeMap, BTreeSet};
    use tokio_tungstenite::tungstenite::Message;
    let s = TestServer::start_with(|c| {
        c.message_rate_per_sec = 100_000;
        c.message_rate_burst = 100_000;
    })
    .await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let g = s.group(&alice.access_token, "G", &[bob.user.id.0]).await;
    let mut ws = s.ws_live(&alice.access_token).await;
    let mut bob_ws = s.ws_live(&bob.access_token).await;

    // More sends than may be in flight at once (so reading pauses and resumes), all written before
    // any ack is read, plus one `client_id` repeated while the first may still be in flight.
    const SENDS: usize = 80;
    for i in 0..SENDS {
        let frame = json!({"type": "send", "conversation_id": g, "client_id": format!("p{i}"), "text": format!("pipelined {i}")});
        ws.feed(Message::text(frame.to_string())).await.unwrap();
    }
    let again =
        json!({"type": "send", "conversation_id": g, "client_id": "p0", "text": "pipelined 0"});
    ws.feed(Message::text(again.to_string())).await.unwrap();
    ws.flush().await.unwrap();

    let mut acks: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    while acks.values().map(Vec::len).sum::<usize>() < SENDS + 1 {
        match next_frame(&mut ws).await {
            ServerFrame::Ack { client_id, message } => acks
                .entry(client_id)
                .or_default()
                .push((message.id.0, message.seq)),
            ServerFrame::Error { .. } => panic!("a send was refused"),
            _ => {}
        }
    }
    assert_eq!(acks.len(), SENDS);
    for (client_id, got) in &acks {
        let expected = if client_id == "p0" { 2 } else { 1 };
        assert_eq!(got.len(), expected, "{client_id}: {got:?}");
        // The repeated one is the same message.
        assert!(got.iter().all(|m| *m == got[0]), "{client_id}: {got:?}");
    }
    // Every message stored once: distinct, gap-free positions.
    let seqs: BTreeSet<i64> = acks.values().map(|got| got[0].1).collect();
    assert_eq!(seqs.len(), SENDS);
    let (first, last) = (*seqs.first().unwrap(), *seqs.last().unwrap());
    assert_eq!(last - first + 1, SENDS as i64);
    // The other member gets each once, in position order.
    let mut delivered = Vec::new();
    while delivered.len() < SENDS {
        delivered.push(next_event(&mut bob_ws).await.seq);
    }
    assert_eq!(delivered, seqs.iter().copied().collect::<Vec<_>>());
    assert!(
        !frames_within(&mut bob_ws, SETTLE)
            .await
            .iter()
            .any(is_event)
    );
    // Nothing more for the sender either: no second ack.
    assert!(
        !frames_within(&mut ws, SETTLE)
            .await
            .iter()
            .any(|f| matches!(f, ServerFrame::Ack { .. }))
    );
}
