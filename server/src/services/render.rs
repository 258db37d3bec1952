//! Storage records → wire types. One place, so live fan-out and replay render identically.

use crate::storage::ThumbnailState;
use crate::storage::{
    AttachmentRecord, ContactRequestRecord, EventData, EventRecord, MentionSet, MessageRecord,
    NotificationRecord, ReactionRecord, UserEventData, UserEventRecord,
};
use jeco_shared::contacts::ContactRequest;
use jeco_shared::events::{ConversationEvent, EventBody, UserEvent, UserEventBody};
use jeco_shared::media::Attachment;
use jeco_shared::messages::{Mentions, Message, Reaction, ThreadTally};
use jeco_shared::notifications::Notification;

pub fn mentions(m: &MentionSet) -> Mentions {
    Mentions {
        user_ids: m.users.clone(),
        channel: m.channel,
        here: m.here,
    }
}

pub fn reactions(r: &[ReactionRecord]) -> Vec<Reaction> {
    r.iter()
        .map(|r| Reaction {
            emoji: r.emoji.clone(),
            count: r.users.len() as u32,
            user_ids: r.users.clone(),
        })
        .collect()
}

pub fn message(m: &MessageRecord) -> Message {
    Message {
        id: m.id,
        conversation_id: m.conversation_id,
        seq: m.seq,
        sender_id: m.sender_id,
        client_id: m.client_id.clone(),
        text: m.body.clone(),
        reply_to: m.reply_to,
        thread_only: m.thread_only,
        reply_count: m.reply_count,
        last_repliers: m.last_repliers.clone(),
        created_at: rfc3339(m.created_at_ms),
        edited_at: m.edited_at_ms.map(rfc3339),
        deleted: m.deleted_at_ms.is_some(),
        pinned: m.pinned,
        mentions: mentions(&m.mentions),
        reactions: reactions(&m.reactions),
        attachments: m.attachments.iter().map(attachment).collect(),
    }
}

pub fn attachment(a: &AttachmentRecord) -> Attachment {
    Attachment {
        id: a.id,
        kind: a.kind,
        name: a.name.clone(),
        content_type: a.blob.content_type.clone(),
        size: a.blob.size,
        sha256: a.blob.sha256.clone(),
        width: a.blob.width,
        height: a.blob.height,
        duration_ms: a.duration_ms,
        waveform: a.waveform.clone(),
        has_thumbnail: a.blob.thumbnail == ThumbnailState::Ready,
        created_at: rfc3339(a.created_at_ms),
    }
}

pub fn event(e: &EventRecord) -> ConversationEvent {
    let body = match &e.data {
        EventData::ConversationCreated { kind, name } => EventBody::ConversationCreated {
            conversation_kind: *kind,
            name: name.clone(),
        },
        EventData::ConversationRenamed { name } => {
            EventBody::ConversationRenamed { name: name.clone() }
        }
        EventData::MemberAdded { user, role } => EventBody::MemberAdded {
            user_id: *user,
            role: *role,
        },
        EventData::MemberRemoved { user } => EventBody::MemberRemoved { user_id: *user },
        EventData::MemberRoleChanged { user, role } => EventBody::MemberRoleChanged {
            user_id: *user,
            role: *role,
        },
        EventData::MessageCreated { message: m } => EventBody::MessageCreated {
            message: message(m),
        },
        EventData::MessageEdited {
            message,
            body,
            edited_at_ms,
            mentions: m,
        } => EventBody::MessageEdited {
            message_id: *message,
            text: body.clone(),
            edited_at: rfc3339(*edited_at_ms),
            mentions: mentions(m),
        },
        EventData::MessageDeleted { message, thread } => EventBody::MessageDeleted {
            message_id: *message,
            thread: thread.as_ref().map(|t| ThreadTally {
                root: t.root,
                reply_count: t.replies,
                last_repliers: t.repliers.clone(),
            }),
        },
        EventData::ReactionAdded {
            message,
            user,
            emoji,
        } => EventBody::ReactionAdded {
            message_id: *message,
            user_id: *user,
            emoji: emoji.clone(),
        },
        EventData::ReactionRemoved {
            message,
            user,
            emoji,
        } => EventBody::ReactionRemoved {
            message_id: *message,
            user_id: *user,
            emoji: emoji.clone(),
        },
        EventData::Pinned { message } => EventBody::MessagePinned {
            message_id: *message,
        },
        EventData::Unpinned { message } => EventBody::MessageUnpinned {
            message_id: *message,
        },
        EventData::Read { user, seq } => EventBody::ReadReceipt {
            user_id: *user,
            read_seq: *seq,
        },
        EventData::TopicChanged { topic } => EventBody::TopicChanged {
            topic: topic.clone(),
        },
        EventData::ArchivedChanged { archived } => EventBody::ArchivedChanged {
            archived: *archived,
        },
    };
    ConversationEvent {
        conversation_id: e.conversation_id,
        seq: e.seq,
        at: rfc3339(e.at_ms),
        actor_id: e.actor,
        body,
    }
}

pub fn notification(n: &NotificationRecord) -> Notification {
    Notification {
        id: n.id,
        kind: n.kind,
        actor_id: n.actor_id,
        conversation_id: n.conversation_id,
        message_id: n.message_id,
        contact_request_id: n.contact_request_id,
        team_id: n.team_id,
        preview: n.preview.clone(),
        created_at: rfc3339(n.created_at_ms),
        read_at: n.read_at_ms.map(rfc3339),
    }
}

pub fn contact_request(r: &ContactRequestRecord) -> ContactRequest {
    ContactRequest {
        id: r.id,
        from_user_id: r.from_user,
        to_user_id: r.to_user,
        status: r.status,
        created_at: rfc3339(r.created_at_ms),
        resolved_at: r.resolved_at_ms.map(rfc3339),
    }
}

pub fn user_event(e: &UserEventRecord) -> UserEvent {
    let body = match &e.data {
        UserEventData::ConversationAdded {
            conversation,
            from_seq,
        } => UserEventBody::ConversationAdded {
            conversation_id: *conversation,
            from_seq: *from_seq,
        },
        UserEventData::ConversationRemoved { conversation } => UserEventBody::ConversationRemoved {
            conversation_id: *conversation,
        },
        UserEventData::TeamAdded { team, role } => UserEventBody::TeamAdded {
            team_id: *team,
            role: *role,
        },
        UserEventData::TeamRemoved { team } => UserEventBody::TeamRemoved { team_id: *team },
        UserEventData::TeamChanged { team } => UserEventBody::TeamChanged { team_id: *team },
        UserEventData::NotificationCreated { notification: n } => {
            UserEventBody::NotificationCreated {
                notification: notification(n),
            }
        }
        UserEventData::ContactRequestChanged { request } => UserEventBody::ContactRequestChanged {
            request: contact_request(request),
        },
        UserEventData::ContactRemoved { user } => UserEventBody::ContactRemoved { user_id: *user },
        UserEventData::NotificationRead { notification } => UserEventBody::NotificationRead {
            notification_id: *notification,
        },
        UserEventData::NotificationsReadAll { up_to } => {
            UserEventBody::NotificationsReadAll { up_to: *up_to }
        }
    };
    UserEvent {
        seq: e.seq,
        at: rfc3339(e.at_ms),
        body,
    }
}

/// A time as the API shows it: RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A version string for an avatar: changes whenever the picture does.
pub fn avatar_version(sha256: &str) -> String {
    sha256.chars().take(16).collect()
}

/// What a channel has beyond a conversation.
pub fn channel_info(c: &crate::storage::ChannelRecord) -> jeco_shared::teams::ChannelInfo {
    jeco_shared::teams::ChannelInfo {
        team_id: c.team_id,
        topic: c.topic.clone(),
        private: c.private,
        archived: c.archived,
        is_default: c.is_default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }
}
