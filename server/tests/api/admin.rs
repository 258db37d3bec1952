//! Admin bootstrap from configuration, and server administration over the API: the user list,
//! deactivation, passwords set by an admin, and the admin flag with its last-admin rule.

use crate::support::*;
use jeco_server::{Config, RunningServer, Secret};
use jeco_shared::auth::TokenResponse;
use jeco_shared::ws::close;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bootstrap_creates_the_admin_once() {
    let mut s = TestServer::start_with(|c| {
        c.admin_username = Some("Root".into());
        c.admin_password = Some(Secret::new("bootstrap password"));
    })
    .await;
    let t: TokenResponse = s
        .login("root", "bootstrap password")
        .await
        .json()
        .await
        .unwrap();
    assert!(t.user.is_admin);
    // A restart with the same settings finds the account and leaves it alone.
    s.restart().await;
    let again: TokenResponse = s
        .login("root", "bootstrap password")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.user.id, t.user.id);
    // Ordinary registrations are not admins.
    assert!(!s.register("plain").await.user.is_admin);
}

#[tokio::test]
async fn bootstrap_with_an_unusable_password_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        admin_username: Some("root".into()),
        admin_password: Some(Secret::new("short")),
        ..test_config(dir.path())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = RunningServer::start(config, listener).await.unwrap_err();
    assert!(err.to_string().contains("admin bootstrap"), "{err}");
    assert!(!format!("{err:?}").contains("short\""), "{err:?}");
}

// ---- server administration over the API (issue 16 item 6)

const ROOT_PASSWORD: &str = "root password here";

/// A server whose bootstrap admin is `root`, and root's tokens.
async fn with_root() -> (TestServer, TokenResponse) {
    let s = TestServer::start_with(|c| {
        c.admin_username = Some("root".into());
        c.admin_password = Some(Secret::new(ROOT_PASSWORD));
    })
    .await;
    let root: TokenResponse = s.login("root", ROOT_PASSWORD).await.json().await.unwrap();
    (s, root)
}

fn admin_user(id: i64, rest: &str) -> String {
    format!("/api/v1/admin/users/{id}{rest}")
}

#[tokio::test]
async fn admins_list_and_search_users_with_flags_email_and_activity() {
    let (s, root) = with_root().await;
    let r = root.access_token.as_str();
    let ada = s.register("ada").await;
    s.ok(
        Method::PATCH,
        "/api/v1/users/me",
        Some(json!({"display_name": "Countess Lovelace"})),
        &ada.access_token,
        200,
    )
    .await;
    let bob = s.register("bob").await;
    verified_email(&s, &bob.access_token, "builder@example.org").await;
    s.register("carol").await;

    let all = s.ok(Method::GET, "/api/v1/admin/users", None, r, 200).await;
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "bob", "carol", "root"]);
    let root_row = &all["items"][3];
    assert_eq!(root_row["user"]["is_admin"], true);
    assert_eq!(root_row["user"]["deactivated"], false);
    assert!(root_row["user"]["created_at"].is_string());
    assert!(root_row["last_active_at"].is_string(), "{root_row}");
    assert_eq!(root_row["live_sessions"], 1);
    assert_eq!(all["items"][1]["email"], "builder@example.org");
    assert!(all["next_cursor"].is_null());

    // By username, display name and email prefix, case-insensitively.
    for (q, want) in [("CAR", "carol"), ("countess", "ada"), ("builder@", "bob")] {
        let page = s
            .ok(
                Method::GET,
                &format!("/api/v1/admin/users?q={q}"),
                None,
                r,
                200,
            )
            .await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{q}: {page}");
        assert_eq!(items[0]["user"]["username"], want, "{q}");
    }

    // Paged.
    let first = s
        .ok(Method::GET, "/api/v1/admin/users?limit=3", None, r, 200)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = s
        .ok(
            Method::GET,
            &format!("/api/v1/admin/users?limit=3&cursor={cursor}"),
            None,
            r,
            200,
        )
        .await;
    assert_eq!(second["items"][0]["user"]["username"], "root");
    assert!(second["next_cursor"].is_null());
    expect_error(
        s.call(Method::GET, "/api/v1/admin/users?limit=0", None, r)
            .await,
        400,
        "validation_failed",
    )
    .await;

    let one = s
        .ok(Method::GET, &admin_user(bob.user.id.0, ""), None, r, 200)
        .await;
    assert_eq!(one["user"]["username"], "bob");
    expect_error(
        s.call(Method::GET, &admin_user(999_999, ""), None, r).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn deactivation_closes_sockets_refuses_sign_in_and_keeps_messages() {
    let (s, root) = with_root().await;
    let r = root.access_token.as_str();
    let ada = s.register("ada").await;
    let bob = s.register("bob").await;
    let room = s.group(&ada.access_token, "pair", &[bob.user.id.0]).await;
    let said = s.say(&ada.access_token, room, "c-1", "before I go").await;
    let mut live = s.ws_live(&ada.access_token).await;

    let out = s
        .ok(
            Method::POST,
            &admin_user(ada.user.id.0, "/deactivate"),
            None,
            r,
            200,
        )
        .await;
    assert_eq!(out["user"]["deactivated"], true);
    assert_eq!(out["live_sessions"], 0);
    assert_eq!(expect_close(&mut live).await, close::DEACTIVATED);

    // The right password is told why; a wrong one learns nothing new.
    expect_error(s.login("ada", PASSWORD).await, 403, "account_deactivated").await;
    expect_error(
        s.login("ada", "not the password").await,
        401,
        "invalid_credentials",
    )
    .await;
    // The old tokens are dead.
    expect_error(
        s.get("/api/v1/users/me", Some(&ada.access_token)).await,
        401,
        "token_revoked",
    )
    .await;
    expect_error(
        s.post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": ada.refresh_token}),
            None,
        )
        .await,
        401,
        "token_revoked",
    )
    .await;
    // Their messages stay, and others see who wrote them is deactivated.
    let b = bob.access_token.as_str();
    let history = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{room}/messages"),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(history["items"][0]["id"], said["id"]);
    assert_eq!(history["items"][0]["text"], "before I go");
    let profile = s
        .ok(
            Method::GET,
            &format!("/api/v1/users/{}", ada.user.id.0),
            None,
            b,
            200,
        )
        .await;
    assert_eq!(profile["deactivated"], true);
    // Deactivating again changes nothing.
    s.ok(
        Method::POST,
        &admin_user(ada.user.id.0, "/deactivate"),
        None,
        r,
        200,
    )
    .await;

    let back = s
        .ok(
            Method::POST,
            &admin_user(ada.user.id.0, "/reactivate"),
            None,
            r,
            200,
        )
        .await;
    assert_eq!(back["user"]["deactivated"], false);
    let again: TokenResponse = s.login("ada", PASSWORD).await.json().await.unwrap();
    assert!(!again.user.deactivated);
    s.ws_live(&again.access_token).await;
    // The sessions ended by the deactivation stay ended.
    expect_error(
        s.get("/api/v1/users/me", Some(&ada.access_token)).await,
        401,
        "token_revoked",
    )
    .await;
}

#[tokio::test]
async fn the_last_admin_is_never_removed_or_deactivated() {
    let (s, root) = with_root().await;
    let r = root.access_token.as_str();
    let root_id = root.user.id.0;
    let body = expect_error(
        s.call(Method::DELETE, &admin_user(root_id, "/admin"), None, r)
            .await,
        409,
        "last_admin",
    )
    .await;
    assert!(body.error.message.contains("admin"), "{body:?}");
    expect_error(
        s.call(Method::POST, &admin_user(root_id, "/deactivate"), None, r)
            .await,
        409,
        "last_admin",
    )
    .await;

    // A second admin has the powers at once (the flag is read per request, not from the token).
    let ada = s.register("ada").await;
    let a = ada.access_token.as_str();
    expect_error(
        s.call(Method::GET, "/api/v1/admin/users", None, a).await,
        403,
        "forbidden",
    )
    .await;
    let granted = s
        .ok(
            Method::PUT,
            &admin_user(ada.user.id.0, "/admin"),
            None,
            r,
            200,
        )
        .await;
    assert_eq!(granted["user"]["is_admin"], true);
    s.ok(Method::GET, "/api/v1/admin/users", None, a, 200).await;
    // Now root may go: ada removes root's flag, and ada is the last one.
    let revoked = s
        .ok(Method::DELETE, &admin_user(root_id, "/admin"), None, a, 200)
        .await;
    assert_eq!(revoked["user"]["is_admin"], false);
    expect_error(
        s.call(Method::GET, "/api/v1/admin/users", None, r).await,
        403,
        "forbidden",
    )
    .await;
    expect_error(
        s.call(
            Method::DELETE,
            &admin_user(ada.user.id.0, "/admin"),
            None,
            a,
        )
        .await,
        409,
        "last_admin",
    )
    .await;
    // A deactivated admin does not count: with root an admin again but deactivated, ada is
    // still the last active one.
    s.ok(Method::PUT, &admin_user(root_id, "/admin"), None, a, 200)
        .await;
    s.ok(
        Method::POST,
        &admin_user(root_id, "/deactivate"),
        None,
        a,
        200,
    )
    .await;
    expect_error(
        s.call(
            Method::POST,
            &admin_user(ada.user.id.0, "/deactivate"),
            None,
            a,
        )
        .await,
        409,
        "last_admin",
    )
    .await;
    expect_error(
        s.call(Method::PUT, &admin_user(999_999, "/admin"), None, a)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_admin_sets_or_mails_a_new_password_and_every_session_ends() {
    let (s, root) = with_root().await;
    let r = root.access_token.as_str();
    let ada = s.register("ada").await;
    let id = ada.user.id.0;
    let mut live = s.ws_live(&ada.access_token).await;

    expect_error(
        s.call(
            Method::POST,
            &admin_user(id, "/password"),
            Some(json!({"new_password": "short"})),
            r,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    let done = s
        .ok(
            Method::POST,
            &admin_user(id, "/password"),
            Some(json!({"new_password": "chosen by the admin"})),
            r,
            200,
        )
        .await;
    assert_eq!(done, json!({"signed_out": 1, "mailed": false}));
    assert_eq!(expect_close(&mut live).await, close::SIGNED_OUT);
    expect_error(s.login("ada", PASSWORD).await, 401, "invalid_credentials").await;
    let ada: TokenResponse = s
        .login("ada", "chosen by the admin")
        .await
        .json()
        .await
        .unwrap();

    // Without a password: a reset mail, which takes a verified address.
    expect_error(
        s.call(
            Method::POST,
            &admin_user(id, "/password"),
            Some(json!({})),
            r,
        )
        .await,
        409,
        "conflict",
    )
    .await;
    verified_email(&s, &ada.access_token, "ada@example.org").await;
    let done = s
        .ok(
            Method::POST,
            &admin_user(id, "/password"),
            Some(json!({})),
            r,
            200,
        )
        .await;
    assert_eq!(done, json!({"signed_out": 1, "mailed": true}));
    let mail = nth_mail_to(s.data_dir(), "ada@example.org", 2).await;
    let confirmed = s
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token_in(&mail), "new_password": "picked by ada"}),
            None,
        )
        .await;
    assert_eq!(confirmed.status(), 204);
    s.login("ada", "picked by ada")
        .await
        .error_for_status()
        .unwrap();
}
