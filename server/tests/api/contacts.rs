//! Contacts: request, accept, decline, cancel, remove — with live user events on both sides,
//! notifications, presence in the contact list, conflicts and authorization, and resume.

use crate::notifications::live;
use crate::support::*;
use jeco_shared::contacts::{
    ContactList, ContactRequest, ContactRequestList, ContactRequestStatus,
};
use jeco_shared::events::{PresenceStatus, UserEventBody};
use jeco_shared::notifications::NotificationKind;
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::json;

/// The next user event on a connection, skipping everything else.
async fn next_user_event(ws: &mut Ws) -> (i64, UserEventBody) {
    match next_where(ws, |f| matches!(f, ServerFrame::UserEvent(_))).await {
        ServerFrame::UserEvent(e) => (e.seq, e.body),
        _ => unreachable!(),
    }
}

async fn request(s: &TestServer, token: &str, to: i64) -> ContactRequest {
    let v = s
        .ok(
            Method::POST,
            "/api/v1/contacts/requests",
            Some(json!({"user_id": to})),
            token,
            201,
        )
        .await;
    serde_json::from_value(v).unwrap()
}

async fn act(s: &TestServer, token: &str, method: Method, path: &str) -> ContactRequest {
    serde_json::from_value(s.ok(method, path, None, token, 200).await).unwrap()
}

async fn contacts(s: &TestServer, token: &str) -> ContactList {
    serde_json::from_value(
        s.ok(Method::GET, "/api/v1/contacts", None, token, 200)
            .await,
    )
    .unwrap()
}

async fn pending(s: &TestServer, token: &str) -> ContactRequestList {
    serde_json::from_value(
        s.ok(Method::GET, "/api/v1/contacts/requests", None, token, 200)
            .await,
    )
    .unwrap()
}

#[tokio::test]
async fn request_accept_and_remove_with_live_events() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let (alice_id, bob_id) = (alice.user.id, bob.user.id);
    let mut alice_ws = live(&s, a).await;
    let mut bob_ws = live(&s, b).await;

    let req = request(&s, a, bob_id.0).await;
    assert_eq!(req.status, ContactRequestStatus::Pending);
    assert_eq!((req.from_user_id, req.to_user_id), (alice_id, bob_id));
    // Both sides hear about it; bob also gets a notification.
    let (_, e) = next_user_event(&mut alice_ws).await;
    assert_eq!(
        e,
        UserEventBody::ContactRequestChanged {
            request: req.clone()
        }
    );
    let (seq1, e) = next_user_event(&mut bob_ws).await;
    assert_eq!(
        e,
        UserEventBody::ContactRequestChanged {
            request: req.clone()
        }
    );
    let (seq2, e) = next_user_event(&mut bob_ws).await;
    assert_eq!(seq2, seq1 + 1);
    let UserEventBody::NotificationCreated { notification } = e else {
        panic!("{e:?}")
    };
    assert_eq!(notification.kind, NotificationKind::ContactRequest);
    assert_eq!(notification.actor_id, Some(alice_id));
    assert_eq!(notification.contact_request_id, Some(req.id));

    // Pending lists on both sides.
    assert_eq!(pending(&s, b).await.incoming, std::slice::from_ref(&req));
    assert!(pending(&s, b).await.outgoing.is_empty());
    assert_eq!(pending(&s, a).await.outgoing, std::slice::from_ref(&req));
    // No second pending request, either way; the sender cannot accept.
    for (token, to) in [(a, bob_id.0), (b, alice_id.0)] {
        expect_error(
            s.post(
                "/api/v1/contacts/requests",
                json!({"user_id": to}),
                Some(token),
            )
            .await,
            409,
            "conflict",
        )
        .await;
    }
    let accept = format!("/api/v1/contacts/requests/{}/accept", req.id);
    expect_error(
        s.call(Method::POST, &accept, None, a).await,
        403,
        "forbidden",
    )
    .await;

    let accepted = act(&s, b, Method::POST, &accept).await;
    assert_eq!(accepted.status, ContactRequestStatus::Accepted);
    assert!(accepted.resolved_at.is_some());
    let (_, e) = next_user_event(&mut alice_ws).await;
    assert_eq!(
        e,
        UserEventBody::ContactRequestChanged {
            request: accepted.clone()
        }
    );
    let (_, e) = next_user_event(&mut alice_ws).await;
    let UserEventBody::NotificationCreated { notification } = e else {
        panic!("{e:?}")
    };
    assert_eq!(notification.kind, NotificationKind::ContactAccepted);
    assert_eq!(notification.actor_id, Some(bob_id));
    let (_, e) = next_user_event(&mut bob_ws).await;
    assert!(matches!(e, UserEventBody::ContactRequestChanged { .. }));

    // Both are contacts now, with presence; the request is no longer pending.
    let list = contacts(&s, b).await;
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].user.id, alice_id);
    assert_eq!(list.items[0].presence, PresenceStatus::Online);
    drop(alice_ws);
    let mut offline = false;
    for _ in 0..50 {
        if contacts(&s, b).await.items[0].presence == PresenceStatus::Offline {
            offline = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(offline, "alice should be offline after her socket closed");
    // Contacts hear about each other's presence even without a shared conversation.
    let went = next_where(&mut bob_ws, |f| {
        matches!(f, ServerFrame::Presence { user_id, status: PresenceStatus::Offline } if *user_id == alice_id)
    })
    .await;
    assert!(matches!(went, ServerFrame::Presence { .. }));
    assert_eq!(contacts(&s, a).await.items[0].user.id, bob_id);
    assert!(pending(&s, a).await.outgoing.is_empty());
    expect_error(
        s.call(Method::POST, &accept, None, b).await,
        409,
        "conflict",
    )
    .await;
    expect_error(
        s.post(
            "/api/v1/contacts/requests",
            json!({"user_id": bob_id.0}),
            Some(a),
        )
        .await,
        409,
        "conflict",
    )
    .await;

    // Removing ends it both ways and tells both.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/contacts/{}", alice_id.0),
        None,
        b,
        204,
    )
    .await;
    let (_, e) = next_user_event(&mut bob_ws).await;
    assert_eq!(e, UserEventBody::ContactRemoved { user_id: alice_id });
    assert!(contacts(&s, a).await.items.is_empty());
    assert!(contacts(&s, b).await.items.is_empty());
    expect_error(
        s.call(
            Method::DELETE,
            &format!("/api/v1/contacts/{}", alice_id.0),
            None,
            b,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn decline_cancel_and_who_may_do_what() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let bob_id = bob.user.id.0;

    let first = request(&s, a, bob_id).await;
    let declined = act(
        &s,
        b,
        Method::POST,
        &format!("/api/v1/contacts/requests/{}/decline", first.id),
    )
    .await;
    assert_eq!(declined.status, ContactRequestStatus::Declined);
    assert!(contacts(&s, a).await.items.is_empty());
    assert!(pending(&s, b).await.incoming.is_empty());

    // After a decline, asking again is allowed; the sender may cancel it, nobody else.
    let second = request(&s, a, bob_id).await;
    let path = format!("/api/v1/contacts/requests/{}", second.id);
    expect_error(
        s.call(Method::DELETE, &path, None, b).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(
        s.call(Method::DELETE, &path, None, c).await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        s.call(Method::POST, &format!("{path}/accept"), None, c)
            .await,
        404,
        "not_found",
    )
    .await;
    let cancelled = act(&s, a, Method::DELETE, &path).await;
    assert_eq!(cancelled.status, ContactRequestStatus::Cancelled);
    expect_error(
        s.call(Method::POST, &format!("{path}/accept"), None, b)
            .await,
        409,
        "conflict",
    )
    .await;
    assert!(pending(&s, b).await.incoming.is_empty());
    // Only the accepted request notified anybody: bob got two requests, alice no acceptance.
    let bob_inbox = s
        .ok(Method::GET, "/api/v1/notifications", None, b, 200)
        .await;
    let kinds: Vec<&str> = bob_inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contact_request", "contact_request", "welcome"]);
    let alice_inbox = s
        .ok(Method::GET, "/api/v1/notifications", None, a, 200)
        .await;
    assert_eq!(alice_inbox["items"].as_array().unwrap().len(), 1);

    // Bad targets.
    for (to, field) in [(alice.user.id.0, "user_id"), (9999, "user_id")] {
        let body = expect_error(
            s.post("/api/v1/contacts/requests", json!({"user_id": to}), Some(a))
                .await,
            400,
            "validation_failed",
        )
        .await;
        assert!(body.error.fields.unwrap().contains_key(field));
    }
    expect_error(
        s.call(
            Method::POST,
            "/api/v1/contacts/requests/424242/accept",
            None,
            b,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_request_made_while_offline_is_replayed_on_resume() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let req = request(&s, &alice.access_token, bob.user.id.0).await;
    // Bob's log: welcome (1), then the request (2) and its notification (3).
    let mut ws = s
        .ws_resume(&bob.access_token, Some(json!({"user_seq": 1})))
        .await;
    let (seq, e) = next_user_event(&mut ws).await;
    assert_eq!(seq, 2);
    assert_eq!(e, UserEventBody::ContactRequestChanged { request: req });
    let (seq, e) = next_user_event(&mut ws).await;
    assert_eq!(seq, 3);
    assert!(matches!(e, UserEventBody::NotificationCreated { .. }));
    let caught_up = next_frame(&mut ws).await;
    assert!(matches!(caught_up, ServerFrame::CaughtUp), "{caught_up:?}");
}
