//! The user's own profile through the engine: after a restart the engine shows the profile the
//! server has (not the copy from sign-in), and an edit of one field leaves the others alone.
//! A stale copy once filled the desktop's profile dialog, and saving only a new display name
//! erased the status line on the server.

use crate::support::{Clients, PASSWORD, engine, start};
use jeco_shared::users::UpdateProfileRequest;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_shows_the_servers_profile_and_an_edit_keeps_other_fields() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), dir.path());
    ada.register("ada", PASSWORD, Some("Ada")).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();

    let edited = ada
        .update_profile(&UpdateProfileRequest {
            status_text: Some(Some("in the lab".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(edited.status_text.as_deref(), Some("in the lab"));
    assert_eq!(edited.display_name.as_deref(), Some("Ada"), "untouched");
    drop(ada);

    // Restarted: the profile shown before any network is the last one the server answered.
    let ada = engine(server.base(), dir.path());
    let me = ada.me().expect("a saved session opens the account");
    assert_eq!(me.status_text.as_deref(), Some("in the lab"));

    // Changed elsewhere (another device) while this engine was away: the next connect brings it.
    let other = server.client();
    other.login("ada", PASSWORD).await.unwrap();
    let token = other.access_token().await.unwrap();
    let _: jeco_shared::users::User = other
        .api()
        .call::<jeco_shared::endpoints::UpdateMe>(
            &token,
            &(),
            &UpdateProfileRequest {
                bio: Some(Some("Countess".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let fresh = ada.refresh_me().await.unwrap();
    assert_eq!(fresh.bio.as_deref(), Some("Countess"));
    assert_eq!(ada.me().unwrap().bio.as_deref(), Some("Countess"));

    // Changing only the display name leaves the status line and the bio on the server.
    let saved = ada
        .update_profile(&UpdateProfileRequest {
            display_name: Some(Some("Ada Lovelace".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(saved.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(saved.status_text.as_deref(), Some("in the lab"));
    assert_eq!(saved.bio.as_deref(), Some("Countess"));
}
