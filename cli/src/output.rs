//! Rendering: lines for people, JSON for scripts (`--json`).

use crate::app::{error_code, error_message};
use jeco_client::{ConnectionState, Engine, ItemState, TimelineItem};
use jeco_shared::UserId;
use jeco_shared::conversations::{Conversation, ConversationKind};
use jeco_shared::messages::Message;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// Where a command's output goes, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// A line on stdout. A closed pipe (`jeco history … | head`) ends the program quietly.
    pub fn line(&self, line: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", line.as_ref())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            std::process::exit(0);
        }
    }

    /// The command's one JSON document (pretty-printed).
    pub fn document(&self, value: &impl Serialize) {
        self.line(serde_json::to_string_pretty(value).expect("CLI output serializes"));
    }

    /// One JSON object on one line (`follow`).
    pub fn json_line(&self, value: &impl Serialize) {
        self.line(serde_json::to_string(value).expect("CLI output serializes"));
    }

    /// A remark for people on stderr (never mixed into stdout, so `--json` stays parseable).
    pub fn note(&self, line: impl AsRef<str>) {
        eprintln!("{}", line.as_ref());
    }

    /// Reports a failed command; the exit code is 1.
    pub fn fail(&self, e: &anyhow::Error) -> ExitCode {
        let message = error_message(e);
        if self.json {
            let body = serde_json::json!({
                "error": { "code": error_code(e), "message": message }
            });
            self.line(serde_json::to_string_pretty(&body).expect("JSON serializes"));
        } else {
            eprintln!("error: {message}");
        }
        ExitCode::FAILURE
    }
}

/// `2025-01-31 14:03` (UTC) from an RFC 3339 timestamp; the input itself if it does not parse.
pub fn time(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => rfc3339.to_owned(),
    }
}

/// A user's name from the cache, `user#<id>` when the cache does not know them.
pub fn username(engine: &Engine, id: UserId) -> String {
    match engine.user(id) {
        Ok(Some(u)) => u.username,
        _ => format!("user#{id}"),
    }
}

/// How a conversation is named on the command line: `#channel`, the group's name, `@peer`.
pub fn label(engine: &Engine, c: &Conversation) -> String {
    match c.kind {
        ConversationKind::Channel => format!("#{}", c.name.as_deref().unwrap_or("?")),
        ConversationKind::Group => c.name.clone().unwrap_or_else(|| format!("group {}", c.id)),
        ConversationKind::Direct => {
            let me = engine.me().map(|u| u.id);
            let peer = c
                .members
                .iter()
                .map(|m| m.user_id)
                .find(|id| Some(*id) != me)
                .or(me);
            match peer {
                Some(id) => format!("@{}", username(engine, id)),
                None => format!("direct {}", c.id),
            }
        }
    }
}

pub fn kind(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::Channel => "channel",
        ConversationKind::Group => "group",
        ConversationKind::Direct => "direct",
    }
}

/// A connection state for people.
pub fn connection(state: &ConnectionState) -> String {
    match state {
        ConnectionState::SignedOut => "signed out".into(),
        ConnectionState::Connecting => "connecting".into(),
        ConnectionState::Authenticating => "authenticating".into(),
        ConnectionState::CatchingUp => "catching up".into(),
        ConnectionState::Live => "live".into(),
        ConnectionState::WaitingToRetry {
            retry_in_ms,
            reason,
            ..
        } => format!("offline ({reason}), retrying in {}", seconds(*retry_in_ms)),
        ConnectionState::Incompatible { reason } => {
            format!("incompatible server ({reason}): upgrade jeco")
        }
    }
}

fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", (ms + 500) / 1000)
    }
}

/// A timeline entry as JSON: the message with its sender's name and its local state.
#[derive(Serialize)]
pub struct JsonItem<'a> {
    #[serde(flatten)]
    pub message: &'a Message,
    pub sender: String,
    /// `synced`, `pending`, `waiting` (behind a refused change) or `failed`.
    pub state: &'static str,
    /// Why a change made here was refused (`state: failed`), or which refused change it waits
    /// behind (`state: waiting`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

impl<'a> JsonItem<'a> {
    pub fn new(engine: &Engine, item: &'a TimelineItem) -> Self {
        let (state, error) = match &item.state {
            ItemState::Synced => ("synced", None),
            ItemState::Pending => ("pending", None),
            ItemState::Waiting { behind } => {
                ("waiting", Some(serde_json::json!({ "behind": behind })))
            }
            ItemState::Failed {
                outbox_id,
                code,
                message,
            } => (
                "failed",
                Some(serde_json::json!({
                    "outbox_id": outbox_id, "code": code, "message": message
                })),
            ),
        };
        Self {
            message: &item.message,
            sender: username(engine, item.message.sender_id),
            state,
            error,
        }
    }
}

/// `1.5 MiB`
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `[2025-01-31 14:03] ada: hello [edited] [👍 2] (id 12)`, continuation lines indented.
pub fn item_line(engine: &Engine, item: &TimelineItem) -> String {
    let m = &item.message;
    let mut line = format!(
        "[{}] {}: ",
        time(&m.created_at),
        username(engine, m.sender_id)
    );
    if let Some(parent) = m.reply_to {
        line.push_str(&format!("[reply to {parent}] "));
    }
    if m.deleted {
        line.push_str("[deleted]");
    } else {
        line.push_str(&m.text.replace('\n', "\n    "));
    }
    if m.edited_at.is_some() && !m.deleted {
        line.push_str(" [edited]");
    }
    for a in &m.attachments {
        line.push_str(&format!(
            " [{:?} {} ({}, attachment {})]",
            a.kind,
            a.name,
            human_size(a.size),
            a.id
        ));
    }
    for r in &m.reactions {
        line.push_str(&format!(" [{} {}]", r.emoji, r.count));
    }
    if m.reply_count > 0 {
        let s = if m.reply_count == 1 {
            "reply"
        } else {
            "replies"
        };
        line.push_str(&format!(" [{} {s}]", m.reply_count));
    }
    match &item.state {
        ItemState::Synced => {}
        ItemState::Pending => line.push_str(" [pending]"),
        ItemState::Waiting { behind } => {
            line.push_str(&format!(" [waiting behind failed outbox item {behind}]"))
        }
        ItemState::Failed {
            outbox_id, message, ..
        } => line.push_str(&format!(
            " [failed: {message}; `jeco outbox --retry {outbox_id}` or --discard]"
        )),
    }
    if m.id.0 == 0 {
        line.push_str(&format!(" (client id {})", m.client_id));
    } else {
        line.push_str(&format!(" (id {})", m.id));
    }
    line
}
