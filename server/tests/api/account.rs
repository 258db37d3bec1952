//! Issue 16's account flows over real HTTP and WebSocket: an email address verified by the code
//! the dev mailer wrote, changing the password, resetting it with the mailed token, and the
//! session list with its sign-outs (sockets closed with `SIGNED_OUT`).

use crate::support::*;
use jeco_shared::ws::close;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn login_ok(s: &TestServer, username: &str, password: &str) -> Value {
    let r = s.login(username, password).await;
    assert_eq!(r.status(), 200, "login {username}");
    r.json().await.unwrap()
}

/// Signs in with a `User-Agent`, as a device would.
async fn login_as(s: &TestServer, username: &str, agent: &str) -> Value {
    let r = s
        .http()
        .post(s.url("/api/v1/auth/login"))
        .header("user-agent", agent)
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_email_address_is_verified_by_the_code_mailed_to_it() {
    let s = TestServer::start().await;
    let alice = s.register("mailalice").await.access_token;
    let status = s
        .ok(Method::GET, "/api/v1/users/me/email", None, &alice, 200)
        .await;
    assert_eq!(status, json!({"email": null, "pending": null}));

    // Bad addresses are field errors.
    for bad in ["", "not-an-address", "a b@example.org", "ada@localhost"] {
        let r = s
            .call(
                Method::PUT,
                "/api/v1/users/me/email",
                Some(json!({"email": bad})),
                &alice,
            )
            .await;
        let e = expect_error(r, 400, "validation_failed").await;
        assert!(e.error.fields.unwrap().contains_key("email"), "{bad}");
    }
    let long = format!("{}@example.org", "a".repeat(250));
    let r = s
        .call(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": long})),
            &alice,
        )
        .await;
    expect_error(r, 400, "validation_failed").await;

    let status = s
        .ok(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": " Alice@Example.org "})),
            &alice,
            200,
        )
        .await;
    assert_eq!(
        status,
        json!({"email": null, "pending": "alice@example.org"})
    );
    let mail = nth_mail_to(s.data_dir(), "alice@example.org", 1).await;
    assert!(
        mail.contains("Subject: Your Jeco Chat verification code"),
        "{mail}"
    );
    let code = code_in(&mail);

    // Not six digits; six wrong digits; then the right ones.
    let verify = |code: String| {
        let s = &s;
        let alice = &alice;
        async move {
            s.call(
                Method::POST,
                "/api/v1/users/me/email/verify",
                Some(json!({"code": code})),
                alice,
            )
            .await
        }
    };
    expect_error(verify("12ab".into()).await, 400, "validation_failed").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    expect_error(verify(wrong.into()).await, 400, "code_invalid").await;
    let r = verify(code.clone()).await;
    assert_eq!(r.status(), 200);
    let status: Value = r.json().await.unwrap();
    assert_eq!(
        status,
        json!({"email": "alice@example.org", "pending": null})
    );
    // Once only.
    expect_error(verify(code).await, 410, "code_used").await;

    // The address is not part of the public profile.
    let me = s
        .ok(Method::GET, "/api/v1/users/me", None, &alice, 200)
        .await;
    assert!(me.get("email").is_none(), "{me}");

    // Another account proving the same mailbox learns it is taken — only with the right code.
    let bob = s.register("mailbob").await.access_token;
    s.ok(
        Method::PUT,
        "/api/v1/users/me/email",
        Some(json!({"email": "alice@example.org"})),
        &bob,
        200,
    )
    .await;
    let mail = nth_mail_to(s.data_dir(), "alice@example.org", 2).await;
    let r = s
        .call(
            Method::POST,
            "/api/v1/users/me/email/verify",
            Some(json!({"code": code_in(&mail)})),
            &bob,
        )
        .await;
    expect_error(r, 409, "conflict").await;

    // Removing forgets it.
    s.ok(Method::DELETE, "/api/v1/users/me/email", None, &alice, 204)
        .await;
    let status = s
        .ok(Method::GET, "/api/v1/users/me/email", None, &alice, 200)
        .await;
    assert_eq!(status, json!({"email": null, "pending": null}));
}

#[tokio::test]
async fn email_codes_expire_and_die_after_too_many_wrong_tries() {
    let (s, clock) = TestServer::start_with_clock(|c| c.email_code_ttl_secs = 60).await;
    let t = s.register("codeuser").await.access_token;
    let set = || {
        s.ok(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": "code@example.org"})),
            &t,
            200,
        )
    };
    let verify = |code: String| {
        s.call(
            Method::POST,
            "/api/v1/users/me/email/verify",
            Some(json!({"code": code})),
            &t,
        )
    };
    set().await;
    let code = code_in(&nth_mail_to(s.data_dir(), "code@example.org", 1).await);
    clock.advance(Duration::from_secs(61));
    expect_error(verify(code).await, 410, "code_expired").await;

    set().await;
    let code = code_in(&nth_mail_to(s.data_dir(), "code@example.org", 2).await);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        expect_error(verify(wrong.into()).await, 400, "code_invalid").await;
    }
    // The right code no longer helps: a new one is needed.
    expect_error(verify(code).await, 400, "code_invalid").await;
    let status = s
        .ok(Method::GET, "/api/v1/users/me/email", None, &t, 200)
        .await;
    assert_eq!(status, json!({"email": null, "pending": null}));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_may_sign_out_the_others() {
    let s = TestServer::start().await;
    let here = s.register("changer").await.access_token;
    let other = access(&login_ok(&s, "changer", PASSWORD).await);
    let change = |body: Value| s.call(Method::POST, "/api/v1/auth/password", Some(body), &here);

    let r =
        change(json!({"current_password": "not it at all", "new_password": NEW_PASSWORD})).await;
    let e = expect_error(r, 400, "validation_failed").await;
    assert!(e.error.fields.unwrap().contains_key("current_password"));
    let r = change(json!({"current_password": PASSWORD, "new_password": "short"})).await;
    let e = expect_error(r, 400, "validation_failed").await;
    assert!(e.error.fields.unwrap().contains_key("new_password"));
    let r = change(json!({"current_password": PASSWORD, "new_password": "x".repeat(257)})).await;
    expect_error(r, 400, "validation_failed").await;

    // Without signing out the others: every session stays.
    let r = change(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})).await;
    assert_eq!(r.status(), 204);
    expect_error(
        s.login("changer", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    login_ok(&s, "changer", NEW_PASSWORD).await;
    s.ok(Method::GET, "/api/v1/users/me", None, &other, 200)
        .await;

    // Signing out the others closes their sockets at once; this session stays.
    let (mut ws, _) = s.ws_ready(&other).await;
    let r = change(json!({
        "current_password": NEW_PASSWORD,
        "new_password": "yet another passphrase",
        "sign_out_others": true
    }))
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(expect_close(&mut ws).await, close::SIGNED_OUT);
    expect_error(
        s.get("/api/v1/users/me", Some(&other)).await,
        401,
        "token_revoked",
    )
    .await;
    s.ok(Method::GET, "/api/v1/users/me", None, &here, 200)
        .await;
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    let s = TestServer::start_with(|c| c.login_lockout_attempts = 2).await;
    let t = s.register("guessed").await.access_token;
    let body = json!({"current_password": "wrong guess!", "new_password": NEW_PASSWORD});
    for _ in 0..2 {
        let r = s
            .call(
                Method::POST,
                "/api/v1/auth/password",
                Some(body.clone()),
                &t,
            )
            .await;
        expect_error(r, 400, "validation_failed").await;
    }
    let r = s
        .call(Method::POST, "/api/v1/auth/password", Some(body), &t)
        .await;
    assert!(r.headers().contains_key("retry-after"));
    expect_error(r, 429, "account_locked").await;
}

#[tokio::test]
async fn a_reset_answers_alike_for_everyone_and_its_token_works_once() {
    let s = TestServer::start().await;
    let reg = s.register("forgetful").await;
    verified_email(&s, &reg.access_token, "forgetful@example.org").await;
    s.register("addressless").await;
    let (mut ws, _) = s.ws_ready(&reg.access_token).await;

    let ask = |login: &str| s.post("/api/v1/auth/password-reset", json!({"login": login}), None);
    let mut answers = Vec::new();
    for login in [
        "forgetful",
        "nobody-by-this-name",
        "addressless",
        "nobody@example.org",
        "FORGETFUL@example.org",
    ] {
        let r = ask(login).await;
        let status = r.status().as_u16();
        let headers: Vec<String> = r
            .headers()
            .keys()
            .filter(|k| *k != "date")
            .map(|k| k.to_string())
            .collect();
        answers.push((status, headers, r.text().await.unwrap()));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 204);
    expect_error(ask("").await, 400, "validation_failed").await;
    expect_error(ask(&"x".repeat(300)).await, 400, "validation_failed").await;

    // By username and by address: two mails after the verification code, none for strangers.
    let first = token_in(&nth_mail_to(s.data_dir(), "forgetful@example.org", 2).await);
    let second = token_in(&nth_mail_to(s.data_dir(), "forgetful@example.org", 3).await);
    assert_ne!(first, second);
    assert_eq!(mails_to(s.data_dir(), "nobody@example.org").len(), 0);

    let confirm = |token: &str, password: &str| {
        s.post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": password}),
            None,
        )
    };
    // Tokens the server never sent.
    expect_error(confirm("short", NEW_PASSWORD).await, 400, "code_invalid").await;
    let forged = format!("{}{}", &first[..12], "A".repeat(43));
    expect_error(confirm(&forged, NEW_PASSWORD).await, 400, "code_invalid").await;
    let unknown = format!("{}{}", "B".repeat(12), &first[12..]);
    expect_error(confirm(&unknown, NEW_PASSWORD).await, 400, "code_invalid").await;
    // A bad new password does not use the token up.
    expect_error(confirm(&first, "short").await, 400, "validation_failed").await;

    let r = confirm(&first, NEW_PASSWORD).await;
    assert_eq!(r.status(), 204);
    // Every session ends: the live socket closes at once, both tokens stop working.
    assert_eq!(expect_close(&mut ws).await, close::SIGNED_OUT);
    expect_error(
        s.get("/api/v1/users/me", Some(&reg.access_token)).await,
        401,
        "token_revoked",
    )
    .await;
    let r = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": reg.refresh_token}),
            None,
        )
        .await;
    expect_error(r, 401, "token_revoked").await;
    expect_error(
        s.login("forgetful", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    login_ok(&s, "forgetful", NEW_PASSWORD).await;

    // Once only, and the other outstanding token went with it.
    expect_error(confirm(&first, "third passphrase").await, 410, "code_used").await;
    expect_error(confirm(&second, "third passphrase").await, 410, "code_used").await;
    login_ok(&s, "forgetful", NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let (s, clock) = TestServer::start_with_clock(|c| c.password_reset_ttl_secs = 60).await;
    let t = s.register("slowreader").await.access_token;
    verified_email(&s, &t, "slow@example.org").await;
    let r = s
        .post(
            "/api/v1/auth/password-reset",
            json!({"login": "slowreader"}),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let token = token_in(&nth_mail_to(s.data_dir(), "slow@example.org", 2).await);
    clock.advance(Duration::from_secs(61));
    let r = s
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
            None,
        )
        .await;
    expect_error(r, 410, "code_expired").await;
    login_ok(&s, "slowreader", PASSWORD).await;
    s.ok(Method::GET, "/api/v1/users/me", None, &t, 200).await;
}

#[tokio::test]
async fn reset_mail_is_capped_per_account_silently_and_requests_per_address() {
    let s = TestServer::start().await;
    let t = s.register("popular").await.access_token;
    verified_email(&s, &t, "popular@example.org").await;
    // The account's budget is 5 mails at once; the code took one.
    for _ in 0..7 {
        let r = s
            .post(
                "/api/v1/auth/password-reset",
                json!({"login": "popular"}),
                None,
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    nth_mail_to(s.data_dir(), "popular@example.org", 5).await;
    // A window to show that no sixth mail comes: an absence has nothing to wait on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mails_to(s.data_dir(), "popular@example.org").len(), 5);
    // The address's budget is 10 at once, whatever the names.
    for i in 0..3 {
        let r = s
            .post(
                "/api/v1/auth/password-reset",
                json!({"login": format!("someone{i}")}),
                None,
            )
            .await;
        assert_eq!(r.status(), 204);
    }
    let r = s
        .post(
            "/api/v1/auth/password-reset",
            json!({"login": "anyone"}),
            None,
        )
        .await;
    expect_error(r, 429, "rate_limited").await;
}

#[tokio::test]
async fn sessions_are_listed_and_signed_out_one_by_one_or_all_others() {
    let s = TestServer::start().await;
    s.register("traveller").await;
    let laptop = access(&login_as(&s, "traveller", "jeco-desktop/1.0 (laptop)").await);
    let phone = access(&login_as(&s, "traveller", "jeco-cli/1.0 (phone)").await);
    let tablet = access(&login_as(&s, "traveller", "jeco-cli/1.0 (tablet)").await);

    let list = s
        .ok(Method::GET, "/api/v1/users/me/sessions", None, &laptop, 200)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{list}");
    let current: Vec<&Value> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["client"], "jeco-desktop/1.0 (laptop)");
    assert!(items.iter().all(|i| i["address"] == "127.0.0.1"), "{list}");
    assert!(
        items
            .iter()
            .all(|i| i["created_at"].is_string() && i["last_active_at"].is_string())
    );
    // Most recently active first.
    assert_eq!(items[0]["client"], "jeco-cli/1.0 (tablet)");
    let id_of = |client: &str| {
        items.iter().find(|i| i["client"] == client).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let phone_id = id_of("jeco-cli/1.0 (phone)");
    let laptop_id = id_of("jeco-desktop/1.0 (laptop)");

    // The session asking signs itself out with a logout, not here.
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/users/me/sessions/{laptop_id}"),
            None,
            &laptop,
        )
        .await;
    expect_error(r, 409, "conflict").await;

    // Someone else's session, or none, is not found.
    let stranger = s.register("stranger").await.access_token;
    let r = s
        .call(
            Method::DELETE,
            &format!("/api/v1/users/me/sessions/{phone_id}"),
            None,
            &stranger,
        )
        .await;
    expect_error(r, 404, "not_found").await;
    let r = s
        .call(
            Method::DELETE,
            "/api/v1/users/me/sessions/999999",
            None,
            &laptop,
        )
        .await;
    expect_error(r, 404, "not_found").await;

    // One: its socket closes with SIGNED_OUT and its token stops working.
    let (mut phone_ws, _) = s.ws_ready(&phone).await;
    let (mut tablet_ws, _) = s.ws_ready(&tablet).await;
    s.ok(
        Method::DELETE,
        &format!("/api/v1/users/me/sessions/{phone_id}"),
        None,
        &laptop,
        204,
    )
    .await;
    assert_eq!(expect_close(&mut phone_ws).await, close::SIGNED_OUT);
    expect_error(
        s.get("/api/v1/users/me", Some(&phone)).await,
        401,
        "token_revoked",
    )
    .await;
    let list = s
        .ok(Method::GET, "/api/v1/users/me/sessions", None, &laptop, 200)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    // All others.
    let ended = s
        .ok(
            Method::POST,
            "/api/v1/users/me/sessions/sign-out-others",
            None,
            &laptop,
            200,
        )
        .await;
    assert_eq!(ended, json!({"sessions": 2}));
    assert_eq!(expect_close(&mut tablet_ws).await, close::SIGNED_OUT);
    expect_error(
        s.get("/api/v1/users/me", Some(&tablet)).await,
        401,
        "token_revoked",
    )
    .await;
    let list = s
        .ok(Method::GET, "/api/v1/users/me/sessions", None, &laptop, 200)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["current"], true);
    // The stranger's session was not touched.
    s.ok(Method::GET, "/api/v1/users/me", None, &stranger, 200)
        .await;
}

#[tokio::test]
async fn an_smtp_server_that_cannot_be_reached_is_a_typed_answer() {
    // A port nobody listens on: the real SMTP transport fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = TestServer::start_with(|c| {
        c.smtp_url = Some(jeco_server::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
    })
    .await;
    let t = s.register("unmailed").await.access_token;
    let r = s
        .call(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": "unmailed@example.org"})),
            &t,
        )
        .await;
    expect_error(r, 503, "unavailable").await;
    // No dev mailer in between: nothing was written.
    assert!(!s.data_dir().join("mail").exists());
    // A reset request answers as ever; the failure stays in the server.
    let r = s
        .post(
            "/api/v1/auth/password-reset",
            json!({"login": "unmailed"}),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn codes_for_one_account_are_budgeted() {
    let s = TestServer::start().await;
    let t = s.register("eager").await.access_token;
    let set = |n: u32| {
        s.call(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": format!("eager{n}@example.org")})),
            &t,
        )
    };
    for n in 0..5 {
        assert_eq!(set(n).await.status(), 200);
    }
    let r = set(5).await;
    assert!(r.headers().contains_key("retry-after"));
    expect_error(r, 429, "rate_limited").await;
    assert!(mails_to(s.data_dir(), "eager5@example.org").is_empty());
    // Another account is not held back.
    let other = s.register("patient").await.access_token;
    s.ok(
        Method::PUT,
        "/api/v1/users/me/email",
        Some(json!({"email": "patient@example.org"})),
        &other,
        200,
    )
    .await;
}
