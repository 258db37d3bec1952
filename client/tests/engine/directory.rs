//! The channel browser and the people picker through the engine: a team's channels with topic,
//! member count and whether the user is in each; joining and leaving (the cache follows at once);
//! people found by the start of their username or display name.

use crate::support::{PASSWORD, ada_and_bob, engine, start};
use jeco_shared::ErrorCode;
use jeco_shared::teams::{CreateChannelRequest, CreateInviteRequest};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_join_and_leave_a_teams_channels() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let (ada, bob) = ada_and_bob(&server, dirs.path()).await;

    let team = ada.create_team("Analytical").await.unwrap();
    let design = ada
        .create_channel(
            team.id,
            &CreateChannelRequest {
                name: "design".into(),
                private: false,
                topic: Some("Gears and cards".into()),
            },
        )
        .await
        .unwrap();
    let secret = ada
        .create_channel(
            team.id,
            &CreateChannelRequest {
                name: "secret".into(),
                private: true,
                topic: None,
            },
        )
        .await
        .unwrap();
    let invite = ada
        .create_invite(team.id, &CreateInviteRequest::default())
        .await
        .unwrap();
    bob.join_invite(&invite.code).await.unwrap();

    // Bob sees the public channels, sorted, with their topic and size; not the private one.
    let listed = bob.team_channels(team.id).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["design", "general"]);
    let row = &listed[0];
    assert_eq!(row.id, design.id);
    assert_eq!(row.info.topic.as_deref(), Some("Gears and cards"));
    assert_eq!(row.member_count, 1);
    assert!(!row.joined);
    assert!(listed[1].joined && listed[1].info.is_default);
    assert!(!listed.iter().any(|c| c.id == secret.id));
    assert!(bob.conversation(design.id).unwrap().is_none());

    // Joining: the channel is in Bob's cache at once and the list counts him.
    bob.join_channel(design.id).await.unwrap();
    assert!(bob.conversation(design.id).unwrap().is_some());
    let row = bob.team_channels(team.id).await.unwrap().remove(0);
    assert!(row.joined);
    assert_eq!(row.member_count, 2);

    // Leaving: forgotten by the cache at once, and the server agrees.
    bob.leave_conversation(design.id).await.unwrap();
    assert!(bob.conversation(design.id).unwrap().is_none());
    assert!(
        !bob.conversations()
            .unwrap()
            .iter()
            .any(|c| c.id == design.id)
    );
    let row = bob.team_channels(team.id).await.unwrap().remove(0);
    assert!(!row.joined);
    assert_eq!(row.member_count, 1);

    // The team's #general is left by leaving the team, and the cache keeps it.
    let err = bob
        .leave_conversation(team.default_channel_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(bob.conversation(team.default_channel_id).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_found_by_username_or_display_name_and_cached() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), &dirs.path().join("ada"));
    let grace = engine(server.base(), &dirs.path().join("grace"));
    let me = ada.register("ada", PASSWORD, None).await.unwrap();
    let hopper = grace
        .register("ghopper", PASSWORD, Some("Grace Hopper"))
        .await
        .unwrap();
    ada.wait_live(WAIT).await.unwrap();
    assert!(ada.user(hopper.id).unwrap().is_none());

    let by_name = ada.search_users("gra").await.unwrap();
    assert_eq!(
        by_name.iter().map(|u| u.id).collect::<Vec<_>>(),
        [hopper.id]
    );
    // The picker's '@' is not part of a name.
    assert_eq!(ada.search_users("@gho").await.unwrap()[0].id, hopper.id);
    assert!(ada.search_users("zz").await.unwrap().is_empty());
    // An empty query lists everyone, by username.
    let everyone: Vec<_> = ada
        .search_users("")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(everyone, [me.id, hopper.id]);
    // Found people have names offline.
    assert_eq!(
        ada.user(hopper.id)
            .unwrap()
            .unwrap()
            .display_name
            .as_deref(),
        Some("Grace Hopper")
    );
}
