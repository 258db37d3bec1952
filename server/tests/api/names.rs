//! Names people see (teams, channels, groups, display names) and reactions: one validation —
//! NFC, trimmed, nothing invisible or reordering, look-alike channel names taken as the same —
//! and reactions only for real emoji.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

/// Names that must be refused everywhere: NUL, a bidi override, a zero-width space, an escape.
const BAD: [&str; 4] = [
    "nul\u{0}name",
    "invoice\u{202E}fdp.exe",
    "gen\u{200B}eral",
    "red\u{1b}[31m",
];

#[tokio::test]
async fn control_format_and_bidi_characters_are_refused_in_every_name() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let a = &alice.access_token;
    let (team_id, general) = team(&s, a, "Team").await;
    let group = s.group(a, "Group", &[bob.user.id.0]).await;
    for bad in BAD {
        let attempts = [
            (
                Method::POST,
                "/api/v1/teams".to_owned(),
                json!({"name": bad}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/teams/{team_id}"),
                json!({"name": bad}),
            ),
            (
                Method::POST,
                format!("/api/v1/teams/{team_id}/channels"),
                json!({"name": bad, "private": false}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/conversations/{general}"),
                json!({"name": bad}),
            ),
            (
                Method::POST,
                "/api/v1/conversations".to_owned(),
                json!({"name": bad, "member_ids": [bob.user.id.0]}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/conversations/{group}"),
                json!({"name": bad}),
            ),
            (
                Method::PATCH,
                "/api/v1/users/me".to_owned(),
                json!({"display_name": bad}),
            ),
        ];
        for (method, path, body) in attempts {
            let r = s.call(method.clone(), &path, Some(body), a).await;
            let err = expect_error(r, 400, "validation_failed").await;
            let fields = err.error.fields.unwrap_or_default();
            assert!(
                fields.contains_key("name") || fields.contains_key("display_name"),
                "{method} {path} {bad:?}: {fields:?}"
            );
        }
        let r = s
            .post(
                "/api/v1/auth/register",
                json!({"username": "carol", "password": PASSWORD, "display_name": bad}),
                None,
            )
            .await;
        expect_error(r, 400, "validation_failed").await;
    }
    // Names are stored normalized: NFC, spaces collapsed and trimmed; emoji are fine.
    let t = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/teams/{team_id}"),
            Some(json!({"name": "  E\u{301}quipe   👩‍💻 "})),
            a,
            200,
        )
        .await;
    assert_eq!(t["name"], "\u{c9}quipe 👩‍💻");
}

#[tokio::test]
async fn look_alike_channel_names_are_the_same_name() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = &alice.access_token;
    let (team_id, _general) = team(&s, a, "Team").await;
    let path = format!("/api/v1/teams/{team_id}/channels");
    // `general` exists; a Cyrillic `е`, a digit one for `l`, or capitals do not make another.
    for same in ["g\u{435}neral", "genera1", "GENERAL", "#General"] {
        let r = s
            .call(
                Method::POST,
                &path,
                Some(json!({"name": same, "private": false})),
                a,
            )
            .await;
        expect_error(r, 409, "conflict").await;
    }
    let random = channel(&s, a, team_id, "random", false).await;
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/conversations/{random}"),
            Some(json!({"name": "gеnеrаl"})),
            a,
        )
        .await;
    expect_error(r, 409, "conflict").await;
    channel(&s, a, team_id, "generals", false).await;
}

#[tokio::test]
async fn reactions_are_emoji_only() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let a = &alice.access_token;
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let m = s.say(a, g, "c1", "hello").await;
    let react = format!("/api/v1/conversations/{g}/messages/{}/reactions", m["id"]);
    for bad in ["str", "👍\u{202E}", "\u{0}", ":+1:", "👍👍", "a"] {
        let r = s
            .call(Method::POST, &react, Some(json!({"emoji": bad})), a)
            .await;
        let err = expect_error(r, 400, "validation_failed").await;
        assert!(err.error.fields.unwrap().contains_key("emoji"), "{bad:?}");
    }
    for good in ["👍", "👍🏽", "❤️", "👩‍💻", "🇫🇷"] {
        let r = s
            .ok(Method::POST, &react, Some(json!({"emoji": good})), a, 200)
            .await;
        assert_eq!(r["added"], true, "{good}");
    }
    // `❤` without its variation selector is the same reaction as `❤️`.
    let r = s
        .ok(
            Method::POST,
            &react,
            Some(json!({"emoji": "❤"})),
            bob.access_token.as_str(),
            200,
        )
        .await;
    let hearts: Vec<_> = r["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["emoji"] == "❤️")
        .collect();
    assert_eq!(hearts.len(), 1);
    assert_eq!(hearts[0]["count"], 2);
}
