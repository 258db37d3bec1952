//! Group rooms, direct conversations, membership rules and the conversation list.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn group_lifecycle_and_membership_rules() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let g = s.group(a, "  Plans  ", &[bob.user.id.0]).await;
    let conv = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(conv["name"], "Plans");
    assert_eq!(conv["kind"], "group");
    assert_eq!(conv["my_role"], "member");
    assert_eq!(conv["members"].as_array().unwrap().len(), 2);
    assert_eq!(conv["members"][0]["role"], "owner");

    // A non-member learns nothing: the same answer as for an id that does not exist.
    let foreign = s
        .call(Method::GET, &format!("/api/v1/conversations/{g}"), None, c)
        .await;
    let missing = s
        .call(Method::GET, "/api/v1/conversations/999999", None, c)
        .await;
    let foreign = expect_error(foreign, 404, "not_found").await;
    let missing = expect_error(missing, 404, "not_found").await;
    assert_eq!(foreign, missing);
    for (method, path, body) in [
        (
            Method::GET,
            format!("/api/v1/conversations/{g}/members"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/conversations/{g}/messages"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/conversations/{g}/messages"),
            Some(json!({"client_id": "x", "text": "hi"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/conversations/{g}"),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            format!("/api/v1/conversations/{g}/read"),
            Some(json!({"seq": 1})),
        ),
        (Method::GET, format!("/api/v1/conversations/{g}/pins"), None),
    ] {
        expect_error(s.call(method, &path, body, c).await, 404, "not_found").await;
    }

    // Any member renames and adds people.
    let renamed = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/conversations/{g}"),
            Some(json!({"name": "Trip"})),
            b,
            200,
        )
        .await;
    assert_eq!(renamed["name"], "Trip");
    let members = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{g}/members"),
            Some(json!({"user_ids": [carol.user.id.0]})),
            b,
            200,
        )
        .await;
    assert_eq!(members.as_array().unwrap().len(), 3);
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, c, 200)
        .await;
    assert_eq!(list["items"][0]["id"], g);

    // Removing someone else takes an owner or admin.
    let path = format!("/api/v1/conversations/{g}/members/{}", carol.user.id.0);
    expect_error(
        s.call(Method::DELETE, &path, None, b).await,
        403,
        "forbidden",
    )
    .await;
    s.ok(Method::DELETE, &path, None, a, 204).await;
    expect_error(
        s.call(Method::GET, &format!("/api/v1/conversations/{g}"), None, c)
            .await,
        404,
        "not_found",
    )
    .await;
    // Anyone may leave.
    let leave = format!("/api/v1/conversations/{g}/members/{}", bob.user.id.0);
    s.ok(Method::DELETE, &leave, None, b, 204).await;
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, b, 200)
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // Bad input.
    expect_error(
        s.call(
            Method::POST,
            "/api/v1/conversations",
            Some(json!({"name": " "})),
            a,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    let unknown = s
        .call(
            Method::POST,
            "/api/v1/conversations",
            Some(json!({"name": "x", "member_ids": [424242]})),
            a,
        )
        .await;
    let body = expect_error(unknown, 400, "validation_failed").await;
    assert!(body.error.fields.unwrap().contains_key("member_ids"));
}

#[tokio::test]
async fn one_direct_conversation_per_pair() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let first = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": bob.user.id.0})),
            a,
            201,
        )
        .await;
    assert_eq!(first["kind"], "direct");
    assert_eq!(first["name"], serde_json::Value::Null);
    assert_eq!(first["peer_presence"], "offline");
    for (token, other) in [(a, bob.user.id.0), (b, alice.user.id.0)] {
        let again = s
            .ok(
                Method::POST,
                "/api/v1/conversations/direct",
                Some(json!({"user_id": other})),
                token,
                200,
            )
            .await;
        assert_eq!(again["id"], first["id"]);
    }
    let id = first["id"].as_i64().unwrap();
    expect_error(
        s.call(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": alice.user.id.0})),
            a,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    // A direct conversation keeps exactly its two members and has no name.
    expect_error(
        s.call(
            Method::PATCH,
            &format!("/api/v1/conversations/{id}"),
            Some(json!({"name": "x"})),
            a,
        )
        .await,
        400,
        "bad_request",
    )
    .await;
    let leave = format!("/api/v1/conversations/{id}/members/{}", alice.user.id.0);
    expect_error(
        s.call(Method::DELETE, &leave, None, a).await,
        400,
        "bad_request",
    )
    .await;

    // The peer's presence shows in the list.
    let _bob_online = s.ws_live(b).await;
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, a, 200)
        .await;
    assert_eq!(list["items"][0]["peer_presence"], "online");
}

#[tokio::test]
async fn list_is_ordered_by_activity_with_previews_unread_and_mentions() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "Group", &[bob.user.id.0]).await;
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
    s.say(b, g, "1", "hello @alice").await;
    s.say(b, g, "2", "plain").await;
    s.say(b, g, "3", "@here anyone?").await;
    s.say(a, g, "4", "my own message does not count").await;
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, a, 200)
        .await;
    let first = &list["items"][0];
    assert_eq!(first["id"], g);
    assert_eq!(first["unread_count"], 3);
    assert_eq!(first["mention_count"], 2);
    assert_eq!(
        first["last_message"]["text"],
        "my own message does not count"
    );
    assert_eq!(list["items"][1]["id"], dm);

    // Activity in the DM moves it to the top.
    s.say(b, dm, "5", "psst").await;
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, a, 200)
        .await;
    assert_eq!(list["items"][0]["id"], dm);
    assert_eq!(list["items"][0]["unread_count"], 1);

    // Reading clears the counts; read positions never move back.
    let last_seq = list["items"][1]["last_seq"].as_i64().unwrap();
    let read = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{g}/read"),
            Some(json!({"seq": last_seq})),
            a,
            200,
        )
        .await;
    assert_eq!(read["unread_count"], 0);
    assert_eq!(read["mention_count"], 0);
    assert_eq!(read["read_seq"], last_seq);
    let again = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{g}/read"),
            Some(json!({"seq": 1})),
            a,
            200,
        )
        .await;
    assert_eq!(again["read_seq"], last_seq);
}

#[tokio::test]
async fn an_owner_who_leaves_hands_the_conversation_on() {
    use jeco_shared::events::EventBody;
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let g = s.group(a, "Plans", &[bob.user.id.0, carol.user.id.0]).await;
    let mut carol_ws = s.ws_live(c).await;

    // The owner leaves: the longest-standing member (bob, added first) becomes the owner, and
    // everyone still in sees both changes, in order.
    let leave = format!("/api/v1/conversations/{g}/members/{}", alice.user.id.0);
    s.ok(Method::DELETE, &leave, None, a, 204).await;
    let removed = next_event(&mut carol_ws).await;
    assert_eq!(
        removed.body,
        EventBody::MemberRemoved {
            user_id: alice.user.id
        }
    );
    let promoted = next_event(&mut carol_ws).await;
    assert_eq!(promoted.seq, removed.seq + 1);
    assert_eq!(
        promoted.body,
        EventBody::MemberRoleChanged {
            user_id: bob.user.id,
            role: jeco_shared::conversations::MemberRole::Owner,
        }
    );
    let conv = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{g}"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(conv["my_role"], "owner");

    // And the new owner can do what owners do: remove a member.
    let path = format!("/api/v1/conversations/{g}/members/{}", carol.user.id.0);
    s.ok(Method::DELETE, &path, None, b, 204).await;

    // The last one out leaves nobody to promote, and that is fine.
    let leave = format!("/api/v1/conversations/{g}/members/{}", bob.user.id.0);
    s.ok(Method::DELETE, &leave, None, b, 204).await;
}
