//! Two instances, one PostgreSQL database, one Redis: what a client on one instance sees of what
//! happens on the other, and that nothing is lost when Redis loses messages, drops its subscribers
//! or restarts (the database is the truth; see `jeco_server::cluster::bus`).

use crate::support::*;
use jeco_shared::events::{EventBody, UserEventBody};
use jeco_shared::ws::{ServerFrame, close};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Reads frames until every `MessageCreated` of conversation `g` with a text in `want` arrived
/// (or `within` passes); returns each message text with the seqs it arrived at, and every event
/// seq of `g` in arrival order.
async fn collect_texts(
    ws: &mut Ws,
    g: i64,
    want: usize,
    within: Duration,
) -> (BTreeMap<String, Vec<i64>>, Vec<i64>) {
    let deadline = Instant::now() + within;
    let mut texts: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut seqs = Vec::new();
    while texts.len() < want && Instant::now() < deadline {
        for frame in frames_within(ws, Duration::from_millis(200)).await {
            if let ServerFrame::Event(e) = frame
                && e.conversation_id.0 == g
            {
                seqs.push(e.seq);
                if let EventBody::MessageCreated { message } = e.body {
                    texts.entry(message.text).or_default().push(e.seq);
                }
            }
        }
    }
    (texts, seqs)
}

/// Every seq once, each one more than the one before.
fn assert_gap_free(seqs: &[i64]) {
    for pair in seqs.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "positions must arrive once each and in order: {seqs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_event_crosses_instances_in_order() {
    if !once_per_suite("every_kind_of_event_crosses_instances_in_order") {
        return;
    }
    let c = TestCluster::start(2).await;
    let (one, two) = (c.at(0), c.at(1));
    let alice = one.register("alice").await;
    let bob = two.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    // Bob follows on instance 2 from before the conversation exists.
    let mut bob_ws = two.ws_live(b).await;
    let g = one.group(a, "Across", &[bob.user.id.0]).await;
    let msgs = format!("/api/v1/conversations/{g}/messages");
    let m = one.say(a, g, "m1", "hello @bob").await;
    let id = m["id"].as_i64().unwrap();
    one.ok(
        Method::PATCH,
        &format!("{msgs}/{id}"),
        Some(json!({"text": "hello again @bob"})),
        a,
        200,
    )
    .await;
    one.ok(
        Method::POST,
        &format!("{msgs}/{id}/reactions"),
        Some(json!({"emoji": "👍"})),
        a,
        200,
    )
    .await;
    one.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{g}/pins/{id}"),
        None,
        a,
        200,
    )
    .await;
    let seq = m["seq"].as_i64().unwrap();
    one.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/read"),
        Some(json!({"seq": seq})),
        a,
        200,
    )
    .await;

    let mut added = false;
    let mut notified = false;
    let mut kinds = Vec::new();
    let mut seqs = Vec::new();
    while !kinds.contains(&"read_receipt") {
        match next_frame(&mut bob_ws).await {
            ServerFrame::UserEvent(e) => match e.body {
                UserEventBody::ConversationAdded {
                    conversation_id, ..
                } if conversation_id.0 == g => added = true,
                UserEventBody::NotificationCreated { .. } => notified = true,
                _ => {}
            },
            ServerFrame::Event(e) if e.conversation_id.0 == g => {
                assert!(
                    added,
                    "the conversation's events came before bob learned he was in it"
                );
                seqs.push(e.seq);
                kinds.push(match e.body {
                    EventBody::MessageCreated { .. } => "message_created",
                    EventBody::MessageEdited { .. } => "message_edited",
                    EventBody::ReactionAdded { .. } => "reaction_added",
                    EventBody::MessagePinned { .. } => "message_pinned",
                    EventBody::ReadReceipt { .. } => "read_receipt",
                    _ => "membership",
                });
            }
            _ => {}
        }
    }
    assert_gap_free(&seqs);
    let changes: Vec<_> = kinds.into_iter().filter(|k| *k != "membership").collect();
    assert_eq!(
        changes,
        [
            "message_created",
            "message_edited",
            "reaction_added",
            "message_pinned",
            "read_receipt"
        ]
    );
    // The mention's notification is a user event: it crossed too (maybe before the last events).
    if !notified {
        let more = frames_within(&mut bob_ws, Duration::from_secs(2)).await;
        notified = more.iter().any(|f| {
            matches!(f, ServerFrame::UserEvent(e)
                if matches!(e.body, UserEventBody::NotificationCreated { .. }))
        });
    }
    assert!(
        notified,
        "bob's mention notification did not reach instance 2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_redis_drops_subscribers_or_restarts() {
    if !once_per_suite("nothing_is_lost_when_redis_drops_subscribers_or_restarts") {
        return;
    }
    let mut c = TestCluster::start_with(2, |c| {
        c.message_rate_per_sec = 100_000;
        c.message_rate_burst = 100_000;
    })
    .await;
    let alice = c.at(0).register("alice").await;
    let bob = c.at(1).register("bob").await;
    let a = alice.access_token.clone();
    let g = c.at(0).group(&a, "Flood", &[bob.user.id.0]).await;
    let mut bob_ws = c.at(1).ws_live(&bob.access_token).await;

    const EACH: usize = 60;
    let mut sent = 0;
    let mut send = |c: &TestCluster, n: usize| {
        let start = sent;
        sent += n;
        let one = c.at(0).base().to_owned();
        let a = a.clone();
        async move {
            let http = reqwest::Client::new();
            for i in start..start + n {
                let resp = http
                    .post(format!("{one}/api/v1/conversations/{g}/messages"))
                    .bearer_auth(&a)
                    .json(&json!({"client_id": format!("c{i}"), "text": format!("m{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 201, "send {i} was not acked");
            }
        }
    };
    // Redis drops every subscriber (what it does to one that falls behind) between two stretches
    // of traffic, then crashes and comes back empty in the middle of one.
    send(&c, EACH).await;
    c.redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    send(&c, EACH).await;
    c.redis.kill();
    send(&c, EACH).await;
    c.redis.restart();
    let restarted = Instant::now();
    send(&c, EACH).await;

    let (texts, seqs) = collect_texts(&mut bob_ws, g, sent, Duration::from_secs(20)).await;
    let lost: Vec<_> = (0..sent)
        .map(|i| format!("m{i}"))
        .filter(|t| !texts.contains_key(t))
        .collect();
    let twice: Vec<_> = texts.iter().filter(|(_, s)| s.len() > 1).collect();
    assert!(lost.is_empty(), "acked messages never delivered: {lost:?}");
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    assert_gap_free(&seqs);
    eprintln!(
        "{sent} messages over a dropped subscription and a Redis restart: 0 lost, 0 twice, 0 gaps; \
         all delivered {} ms after Redis came back",
        restarted.elapsed().as_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_one_instance_closes_the_session_on_the_other() {
    if !once_per_suite("logout_on_one_instance_closes_the_session_on_the_other") {
        return;
    }
    let c = TestCluster::start(2).await;
    let alice = c.at(0).register("alice").await;
    let (mut ws, _) = c.at(1).ws_ready(&alice.access_token).await;
    let resp = c
        .at(0)
        .post("/api/v1/auth/logout", json!({}), Some(&alice.access_token))
        .await;
    assert!(resp.status().is_success(), "logout: {}", resp.status());
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_REVOKED);
}

/// The next `Presence` frame about `user` within `within`, if any.
async fn presence_of(
    ws: &mut Ws,
    user: i64,
    within: Duration,
) -> Option<jeco_shared::events::PresenceStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        for frame in frames_within(ws, Duration::from_millis(200)).await {
            if let ServerFrame::Presence { user_id, status } = frame
                && user_id.0 == user
            {
                return Some(status);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_one_view_across_instances_and_a_killed_instance_users_go_offline() {
    use jeco_shared::events::PresenceStatus::{Offline, Online};
    if !once_per_suite(
        "presence_is_one_view_across_instances_and_a_killed_instance_users_go_offline",
    ) {
        return;
    }
    // Instance 1 in this process; instance 2 the real binary, so it can be killed with SIGKILL.
    let c = TestCluster::start(1).await;
    let one = c.at(0);
    let mut cmd = server_binary();
    cmd.env(
        "JECO_DATABASE_URL",
        one.config().database_url.as_ref().unwrap().expose(),
    )
    .env("JECO_REDIS_URL", c.redis.url());
    let log = one.scratch_dir().join("instance-2.log");
    let (mut child, two) = spawn_binary(cmd, &[], &one.config().data_dir, &log).await;

    let alice = one.register("alice").await;
    let bob = one.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    one.group(a, "Presence", &[bob.user.id.0]).await;
    let mut bob_ws = one.ws_live(b).await;
    let alice_id = alice.user.id.0;

    // Alice comes online on instance 2: Bob, on instance 1, is told.
    let alice_on_two = two.ws_live(a).await;
    assert_eq!(
        presence_of(&mut bob_ws, alice_id, PATIENCE).await,
        Some(Online),
        "alice online on instance 2 did not reach bob on instance 1"
    );
    // A second connection on instance 1 that closes again: she is still online on instance 2,
    // so nobody hears she went offline.
    let alice_on_one = one.ws_live(a).await;
    drop(alice_on_one);
    assert_eq!(
        presence_of(&mut bob_ws, alice_id, Duration::from_secs(2)).await,
        None,
        "closing one of alice's connections announced a change though she is online elsewhere"
    );

    // Instance 2 is killed: no goodbye. Its users go offline once it has been silent for GONE.
    let killed = Instant::now();
    child.kill().unwrap();
    child.wait().unwrap();
    let bound = jeco_server::cluster::bus::GONE + Duration::from_secs(5);
    assert_eq!(
        presence_of(&mut bob_ws, alice_id, bound).await,
        Some(Offline),
        "alice stayed online after her instance was killed"
    );
    eprintln!(
        "alice offline {} ms after her instance was killed",
        killed.elapsed().as_millis()
    );
    drop(alice_on_two);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_redis_and_a_draining_instance_closes_with_service_restart() {
    if !once_per_suite("ready_follows_redis_and_a_draining_instance_closes_with_service_restart") {
        return;
    }
    let mut c = TestCluster::start(1).await;
    let ready = |c: &TestCluster| {
        let url = c.at(0).url("/api/v1/ready");
        let http = c.at(0).http().clone();
        async move {
            let resp = http.get(url).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = ready(&c).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ready": true, "database": "ok", "redis": "ok", "draining": false})
    );
    // Redis gone: not ready (the instance still serves its own clients; new ones go elsewhere).
    c.redis.kill();
    let (status, body) = ready(&c).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["redis"], "unavailable");
    assert_eq!(body["database"], "ok");
    // Back: ready again once the connection to Redis is made again.
    c.redis.restart();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = ready(&c).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Draining: every client is told to reconnect elsewhere with 1012.
    let alice = c.at(0).register("alice").await;
    let mut ws = c.at(0).ws_live(&alice.access_token).await;
    c.instances[0].shutdown().await;
    assert_eq!(expect_close(&mut ws).await, close::SERVICE_RESTART);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_budgets_are_the_clusters_not_each_instances() {
    if !once_per_suite("rate_budgets_are_the_clusters_not_each_instances") {
        return;
    }
    let c = TestCluster::start_with(2, |c| {
        c.message_rate_per_sec = 1;
        c.message_rate_burst = 3;
        c.auth_rate_per_minute = 1;
        c.auth_rate_burst = 4;
    })
    .await;
    let (one, two) = (c.at(0), c.at(1));
    // Sign-ins from one address: 4 at once across both instances, not 4 on each.
    let alice = one.register("alice").await;
    let bob = two.register("bob").await;
    assert!(one.login("alice", PASSWORD).await.status().is_success());
    assert!(two.login("bob", PASSWORD).await.status().is_success());
    expect_error(two.login("alice", PASSWORD).await, 429, "rate_limited").await;
    expect_error(one.login("bob", PASSWORD).await, 429, "rate_limited").await;

    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = one.group(a, "Budget", &[bob.user.id.0]).await;
    let mine = one.group(b, "Not alice's", &[]).await;
    // A refused send (not a member) costs nothing, on either instance.
    let refused = two
        .post(
            &format!("/api/v1/conversations/{mine}/messages"),
            json!({"client_id": "x", "text": "let me in"}),
            Some(a),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 404);
    // The budget given back is returned by a task: let it land before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Three sends spread over both instances use the whole burst; the fourth is refused wherever
    // it is sent.
    one.say(a, g, "m1", "one").await;
    two.say(a, g, "m2", "two").await;
    one.say(a, g, "m3", "three").await;
    let fourth = two
        .post(
            &format!("/api/v1/conversations/{g}/messages"),
            json!({"client_id": "m4", "text": "four"}),
            Some(a),
        )
        .await;
    expect_error(fourth, 429, "rate_limited").await;
}
