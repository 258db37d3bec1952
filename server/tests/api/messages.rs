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

/// NUL is refused in a message's text on every backend (PostgreSQL's text cannot hold it), for a
/// send and an edit, and nothing is stored.
#[tokio::test]
async fn a_nul_character_in_a_message_is_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let path = format!("/api/v1/conversations/{g}/messages");
    let body = json!({"client_id": "nul-1", "text": "before\u{0}after"});
    expect_error(
        s.call(Method::POST, &path, Some(body), a).await,
        400,
        "validation_failed",
    )
    .await;
    let kept = s.say(a, g, "nul-2", "clean").await;
    let edit = json!({"text": "dirty\u{0}"});
    expect_error(
        s.call(
            Method::PATCH,
            &format!("{path}/{}", kept["id"]),
            Some(edit),
            a,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    let page = s.ok(Method::GET, &path, None, a, 200).await;
    assert_eq!(texts(&page), ["clean"]);
}

/// Issue 13, "threads that reduce noise": a reply sent with `thread_only` stays in its thread —
/// out of the channel's history, its unread count and its preview — while the root counts it and
/// names its sender among the last repliers; one sent without it shows in both places. The
/// Threads list has the threads each user started or replied to, newest reply first.
#[tokio::test]
async fn thread_only_replies_stay_in_the_thread_and_threads_list_them() {
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
    let root = s.say(b, g, "r", "root").await;
    let rid = root["id"].as_i64().unwrap();
    let other_root = s.say(c, g, "r2", "another root").await;
    let orid = other_root["id"].as_i64().unwrap();
    let msgs = format!("/api/v1/conversations/{g}/messages");
    let reply = |key: &str, text: &str, parent: i64, thread_only: bool| json!({"client_id": key, "text": text, "reply_to": parent, "thread_only": thread_only});
    let quiet = s
        .ok(
            Method::POST,
            &msgs,
            Some(reply("q", "only in the thread", rid, true)),
            a,
            201,
        )
        .await;
    assert_eq!(quiet["thread_only"], true);
    let loud = s
        .ok(
            Method::POST,
            &msgs,
            Some(reply("l", "also in the channel", rid, false)),
            c,
            201,
        )
        .await;
    assert_eq!(loud["thread_only"], false);
    s.ok(
        Method::POST,
        &msgs,
        Some(reply("o", "elsewhere", orid, true)),
        b,
        201,
    )
    .await;

    // The channel: roots and the reply sent to it too, not the thread-only ones.
    let history = s.ok(Method::GET, &msgs, None, b, 200).await;
    assert_eq!(
        texts(&history),
        ["root", "another root", "also in the channel"]
    );
    let older = s
        .ok(
            Method::GET,
            &format!("{msgs}?before={}", loud["seq"].as_i64().unwrap()),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(texts(&older), ["root", "another root"]);
    // The thread: every reply, in order.
    let thread = s
        .ok(Method::GET, &format!("{msgs}/{rid}/replies"), None, b, 200)
        .await;
    assert_eq!(
        texts(&thread),
        ["only in the thread", "also in the channel"]
    );
    let root_now = s
        .ok(Method::GET, &format!("{msgs}/{rid}"), None, b, 200)
        .await;
    assert_eq!(root_now["reply_count"], 2);
    assert_eq!(
        root_now["last_repliers"],
        json!([carol.user.id.0, alice.user.id.0])
    );
    // Bob's unread in the channel: Carol's root and her reply to the channel; Alice's and his own
    // thread-only replies are not unread there.
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, b, 200)
        .await;
    let conv = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == g)
        .unwrap()
        .clone();
    assert_eq!(conv["unread_count"], 2);
    assert_eq!(conv["last_message"]["text"], "also in the channel");

    // A thread-only message must be a reply.
    expect_error(
        s.call(
            Method::POST,
            &msgs,
            Some(json!({"client_id": "x", "text": "t", "thread_only": true})),
            a,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;

    // Threads: Bob started the first and replied in the second (newest reply first); Alice only
    // replied in the first; a user in neither has none.
    let roots = |list: &Value| -> Vec<i64> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["root"]["id"].as_i64().unwrap())
            .collect()
    };
    let bobs = s.ok(Method::GET, "/api/v1/threads", None, b, 200).await;
    assert_eq!(roots(&bobs), [orid, rid]);
    assert_eq!(bobs["items"][1]["root"]["reply_count"], 2);
    assert!(bobs["items"][0]["last_reply_at"].as_str().is_some());
    let alices = s.ok(Method::GET, "/api/v1/threads", None, a, 200).await;
    assert_eq!(roots(&alices), [rid]);
    let dave = s.register("dave").await;
    let none = s
        .ok(
            Method::GET,
            "/api/v1/threads",
            None,
            &dave.access_token,
            200,
        )
        .await;
    assert_eq!(roots(&none), Vec::<i64>::new());
    let limited = s
        .ok(Method::GET, "/api/v1/threads?limit=1", None, b, 200)
        .await;
    assert_eq!(roots(&limited), [orid]);
    expect_error(
        s.call(Method::GET, "/api/v1/threads?limit=0", None, b)
            .await,
        400,
        "validation_failed",
    )
    .await;
    // Leaving the conversation takes its threads off the list.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/members/{}", alice.user.id.0),
        None,
        a,
        204,
    )
    .await;
    let after_leaving = s.ok(Method::GET, "/api/v1/threads", None, a, 200).await;
    assert_eq!(roots(&after_leaving), Vec::<i64>::new());
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
