//! Snapshot tests of every serialized protocol type: a change to the wire format shows up as a
//! snapshot diff and has to be accepted on purpose (`cargo insta review`).

use jeco_shared::account::*;
use jeco_shared::auth::*;
use jeco_shared::contacts::*;
use jeco_shared::conversations::*;
use jeco_shared::events::*;
use jeco_shared::health::Health;
use jeco_shared::media::*;
use jeco_shared::messages::*;
use jeco_shared::notifications::*;
use jeco_shared::search::*;
use jeco_shared::teams::*;
use jeco_shared::users::*;
use jeco_shared::ws::*;
use jeco_shared::*;
use std::collections::BTreeMap;

fn user() -> User {
    User {
        id: UserId(42),
        username: "ada".into(),
        display_name: Some("Ada Lovelace".into()),
        bio: None,
        status_text: Some("computing".into()),
        is_admin: false,
        deactivated: false,
        created_at: "2026-11-23T10:00:00Z".into(),
        avatar: None,
    }
}

#[test]
fn error_bodies() {
    insta::assert_json_snapshot!(
        "error_plain",
        ErrorBody::new(ErrorCode::UsernameTaken, "username is taken")
    );
    let mut fields = BTreeMap::new();
    fields.insert(
        "username".to_string(),
        "must be at least 3 characters".to_string(),
    );
    insta::assert_json_snapshot!(
        "error_fields",
        ErrorBody::new(ErrorCode::ValidationFailed, "invalid fields").with_fields(fields)
    );
    insta::assert_json_snapshot!(
        "error_request_id",
        ErrorBody::new(ErrorCode::NotFound, "no such route").with_request_id("01J9Z4T6Q8")
    );
    // A body from a server that sends no request id still reads (older servers).
    let old: ErrorBody =
        serde_json::from_str(r#"{"error":{"code":"username_taken","message":"taken"}}"#).unwrap();
    assert_eq!(old.error.request_id, None);
}

#[test]
fn auth_bodies() {
    insta::assert_json_snapshot!(
        "register_request",
        RegisterRequest {
            username: "ada".into(),
            password: "correct horse".into(),
            display_name: Some("Ada".into())
        }
    );
    insta::assert_json_snapshot!(
        "login_request",
        LoginRequest {
            username: "ada".into(),
            password: "pw".into()
        }
    );
    insta::assert_json_snapshot!(
        "refresh_request",
        RefreshRequest {
            refresh_token: "r".into()
        }
    );
    insta::assert_json_snapshot!(
        "token_response",
        TokenResponse {
            access_token: "a.b.c".into(),
            refresh_token: "opaque".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            user: user(),
        }
    );
    insta::assert_json_snapshot!(
        "access_claims",
        AccessClaims {
            sub: "42".into(),
            sid: 7,
            iat: 1,
            exp: 901,
            adm: false
        }
    );
}

#[test]
fn user_bodies() {
    insta::assert_json_snapshot!("user", user());
    insta::assert_json_snapshot!(
        "user_page",
        UserPage {
            items: vec![user()],
            next_cursor: Some("42".into())
        }
    );
    insta::assert_json_snapshot!(
        "update_profile",
        UpdateProfileRequest {
            display_name: Some(Some("A".into())),
            bio: Some(None),
            status_text: None
        }
    );
    insta::assert_json_snapshot!(
        "health",
        Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            protocol: PROTOCOL_VERSION.into()
        }
    );
}

#[test]
fn ws_frames() {
    insta::assert_json_snapshot!(
        "ws_hello",
        ClientFrame::Hello {
            protocol: "1.0".into(),
            token: Some("a.b.c".into()),
            client: Some("jeco-cli/0.1.0".into()),
            resume: None,
        }
    );
    insta::assert_json_snapshot!("ws_ping", ClientFrame::Ping { nonce: 3 });
    insta::assert_json_snapshot!(
        "ws_ready",
        ServerFrame::Ready {
            protocol: "1.0".into(),
            server_version: "0.1.0".into(),
            user: user(),
            session_id: SessionId(7),
            heartbeat_interval_ms: 15000,
            idle_timeout_ms: 45000,
            user_seq: 12,
        }
    );
    insta::assert_json_snapshot!("ws_pong", ServerFrame::Pong { nonce: 3 });
    insta::assert_json_snapshot!(
        "ws_error",
        ServerFrame::Error {
            code: ErrorCode::UnknownFrame,
            message: "unknown frame type".into(),
            frame: Some("nope".into()),
            client_id: None,
        }
    );
}

#[test]
fn frames_round_trip() {
    let frames = [
        ClientFrame::Hello {
            protocol: "1.0".into(),
            token: None,
            client: None,
            resume: Some(resume()),
        },
        ClientFrame::Ping { nonce: u64::MAX },
        send_frame(),
    ];
    for f in frames {
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<ClientFrame>(&s).unwrap(), f);
    }
}

fn message() -> Message {
    Message {
        id: MessageId(9),
        conversation_id: ConversationId(3),
        seq: 12,
        sender_id: UserId(42),
        client_id: "0b7e-4c1a".into(),
        text: "hi @bob".into(),
        reply_to: Some(MessageId(8)),
        thread_only: false,
        reply_count: 0,
        last_repliers: vec![],
        created_at: "2026-11-23T10:00:00Z".into(),
        edited_at: None,
        deleted: false,
        pinned: false,
        mentions: Mentions {
            user_ids: vec![UserId(7)],
            channel: false,
            here: false,
        },
        reactions: vec![Reaction {
            emoji: "👍".into(),
            count: 1,
            user_ids: vec![UserId(7)],
        }],
        attachments: vec![],
    }
}

fn attachment() -> Attachment {
    Attachment {
        id: AttachmentId(5),
        kind: AttachmentKind::Image,
        name: "cat.png".into(),
        content_type: "image/png".into(),
        size: 48_213,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        width: Some(640),
        height: Some(480),
        duration_ms: None,
        waveform: None,
        has_thumbnail: true,
        created_at: "2026-11-23T10:00:00Z".into(),
    }
}

fn voice_note() -> Attachment {
    Attachment {
        id: AttachmentId(6),
        kind: AttachmentKind::Voice,
        name: "voice.ogg".into(),
        content_type: "audio/ogg".into(),
        size: 9_000,
        sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into(),
        width: None,
        height: None,
        duration_ms: Some(4200),
        waveform: Some(vec![0, 12, 200, 255, 31]),
        has_thumbnail: false,
        created_at: "2026-11-23T10:00:00Z".into(),
    }
}

fn resume() -> Resume {
    Resume {
        conversations: vec![Position {
            conversation_id: ConversationId(3),
            seq: 11,
        }],
        user_seq: 4,
    }
}

fn send_frame() -> ClientFrame {
    ClientFrame::Send {
        conversation_id: ConversationId(3),
        client_id: "0b7e-4c1a".into(),
        text: "hi @bob".into(),
        reply_to: None,
        thread_only: false,
        attachment_ids: vec![],
    }
}

#[test]
fn conversation_bodies() {
    let member = Member {
        user_id: UserId(42),
        role: MemberRole::Owner,
        joined_at: "2026-11-23T10:00:00Z".into(),
    };
    insta::assert_json_snapshot!(
        "conversation",
        Conversation {
            id: ConversationId(3),
            kind: ConversationKind::Direct,
            name: None,
            created_at: "2026-11-23T10:00:00Z".into(),
            last_activity_at: "2026-11-23T10:05:00Z".into(),
            last_seq: 12,
            read_seq: 10,
            unread_count: 1,
            mention_count: 1,
            my_role: MemberRole::Member,
            last_message: Some(MessagePreview {
                id: MessageId(9),
                sender_id: UserId(7),
                text: "hi @ada".into(),
                deleted: false,
                created_at: "2026-11-23T10:05:00Z".into(),
            }),
            members: vec![member.clone()],
            peer_presence: Some(PresenceStatus::Online),
            channel: None,
            muted: true,
        }
    );
    insta::assert_json_snapshot!(
        "create_group",
        CreateGroupRequest {
            name: "Trip".into(),
            member_ids: vec![UserId(7)]
        }
    );
    insta::assert_json_snapshot!("open_direct", OpenDirectRequest { user_id: UserId(7) });
    insta::assert_json_snapshot!(
        "update_conversation",
        UpdateConversationRequest {
            name: Some("Trip".into()),
            ..Default::default()
        }
    );
    insta::assert_json_snapshot!(
        "add_members",
        AddMembersRequest {
            user_ids: vec![UserId(7)]
        }
    );
    insta::assert_json_snapshot!("mark_read", MarkReadRequest { seq: 12 });
    insta::assert_json_snapshot!(
        "read_state",
        ReadState {
            conversation_id: ConversationId(3),
            read_seq: 12,
            unread_count: 0,
            mention_count: 0
        }
    );
    insta::assert_json_snapshot!("member", member);
}

#[test]
fn message_bodies() {
    insta::assert_json_snapshot!("message", message());
    insta::assert_json_snapshot!(
        "message_page",
        MessagePage {
            items: vec![message()],
            has_more_before: true,
            has_more_after: false
        }
    );
    insta::assert_json_snapshot!(
        "send_message",
        SendMessageRequest {
            client_id: "0b7e-4c1a".into(),
            text: "hi".into(),
            reply_to: Some(MessageId(8)),
            thread_only: false,
            attachment_ids: vec![],
        }
    );
    insta::assert_json_snapshot!(
        "send_thread_only_reply",
        SendMessageRequest {
            client_id: "0b7e-4c1c".into(),
            text: "in the thread only".into(),
            reply_to: Some(MessageId(8)),
            thread_only: true,
            attachment_ids: vec![],
        }
    );
    insta::assert_json_snapshot!(
        "thread_list",
        ThreadList {
            items: vec![ThreadSummary {
                root: Message {
                    reply_to: None,
                    reply_count: 3,
                    last_repliers: vec![UserId(7), UserId(42)],
                    ..message()
                },
                last_reply_at: "2026-11-23T10:07:00Z".into(),
            }],
        }
    );
    insta::assert_json_snapshot!(
        "thread_only_reply",
        Message {
            thread_only: true,
            ..message()
        }
    );
    insta::assert_json_snapshot!(
        "send_message_with_attachments",
        SendMessageRequest {
            client_id: "0b7e-4c1b".into(),
            text: String::new(),
            reply_to: None,
            thread_only: false,
            attachment_ids: vec![AttachmentId(5), AttachmentId(6)],
        }
    );
    insta::assert_json_snapshot!(
        "message_with_attachments",
        Message {
            text: String::new(),
            reactions: vec![],
            attachments: vec![attachment(), voice_note()],
            ..message()
        }
    );
    insta::assert_json_snapshot!("edit_message", EditMessageRequest { text: "hi!".into() });
    insta::assert_json_snapshot!(
        "reaction_request",
        ReactionRequest {
            emoji: "👍".into(),
            add: None,
        }
    );
    insta::assert_json_snapshot!(
        "reaction_request_set",
        ReactionRequest {
            emoji: "👍".into(),
            add: Some(true),
        }
    );
    insta::assert_json_snapshot!(
        "reaction_toggled",
        ReactionToggled {
            added: true,
            reactions: message().reactions
        }
    );
}

fn event(body: EventBody) -> ServerFrame {
    ServerFrame::Event(ConversationEvent {
        conversation_id: ConversationId(3),
        seq: 12,
        at: "2026-11-23T10:00:00Z".into(),
        actor_id: UserId(42),
        body,
    })
}

#[test]
fn event_frames() {
    let m = MessageId(9);
    let u = UserId(7);
    let bodies = [
        (
            "created",
            EventBody::ConversationCreated {
                conversation_kind: ConversationKind::Group,
                name: Some("Trip".into()),
            },
        ),
        (
            "renamed",
            EventBody::ConversationRenamed {
                name: "Trip 2".into(),
            },
        ),
        (
            "member_added",
            EventBody::MemberAdded {
                user_id: u,
                role: MemberRole::Member,
            },
        ),
        ("member_removed", EventBody::MemberRemoved { user_id: u }),
        (
            "member_role_changed",
            EventBody::MemberRoleChanged {
                user_id: u,
                role: MemberRole::Owner,
            },
        ),
        (
            "message_created",
            EventBody::MessageCreated { message: message() },
        ),
        (
            "message_edited",
            EventBody::MessageEdited {
                message_id: m,
                text: "hi!".into(),
                edited_at: "2026-11-23T10:01:00Z".into(),
                mentions: Mentions::default(),
            },
        ),
        (
            "message_deleted",
            EventBody::MessageDeleted {
                message_id: m,
                thread: None,
            },
        ),
        (
            "reply_deleted",
            EventBody::MessageDeleted {
                message_id: MessageId(43),
                thread: Some(ThreadTally {
                    root: m,
                    reply_count: 2,
                    last_repliers: vec![u, UserId(8)],
                }),
            },
        ),
        (
            "reaction_added",
            EventBody::ReactionAdded {
                message_id: m,
                user_id: u,
                emoji: "👍".into(),
            },
        ),
        (
            "reaction_removed",
            EventBody::ReactionRemoved {
                message_id: m,
                user_id: u,
                emoji: "👍".into(),
            },
        ),
        ("pinned", EventBody::MessagePinned { message_id: m }),
        ("unpinned", EventBody::MessageUnpinned { message_id: m }),
        (
            "read_receipt",
            EventBody::ReadReceipt {
                user_id: u,
                read_seq: 12,
            },
        ),
    ];
    for (name, body) in bodies {
        let frame = event(body);
        insta::assert_json_snapshot!(format!("ws_event_{name}"), frame);
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), frame);
    }
    let user_events = [
        (
            "added",
            UserEventBody::ConversationAdded {
                conversation_id: ConversationId(3),
                from_seq: 5,
            },
        ),
        (
            "removed",
            UserEventBody::ConversationRemoved {
                conversation_id: ConversationId(3),
            },
        ),
        (
            "notification_created",
            UserEventBody::NotificationCreated {
                notification: notification(),
            },
        ),
        (
            "notification_added_to_team",
            UserEventBody::NotificationCreated {
                notification: Notification {
                    kind: NotificationKind::AddedToTeam,
                    conversation_id: None,
                    message_id: None,
                    team_id: Some(TeamId(4)),
                    preview: "Ada added you to the team Rockets".into(),
                    ..notification()
                },
            },
        ),
        (
            "notification_added_to_conversation",
            UserEventBody::NotificationCreated {
                notification: Notification {
                    kind: NotificationKind::AddedToConversation,
                    message_id: None,
                    preview: "Ada added you to #launch".into(),
                    ..notification()
                },
            },
        ),
        (
            "contact_request_changed",
            UserEventBody::ContactRequestChanged {
                request: contact_request(),
            },
        ),
        (
            "contact_removed",
            UserEventBody::ContactRemoved { user_id: UserId(7) },
        ),
        (
            "notification_read",
            UserEventBody::NotificationRead {
                notification_id: NotificationId(17),
            },
        ),
        (
            "notifications_read_all",
            UserEventBody::NotificationsReadAll {
                up_to: NotificationId(17),
            },
        ),
    ];
    for (name, body) in user_events {
        let frame = ServerFrame::UserEvent(UserEvent {
            seq: 4,
            at: "2026-11-23T10:00:00Z".into(),
            body,
        });
        insta::assert_json_snapshot!(format!("ws_user_event_{name}"), frame);
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), frame);
    }
}

#[test]
fn realtime_frames() {
    insta::assert_json_snapshot!(
        "ws_hello_resume",
        ClientFrame::Hello {
            protocol: "1.0".into(),
            token: None,
            client: None,
            resume: Some(resume()),
        }
    );
    insta::assert_json_snapshot!("ws_send", send_frame());
    insta::assert_json_snapshot!(
        "ws_typing_client",
        ClientFrame::Typing {
            conversation_id: ConversationId(3),
            active: true
        }
    );
    insta::assert_json_snapshot!(
        "ws_mark_read",
        ClientFrame::MarkRead {
            conversation_id: ConversationId(3),
            seq: 12
        }
    );
    insta::assert_json_snapshot!(
        "ws_set_presence",
        ClientFrame::SetPresence {
            status: PresenceStatus::Away
        }
    );
    insta::assert_json_snapshot!(
        "ws_ack",
        ServerFrame::Ack {
            client_id: "0b7e-4c1a".into(),
            message: message()
        }
    );
    insta::assert_json_snapshot!("ws_caught_up", ServerFrame::CaughtUp);
    insta::assert_json_snapshot!(
        "ws_resync",
        ServerFrame::Resync {
            conversation_id: Some(ConversationId(3)),
            seq: 40
        }
    );
    insta::assert_json_snapshot!(
        "ws_typing",
        ServerFrame::Typing {
            conversation_id: ConversationId(3),
            user_id: UserId(7),
            active: true,
            expires_in_ms: 6000
        }
    );
    insta::assert_json_snapshot!(
        "ws_presence",
        ServerFrame::Presence {
            user_id: UserId(7),
            status: PresenceStatus::Online
        }
    );
    insta::assert_json_snapshot!(
        "ws_error_send",
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "too many messages; slow down".into(),
            frame: Some("send".into()),
            client_id: Some("0b7e-4c1a".into())
        }
    );
}

#[test]
fn team_bodies() {
    insta::assert_json_snapshot!(
        "team",
        Team {
            id: TeamId(2),
            name: "Rocket".into(),
            created_at: "2026-11-23T10:00:00Z".into(),
            my_role: MemberRole::Admin,
            member_count: 3,
            default_channel_id: ConversationId(5),
            avatar: None,
        }
    );
    insta::assert_json_snapshot!(
        "team_with_avatar",
        Team {
            id: TeamId(2),
            name: "Rocket".into(),
            created_at: "2026-11-23T10:00:00Z".into(),
            my_role: MemberRole::Member,
            member_count: 3,
            default_channel_id: ConversationId(5),
            avatar: Some("3f2a9c1d0b7e".into()),
        }
    );
    insta::assert_json_snapshot!(
        "add_team_member",
        AddTeamMemberRequest {
            user_id: UserId(7),
            role: Some(MemberRole::Admin),
        }
    );
    insta::assert_json_snapshot!(
        "create_invite",
        CreateInviteRequest {
            expires_in_secs: Some(3600),
            max_uses: Some(5),
        }
    );
    insta::assert_json_snapshot!(
        "invite",
        Invite {
            id: InviteId(4),
            team_id: TeamId(2),
            code: "k3J9xQ2mPz8wV1aB".into(),
            created_by: UserId(1),
            created_at: "2026-11-23T10:00:00Z".into(),
            expires_at: Some("2026-11-23T11:00:00Z".into()),
            max_uses: Some(5),
            uses: 1,
            revoked: false,
        }
    );
    insta::assert_json_snapshot!(
        "channel",
        Channel {
            id: ConversationId(9),
            name: "design".into(),
            info: ChannelInfo {
                team_id: TeamId(2),
                topic: Some("Pixels".into()),
                private: true,
                archived: false,
                is_default: false,
            },
            member_count: 2,
            joined: true,
        }
    );
    insta::assert_json_snapshot!(
        "create_channel",
        CreateChannelRequest {
            name: "design".into(),
            private: true,
            topic: None,
        }
    );
    insta::assert_json_snapshot!(
        "update_channel",
        UpdateConversationRequest {
            topic: Some("Pixels".into()),
            archived: Some(true),
            ..Default::default()
        }
    );
    insta::assert_json_snapshot!(
        "ws_event_topic_changed",
        event(EventBody::TopicChanged {
            topic: Some("Pixels".into())
        })
    );
    insta::assert_json_snapshot!(
        "ws_event_archived_changed",
        event(EventBody::ArchivedChanged { archived: true })
    );
    for (name, body) in [
        (
            "ws_user_event_team_added",
            UserEventBody::TeamAdded {
                team_id: TeamId(2),
                role: MemberRole::Member,
            },
        ),
        (
            "ws_user_event_team_removed",
            UserEventBody::TeamRemoved { team_id: TeamId(2) },
        ),
        (
            "ws_user_event_team_changed",
            UserEventBody::TeamChanged { team_id: TeamId(2) },
        ),
    ] {
        let frame = ServerFrame::UserEvent(UserEvent {
            seq: 4,
            at: "2026-11-23T10:00:00Z".into(),
            body,
        });
        insta::assert_json_snapshot!(name, frame);
        let back: ServerFrame =
            serde_json::from_str(&serde_json::to_string(&frame).unwrap()).unwrap();
        assert_eq!(back, frame);
    }
}
fn notification() -> Notification {
    Notification {
        id: NotificationId(17),
        kind: NotificationKind::Mention,
        actor_id: Some(UserId(7)),
        conversation_id: Some(ConversationId(3)),
        message_id: Some(MessageId(9)),
        contact_request_id: None,
        team_id: None,
        preview: "hi @ada".into(),
        created_at: "2026-11-23T10:05:00Z".into(),
        read_at: None,
    }
}

fn contact_request() -> ContactRequest {
    ContactRequest {
        id: ContactRequestId(5),
        from_user_id: UserId(7),
        to_user_id: UserId(42),
        status: ContactRequestStatus::Accepted,
        created_at: "2026-11-23T10:00:00Z".into(),
        resolved_at: Some("2026-11-23T10:05:00Z".into()),
    }
}

#[test]
fn notification_bodies() {
    insta::assert_json_snapshot!(
        "notification_page",
        NotificationPage {
            items: vec![notification()],
            next_before: Some(NotificationId(17)),
            unread_count: 3,
        }
    );
    insta::assert_json_snapshot!(
        "unread_notifications",
        UnreadNotifications { unread_count: 3 }
    );
    insta::assert_json_snapshot!("mute_request", MuteRequest { muted: true });
    insta::assert_json_snapshot!(
        "mute_state",
        MuteState {
            conversation_id: ConversationId(3),
            muted: true
        }
    );
    for kind in [
        NotificationKind::Welcome,
        NotificationKind::DirectMessage,
        NotificationKind::Reply,
        NotificationKind::ContactRequest,
        NotificationKind::ContactAccepted,
    ] {
        let text = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            serde_json::from_str::<NotificationKind>(&text).unwrap(),
            kind
        );
    }
}

#[test]
fn contact_bodies() {
    insta::assert_json_snapshot!("contact_request", contact_request());
    insta::assert_json_snapshot!(
        "contact_request_list",
        ContactRequestList {
            incoming: vec![contact_request()],
            outgoing: vec![],
        }
    );
    insta::assert_json_snapshot!(
        "send_contact_request",
        SendContactRequest { user_id: UserId(7) }
    );
    insta::assert_json_snapshot!(
        "contact_list",
        ContactList {
            items: vec![Contact {
                user: user(),
                since: "2026-11-23T10:05:00Z".into(),
                presence: PresenceStatus::Away,
            }],
        }
    );
}

#[test]
fn search_bodies() {
    let message = Message {
        id: MessageId(9),
        conversation_id: ConversationId(3),
        seq: 12,
        sender_id: UserId(7),
        client_id: "c1".into(),
        text: "the quick brown fox".into(),
        reply_to: None,
        thread_only: false,
        reply_count: 0,
        last_repliers: vec![],
        created_at: "2026-11-23T10:05:00Z".into(),
        edited_at: None,
        deleted: false,
        pinned: false,
        mentions: Mentions::default(),
        reactions: vec![],
        attachments: vec![],
    };
    insta::assert_json_snapshot!(
        "search_page",
        SearchPage {
            items: vec![SearchHit {
                message,
                snippet: vec![
                    SnippetPart {
                        text: "the quick ".into(),
                        highlight: false
                    },
                    SnippetPart {
                        text: "brown".into(),
                        highlight: true
                    },
                    SnippetPart {
                        text: " fox".into(),
                        highlight: false
                    },
                ],
            }],
            next_cursor: Some(cursor_after(MessageId(9))),
        }
    );
    assert_eq!(parse_cursor("m9"), Some(MessageId(9)));
    assert_eq!(parse_cursor("9"), None);
    assert_eq!(parse_cursor("mx"), None);
}

#[test]
fn media_bodies() {
    insta::assert_json_snapshot!("attachment_image", attachment());
    insta::assert_json_snapshot!("attachment_voice", voice_note());
    insta::assert_json_snapshot!(
        "create_upload",
        CreateUploadRequest {
            name: "voice.ogg".into(),
            size: 9_000,
            kind: AttachmentKind::Voice,
            sha256: Some(voice_note().sha256),
            duration_ms: Some(4200),
            waveform: Some(vec![0, 12, 200, 255, 31]),
        }
    );
    insta::assert_json_snapshot!(
        "upload_in_progress",
        Upload {
            id: "k3J9xQ2mV8pL0aZ7tR4wYe".into(),
            name: "cat.png".into(),
            size: 48_213,
            offset: 16_384,
            expires_at: "2026-11-24T10:00:00Z".into(),
            attachment: None,
        }
    );
    insta::assert_json_snapshot!(
        "upload_complete",
        Upload {
            id: "k3J9xQ2mV8pL0aZ7tR4wYe".into(),
            name: "cat.png".into(),
            size: 48_213,
            offset: 48_213,
            expires_at: "2026-11-24T10:00:00Z".into(),
            attachment: Some(attachment()),
        }
    );
    insta::assert_json_snapshot!(
        "signed_url",
        SignedUrl {
            url: "/api/v1/attachments/5/content?user=42&expires=1795428000&sig=abc".into(),
            expires_at: "2026-11-23T10:05:00Z".into(),
        }
    );
    insta::assert_json_snapshot!(
        "media_usage_report",
        MediaUsageReport {
            quota_bytes: Some(10_737_418_240),
            users: vec![MediaUsage {
                user_id: UserId(42),
                username: "alice".into(),
                used_bytes: 6_291_456,
                attachments: 3,
                attachment_bytes: 5_242_880,
                uploads_in_progress: 1,
                upload_bytes: 1_048_576,
            }],
        }
    );
    insta::assert_json_snapshot!(
        "user_with_avatar",
        User {
            avatar: Some("3f2a9c1d0b7e".into()),
            ..user()
        }
    );
    // Old clients' and old servers' bodies without the new fields still parse.
    let old: SendMessageRequest =
        serde_json::from_str(r#"{"client_id": "c", "text": "hi"}"#).unwrap();
    assert!(old.attachment_ids.is_empty());
    let mut old_message = serde_json::to_value(message()).unwrap();
    old_message.as_object_mut().unwrap().remove("attachments");
    let parsed: Message = serde_json::from_value(old_message).unwrap();
    assert!(parsed.attachments.is_empty());
}

#[test]
fn account_bodies() {
    insta::assert_json_snapshot!(
        "email_status",
        EmailStatus {
            email: Some("ada@example.org".into()),
            pending: Some("ada@analytical.org".into()),
        }
    );
    insta::assert_json_snapshot!(
        "set_email_request",
        SetEmailRequest {
            email: "ada@example.org".into()
        }
    );
    insta::assert_json_snapshot!(
        "verify_email_request",
        VerifyEmailRequest {
            code: "012345".into()
        }
    );
    insta::assert_json_snapshot!(
        "change_password_request",
        ChangePasswordRequest {
            current_password: "correct horse".into(),
            new_password: "battery staple".into(),
            sign_out_others: true,
        }
    );
    insta::assert_json_snapshot!(
        "password_reset_request",
        PasswordResetRequest {
            login: "ada".into()
        }
    );
    insta::assert_json_snapshot!(
        "confirm_password_reset_request",
        ConfirmPasswordResetRequest {
            token: "x".repeat(RESET_TOKEN_LEN),
            new_password: "battery staple".into(),
        }
    );
    insta::assert_json_snapshot!(
        "session_list",
        SessionList {
            items: vec![SessionInfo {
                id: SessionId(3),
                client: Some("jeco-cli/0.1".into()),
                address: Some("192.0.2.7".into()),
                created_at: "2026-11-23T10:00:00Z".into(),
                last_active_at: "2026-11-23T10:15:00Z".into(),
                current: true,
            }],
        }
    );
    insta::assert_json_snapshot!("signed_out", SignedOut { sessions: 2 });
    insta::assert_json_snapshot!(
        "error_code_used",
        ErrorBody::new(ErrorCode::CodeUsed, "this code was already used")
    );
}

#[test]
fn admin_bodies() {
    use jeco_shared::admin::*;
    insta::assert_json_snapshot!(
        "admin_user_page",
        AdminUserPage {
            items: vec![AdminUser {
                user: User {
                    deactivated: true,
                    ..user()
                },
                email: Some("ada@example.org".into()),
                last_active_at: Some("2026-11-23T10:15:00Z".into()),
                live_sessions: 0,
                two_factor: false,
            }],
            next_cursor: Some("YWRh".into()),
        }
    );
    insta::assert_json_snapshot!(
        "admin_password_request",
        AdminPasswordRequest {
            new_password: Some("battery staple".into()),
        }
    );
    insta::assert_json_snapshot!(
        "admin_password_mail_request",
        AdminPasswordRequest::default()
    );
    insta::assert_json_snapshot!(
        "admin_password_reset",
        AdminPasswordReset {
            signed_out: 2,
            mailed: false,
        }
    );
    insta::assert_json_snapshot!(
        "error_invalid_query",
        ErrorBody::new(
            ErrorCode::InvalidQuery,
            "before: needs a date as YYYY-MM-DD, as in before:2026-12-01"
        )
    );
    insta::assert_json_snapshot!(
        "error_last_admin",
        ErrorBody::new(
            ErrorCode::LastAdmin,
            "the server must keep at least one active admin"
        )
    );
    // A user from a server that predates deactivation parses as active.
    let old: User = serde_json::from_str(
        r#"{"id": 1, "username": "ada", "display_name": null, "bio": null, "status_text": null,
            "is_admin": false, "created_at": "2026-11-23T10:00:00Z"}"#,
    )
    .unwrap();
    assert!(!old.deactivated);
}

#[test]
fn two_factor_bodies() {
    use jeco_shared::two_factor::*;
    let tokens = TokenResponse {
        access_token: "a.b.c".into(),
        refresh_token: "opaque".into(),
        token_type: "Bearer".into(),
        expires_in: 900,
        user: user(),
    };
    let enrollment = TwoFactorEnrollment {
        secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        otpauth_uri: "otpauth://totp/Jeco:ada?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Jeco"
            .into(),
    };
    insta::assert_json_snapshot!("sign_in_signed_in", SignInOutcome::SignedIn(tokens.clone()));
    insta::assert_json_snapshot!(
        "sign_in_two_factor_required",
        SignInOutcome::TwoFactorRequired(TwoFactorChallenge {
            challenge: "sel-and-verifier".into(),
            expires_in: 300,
        })
    );
    insta::assert_json_snapshot!(
        "sign_in_two_factor_setup_required",
        SignInOutcome::TwoFactorSetupRequired(TwoFactorSetupChallenge {
            challenge: "sel-and-verifier".into(),
            expires_in: 300,
            enrollment: enrollment.clone(),
        })
    );
    insta::assert_json_snapshot!(
        "two_factor_login_request",
        TwoFactorLoginRequest {
            challenge: "sel-and-verifier".into(),
            code: Some("123456".into()),
            recovery_code: None,
        }
    );
    insta::assert_json_snapshot!(
        "two_factor_signed_in",
        TwoFactorSignedIn {
            tokens,
            recovery_codes: vec!["abcde-fgh23".into()],
            recovery_codes_left: 10,
        }
    );
    insta::assert_json_snapshot!(
        "login_code_request",
        LoginCodeRequest {
            login: "ada@example.org".into()
        }
    );
    insta::assert_json_snapshot!(
        "confirm_login_code_request",
        ConfirmLoginCodeRequest {
            login: "ada".into(),
            code: "123456".into()
        }
    );
    insta::assert_json_snapshot!(
        "two_factor_status",
        TwoFactorStatus {
            enabled: true,
            recovery_codes_left: 9,
            required: false
        }
    );
    insta::assert_json_snapshot!("two_factor_enrollment", enrollment);
    insta::assert_json_snapshot!(
        "two_factor_code_request",
        TwoFactorCodeRequest {
            code: "123456".into()
        }
    );
    insta::assert_json_snapshot!(
        "disable_two_factor_request",
        DisableTwoFactorRequest {
            password: Some("pw".into()),
            code: None
        }
    );
    insta::assert_json_snapshot!(
        "recovery_codes",
        RecoveryCodes {
            codes: vec!["abcde-fgh23".into(), "ijklm-nop45".into()]
        }
    );
    insta::assert_json_snapshot!(
        "server_settings",
        ServerSettings {
            require_two_factor: true
        }
    );
    insta::assert_json_snapshot!("admin_signed_out", AdminSignedOut { signed_out: 3 });
}
