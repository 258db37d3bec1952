//! Teams: roles, membership rules, ownership, invitations, and membership following the team
//! into its channels (over REST and the WebSocket).

use crate::support::*;
use jeco_shared::conversations::MemberRole;
use jeco_shared::events::{EventBody, UserEventBody};
use jeco_shared::ws::ServerFrame;
use jeco_shared::{ConversationId, TeamId};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn team_lifecycle_roles_and_ownership() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let admin = s.register("admin").await;
    let member = s.register("member").await;
    let (o, a, m) = (
        owner.access_token.as_str(),
        admin.access_token.as_str(),
        member.access_token.as_str(),
    );
    let (t, general) = team(&s, o, "  Rocket  ").await;
    let got = s
        .ok(Method::GET, &format!("/api/v1/teams/{t}"), None, o, 200)
        .await;
    assert_eq!(got["name"], "Rocket");
    assert_eq!(got["my_role"], "owner");
    assert_eq!(got["member_count"], 1);

    // The default #general is a public channel the owner is in.
    let g = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{general}"),
            None,
            o,
            200,
        )
        .await;
    assert_eq!(g["kind"], "channel");
    assert_eq!(g["name"], "general");
    assert_eq!(g["channel"]["team_id"], t);
    assert_eq!(g["channel"]["is_default"], true);
    assert_eq!(g["channel"]["private"], false);

    // Only the owner adds admins; admins add members, who land in #general.
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    let refused = s
        .call(
            Method::POST,
            &format!("/api/v1/teams/{t}/members"),
            Some(json!({"user_id": member.user.id.0, "role": "admin"})),
            a,
        )
        .await;
    expect_error(refused, 403, "forbidden").await;
    add_to_team(&s, a, t, member.user.id.0, "member").await;
    let again = s
        .call(
            Method::POST,
            &format!("/api/v1/teams/{t}/members"),
            Some(json!({"user_id": member.user.id.0})),
            a,
        )
        .await;
    expect_error(again, 400, "validation_failed").await;
    let members = s
        .ok(
            Method::GET,
            &format!("/api/v1/teams/{t}/members"),
            None,
            m,
            200,
        )
        .await;
    let roles: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "admin", "member"]);
    let g = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{general}"),
            None,
            m,
            200,
        )
        .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 3);
    let mine = s.ok(Method::GET, "/api/v1/teams", None, m, 200).await;
    assert_eq!(mine["items"][0]["id"], t);
    assert_eq!(mine["items"][0]["my_role"], "member");

    // Renaming takes an admin; members may not remove anyone, admins not other admins.
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/teams/{t}"),
            Some(json!({"name": "X"})),
            m,
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    let renamed = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/teams/{t}"),
            Some(json!({"name": "Orbit"})),
            a,
            200,
        )
        .await;
    assert_eq!(renamed["name"], "Orbit");
    for (token, target) in [(m, admin.user.id.0), (a, owner.user.id.0)] {
        let r = s
            .call(
                Method::DELETE,
                &format!("/api/v1/teams/{t}/members/{target}"),
                None,
                token,
            )
            .await;
        expect_error(r, 403, "forbidden").await;
    }
    // Role changes are the owner's.
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/teams/{t}/members/{}", member.user.id.0),
            Some(json!({"role": "admin"})),
            a,
        )
        .await;
    expect_error(r, 403, "forbidden").await;

    // The owner cannot leave before handing the team over.
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{t}/members/{}", owner.user.id.0),
            None,
            o,
        )
        .await;
    expect_error(r, 409, "owner_must_transfer").await;
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/teams/{t}/transfer"),
            Some(json!({"user_id": member.user.id.0})),
            a,
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    let moved = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/transfer"),
            Some(json!({"user_id": member.user.id.0})),
            o,
            200,
        )
        .await;
    assert_eq!(moved["my_role"], "admin");
    let now = s
        .ok(Method::GET, &format!("/api/v1/teams/{t}"), None, m, 200)
        .await;
    assert_eq!(now["my_role"], "owner");
    s.ok(
        Method::DELETE,
        &format!("/api/v1/teams/{t}/members/{}", owner.user.id.0),
        None,
        o,
        204,
    )
    .await;
    expect_error(
        s.call(Method::GET, &format!("/api/v1/teams/{t}"), None, o)
            .await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        s.call(
            Method::GET,
            &format!("/api/v1/conversations/{general}"),
            None,
            o,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // Only the owner deletes; the team and its channels are gone for everyone.
    let r = s
        .call(Method::DELETE, &format!("/api/v1/teams/{t}"), None, a)
        .await;
    expect_error(r, 403, "forbidden").await;
    s.ok(Method::DELETE, &format!("/api/v1/teams/{t}"), None, m, 204)
        .await;
    for token in [a, m] {
        expect_error(
            s.call(Method::GET, &format!("/api/v1/teams/{t}"), None, token)
                .await,
            404,
            "not_found",
        )
        .await;
        expect_error(
            s.call(
                Method::GET,
                &format!("/api/v1/conversations/{general}"),
                None,
                token,
            )
            .await,
            404,
            "not_found",
        )
        .await;
        let list = s.ok(Method::GET, "/api/v1/teams", None, token, 200).await;
        assert!(list["items"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn invitations_and_their_errors() {
    let (s, clock) = TestServer::start_with_clock(|_| {}).await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let dave = s.register("dave").await;
    let o = owner.access_token.as_str();
    let (b, c, d) = (
        bob.access_token.as_str(),
        carol.access_token.as_str(),
        dave.access_token.as_str(),
    );
    let (t, general) = team(&s, o, "Rocket").await;
    let once = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/invites"),
            Some(json!({"max_uses": 1, "expires_in_secs": 3600})),
            o,
            201,
        )
        .await;
    let code = once["code"].as_str().unwrap().to_owned();
    assert!(code.len() >= 16, "{code}");
    assert_eq!(once["uses"], 0);
    assert!(once["expires_at"].is_string());

    // Joining adds to the team and #general; joining again changes nothing.
    let joined = s
        .ok(
            Method::POST,
            "/api/v1/invites/join",
            Some(json!({"code": code})),
            b,
            201,
        )
        .await;
    assert_eq!(joined["id"], t);
    assert_eq!(joined["my_role"], "member");
    s.ok(
        Method::GET,
        &format!("/api/v1/conversations/{general}"),
        None,
        b,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        "/api/v1/invites/join",
        Some(json!({"code": code})),
        b,
        200,
    )
    .await;
    // Plain members do not manage invitations.
    expect_error(
        s.call(Method::GET, &format!("/api/v1/teams/{t}/invites"), None, b)
            .await,
        403,
        "forbidden",
    )
    .await;

    // Used up, unknown, revoked and expired codes are told apart.
    let r = s
        .post("/api/v1/invites/join", json!({"code": code}), Some(c))
        .await;
    expect_error(r, 410, "invite_used_up").await;
    let r = s
        .post(
            "/api/v1/invites/join",
            json!({"code": "no-such-code"}),
            Some(c),
        )
        .await;
    expect_error(r, 404, "invite_not_found").await;
    let open = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/invites"),
            Some(json!({})),
            o,
            201,
        )
        .await;
    let revoked = s
        .ok(
            Method::DELETE,
            &format!("/api/v1/teams/{t}/invites/{}", open["id"]),
            None,
            o,
            200,
        )
        .await;
    assert_eq!(revoked["revoked"], true);
    let r = s
        .post(
            "/api/v1/invites/join",
            json!({"code": open["code"]}),
            Some(c),
        )
        .await;
    expect_error(r, 410, "invite_revoked").await;
    let short = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/invites"),
            Some(json!({"expires_in_secs": 1})),
            o,
            201,
        )
        .await;
    clock.advance(Duration::from_millis(1100));
    let r = s
        .post(
            "/api/v1/invites/join",
            json!({"code": short["code"]}),
            Some(c),
        )
        .await;
    expect_error(r, 410, "invite_expired").await;
    expect_error(
        s.call(Method::GET, &format!("/api/v1/teams/{t}"), None, c)
            .await,
        404,
        "not_found",
    )
    .await;

    // Bad limits are validation errors; the list shows uses, newest first.
    for body in [json!({"max_uses": 0}), json!({"expires_in_secs": 0})] {
        let r = s
            .call(
                Method::POST,
                &format!("/api/v1/teams/{t}/invites"),
                Some(body),
                o,
            )
            .await;
        expect_error(r, 400, "validation_failed").await;
    }
    let list = s
        .ok(
            Method::GET,
            &format!("/api/v1/teams/{t}/invites"),
            None,
            o,
            200,
        )
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["code"], code.as_str());
    assert_eq!(items[2]["uses"], 1);
    // A revoked id of another team is not found.
    let (other, _) = team(&s, d, "Other").await;
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{other}/invites/{}", open["id"]),
            None,
            d,
        )
        .await;
    expect_error(r, 404, "not_found").await;
}

#[tokio::test]
async fn membership_follows_the_team_in_real_time() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let o = owner.access_token.as_str();
    let b = bob.access_token.as_str();
    let (t, general) = team(&s, o, "Rocket").await;
    let public = channel(&s, o, t, "random", false).await;
    let private = channel(&s, o, t, "secret", true).await;

    let mut bob_ws = ws_caught_up(&s, b).await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let added = next_user_event(&mut bob_ws).await;
    assert_eq!(
        added.body,
        UserEventBody::TeamAdded {
            team_id: TeamId(t),
            role: MemberRole::Member
        }
    );
    let in_general = next_user_event(&mut bob_ws).await;
    assert!(
        matches!(in_general.body, UserEventBody::ConversationAdded { conversation_id, .. } if conversation_id == ConversationId(general)),
        "{in_general:?}"
    );
    assert_eq!(in_general.seq, added.seq + 1);
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{public}/join"),
        None,
        b,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{private}/members"),
        Some(json!({"user_ids": [bob.user.id.0]})),
        o,
        200,
    )
    .await;
    s.say(b, private, "b-1", "hello secret").await;

    // Removed from the team ⇒ out of every channel, each with its membership event.
    let mut owner_ws = ws_caught_up(&s, o).await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/teams/{t}/members/{}", bob.user.id.0),
        None,
        o,
        204,
    )
    .await;
    let mut removed_from = Vec::new();
    loop {
        let e = next_user_event(&mut bob_ws).await;
        match e.body {
            UserEventBody::ConversationRemoved { conversation_id } => {
                removed_from.push(conversation_id.0)
            }
            UserEventBody::TeamRemoved { team_id } => {
                assert_eq!(team_id, TeamId(t));
                break;
            }
            _ => {}
        }
    }
    removed_from.sort_unstable();
    let mut expected = vec![general, public, private];
    expected.sort_unstable();
    assert_eq!(removed_from, expected);
    let mut removed_events = 0;
    while removed_events < 3 {
        let e = next_event(&mut owner_ws).await;
        if e.body
            == (EventBody::MemberRemoved {
                user_id: bob.user.id,
            })
        {
            removed_events += 1;
        }
    }

    // The rest of the team is told the team changed.
    assert_eq!(
        next_user_event(&mut owner_ws).await.body,
        UserEventBody::TeamChanged { team_id: TeamId(t) }
    );

    // …and hears nothing more from them, and can read nothing.
    s.say(o, general, "o-1", "after bob left").await;
    s.say(o, private, "o-2", "still secret").await;
    let later = frames_within(&mut bob_ws, Duration::from_millis(400)).await;
    assert!(
        !later.iter().any(|f| matches!(f, ServerFrame::Event(_))),
        "{later:?}"
    );
    for id in [general, public, private] {
        expect_error(
            s.call(
                Method::GET,
                &format!("/api/v1/conversations/{id}/messages"),
                None,
                b,
            )
            .await,
            404,
            "not_found",
        )
        .await;
    }
    let list = s
        .ok(Method::GET, "/api/v1/conversations", None, b, 200)
        .await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // Deleting the team removes every member from each channel, then from the team.
    s.ok(Method::DELETE, &format!("/api/v1/teams/{t}"), None, o, 204)
        .await;
    let mut gone = Vec::new();
    loop {
        match next_user_event(&mut owner_ws).await.body {
            UserEventBody::ConversationRemoved { conversation_id } => gone.push(conversation_id.0),
            UserEventBody::TeamRemoved { team_id } => {
                assert_eq!(team_id, TeamId(t));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    gone.sort_unstable();
    assert_eq!(gone, expected);
    assert!(
        !frames_within(&mut bob_ws, Duration::from_millis(200))
            .await
            .iter()
            .any(|f| matches!(f, ServerFrame::Event(_) | ServerFrame::UserEvent(_))),
        "bob is no longer told about the team"
    );

    // A resuming client gets the same user events replayed.
    let mut resumed = s
        .ws_resume(
            b,
            Some(json!({"conversations": [], "user_seq": added.seq - 1})),
        )
        .await;
    let first = next_user_event(&mut resumed).await;
    assert_eq!(first.seq, added.seq);
    assert!(matches!(first.body, UserEventBody::TeamAdded { .. }));
}
