//! Group commit: many concurrent senders are stored in shared transactions, yet every message is
//! stored once, positions stay gap-free and in order, retries stay idempotent, and every
//! acknowledged message is there after a restart.

use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use jeco_shared::ws::ServerFrame;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio_tungstenite::tungstenite::Message;

const SENDERS: usize = 8;
const PER_SENDER: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_are_stored_once_in_order_and_survive_a_restart() {
    let mut s = TestServer::start_with(|c| {
        c.message_rate_per_sec = 100_000;
        c.message_rate_burst = 100_000;
    })
    .await;
    let mut users = Vec::new();
    for i in 0..SENDERS {
        users.push(s.register(&format!("gc{i}")).await);
    }
    let others: Vec<i64> = users[1..].iter().map(|u| u.user.id.0).collect();
    let room = s.group(&users[0].access_token, "busy", &others).await;
    let base: i64 = s
        .ok(
            reqwest::Method::GET,
            &format!("/api/v1/conversations/{room}"),
            None,
            &users[0].access_token,
            200,
        )
        .await["last_seq"]
        .as_i64()
        .unwrap();
    // A watcher that only listens: it must see the messages' events in position order, no gaps.
    let mut watcher = s.ws_live(&users[0].access_token).await;

    // Every sender pipelines all its sends at once, each sent twice back to back (a retry that
    // likely lands in the same batch as the original).
    let mut tasks = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let mut ws = s.ws_live(&user.access_token).await;
        tasks.push(tokio::spawn(async move {
            for n in 0..PER_SENDER {
                let frame = json!({"type": "send", "conversation_id": room,
                    "client_id": format!("s{i}-{n}"), "text": format!("message {n} from {i}")});
                for _ in 0..2 {
                    ws.send(Message::text(frame.to_string())).await.unwrap();
                }
            }
            let mut acks: Vec<(String, i64, i64)> = Vec::new();
            while acks.len() < 2 * PER_SENDER {
                if let ServerFrame::Ack { client_id, message } =
                    next_where(&mut ws, |f| matches!(f, ServerFrame::Ack { .. })).await
                {
                    acks.push((client_id, message.id.0, message.seq));
                }
            }
            acks
        }));
    }
    let mut by_client: HashMap<String, BTreeSet<(i64, i64)>> = HashMap::new();
    for task in tasks {
        for (client_id, id, seq) in task.await.unwrap() {
            by_client.entry(client_id).or_default().insert((id, seq));
        }
    }
    // Each client id was acknowledged twice with the same message: stored once.
    assert_eq!(by_client.len(), SENDERS * PER_SENDER);
    assert!(by_client.values().all(|v| v.len() == 1), "{by_client:?}");
    let seqs: BTreeSet<i64> = by_client
        .values()
        .map(|v| v.iter().next().unwrap().1)
        .collect();
    let total = (SENDERS * PER_SENDER) as i64;
    assert_eq!(
        seqs,
        (base + 1..=base + total).collect::<BTreeSet<i64>>(),
        "positions are gap-free"
    );

    let mut seen = Vec::new();
    while seen.len() < (SENDERS * PER_SENDER) {
        seen.push(next_event(&mut watcher).await.seq);
    }
    assert_eq!(
        seen,
        (base + 1..=base + total).collect::<Vec<i64>>(),
        "events arrive in position order"
    );

    // Acknowledged means committed: all of it is there after a restart.
    drop(watcher);
    s.restart().await;
    let mut stored: BTreeMap<i64, String> = BTreeMap::new();
    let mut after = base;
    loop {
        let page = s
            .ok(
                reqwest::Method::GET,
                &format!("/api/v1/conversations/{room}/messages?after={after}&limit=100"),
                None,
                &users[0].access_token,
                200,
            )
            .await;
        let items = page["items"].as_array().unwrap();
        for m in items {
            let seq = m["seq"].as_i64().unwrap();
            assert!(
                stored
                    .insert(seq, m["client_id"].as_str().unwrap().to_owned())
                    .is_none()
            );
            after = after.max(seq);
        }
        if !page["has_more_after"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(stored.len(), SENDERS * PER_SENDER);
    let client_ids: BTreeSet<&String> = stored.values().collect();
    assert_eq!(client_ids.len(), SENDERS * PER_SENDER, "each stored once");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_in_a_busy_moment_does_not_refuse_the_others() {
    let s = TestServer::start_with(|c| {
        c.message_rate_per_sec = 100_000;
        c.message_rate_burst = 100_000;
    })
    .await;
    let a = s.register("gca").await;
    let b = s.register("gcb").await;
    let room = s.group(&a.access_token, "room", &[b.user.id.0]).await;
    let mut wa = s.ws_live(&a.access_token).await;
    let mut wb = s.ws_live(&b.access_token).await;
    // b reuses a client id it used in another conversation: a conflict, refused alone.
    let other = s.group(&b.access_token, "other", &[]).await;
    s.say(&b.access_token, other, "taken", "first").await;
    for n in 0..20 {
        let frame = json!({"type": "send", "conversation_id": room,
            "client_id": format!("a{n}"), "text": "hi"});
        wa.send(Message::text(frame.to_string())).await.unwrap();
    }
    let refused =
        json!({"type": "send", "conversation_id": room, "client_id": "taken", "text": "again"});
    wb.send(Message::text(refused.to_string())).await.unwrap();
    let error = next_where(&mut wb, |f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(&error, ServerFrame::Error { client_id: Some(c), .. } if c == "taken"),
        "{error:?}"
    );
    let mut acked = 0;
    while acked < 20 {
        if let ServerFrame::Ack { .. } =
            next_where(&mut wa, |f| matches!(f, ServerFrame::Ack { .. })).await
        {
            acked += 1;
        }
    }
    drop(wa.close(None).await);
    let _ = wb.next().await;
}

async fn last_seq(s: &TestServer, token: &str, room: i64) -> i64 {
    s.ok(
        reqwest::Method::GET,
        &format!("/api/v1/conversations/{room}"),
        None,
        token,
        200,
    )
    .await["last_seq"]
        .as_i64()
        .unwrap()
}

/// Whether the sender may send is checked by the writer inside the batch's transaction (no read
/// before the queue): a non-member's sends, over the WebSocket and over HTTP, get the same
/// `not_found` as before while they share batches with a member's, take no position and store
/// nothing; a member removed a moment ago is refused the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_members_are_refused_by_the_writer_without_taking_a_position() {
    let s = TestServer::start_with(|c| {
        c.message_rate_per_sec = 100_000;
        c.message_rate_burst = 100_000;
    })
    .await;
    let a = s.register("gcm").await;
    let b = s.register("gcn").await;
    let outsider = s.register("gco").await;
    let room = s.group(&a.access_token, "members", &[b.user.id.0]).await;
    let base = last_seq(&s, &a.access_token, room).await;
    let mut wa = s.ws_live(&a.access_token).await;
    let mut wo = s.ws_live(&outsider.access_token).await;
    for n in 0..20 {
        let member = json!({"type": "send", "conversation_id": room,
            "client_id": format!("m{n}"), "text": "hi"});
        wa.send(Message::text(member.to_string())).await.unwrap();
        let outside = json!({"type": "send", "conversation_id": room,
            "client_id": format!("o{n}"), "text": "let me in"});
        wo.send(Message::text(outside.to_string())).await.unwrap();
    }
    let mut refused = BTreeSet::new();
    while refused.len() < 20 {
        match next_where(&mut wo, |f| {
            matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. })
        })
        .await
        {
            ServerFrame::Error {
                code,
                client_id: Some(c),
                ..
            } => {
                assert_eq!(code, jeco_shared::ErrorCode::NotFound);
                refused.insert(c);
            }
            other => panic!("a non-member's send got {other:?}"),
        }
    }
    let mut acked = BTreeSet::new();
    while acked.len() < 20 {
        if let ServerFrame::Ack { message, .. } =
            next_where(&mut wa, |f| matches!(f, ServerFrame::Ack { .. })).await
        {
            acked.insert(message.seq);
        }
    }
    assert_eq!(
        acked,
        (base + 1..=base + 20).collect::<BTreeSet<i64>>(),
        "refused sends take no position"
    );
    // Over HTTP, the same answer.
    let r = s
        .post(
            &format!("/api/v1/conversations/{room}/messages"),
            json!({"client_id": "http", "text": "let me in"}),
            Some(&outsider.access_token),
        )
        .await;
    expect_error(r, 404, "not_found").await;
    // A member removed a moment ago is refused too, and a conversation that does not exist
    // answers exactly like one the sender is not in.
    s.ok(
        reqwest::Method::DELETE,
        &format!("/api/v1/conversations/{room}/members/{}", b.user.id.0),
        None,
        &a.access_token,
        204,
    )
    .await;
    let r = s
        .post(
            &format!("/api/v1/conversations/{room}/messages"),
            json!({"client_id": "gone", "text": "still here?"}),
            Some(&b.access_token),
        )
        .await;
    expect_error(r, 404, "not_found").await;
    let r = s
        .post(
            "/api/v1/conversations/999999/messages",
            json!({"client_id": "nowhere", "text": "hello?"}),
            Some(&b.access_token),
        )
        .await;
    expect_error(r, 404, "not_found").await;
    // Nothing of theirs was stored: 20 messages and the removal.
    assert_eq!(last_seq(&s, &a.access_token, room).await, base + 21);
    let page = s
        .ok(
            reqwest::Method::GET,
            &format!("/api/v1/conversations/{room}/messages?after={base}&limit=100"),
            None,
            &a.access_token,
            200,
        )
        .await;
    let senders: BTreeSet<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sender_id"].as_i64().unwrap())
        .collect();
    assert_eq!(senders, BTreeSet::from([a.user.id.0]));
    drop(wa.close(None).await);
    drop(wo.close(None).await);
}
