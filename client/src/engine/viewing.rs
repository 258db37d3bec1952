//! What the person can see, and what that makes read.
//!
//! Whether something was read is a rule of the product, not of one view, so the engine decides
//! it from facts the view reports: which conversation is shown and the newest message actually on
//! screen there ([`Engine::set_viewing`]), and whether the window has the focus
//! ([`Engine::set_focused`]; an unfocused or hidden window shows nothing to anyone). Only what was
//! on screen in a focused window is read: a message that arrives while the window is in the
//! background stays unread until the window is focused with it on screen.
//!
//! Reading a conversation also reads the notifications about what was seen in it (a mention, a
//! reply, a direct message), as the sidebar's badges are: both go through the outbox
//! ([`OutboxOp::MarkRead`], [`OutboxOp::MarkNotificationsRead`]), so they are shown at once, work
//! offline and reach the server exactly as other changes do. A notification that arrives for a
//! message already on screen is read as it arrives (the sync loop asks again,
//! [`Engine::read_what_is_seen`]).

use super::{Engine, EngineError, EngineEvent, Result};
use crate::outbox::OutboxOp;
use jeco_shared::notifications::Notification;
use jeco_shared::{ConversationId, MessageId, NotificationId};

/// What the window shows, as last reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewing {
    /// The conversation on screen, if any.
    pub conversation: Option<ConversationId>,
    /// The `seq` of the newest confirmed message on screen in it (`None`: none yet).
    pub newest_on_screen: Option<i64>,
    /// The window has the focus (and so is shown).
    pub focused: bool,
}

impl Viewing {
    /// The conversation and the `seq` up to which it is being read now, if it is.
    pub fn reading(&self) -> Option<(ConversationId, i64)> {
        match (self.focused, self.conversation, self.newest_on_screen) {
            (true, Some(id), Some(seq)) if seq > 0 => Some((id, seq)),
            _ => None,
        }
    }
}

impl Engine {
    /// The view reports what it shows: `conversation` (`None`: none) and the newest confirmed
    /// message on screen there. What was seen in a focused window becomes read (see the module
    /// doc); the conversation is also remembered as the one to open next time
    /// ([`Engine::last_opened`]).
    pub fn set_viewing(
        &self,
        conversation: Option<ConversationId>,
        newest_on_screen: Option<i64>,
    ) -> Result<()> {
        let before = self.update_viewing(|v| {
            v.conversation = conversation;
            v.newest_on_screen = conversation.and(newest_on_screen);
        });
        if let Some(id) = conversation
            && before.conversation != conversation
        {
            match self.set_last_opened(id) {
                Ok(()) | Err(EngineError::NotSignedIn) => {}
                Err(e) => return Err(e),
            }
        }
        self.read_what_is_seen()
    }

    /// The window gained (`true`) or lost the focus. Gaining it reads what is on screen.
    pub fn set_focused(&self, focused: bool) -> Result<()> {
        let before = self.update_viewing(|v| v.focused = focused);
        if before.focused == focused {
            return Ok(());
        }
        self.read_what_is_seen()
    }

    /// What the window shows, as last reported (the desktop's alerts stay quiet about it).
    pub fn viewing(&self) -> Viewing {
        *self.inner.viewing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the viewing state; answers what it was.
    fn update_viewing(&self, change: impl FnOnce(&mut Viewing)) -> Viewing {
        let mut viewing = self.inner.viewing.lock().unwrap_or_else(|p| p.into_inner());
        let before = *viewing;
        change(&mut viewing);
        before
    }

    /// Marks read what is on screen in a focused window: the conversation up to the newest message
    /// shown, and the notifications about what was shown. Nothing when signed out.
    pub(crate) fn read_what_is_seen(&self) -> Result<()> {
        let Some((conversation, seq)) = self.viewing().reading() else {
            return Ok(());
        };
        let cache = match self.cache() {
            Ok(cache) => cache,
            Err(EngineError::NotSignedIn) => return Ok(()),
            Err(e) => return Err(e),
        };
        if cache.conversation(conversation)?.is_none() {
            return Ok(());
        }
        self.mark_read(conversation, seq)?;
        let unread = cache.unread_notifications(conversation)?;
        let seq_of = |id: MessageId| cache.message(id).ok().flatten().map(|m| m.seq);
        let ids = seen_notifications(&unread, seq_of, seq);
        if ids.is_empty() {
            return Ok(());
        }
        for id in &ids {
            cache.mark_notifications_read(*id, true)?;
        }
        self.queue(conversation, OutboxOp::MarkNotificationsRead { ids })?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        Ok(())
    }
}

/// Which of a conversation's unread notifications were seen when its messages up to `seen` were
/// on screen: those about a message at or before `seen`, and those about the conversation as a
/// whole (no message). One about a message not in the cache (so not shown) stays unread.
fn seen_notifications(
    unread: &[Notification],
    seq_of: impl Fn(MessageId) -> Option<i64>,
    seen: i64,
) -> Vec<NotificationId> {
    unread
        .iter()
        .filter(|n| match n.message_id {
            None => true,
            Some(message) => seq_of(message).is_some_and(|seq| seq <= seen),
        })
        .map(|n| n.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeco_shared::notifications::NotificationKind;

    const C: ConversationId = ConversationId(4);

    fn about(id: i64, message: Option<i64>) -> Notification {
        Notification {
            id: NotificationId(id),
            kind: NotificationKind::Mention,
            actor_id: None,
            conversation_id: Some(C),
            message_id: message.map(MessageId),
            contact_request_id: None,
            team_id: None,
            preview: String::new(),
            created_at: String::new(),
            read_at: None,
        }
    }

    #[test]
    fn only_a_focused_window_with_a_message_on_screen_reads() {
        let shown = Viewing {
            conversation: Some(C),
            newest_on_screen: Some(7),
            focused: true,
        };
        assert_eq!(shown.reading(), Some((C, 7)));
        let background = Viewing {
            focused: false,
            ..shown
        };
        assert_eq!(background.reading(), None);
        let nothing_shown = Viewing {
            newest_on_screen: None,
            ..shown
        };
        assert_eq!(nothing_shown.reading(), None);
        let only_pending = Viewing {
            newest_on_screen: Some(0),
            ..shown
        };
        assert_eq!(only_pending.reading(), None);
        assert_eq!(Viewing::default().reading(), None);
    }

    #[test]
    fn notifications_about_messages_shown_are_seen_and_later_ones_are_not() {
        // Message 100 has seq 5, 101 seq 9; 102 is not cached.
        let seq_of = |m: MessageId| match m.0 {
            100 => Some(5),
            101 => Some(9),
            _ => None,
        };
        let unread = [
            about(1, Some(100)),
            about(2, Some(101)),
            about(3, Some(102)),
            about(4, None),
        ];
        let seen = seen_notifications(&unread, seq_of, 7);
        assert_eq!(seen, vec![NotificationId(1), NotificationId(4)]);
        let seen = seen_notifications(&unread, seq_of, 9);
        assert_eq!(
            seen,
            vec![NotificationId(1), NotificationId(2), NotificationId(4)]
        );
    }
}
