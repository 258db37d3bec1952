//! What the `jeco-server` binary writes to its log: a whole session against the real binary with
//! its stderr in a file, at the default level and at `debug`, must leave no token, password,
//! signature or search word in it — passwords and reset tokens set by an admin, sign-in codes,
//! two-factor secrets, codes, recovery codes and sign-in challenges included. The same holds for
//! `--log-format json`, whose lines must each be one JSON object and carry the request's id.

use crate::support::*;
use futures_util::SinkExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// What a scenario left behind.
struct Scenario {
    log: String,
    /// Every secret the scenario used.
    secrets: Vec<String>,
    /// The `x-request-id` of a request that failed (404), and the one its error body named.
    request_id: String,
    body_request_id: String,
}

/// Runs the scenario against a fresh `jeco-server serve` with `RUST_LOG` set to `level` (unset for
/// the default) and `--log-format` set to `format`.
async fn scenario_log(level: Option<&str>, format: &str) -> Scenario {
    let tmp = tempfile::tempdir().unwrap();
    let log_path = tmp.path().join("stderr.log");
    let mut cmd = server_binary();
    if let Some(level) = level {
        cmd.env("RUST_LOG", level);
    }
    let root_password = "Pw-RootMarmot-2209";
    // A bootstrap admin for the admin steps; and the scenario signs in more often than the
    // default per-address budget of `/auth/*` allows.
    cmd.env("JECO_ADMIN_USERNAME", "logroot")
        .env("JECO_ADMIN_PASSWORD", root_password)
        .env("JECO_AUTH_RATE_PER_MINUTE", "1000")
        .env("JECO_AUTH_RATE_BURST", "1000");
    // Every run serves metrics too (set from the environment), scraped at the end.
    cmd.env("JECO_METRICS_ADDR", "127.0.0.1:0");
    let (child, s) = spawn_binary(
        cmd,
        &["--log-format", format],
        &tmp.path().join("data"),
        &log_path,
    )
    .await;

    let password = "Pw-ZebraQuasar-7731";
    let wrong_in_username = "Typed-Password-In-Username-4412";
    let search_word = "marmaladeoctopus";
    let mut secrets = vec![
        password.to_owned(),
        wrong_in_username.to_owned(),
        search_word.to_owned(),
    ];

    let register = |name: &'static str| {
        let s = &s;
        async move {
            let r = s
                .post(
                    "/api/v1/auth/register",
                    json!({"username": name, "password": password}),
                    None,
                )
                .await;
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    let alice = register("logalice").await;
    let bob = register("logbob").await;
    let a = alice["access_token"].as_str().unwrap().to_owned();
    secrets.push(a.clone());
    secrets.push(alice["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(bob["access_token"].as_str().unwrap().to_owned());
    secrets.push(bob["refresh_token"].as_str().unwrap().to_owned());

    // A password typed into the username field, and a wrong password for a real user.
    assert_eq!(s.login(wrong_in_username, "x").await.status(), 401);
    assert_eq!(
        s.login("logalice", "Wrong-Pw-Falcon-99").await.status(),
        401
    );
    secrets.push("Wrong-Pw-Falcon-99".to_owned());
    assert_eq!(s.login("logalice", password).await.status(), 200);

    // Search words travel in the query string.
    let g = s
        .group(&a, "logs", &[bob["user"]["id"].as_i64().unwrap()])
        .await;
    s.say(&a, g, "c1", &format!("the {search_word} arrives"))
        .await;
    let r = s
        .get(&format!("/api/v1/search?q={search_word}"), Some(&a))
        .await;
    assert_eq!(r.status(), 200);

    // A signed download link works without a token: its signature is a secret.
    let u = s
        .ok(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({"name": "n.txt", "size": 5})),
            &a,
            201,
        )
        .await;
    let r = s
        .http()
        .patch(s.url(&format!("/api/v1/uploads/{}", u["id"].as_str().unwrap())))
        .bearer_auth(&a)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let att: Value = r.json().await.unwrap();
    let att_id = &att["attachment"]["id"];
    let signed = s
        .ok(
            Method::POST,
            &format!("/api/v1/attachments/{att_id}/url"),
            None,
            &a,
            200,
        )
        .await;
    let url = signed["url"].as_str().unwrap();
    let sig = url.split("sig=").nth(1).unwrap().to_owned();
    secrets.push(sig);
    assert_eq!(s.get(url, None).await.status(), 200);

    // Refresh: the old and the new refresh token.
    let r = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": alice["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    let refreshed: Value = r.json().await.unwrap();
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());

    // An email code, a password-reset token and the new password (issue 16), through the dev
    // mailer's files in the server's data dir.
    let data = tmp.path().join("data");
    let status = s
        .ok(
            Method::PUT,
            "/api/v1/users/me/email",
            Some(json!({"email": "logalice@example.org"})),
            &a,
            200,
        )
        .await;
    assert_eq!(status["pending"], "logalice@example.org");
    let code = code_in(&nth_mail_to(&data, "logalice@example.org", 1).await);
    secrets.push(code.clone());
    s.ok(
        Method::POST,
        "/api/v1/users/me/email/verify",
        Some(json!({"code": code})),
        &a,
        200,
    )
    .await;
    let r = s
        .post(
            "/api/v1/auth/password-reset",
            json!({"login": "logalice"}),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let reset = token_in(&nth_mail_to(&data, "logalice@example.org", 2).await);
    secrets.push(reset.clone());
    let new_password = "Pw-NewOcelot-5581";
    secrets.push(new_password.to_owned());
    let r = s
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": reset, "new_password": new_password}),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = s
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": reset, "new_password": new_password}),
            None,
        )
        .await;
    assert_eq!(r.status(), 410);
    let a = {
        let r = s.login("logalice", new_password).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let t = v["access_token"].as_str().unwrap().to_owned();
        secrets.push(t.clone());
        secrets.push(v["refresh_token"].as_str().unwrap().to_owned());
        t
    };

    // A token a client put in the URL, and one in the WebSocket subprotocol.
    let r = s
        .get(&format!("/api/v1/users/me?access_token={a}"), None)
        .await;
    assert_eq!(r.status(), 401);
    let r = s.get(&format!("/api/v1/nowhere/{a}"), None).await;
    assert_eq!(r.status(), 404);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let body_request_id = body["error"]["request_id"].as_str().unwrap().to_owned();
    let (mut ws, _) = s.ws_ready(&a).await;
    ws.send(Message::Close(None)).await.unwrap();

    // An admin sets bob's password, then mails alice a reset token (issue 16 item 6).
    secrets.push(root_password.to_owned());
    let root: Value = s
        .login("logroot", root_password)
        .await
        .json()
        .await
        .unwrap();
    let r = root["access_token"].as_str().unwrap().to_owned();
    secrets.push(r.clone());
    secrets.push(root["refresh_token"].as_str().unwrap().to_owned());
    let by_admin = "Pw-AdminChose-3141";
    secrets.push(by_admin.to_owned());
    let bob_id = bob["user"]["id"].as_i64().unwrap();
    s.ok(
        Method::POST,
        &format!("/api/v1/admin/users/{bob_id}/password"),
        Some(json!({"new_password": by_admin})),
        &r,
        200,
    )
    .await;
    assert_eq!(s.login("logbob", by_admin).await.status(), 200);
    let alice_id = alice["user"]["id"].as_i64().unwrap();
    s.ok(
        Method::POST,
        &format!("/api/v1/admin/users/{alice_id}/password"),
        Some(json!({})),
        &r,
        200,
    )
    .await;
    secrets.push(token_in(
        &nth_mail_to(&data, "logalice@example.org", 3).await,
    ));

    // A mailed sign-in code, then two-factor: the secret, its URI, the codes, the recovery codes
    // and the sign-in challenge (issue 16 items 3 and 4).
    let r2 = s
        .post(
            "/api/v1/auth/login-code",
            json!({"login": "logalice"}),
            None,
        )
        .await;
    assert_eq!(r2.status(), 204);
    let code = code_in(&nth_mail_to(&data, "logalice@example.org", 4).await);
    secrets.push(code.clone());
    let v: Value = s
        .post(
            "/api/v1/auth/login-code/confirm",
            json!({"login": "logalice", "code": code}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let a = v["access_token"].as_str().unwrap().to_owned();
    secrets.push(a.clone());
    secrets.push(v["refresh_token"].as_str().unwrap().to_owned());
    let e = s
        .ok(Method::POST, "/api/v1/users/me/two-factor", None, &a, 200)
        .await;
    let totp_secret = e["secret"].as_str().unwrap().to_owned();
    secrets.push(totp_secret.clone());
    secrets.push(e["otpauth_uri"].as_str().unwrap().to_owned());
    let now = crate::support::unix_now();
    let first = crate::two_factor::totp_at(&totp_secret, now);
    secrets.push(first.clone());
    let recovery = s
        .ok(
            Method::POST,
            "/api/v1/users/me/two-factor/confirm",
            Some(json!({"code": first})),
            &a,
            200,
        )
        .await;
    for c in recovery["codes"].as_array().unwrap() {
        secrets.push(c.as_str().unwrap().to_owned());
    }
    let v: Value = s
        .login("logalice", new_password)
        .await
        .json()
        .await
        .unwrap();
    let challenge = v["challenge"].as_str().unwrap().to_owned();
    secrets.push(challenge.clone());
    let r2 = s
        .post(
            "/api/v1/auth/login/two-factor",
            json!({"challenge": challenge, "recovery_code": recovery["codes"][0]}),
            None,
        )
        .await;
    assert_eq!(r2.status(), 200);
    s.ok(
        Method::DELETE,
        &format!("/api/v1/admin/users/{alice_id}/two-factor"),
        None,
        &r,
        200,
    )
    .await;

    // The metrics address is logged at start; it serves the series, the API's address does not.
    let started = std::fs::read_to_string(&log_path).unwrap();
    let metrics = started
        .split("metrics served at http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap_or_else(|| panic!("no metrics address in the log: {started}"))
        .to_owned();
    let scraped = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains(
            r#"jeco_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"} 2"#
        ),
        "{scraped}"
    );
    assert!(scraped.contains("jeco_ws_frames_in_total"), "{scraped}");
    // Nor do the metrics hold anything the clients sent.
    for secret in &secrets {
        assert!(!scraped.contains(secret.as_str()), "{secret}: {scraped}");
    }
    assert_eq!(s.get("/metrics", None).await.status(), 404);

    stop_binary(child).await;
    Scenario {
        log: std::fs::read_to_string(&log_path).unwrap(),
        secrets,
        request_id,
        body_request_id,
    }
}

fn assert_clean(log: &str, secrets: &[String], level: &str) {
    // The log did record the session, so an empty or broken log cannot pass.
    assert!(log.contains("failed login"), "{level}: {log}");
    assert!(log.contains("/api/v1/search"), "{level}: {log}");
    assert!(log.contains("password reset confirmed"), "{level}: {log}");
    assert!(log.contains("password reset by an admin"), "{level}: {log}");
    assert!(
        log.contains("signed in with a mailed code"),
        "{level}: {log}"
    );
    assert!(log.contains("two-factor enabled"), "{level}: {log}");
    assert!(
        log.contains("two-factor reset by an admin"),
        "{level}: {log}"
    );
    // Ignoring case: the server may normalize what it was given (usernames are lower-cased).
    let lower = log.to_lowercase();
    for secret in secrets {
        // JWTs are checked by their signature part as well as whole.
        let parts = std::iter::once(secret.as_str()).chain(secret.rsplit('.').next());
        for part in parts {
            assert!(
                !lower.contains(&part.to_lowercase()),
                "{level}: the log contains the secret {part:?}:\n{log}"
            );
        }
    }
}

#[tokio::test]
async fn the_default_log_holds_no_secrets() {
    let run = scenario_log(None, "text").await;
    assert_clean(&run.log, &run.secrets, "default");
    // The failed request's id is in its span's log line, as in its error body.
    assert_eq!(run.body_request_id, run.request_id);
    assert!(
        run.log.contains(&format!("request_id={}", run.request_id)),
        "{}",
        run.log
    );
}

#[tokio::test]
async fn the_debug_log_holds_no_secrets() {
    let run = scenario_log(Some("debug"), "text").await;
    assert_clean(&run.log, &run.secrets, "debug");
}

/// `--log-format json`: every line is one JSON object, the request's lines carry its id (the one
/// in the response header and the error body), and the same scenario leaves no secret in it.
#[tokio::test]
async fn the_json_log_is_one_object_per_line_with_request_ids_and_no_secrets() {
    let run = scenario_log(Some("debug"), "json").await;
    assert_clean(&run.log, &run.secrets, "json");
    let lines: Vec<Value> = run
        .log
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line:?}"));
            assert!(v.is_object(), "{line}");
            assert!(
                v["timestamp"].is_string() && v["level"].is_string(),
                "{line}"
            );
            v
        })
        .collect();
    assert!(lines.len() > 20, "{}", run.log);
    assert_eq!(run.body_request_id, run.request_id);
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|v| v["span"]["request_id"] == run.request_id.as_str())
        .collect();
    assert!(
        !of_request.is_empty(),
        "no line of {}: {}",
        run.request_id,
        run.log
    );
    // Its answer is logged with its route (none matched) and status, in its span.
    assert!(
        of_request.iter().any(|v| v["span"]["route"] == "(no route)"
            && v["fields"]["status"] == 404
            && v["spans"][0]["name"] == "request"),
        "{of_request:#?}"
    );
    // Every request's lines have an id.
    for v in &lines {
        if v["span"]["name"] == "request" {
            assert!(
                v["span"]["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{v}"
            );
        }
    }
}
