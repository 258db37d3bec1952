//! Notifications: who a new message notifies, the inbox, and per-conversation mutes.
//!
//! **When they are created.** Message notifications are decided here ([`plan`]) before the send
//! and written by the storage *inside the send's own transaction* (`NewMessage::notify`): the
//! message, its event and its notifications (each with its user event) commit together, so a crash
//! can never keep a message and lose its notifications, the user positions are assigned under the
//! same write lock, and there is no second commit (no second fsync) on the hot path — the
//! notifications are a handful of inserts through one cached statement in a transaction that is
//! already open. The store re-checks membership and mutes in that transaction, so a mute or a
//! removal that commits before the message is always honoured.
//!
//! **Who.** One notification per recipient per message, never for its author, never for a member
//! who muted the conversation (mentions included: muting is the user saying "not from here"):
//! - in a direct conversation, the other member: `direct_message`;
//! - a member named with `@username`, or every member for `@channel`, or every member *online at
//!   that moment* for `@here` (away or offline members are skipped): `mention`;
//! - the author of the message replied to: `reply`.
//!
//! When several apply, the first in that list wins. An edit notifies only a member it newly names
//! with `@username` who was not notified about the message yet (by its send or an earlier edit):
//! once, as a `mention`, created in the edit's transaction.
//!
//! **Being added.** When someone else adds a user to a team (`added_to_team`, one notification —
//! the team's `#general` that comes with it is not notified separately), to a channel or to a group
//! room (`added_to_conversation`, also when a group is created with them in it), the store creates
//! the notification in the transaction that adds them. Joining oneself (an invite code, a public
//! channel) notifies nobody. Mutes do not apply: being added is not a message of the conversation.

use super::access::Access;
use super::fanout::{Fanout, publish_committed};
use super::{Principal, ServiceError, render};
use crate::storage::{MessageNotification, Storage};
use jeco_shared::conversations::ConversationKind;
use jeco_shared::notifications::{
    MuteState, NOTIFICATION_PAGE_DEFAULT, NOTIFICATION_PAGE_MAX, NotificationKind,
    NotificationPage, UnreadNotifications,
};
use jeco_shared::{ConversationId, NotificationId, UserId};
use std::sync::Arc;

/// What a new message is, as far as notifications go.
pub struct MessageFacts<'a> {
    pub kind: ConversationKind,
    pub sender: UserId,
    pub members: &'a [UserId],
    pub mentioned: &'a [UserId],
    pub mentions_channel: bool,
    pub mentions_here: bool,
    /// The author of the message this one replies to.
    pub parent_author: Option<UserId>,
}

/// Who a new message notifies, and why (see the module doc). `online` tells whether a member is
/// online now, for `@here`.
pub fn plan(facts: &MessageFacts<'_>, online: impl Fn(UserId) -> bool) -> Vec<MessageNotification> {
    let mut out: Vec<MessageNotification> = Vec::new();
    let mut add = |user_id: UserId, kind: NotificationKind| {
        if user_id != facts.sender
            && facts.members.contains(&user_id)
            && !out.iter().any(|n| n.user_id == user_id)
        {
            out.push(MessageNotification { user_id, kind });
        }
    };
    if facts.kind == ConversationKind::Direct {
        for &m in facts.members {
            add(m, NotificationKind::DirectMessage);
        }
    }
    for &m in facts.mentioned {
        add(m, NotificationKind::Mention);
    }
    if facts.mentions_channel || facts.mentions_here {
        for &m in facts.members {
            if facts.mentions_channel || online(m) {
                add(m, NotificationKind::Mention);
            }
        }
    }
    if let Some(author) = facts.parent_author {
        add(author, NotificationKind::Reply);
    }
    out
}

pub struct Notifications {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    access: Access,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

impl Notifications {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        access: Access,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            storage,
            fanout,
            access,
            clock,
        }
    }

    /// The caller's notifications, newest first, optionally only unread ones, before a cursor.
    pub async fn list(
        &self,
        who: &Principal,
        unread_only: bool,
        before: Option<NotificationId>,
        limit: Option<u32>,
    ) -> Result<NotificationPage, ServiceError> {
        let limit = limit.unwrap_or(NOTIFICATION_PAGE_DEFAULT);
        if limit == 0 || limit > NOTIFICATION_PAGE_MAX {
            return Err(ServiceError::field(
                "limit",
                format!("must be 1 to {NOTIFICATION_PAGE_MAX}"),
            ));
        }
        let mut items = self
            .storage
            .notifications(who.user_id, unread_only, before, limit + 1)
            .await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_before = more.then(|| items.last().map(|n| n.id)).flatten();
        Ok(NotificationPage {
            items: items.iter().map(render::notification).collect(),
            next_before,
            unread_count: self.storage.unread_notifications(who.user_id).await?,
        })
    }

    pub async fn unread(&self, who: &Principal) -> Result<UnreadNotifications, ServiceError> {
        Ok(UnreadNotifications {
            unread_count: self.storage.unread_notifications(who.user_id).await?,
        })
    }

    /// Marks one notification read (again is fine); `not_found` when it is not the caller's.
    pub async fn mark_read(
        &self,
        who: &Principal,
        id: NotificationId,
    ) -> Result<UnreadNotifications, ServiceError> {
        if let Some(committed) = self
            .storage
            .mark_notification_read(who.user_id, id, self.clock.now_ms())
            .await?
        {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        self.unread(who).await
    }

    pub async fn mark_all_read(
        &self,
        who: &Principal,
    ) -> Result<UnreadNotifications, ServiceError> {
        if let Some(committed) = self
            .storage
            .mark_all_notifications_read(who.user_id, self.clock.now_ms())
            .await?
        {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        self.unread(who).await
    }

    /// Mutes or unmutes a conversation for the caller (a member).
    pub async fn set_muted(
        &self,
        who: &Principal,
        conversation: ConversationId,
        muted: bool,
    ) -> Result<MuteState, ServiceError> {
        self.access
            .require_member(conversation, who.user_id)
            .await?;
        self.storage
            .set_muted(conversation, who.user_id, muted, self.clock.now_ms())
            .await?;
        Ok(MuteState {
            conversation_id: conversation,
            muted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UserId = UserId(1);
    const B: UserId = UserId(2);
    const C: UserId = UserId(3);

    fn facts(kind: ConversationKind) -> MessageFacts<'static> {
        MessageFacts {
            kind,
            sender: A,
            members: &[A, B, C],
            mentioned: &[],
            mentions_channel: false,
            mentions_here: false,
            parent_author: None,
        }
    }

    fn who(plan: &[MessageNotification]) -> Vec<(i64, NotificationKind)> {
        plan.iter().map(|n| (n.user_id.0, n.kind)).collect()
    }

    #[test]
    fn plain_group_message_notifies_nobody() {
        assert!(plan(&facts(ConversationKind::Group), |_| true).is_empty());
    }

    #[test]
    fn direct_message_beats_mention_and_never_the_sender() {
        let f = MessageFacts {
            members: &[A, B],
            mentioned: &[B, A],
            ..facts(ConversationKind::Direct)
        };
        assert_eq!(
            who(&plan(&f, |_| true)),
            [(2, NotificationKind::DirectMessage)]
        );
    }

    #[test]
    fn here_reaches_only_online_members_channel_everyone() {
        let here = MessageFacts {
            mentions_here: true,
            ..facts(ConversationKind::Group)
        };
        assert_eq!(
            who(&plan(&here, |u| u == C || u == A)),
            [(3, NotificationKind::Mention)]
        );
        let channel = MessageFacts {
            mentions_channel: true,
            ..facts(ConversationKind::Group)
        };
        assert_eq!(
            who(&plan(&channel, |_| false)),
            [
                (2, NotificationKind::Mention),
                (3, NotificationKind::Mention)
            ]
        );
    }

    #[test]
    fn reply_to_own_message_or_mentioned_author_is_one_notification() {
        let own = MessageFacts {
            parent_author: Some(A),
            ..facts(ConversationKind::Group)
        };
        assert!(plan(&own, |_| true).is_empty());
        let both = MessageFacts {
            parent_author: Some(B),
            mentioned: &[B],
            ..facts(ConversationKind::Group)
        };
        assert_eq!(
            who(&plan(&both, |_| true)),
            [(2, NotificationKind::Mention)]
        );
        let reply = MessageFacts {
            parent_author: Some(C),
            ..facts(ConversationKind::Group)
        };
        assert_eq!(who(&plan(&reply, |_| true)), [(3, NotificationKind::Reply)]);
    }
}
