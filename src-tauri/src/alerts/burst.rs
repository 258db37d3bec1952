//! Coalescing: many messages in a short time make one desktop notification, not a stack of them.
//!
//! A [`Burst`] is open while alerts keep coming less than [`BURST_GAP`] apart. The first alert of a
//! burst shows a notification at once (no waiting to see whether more come); each later one
//! *replaces* that notification's text ("3 new messages in #general") instead of adding another,
//! and clicking it opens the newest message. After a quiet [`BURST_GAP`] the next alert starts a
//! new burst and a new notification. It also rations sounds: one per burst, plus one for the first
//! mention that arrives in a burst that so far only chimed for messages.
//!
//! The texts are built here too, so what a person reads is tested: with previews off no message
//! text ever leaves the app, only who and where.

use crate::sound::Sound;
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ConversationId, MessageId};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Alerts closer together than this make one notification.
pub const BURST_GAP: Duration = Duration::from_secs(5);
/// At most this much of a message goes into a notification.
pub const PREVIEW_MAX_CHARS: usize = 160;
/// Lines of a coalesced notification's body.
const BODY_LINES: usize = 3;

/// One alert, resolved to names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertItem {
    pub kind: NotificationKind,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    /// Who wrote it, as the person knows them (display name, else username).
    pub sender: String,
    /// Where, for channels and groups ("#general", "Lunch"); `None` for a direct conversation.
    pub place: Option<String>,
    pub preview: String,
}

/// What clicking a notification opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct OpenMessage {
    pub conversation_id: ConversationId,
    /// The message to scroll to and highlight.
    pub message_id: Option<MessageId>,
    /// Its position in the conversation, when the cache has it (lets a timeline load back to it).
    pub seq: Option<i64>,
}

/// A notification's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationText {
    pub summary: String,
    pub body: String,
}

/// The alerts of one burst.
#[derive(Debug)]
pub struct Burst {
    /// The newest few (enough for the body).
    recent: VecDeque<AlertItem>,
    total: u32,
    /// Distinct conversations so far (bounded: only "one or several" matters).
    conversations: Vec<Option<ConversationId>>,
    last_at: Instant,
    chimed_message: bool,
    chimed_mention: bool,
    /// The notification showing this burst, once shown (the next text replaces it).
    pub notification_id: Option<u32>,
}

impl Burst {
    pub fn new(now: Instant) -> Self {
        Self {
            recent: VecDeque::new(),
            total: 0,
            conversations: Vec::new(),
            last_at: now,
            chimed_message: false,
            chimed_mention: false,
            notification_id: None,
        }
    }

    /// Whether an alert at `now` belongs to this burst.
    pub fn is_open(&self, now: Instant) -> bool {
        self.total > 0 && now.saturating_duration_since(self.last_at) < BURST_GAP
    }

    pub fn push(&mut self, item: AlertItem, now: Instant) {
        if !self.conversations.contains(&item.conversation_id) && self.conversations.len() < 2 {
            self.conversations.push(item.conversation_id);
        }
        self.recent.push_back(item);
        if self.recent.len() > BODY_LINES {
            self.recent.pop_front();
        }
        self.total = self.total.saturating_add(1);
        self.last_at = now;
    }

    /// Whether `sound` should play now (see the module doc), remembering that it did.
    pub fn take_sound(&mut self, sound: Sound) -> bool {
        let after_mention = self.chimed_mention;
        let flag = match sound {
            Sound::Message => &mut self.chimed_message,
            Sound::Mention => &mut self.chimed_mention,
        };
        // A message chime after a mention's would only repeat the alert.
        let redundant = sound == Sound::Message && after_mention;
        let play = !*flag && !redundant;
        *flag = true;
        play
    }

    /// The newest message, which a click opens.
    pub fn target(&self) -> Option<OpenMessage> {
        let last = self.recent.back()?;
        Some(OpenMessage {
            conversation_id: last.conversation_id?,
            message_id: last.message_id,
            seq: None,
        })
    }

    pub fn text(&self, previews: bool) -> Option<NotificationText> {
        let last = self.recent.back()?;
        if self.total == 1 {
            return Some(single(last, previews));
        }
        let summary = if self.conversations.len() == 1 {
            match &last.place {
                Some(place) => format!("{} new messages in {place}", self.total),
                None => format!("{} new messages from {}", self.total, last.sender),
            }
        } else {
            format!("{} new messages in several conversations", self.total)
        };
        let body = if previews {
            self.recent
                .iter()
                .map(|i| format!("{}: {}", i.sender, preview(&i.preview)))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            let mut senders: Vec<&str> = Vec::new();
            for i in self.recent.iter().rev() {
                if !senders.contains(&i.sender.as_str()) {
                    senders.push(&i.sender);
                }
            }
            format!("From {}", senders.join(", "))
        };
        Some(NotificationText { summary, body })
    }
}

fn single(item: &AlertItem, previews: bool) -> NotificationText {
    let place = item.place.as_deref();
    let summary = match (item.kind, place) {
        (NotificationKind::Mention, Some(place)) => {
            format!("{} mentioned you in {place}", item.sender)
        }
        (NotificationKind::Mention, None) => format!("{} mentioned you", item.sender),
        (NotificationKind::Reply, Some(place)) => {
            format!("{} replied to you in {place}", item.sender)
        }
        (NotificationKind::Reply, None) => format!("{} replied to you", item.sender),
        (_, Some(place)) => format!("{} in {place}", item.sender),
        (_, None) => item.sender.clone(),
    };
    let body = if previews {
        preview(&item.preview)
    } else {
        match item.kind {
            NotificationKind::Mention => "New mention".to_owned(),
            NotificationKind::Reply => "New reply".to_owned(),
            _ => "New message".to_owned(),
        }
    };
    NotificationText { summary, body }
}

/// A message's text for a notification: its Markdown as plain text, one line, at most
/// [`PREVIEW_MAX_CHARS`] characters.
fn preview(text: &str) -> String {
    let flat = super::plain_text::plain_text(text);
    if flat.chars().count() <= PREVIEW_MAX_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(PREVIEW_MAX_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Escapes the characters the notification markup (a small HTML subset) gives meaning to, for
/// servers that announce `body-markup`: a message saying `<b>` is shown, not obeyed.
pub fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        kind: NotificationKind,
        conv: i64,
        sender: &str,
        place: Option<&str>,
        text: &str,
    ) -> AlertItem {
        AlertItem {
            kind,
            conversation_id: Some(ConversationId(conv)),
            message_id: Some(MessageId(conv * 100)),
            sender: sender.into(),
            place: place.map(Into::into),
            preview: text.into(),
        }
    }

    fn text(summary: &str, body: &str) -> Option<NotificationText> {
        Some(NotificationText {
            summary: summary.into(),
            body: body.into(),
        })
    }

    #[test]
    fn one_alert_says_who_where_and_what() {
        let t0 = Instant::now();
        let cases = [
            (
                item(NotificationKind::DirectMessage, 1, "Grace", None, "lunch?"),
                ("Grace", "lunch?"),
                ("Grace", "New message"),
            ),
            (
                item(
                    NotificationKind::Mention,
                    2,
                    "Grace",
                    Some("#ops"),
                    "@ada look",
                ),
                ("Grace mentioned you in #ops", "@ada look"),
                ("Grace mentioned you in #ops", "New mention"),
            ),
            (
                item(NotificationKind::Reply, 3, "Bob", Some("Lunch"), "yes"),
                ("Bob replied to you in Lunch", "yes"),
                ("Bob replied to you in Lunch", "New reply"),
            ),
        ];
        for (alert, with, without) in cases {
            let mut burst = Burst::new(t0);
            burst.push(alert.clone(), t0);
            assert_eq!(burst.text(true), text(with.0, with.1));
            assert_eq!(burst.text(false), text(without.0, without.1));
            assert_eq!(
                burst.target(),
                Some(OpenMessage {
                    conversation_id: alert.conversation_id.unwrap(),
                    message_id: alert.message_id,
                    seq: None,
                })
            );
        }
    }

    #[test]
    fn a_burst_becomes_one_notification_that_opens_the_newest_message() {
        let t0 = Instant::now();
        let mut burst = Burst::new(t0);
        assert!(!burst.is_open(t0), "an empty burst takes nothing");
        burst.push(
            item(NotificationKind::Mention, 2, "Grace", Some("#ops"), "one"),
            t0,
        );
        let t1 = t0 + Duration::from_secs(2);
        assert!(burst.is_open(t1));
        burst.push(
            item(NotificationKind::Reply, 2, "Bob", Some("#ops"), "two"),
            t1,
        );
        assert_eq!(
            burst.text(true),
            text("2 new messages in #ops", "Grace: one\nBob: two")
        );
        assert_eq!(
            burst.text(false),
            text("2 new messages in #ops", "From Bob, Grace")
        );

        // Still open 4 s after the *last* one (the gap counts from the newest).
        let t2 = t1 + Duration::from_secs(4);
        assert!(burst.is_open(t2));
        burst.push(
            item(NotificationKind::DirectMessage, 5, "Bob", None, "three"),
            t2,
        );
        burst.push(
            item(NotificationKind::DirectMessage, 5, "Bob", None, "four"),
            t2,
        );
        assert_eq!(
            burst.text(true),
            text(
                "4 new messages in several conversations",
                "Bob: two\nBob: three\nBob: four"
            )
        );
        assert_eq!(
            burst.target(),
            Some(OpenMessage {
                conversation_id: ConversationId(5),
                message_id: Some(MessageId(500)),
                seq: None,
            })
        );
        assert!(!burst.is_open(t2 + BURST_GAP));
    }

    #[test]
    fn direct_bursts_name_the_sender() {
        let t0 = Instant::now();
        let mut burst = Burst::new(t0);
        for t in ["a", "b", "c"] {
            burst.push(
                item(NotificationKind::DirectMessage, 1, "Grace", None, t),
                t0,
            );
        }
        assert_eq!(
            burst.text(true),
            text("3 new messages from Grace", "Grace: a\nGrace: b\nGrace: c")
        );
    }

    #[test]
    fn one_sound_per_burst_and_a_mention_still_chimes() {
        let mut burst = Burst::new(Instant::now());
        assert!(burst.take_sound(Sound::Message));
        assert!(!burst.take_sound(Sound::Message));
        assert!(burst.take_sound(Sound::Mention));
        assert!(!burst.take_sound(Sound::Mention));
        assert!(!burst.take_sound(Sound::Message));

        let mut burst = Burst::new(Instant::now());
        assert!(burst.take_sound(Sound::Mention));
        assert!(
            !burst.take_sound(Sound::Message),
            "a message after a mention adds nothing"
        );
    }

    #[test]
    fn previews_are_one_bounded_line_and_markup_is_escaped() {
        let long = "word ".repeat(100);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_MAX_CHARS);
        assert!(p.ends_with('…'));
        assert_eq!(preview("two\n\nlines  here"), "two lines here");
        assert_eq!(preview("**urgent**: see `main.rs`"), "urgent: see main.rs");
        assert_eq!(
            escape_markup("<b>bold</b> & <a href=x>"),
            "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=x&gt;"
        );
    }
}
