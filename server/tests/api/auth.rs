//! Register → login → refresh rotation → reuse detection → logout → lockout → per-IP budget.

use crate::support::*;
use jeco_shared::auth::{AccessClaims, TokenResponse};
use jeco_shared::users::User;
use jeco_shared::ws::close;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn register_signs_in_and_usernames_are_case_insensitive() {
    let s = TestServer::start().await;
    let resp = s
        .post(
            "/api/v1/auth/register",
            json!({"username": "Alice", "password": PASSWORD, "display_name": "Alice A."}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let tokens: TokenResponse = resp.json().await.unwrap();
    assert_eq!(tokens.user.username, "alice");
    assert_eq!(tokens.user.display_name.as_deref(), Some("Alice A."));
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 15 * 60);
    assert!(!tokens.user.is_admin);

    let me: User = s
        .get("/api/v1/users/me", Some(&tokens.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me, tokens.user);

    let dup = s
        .post(
            "/api/v1/auth/register",
            json!({"username": "ALICE", "password": PASSWORD}),
            None,
        )
        .await;
    expect_error(dup, 409, "username_taken").await;

    let login = s.login("ALICE", PASSWORD).await;
    assert_eq!(login.status(), 200);
    let again: TokenResponse = login.json().await.unwrap();
    assert_eq!(again.user.id, tokens.user.id);
    assert_ne!(again.refresh_token, tokens.refresh_token);

    expect_error(
        s.login("alice", "wrong password").await,
        401,
        "invalid_credentials",
    )
    .await;
    expect_error(
        s.login("nobody", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn access_token_claims_name_user_and_session() {
    let s = TestServer::start().await;
    let t = s.register("claims").await;
    let payload = t.access_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: AccessClaims = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(claims.sub, t.user.id.to_string());
    assert_eq!(claims.exp - claims.iat, 15 * 60);
    let (_ws, ready) = s.ws_ready(&t.access_token).await;
    let jeco_shared::ws::ServerFrame::Ready { session_id, .. } = ready else {
        unreachable!()
    };
    assert_eq!(session_id.0, claims.sid);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let s = TestServer::start().await;
    let first = s.register("bob").await;

    let resp = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first.refresh_token}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let second: TokenResponse = resp.json().await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.user.username, "bob");
    assert_eq!(
        s.get("/api/v1/users/me", Some(&second.access_token))
            .await
            .status(),
        200
    );

    let resp = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": second.refresh_token}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let third: TokenResponse = resp.json().await.unwrap();

    // Someone replays the first (already rotated) token: the whole family dies.
    let replay = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first.refresh_token}),
            None,
        )
        .await;
    expect_error(replay, 401, "token_revoked").await;
    let live = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": third.refresh_token}),
            None,
        )
        .await;
    expect_error(live, 401, "token_revoked").await;
    expect_error(
        s.get("/api/v1/users/me", Some(&third.access_token)).await,
        401,
        "token_revoked",
    )
    .await;

    // Another session of the same user is untouched.
    let other: TokenResponse = s.login("bob", PASSWORD).await.json().await.unwrap();
    assert_eq!(
        s.get("/api/v1/users/me", Some(&other.access_token))
            .await
            .status(),
        200
    );

    let unknown = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": "bm9wZQ"}),
            None,
        )
        .await;
    expect_error(unknown, 401, "token_invalid").await;
}

#[tokio::test]
async fn reuse_detection_closes_the_family_websockets() {
    // No grace period: the replay right after the rotation is reuse.
    let s = TestServer::start_with(|c| c.refresh_reuse_grace_secs = 0).await;
    let first = s.register("carl").await;
    let (mut ws, _) = s.ws_ready(&first.access_token).await;
    let ok = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first.refresh_token}),
            None,
        )
        .await;
    assert_eq!(ok.status(), 200);
    let replay = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first.refresh_token}),
            None,
        )
        .await;
    expect_error(replay, 401, "token_revoked").await;
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_REVOKED);
}

async fn refresh(s: &TestServer, token: &str) -> reqwest::Response {
    s.post(
        "/api/v1/auth/refresh",
        json!({"refresh_token": token}),
        None,
    )
    .await
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_both_get_the_same_pair() {
    let s = TestServer::start().await;
    let first = s.register("racer").await;
    let (mut ws, _) = s.ws_ready(&first.access_token).await;
    let (a, b) = tokio::join!(
        refresh(&s, &first.refresh_token),
        refresh(&s, &first.refresh_token)
    );
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    let a: TokenResponse = a.json().await.unwrap();
    let b: TokenResponse = b.json().await.unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    assert_eq!(a.access_token, b.access_token);
    assert_ne!(a.refresh_token, first.refresh_token);
    // A third, later retry (a client that lost both answers) gets it too.
    let c: TokenResponse = refresh(&s, &first.refresh_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c.refresh_token, a.refresh_token);
    // The session lives on: the pair works, and it rotates normally.
    assert_eq!(
        s.get("/api/v1/users/me", Some(&a.access_token))
            .await
            .status(),
        200
    );
    assert!(
        frames_within(&mut ws, Duration::from_millis(300))
            .await
            .is_empty()
    );
    let next = refresh(&s, &a.refresh_token).await;
    assert_eq!(next.status(), 200);
    let next: TokenResponse = next.json().await.unwrap();
    assert_ne!(next.refresh_token, a.refresh_token);
    // Once the successor has been used, the old token is plain reuse: the family is revoked.
    expect_error(
        refresh(&s, &first.refresh_token).await,
        401,
        "token_revoked",
    )
    .await;
    expect_error(refresh(&s, &next.refresh_token).await, 401, "token_revoked").await;
}

#[tokio::test]
async fn reuse_after_the_grace_period_revokes_the_family() {
    let (s, clock) = TestServer::start_with_clock(|c| c.refresh_reuse_grace_secs = 1).await;
    let first = s.register("slowpoke").await;
    let second = refresh(&s, &first.refresh_token).await;
    assert_eq!(second.status(), 200);
    let second: TokenResponse = second.json().await.unwrap();
    clock.advance(Duration::from_millis(1300));
    expect_error(
        refresh(&s, &first.refresh_token).await,
        401,
        "token_revoked",
    )
    .await;
    expect_error(
        refresh(&s, &second.refresh_token).await,
        401,
        "token_revoked",
    )
    .await;
    expect_error(
        s.get("/api/v1/users/me", Some(&second.access_token)).await,
        401,
        "token_revoked",
    )
    .await;
}

#[tokio::test]
async fn logout_revokes_access_refresh_and_websocket() {
    let s = TestServer::start().await;
    let t = s.register("dora").await;
    let other: TokenResponse = s.login("dora", PASSWORD).await.json().await.unwrap();
    let (mut live_ws, _) = s.ws_ready(&t.access_token).await;
    let (mut other_ws, _) = s.ws_ready(&other.access_token).await;

    expect_error(
        s.post("/api/v1/auth/logout", json!({}), None).await,
        401,
        "unauthorized",
    )
    .await;
    let resp = s
        .post("/api/v1/auth/logout", json!({}), Some(&t.access_token))
        .await;
    assert_eq!(resp.status(), 204);

    assert_eq!(expect_close(&mut live_ws).await, close::TOKEN_REVOKED);
    expect_error(
        s.get("/api/v1/users/me", Some(&t.access_token)).await,
        401,
        "token_revoked",
    )
    .await;
    let refresh = s
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": t.refresh_token}),
            None,
        )
        .await;
    expect_error(refresh, 401, "token_revoked").await;
    expect_error(
        s.post("/api/v1/auth/logout", json!({}), Some(&t.access_token))
            .await,
        401,
        "token_revoked",
    )
    .await;

    // A new WebSocket with the logged-out token is refused with 4003.
    let mut ws = s
        .ws(&["jeco.v1", &format!("jeco.auth.{}", t.access_token)])
        .await;
    send_json(&mut ws, json!({"type": "hello", "protocol": "1.0"})).await;
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_REVOKED);

    // The user's other session still works, socket included.
    assert_eq!(
        s.get("/api/v1/users/me", Some(&other.access_token))
            .await
            .status(),
        200
    );
    send_json(&mut other_ws, json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(
        next_frame(&mut other_ws).await,
        jeco_shared::ws::ServerFrame::Pong { nonce: 5 }
    );
}

#[tokio::test]
async fn bad_and_expired_access_tokens() {
    let s = TestServer::start().await;
    let t = s.register("erin").await;
    let me = "/api/v1/users/me";
    let resp = s.get(me, None).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    expect_error(resp, 401, "unauthorized").await;
    expect_error(s.get(me, Some("garbage")).await, 401, "token_invalid").await;
    let resp = s
        .http()
        .get(s.url(me))
        .header("authorization", format!("Basic {}", t.access_token))
        .send()
        .await;
    expect_error(resp.unwrap(), 401, "unauthorized").await;

    let claims: AccessClaims = {
        use base64::Engine;
        let payload = t.access_token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let expired = forge_token(
        s.data_dir(),
        &AccessClaims {
            iat: 1,
            exp: unix_now() - 60,
            ..claims.clone()
        },
    );
    expect_error(s.get(me, Some(&expired)).await, 401, "token_expired").await;
    // A token for a session that never existed is invalid, even when correctly signed.
    let phantom = forge_token(
        s.data_dir(),
        &AccessClaims {
            sid: 9999,
            ..claims
        },
    );
    expect_error(s.get(me, Some(&phantom)).await, 401, "token_invalid").await;
}

#[tokio::test]
async fn an_address_that_keeps_failing_waits_and_a_success_clears_its_count() {
    // A window far longer than the test: the failures all count however slow the machine, and
    // the wait after them is passed by moving the clock.
    let (s, clock) = TestServer::start_with_clock(|c| {
        c.login_lockout_attempts = 5;
        c.login_lockout_window_secs = 60;
    })
    .await;
    s.register("frank").await;
    for _ in 0..5 {
        expect_error(
            s.login("frank", "wrong password").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    // This address now waits: even the right password is refused, with Retry-After.
    let resp = s.login("frank", PASSWORD).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    expect_error(resp, 429, "account_locked").await;
    // Other accounts are unaffected.
    s.register("grace").await;
    assert_eq!(s.login("grace", PASSWORD).await.status(), 200);

    clock.advance(Duration::from_secs(retry) + Duration::from_millis(300));
    assert_eq!(s.login("frank", PASSWORD).await.status(), 200);
    // Success clears the count: one more failure does not lock again.
    expect_error(
        s.login("frank", "wrong password").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(s.login("frank", PASSWORD).await.status(), 200);
}

/// An HTTP client whose connections come from `ip` (any 127.x.y.z reaches the loopback server).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    s: &TestServer,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_stranger_failing_from_one_address_does_not_lock_the_owner_out_from_another() {
    let (s, clock) = TestServer::start_with_clock(|_| {}).await;
    s.register("victim").await;
    let stranger = client_from("127.0.0.2");
    let owner = client_from("127.0.0.3");
    for name in ["victim", "nobody-by-this-name"] {
        for _ in 0..5 {
            let r = login_from(&s, &stranger, name, "guess guess guess").await;
            expect_error(r, 401, "invalid_credentials").await;
        }
        // The stranger is held back — the same way for a name that does not exist…
        let r = login_from(&s, &stranger, name, "guess guess guess").await;
        assert_eq!(retry_after(&r), 1);
        expect_error(r, 429, "account_locked").await;
    }
    // …and the owner, elsewhere, signs in at once.
    let r = login_from(&s, &owner, "victim", PASSWORD).await;
    assert_eq!(r.status(), 200);
    // Each further failure of the stranger doubles its own wait.
    clock.advance(Duration::from_millis(1100));
    let r = login_from(&s, &stranger, "victim", "guess guess guess").await;
    expect_error(r, 401, "invalid_credentials").await;
    let r = login_from(&s, &stranger, "victim", "guess guess guess").await;
    assert_eq!(retry_after(&r), 2);
    expect_error(r, 429, "account_locked").await;
    assert_eq!(
        login_from(&s, &owner, "victim", PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn the_owner_behind_the_strangers_address_signs_in_after_a_short_wait() {
    let (s, clock) = TestServer::start_with_clock(|c| c.login_lockout_max_delay_secs = 2).await;
    s.register("shared").await;
    let nat = client_from("127.0.0.4");
    for _ in 0..8 {
        let r = login_from(&s, &nat, "shared", "guess guess guess").await;
        if r.status() == 429 {
            let wait = retry_after(&r);
            assert!((1..=2).contains(&wait), "Retry-After {wait}");
            clock.advance(Duration::from_secs(wait));
            continue;
        }
        expect_error(r, 401, "invalid_credentials").await;
    }
    // However long the stranger kept at it, the wait is capped, and the right password then works.
    let r = login_from(&s, &nat, "shared", PASSWORD).await;
    let wait = if r.status() == 429 {
        let wait = retry_after(&r);
        assert!((1..=2).contains(&wait), "Retry-After {wait}");
        expect_error(r, 429, "account_locked").await;
        wait
    } else {
        0
    };
    clock.advance(Duration::from_secs(wait) + Duration::from_millis(200));
    assert_eq!(login_from(&s, &nat, "shared", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_distributed_guesser_is_slowed_per_account_but_never_locks_it() {
    let (s, clock) = TestServer::start_with_clock(|c| c.login_backstop_attempts = 6).await;
    s.register("popular").await;
    for i in 10..16 {
        let guesser = client_from(&format!("127.0.0.{i}"));
        let r = login_from(&s, &guesser, "popular", "guess guess guess").await;
        expect_error(r, 401, "invalid_credentials").await;
    }
    // Every address, even a fresh one, now leaves a second after the latest failure…
    let owner = client_from("127.0.0.30");
    let r = login_from(&s, &owner, "popular", PASSWORD).await;
    assert_eq!(retry_after(&r), 1);
    expect_error(r, 429, "account_locked").await;
    // …and only that: the right password a moment later goes through.
    clock.advance(Duration::from_millis(1100));
    assert_eq!(
        login_from(&s, &owner, "popular", PASSWORD).await.status(),
        200
    );
    // Other accounts are not slowed at all.
    s.register("quiet").await;
    assert_eq!(
        login_from(&s, &owner, "quiet", PASSWORD).await.status(),
        200
    );
}

async fn login_forwarded(
    s: &TestServer,
    client: &reqwest::Client,
    forwarded_for: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(s.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let s =
        TestServer::start_with(|c| c.trusted_proxies = vec!["127.0.0.5".parse().unwrap()]).await;
    s.register("proxied").await;
    let proxy = client_from("127.0.0.5");
    for _ in 0..5 {
        let r = login_forwarded(&s, &proxy, "203.0.113.9", "proxied", "guess guess guess").await;
        expect_error(r, 401, "invalid_credentials").await;
    }
    // The stranger behind the proxy waits (whatever it writes further left in the header)…
    let r = login_forwarded(&s, &proxy, "10.9.9.9, 203.0.113.9", "proxied", PASSWORD).await;
    expect_error(r, 429, "account_locked").await;
    // …the owner behind the same proxy does not.
    let r = login_forwarded(&s, &proxy, "198.51.100.7", "proxied", PASSWORD).await;
    assert_eq!(r.status(), 200);

    // A client that is not a trusted proxy cannot choose its address with the header.
    let direct = client_from("127.0.0.6");
    for i in 0..5 {
        let r = login_forwarded(
            &s,
            &direct,
            &format!("192.0.2.{i}"),
            "proxied",
            "guess guess",
        )
        .await;
        expect_error(r, 401, "invalid_credentials").await;
    }
    let r = login_forwarded(&s, &direct, "192.0.2.77", "proxied", PASSWORD).await;
    expect_error(r, 429, "account_locked").await;
}

#[tokio::test]
async fn per_ip_budget_on_auth_endpoints() {
    let s = TestServer::start_with(|c| {
        c.auth_rate_per_minute = 1;
        c.auth_rate_burst = 3;
    })
    .await;
    for _ in 0..3 {
        let status = s.login("nobody", "whatever1").await.status();
        assert_eq!(status, 401);
    }
    let resp = s.login("nobody", "whatever1").await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    expect_error(resp, 429, "rate_limited").await;
    let resp = s
        .post(
            "/api/v1/auth/register",
            json!({"username": "henry", "password": PASSWORD}),
            None,
        )
        .await;
    expect_error(resp, 429, "rate_limited").await;
    // Other endpoints are not part of the auth budget.
    assert_eq!(s.get("/api/v1/health", None).await.status(), 200);
}
