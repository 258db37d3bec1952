//! The authorization matrix: every team and channel endpoint, and the WebSocket send to a channel,
//! asked by a non-member, a member, an admin and a removed member. Each row states what each of
//! them must get; outsiders (never in the team, or removed from it) always get `not_found`, the
//! same as for something that does not exist. Then every server-administration endpoint, which
//! only server admins may use.

use crate::support::*;
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::{Value, json};

/// Who asks, in the order every row lists its expectations.
const WHO: [&str; 4] = ["non-member", "member", "admin", "removed"];

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Expected status for each of [`WHO`]; the error code follows from it (404 `not_found`,
    /// 403 `forbidden`).
    expect: [u16; 4],
}

fn row(method: Method, path: String, body: Option<Value>, expect: [u16; 4]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

#[tokio::test]
async fn team_and_channel_authorization_matrix() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let outsider = s.register("outsider").await;
    let member = s.register("member").await;
    let admin = s.register("admin").await;
    let removed = s.register("removed").await;
    let newcomer = s.register("newcomer").await;
    let leaver = s.register("leaver").await;
    let guest = s.register("guest").await;
    let o = owner.access_token.as_str();
    let (t, general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, member.user.id.0, "member").await;
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    add_to_team(&s, o, t, removed.user.id.0, "member").await;
    add_to_team(&s, o, t, leaver.user.id.0, "member").await;
    add_to_team(&s, o, t, guest.user.id.0, "member").await;
    let public = channel(&s, o, t, "public", false).await;
    let private = channel(&s, o, t, "private", true).await;
    let doomed = channel(&s, o, t, "doomed", false).await;
    for token in [
        &member.access_token,
        &admin.access_token,
        &removed.access_token,
    ] {
        for id in [public, doomed] {
            s.ok(
                Method::POST,
                &format!("/api/v1/conversations/{id}/join"),
                None,
                token,
                200,
            )
            .await;
        }
    }
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{private}/members"),
        Some(json!({"user_ids": [member.user.id.0, admin.user.id.0, removed.user.id.0]})),
        o,
        200,
    )
    .await;
    let by_owner = s.say(o, public, "o-1", "owner speaks").await;
    let invite = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/invites"),
            Some(json!({})),
            o,
            201,
        )
        .await;
    // The removed member was in everything, then removed from the team.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/teams/{t}/members/{}", removed.user.id.0),
        None,
        o,
        204,
    )
    .await;

    let tokens = [
        outsider.access_token.as_str(),
        member.access_token.as_str(),
        admin.access_token.as_str(),
        removed.access_token.as_str(),
    ];
    let (m_id, o_id) = (member.user.id.0, owner.user.id.0);
    let team_path = format!("/api/v1/teams/{t}");
    let conv = |id: i64, rest: &str| format!("/api/v1/conversations/{id}{rest}");
    let rows = [
        // Teams.
        row(Method::GET, team_path.clone(), None, [404, 200, 200, 404]),
        row(
            Method::PATCH,
            team_path.clone(),
            Some(json!({"name": "Orbit"})),
            [404, 403, 200, 404],
        ),
        row(
            Method::DELETE,
            team_path.clone(),
            None,
            [404, 403, 403, 404],
        ),
        row(
            Method::GET,
            format!("{team_path}/members"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::POST,
            format!("{team_path}/members"),
            Some(json!({"user_id": newcomer.user.id.0})),
            [404, 403, 200, 404],
        ),
        row(
            Method::POST,
            format!("{team_path}/members"),
            Some(json!({"user_id": outsider.user.id.0, "role": "admin"})),
            [404, 403, 403, 404],
        ),
        row(
            Method::PATCH,
            format!("{team_path}/members/{m_id}"),
            Some(json!({"role": "admin"})),
            [404, 403, 403, 404],
        ),
        row(
            Method::DELETE,
            format!("{team_path}/members/{o_id}"),
            None,
            [404, 403, 403, 404],
        ),
        row(
            Method::DELETE,
            format!("{team_path}/members/{}", leaver.user.id.0),
            None,
            [404, 403, 204, 404],
        ),
        row(
            Method::POST,
            format!("{team_path}/transfer"),
            Some(json!({"user_id": m_id})),
            [404, 403, 403, 404],
        ),
        row(
            Method::GET,
            format!("{team_path}/invites"),
            None,
            [404, 403, 200, 404],
        ),
        row(
            Method::POST,
            format!("{team_path}/invites"),
            Some(json!({"max_uses": 3})),
            [404, 403, 201, 404],
        ),
        row(
            Method::DELETE,
            format!("{team_path}/invites/{}", invite["id"]),
            None,
            [404, 403, 200, 404],
        ),
        row(
            Method::GET,
            format!("{team_path}/channels"),
            None,
            [404, 200, 200, 404],
        ),
        // Any member creates (each actor asks for a name of its own: `$who` is replaced, since
        // channel names are unique within a team).
        row(
            Method::POST,
            format!("{team_path}/channels"),
            Some(json!({"name": "new-$who"})),
            [404, 201, 201, 404],
        ),
        // The same name twice is a conflict, for whoever asks second.
        row(
            Method::POST,
            format!("{team_path}/channels"),
            Some(json!({"name": "twice"})),
            [404, 201, 409, 404],
        ),
        // Channels, public and private.
        row(Method::GET, conv(public, ""), None, [404, 200, 200, 404]),
        row(Method::GET, conv(private, ""), None, [404, 200, 200, 404]),
        row(
            Method::POST,
            conv(public, "/join"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::POST,
            conv(private, "/join"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::PATCH,
            conv(public, ""),
            Some(json!({"topic": "News"})),
            [404, 200, 200, 404],
        ),
        row(
            Method::PATCH,
            conv(private, ""),
            Some(json!({"name": "hush"})),
            [404, 200, 200, 404],
        ),
        row(
            Method::PATCH,
            conv(public, ""),
            Some(json!({"archived": false})),
            [404, 403, 200, 404],
        ),
        row(
            Method::GET,
            conv(public, "/members"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::POST,
            conv(private, "/members"),
            Some(json!({"user_ids": [guest.user.id.0]})),
            [404, 200, 200, 404],
        ),
        row(
            Method::DELETE,
            conv(public, &format!("/members/{o_id}")),
            None,
            [404, 403, 403, 404],
        ),
        row(
            Method::GET,
            conv(public, "/messages"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::GET,
            conv(private, "/messages"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::POST,
            conv(public, "/messages"),
            Some(json!({"client_id": "matrix", "text": "hi"})),
            [404, 201, 201, 404],
        ),
        row(
            Method::POST,
            conv(private, "/read"),
            Some(json!({"seq": 1})),
            [404, 200, 200, 404],
        ),
        row(
            Method::GET,
            conv(public, "/pins"),
            None,
            [404, 200, 200, 404],
        ),
        row(
            Method::DELETE,
            conv(public, &format!("/messages/{}", by_owner["id"])),
            None,
            [404, 403, 204, 404],
        ),
        row(Method::DELETE, conv(doomed, ""), None, [404, 403, 204, 404]),
        row(
            Method::DELETE,
            conv(general, ""),
            None,
            [404, 403, 409, 404],
        ),
    ];
    for r in &rows {
        for (i, token) in tokens.iter().enumerate() {
            let body = r
                .body
                .as_ref()
                .map(|b| serde_json::from_str(&b.to_string().replace("$who", WHO[i])).unwrap());
            let resp = s.call(r.method.clone(), &r.path, body, token).await;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert_eq!(
                status, r.expect[i],
                "{} {} as {}: {text}",
                r.method, r.path, WHO[i]
            );
            let code = match status {
                404 => Some("not_found"),
                403 => Some("forbidden"),
                409 => Some("conflict"),
                _ => None,
            };
            if let Some(code) = code {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    body["error"]["code"], code,
                    "{} {} as {}",
                    r.method, r.path, WHO[i]
                );
            }
        }
    }

    // Outsiders cannot see the team in their list; they learn nothing from the join route either.
    for token in [tokens[0], tokens[3]] {
        let list = s.ok(Method::GET, "/api/v1/teams", None, token, 200).await;
        assert!(list["items"].as_array().unwrap().is_empty());
    }

    // The WebSocket send to a channel: members get an ack, outsiders a not_found error frame.
    let expect_ack = [false, true, true, false];
    for (i, token) in tokens.iter().enumerate() {
        let mut ws = s.ws_live(token).await;
        let client_id = format!("ws-{i}");
        send_json(
            &mut ws,
            json!({"type": "send", "conversation_id": private, "client_id": client_id, "text": "hi"}),
        )
        .await;
        let frame = next_where(&mut ws, |f| {
            matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. })
        })
        .await;
        match (&frame, expect_ack[i]) {
            (ServerFrame::Ack { client_id: c, .. }, true) => assert_eq!(c, &client_id),
            (ServerFrame::Error { code, .. }, false) => {
                assert_eq!(*code, jeco_shared::ErrorCode::NotFound, "{}", WHO[i])
            }
            _ => panic!("{} got {frame:?}", WHO[i]),
        }
    }
}

/// Every server-administration endpoint of the shared list (`/admin/…`), asked by a signed-in
/// user who is not a server admin, by nobody, and by an admin whose flag was removed: `403
/// forbidden`, `401 unauthorized`, `403` again — and nothing changes. Walking the list means a new
/// admin endpoint is in this matrix without anyone adding it.
#[tokio::test]
async fn every_admin_endpoint_is_refused_to_non_admins() {
    use jeco_shared::endpoints::{JSON, Method as M};
    let s = TestServer::start_with(|c| {
        c.admin_username = Some("root".into());
        c.admin_password = Some(jeco_server::Secret::new("root password here"));
    })
    .await;
    let root: jeco_shared::auth::TokenResponse = s
        .login("root", "root password here")
        .await
        .json()
        .await
        .unwrap();
    let plain = s.register("plain").await;
    let former = s.register("former").await;
    let target = s.register("target").await;
    let r = root.access_token.as_str();
    s.ok(
        Method::PUT,
        &format!("/api/v1/admin/users/{}/admin", former.user.id.0),
        None,
        r,
        200,
    )
    .await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/admin/users/{}/admin", former.user.id.0),
        None,
        r,
        200,
    )
    .await;
    let admin_routes: Vec<_> = JSON
        .iter()
        .filter(|e| e.path.starts_with("/admin/"))
        .collect();
    assert!(admin_routes.len() >= 8, "{admin_routes:?}");
    for e in admin_routes {
        let path = format!(
            "/api/v1{}",
            e.path.replace("{id}", &target.user.id.0.to_string())
        );
        let method = match e.method {
            M::Get => Method::GET,
            M::Post => Method::POST,
            M::Put => Method::PUT,
            M::Patch => Method::PATCH,
            M::Delete => Method::DELETE,
        };
        // A body the endpoint would accept, so the refusal is the authorization's.
        let body = match e.request {
            "()" => None,
            "ServerSettings" => Some(json!({"require_two_factor": true})),
            _ => Some(json!({"new_password": "a new password"})),
        };
        for (who, token) in [
            ("a plain user", plain.access_token.as_str()),
            ("a former admin", former.access_token.as_str()),
        ] {
            let resp = s.call(method.clone(), &path, body.clone(), token).await;
            assert_eq!(resp.status(), 403, "{} {path} as {who}", e.method);
            let err: Value = resp.json().await.unwrap();
            assert_eq!(err["error"]["code"], "forbidden", "{} {path}", e.method);
        }
        let mut anonymous = s.http().request(method.clone(), s.url(&path));
        if let Some(b) = &body {
            anonymous = anonymous.json(b);
        }
        let resp = anonymous.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{} {path} without a token", e.method);
    }
    // Nothing was changed by the refused calls.
    let t = s
        .ok(
            Method::GET,
            &format!("/api/v1/admin/users/{}", target.user.id.0),
            None,
            r,
            200,
        )
        .await;
    assert_eq!(t["user"]["is_admin"], false);
    assert_eq!(t["user"]["deactivated"], false);
    assert_eq!(
        s.ok(Method::GET, "/api/v1/admin/settings", None, r, 200)
            .await,
        json!({"require_two_factor": false})
    );
    let signed_in: Value = s
        .login("target", PASSWORD)
        .await
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed_in["status"], "signed_in");
    // No session of the target was ended (a password or two-factor reset would have).
    s.ok(
        Method::GET,
        "/api/v1/users/me",
        None,
        &target.access_token,
        200,
    )
    .await;
}
