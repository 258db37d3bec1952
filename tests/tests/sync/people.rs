//! Profiles, pictures, team administration and contacts through the engine, against a real
//! server process: what the desktop app's profile, team and contacts screens do.

use crate::support::*;
use jeco_client::EngineError;
use jeco_e2e::process::ServerProcess;
use jeco_shared::ErrorCode;
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::conversations::MemberRole;
use jeco_shared::teams::CreateInviteRequest;
use jeco_shared::users::UpdateProfileRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_picture_teams_and_contacts() {
    let dirs = Dirs::new();
    let server = ServerProcess::start(&dirs.server, &[]);
    let (alice, bob, dm) = two_users_in_a_dm(&server.url(), &dirs).await;

    // Profile: the change is the user's, kept offline, and seen by others.
    let me = alice
        .update_profile(&UpdateProfileRequest {
            display_name: Some(Some("Alice Liddell".into())),
            status_text: Some(Some("in a meeting".into())),
            bio: None,
        })
        .await
        .unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(
        alice.me().unwrap().status_text.as_deref(),
        Some("in a meeting")
    );
    assert_eq!(
        alice.cache().unwrap().me().unwrap().unwrap().display_name,
        me.display_name
    );
    let too_long = "x".repeat(10_000);
    let refused = alice
        .update_profile(&UpdateProfileRequest {
            bio: Some(Some(too_long)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::ValidationFailed);

    // Picture: set from a file, fetched by someone else, removed.
    let png = jeco_e2e::workspace_root().join("tests/fixtures/gradient.png");
    let me = alice.set_avatar(&png).await.unwrap();
    assert!(me.avatar.is_some());
    let file = bob.user_avatar_file(&me).await.unwrap().expect("a picture");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]) || bytes.starts_with(b"\x89PNG"));
    let not_a_picture = dirs.root.path().join("evil.png");
    std::fs::write(&not_a_picture, b"MZ this is not an image at all").unwrap();
    assert!(alice.set_avatar(&not_a_picture).await.is_err());
    assert!(alice.remove_avatar().await.unwrap().avatar.is_none());

    // Teams: Alice creates one, invites Bob by code, makes him an admin, then removes him.
    let team = alice.create_team("Wonderland").await.unwrap();
    assert_eq!(team.my_role, MemberRole::Owner);
    let invite = alice
        .create_invite(
            team.id,
            &CreateInviteRequest {
                expires_in_secs: Some(3600),
                max_uses: Some(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(alice.invites(team.id).await.unwrap()[0].code, invite.code);
    let joined = bob.join_invite(&invite.code).await.unwrap();
    assert_eq!(joined.id, team.id);
    let bob_id = bob.me().unwrap().id;
    let members = alice.team_members(team.id).await.unwrap();
    assert_eq!(members.len(), 2);
    // A plain member may not change roles: the server says so, in its words.
    let alice_id = alice.me().unwrap().id;
    let refused = bob
        .set_team_role(team.id, alice_id, MemberRole::Member)
        .await
        .unwrap_err();
    assert!(matches!(refused, EngineError::Client(_)), "{refused:?}");
    assert_eq!(refused.code(), ErrorCode::Forbidden);
    alice
        .set_team_role(team.id, bob_id, MemberRole::Admin)
        .await
        .unwrap();
    let roles = alice.team_members(team.id).await.unwrap();
    assert!(
        roles
            .iter()
            .any(|m| m.user_id == bob_id && m.role == MemberRole::Admin)
    );
    alice.revoke_invite(team.id, invite.id).await.unwrap();
    assert!(alice.invites(team.id).await.unwrap()[0].revoked);
    alice.remove_team_member(team.id, bob_id).await.unwrap();
    assert_eq!(alice.team_members(team.id).await.unwrap().len(), 1);
    assert_eq!(alice.cache().unwrap().teams().unwrap()[0].member_count, 1);

    // Contacts: a request, seen on both sides, accepted.
    alice.request_contact(bob_id).await.unwrap();
    let outgoing = alice.contact_requests().await.unwrap().outgoing;
    assert_eq!(outgoing.len(), 1);
    let incoming = bob.contact_requests().await.unwrap().incoming;
    assert_eq!(incoming[0].status, ContactRequestStatus::Pending);
    bob.answer_contact_request(incoming[0].id, true)
        .await
        .unwrap();
    let contacts = alice.contacts().await.unwrap().items;
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].user.username, "bob");
    alice.remove_contact(bob_id).await.unwrap();
    assert!(alice.contacts().await.unwrap().items.is_empty());

    // Notifications: a direct message notifies Bob; he reads it, then everything.
    alice.send(dm, "are you there?", None).unwrap();
    let b = bob.clone();
    eventually(move || {
        b.notifications(20)
            .unwrap()
            .iter()
            .any(|(n, read)| !read && n.preview.contains("are you there?"))
    })
    .await;
    let (first, _) = bob
        .notifications(20)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n.preview.contains("are you there?"))
        .unwrap();
    bob.mark_notification_read(first.id).await.unwrap();
    assert!(
        bob.notifications(20)
            .unwrap()
            .iter()
            .any(|(n, read)| n.id == first.id && *read)
    );
    bob.mark_all_notifications_read().await.unwrap();
    assert!(bob.notifications(20).unwrap().iter().all(|(_, read)| *read));
}
