//! The authorization matrix for conversations, messages, notifications, search, contacts and users,
//! and for every per-conversation WebSocket action — the part `authz_matrix` (teams and channel
//! basics) does not cover. Four actors ask about a group room, a private channel and a direct
//! conversation: a non-member, a member, the conversation's admin (its owner; in a direct
//! conversation, the other participant) and a removed member. Outsiders must get exactly the
//! answer a nonexistent id gets — same status, code and message — and must learn nothing through
//! side channels (live events, typing, read receipts, search, lists, notifications, resume).

use crate::support::*;
use jeco_shared::ErrorCode;
use jeco_shared::ws::ServerFrame;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Who asks, in the order every row lists its expectations.
const WHO: [&str; 4] = ["non-member", "member", "admin", "removed"];
/// An id that exists nowhere.
const GHOST: i64 = 987_654_321;
/// "Does not apply" (a direct conversation has no removed member).
const NA: u16 = 0;

struct Row {
    method: Method,
    path: String,
    /// The same request about something that does not exist; every 404 must equal its answer.
    ghost: Option<String>,
    body: Option<Value>,
    /// Expected status for each of [`WHO`]; the error code follows from it.
    expect: [u16; 4],
}

/// A row about conversation `c`: `rest` follows `/api/v1/conversations/{c}`.
fn conv(c: i64, method: Method, rest: &str, body: Option<Value>, expect: [u16; 4]) -> Row {
    Row {
        method,
        path: format!("/api/v1/conversations/{c}{rest}"),
        ghost: Some(format!("/api/v1/conversations/{GHOST}{rest}")),
        body,
        expect,
    }
}

fn code_for(status: u16) -> Option<&'static str> {
    match status {
        400 => Some("bad_request"),
        403 => Some("forbidden"),
        404 => Some("not_found"),
        _ => None,
    }
}

/// Runs every row for every actor; returns how many cells were checked.
async fn run(s: &TestServer, what: &str, rows: &[Row], tokens: &[Option<&str>; 4]) -> usize {
    let mut cells = 0;
    for r in rows {
        for (i, token) in tokens.iter().enumerate() {
            let (Some(token), expect) = (token, r.expect[i]) else {
                continue;
            };
            if expect == NA {
                continue;
            }
            cells += 1;
            let resp = s
                .call(r.method.clone(), &r.path, r.body.clone(), token)
                .await;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            let cell = format!("{what}: {} {} as {}", r.method, r.path, WHO[i]);
            assert_eq!(status, expect, "{cell}: {text}");
            if let Some(code) = code_for(status) {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["error"]["code"], code, "{cell}: {text}");
            }
            if status == 404
                && let Some(ghost) = &r.ghost
            {
                // Indistinguishable from an id that does not exist: same status and body.
                let g = s.call(r.method.clone(), ghost, r.body.clone(), token).await;
                let g_status = g.status().as_u16();
                let g_text = g.text().await.unwrap();
                // Each answer names its own request; all else must be the same.
                assert_eq!(
                    (
                        status,
                        without_request_id(&mut serde_json::from_str::<Value>(&text).unwrap())
                            .clone()
                    ),
                    (
                        g_status,
                        without_request_id(&mut serde_json::from_str::<Value>(&g_text).unwrap())
                            .clone()
                    ),
                    "{cell}: differs from the nonexistent {ghost}"
                );
            }
        }
    }
    cells
}

/// Messages a conversation's rows act on.
struct Msgs {
    /// By the admin: read, edited (by its author only), replied to, reacted to, pinned.
    by_admin: i64,
    /// By the member: edited by its author only.
    by_member: i64,
    /// By the admin: deleted by its author (the member is refused).
    admin_doomed: i64,
    /// By a third member: deleted by a moderator (not in a direct conversation).
    by_bystander: Option<i64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Group,
    Private,
    Direct,
}

/// Every conversation and message endpoint about `c`, except deleting it and leaving it.
fn conversation_rows(c: i64, kind: Kind, m: &Msgs, add: i64, kick: i64) -> Vec<Row> {
    use Kind::*;
    let ok = |status: u16| {
        if kind == Direct {
            [404, status, status, NA]
        } else {
            [404, status, status, 404]
        }
    };
    let refused = |member: u16, admin: u16| {
        if kind == Direct {
            [404, member, admin, NA]
        } else {
            [404, member, admin, 404]
        }
    };
    let msg = |id: i64, rest: &str| format!("/messages/{id}{rest}");
    let mut rows = vec![
        conv(c, Method::GET, "", None, ok(200)),
        conv(
            c,
            Method::PATCH,
            "",
            Some(json!({"name": "renamed"})),
            ok(if kind == Direct { 400 } else { 200 }),
        ),
        conv(
            c,
            Method::PATCH,
            "",
            Some(json!({"topic": "a topic"})),
            ok(if kind == Private { 200 } else { 400 }),
        ),
        conv(c, Method::GET, "/members", None, ok(200)),
        conv(
            c,
            Method::POST,
            "/members",
            Some(json!({"user_ids": [add]})),
            ok(if kind == Direct { 400 } else { 200 }),
        ),
        conv(
            c,
            Method::DELETE,
            &format!("/members/{kick}"),
            None,
            if kind == Direct {
                ok(400)
            } else {
                refused(403, 204)
            },
        ),
        conv(c, Method::POST, "/read", Some(json!({"seq": 1})), ok(200)),
        conv(
            c,
            Method::PUT,
            "/mute",
            Some(json!({"muted": true})),
            ok(200),
        ),
        conv(
            c,
            Method::PUT,
            "/mute",
            Some(json!({"muted": false})),
            ok(200),
        ),
        // History in every variant.
        conv(c, Method::GET, "/messages", None, ok(200)),
        conv(c, Method::GET, "/messages?before=3", None, ok(200)),
        conv(c, Method::GET, "/messages?after=0&limit=1", None, ok(200)),
        conv(
            c,
            Method::GET,
            &format!("/messages?around={}", m.by_admin),
            None,
            ok(200),
        ),
        conv(
            c,
            Method::POST,
            "/messages",
            Some(json!({"client_id": format!("matrix-send-{c}"), "text": "hello"})),
            ok(201),
        ),
        conv(
            c,
            Method::POST,
            "/messages",
            Some(
                json!({"client_id": format!("matrix-reply-{c}"), "text": "re", "reply_to": m.by_admin}),
            ),
            ok(201),
        ),
        conv(c, Method::GET, &msg(m.by_admin, ""), None, ok(200)),
        conv(c, Method::GET, &msg(m.by_admin, "/replies"), None, ok(200)),
        conv(
            c,
            Method::PATCH,
            &msg(m.by_admin, ""),
            Some(json!({"text": "edited"})),
            refused(403, 200),
        ),
        conv(
            c,
            Method::PATCH,
            &msg(m.by_member, ""),
            Some(json!({"text": "edited"})),
            refused(200, 403),
        ),
        // A reaction toggles: the first row adds each actor's, the second removes it.
        conv(
            c,
            Method::POST,
            &msg(m.by_admin, "/reactions"),
            Some(json!({"emoji": "👍"})),
            ok(200),
        ),
        conv(
            c,
            Method::POST,
            &msg(m.by_admin, "/reactions"),
            Some(json!({"emoji": "👍"})),
            ok(200),
        ),
        conv(
            c,
            Method::PUT,
            &format!("/pins/{}", m.by_admin),
            None,
            ok(200),
        ),
        conv(c, Method::GET, "/pins", None, ok(200)),
        conv(
            c,
            Method::DELETE,
            &format!("/pins/{}", m.by_admin),
            None,
            ok(200),
        ),
        conv(
            c,
            Method::DELETE,
            &msg(m.admin_doomed, ""),
            None,
            refused(403, 204),
        ),
        // Joining is for public channels only: a private channel's members are already in, a
        // group or direct conversation is not a channel at all.
        conv(
            c,
            Method::POST,
            "/join",
            None,
            match kind {
                Private => ok(200),
                Group => [404, 404, 404, 404],
                Direct => [404, 404, 404, NA],
            },
        ),
    ];
    if let Some(b) = m.by_bystander {
        rows.push(conv(
            c,
            Method::DELETE,
            &msg(b, ""),
            None,
            refused(403, 204),
        ));
    }
    rows
}

/// Leaving: each actor removes itself.
fn leave_rows(c: i64, ids: &[i64; 4], kind: Kind) -> Vec<Row> {
    // Per actor, since the path carries the caller's own id; the others' cells are `NA`.
    (0..4)
        .map(|i| {
            let mut expect = [NA; 4];
            expect[i] = match (kind, i) {
                (_, 0) | (_, 3) => 404,
                (Kind::Direct, _) => 400,
                _ => 204,
            };
            if kind == Kind::Direct && i == 3 {
                expect[i] = NA;
            }
            conv(
                c,
                Method::DELETE,
                &format!("/members/{}", ids[i]),
                None,
                expect,
            )
        })
        .collect()
}

async fn msg_id(s: &TestServer, token: &str, c: i64, text: &str) -> i64 {
    s.say(token, c, &format!("setup-{c}-{text}"), text).await["id"]
        .as_i64()
        .unwrap()
}

async fn setup_msgs(
    s: &TestServer,
    c: i64,
    admin: &str,
    member: &str,
    bystander: Option<&str>,
) -> Msgs {
    let by_admin = msg_id(s, admin, c, "admin words").await;
    let by_member = msg_id(s, member, c, "member words").await;
    let admin_doomed = msg_id(s, admin, c, "admin doomed").await;
    let by_bystander = match bystander {
        Some(b) => Some(msg_id(s, b, c, "bystander words").await),
        None => None,
    };
    Msgs {
        by_admin,
        by_member,
        admin_doomed,
        by_bystander,
    }
}

async fn remove(s: &TestServer, token: &str, c: i64, user: i64) {
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{c}/members/{user}"),
        None,
        token,
        204,
    )
    .await;
}

/// The answer to a per-conversation WebSocket action: `Err` with the error frame, or `Ok` when the
/// action was accepted (the ack for `send`; for the others, the pong that follows them, nothing
/// having come before it).
async fn ws_action(ws: &mut Ws, frame: Value, nonce: u64) -> Result<ServerFrame, ServerFrame> {
    // Every send is answered (ack or error), but sends run alongside the connection's other frames,
    // so the pong may overtake that answer; other actions answer only when refused, and before the
    // pong (they run in order).
    let is_send = frame["type"] == "send";
    send_json(ws, frame).await;
    send_json(ws, json!({"type": "ping", "nonce": nonce})).await;
    let (mut reply, mut ponged) = (None, false);
    while !ponged || (is_send && reply.is_none()) {
        let frame = next_where(ws, |f| {
            matches!(
                f,
                ServerFrame::Ack { .. } | ServerFrame::Error { .. } | ServerFrame::Pong { .. }
            )
        })
        .await;
        match frame {
            ServerFrame::Pong { nonce: n } => {
                assert_eq!(n, nonce);
                ponged = true;
            }
            other => {
                assert!(reply.is_none(), "a second answer: {other:?}");
                reply = Some(other);
            }
        }
    }
    match reply {
        Some(error @ ServerFrame::Error { .. }) => Err(error),
        Some(ack) => Ok(ack),
        None => Ok(ServerFrame::Pong { nonce }),
    }
}

/// Every per-conversation client frame, for conversation `c`.
fn ws_frames(c: i64, tag: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "send",
            json!({"type": "send", "conversation_id": c, "client_id": format!("ws-{tag}"), "text": "over ws"}),
        ),
        (
            "typing",
            json!({"type": "typing", "conversation_id": c, "active": true}),
        ),
        (
            "typing",
            json!({"type": "typing", "conversation_id": c, "active": false}),
        ),
        (
            "mark_read",
            json!({"type": "mark_read", "conversation_id": c, "seq": 1}),
        ),
    ]
}

/// Each actor's WebSocket actions on `c`: members are accepted, outsiders get the very error frame
/// a nonexistent conversation gets.
async fn ws_matrix(s: &TestServer, what: &str, c: i64, tokens: &[Option<&str>; 4]) -> usize {
    let mut cells = 0;
    for (i, token) in tokens.iter().enumerate() {
        let Some(token) = token else { continue };
        let mut ws = s.ws_live(token).await;
        let outsider = i == 0 || i == 3;
        for (n, ((ty, frame), (_, ghost))) in ws_frames(c, &format!("{what}-{i}"))
            .into_iter()
            .zip(ws_frames(GHOST, &format!("{what}-{i}")))
            .enumerate()
        {
            cells += 1;
            let cell = format!("{what}: ws {ty} as {}", WHO[i]);
            let got = ws_action(&mut ws, frame, n as u64 * 2).await;
            if outsider {
                let err = got.expect_err(&cell);
                let ServerFrame::Error { code, frame: f, .. } = &err else {
                    unreachable!()
                };
                assert_eq!(*code, ErrorCode::NotFound, "{cell}");
                assert_eq!(f.as_deref(), Some(ty), "{cell}");
                let ghost_err = ws_action(&mut ws, ghost, n as u64 * 2 + 1)
                    .await
                    .expect_err(&cell);
                assert_eq!(
                    err, ghost_err,
                    "{cell}: differs from a nonexistent conversation"
                );
            } else {
                let ok = got.unwrap_or_else(|e| panic!("{cell}: {e:?}"));
                if ty == "send" {
                    assert!(matches!(ok, ServerFrame::Ack { .. }), "{cell}: {ok:?}");
                }
            }
        }
    }
    cells
}

#[tokio::test]
async fn conversation_authorization_matrix() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let outsider = s.register("outsider").await;
    let member = s.register("member").await;
    let removed = s.register("removed").await;
    let bystander = s.register("bystander").await;
    let newcomer = s.register("newcomer").await;
    let o = owner.access_token.as_str();
    let ids = [
        outsider.user.id.0,
        member.user.id.0,
        owner.user.id.0,
        removed.user.id.0,
    ];
    let tokens = [
        Some(outsider.access_token.as_str()),
        Some(member.access_token.as_str()),
        Some(o),
        Some(removed.access_token.as_str()),
    ];
    let b = bystander.access_token.as_str();
    let (m_id, r_id, b_id) = (member.user.id.0, removed.user.id.0, bystander.user.id.0);

    // A group room: the owner is its admin; the removed member was in it.
    let group = s.group(o, "Room", &[m_id, r_id, b_id]).await;
    // A private channel in a team every actor belongs to: the non-member is a team-mate who is not
    // in the channel, the removed member was in it and is still in the team.
    let (t, _) = team(&s, o, "Crew").await;
    for u in [ids[0], m_id, r_id, b_id, newcomer.user.id.0] {
        add_to_team(&s, o, t, u, "member").await;
    }
    let private = channel(&s, o, t, "hush", true).await;
    let doomed = channel(&s, o, t, "doomed", true).await;
    for c in [private, doomed] {
        s.ok(
            Method::POST,
            &format!("/api/v1/conversations/{c}/members"),
            Some(json!({"user_ids": [m_id, r_id, b_id]})),
            o,
            200,
        )
        .await;
    }
    // A direct conversation between the member and the owner; the non-member is a third user.
    let direct = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": m_id})),
            o,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();

    let mt = member.access_token.as_str();
    let group_msgs = setup_msgs(&s, group, o, mt, Some(b)).await;
    let private_msgs = setup_msgs(&s, private, o, mt, Some(b)).await;
    let direct_msgs = setup_msgs(&s, direct, o, mt, None).await;
    let removed_wrote = msg_id(&s, tokens[3].unwrap(), group, "removed words").await;
    for c in [group, private, doomed] {
        remove(&s, o, c, r_id).await;
    }

    let mut cells = 0;
    let mut rows = conversation_rows(group, Kind::Group, &group_msgs, newcomer.user.id.0, b_id);
    // Even their own message is out of reach once removed.
    rows.push(conv(
        group,
        Method::GET,
        &format!("/messages/{removed_wrote}"),
        None,
        [404, 200, 200, 404],
    ));
    rows.push(conv(group, Method::DELETE, "", None, [404, 400, 400, 404]));
    cells += run(&s, "group", &rows, &tokens).await;

    let mut rows = conversation_rows(
        private,
        Kind::Private,
        &private_msgs,
        newcomer.user.id.0,
        b_id,
    );
    rows.push(conv(doomed, Method::DELETE, "", None, [404, 403, 204, 404]));
    cells += run(&s, "private channel", &rows, &tokens).await;

    let direct_tokens = [tokens[0], tokens[1], tokens[2], None];
    let mut rows = conversation_rows(direct, Kind::Direct, &direct_msgs, b_id, ids[2]);
    rows.push(conv(direct, Method::DELETE, "", None, [404, 400, 400, NA]));
    cells += run(&s, "direct", &rows, &direct_tokens).await;

    // Opening "the" direct conversation with the member gives a third user their own, never the
    // member's conversation with someone else.
    let theirs = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": m_id})),
            tokens[0].unwrap(),
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    assert_ne!(theirs, direct);
    let again = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": m_id})),
            o,
            200,
        )
        .await;
    assert_eq!(again["id"], direct);

    // A message id from a conversation the caller is not in, through one they are in: exactly
    // like a nonexistent message.
    let foreign = private_msgs.by_admin;
    let cross = |method: Method, rest: &str, body: Option<Value>| Row {
        method,
        path: format!(
            "/api/v1/conversations/{theirs}{}",
            rest.replace("MID", &foreign.to_string())
        ),
        ghost: Some(format!(
            "/api/v1/conversations/{theirs}{}",
            rest.replace("MID", &GHOST.to_string())
        )),
        body,
        expect: [404, NA, NA, NA],
    };
    let rows = [
        cross(Method::GET, "/messages/MID", None),
        cross(Method::GET, "/messages/MID/replies", None),
        cross(Method::GET, "/messages?around=MID", None),
        cross(Method::PATCH, "/messages/MID", Some(json!({"text": "x"}))),
        cross(Method::DELETE, "/messages/MID", None),
        cross(
            Method::POST,
            "/messages/MID/reactions",
            Some(json!({"emoji": "👍"})),
        ),
        cross(Method::PUT, "/pins/MID", None),
        cross(Method::DELETE, "/pins/MID", None),
        cross(
            Method::POST,
            "/messages",
            Some(json!({"client_id": "cross", "text": "x", "reply_to": foreign})),
        ),
    ];
    // (The reply_to row's ghost differs only in the body; checked on its own below.)
    cells += run(&s, "cross-conversation", &rows[..rows.len() - 1], &tokens).await;
    let reply_foreign = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{theirs}/messages"),
            Some(json!({"client_id": "cross", "text": "x", "reply_to": foreign})),
            tokens[0].unwrap(),
        )
        .await;
    let reply_ghost = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{theirs}/messages"),
            Some(json!({"client_id": "cross", "text": "x", "reply_to": GHOST})),
            tokens[0].unwrap(),
        )
        .await;
    assert_eq!(reply_foreign.status(), 404);
    assert_eq!(
        without_request_id(&mut reply_foreign.json::<Value>().await.unwrap()),
        without_request_id(&mut reply_ghost.json::<Value>().await.unwrap())
    );
    cells += 1;

    // A client_id the removed member used in the group, reused in a conversation they are in:
    // refused, without the group message (its reactions, pin and replies) in the answer.
    let own = s
        .ok(
            Method::POST,
            "/api/v1/conversations/direct",
            Some(json!({"user_id": m_id})),
            tokens[3].unwrap(),
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let reuse = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{own}/messages"),
            Some(json!({"client_id": format!("setup-{group}-removed words"), "text": "again"})),
            tokens[3].unwrap(),
        )
        .await;
    let body = expect_error(reuse, 409, "conflict").await;
    assert!(
        !serde_json::to_string(&body)
            .unwrap()
            .contains("removed words")
    );
    cells += 1;

    // Notifications: only their owner can mark one read.
    let page = s
        .ok(Method::GET, "/api/v1/notifications", None, mt, 200)
        .await;
    let n = page["items"][0]["id"].as_i64().unwrap();
    let rows = [Row {
        method: Method::POST,
        path: format!("/api/v1/notifications/{n}/read"),
        ghost: Some(format!("/api/v1/notifications/{GHOST}/read")),
        body: None,
        expect: [404, 200, 404, 404],
    }];
    cells += run(&s, "notification", &rows, &tokens).await;

    // Contacts: a request from the member to the bystander; nobody else can see or answer it.
    let req = s
        .ok(
            Method::POST,
            "/api/v1/contacts/requests",
            Some(json!({"user_id": b_id})),
            mt,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let contact = |method: Method, rest: &str, expect: [u16; 4]| Row {
        method,
        path: format!("/api/v1/contacts/requests/{req}{rest}"),
        ghost: Some(format!("/api/v1/contacts/requests/{GHOST}{rest}")),
        body: None,
        expect,
    };
    let rows = [
        contact(Method::POST, "/accept", [404, 403, 404, 404]),
        contact(Method::POST, "/decline", [404, 403, 404, 404]),
        contact(Method::DELETE, "", [404, 200, 404, 404]),
    ];
    cells += run(&s, "contact request", &rows, &tokens).await;

    // Users are public profiles: the same answer for everyone.
    let rows = [
        Row {
            method: Method::GET,
            path: format!("/api/v1/users/{m_id}"),
            ghost: None,
            body: None,
            expect: [200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/users/{GHOST}"),
            ghost: None,
            body: None,
            expect: [404, 404, 404, 404],
        },
        Row {
            method: Method::GET,
            path: "/api/v1/users?q=mem".into(),
            ghost: None,
            body: None,
            expect: [200, 200, 200, 200],
        },
    ];
    cells += run(&s, "users", &rows, &tokens).await;

    // Search restricted to a conversation the caller is not in: nothing, like a nonexistent one.
    for c in [group, private, direct] {
        for (i, token) in tokens.iter().enumerate() {
            let Some(token) = token else { continue };
            if c == direct && i == 3 {
                continue;
            }
            cells += 1;
            let hits = s
                .ok(
                    Method::GET,
                    &format!("/api/v1/search?q=hello&conversation_id={c}"),
                    None,
                    token,
                    200,
                )
                .await;
            let n = hits["items"].as_array().unwrap().len();
            if i == 0 || i == 3 {
                assert_eq!(n, 0, "search in {c} as {}: {hits}", WHO[i]);
                let ghost = s
                    .ok(
                        Method::GET,
                        &format!("/api/v1/search?q=hello&conversation_id={GHOST}"),
                        None,
                        token,
                        200,
                    )
                    .await;
                assert_eq!(hits, ghost);
            } else {
                assert!(n > 0, "search in {c} as {}: {hits}", WHO[i]);
            }
        }
    }

    // Every per-conversation WebSocket action.
    cells += ws_matrix(&s, "group", group, &tokens).await;
    cells += ws_matrix(&s, "private", private, &tokens).await;
    cells += ws_matrix(&s, "direct", direct, &direct_tokens).await;

    // Leaving comes last: afterwards the leavers are outsiders too.
    cells += run(
        &s,
        "leave direct",
        &leave_rows(direct, &ids, Kind::Direct),
        &tokens,
    )
    .await;
    for c in [group, private] {
        cells += run(&s, "leave", &leave_rows(c, &ids, Kind::Group), &tokens).await;
        // Having left, the member gets what a stranger gets.
        let resp = s
            .call(Method::GET, &format!("/api/v1/conversations/{c}"), None, mt)
            .await;
        expect_error(resp, 404, "not_found").await;
    }
    assert!(cells > 250, "only {cells} cells");
}

/// Nothing about a conversation reaches a non-member or a removed member: no live events, typing
/// or read receipts, no replay on resume, no search hits, no place in any list, no notifications.
#[tokio::test]
async fn conversations_leak_nothing_to_outsiders() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let outsider = s.register("outsider").await;
    let member = s.register("member").await;
    let removed = s.register("removed").await;
    let o = owner.access_token.as_str();
    let (m_id, r_id, x_id) = (member.user.id.0, removed.user.id.0, outsider.user.id.0);
    let group = s.group(o, "Room", &[m_id, r_id]).await;
    let (t, _) = team(&s, o, "Crew").await;
    for u in [x_id, m_id, r_id] {
        add_to_team(&s, o, t, u, "member").await;
    }
    let private = channel(&s, o, t, "hush", true).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{private}/members"),
        Some(json!({"user_ids": [m_id, r_id]})),
        o,
        200,
    )
    .await;
    for c in [group, private] {
        s.say(o, c, &format!("before-{c}"), "zebra before removal")
            .await;
        remove(&s, o, c, r_id).await;
    }
    let secret = [group, private];

    let mut member_ws = ws_caught_up(&s, &member.access_token).await;
    let mut outsider_ws = ws_caught_up(&s, &outsider.access_token).await;
    let mut removed_ws = ws_caught_up(&s, &removed.access_token).await;
    // Resuming from the start of the conversations replays nothing of them.
    let resume = json!({
        "conversations": [{"conversation_id": group, "seq": 0}, {"conversation_id": private, "seq": 0}],
        "user_seq": i64::MAX,
    });
    for token in [&outsider.access_token, &removed.access_token] {
        let mut ws = s.ws_resume(token, Some(resume.clone())).await;
        loop {
            let f = next_frame(&mut ws).await;
            match f {
                ServerFrame::CaughtUp => break,
                ServerFrame::Event(e) => {
                    assert!(!secret.contains(&e.conversation_id.0), "replayed {e:?}")
                }
                ServerFrame::Resync {
                    conversation_id: Some(c),
                    ..
                } => assert!(!secret.contains(&c.0), "resync for {c:?}"),
                _ => {}
            }
        }
    }

    let mut owner_ws = s.ws_live(o).await;
    for c in secret {
        send_json(
            &mut owner_ws,
            json!({"type": "typing", "conversation_id": c, "active": true}),
        )
        .await;
        let m = s
            .say(
                o,
                c,
                &format!("live-{c}"),
                "zebra @outsider @removed @channel @here",
            )
            .await;
        let mid = m["id"].as_i64().unwrap();
        s.ok(
            Method::POST,
            &format!("/api/v1/conversations/{c}/messages/{mid}/reactions"),
            Some(json!({"emoji": "🦓"})),
            o,
            200,
        )
        .await;
        s.ok(
            Method::PUT,
            &format!("/api/v1/conversations/{c}/pins/{mid}"),
            None,
            o,
            200,
        )
        .await;
        s.ok(
            Method::PATCH,
            &format!("/api/v1/conversations/{c}"),
            Some(json!({"name": "renamed"})),
            o,
            200,
        )
        .await;
        send_json(
            &mut owner_ws,
            json!({"type": "typing", "conversation_id": c, "active": false}),
        )
        .await;
        // A read receipt, over REST and over the WebSocket.
        let seq = m["seq"].as_i64().unwrap();
        s.ok(
            Method::POST,
            &format!("/api/v1/conversations/{c}/read"),
            Some(json!({"seq": seq})),
            &member.access_token,
            200,
        )
        .await;
        send_json(
            &mut owner_ws,
            json!({"type": "mark_read", "conversation_id": c, "seq": seq}),
        )
        .await;
    }
    // The member sees all of it (typing included), so it has all been fanned out…
    let mut typing_seen = 0;
    let mut receipts = 0;
    while typing_seen < 4 || receipts < 2 {
        match next_frame(&mut member_ws).await {
            ServerFrame::Typing { .. } => typing_seen += 1,
            ServerFrame::Event(e)
                if matches!(e.body, jeco_shared::events::EventBody::ReadReceipt { .. }) =>
            {
                receipts += 1
            }
            _ => {}
        }
    }
    // …and none of it reached the outsiders.
    for (who, ws) in [
        ("non-member", &mut outsider_ws),
        ("removed", &mut removed_ws),
    ] {
        for f in frames_within(ws, Duration::from_millis(500)).await {
            let text = serde_json::to_string(&f).unwrap();
            let leaked = text.contains("zebra")
                || secret.iter().any(|c| {
                    text.contains(&format!("\"conversation_id\":{c},"))
                        || text.contains(&format!("\"conversation_id\":{c}}}"))
                });
            assert!(!leaked, "{who} got {f:?}");
        }
    }

    for (who, token) in [
        ("non-member", &outsider.access_token),
        ("removed", &removed.access_token),
    ] {
        let list = s
            .ok(Method::GET, "/api/v1/conversations", None, token, 200)
            .await;
        for c in list["items"].as_array().unwrap() {
            assert!(!secret.contains(&c["id"].as_i64().unwrap()), "{who}: {c}");
        }
        let channels = s
            .ok(
                Method::GET,
                &format!("/api/v1/teams/{t}/channels"),
                None,
                token,
                200,
            )
            .await;
        assert!(
            !channels.to_string().contains("hush") && !channels.to_string().contains("renamed"),
            "{who}: {channels}"
        );
        let hits = s
            .ok(Method::GET, "/api/v1/search?q=zebra", None, token, 200)
            .await;
        assert!(
            hits["items"].as_array().unwrap().is_empty(),
            "{who}: {hits}"
        );
        let inbox = s
            .ok(Method::GET, "/api/v1/notifications", None, token, 200)
            .await;
        for n in inbox["items"].as_array().unwrap() {
            // Being added (while the removed member still belonged) is their own history, not a
            // leak; everything about what happened inside must stay out of the inbox.
            if n["kind"] == "added_to_conversation" {
                continue;
            }
            let c = n["conversation_id"].as_i64();
            assert!(c.is_none_or(|c| !secret.contains(&c)), "{who}: {n}");
            assert!(!n.to_string().contains("zebra"), "{who}: {n}");
        }
    }
    // The member, by contrast, finds and lists both.
    let list = s
        .ok(
            Method::GET,
            "/api/v1/conversations",
            None,
            &member.access_token,
            200,
        )
        .await;
    for c in secret {
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == c),
            "{list}"
        );
    }
    let hits = s
        .ok(
            Method::GET,
            "/api/v1/search?q=zebra",
            None,
            &member.access_token,
            200,
        )
        .await;
    assert_eq!(hits["items"].as_array().unwrap().len(), 4, "{hits}");
}
