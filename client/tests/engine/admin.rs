//! The engine's server-administration calls against a real server: a server admin lists,
//! deactivates (the other engine is signed out at once), reactivates, sets a password and keeps
//! the last admin, reads the storage report; a plain user is refused.

use crate::support::{PASSWORD, engine, start_with};
use jeco_client::ConnectionState;
use jeco_shared::ErrorCode;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const ROOT_PASSWORD: &str = "the root password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_admin_manages_accounts_through_the_engine() {
    let server = start_with(|c| {
        c.auth_rate_per_minute = 1_000;
        c.auth_rate_burst = 1_000;
        c.admin_username = Some("root".into());
        c.admin_password = Some(jeco_server::Secret::new(ROOT_PASSWORD));
    })
    .await;
    let root_dir = tempfile::tempdir().unwrap();
    let root = engine(server.base(), root_dir.path());
    root.login("root", ROOT_PASSWORD).await.unwrap();
    let ada_dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), ada_dir.path());
    let me = ada.register("ada", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();

    let e = ada.admin_users("", 20, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    let e = ada.media_usage().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    // Nobody has uploaded anything yet: no account uses storage.
    assert!(root.media_usage().await.unwrap().users.is_empty());

    let page = root.admin_users("a", 20, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].user.username, "ada");
    assert_eq!(page.items[0].live_sessions, 1);
    assert!(!page.items[0].two_factor);

    let out = root.deactivate_user(me.id).await.unwrap();
    assert!(out.user.deactivated);
    let deadline = tokio::time::Instant::now() + WAIT;
    while ada.connection_state() != ConnectionState::SignedOut {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {:?}",
            ada.connection_state()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = ada.login("ada", PASSWORD).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AccountDeactivated);

    root.reactivate_user(me.id).await.unwrap();
    let reset = root
        .admin_reset_password(me.id, Some("set by the admin"))
        .await
        .unwrap();
    assert!(!reset.mailed);
    ada.login("ada", "set by the admin").await.unwrap();
    assert!(!root.admin_user(me.id).await.unwrap().user.deactivated);

    let root_id = root.me().unwrap().id;
    let e = root.set_server_admin(root_id, false).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::LastAdmin);
    assert!(
        root.set_server_admin(me.id, true)
            .await
            .unwrap()
            .user
            .is_admin
    );
    assert!(ada.admin_users("", 20, None).await.is_ok());
    assert!(ada.media_usage().await.is_ok());
}
