//! Moving a deployment to PostgreSQL (`jeco-server db copy`, issue 17 step 8): a server on SQLite
//! is filled through the API, the real binary copies its database into an empty PostgreSQL
//! database, a server starts on PostgreSQL with the same data directory, and it answers every
//! question as the SQLite server did — to the same tokens — and a client resumes from the
//! positions it held with no gap.

use crate::support::*;
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::{Value, json};

/// Everything a user sees, as (what, answer) pairs.
async fn view(
    s: &TestServer,
    token: &str,
    conversations: &[i64],
    team: i64,
) -> Vec<(String, Value)> {
    let mut paths = vec![
        "/api/v1/users/me".to_string(),
        "/api/v1/conversations".to_string(),
        "/api/v1/teams".to_string(),
        format!("/api/v1/teams/{team}/channels"),
        format!("/api/v1/teams/{team}/members"),
        "/api/v1/notifications".to_string(),
        "/api/v1/notifications/unread-count".to_string(),
        "/api/v1/search?q=copied".to_string(),
        "/api/v1/search?q=ela*".to_string(),
        "/api/v1/threads".to_string(),
        "/api/v1/contacts".to_string(),
        "/api/v1/users?q=al".to_string(),
    ];
    for c in conversations {
        paths.push(format!("/api/v1/conversations/{c}"));
        paths.push(format!("/api/v1/conversations/{c}/messages"));
        paths.push(format!("/api/v1/conversations/{c}/pins"));
    }
    let mut out = Vec::new();
    for path in paths {
        let body = s.ok(Method::GET, &path, None, token, 200).await;
        out.push((path, without_volatile(body)));
    }
    out
}

/// Answers carry signed download URLs whose signature includes an expiry computed at request
/// time: compare everything else.
fn without_volatile(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            for key in ["url", "thumbnail_url", "signed_url"] {
                map.remove(key);
            }
            for value in map.values_mut() {
                *value = without_volatile(value.take());
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = without_volatile(item.take());
            }
        }
        _ => {}
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_moves_to_postgresql_with_every_answer_and_position_kept() {
    let mut s = TestServer::start_with(|c| c.database_url = None).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let (a_id, b_id) = (alice.user.id.0, bob.user.id.0);

    // A team with its #general and one more channel, a group, a DM; messages with a reply,
    // an edit, a deletion, reactions, a pin, a mention, a read position, a mute, an attachment.
    let (team, general) = team(&s, a, "Copiers").await;
    add_to_team(&s, a, team, b_id, "member").await;
    let random = channel(&s, a, team, "random", false).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{random}/join"),
        None,
        b,
        200,
    )
    .await;
    let g = s.group(a, "copy group", &[b_id]).await;
    let dm = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": b_id})),
            a,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let first = s.say(a, g, "m1", "copied élan one").await;
    let mid = first["id"].as_i64().unwrap();
    s.say(b, g, "m2", "@alice copied two").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages"),
        Some(json!({"client_id": "m3", "text": "a reply", "reply_to": mid})),
        b,
        201,
    )
    .await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{g}/messages/{mid}"),
        Some(json!({"text": "copied élan one (edited)"})),
        a,
        200,
    )
    .await;
    let gone = s.say(a, g, "m4", "to be deleted").await["id"]
        .as_i64()
        .unwrap();
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/messages/{gone}"),
        None,
        a,
        204,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages/{mid}/reactions"),
        Some(json!({"emoji": "🎉"})),
        b,
        200,
    )
    .await;
    s.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{g}/pins/{mid}"),
        None,
        a,
        200,
    )
    .await;
    s.say(a, general, "m5", "hello team, copied").await;
    s.say(b, random, "m6", "random copied words").await;
    s.say(b, dm, "m7", "a direct copied message").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/read"),
        Some(json!({"seq": 3})),
        a,
        200,
    )
    .await;
    s.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{random}/mute"),
        Some(json!({"muted": true})),
        a,
        200,
    )
    .await;
    let file = crate::media::upload(&s, b, "notes.txt", "file", b"plain text notes").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{dm}/messages"),
        Some(json!({"client_id": "m8", "text": "with a file", "attachment_ids": [file["id"]]})),
        b,
        201,
    )
    .await;

    let conversations = [general, random, g, dm];
    let before_a = view(&s, a, &conversations, team).await;
    let before_b = view(&s, b, &conversations, team).await;
    // Bob's client holds his positions (the newest event of each conversation).
    let positions: Vec<Value> = {
        let list = s
            .ok(Method::GET, "/api/v1/conversations", None, b, 200)
            .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!({"conversation_id": c["id"], "seq": c["last_seq"]}))
            .collect()
    };
    assert_eq!(positions.len(), 4, "{positions:?}");
    s.shutdown().await;

    // The real command, as an operator runs it.
    let target = jeco_testkit::postgres::fresh_database();
    let out = server_binary()
        .args(["db", "copy", "--from"])
        .arg(format!("sqlite:{}", s.data_dir().join("jeco.db").display()))
        .args(["--to", &target])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("messages: "),
        "progress per table: {stderr}"
    );
    assert!(stderr.contains("copied "), "{stderr}");

    // The same data directory (secret, media), now on PostgreSQL.
    s.config_mut().database_url = Some(jeco_server::Secret::new(target));
    s.restart().await;
    assert_eq!(view(&s, a, &conversations, team).await, before_a);
    assert_eq!(view(&s, b, &conversations, team).await, before_b);
    let content = s
        .get(
            &format!("/api/v1/attachments/{}/content", file["id"]),
            Some(b),
        )
        .await;
    assert_eq!(content.status(), 200);
    assert_eq!(content.bytes().await.unwrap().as_ref(), b"plain text notes");

    // Bob resumes from his old positions: nothing replayed until something new happens, then
    // exactly the next position.
    let mut ws = s
        .ws_resume(
            b,
            Some(json!({"conversations": positions, "user_seq": i64::MAX})),
        )
        .await;
    let frames = frames_within(&mut ws, std::time::Duration::from_millis(300)).await;
    assert!(
        frames.iter().all(|f| matches!(f, ServerFrame::CaughtUp)),
        "nothing missed: {frames:?}"
    );
    let old_last = positions
        .iter()
        .find(|p| p["conversation_id"] == g)
        .unwrap()["seq"]
        .as_i64()
        .unwrap();
    s.say(a, g, "after", "first message on PostgreSQL").await;
    let next = next_event(&mut ws).await;
    assert_eq!(next.conversation_id.0, g);
    assert_eq!(next.seq, old_last + 1);
    // And new rows get new ids.
    let carol = s.register("carol").await;
    assert!(carol.user.id.0 > b_id && carol.user.id.0 > a_id);
}
