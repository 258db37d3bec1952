//! Whether a notification from the server becomes a desktop notification, a sound, both or
//! nothing. A pure function of the notification and the situation, so every rule is a unit test.
//!
//! The rules, in order (the first that applies keeps the alert silent):
//! 1. only messages alert: direct messages, mentions and replies (not the welcome, contact
//!    requests or "added to" notices, which the notifications panel shows);
//! 2. a notification already read on another device does not alert here;
//! 3. a muted conversation never alerts (the server creates no notification for it either; this
//!    covers one muted on this device a moment before);
//! 4. do-not-disturb silences everything while it lasts;
//! 5. the person is looking at that conversation (window focused *and* it is open): the message
//!    is on screen, an alert would only interrupt;
//! 6. something older than [`STALE_AFTER_MS`] is history being caught up on (a new device, days
//!    offline): the badges and the panel show it, a burst of popups would not help. Measured
//!    generously so a slightly wrong clock never silences real alerts.
//!
//! Then the preferences decide: a notification when notifications are on, a sound when sounds
//! are on and the volume is above zero — the mention sound for a mention, the message sound for
//! the rest.

use crate::prefs::Preferences;
use crate::sound::Sound;
use jeco_shared::ConversationId;
use jeco_shared::notifications::{Notification, NotificationKind};

/// Notifications older than this (by the server's timestamp) are history: no alert.
pub const STALE_AFTER_MS: i64 = 60 * 60 * 1000;

/// Everything about the moment that matters to the decision.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub prefs: &'a Preferences,
    pub now_ms: i64,
    /// The app's window has the keyboard focus.
    pub window_focused: bool,
    /// The conversation open in the window, if any.
    pub viewing: Option<ConversationId>,
    /// The notification's conversation is muted (from the cache).
    pub conversation_muted: bool,
}

/// Why an alert stays silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silent {
    NotAMessage,
    AlreadyRead,
    Muted,
    DoNotDisturb,
    Looking,
    Stale,
    /// Notifications and sounds are both off (or the volume is zero).
    TurnedOff,
}

/// What to do with one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Alert {
        /// Show a desktop notification.
        notify: bool,
        /// Play this sound.
        sound: Option<Sound>,
    },
    Silent(Silent),
}

/// Decides for `n` in situation `s`.
pub fn decide(n: &Notification, s: &Situation<'_>) -> Decision {
    use NotificationKind::*;
    if !matches!(n.kind, DirectMessage | Mention | Reply) {
        return Decision::Silent(Silent::NotAMessage);
    }
    if n.read_at.is_some() {
        return Decision::Silent(Silent::AlreadyRead);
    }
    if s.conversation_muted {
        return Decision::Silent(Silent::Muted);
    }
    if s.prefs.do_not_disturb.is_active(s.now_ms) {
        return Decision::Silent(Silent::DoNotDisturb);
    }
    if s.window_focused && n.conversation_id.is_some() && s.viewing == n.conversation_id {
        return Decision::Silent(Silent::Looking);
    }
    if created_ms(&n.created_at).is_some_and(|at| s.now_ms - at > STALE_AFTER_MS) {
        return Decision::Silent(Silent::Stale);
    }
    let notify = s.prefs.notifications;
    let sound = (s.prefs.sounds && s.prefs.volume > 0).then_some(if n.kind == Mention {
        Sound::Mention
    } else {
        Sound::Message
    });
    if !notify && sound.is_none() {
        return Decision::Silent(Silent::TurnedOff);
    }
    Decision::Alert { notify, sound }
}

/// An RFC 3339 timestamp in milliseconds since the epoch; `None` when it does not parse (then
/// the notification is treated as new: better one alert too many than a lost one).
fn created_ms(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefs::DoNotDisturb;
    use jeco_shared::{MessageId, NotificationId, UserId};

    // 2027-01-15T08:00:00Z
    const NOW: i64 = 1_800_000_000_000;
    const CONV: ConversationId = ConversationId(7);

    fn at(ms: i64) -> String {
        let t =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    fn notification(kind: NotificationKind) -> Notification {
        Notification {
            id: NotificationId(1),
            kind,
            actor_id: Some(UserId(2)),
            conversation_id: Some(CONV),
            message_id: Some(MessageId(40)),
            contact_request_id: None,
            team_id: None,
            preview: "hello".into(),
            created_at: at(NOW - 1_000),
            read_at: None,
        }
    }

    fn situation(prefs: &Preferences) -> Situation<'_> {
        Situation {
            prefs,
            now_ms: NOW,
            window_focused: false,
            viewing: None,
            conversation_muted: false,
        }
    }

    fn alert(notify: bool, sound: Option<Sound>) -> Decision {
        Decision::Alert { notify, sound }
    }

    #[test]
    fn messages_alert_with_their_own_sound() {
        let prefs = Preferences::default();
        let s = situation(&prefs);
        use NotificationKind::*;
        assert_eq!(
            decide(&notification(DirectMessage), &s),
            alert(true, Some(Sound::Message))
        );
        assert_eq!(
            decide(&notification(Reply), &s),
            alert(true, Some(Sound::Message))
        );
        assert_eq!(
            decide(&notification(Mention), &s),
            alert(true, Some(Sound::Mention))
        );
        for kind in [
            Welcome,
            ContactRequest,
            ContactAccepted,
            AddedToTeam,
            AddedToConversation,
        ] {
            assert_eq!(
                decide(&notification(kind), &s),
                Decision::Silent(Silent::NotAMessage),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn muted_read_and_do_not_disturb_stay_silent() {
        let prefs = Preferences::default();
        let n = notification(NotificationKind::Mention);
        let muted = Situation {
            conversation_muted: true,
            ..situation(&prefs)
        };
        assert_eq!(decide(&n, &muted), Decision::Silent(Silent::Muted));

        let read = Notification {
            read_at: Some(at(NOW)),
            ..n.clone()
        };
        assert_eq!(
            decide(&read, &situation(&prefs)),
            Decision::Silent(Silent::AlreadyRead)
        );

        for (dnd, silent) in [
            (DoNotDisturb::On, true),
            (DoNotDisturb::Until { until_ms: NOW + 1 }, true),
            (DoNotDisturb::Until { until_ms: NOW }, false),
            (DoNotDisturb::Off, false),
        ] {
            let prefs = Preferences {
                do_not_disturb: dnd,
                ..Preferences::default()
            };
            let d = decide(&n, &situation(&prefs));
            assert_eq!(
                d == Decision::Silent(Silent::DoNotDisturb),
                silent,
                "{dnd:?}: {d:?}"
            );
        }
    }

    #[test]
    fn looking_means_focused_and_open() {
        let prefs = Preferences::default();
        let n = notification(NotificationKind::DirectMessage);
        let looking = Situation {
            window_focused: true,
            viewing: Some(CONV),
            ..situation(&prefs)
        };
        assert_eq!(decide(&n, &looking), Decision::Silent(Silent::Looking));
        // Open but the window is in the background: alert.
        let background = Situation {
            window_focused: false,
            ..looking
        };
        assert!(matches!(decide(&n, &background), Decision::Alert { .. }));
        // Focused on another conversation: alert.
        let elsewhere = Situation {
            viewing: Some(ConversationId(8)),
            ..looking
        };
        assert!(matches!(decide(&n, &elsewhere), Decision::Alert { .. }));
        // Focused with nothing open: alert.
        let nothing = Situation {
            viewing: None,
            ..looking
        };
        assert!(matches!(decide(&n, &nothing), Decision::Alert { .. }));
    }

    #[test]
    fn preferences_choose_notification_and_sound() {
        let n = notification(NotificationKind::Mention);
        let quiet = Preferences {
            sounds: false,
            ..Preferences::default()
        };
        assert_eq!(decide(&n, &situation(&quiet)), alert(true, None));
        let zero = Preferences {
            volume: 0,
            ..Preferences::default()
        };
        assert_eq!(decide(&n, &situation(&zero)), alert(true, None));
        let sound_only = Preferences {
            notifications: false,
            ..Preferences::default()
        };
        assert_eq!(
            decide(&n, &situation(&sound_only)),
            alert(false, Some(Sound::Mention))
        );
        let off = Preferences {
            notifications: false,
            sounds: false,
            ..Preferences::default()
        };
        assert_eq!(
            decide(&n, &situation(&off)),
            Decision::Silent(Silent::TurnedOff)
        );
    }

    #[test]
    fn history_being_caught_up_on_does_not_pop_up() {
        let prefs = Preferences::default();
        let old = Notification {
            created_at: at(NOW - STALE_AFTER_MS - 1),
            ..notification(NotificationKind::DirectMessage)
        };
        assert_eq!(
            decide(&old, &situation(&prefs)),
            Decision::Silent(Silent::Stale)
        );
        let recent = Notification {
            created_at: at(NOW - STALE_AFTER_MS + 60_000),
            ..old.clone()
        };
        assert!(matches!(
            decide(&recent, &situation(&prefs)),
            Decision::Alert { .. }
        ));
        // A server clock ahead of ours, or a timestamp we cannot read: still an alert.
        let future = Notification {
            created_at: at(NOW + 3_600_000),
            ..old.clone()
        };
        assert!(matches!(
            decide(&future, &situation(&prefs)),
            Decision::Alert { .. }
        ));
        let garbled = Notification {
            created_at: "yesterday".into(),
            ..old
        };
        assert!(matches!(
            decide(&garbled, &situation(&prefs)),
            Decision::Alert { .. }
        ));
    }
}
