//! Messages over REST: idempotent sends, history pagination, threads, edits, deletes, reactions,
//! pins, limits.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

fn texts(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn history_pages_before_after_and_around() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let mut sent = Vec::new();
    for i in 1..=7 {
        sent.push(s.say(a, g, &format!("c{i}"), &format!("m{i}")).await);
    }
    let url = |q: &str| format!("/api/v1/conversations/{g}/messages?{q}");
    let latest = s.ok(Method::GET, &url("limit=3"), None, a, 200).await;
    assert_eq!(texts(&latest), ["m5", "m6", "m7"]);
    assert_eq!(latest["has_more_before"], true);
    assert_eq!(latest["has_more_after"], false);
    let first_seq = latest["items"][0]["seq"].as_i64().unwrap();
    let older = s
        .ok(
            Method::GET,
            &url(&format!("limit=3&before={first_seq}")),
            None,
            a,
            200,
        )
        .await;
    assert_eq!(texts(&older), ["m2", "m3", "m4"]);
    assert_eq!(older["has_more_before"], true);
    assert_eq!(older["has_more_after"], true);
    let m2_seq = sent[1]["seq"].as_i64().unwrap();
    let newer = s
        .ok(
            Method::GET,
            &url(&format!("limit=2&after={m2_seq}")),
            None,
            a,
            200,
        )
        .await;
    assert_eq!(texts(&newer), ["m3", "m4"]);
    let around = s
        .ok(
            Method::GET,
            &url(&format!("limit=3&around={}", sent[3]["id"])),
            None,
            a,
            200,
        )
        .await;
    assert_eq!(texts(&around), ["m3", "m4", "m5"]);
    assert_eq!(around["has_more_before"], true);
    assert_eq!(around["has_more_after"], true);
    // Sequence numbers are increasing positions of the conversation's events.
    let seqs: Vec<i64> = sent.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    expect_error(
        s.call(Method::GET, &url("before=3&after=1"), None, a).await,
        400,
        "bad_request",
    )
    .await;
    expect_error(
        s.call(Method::GET, &url("limit=0"), None, a).await,
        400,
        "validation_failed",
    )
    .await;
    expect_error(
        s.call(Method::GET, &url("around=999999"), None, a).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_retried_send_returns_the_original() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let path = format!("/api/v1/conversations/{g}/messages");
    let body = json!({"client_id": "7f1c2a9e-retry", "text": "once"});
    let first = s.ok(Method::POST, &path, Some(body.clone()), a, 201).await;
    let retry = s.ok(Method::POST, &path, Some(body), a, 200).await;
    assert_eq!(first, retry);
    let page = s.ok(Method::GET, &path, None, a, 200).await;
    assert_eq!(texts(&page), ["once"]);
}

#[tokio::test]
async fn threads_edits_deletes_reactions_and_pins() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let root = s.say(b, g, "r", "root").await;
    let rid = root["id"].as_i64().unwrap();
    let msgs = format!("/api/v1/conversations/{g}/messages");
    for (i, t) in ["re 1", "re 2"].iter().enumerate() {
        let reply = s
            .ok(
                Method::POST,
                &msgs,
                Some(json!({"client_id": format!("re{i}"), "text": t, "reply_to": rid})),
                a,
                201,
            )
            .await;
        assert_eq!(reply["reply_to"], rid);
    }
    let thread = s
        .ok(Method::GET, &format!("{msgs}/{rid}/replies"), None, b, 200)
        .await;
    assert_eq!(texts(&thread), ["re 1", "re 2"]);
    let root_now = s
        .ok(Method::GET, &format!("{msgs}/{rid}"), None, b, 200)
        .await;
    assert_eq!(root_now["reply_count"], 2);
    // A reply must point into the same conversation.
    let other = s.group(a, "Other", &[]).await;
    expect_error(
        s.call(
            Method::POST,
            &format!("/api/v1/conversations/{other}/messages"),
            Some(json!({"client_id": "x", "text": "t", "reply_to": rid})),
            a,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // Only the author edits.
    expect_error(
        s.call(
            Method::PATCH,
            &format!("{msgs}/{rid}"),
            Some(json!({"text": "hijacked"})),
            a,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let edited = s
        .ok(
            Method::PATCH,
            &format!("{msgs}/{rid}"),
            Some(json!({"text": "root, edited @alice"})),
            b,
            200,
        )
        .await;
    assert_eq!(edited["text"], "root, edited @alice");
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["mentions"]["user_ids"], json!([alice.user.id.0]));

    // Reactions: one per user per emoji, toggled; counts and who.
    let react = format!("{msgs}/{rid}/reactions");
    let r = s
        .ok(Method::POST, &react, Some(json!({"emoji": "👍"})), a, 200)
        .await;
    assert_eq!(r["added"], true);
    let r = s
        .ok(Method::POST, &react, Some(json!({"emoji": "👍"})), b, 200)
        .await;
    assert_eq!(
        r["reactions"],
        json!([{"emoji": "👍", "count": 2, "user_ids": [alice.user.id.0, bob.user.id.0]}])
    );
    let r = s
        .ok(Method::POST, &react, Some(json!({"emoji": "👍"})), a, 200)
        .await;
    assert_eq!(r["added"], false);
    assert_eq!(r["reactions"][0]["count"], 1);
    // With `add`, the request sets rather than toggles: repeating it (a client retrying after a lost
    // answer) changes nothing the second time.
    for _ in 0..2 {
        let r = s
            .ok(
                Method::POST,
                &react,
                Some(json!({"emoji": "🎉", "add": true})),
                a,
                200,
            )
            .await;
        assert_eq!(r["added"], true);
        assert_eq!(
            r["reactions"][1],
            json!({"emoji": "🎉", "count": 1, "user_ids": [alice.user.id.0]})
        );
    }
    for _ in 0..2 {
        let r = s
            .ok(
                Method::POST,
                &react,
                Some(json!({"emoji": "🎉", "add": false})),
                a,
                200,
            )
            .await;
        assert_eq!(r["added"], false);
        assert_eq!(r["reactions"].as_array().unwrap().len(), 1);
    }
    expect_error(
        s.call(Method::POST, &react, Some(json!({"emoji": ""})), a)
            .await,
        400,
        "validation_failed",
    )
    .await;

    // Pins.
    let pins = format!("/api/v1/conversations/{g}/pins");
    let pinned = s
        .ok(Method::PUT, &format!("{pins}/{rid}"), None, a, 200)
        .await;
    assert_eq!(pinned["pinned"], true);
    let list = s.ok(Method::GET, &pins, None, b, 200).await;
    assert_eq!(list[0]["id"], rid);
    s.ok(Method::DELETE, &format!("{pins}/{rid}"), None, b, 200)
        .await;
    let list = s.ok(Method::GET, &pins, None, b, 200).await;
    assert_eq!(list, json!([]));

    // Deleting: a plain member cannot delete others' messages; the owner can; a tombstone stays.
    let alices = s.say(a, g, "mine", "alice's").await["id"].as_i64().unwrap();
    expect_error(
        s.call(Method::DELETE, &format!("{msgs}/{alices}"), None, b)
            .await,
        403,
        "forbidden",
    )
    .await;
    s.ok(Method::DELETE, &format!("{msgs}/{rid}"), None, a, 204)
        .await;
    let gone = s
        .ok(Method::GET, &format!("{msgs}/{rid}"), None, b, 200)
        .await;
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["text"], "");
    assert_eq!(gone["reactions"], json!([]));
    expect_error(
        s.call(
            Method::PATCH,
            &format!("{msgs}/{rid}"),
            Some(json!({"text": "back"})),
            b,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // A message id from another conversation is not found here.
    expect_error(
        s.call(
            Method::GET,
            &format!("/api/v1/conversations/{other}/messages/{rid}"),
            None,
            a,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn limits_on_text_client_id_and_rate() {
    let s = TestServer::start_with(|c| {
        c.message_max_chars = 10;
        c.message_rate_per_sec = 1;
        c.message_rate_burst = 3;
    })
    .await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let path = format!("/api/v1/conversations/{g}/messages");
    for (body, field) in [
        (json!({"client_id": "a", "text": "x".repeat(11)}), "text"),
        (json!({"client_id": "b", "text": "   "}), "text"),
        (
            json!({"client_id": "c".repeat(65), "text": "hi"}),
            "client_id",
        ),
        (json!({"client_id": "", "text": "hi"}), "client_id"),
    ] {
        let e = expect_error(
            s.call(Method::POST, &path, Some(body), a).await,
            400,
            "validation_failed",
        )
        .await;
        assert!(e.error.fields.unwrap().contains_key(field));
    }
    // Exactly at the limit is fine (characters, not bytes).
    s.ok(
        Method::POST,
        &path,
        Some(json!({"client_id": "ok", "text": "é".repeat(10)})),
        a,
        201,
    )
    .await;
    s.say(a, g, "2", "two").await;
    s.say(a, g, "3", "three").await;
    let resp = s
        .call(
            Method::POST,
            &path,
            Some(json!({"client_id": "4", "text": "four"})),
            a,
        )
        .await;
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, "rate_limited").await;
}
