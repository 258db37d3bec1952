//! Shutdown closes sockets with 1001; a restart on the same data dir keeps users and the secret.

use crate::support::*;
use jeco_shared::auth::TokenResponse;
use jeco_shared::ws::close;

#[tokio::test]
async fn restart_keeps_users_sessions_and_secret() {
    let mut s = TestServer::start().await;
    let t = s.register("quinn").await;
    let secret_before = std::fs::read(s.data_dir().join("secret.key")).unwrap();
    let (mut ws, _) = s.ws_ready(&t.access_token).await;

    let closing = tokio::spawn(async move { expect_close(&mut ws).await });
    s.restart().await;
    assert_eq!(closing.await.unwrap(), close::GOING_AWAY);

    assert_eq!(
        std::fs::read(s.data_dir().join("secret.key")).unwrap(),
        secret_before
    );
    // The old access token still verifies: same secret, same session.
    let me = s.get("/api/v1/users/me", Some(&t.access_token)).await;
    assert_eq!(me.status(), 200);
    let login = s.login("quinn", PASSWORD).await;
    assert_eq!(login.status(), 200);
    let again: TokenResponse = login.json().await.unwrap();
    assert_eq!(again.user.id, t.user.id);
    // And the refresh token issued before the restart rotates.
    let resp = s
        .post(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": t.refresh_token}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    s.shutdown().await;
}

#[tokio::test]
async fn a_different_data_dir_does_not_accept_foreign_tokens() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let t = a.register("rita").await;
    expect_error(
        b.get("/api/v1/users/me", Some(&t.access_token)).await,
        401,
        "token_invalid",
    )
    .await;
}
