//! Issue 16 items 3, 4 and 6 over real HTTP and WebSocket: signing in with a mailed code (read
//! from the dev mailer's files), two-factor authentication with TOTP codes computed here from the
//! secret the server handed out, recovery codes, and the admin's reset and "require two-factor".
//!
//! TOTP codes are accepted for the current 30-second step and one step either side, each step
//! once; the tests use the previous, the current and the next step's code in that order, after
//! making sure no step boundary is about to pass (`fresh_step`).

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use totp_rs::{Algorithm, Builder, Secret};

/// The code an authenticator app shows for `secret` (base32) at `unix` seconds.
pub fn totp_at(secret: &str, unix: u64) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(unix)
        .to_string()
}

/// The app's codes for the previous, current and next step. Waits first when the current step
/// ends within 5 s, so all three stay acceptable while the test uses them.
async fn fresh_step(secret: &str) -> [String; 3] {
    let left = 30 - unix_now() % 30;
    if left < 5 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
    let now = unix_now();
    [
        totp_at(secret, now - 30),
        totp_at(secret, now),
        totp_at(secret, now + 30),
    ]
}

fn access(v: &Value) -> String {
    v["access_token"].as_str().expect("tokens").to_owned()
}

async fn login_json(s: &TestServer, username: &str, password: &str, status: u16) -> Value {
    let r = s.login(username, password).await;
    assert_eq!(r.status().as_u16(), status, "login {username}");
    r.json().await.unwrap()
}

async fn second_step(s: &TestServer, body: Value) -> reqwest::Response {
    s.post("/api/v1/auth/login/two-factor", body, None).await
}

/// Turns two-factor on for `token`'s account with the previous step's code; returns the secret,
/// the two codes still usable in this step, and the recovery codes.
async fn enable(s: &TestServer, token: &str) -> (String, [String; 2], Vec<String>) {
    let e = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor",
            None,
            token,
            200,
        )
        .await;
    let secret = e["secret"].as_str().unwrap().to_owned();
    let [prev, now, next] = fresh_step(&secret).await;
    let codes = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor/confirm",
            Some(json!({"code": prev})),
            token,
            200,
        )
        .await;
    let codes = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, [now, next], codes)
}

#[tokio::test]
async fn two_factor_enrolment_and_sign_in_with_codes_that_work_once() {
    let s = TestServer::start().await;
    let alice = access(&serde_json::to_value(s.register("tfalice").await).unwrap());
    let status = s
        .ok(
            Method::GET,
            "/api/v1/users/me/two-factor",
            None,
            &alice,
            200,
        )
        .await;
    assert_eq!(
        status,
        json!({"enabled": false, "recovery_codes_left": 0, "required": false})
    );

    // Enrolment: the secret as text and as an otpauth URI for a QR code.
    let e = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor",
            None,
            &alice,
            200,
        )
        .await;
    let secret = e["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{e}");
    let uri = e["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Jeco:tfalice?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=Jeco"), "{uri}");
    // Not on before a code confirms it: the password alone still signs in.
    let v = login_json(&s, "tfalice", PASSWORD, 200).await;
    assert_eq!(v["status"], "signed_in");

    let [prev, now, next] = fresh_step(&secret).await;
    let wrong = if prev == "000000" { "000001" } else { "000000" };
    let resp = s
        .call(
            Method::POST,
            "/api/v1/users/me/two-factor/confirm",
            Some(json!({"code": wrong})),
            &alice,
        )
        .await;
    expect_error(resp, 400, "code_invalid").await;
    let codes = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor/confirm",
            Some(json!({"code": prev})),
            &alice,
            200,
        )
        .await;
    let recovery: Vec<String> = serde_json::from_value(codes["codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    assert!(
        recovery
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
    );
    let status = s
        .ok(
            Method::GET,
            "/api/v1/users/me/two-factor",
            None,
            &alice,
            200,
        )
        .await;
    assert_eq!(
        status,
        json!({"enabled": true, "recovery_codes_left": 10, "required": false})
    );
    // Enrolling again while on is a conflict.
    let resp = s
        .call(Method::POST, "/api/v1/users/me/two-factor", None, &alice)
        .await;
    expect_error(resp, 409, "conflict").await;

    // The password alone no longer signs in: a challenge, no tokens.
    let v = login_json(&s, "tfalice", PASSWORD, 200).await;
    assert_eq!(v["status"], "two_factor_required", "{v}");
    assert!(v.get("access_token").is_none(), "{v}");
    assert!(v["expires_in"].as_u64().unwrap() > 0);
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    // The code that confirmed the enrolment was used: replaying it is refused.
    let resp = second_step(&s, json!({"challenge": challenge, "code": prev})).await;
    expect_error(resp, 410, "code_used").await;
    // Neither or both kinds of code: a field error.
    let resp = second_step(&s, json!({"challenge": challenge})).await;
    expect_error(resp, 400, "validation_failed").await;
    let resp = second_step(&s, json!({"challenge": "not a challenge", "code": now})).await;
    expect_error(resp, 400, "code_invalid").await;
    let resp = second_step(&s, json!({"challenge": challenge, "code": now})).await;
    assert_eq!(resp.status(), 200);
    let signed: Value = resp.json().await.unwrap();
    assert_eq!(signed["recovery_codes"], json!([]));
    assert_eq!(signed["recovery_codes_left"], 10);
    let token = access(&signed["tokens"]);
    let me = s
        .ok(Method::GET, "/api/v1/users/me", None, &token, 200)
        .await;
    assert_eq!(me["username"], "tfalice");
    // A challenge works once.
    let resp = second_step(&s, json!({"challenge": challenge, "code": next})).await;
    expect_error(resp, 410, "code_used").await;
    // The same TOTP code on a new challenge: used.
    let v = login_json(&s, "tfalice", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    let resp = second_step(&s, json!({"challenge": challenge, "code": now})).await;
    expect_error(resp, 410, "code_used").await;

    // A recovery code signs in once, typed in any case and without the dash.
    let loose = recovery[3].to_uppercase().replace('-', "");
    let resp = second_step(&s, json!({"challenge": challenge, "recovery_code": loose})).await;
    assert_eq!(resp.status(), 200);
    let signed: Value = resp.json().await.unwrap();
    assert_eq!(signed["recovery_codes_left"], 9);
    let v = login_json(&s, "tfalice", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    let resp = second_step(
        &s,
        json!({"challenge": challenge, "recovery_code": recovery[3]}),
    )
    .await;
    expect_error(resp, 410, "code_used").await;
    let resp = second_step(
        &s,
        json!({"challenge": challenge, "recovery_code": "aaaaa-bbbbb"}),
    )
    .await;
    expect_error(resp, 400, "code_invalid").await;
    let resp = second_step(&s, json!({"challenge": challenge, "code": next})).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn recovery_codes_regenerate_and_two_factor_turns_off() {
    let s = TestServer::start().await;
    let bob = s.register("tfbob").await.access_token;
    let (secret, [now, _], old) = enable(&s, &bob).await;
    let fresh = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor/recovery-codes",
            Some(json!({"code": now})),
            &bob,
            200,
        )
        .await;
    let fresh: Vec<String> = serde_json::from_value(fresh["codes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !old.contains(c)));
    // The old codes stopped working; the new ones work.
    let v = login_json(&s, "tfbob", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    let resp = second_step(&s, json!({"challenge": challenge, "recovery_code": old[0]})).await;
    expect_error(resp, 400, "code_invalid").await;
    let resp = second_step(
        &s,
        json!({"challenge": challenge, "recovery_code": fresh[0]}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Off: a wrong password is a field error; the right one turns it off.
    let resp = s
        .call(
            Method::DELETE,
            "/api/v1/users/me/two-factor",
            Some(json!({"password": "not the password"})),
            &bob,
        )
        .await;
    let e = expect_error(resp, 400, "validation_failed").await;
    assert!(e.error.fields.unwrap().contains_key("password"));
    s.ok(
        Method::DELETE,
        "/api/v1/users/me/two-factor",
        Some(json!({"password": PASSWORD})),
        &bob,
        204,
    )
    .await;
    let v = login_json(&s, "tfbob", PASSWORD, 200).await;
    assert_eq!(v["status"], "signed_in");
    let resp = s
        .call(
            Method::DELETE,
            "/api/v1/users/me/two-factor",
            Some(json!({"code": totp_at(&secret, unix_now())})),
            &bob,
        )
        .await;
    expect_error(resp, 409, "conflict").await;
}

#[tokio::test]
async fn a_challenge_expires_and_dies_after_too_many_wrong_codes() {
    let (s, clock) = TestServer::start_with_clock(|c| {
        c.two_factor_challenge_ttl_secs = 1;
        c.login_lockout_attempts = 100;
    })
    .await;
    let carol = s.register("tfcarol").await.access_token;
    let (secret, [now, _], _) = enable(&s, &carol).await;
    let v = login_json(&s, "tfcarol", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    // Just past the challenge's second: the app's codes are still in their step.
    clock.advance(Duration::from_millis(1100));
    let resp = second_step(&s, json!({"challenge": challenge, "code": now})).await;
    expect_error(resp, 410, "code_expired").await;

    let v = login_json(&s, "tfcarol", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    let right = totp_at(&secret, unix_now());
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let resp = second_step(&s, json!({"challenge": challenge, "code": wrong})).await;
        expect_error(resp, 400, "code_invalid").await;
    }
    let resp = second_step(&s, json!({"challenge": challenge, "code": right})).await;
    let e = expect_error(resp, 400, "code_invalid").await;
    assert!(e.error.message.contains("too many"), "{}", e.error.message);
}

#[tokio::test]
async fn wrong_two_factor_codes_share_the_password_throttle() {
    let s = TestServer::start().await;
    let dave = s.register("tfdave").await.access_token;
    let (secret, _, _) = enable(&s, &dave).await;
    // Two wrong passwords, then three wrong codes: five failures for the account from here. The
    // right password in between does not forgive them: only a complete sign-in does.
    for _ in 0..2 {
        assert_eq!(s.login("tfdave", "wrong password!").await.status(), 401);
    }
    let v = login_json(&s, "tfdave", PASSWORD, 200).await;
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    let right = totp_at(&secret, unix_now());
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let resp = second_step(&s, json!({"challenge": challenge, "code": wrong})).await;
        expect_error(resp, 400, "code_invalid").await;
    }
    let resp = second_step(&s, json!({"challenge": challenge, "code": right})).await;
    expect_error(resp, 429, "account_locked").await;
    let resp = s.login("tfdave", PASSWORD).await;
    expect_error(resp, 429, "account_locked").await;
}

async fn request_code(s: &TestServer, login: &str) {
    let r = s
        .post("/api/v1/auth/login-code", json!({"login": login}), None)
        .await;
    assert_eq!(r.status(), 204, "login-code for {login}");
}

async fn confirm_code(s: &TestServer, login: &str, code: &str) -> reqwest::Response {
    s.post(
        "/api/v1/auth/login-code/confirm",
        json!({"login": login, "code": code}),
        None,
    )
    .await
}

#[tokio::test]
async fn a_mailed_code_signs_in_once() {
    let s = TestServer::start().await;
    let erin = s.register("codeerin").await.access_token;
    verified_email(&s, &erin, "erin@example.org").await;
    let before = mails_to(s.data_dir(), "erin@example.org").len();

    request_code(&s, "CodeErin").await;
    let mail = nth_mail_to(s.data_dir(), "erin@example.org", before + 1).await;
    assert!(
        mail.contains("Subject: Your Jeco Chat sign-in code"),
        "{mail}"
    );
    let code = code_in(&mail);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    expect_error(
        confirm_code(&s, "codeerin", wrong).await,
        400,
        "code_invalid",
    )
    .await;
    expect_error(
        confirm_code(&s, "codeerin", "12ab").await,
        400,
        "validation_failed",
    )
    .await;
    let r = confirm_code(&s, "codeerin", &code).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "signed_in");
    assert_eq!(v["user"]["username"], "codeerin");
    let token = access(&v);
    s.ok(Method::GET, "/api/v1/users/me", None, &token, 200)
        .await;
    expect_error(confirm_code(&s, "codeerin", &code).await, 410, "code_used").await;

    // By address; a new code replaces the old one.
    request_code(&s, "Erin@Example.org").await;
    let first = code_in(&nth_mail_to(s.data_dir(), "erin@example.org", before + 2).await);
    request_code(&s, "erin@example.org").await;
    let second = code_in(&nth_mail_to(s.data_dir(), "erin@example.org", before + 3).await);
    if first != second {
        expect_error(
            confirm_code(&s, "erin@example.org", &first).await,
            400,
            "code_invalid",
        )
        .await;
    }
    let r = confirm_code(&s, "erin@example.org", &second).await;
    assert_eq!(r.status(), 200);

    // Unknown accounts and accounts without an address: the same answers, and no mail.
    let all_mail = std::fs::read_dir(s.data_dir().join("mail"))
        .unwrap()
        .count();
    s.register("codenomail").await;
    request_code(&s, "codenomail").await;
    request_code(&s, "nobody-here").await;
    request_code(&s, "nobody@example.org").await;
    // A window to show that no mail comes: an absence has nothing to wait on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        std::fs::read_dir(s.data_dir().join("mail"))
            .unwrap()
            .count(),
        all_mail
    );
    let unknown = expect_error(
        confirm_code(&s, "nobody-here", wrong).await,
        400,
        "code_invalid",
    )
    .await;
    let known = expect_error(
        confirm_code(&s, "codenomail", wrong).await,
        400,
        "code_invalid",
    )
    .await;
    assert_eq!(unknown.error.message, known.error.message);
    let erin_wrong = expect_error(
        confirm_code(&s, "codeerin", wrong).await,
        400,
        "code_invalid",
    )
    .await;
    assert_eq!(unknown.error.message, erin_wrong.error.message);
}

#[tokio::test]
async fn mailed_codes_expire_and_die_after_too_many_wrong_tries() {
    let (s, clock) = TestServer::start_with_clock(|c| {
        c.login_code_ttl_secs = 60;
        c.login_lockout_attempts = 100;
    })
    .await;
    let fay = s.register("codefay").await.access_token;
    verified_email(&s, &fay, "fay@example.org").await;
    let n = mails_to(s.data_dir(), "fay@example.org").len();
    request_code(&s, "codefay").await;
    let code = code_in(&nth_mail_to(s.data_dir(), "fay@example.org", n + 1).await);
    clock.advance(Duration::from_secs(61));
    expect_error(
        confirm_code(&s, "codefay", &code).await,
        410,
        "code_expired",
    )
    .await;

    request_code(&s, "codefay").await;
    let code = code_in(&nth_mail_to(s.data_dir(), "fay@example.org", n + 2).await);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        expect_error(
            confirm_code(&s, "codefay", wrong).await,
            400,
            "code_invalid",
        )
        .await;
    }
    let e = expect_error(
        confirm_code(&s, "codefay", &code).await,
        400,
        "code_invalid",
    )
    .await;
    assert!(e.error.message.contains("too many"), "{}", e.error.message);
}

#[tokio::test]
async fn mailed_codes_share_the_password_throttle_and_lead_to_two_factor() {
    let s = TestServer::start().await;
    let gus = s.register("codegus").await.access_token;
    verified_email(&s, &gus, "gus@example.org").await;
    let (_, [now, _], _) = enable(&s, &gus).await;
    let n = mails_to(s.data_dir(), "gus@example.org").len();

    // The right code is a first factor: two-factor still asks for its code.
    request_code(&s, "codegus").await;
    let code = code_in(&nth_mail_to(s.data_dir(), "gus@example.org", n + 1).await);
    let r = confirm_code(&s, "codegus", &code).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "two_factor_required", "{v}");
    let resp = second_step(&s, json!({"challenge": v["challenge"], "code": now})).await;
    assert_eq!(resp.status(), 200);

    // Three wrong passwords and two wrong codes lock this address out of the account.
    for _ in 0..3 {
        assert_eq!(s.login("codegus", "wrong password!").await.status(), 401);
    }
    for _ in 0..2 {
        expect_error(
            confirm_code(&s, "codegus", "999999").await,
            400,
            "code_invalid",
        )
        .await;
    }
    expect_error(s.login("codegus", PASSWORD).await, 429, "account_locked").await;
    expect_error(
        confirm_code(&s, "codegus", "999999").await,
        429,
        "account_locked",
    )
    .await;
}

#[tokio::test]
async fn an_admin_requires_two_factor_and_resets_it() {
    /// What the admin's account view says about two-factor for `id`.
    async fn admin_two_factor(s: &TestServer, root: &str, id: i64) -> Value {
        let row = s
            .ok(
                Method::GET,
                &format!("/api/v1/admin/users/{id}"),
                None,
                root,
                200,
            )
            .await;
        row["two_factor"].clone()
    }

    let s = TestServer::start_with(|c| {
        c.admin_username = Some("tfroot".into());
        c.admin_password = Some(jeco_server::Secret::new(PASSWORD));
    })
    .await;
    let root = access(&login_json(&s, "tfroot", PASSWORD, 200).await);
    let henry = s.register("tfhenry").await;
    let henry_id = henry.user.id.0;
    let (mut henry_ws, _) = s.ws_ready(&henry.access_token).await;

    // Requiring it without using it oneself would sign the admin out: refused.
    let resp = s
        .call(
            Method::PUT,
            "/api/v1/admin/settings",
            Some(json!({"require_two_factor": true})),
            &root,
        )
        .await;
    expect_error(resp, 409, "conflict").await;
    enable(&s, &root).await;
    let done = s
        .ok(
            Method::PUT,
            "/api/v1/admin/settings",
            Some(json!({"require_two_factor": true})),
            &root,
            200,
        )
        .await;
    assert!(done["signed_out"].as_u64().unwrap() >= 1, "{done}");
    assert_eq!(
        s.ok(Method::GET, "/api/v1/admin/settings", None, &root, 200)
            .await,
        json!({"require_two_factor": true})
    );
    // Henry's session ended at once; the admin's (with two-factor) did not.
    assert_eq!(expect_close(&mut henry_ws).await, 4008);
    let resp = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": henry.refresh_token}),
            None,
        )
        .await;
    expect_error(resp, 401, "token_revoked").await;
    s.ok(Method::GET, "/api/v1/users/me", None, &root, 200)
        .await;

    // Henry's next sign-in enrols him: the secret comes with the challenge, tokens after a code.
    let v = login_json(&s, "tfhenry", PASSWORD, 200).await;
    assert_eq!(v["status"], "two_factor_setup_required", "{v}");
    assert!(v.get("access_token").is_none());
    let secret = v["enrollment"]["secret"].as_str().unwrap().to_owned();
    assert!(
        v["enrollment"]["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Jeco:tfhenry?")
    );
    let [prev, _, _] = fresh_step(&secret).await;
    let resp = second_step(
        &s,
        json!({"challenge": v["challenge"], "recovery_code": "aaaaa-bbbbb"}),
    )
    .await;
    expect_error(resp, 400, "validation_failed").await;
    let resp = second_step(&s, json!({"challenge": v["challenge"], "code": prev})).await;
    assert_eq!(resp.status(), 200);
    let signed: Value = resp.json().await.unwrap();
    assert_eq!(signed["recovery_codes"].as_array().unwrap().len(), 10);
    let henry_token = access(&signed["tokens"]);
    let status = s
        .ok(
            Method::GET,
            "/api/v1/users/me/two-factor",
            None,
            &henry_token,
            200,
        )
        .await;
    assert_eq!(
        status,
        json!({"enabled": true, "recovery_codes_left": 10, "required": true})
    );
    // Required: it cannot be turned off.
    let resp = s
        .call(
            Method::DELETE,
            "/api/v1/users/me/two-factor",
            Some(json!({"password": PASSWORD})),
            &henry_token,
        )
        .await;
    expect_error(resp, 409, "conflict").await;
    // A new account enrols at registration.
    let r = s
        .post(
            "/api/v1/auth/register",
            json!({"username": "tfnew", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "two_factor_setup_required", "{v}");

    // The admin list says who has two-factor on.
    assert_eq!(admin_two_factor(&s, &root, henry_id).await, true);

    // The admin resets Henry's two-factor (a lost phone): his sessions end, he enrols again.
    let (mut henry_ws, _) = s.ws_ready(&henry_token).await;
    let reset = s
        .ok(
            Method::DELETE,
            &format!("/api/v1/admin/users/{henry_id}/two-factor"),
            None,
            &root,
            200,
        )
        .await;
    assert_eq!(reset, json!({"signed_out": 1}));
    assert_eq!(expect_close(&mut henry_ws).await, 4008);
    assert_eq!(admin_two_factor(&s, &root, henry_id).await, false);
    let v = login_json(&s, "tfhenry", PASSWORD, 200).await;
    assert_eq!(v["status"], "two_factor_setup_required");
    let resp = s
        .call(
            Method::DELETE,
            "/api/v1/admin/users/999999/two-factor",
            None,
            &root,
        )
        .await;
    expect_error(resp, 404, "not_found").await;

    // Off again: a password is enough for Henry; the admin still uses two-factor.
    s.ok(
        Method::PUT,
        "/api/v1/admin/settings",
        Some(json!({"require_two_factor": false})),
        &root,
        200,
    )
    .await;
    let v = login_json(&s, "tfhenry", PASSWORD, 200).await;
    assert_eq!(v["status"], "signed_in");
    let v = login_json(&s, "tfroot", PASSWORD, 200).await;
    assert_eq!(v["status"], "two_factor_required");
}
