//! What the server would send, for the crate's unit tests (cache, sync state machine): one place
//! that spells out every field of a message and a conversation, so a new wire field is added once.

use jeco_shared::conversations::{Conversation, ConversationKind, Member, MemberRole};
use jeco_shared::messages::Message;
use jeco_shared::{ConversationId, MessageId, UserId};

/// A plain message at `seq` of `conversation`, sent at second `seq` of a fixed minute.
pub(crate) fn message(
    id: MessageId,
    conversation: ConversationId,
    seq: i64,
    sender: UserId,
    text: &str,
) -> Message {
    Message {
        id,
        conversation_id: conversation,
        seq,
        sender_id: sender,
        client_id: format!("cid-{}-{seq}", conversation.0),
        text: text.into(),
        reply_to: None,
        thread_only: false,
        reply_count: 0,
        last_repliers: Vec::new(),
        created_at: format!("2026-11-23T10:00:{seq:02}Z"),
        edited_at: None,
        deleted: false,
        pinned: false,
        mentions: Default::default(),
        reactions: Vec::new(),
        attachments: Vec::new(),
    }
}

/// A direct conversation between `members`, at `last_seq` and read up to it.
pub(crate) fn direct(id: ConversationId, last_seq: i64, members: [UserId; 2]) -> Conversation {
    Conversation {
        id,
        kind: ConversationKind::Direct,
        name: None,
        created_at: "2026-11-23T10:00:00Z".into(),
        last_activity_at: "2026-11-23T10:00:00Z".into(),
        last_seq,
        read_seq: last_seq,
        unread_count: 0,
        mention_count: 0,
        my_role: MemberRole::Member,
        last_message: None,
        members: members
            .iter()
            .map(|u| Member {
                user_id: *u,
                role: MemberRole::Member,
                joined_at: "2026-11-23T10:00:00Z".into(),
            })
            .collect(),
        peer_presence: None,
        channel: None,
        muted: false,
    }
}
