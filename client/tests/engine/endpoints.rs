//! Every REST call the engine makes, against a real server: each answer must be the type the
//! engine reads (issue 13: creating a channel answered a `Conversation` while the engine read a
//! `Channel`, so a channel that was made was reported as "does not look like a Jeco server").
//!
//! The types cannot disagree any more (`jeco_shared::endpoints`); this story proves the routes,
//! methods, path parameters and bodies agree too, call by call. A call that fails here fails with
//! the engine's error and the step's name.

use crate::support::{Clients, PASSWORD, engine, eventually, start};
use jeco_client::{Engine, FileToSend, MessageRef};
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::teams::{CreateChannelRequest, CreateInviteRequest};
use jeco_shared::users::UpdateProfileRequest;
use jeco_shared::{ConversationId, MessageId};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A 4×4 red PNG: the smallest picture the server's avatar pipeline takes.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09,
    0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x47, 0x0c, 0xc4, 0x71, 0x00, 0xae, 0x93, 0x0f, 0xf1, 0xd0, 0x5f, 0x23, 0x9e, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Waits for the outbox to deliver everything, and asserts nothing failed on the way.
async fn delivered(engine: &Engine, step: &str) {
    engine.wait_outbox_drained(WAIT).await.unwrap();
    let left = engine.outbox(None).unwrap();
    assert!(left.is_empty(), "{step}: left in the outbox: {left:?}");
}

/// The server id of the message with this text in a conversation's cached timeline.
fn message_id(engine: &Engine, conversation: ConversationId, text: &str) -> Option<MessageId> {
    let timeline = engine.timeline(conversation, None, 50).ok()?;
    timeline
        .items
        .iter()
        .find(|i| i.message.text == text && i.message.id.0 != 0)
        .map(|i| i.message.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_channel_succeeds_and_the_channel_is_in_the_conversations() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), dir.path());
    ada.register("ada", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    let team = ada.create_team("Analytical").await.unwrap();

    let request = CreateChannelRequest {
        name: "engines".into(),
        private: false,
        topic: Some("difference and analytical".into()),
    };
    let channel = ada
        .create_channel(team.id, &request)
        .await
        .expect("the channel is created and the answer is read");
    assert_eq!(channel.kind, ConversationKind::Channel);
    let listed = ada
        .conversations()
        .unwrap()
        .into_iter()
        .find(|c| c.id == channel.id)
        .expect("the new channel is in the engine's conversations at once");
    assert_eq!(listed.name.as_deref(), Some("engines"));

    // A second try is the server's typed refusal, not "does not look like a Jeco server".
    let again = ada.create_channel(team.id, &request).await.unwrap_err();
    assert_eq!(again.code(), jeco_shared::ErrorCode::Conflict, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_call_the_engine_makes_is_answered_as_the_engine_reads_it() {
    let server = start().await;
    let dirs = tempfile::tempdir().unwrap();
    // Health, Register, and the sync's Conversations, Teams, Notifications, GetUser,
    // GetConversation and History.
    server.client().health().await.unwrap();
    let ada = engine(server.base(), &dirs.path().join("ada"));
    let bob = engine(server.base(), &dirs.path().join("bob"));
    let ada_me = ada.register("ada", PASSWORD, None).await.unwrap();
    let bob_me = bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();

    // ---- profile: UpdateMe, Me, SetMyAvatar (bytes), UserAvatar (bytes), RemoveMyAvatar
    let me = ada
        .update_profile(&UpdateProfileRequest {
            status_text: Some(Some("counting".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(me.status_text.as_deref(), Some("counting"));
    assert_eq!(ada.refresh_me().await.unwrap().id, ada_me.id);
    let picture = dirs.path().join("ada.png");
    std::fs::write(&picture, PNG).unwrap();
    let with_picture = ada.set_avatar(&picture).await.unwrap();
    assert!(with_picture.avatar.is_some());
    assert!(
        ada.user_avatar_file(&with_picture)
            .await
            .unwrap()
            .is_some_and(|p| p.exists())
    );
    assert!(ada.remove_avatar().await.unwrap().avatar.is_none());

    // ---- people: SearchUsers, OpenDirect, CreateGroup, GetUser
    let found = ada.find_user("bob").await.unwrap().expect("bob is found");
    assert_eq!(found.id, bob_me.id);
    let dm = ada.open_direct(bob_me.id).await.unwrap();
    assert_eq!(dm.kind, ConversationKind::Direct);
    let group = ada.create_group("Engines", &[bob_me.id]).await.unwrap();
    assert!(ada.conversation(group.id).unwrap().is_some());
    ada.learn_users([bob_me.id]).await;

    // ---- teams: CreateTeam, CreateChannel, TeamMembers, AddTeamMember, SetTeamRole,
    // CreateInvite, Invites, RevokeInvite, JoinInvite, Channels, JoinChannel,
    // RemoveConversationMember (leaving), GetTeam, TransferTeam, RemoveTeamMember
    let team = ada.create_team("Analytical").await.unwrap();
    let channel = ada
        .create_channel(
            team.id,
            &CreateChannelRequest {
                name: "engines".into(),
                private: false,
                topic: None,
            },
        )
        .await
        .expect("CreateChannel");
    assert!(
        ada.conversations()
            .unwrap()
            .iter()
            .any(|c| c.id == channel.id)
    );
    let invite = ada
        .create_invite(team.id, &CreateInviteRequest::default())
        .await
        .unwrap();
    assert_eq!(ada.invites(team.id).await.unwrap()[0].id, invite.id);
    let joined = bob.join_invite(&invite.code).await.unwrap();
    assert_eq!(joined.id, team.id);
    let listed = bob.team_channels(team.id).await.expect("Channels");
    assert!(listed.iter().any(|c| c.id == channel.id && !c.joined));
    bob.join_channel(channel.id).await.expect("JoinChannel");
    bob.leave_conversation(channel.id)
        .await
        .expect("RemoveConversationMember");
    assert!(bob.search_users("ad").await.unwrap()[0].id == ada_me.id);
    ada.revoke_invite(team.id, invite.id).await.unwrap();
    ada.set_team_role(team.id, bob_me.id, MemberRole::Admin)
        .await
        .unwrap();
    let members = ada.team_members(team.id).await.unwrap();
    assert!(
        members
            .iter()
            .any(|m| m.user_id == bob_me.id && m.role == MemberRole::Admin)
    );
    ada.remove_team_member(team.id, bob_me.id).await.unwrap();
    ada.add_team_member(team.id, bob_me.id, None).await.unwrap();
    ada.transfer_team(team.id, bob_me.id).await.unwrap();
    ada.remove_team_member(team.id, ada_me.id)
        .await
        .expect("the old owner leaves");
    assert!(ada.teams().unwrap().iter().all(|t| t.id != team.id));

    // ---- messages through the outbox: SendMessage, EditMessage, React, DeleteMessage, MarkRead,
    // SetMute
    ada.send(dm.id, "first", None).unwrap();
    ada.send(dm.id, "second", None).unwrap();
    delivered(&ada, "send").await;
    let first = message_id(&ada, dm.id, "first").expect("first is delivered");
    let second = message_id(&ada, dm.id, "second").expect("second is delivered");
    ada.edit(dm.id, MessageRef::Id(first), "first, edited")
        .unwrap();
    ada.react(dm.id, MessageRef::Id(first), "👍", true).unwrap();
    ada.delete(dm.id, MessageRef::Id(second)).unwrap();
    ada.set_muted(dm.id, true).unwrap();
    ada.set_muted(dm.id, false).unwrap();
    delivered(&ada, "edit, react, delete, mute").await;
    ada.send(dm.id, "a reply", Some(first)).unwrap();
    delivered(&ada, "reply").await;

    // ---- reading: History, GetMessage, Replies, Threads, Search, Pin, Unpin, Pins
    let older = ada.load_timeline(dm.id, None, 10).await.unwrap();
    assert!(!older.items.is_empty());
    assert!(
        ada.message(dm.id, MessageId(first.0 + 1_000_000))
            .await
            .unwrap()
            .is_none(),
        "GetMessage of an unknown id is a typed not-found"
    );
    let thread = ada.load_thread(dm.id, first).await.unwrap();
    assert_eq!(thread.replies.len(), 1);
    // Threads
    let threads = ada.threads(10).await.expect("Threads");
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].root.id, first);
    let _ = ada.search("edited", None, 10).await.unwrap();
    assert!(ada.set_pinned(dm.id, first, true).await.unwrap().pinned);
    assert_eq!(ada.pins(dm.id).await.unwrap().len(), 1);
    ada.set_pinned(dm.id, first, false).await.unwrap();

    // ---- files: CreateUpload, AppendUpload (bytes), AttachmentContent (bytes)
    let file = dirs.path().join("notes.txt");
    std::fs::write(&file, b"Note G").unwrap();
    ada.send_files(dm.id, "notes", None, &[FileToSend::new(&file)])
        .unwrap();
    delivered(&ada, "send with a file").await;
    let with_file = ada
        .timeline(dm.id, None, 50)
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.message.text == "notes" && !i.message.attachments.is_empty())
        .expect("the message with its attachment is in the timeline");
    let downloaded = ada
        .attachment_file(&with_file.message.attachments[0], false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(downloaded).unwrap(), b"Note G");

    // ---- the inbox: MarkNotificationRead, MarkAllNotificationsRead
    eventually("bob is notified of ada's messages", || {
        bob.notifications(10)
            .unwrap()
            .iter()
            .any(|(n, read)| !read && n.conversation_id == Some(dm.id))
    })
    .await;
    let (note, _) = bob.notifications(10).unwrap().into_iter().next().unwrap();
    bob.mark_notification_read(note.id).await.unwrap();
    bob.mark_all_notifications_read().await.unwrap();

    // ---- contacts: SendContactRequestTo, ContactRequests, AcceptContactRequest, Contacts,
    // RemoveContact, CancelContactRequest, DeclineContactRequest
    ada.request_contact(bob_me.id).await.unwrap();
    let incoming = bob.contact_requests().await.unwrap().incoming;
    assert_eq!(incoming.len(), 1);
    bob.answer_contact_request(incoming[0].id, true)
        .await
        .unwrap();
    assert_eq!(ada.contacts().await.unwrap().items.len(), 1);
    ada.remove_contact(bob_me.id).await.unwrap();
    ada.request_contact(bob_me.id).await.unwrap();
    let outgoing = ada.contact_requests().await.unwrap().outgoing;
    ada.cancel_contact_request(outgoing[0].id).await.unwrap();
    bob.request_contact(ada_me.id).await.unwrap();
    let incoming = ada.contact_requests().await.unwrap().incoming;
    ada.answer_contact_request(incoming[0].id, false)
        .await
        .unwrap();
    assert!(ada.contacts().await.unwrap().items.is_empty());

    // ---- the session: Logout, Login (Refresh is in `tokens`)
    ada.logout().await.unwrap();
    ada.login("ada", PASSWORD).await.unwrap();
}
