//! Conformance checks (see `suite.rs`): conversations, teams and channels, media.
//!
//! The concurrent checks run their calls as futures of one task (`join_all`): each call takes its
//! own connection, so on a backend with several connections they really overlap, and the outcome
//! must be the one a serial order would give.

use crate::suite::Fresh;
use futures_util::future::join_all;
use jeco_server::storage::{Admission, NotifyPlan};
use jeco_server::storage::{
    AvatarOwner, BlobRecord, EventData, MentionSet, NewAttachment, NewChannel, NewGroup, NewInvite,
    NewMessage, NewUser, Redeemed, SendOutcome, Storage, StorageError, ThumbnailState,
    UploadAdmission, UploadRecord,
};
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::media::AttachmentKind;
use jeco_shared::{ConversationId, TeamId, UserId};

async fn people(s: &dyn Storage, names: &[&str]) -> Vec<UserId> {
    let mut out = Vec::new();
    for name in names {
        let user = s
            .create_user(NewUser {
                username: (*name).into(),
                password_hash: "h".into(),
                display_name: None,
                is_admin: false,
                created_at_ms: 1,
            })
            .await
            .unwrap();
        out.push(user.id);
    }
    out
}

async fn room(s: &dyn Storage, owner: UserId, members: &[UserId], now_ms: i64) -> ConversationId {
    s.create_group(NewGroup {
        name: "room".into(),
        owner,
        members: members.to_vec(),
        now_ms,
        added_preview: None,
    })
    .await
    .unwrap()
    .0
    .id
}

async fn roles(s: &dyn Storage, id: ConversationId) -> Vec<(UserId, MemberRole)> {
    s.members(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect()
}

/// Opening the direct conversation of a pair from both sides at once gives one conversation,
/// created once, with both as plain members.
pub async fn a_direct_conversation_is_one_per_pair(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (p[0], p[1], p[2]);
    let opens = (0..8).map(|i| {
        let (a, b) = if i % 2 == 0 { (ann, ben) } else { (ben, ann) };
        s.open_direct(a, b, 1 + i)
    });
    let results: Vec<_> = join_all(opens)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let id = results[0].0.id;
    assert!(results.iter().all(|(r, _)| r.id == id), "{results:?}");
    assert_eq!(
        results.iter().filter(|(_, c)| c.is_some()).count(),
        1,
        "created exactly once"
    );
    let record = s.conversation(id).await.unwrap().unwrap();
    assert_eq!((record.kind, record.name), (ConversationKind::Direct, None));
    let mut members = roles(&*s, id).await;
    members.sort_by_key(|(u, _)| u.0);
    assert_eq!(
        members,
        [(ann, MemberRole::Member), (ben, MemberRole::Member)]
    );
    let other = s.open_direct(cat, ann, 20).await.unwrap();
    assert!(other.1.is_some());
    assert_ne!(other.0.id, id);
}

/// A group: created with its owner and members, renamed, members added (once each, even when
/// added concurrently) and removed, and never left without an owner.
pub async fn group_members_roles_and_renames(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat", "dan"]).await;
    let (ann, ben, cat, dan) = (p[0], p[1], p[2], p[3]);
    let (record, committed) = s
        .create_group(NewGroup {
            name: "plans".into(),
            owner: ann,
            members: vec![ben, cat],
            now_ms: 1,
            added_preview: None,
        })
        .await
        .unwrap();
    let id = record.id;
    assert_eq!(record.kind, ConversationKind::Group);
    assert_eq!(record.name.as_deref(), Some("plans"));
    assert_eq!(record.last_seq, 4, "created and three members added");
    assert_eq!(committed.events.len(), 4);
    assert_eq!(committed.recipients, [ann, ben, cat]);
    assert_eq!(committed.user_events.len(), 3);
    assert_eq!(
        roles(&*s, id).await,
        [
            (ann, MemberRole::Owner),
            (ben, MemberRole::Member),
            (cat, MemberRole::Member)
        ]
    );

    let renamed = s
        .rename_conversation(id, ann, "new plans".into(), 2)
        .await
        .unwrap();
    assert!(matches!(
        &renamed.events[..],
        [e] if matches!(&e.data, EventData::ConversationRenamed { name } if name == "new plans")
    ));
    assert_eq!(
        s.conversation(id).await.unwrap().unwrap().name.as_deref(),
        Some("new plans")
    );
    assert!(matches!(
        s.rename_conversation(ConversationId(9999), ann, "x".into(), 2)
            .await,
        Err(StorageError::NotFound)
    ));

    // Dan is added by four requests at once and by one that names ben too: added once.
    let adds = (0..4).map(|_| s.add_members(id, ann, vec![dan, ben], 3, None));
    let results: Vec<_> = join_all(adds)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let added: Vec<usize> = results.iter().map(|c| c.events.len()).collect();
    assert_eq!(added.iter().sum::<usize>(), 1, "{added:?}");
    assert!(results.iter().all(|c| c.recipients.contains(&dan)));
    let dan_member = s.member(id, dan).await.unwrap().unwrap();
    assert_eq!(dan_member.role, MemberRole::Member);
    assert_eq!(dan_member.joined_seq, 6);

    // Leaving and being removed.
    let left = s.remove_member(id, cat, cat, 4).await.unwrap();
    assert_eq!(left.recipients, [ann, ben, dan]);
    assert!(s.member(id, cat).await.unwrap().is_none());
    assert!(matches!(
        s.remove_member(id, ann, cat, 4).await,
        Err(StorageError::NotFound)
    ));
    // The owner leaves: the longest-standing member takes over.
    let left = s.remove_member(id, ann, ann, 5).await.unwrap();
    assert!(
        left.events.iter().any(|e| matches!(
            e.data,
            EventData::MemberRoleChanged { user, role: MemberRole::Owner } if user == ben
        )),
        "{left:?}"
    );
    assert_eq!(
        roles(&*s, id).await,
        [(ben, MemberRole::Owner), (dan, MemberRole::Member)]
    );
    let seqs: Vec<i64> = s
        .events_after(id, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
}

/// Read positions move forward only, up to the head; the lists and summaries show a member's
/// conversations, most recent activity first, and nothing of others'.
pub async fn read_positions_and_conversation_lists(s: Fresh) {
    let p = people(&*s, &["ann", "ben", "cat"]).await;
    let (ann, ben, cat) = (p[0], p[1], p[2]);
    let older = room(&*s, ann, &[ben], 1).await;
    let newer = room(&*s, ann, &[ben, cat], 2).await;
    let head = s.conversation(older).await.unwrap().unwrap().last_seq;
    let moved = s.mark_read(older, ben, 1000, 3).await.unwrap().unwrap();
    assert!(matches!(
        &moved.events[..],
        [e] if matches!(e.data, EventData::Read { user, seq } if user == ben && seq == head)
    ));
    assert_eq!(moved.events[0].seq, head + 1);
    assert_eq!(s.member(older, ben).await.unwrap().unwrap().read_seq, head);
    assert!(s.mark_read(older, ben, head, 4).await.unwrap().is_none());
    assert!(s.mark_read(older, ben, 1, 4).await.unwrap().is_none());
    assert!(s.mark_read(older, cat, 1, 4).await.unwrap().is_none());
    assert!(matches!(
        s.mark_read(ConversationId(9999), ben, 1, 4).await,
        Err(StorageError::NotFound)
    ));

    let list: Vec<ConversationId> = s
        .conversations_of(ben)
        .await
        .unwrap()
        .iter()
        .map(|c| c.conversation.id)
        .collect();
    assert_eq!(list, [newer, older]);
    let cats = s.conversations_of(cat).await.unwrap();
    assert_eq!(cats.len(), 1);
    assert_eq!(cats[0].conversation.id, newer);
    assert_eq!(cats[0].me.user_id, cat);
    assert_eq!(cats[0].members.len(), 3);
    assert_eq!(
        (
            cats[0].unread,
            cats[0].mentions,
            cats[0].last_message.is_none()
        ),
        (0, 0, true)
    );
    assert!(s.conversation_summary(older, cat).await.unwrap().is_none());
    let summary = s.conversation_summary(older, ben).await.unwrap().unwrap();
    assert_eq!(summary.me.read_seq, head);

    let mut contacts = s.contacts_of(cat).await.unwrap();
    contacts.sort_by_key(|u| u.0);
    assert_eq!(contacts, [ann, ben]);
}

fn text(conversation: ConversationId, sender: UserId, client_id: &str) -> NewMessage {
    NewMessage {
        conversation_id: conversation,
        sender_id: sender,
        client_id: client_id.into(),
        body: format!("text of {client_id}"),
        reply_to: None,
        thread_only: false,
        mentions: MentionSet::default(),
        attachments: Vec::new(),
        notify: NotifyPlan::none(),
        admission: Admission::always(),
        now_ms: 5,
    }
}

/// A summary counts others' unread messages and those that mention the reader, and shows the
/// newest message.
pub async fn summaries_count_unread_and_mentions(s: Fresh) {
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let id = room(&*s, ann, &[ben], 1).await;
    for (i, mentions) in [
        MentionSet::default(),
        MentionSet {
            users: vec![ben],
            ..MentionSet::default()
        },
        MentionSet {
            here: true,
            ..MentionSet::default()
        },
    ]
    .into_iter()
    .enumerate()
    {
        let sent = s
            .send_message(NewMessage {
                mentions,
                ..text(id, ann, &format!("m{i}"))
            })
            .await
            .unwrap();
        assert!(matches!(sent, SendOutcome::Created { .. }), "{sent:?}");
    }
    s.send_message(text(id, ben, "own")).await.unwrap();
    let summary = s.conversation_summary(id, ben).await.unwrap().unwrap();
    assert_eq!((summary.unread, summary.mentions), (3, 2));
    let last = summary.last_message.unwrap();
    assert_eq!((last.sender_id, last.client_id.as_str()), (ben, "own"));
    let ann_view = s.conversation_summary(id, ann).await.unwrap().unwrap();
    assert_eq!((ann_view.unread, ann_view.mentions), (1, 0));
    s.mark_read(id, ben, last.seq, 9).await.unwrap();
    let summary = s.conversation_summary(id, ben).await.unwrap().unwrap();
    assert_eq!((summary.unread, summary.mentions), (0, 0));
}

/// Joining and leaving a team: the member is put into `#general`, a second add conflicts, roles
/// change, and leaving the team takes the member out of every channel of it.
pub async fn team_membership_follows_into_channels(s: Fresh) {
    let p = people(&*s, &["own", "mem", "out"]).await;
    let (own, mem, out) = (p[0], p[1], p[2]);
    let (team, _) = s.create_team("crew".into(), own, 1).await.unwrap();
    assert_eq!(team.member_count, 1);
    let general = team.default_channel;
    s.add_team_member(team.id, own, mem, MemberRole::Member, 2, None)
        .await
        .unwrap();
    assert!(matches!(
        s.add_team_member(team.id, own, mem, MemberRole::Member, 2, None)
            .await,
        Err(StorageError::Conflict)
    ));
    let (secret, _) = s
        .create_channel(NewChannel {
            team_id: team.id,
            name: "secret".into(),
            private: true,
            topic: None,
            creator: mem,
            now_ms: 3,
        })
        .await
        .unwrap();
    let mine: Vec<(TeamId, u32, MemberRole)> = s
        .teams_of(mem)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, m)| (t.id, t.member_count, m.role))
        .collect();
    assert_eq!(mine, [(team.id, 2, MemberRole::Member)]);
    s.set_team_roles(team.id, vec![(mem, MemberRole::Admin)], 4)
        .await
        .unwrap();
    assert_eq!(
        s.team_member(team.id, mem).await.unwrap().unwrap().role,
        MemberRole::Admin
    );
    assert!(matches!(
        s.set_team_roles(team.id, vec![(out, MemberRole::Admin)], 4)
            .await,
        Err(StorageError::NotFound)
    ));

    let left = s.remove_team_member(team.id, mem, mem, 5).await.unwrap();
    assert_eq!(left.len(), 3, "general, secret, then the users' logs");
    assert!(s.member(general, mem).await.unwrap().is_none());
    assert!(s.member(secret.id, mem).await.unwrap().is_none());
    assert!(s.team_member(team.id, mem).await.unwrap().is_none());
    assert!(s.teams_of(mem).await.unwrap().is_empty());
    assert!(matches!(
        s.remove_team_member(team.id, own, mem, 6).await,
        Err(StorageError::NotFound)
    ));
    let renamed = s.rename_team(team.id, "crew two".into(), 7).await.unwrap();
    assert_eq!(renamed.user_events.len(), 1);
    assert_eq!(
        s.team(team.id).await.unwrap().unwrap().name,
        "crew two".to_string()
    );

    let deleted = s.delete_team(team.id, 8).await.unwrap();
    assert!(!deleted.user_events.is_empty());
    assert!(s.team(team.id).await.unwrap().is_none());
    assert!(s.conversation(general).await.unwrap().is_none());
    assert!(s.conversation(secret.id).await.unwrap().is_none());
    assert!(matches!(
        s.delete_team(team.id, 9).await,
        Err(StorageError::NotFound)
    ));
}

/// Channels: names unique in a team ignoring case (also between concurrent creations), private
/// ones seen only by their members, topic and archive.
pub async fn channels_names_privacy_topic_and_archive(s: Fresh) {
    let p = people(&*s, &["own", "mem"]).await;
    let (own, mem) = (p[0], p[1]);
    let (team, _) = s.create_team("crew".into(), own, 1).await.unwrap();
    s.add_team_member(team.id, own, mem, MemberRole::Member, 2, None)
        .await
        .unwrap();
    let channel = |name: &str, private: bool| NewChannel {
        team_id: team.id,
        name: name.into(),
        private,
        topic: Some("about".into()),
        creator: own,
        now_ms: 3,
    };
    let creations = (0..4).map(|_| s.create_channel(channel("random", false)));
    let results = join_all(creations).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StorageError::Conflict)),
        "{results:?}"
    );
    assert!(matches!(
        s.create_channel(channel("RANDOM", false)).await,
        Err(StorageError::Conflict)
    ));
    let (secret, _) = s.create_channel(channel("secret", true)).await.unwrap();
    assert!(matches!(
        s.rename_conversation(secret.id, own, "Random".into(), 4)
            .await,
        Err(StorageError::Conflict)
    ));
    // Renaming to its own name in another case is not a conflict with itself.
    s.rename_conversation(secret.id, own, "Secret".into(), 4)
        .await
        .unwrap();
    // A creation and a rename racing for one name: one of them gets it.
    let (created, renamed) = futures_util::join!(
        s.create_channel(channel("news", false)),
        s.rename_conversation(secret.id, own, "NEWS".into(), 4)
    );
    assert!(
        created.is_ok() != renamed.is_ok(),
        "{created:?} {renamed:?}"
    );
    match created {
        Ok((news, _)) => s.delete_channel(news.id, 4).await.map(drop).unwrap(),
        Err(e) => assert!(matches!(e, StorageError::Conflict)),
    }
    if renamed.is_ok() {
        s.rename_conversation(secret.id, own, "Secret".into(), 4)
            .await
            .unwrap();
    } else {
        assert!(matches!(renamed, Err(StorageError::Conflict)));
    }

    let names = |list: Vec<jeco_server::storage::ChannelRecord>| -> Vec<String> {
        list.into_iter()
            .map(|c| c.conversation.name.unwrap_or_default())
            .collect()
    };
    assert_eq!(
        names(s.channels_visible_to(team.id, own).await.unwrap()),
        ["Secret", "general", "random"]
    );
    assert_eq!(
        names(s.channels_visible_to(team.id, mem).await.unwrap()),
        ["general", "random"]
    );

    let topic = s
        .set_topic(secret.id, own, Some("plans".into()), 5)
        .await
        .unwrap();
    assert_eq!(topic.recipients, [own]);
    let record = s.channel(secret.id).await.unwrap().unwrap();
    assert_eq!(
        (record.topic.as_deref(), record.private, record.member_count),
        (Some("plans"), true, 1)
    );
    assert!(
        s.set_archived(secret.id, own, true, 6)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.set_archived(secret.id, own, true, 7)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.channel(secret.id).await.unwrap().unwrap().archived);
    assert!(
        s.set_archived(secret.id, own, false, 8)
            .await
            .unwrap()
            .is_some()
    );
    assert!(!s.channel(secret.id).await.unwrap().unwrap().archived);
    let group = room(&*s, own, &[mem], 9).await;
    assert!(s.channel(group).await.unwrap().is_none());

    let deleted = s.delete_channel(secret.id, 10).await.unwrap();
    assert_eq!(deleted.user_events.len(), 1);
    assert!(s.channel(secret.id).await.unwrap().is_none());
    assert_eq!(
        names(s.channels_visible_to(team.id, own).await.unwrap()),
        ["general", "random"]
    );
}

/// A code with three uses left admits exactly three of eight concurrent newcomers; revoking and
/// expiry stop a code; revoking answers only for the team's own codes.
pub async fn invite_uses_hold_under_concurrent_redemption(s: Fresh) {
    let names: Vec<String> = (0..9).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let p = people(&*s, &names).await;
    let own = p[0];
    let (team, _) = s.create_team("crew".into(), own, 1).await.unwrap();
    let (other, _) = s.create_team("other".into(), own, 1).await.unwrap();
    let invite = s
        .create_invite(NewInvite {
            team_id: team.id,
            code: "three".into(),
            created_by: own,
            expires_at_ms: Some(1000),
            max_uses: Some(3),
            now_ms: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        (invite.uses, invite.max_uses, invite.revoked),
        (0, Some(3), false)
    );
    let redemptions = p[1..]
        .iter()
        .map(|&u| s.redeem_invite("three".into(), u, 10));
    let results: Vec<Redeemed> = join_all(redemptions)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let joined = results
        .iter()
        .filter(|r| matches!(r, Redeemed::Joined { .. }))
        .count();
    let used_up = results
        .iter()
        .filter(|r| matches!(r, Redeemed::UsedUp))
        .count();
    assert_eq!(
        (joined, used_up),
        (3, 5),
        "three joined, the rest found it used up"
    );
    assert_eq!(s.team(team.id).await.unwrap().unwrap().member_count, 4);
    let stored = s.invites(team.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].uses, 3);
    let general = s.team(team.id).await.unwrap().unwrap().default_channel;
    assert_eq!(s.members(general).await.unwrap().len(), 4);

    let open = s
        .create_invite(NewInvite {
            team_id: team.id,
            code: "open".into(),
            created_by: own,
            expires_at_ms: Some(1000),
            max_uses: None,
            now_ms: 2,
        })
        .await
        .unwrap();
    assert!(matches!(
        s.redeem_invite("open".into(), p[8], 1000).await.unwrap(),
        Redeemed::Expired
    ));
    assert!(matches!(
        s.revoke_invite(other.id, open.id, 3).await,
        Err(StorageError::NotFound)
    ));
    let revoked = s.revoke_invite(team.id, open.id, 3).await.unwrap();
    assert!(revoked.revoked);
    assert!(matches!(
        s.redeem_invite("open".into(), p[8], 10).await.unwrap(),
        Redeemed::Revoked
    ));
    let ids: Vec<_> = s
        .invites(team.id)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, [open.id, invite.id], "newest first");
    assert!(matches!(
        s.create_invite(NewInvite {
            team_id: other.id,
            code: "open".into(),
            created_by: own,
            expires_at_ms: None,
            max_uses: None,
            now_ms: 4,
        })
        .await,
        Err(StorageError::Conflict)
    ));
}

fn upload(id: &str, uploader: UserId, size: u64) -> UploadRecord {
    UploadRecord {
        id: id.into(),
        uploader_id: uploader,
        name: format!("{id}.bin"),
        kind: AttachmentKind::Voice,
        size,
        received: 0,
        sha256: None,
        duration_ms: Some(1500),
        waveform: Some(vec![0, 7, 255]),
        created_at_ms: 1,
        updated_at_ms: 1,
    }
}

fn blob(sha: char, size: u64, thumbnail: ThumbnailState) -> BlobRecord {
    BlobRecord {
        sha256: sha.to_string().repeat(64),
        size,
        content_type: "image/png".into(),
        width: Some(640),
        height: Some(480),
        thumbnail,
        thumbnail_type: None,
        created_at_ms: 2,
    }
}

fn attachment(uploader: UserId, created_at_ms: i64) -> NewAttachment {
    NewAttachment {
        uploader_id: uploader,
        kind: AttachmentKind::Voice,
        name: "note.ogg".into(),
        duration_ms: Some(1500),
        waveform: Some(vec![0, 7, 255]),
        created_at_ms,
    }
}

/// Ten concurrent uploads of 30 bytes against a quota of 100: exactly three get in.
pub async fn upload_quota_holds_under_concurrent_uploads(s: Fresh) {
    let p = people(&*s, &["ann", "ben"]).await;
    let (ann, ben) = (p[0], p[1]);
    let uploads = (0..10).map(|i| s.create_upload(upload(&format!("u{i}"), ann, 30), Some(100)));
    let results: Vec<UploadAdmission> = join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = results
        .iter()
        .filter(|r| **r == UploadAdmission::Created)
        .count();
    assert_eq!(created, 3, "{results:?}");
    assert!(results.iter().all(|r| matches!(
        r,
        UploadAdmission::Created | UploadAdmission::OverQuota { .. }
    )));
    // Another user's quota is their own.
    assert_eq!(
        s.create_upload(upload("b1", ben, 100), Some(100))
            .await
            .unwrap(),
        UploadAdmission::Created
    );
    let usage = s.media_usage().await.unwrap();
    let rows: Vec<(UserId, u64, u64)> = usage
        .iter()
        .map(|u| (u.user_id, u.upload_bytes, u.uploads))
        .collect();
    assert_eq!(rows, [(ben, 100, 1), (ann, 90, 3)]);
    let stored = s.upload("b1").await.unwrap().unwrap();
    assert_eq!(
        (stored.kind, stored.duration_ms, stored.waveform),
        (AttachmentKind::Voice, Some(1500), Some(vec![0, 7, 255]))
    );
    assert!(matches!(
        s.set_upload_received("missing", 1, 2).await,
        Err(StorageError::NotFound)
    ));
}

/// Same content is stored once; thumbnails move from pending; unattached attachments older than
/// the cut are swept; a blob is an orphan only when no attachment and no avatar uses it.
pub async fn media_dedup_thumbnails_avatars_and_sweeping(s: Fresh) {
    let ann = people(&*s, &["ann"]).await[0];
    for (id, at) in [("old1", 2), ("old2", 3), ("new", 50)] {
        s.create_upload(upload(id, ann, 10), None).await.unwrap();
        let record = s
            .complete_upload(
                id,
                blob('c', 10, ThumbnailState::Pending),
                attachment(ann, at),
            )
            .await
            .unwrap();
        assert_eq!(
            (record.blob.width, record.duration_ms, record.message_id),
            (Some(640), Some(1500), None)
        );
    }
    assert!(matches!(
        s.complete_upload(
            "old1",
            blob('c', 10, ThumbnailState::None),
            attachment(ann, 1)
        )
        .await,
        Err(StorageError::NotFound)
    ));
    let sha = "c".repeat(64);
    assert_eq!(
        s.pending_thumbnails().await.unwrap(),
        std::slice::from_ref(&sha)
    );
    s.set_thumbnail(&sha, ThumbnailState::Ready, Some("image/webp".into()))
        .await
        .unwrap();
    let stored = s.blob(&sha).await.unwrap().unwrap();
    assert_eq!(
        (stored.thumbnail, stored.thumbnail_type.as_deref()),
        (ThumbnailState::Ready, Some("image/webp"))
    );
    assert!(s.pending_thumbnails().await.unwrap().is_empty());

    assert_eq!(s.delete_unattached(10).await.unwrap(), 2);
    assert!(
        s.orphan_blobs(10).await.unwrap().is_empty(),
        "still attached"
    );
    assert_eq!(s.delete_unattached(100).await.unwrap(), 1);
    assert_eq!(s.orphan_blobs(10).await.unwrap().len(), 1);

    // An avatar keeps the blob; replacing it returns the previous one.
    let user = AvatarOwner::User(ann);
    assert_eq!(
        s.set_avatar(user, Some(blob('c', 10, ThumbnailState::None)))
            .await
            .unwrap(),
        None
    );
    assert!(s.orphan_blobs(10).await.unwrap().is_empty());
    assert!(!s.delete_orphan_blob(&sha).await.unwrap());
    assert_eq!(s.avatar(user).await.unwrap().unwrap().sha256, sha);
    assert_eq!(
        s.set_avatar(user, Some(blob('d', 20, ThumbnailState::None)))
            .await
            .unwrap(),
        Some(sha.clone())
    );
    assert!(s.delete_orphan_blob(&sha).await.unwrap());
    assert!(s.blob(&sha).await.unwrap().is_none());
    assert!(!s.delete_orphan_blob(&sha).await.unwrap());
    assert_eq!(
        s.set_avatar(user, None).await.unwrap(),
        Some("d".repeat(64))
    );
    assert!(s.avatar(user).await.unwrap().is_none());
    assert!(matches!(
        s.set_avatar(AvatarOwner::User(UserId(9999)), None).await,
        Err(StorageError::NotFound)
    ));
    let (team, _) = s.create_team("crew".into(), ann, 1).await.unwrap();
    let team = AvatarOwner::Team(team.id);
    s.set_avatar(team, Some(blob('e', 5, ThumbnailState::None)))
        .await
        .unwrap();
    assert_eq!(s.avatar(team).await.unwrap().unwrap().size, 5);
}

type Change<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StorageError>> + Send + 'a>>;

/// Changes of two teams that share members, their channels, groups and direct conversations, all
/// run at once: every one succeeds (no two transactions wait for each other's locks in a cycle)
/// and every user's own log stays numbered 1, 2, 3…
pub async fn overlapping_team_changes_at_once_all_succeed(s: Fresh) {
    let names: Vec<String> = (0..6).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let people = people(&*s, &names).await;
    let p = &people[..];
    let (a, _) = s.create_team("a".into(), p[0], 1).await.unwrap();
    let (b, _) = s.create_team("b".into(), p[1], 1).await.unwrap();
    let s: &dyn Storage = &*s;
    let mut changes: Vec<Change<'_>> = Vec::new();
    for &u in &p[2..] {
        changes.push(Box::pin(async move {
            s.add_team_member(a.id, p[0], u, MemberRole::Member, 2, None)
                .await
                .map(drop)
        }));
        changes.push(Box::pin(async move {
            s.add_team_member(b.id, p[1], u, MemberRole::Member, 2, None)
                .await
                .map(drop)
        }));
        changes.push(Box::pin(async move {
            s.open_direct(u, p[0], 2).await.map(drop)
        }));
    }
    for (i, team) in [a.id, b.id].into_iter().enumerate() {
        changes.push(Box::pin(async move {
            s.rename_team(team, format!("renamed {i}"), 3)
                .await
                .map(drop)
        }));
        changes.push(Box::pin(async move {
            s.create_channel(NewChannel {
                team_id: team,
                name: "side".into(),
                private: false,
                topic: None,
                creator: p[i],
                now_ms: 3,
            })
            .await
            .map(drop)
        }));
    }
    changes.push(Box::pin(async move {
        s.add_team_member(a.id, p[0], p[1], MemberRole::Admin, 4, None)
            .await
            .map(drop)
    }));
    changes.push(Box::pin(async move {
        s.add_team_member(b.id, p[1], p[0], MemberRole::Admin, 4, None)
            .await
            .map(drop)
    }));
    changes.push(Box::pin(async move {
        s.create_group(NewGroup {
            name: "all".into(),
            owner: p[5],
            members: p[..5].to_vec(),
            now_ms: 4,
            added_preview: None,
        })
        .await
        .map(drop)
    }));
    for result in join_all(changes).await {
        result.unwrap();
    }
    for (team, size) in [(a.id, 6), (b.id, 6)] {
        assert_eq!(s.team(team).await.unwrap().unwrap().member_count, size);
        let general = s.team(team).await.unwrap().unwrap().default_channel;
        assert_eq!(s.members(general).await.unwrap().len(), size as usize);
    }
    for &u in p {
        let seqs: Vec<i64> = s
            .user_events_after(u, 0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{u:?}");
        assert_eq!(s.user_event_head(u).await.unwrap(), seqs.len() as i64);
    }
}
