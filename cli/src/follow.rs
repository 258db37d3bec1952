//! `jeco follow`: new messages, edits and deletes as they arrive, until Ctrl-C.
//!
//! Engine events only say *which* conversation changed; the timeline is re-read from the cache and
//! compared with what was already printed, so a missed or lagged event loses nothing and nothing is
//! printed twice.

use crate::app::{App, CliError};
use crate::output::{self, JsonItem, item_line, label, username};
use crate::resolve;
use jeco_client::{ConnectionState, EngineEvent, TimelineItem};
use jeco_shared::{ConversationId, MessageId};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::broadcast::error::RecvError;

/// How many of a conversation's newest messages are compared on each change.
const WINDOW: u32 = 100;
/// In a conversation that appears while following, messages this much older than the start are
/// history, not news (it absorbs clock differences between this machine and the server).
const NEW_CONVERSATION_GRACE: time::Duration = time::Duration::minutes(1);

/// What was printed of a message, to tell an edit or a delete from a repeat.
struct Seen {
    text: String,
    edited_at: Option<String>,
    deleted: bool,
}

impl Seen {
    fn of(item: &TimelineItem) -> Self {
        Self {
            text: item.message.text.clone(),
            edited_at: item.message.edited_at.clone(),
            deleted: item.message.deleted,
        }
    }
}

struct Follower<'a> {
    app: &'a App,
    only: Option<ConversationId>,
    seen: HashMap<MessageId, Seen>,
    known: HashSet<ConversationId>,
    started: OffsetDateTime,
}

pub async fn follow(app: &App, conversation: Option<&str>) -> anyhow::Result<()> {
    // Events from before the first read on, so nothing falls between the two.
    let mut events = app.engine.subscribe();
    let state = app.signed_in().await?;
    let only = match conversation {
        Some(arg) => Some(resolve::conversation(app, arg).await?.id),
        None => None,
    };
    let mut f = Follower {
        app,
        only,
        seen: HashMap::new(),
        known: HashSet::new(),
        started: OffsetDateTime::now_utc(),
    };
    for c in app.engine.conversations()? {
        if f.wanted(c.id) {
            f.known.insert(c.id);
            for item in app.engine.timeline(c.id, None, WINDOW)?.items {
                if item.seq().is_some() {
                    f.seen.insert(item.message.id, Seen::of(&item));
                }
            }
        }
    }
    let what = match only {
        Some(id) => app
            .engine
            .conversation(id)?
            .map(|c| label(&app.engine, &c))
            .unwrap_or_default(),
        None => "all conversations".into(),
    };
    app.out.note(format!(
        "following {what} ({}); Ctrl-C to stop",
        output::connection(&state)
    ));
    // Anything that changed between the first read and now.
    f.scan_all()?;
    // Connection changes from now on (those while settling were reported above).
    let mut connection = app.engine.watch_connection();
    connection.mark_unchanged();
    let mut shown = state;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let event = tokio::select! {
            _ = &mut ctrl_c => break,
            changed = connection.changed() => {
                if changed.is_err() {
                    break;
                }
                let state = connection.borrow_and_update().clone();
                match state {
                    ConnectionState::SignedOut => {
                        return Err(CliError::new(
                            "unauthorized",
                            "the session is over: run `jeco login <username>`",
                        )
                        .into());
                    }
                    ConnectionState::Incompatible { reason } => {
                        return Err(CliError::new("protocol_mismatch", reason).into());
                    }
                    // Steps of a reconnect; "live" or "offline" says how it ended.
                    ConnectionState::Connecting
                    | ConnectionState::Authenticating
                    | ConnectionState::CatchingUp => {}
                    state if state != shown => {
                        app.out.note(output::connection(&state));
                        shown = state;
                    }
                    _ => {}
                }
                continue;
            }
            event = events.recv() => event,
        };
        match event {
            Ok(EngineEvent::TimelineChanged {
                conversation_id, ..
            }) => f.scan(conversation_id)?,
            Ok(EngineEvent::ConversationsChanged) => f.scan_all()?,
            Ok(_) => {}
            // Fell behind: re-reading everything catches up without missing anything.
            Err(RecvError::Lagged(_)) => f.scan_all()?,
            Err(RecvError::Closed) => break,
        }
    }
    Ok(())
}

impl Follower<'_> {
    fn wanted(&self, id: ConversationId) -> bool {
        self.only.is_none_or(|only| only == id)
    }

    fn scan_all(&mut self) -> anyhow::Result<()> {
        for c in self.app.engine.conversations()? {
            self.scan(c.id)?;
        }
        Ok(())
    }

    /// Prints what is new in a conversation's newest messages.
    fn scan(&mut self, id: ConversationId) -> anyhow::Result<()> {
        if !self.wanted(id) {
            return Ok(());
        }
        let newly_known = self.known.insert(id);
        let Some(c) = self.app.engine.conversation(id)? else {
            return Ok(());
        };
        let place = label(&self.app.engine, &c);
        for item in self.app.engine.timeline(id, None, WINDOW)?.items {
            let m = &item.message;
            // Printed once the server has it (pending sends come back confirmed).
            if m.id.0 == 0 {
                continue;
            }
            let kind = match self.seen.get(&m.id) {
                None => {
                    if newly_known && self.is_history(&m.created_at) {
                        self.seen.insert(m.id, Seen::of(&item));
                        continue;
                    }
                    "message"
                }
                Some(seen) if m.deleted && !seen.deleted => "deleted",
                Some(seen)
                    if !m.deleted && (m.edited_at != seen.edited_at || m.text != seen.text) =>
                {
                    "edited"
                }
                Some(_) => continue,
            };
            self.seen.insert(m.id, Seen::of(&item));
            self.print(kind, &place, &item);
        }
        Ok(())
    }

    fn is_history(&self, created_at: &str) -> bool {
        OffsetDateTime::parse(created_at, &Rfc3339)
            .is_ok_and(|t| t < self.started - NEW_CONVERSATION_GRACE)
    }

    fn print(&self, kind: &str, place: &str, item: &TimelineItem) {
        let engine = &self.app.engine;
        if self.app.out.json {
            self.app.out.json_line(&json!({
                "event": kind,
                "conversation": place,
                "message": JsonItem::new(engine, item),
            }));
            return;
        }
        let m = &item.message;
        match kind {
            "deleted" => self.app.out.line(format!(
                "{place} {} deleted message {}",
                username(engine, m.sender_id),
                m.id
            )),
            "edited" => self
                .app
                .out
                .line(format!("{place} (edited) {}", item_line(engine, item))),
            _ => self
                .app
                .out
                .line(format!("{place} {}", item_line(engine, item))),
        }
    }
}
