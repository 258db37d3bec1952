//! Admin bootstrap from configuration.

use crate::support::*;
use jeco_server::{Config, RunningServer, Secret};
use jeco_shared::auth::TokenResponse;

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
