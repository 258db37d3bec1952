//! Channels in a team: create, list, join, rename, topic, archive, delete; private channels that
//! non-members cannot detect; team admins moderating messages.

use crate::support::*;
use jeco_shared::events::{EventBody, UserEventBody};
use jeco_shared::ws::ServerFrame;
use jeco_shared::{ConversationId, ErrorCode};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn channel_lifecycle_topic_archive_and_delete() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let (o, a, b) = (
        owner.access_token.as_str(),
        admin.access_token.as_str(),
        bob.access_token.as_str(),
    );
    let (t, general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;

    // Any team member creates a channel and owns it; others join public ones.
    let created = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/channels"),
            Some(json!({"name": "#design", "topic": "Pixels"})),
            b,
            201,
        )
        .await;
    let design = created["id"].as_i64().unwrap();
    assert_eq!(created["kind"], "channel");
    assert_eq!(created["name"], "design");
    assert_eq!(created["my_role"], "owner");
    assert_eq!(created["channel"]["topic"], "Pixels");
    let listed = s
        .ok(
            Method::GET,
            &format!("/api/v1/teams/{t}/channels"),
            None,
            a,
            200,
        )
        .await;
    let names: Vec<(&str, bool)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["joined"].as_bool().unwrap()))
        .collect();
    assert_eq!(names, [("design", false), ("general", true)]);
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{design}/join"),
        None,
        a,
        200,
    )
    .await;
    let again = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{design}/join"),
            None,
            a,
            200,
        )
        .await;
    assert_eq!(again["members"].as_array().unwrap().len(), 2);

    // Rename and topic are conversation events every member receives.
    let mut admin_ws = ws_caught_up(&s, a).await;
    let renamed = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/conversations/{design}"),
            Some(json!({"name": "ux", "topic": "  Flows  "})),
            b,
            200,
        )
        .await;
    assert_eq!(renamed["name"], "ux");
    assert_eq!(renamed["channel"]["topic"], "Flows");
    assert_eq!(
        next_event(&mut admin_ws).await.body,
        EventBody::ConversationRenamed { name: "ux".into() }
    );
    assert_eq!(
        next_event(&mut admin_ws).await.body,
        EventBody::TopicChanged {
            topic: Some("Flows".into())
        }
    );
    // A group has no topic.
    let g = s.group(o, "Room", &[]).await;
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/conversations/{g}"),
            Some(json!({"topic": "x"})),
            o,
        )
        .await;
    expect_error(r, 400, "bad_request").await;

    // Archiving takes a moderator: the team admin may, a plain member of the channel may not.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{general}/join"),
        None,
        b,
        200,
    )
    .await;
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/conversations/{general}"),
            Some(json!({"archived": true})),
            b,
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    let archived = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/conversations/{design}"),
            Some(json!({"archived": true})),
            a,
            200,
        )
        .await;
    assert_eq!(archived["channel"]["archived"], true);
    assert_eq!(
        next_event(&mut admin_ws).await.body,
        EventBody::ArchivedChanged { archived: true }
    );
    // Archived: readable, but no new messages over REST or WebSocket.
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{design}/messages"),
            Some(json!({"client_id": "late", "text": "hello?"})),
            b,
        )
        .await;
    expect_error(r, 409, "conversation_archived").await;
    let mut bob_ws = ws_caught_up(&s, b).await;
    send_json(
        &mut bob_ws,
        json!({"type": "send", "conversation_id": design, "client_id": "late-ws", "text": "hi"}),
    )
    .await;
    let err = next_where(&mut bob_ws, |f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(&err, ServerFrame::Error { code: ErrorCode::ConversationArchived, client_id: Some(c), .. } if c == "late-ws"),
        "{err:?}"
    );
    s.ok(
        Method::GET,
        &format!("/api/v1/conversations/{design}/messages"),
        None,
        b,
        200,
    )
    .await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{design}"),
        Some(json!({"archived": false})),
        a,
        200,
    )
    .await;
    s.say(b, design, "after", "back again").await;

    // Deleting is for team admins, never #general; members learn it from their own log.
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/conversations/{design}"),
            None,
            b,
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/conversations/{general}"),
            None,
            o,
        )
        .await;
    expect_error(r, 409, "conflict").await;
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/conversations/{g}"),
            None,
            o,
        )
        .await;
    expect_error(r, 400, "bad_request").await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{design}"),
        None,
        a,
        204,
    )
    .await;
    let gone = next_user_event(&mut bob_ws).await;
    assert_eq!(
        gone.body,
        UserEventBody::ConversationRemoved {
            conversation_id: ConversationId(design)
        }
    );
    expect_error(
        s.call(
            Method::GET,
            &format!("/api/v1/conversations/{design}"),
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
async fn private_channels_are_invisible_to_non_members() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let admin = s.register("admin").await;
    let carol = s.register("carol").await;
    let stranger = s.register("stranger").await;
    let (o, a, c) = (
        owner.access_token.as_str(),
        admin.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let (t, _) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    add_to_team(&s, o, t, carol.user.id.0, "member").await;
    let secret = channel(&s, o, t, "secret", true).await;
    s.say(o, secret, "o-1", "plans").await;

    // Not listed, and every request answers exactly as for an id that does not exist — even for a
    // team admin who is not in it.
    for token in [a, c] {
        let listed = s
            .ok(
                Method::GET,
                &format!("/api/v1/teams/{t}/channels"),
                None,
                token,
                200,
            )
            .await;
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|ch| ch["id"] != secret),
            "{listed}"
        );
        for (method, suffix, body) in [
            (Method::GET, "", None),
            (Method::POST, "/join", None),
            (Method::PATCH, "", Some(json!({"topic": "mine"}))),
            (Method::DELETE, "", None),
            (Method::GET, "/messages", None),
            (Method::GET, "/members", None),
        ] {
            let foreign = s
                .call(
                    method.clone(),
                    &format!("/api/v1/conversations/{secret}{suffix}"),
                    body.clone(),
                    token,
                )
                .await;
            let missing = s
                .call(
                    method,
                    &format!("/api/v1/conversations/99999{suffix}"),
                    body,
                    token,
                )
                .await;
            let foreign = expect_error(foreign, 404, "not_found").await;
            let missing = expect_error(missing, 404, "not_found").await;
            assert_eq!(foreign, missing, "{suffix}");
        }
    }

    // A member invites carol; people outside the team cannot be added.
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{secret}/members"),
            Some(json!({"user_ids": [stranger.user.id.0]})),
            o,
        )
        .await;
    expect_error(r, 400, "validation_failed").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{secret}/members"),
        Some(json!({"user_ids": [carol.user.id.0]})),
        o,
        200,
    )
    .await;
    let listed = s
        .ok(
            Method::GET,
            &format!("/api/v1/teams/{t}/channels"),
            None,
            c,
            200,
        )
        .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ch| ch["id"] == secret && ch["joined"] == true)
    );
    let history = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{secret}/messages"),
            None,
            c,
            200,
        )
        .await;
    assert_eq!(history["items"][0]["text"], "plans");
}

#[tokio::test]
async fn team_admins_delete_others_messages_in_channels() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let admin = s.register("admin").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (o, a, b, c) = (
        owner.access_token.as_str(),
        admin.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let (t, general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    add_to_team(&s, o, t, carol.user.id.0, "member").await;
    let by_carol = s.say(c, general, "c-1", "spam").await;
    let by_bob = s.say(b, general, "b-1", "fine").await;
    // A plain member may not delete another's message; the team admin (a plain channel member) may.
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/conversations/{general}/messages/{}", by_bob["id"]),
            None,
            c,
        )
        .await;
    expect_error(r, 403, "forbidden").await;
    s.ok(
        Method::DELETE,
        &format!(
            "/api/v1/conversations/{general}/messages/{}",
            by_carol["id"]
        ),
        None,
        a,
        204,
    )
    .await;
    let m = s
        .ok(
            Method::GET,
            &format!(
                "/api/v1/conversations/{general}/messages/{}",
                by_carol["id"]
            ),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(m["deleted"], true);
}

#[tokio::test]
async fn team_admins_remove_members_from_the_teams_channels() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let admin = s.register("admin").await;
    let creator = s.register("creator").await;
    let plain = s.register("plain").await;
    let x = s.register("xavier").await;
    let (o, a, c, p, xt) = (
        owner.access_token.as_str(),
        admin.access_token.as_str(),
        creator.access_token.as_str(),
        plain.access_token.as_str(),
        x.access_token.as_str(),
    );
    let (t, _general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, admin.user.id.0, "admin").await;
    for u in [&creator, &plain, &x] {
        add_to_team(&s, o, t, u.user.id.0, "member").await;
    }
    let remove = |ch: i64, user: &jeco_shared::auth::TokenResponse| {
        format!("/api/v1/conversations/{ch}/members/{}", user.user.id.0)
    };

    // A public channel the team admin is not in.
    let design = channel(&s, c, t, "design", false).await;
    for tok in [o, p, xt] {
        s.ok(
            Method::POST,
            &format!("/api/v1/conversations/{design}/join"),
            None,
            tok,
            200,
        )
        .await;
    }
    // A plain member of the channel may not remove anyone.
    let r = s.call(Method::DELETE, &remove(design, &x), None, p).await;
    expect_error(r, 403, "forbidden").await;
    // The team admin may, without being in the channel.
    s.ok(Method::DELETE, &remove(design, &x), None, a, 204)
        .await;
    let r = s
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{design}"),
            None,
            xt,
        )
        .await;
    expect_error(r, 404, "not_found").await;
    // …but not the team's owner (a higher team role), who may remove anyone.
    let r = s
        .call(Method::DELETE, &remove(design, &owner), None, a)
        .await;
    expect_error(r, 403, "forbidden").await;
    s.ok(Method::DELETE, &remove(design, &creator), None, o, 204)
        .await;

    // A private channel stays invisible to a team admin outside it…
    let secret = channel(&s, c, t, "secret", true).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{secret}/members"),
        Some(json!({"user_ids": [plain.user.id.0]})),
        c,
        200,
    )
    .await;
    let r = s
        .call(Method::DELETE, &remove(secret, &plain), None, a)
        .await;
    expect_error(r, 404, "not_found").await;
    // …and is moderated by one inside it, like any channel of the team.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{secret}/members"),
        Some(json!({"user_ids": [admin.user.id.0]})),
        c,
        200,
    )
    .await;
    s.ok(Method::DELETE, &remove(secret, &plain), None, a, 204)
        .await;
    let members = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{secret}/members"),
            None,
            c,
            200,
        )
        .await;
    let ids: Vec<i64> = members
        .as_array()
        .or(members["items"].as_array())
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&plain.user.id.0), "{ids:?}");
}

#[tokio::test]
async fn channel_names_are_unique_within_a_team_ignoring_case() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let (o, b) = (owner.access_token.as_str(), bob.access_token.as_str());
    let (t, general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let design = channel(&s, o, t, "Design", false).await;
    let ux = channel(&s, b, t, "ux", true).await;

    // Creating: the same name in any case, with or without `#`, is taken — even by a private
    // channel the caller cannot see, and by #general.
    for (token, name, taken) in [
        (b, "design", "design"),
        (o, "#DESIGN", "DESIGN"),
        (o, "UX", "UX"),
        (b, " General ", "General"),
    ] {
        let r = s
            .call(
                Method::POST,
                &format!("/api/v1/teams/{t}/channels"),
                Some(json!({ "name": name })),
                token,
            )
            .await;
        let err = expect_error(r, 409, "conflict").await;
        assert_eq!(
            err.error.message,
            format!("a channel named #{taken} already exists in this team")
        );
    }

    // Renaming onto another channel's name is refused; a channel keeps its own name in any case.
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/conversations/{ux}"),
            Some(json!({"name": "#dEsIgN"})),
            b,
        )
        .await;
    let err = expect_error(r, 409, "conflict").await;
    assert_eq!(
        err.error.message,
        "a channel named #dEsIgN already exists in this team"
    );
    let r = s
        .call(
            Method::PATCH,
            &format!("/api/v1/conversations/{general}"),
            Some(json!({"name": "design"})),
            o,
        )
        .await;
    expect_error(r, 409, "conflict").await;
    // Nothing changed.
    let g = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{general}"),
            None,
            o,
            200,
        )
        .await;
    assert_eq!(g["name"], "general");
    let renamed = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/conversations/{design}"),
            Some(json!({"name": "#DESIGN"})),
            o,
            200,
        )
        .await;
    assert_eq!(renamed["name"], "DESIGN");
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{ux}"),
        Some(json!({"name": "research"})),
        b,
        200,
    )
    .await;
    // The freed name is available again.
    channel(&s, o, t, "ux", false).await;

    // Another team has its own namespace; group rooms are not channels.
    let (t2, _) = team(&s, o, "Other").await;
    channel(&s, o, t2, "design", false).await;
    let g1 = s.group(o, "design", &[]).await;
    s.group(o, "Design", &[]).await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{g1}"),
        Some(json!({"name": "general"})),
        o,
        200,
    )
    .await;
}

#[tokio::test]
async fn nobody_leaves_general_except_by_leaving_the_team() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let (o, b) = (owner.access_token.as_str(), bob.access_token.as_str());
    let (t, general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let random = channel(&s, o, t, "random", false).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{random}/join"),
        None,
        b,
        200,
    )
    .await;

    for (token, id) in [(b, bob.user.id.0), (o, owner.user.id.0)] {
        let r = s
            .call(
                Method::DELETE,
                &format!("/api/v1/conversations/{general}/members/{id}"),
                None,
                token,
            )
            .await;
        expect_error(r, 409, "conflict").await;
        let members = s
            .ok(
                Method::GET,
                &format!("/api/v1/conversations/{general}/members"),
                None,
                token,
                200,
            )
            .await;
        assert!(
            members
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["user_id"] == id),
            "{members}"
        );
    }
    // Other channels are left as before.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{random}/members/{}", bob.user.id.0),
        None,
        b,
        204,
    )
    .await;
    // Leaving the team still takes one out of #general.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/teams/{t}/members/{}", bob.user.id.0),
        None,
        b,
        204,
    )
    .await;
    expect_error(
        s.call(
            Method::GET,
            &format!("/api/v1/conversations/{general}"),
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
async fn archived_channels_take_no_reactions_or_pins() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let (o, b) = (owner.access_token.as_str(), bob.access_token.as_str());
    let (t, _) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let design = channel(&s, o, t, "design", false).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{design}/join"),
        None,
        b,
        200,
    )
    .await;
    let pinned = s.say(o, design, "a", "pinned before").await["id"]
        .as_i64()
        .unwrap();
    let plain = s.say(o, design, "b", "plain").await["id"].as_i64().unwrap();
    s.ok(
        Method::PUT,
        &format!("/api/v1/conversations/{design}/pins/{pinned}"),
        None,
        b,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{design}/messages/{plain}/reactions"),
        Some(json!({"emoji": "👍"})),
        b,
        200,
    )
    .await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{design}"),
        Some(json!({"archived": true})),
        o,
        200,
    )
    .await;

    let refused = [
        (
            Method::POST,
            format!("messages/{plain}/reactions"),
            Some(json!({"emoji": "🎉"})),
        ),
        // Taking one's reaction back is a change too.
        (
            Method::POST,
            format!("messages/{plain}/reactions"),
            Some(json!({"emoji": "👍"})),
        ),
        (Method::PUT, format!("pins/{plain}"), None),
        (Method::DELETE, format!("pins/{pinned}"), None),
    ];
    for (method, path, body) in refused {
        for token in [b, o] {
            let r = s
                .call(
                    method.clone(),
                    &format!("/api/v1/conversations/{design}/{path}"),
                    body.clone(),
                    token,
                )
                .await;
            expect_error(r, 409, "conversation_archived").await;
        }
    }

    // Reading is unchanged: the pin and the reaction are still there.
    let pins = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{design}/pins"),
            None,
            b,
            200,
        )
        .await;
    let pin_ids: Vec<i64> = pins
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(pin_ids, [pinned]);
    let m = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{design}/messages/{plain}"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(m["reactions"].as_array().unwrap().len(), 1, "{m}");

    // Unarchived, it takes them again.
    s.ok(
        Method::PATCH,
        &format!("/api/v1/conversations/{design}"),
        Some(json!({"archived": false})),
        o,
        200,
    )
    .await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{design}/pins/{pinned}"),
        None,
        b,
        200,
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{design}/messages/{plain}/reactions"),
        Some(json!({"emoji": "🎉"})),
        b,
        200,
    )
    .await;
}

/// What the channel browser shows: each public channel with its topic and member count, and
/// whether the caller is in it — kept true as people join and leave.
#[tokio::test]
async fn the_channel_list_counts_members_as_they_join_and_leave() {
    let s = TestServer::start().await;
    let owner = s.register("owner").await;
    let bob = s.register("bob").await;
    let (o, b) = (owner.access_token.as_str(), bob.access_token.as_str());
    let (t, _general) = team(&s, o, "Rocket").await;
    add_to_team(&s, o, t, bob.user.id.0, "member").await;
    let design = s
        .ok(
            Method::POST,
            &format!("/api/v1/teams/{t}/channels"),
            Some(json!({"name": "design", "topic": "Pixels"})),
            o,
            201,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let seen = listed_channel(&s, b, t, design).await;
    assert_eq!(seen["topic"], "Pixels");
    assert_eq!(seen["member_count"], 1);
    assert_eq!(seen["joined"], false);
    assert_eq!(seen["private"], false);

    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{design}/join"),
        None,
        b,
        200,
    )
    .await;
    let seen = listed_channel(&s, b, t, design).await;
    assert_eq!(
        (seen["member_count"].as_i64(), seen["joined"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(listed_channel(&s, o, t, design).await["member_count"], 2);

    // Leaving is removing oneself; the list agrees at once, for both.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{design}/members/{}", bob.user.id.0),
        None,
        b,
        204,
    )
    .await;
    let seen = listed_channel(&s, b, t, design).await;
    assert_eq!(
        (seen["member_count"].as_i64(), seen["joined"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(listed_channel(&s, o, t, design).await["member_count"], 1);
}

/// The row for `channel` in team `team`'s channel list, as `token`'s user sees it.
async fn listed_channel(s: &TestServer, token: &str, team: i64, channel: i64) -> serde_json::Value {
    let listed = s
        .ok(
            Method::GET,
            &format!("/api/v1/teams/{team}/channels"),
            None,
            token,
            200,
        )
        .await;
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == channel)
        .cloned()
        .unwrap_or_else(|| panic!("channel {channel} not listed: {listed}"))
}
