//! Who a message's notifications reach, and what they quote.
//!
//! The service plans who a new message notifies and why
//! ([`crate::services::notifications::plan`]) from what it knows before the send; the rules here
//! are the part that must hold at the moment the message commits, on facts the backend reads in
//! that transaction: never the author, only members still in the conversation, never a member who
//! muted it (mentions included: muting is the user saying "not from here"). An edit notifies only
//! a member it names who was not notified about the message before — by its send or an earlier
//! edit — so an edit that adds `@name` notifies once, and later edits do not again.
//!
//! A notification quotes the start of its message ([`preview`]) as the message is now: the backend
//! rewrites the quote of every notification of a message when the message is edited or deleted,
//! in the same transaction.

use crate::storage::{MessageNotification, MessageRecord, NotificationRecord};
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ConversationId, MessageId, NotificationId, UserId};

/// Characters of a message quoted in its notifications.
pub const PREVIEW_CHARS: usize = 140;

/// What a notification quotes of a message whose text is `body` (empty once it is deleted).
pub fn preview(body: &str) -> String {
    body.chars().take(PREVIEW_CHARS).collect()
}

/// What the backend read about one possible recipient, in the transaction that notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub user: UserId,
    /// Still a member of the conversation.
    pub member: bool,
    /// Muted the conversation.
    pub muted: bool,
    /// Has a notification about this message already (only asked for edits).
    pub notified_before: bool,
}

impl Recipient {
    fn reachable(&self) -> bool {
        self.member && !self.muted
    }
}

/// The users whose facts a backend reads for a new message: the planned recipients except its
/// sender, each once, in plan order.
pub fn message_candidates(sender: UserId, plan: &[MessageNotification]) -> Vec<UserId> {
    let mut out: Vec<UserId> = Vec::with_capacity(plan.len());
    for n in plan {
        if n.user_id != sender && !out.contains(&n.user_id) {
            out.push(n.user_id);
        }
    }
    out
}

/// The notifications of a new message, in plan order, for the candidates (see
/// [`message_candidates`]) that are reachable. Their ids are the backend's to assign.
pub fn message_notifications(
    message: &MessageRecord,
    plan: &[MessageNotification],
    recipients: &[Recipient],
) -> Vec<NotificationRecord> {
    let quote = preview(&message.body);
    plan.iter()
        .filter(|n| {
            n.user_id != message.sender_id
                && recipients
                    .iter()
                    .any(|r| r.user == n.user_id && r.reachable())
        })
        .map(|n| NotificationRecord {
            id: NotificationId(0),
            user_id: n.user_id,
            kind: n.kind,
            actor_id: Some(message.sender_id),
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
            contact_request_id: None,
            team_id: None,
            preview: quote.clone(),
            created_at_ms: message.created_at_ms,
            read_at_ms: None,
        })
        .collect()
}

/// The users whose facts a backend reads for an edit by `editor` that names `named`: each once,
/// not the editor.
pub fn mention_candidates(editor: UserId, named: &[UserId]) -> Vec<UserId> {
    let mut out: Vec<UserId> = Vec::with_capacity(named.len());
    for &u in named {
        if u != editor && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// An edit as its notifications need it.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub conversation: ConversationId,
    pub message: MessageId,
    pub editor: UserId,
    /// The new text.
    pub body: &'a str,
    pub now_ms: i64,
}

/// The `mention` notifications of an edit: the candidates (see [`mention_candidates`]) that are
/// reachable and were not notified about the message before.
pub fn edit_notifications(edit: &Edit<'_>, recipients: &[Recipient]) -> Vec<NotificationRecord> {
    let quote = preview(edit.body);
    recipients
        .iter()
        .filter(|r| r.user != edit.editor && r.reachable() && !r.notified_before)
        .map(|r| NotificationRecord {
            id: NotificationId(0),
            user_id: r.user,
            kind: NotificationKind::Mention,
            actor_id: Some(edit.editor),
            conversation_id: Some(edit.conversation),
            message_id: Some(edit.message),
            contact_request_id: None,
            team_id: None,
            preview: quote.clone(),
            created_at_ms: edit.now_ms,
            read_at_ms: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MentionSet;

    fn recipient(user: i64, member: bool, muted: bool, notified_before: bool) -> Recipient {
        Recipient {
            user: UserId(user),
            member,
            muted,
            notified_before,
        }
    }

    fn message(body: &str) -> MessageRecord {
        MessageRecord {
            id: MessageId(9),
            conversation_id: ConversationId(8),
            seq: 3,
            sender_id: UserId(1),
            client_id: "k".into(),
            body: body.into(),
            reply_to: None,
            thread_only: false,
            reply_count: 0,
            last_repliers: Vec::new(),
            created_at_ms: 77,
            edited_at_ms: None,
            deleted_at_ms: None,
            pinned: false,
            mentions: MentionSet::default(),
            reactions: Vec::new(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn the_preview_is_the_first_140_characters() {
        assert_eq!(preview("short"), "short");
        let long = "é".repeat(200);
        assert_eq!(preview(&long).chars().count(), 140);
        assert!(long.starts_with(&preview(&long)));
        assert_eq!(preview(""), "");
    }

    #[test]
    fn a_message_notifies_reachable_members_but_never_its_sender() {
        let plan: Vec<MessageNotification> = [
            (1, NotificationKind::Mention),
            (2, NotificationKind::DirectMessage),
            (3, NotificationKind::Mention),
            (4, NotificationKind::Reply),
            (5, NotificationKind::Mention),
        ]
        .into_iter()
        .map(|(u, kind)| MessageNotification {
            user_id: UserId(u),
            kind,
        })
        .collect();
        assert_eq!(
            message_candidates(UserId(1), &plan),
            [2, 3, 4, 5].map(UserId)
        );
        let facts = [
            recipient(2, true, false, false),
            recipient(3, true, true, false),
            recipient(4, false, false, false),
            recipient(5, true, false, true),
        ];
        let m = message(&"x".repeat(150));
        let got = message_notifications(&m, &plan, &facts);
        let who: Vec<(UserId, NotificationKind)> =
            got.iter().map(|n| (n.user_id, n.kind)).collect();
        assert_eq!(
            who,
            [
                (UserId(2), NotificationKind::DirectMessage),
                (UserId(5), NotificationKind::Mention)
            ]
        );
        for n in &got {
            assert_eq!(n.preview, "x".repeat(140));
            assert_eq!(
                (n.actor_id, n.conversation_id, n.message_id, n.created_at_ms),
                (Some(UserId(1)), Some(m.conversation_id), Some(m.id), 77)
            );
        }
    }

    #[test]
    fn an_edit_notifies_only_whom_it_newly_reaches() {
        assert_eq!(
            mention_candidates(UserId(1), &[2, 1, 3, 2, 4, 5].map(UserId)),
            [2, 3, 4, 5].map(UserId)
        );
        let facts = [
            recipient(2, true, false, false),
            recipient(3, true, false, true),
            recipient(4, true, true, false),
            recipient(5, false, false, false),
        ];
        let edit = Edit {
            conversation: ConversationId(8),
            message: MessageId(9),
            editor: UserId(1),
            body: "hi @two",
            now_ms: 50,
        };
        let got = edit_notifications(&edit, &facts);
        assert_eq!(got.len(), 1);
        let n = &got[0];
        assert_eq!(
            (n.user_id, n.kind, n.preview.as_str(), n.created_at_ms),
            (UserId(2), NotificationKind::Mention, "hi @two", 50)
        );
    }
}
