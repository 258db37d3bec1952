//! Reading commands: they work offline from the cache, and from fresh data once connected.

use crate::app::{App, CONNECT_TIMEOUT, CliError};
use crate::output::{self, JsonItem, item_line, label, time, username};
use crate::resolve;
use jeco_client::{ConnectionState, Engine, OutboxState};
use jeco_shared::MessageId;
use jeco_shared::conversations::Conversation;
use jeco_shared::notifications::NotificationKind;
use serde::Serialize;
use serde_json::json;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A conversation as JSON: the wire shape plus the name `jeco` knows it by.
#[derive(Serialize)]
pub struct JsonConversation<'a> {
    /// `#channel`, the group's name or `@peer`: what to pass as a conversation argument.
    pub label: String,
    #[serde(flatten)]
    pub conversation: &'a Conversation,
}

impl<'a> JsonConversation<'a> {
    pub fn new(engine: &Engine, conversation: &'a Conversation) -> Self {
        Self {
            label: label(engine, conversation),
            conversation,
        }
    }
}

/// Items still to deliver, and items the server refused.
fn outbox_counts(app: &App) -> anyhow::Result<(usize, usize)> {
    let outbox = app.engine.outbox(None)?;
    let failed = outbox
        .iter()
        .filter(|i| i.state == OutboxState::Failed)
        .count();
    Ok((outbox.len() - failed, failed))
}

pub async fn status(app: &App) -> anyhow::Result<()> {
    let Some(me) = app.engine.me() else {
        if app.out.json {
            app.out.document(&json!({
                "server": app.server.as_str(),
                "data_dir": app.data_dir,
                "signed_in": false,
            }));
        } else {
            app.out
                .line(format!("not signed in (server {})", app.server.as_str()));
        }
        return Ok(());
    };
    let state = app.settle(CONNECT_TIMEOUT).await;
    let cache = app.engine.cache()?;
    let conversations = app.engine.conversations()?.len();
    let messages = cache.message_count()?;
    let (queued, failed) = outbox_counts(app)?;
    if app.out.json {
        app.out.document(&json!({
            "server": app.server.as_str(),
            "data_dir": app.data_dir,
            "signed_in": true,
            "user": me,
            "live": state.is_live(),
            "connection": state,
            "conversations": conversations,
            "messages": messages,
            "outbox": { "queued": queued, "failed": failed },
        }));
        return Ok(());
    }
    let connection = match &state {
        ConnectionState::Live => "live".to_owned(),
        ConnectionState::WaitingToRetry { reason, .. } => format!("offline ({reason})"),
        other => format!("offline ({})", output::connection(other)),
    };
    app.out
        .line(format!("user:       {} (id {})", me.username, me.id));
    app.out.line(format!("server:     {}", app.server.as_str()));
    app.out.line(format!("connection: {connection}"));
    app.out.line(format!(
        "cache:      {conversations} conversations, {messages} messages ({})",
        cache.path().display()
    ));
    let mut line = format!("outbox:     {queued} queued, {failed} failed");
    if failed > 0 {
        line.push_str(" (see `jeco outbox`)");
    }
    app.out.line(line);
    Ok(())
}

pub async fn conversations(app: &App) -> anyhow::Result<()> {
    let state = app.signed_in().await?;
    let list = resolve::conversations(app).await?;
    if app.out.json {
        let items: Vec<JsonConversation> = list
            .iter()
            .map(|c| JsonConversation::new(&app.engine, c))
            .collect();
        app.out.document(&items);
        return Ok(());
    }
    offline_note(app, &state);
    if list.is_empty() {
        app.out
            .line("no conversations yet: `jeco dm <username>`, `jeco create-group <name>`");
        return Ok(());
    }
    let rows: Vec<(String, String, &Conversation)> = list
        .iter()
        .map(|c| {
            let mut unread = String::new();
            if c.unread_count > 0 {
                unread = format!("{} unread", c.unread_count);
                if c.mention_count > 0 {
                    unread.push_str(&format!(", {} @", c.mention_count));
                }
            }
            (label(&app.engine, c), unread, c)
        })
        .collect();
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let unread_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (name, unread, c) in rows {
        let muted = if c.muted { " muted" } else { "" };
        app.out.line(format!(
            "{name:<width$}  {unread:<unread_width$}  {:<7}  id {}{muted}",
            output::kind(c.kind),
            c.id
        ));
    }
    Ok(())
}

/// A thread: the root, then its replies oldest first (`--json`: `{root, items}`).
pub async fn thread(app: &App, conversation: &str, root: MessageId) -> anyhow::Result<()> {
    let state = app.signed_in().await?;
    let c = resolve::conversation(app, conversation).await?;
    let thread = app.engine.load_thread(c.id, root).await?;
    let Some(root_item) = &thread.root else {
        return Err(CliError::usage(format!(
            "message {} is not in {} (or not available offline)",
            root.0,
            label(&app.engine, &c)
        ))
        .into());
    };
    let senders = std::iter::once(root_item)
        .chain(&thread.replies)
        .map(|i| i.message.sender_id)
        .collect::<Vec<_>>();
    app.engine.learn_users(senders).await;
    if app.out.json {
        let items: Vec<JsonItem> = thread
            .replies
            .iter()
            .map(|i| JsonItem::new(&app.engine, i))
            .collect();
        app.out.document(&json!({
            "conversation": JsonConversation::new(&app.engine, &c),
            "root": JsonItem::new(&app.engine, root_item),
            "items": items,
        }));
        return Ok(());
    }
    offline_note(app, &state);
    app.out.line(item_line(&app.engine, root_item));
    for item in &thread.replies {
        app.out.line(format!("  {}", item_line(&app.engine, item)));
    }
    Ok(())
}

pub async fn history(
    app: &App,
    conversation: &str,
    limit: u32,
    before: Option<i64>,
) -> anyhow::Result<()> {
    let state = app.signed_in().await?;
    let c = resolve::conversation(app, conversation).await?;
    if limit == 0 {
        return Err(CliError::usage("--limit must be at least 1").into());
    }
    let timeline = app.engine.load_timeline(c.id, before, limit).await?;
    let senders = timeline.items.iter().map(|i| i.message.sender_id);
    app.engine.learn_users(senders).await;
    if app.out.json {
        let items: Vec<JsonItem> = timeline
            .items
            .iter()
            .map(|i| JsonItem::new(&app.engine, i))
            .collect();
        app.out.document(&json!({
            "conversation": JsonConversation::new(&app.engine, &c),
            "items": items,
            "has_more_before": timeline.has_more_before,
        }));
        return Ok(());
    }
    offline_note(app, &state);
    if timeline.has_more_before
        && let Some(oldest) = timeline.items.iter().find_map(|i| i.seq())
    {
        app.out.line(format!(
            "… older messages: `jeco history {conversation} --before {}`",
            oldest
        ));
    }
    if timeline.items.is_empty() {
        app.out
            .line(format!("no messages in {}", label(&app.engine, &c)));
    }
    for item in &timeline.items {
        app.out.line(item_line(&app.engine, item));
    }
    Ok(())
}

/// Saves a message's attachments into `out`: from the media cache, downloading what it lacks.
pub async fn download(
    app: &App,
    conversation: &str,
    message: i64,
    out: &std::path::Path,
    thumbnail: bool,
) -> anyhow::Result<()> {
    app.signed_in().await?;
    let c = resolve::conversation(app, conversation).await?;
    let cache = app.engine.cache()?;
    let m = match cache.message(jeco_shared::MessageId(message))? {
        Some(m) if m.conversation_id == c.id => m,
        _ => {
            return Err(CliError::new(
                "not_found",
                format!("no message {message} in {}", label(&app.engine, &c)),
            )
            .into());
        }
    };
    if m.attachments.is_empty() {
        return Err(
            CliError::new("not_found", format!("message {message} has no attachments")).into(),
        );
    }
    std::fs::create_dir_all(out)?;
    let mut saved = Vec::new();
    for a in &m.attachments {
        if thumbnail && a.kind != jeco_shared::media::AttachmentKind::Image {
            if !app.out.json {
                app.out.line(format!("{} has no thumbnail", a.name));
            }
            continue;
        }
        let cached = app.engine.attachment_file(a, thumbnail).await?;
        // Only the last path component of the sender's name, never a path of theirs.
        let name = std::path::Path::new(&a.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .unwrap_or_else(|| format!("attachment-{}", a.id));
        let name = if thumbnail {
            format!("thumbnail-{name}")
        } else {
            name
        };
        let target = out.join(&name);
        std::fs::copy(&cached, &target)?;
        saved.push(json!({ "attachment": a.id, "name": a.name, "path": target, "size": a.size }));
        if !app.out.json {
            app.out.line(format!(
                "saved {} ({})",
                target.display(),
                output::human_size(a.size)
            ));
        }
    }
    if app.out.json {
        app.out.document(&json!({ "saved": saved }));
    }
    Ok(())
}

pub async fn search(
    app: &App,
    query: &str,
    conversation: Option<&str>,
    limit: u32,
) -> anyhow::Result<()> {
    let state = app.signed_in().await?;
    let within = match conversation {
        Some(arg) => Some(resolve::conversation(app, arg).await?.id),
        None => None,
    };
    let results = app
        .engine
        .search(query, within, limit.clamp(1, 100))
        .await?;
    if app.out.json {
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                json!({
                    "message": r.message,
                    "sender": username(&app.engine, r.message.sender_id),
                    "conversation": app.engine.conversation(r.message.conversation_id)
                        .ok().flatten().map(|c| label(&app.engine, &c)),
                    "snippet": r.snippet,
                    "local": r.local,
                })
            })
            .collect();
        app.out.document(&json!({
            "live": state.is_live(),
            "results": items,
        }));
        return Ok(());
    }
    if !state.is_live() {
        app.out
            .note("offline: these results are from the local cache only");
    }
    if results.is_empty() {
        app.out.line(format!("nothing found for {query:?}"));
    }
    let bold = std::io::stdout().is_terminal();
    for r in &results {
        let m = &r.message;
        let place = app
            .engine
            .conversation(m.conversation_id)
            .ok()
            .flatten()
            .map(|c| label(&app.engine, &c))
            .unwrap_or_else(|| format!("conversation {}", m.conversation_id));
        let snippet: String = r
            .snippet
            .iter()
            .map(|p| match (p.highlight, bold) {
                (true, true) => format!("\x1b[1m{}\x1b[0m", p.text),
                (true, false) => format!("*{}*", p.text),
                (false, _) => p.text.clone(),
            })
            .collect::<String>()
            .replace('\n', " ");
        let origin = if r.local && state.is_live() {
            " [cached]"
        } else {
            ""
        };
        app.out.line(format!(
            "[{}] {place} {}: {snippet} (id {}){origin}",
            time(&m.created_at),
            username(&app.engine, m.sender_id),
            m.id
        ));
    }
    Ok(())
}

pub async fn notifications(app: &App, limit: u32) -> anyhow::Result<()> {
    let state = app.signed_in().await?;
    if state.is_live() {
        fetch_notifications(app).await;
    }
    let list = app.engine.notifications(limit.max(1))?;
    if app.out.json {
        let items: Vec<_> = list
            .iter()
            .map(|(n, read)| {
                json!({
                    "notification": n,
                    "read": read,
                    "actor": n.actor_id.map(|id| username(&app.engine, id)),
                })
            })
            .collect();
        app.out.document(&items);
        return Ok(());
    }
    offline_note(app, &state);
    if list.is_empty() {
        app.out.line("no notifications");
    }
    for (n, read) in &list {
        let what = match n.kind {
            NotificationKind::Welcome => "welcome",
            NotificationKind::DirectMessage => "message",
            NotificationKind::Mention => "mention",
            NotificationKind::Reply => "reply",
            NotificationKind::ContactRequest => "contact request",
            NotificationKind::ContactAccepted => "contact accepted",
            NotificationKind::AddedToTeam => "added to team",
            NotificationKind::AddedToConversation => "added to conversation",
        };
        let mark = if *read { " " } else { "*" };
        let actor = n
            .actor_id
            .map(|id| format!(" from {}", username(&app.engine, id)))
            .unwrap_or_default();
        let place = n
            .conversation_id
            .and_then(|id| app.engine.conversation(id).ok().flatten())
            .map(|c| format!(" in {}", label(&app.engine, &c)))
            .unwrap_or_default();
        app.out.line(format!(
            "{mark} [{}] {what}{actor}{place}: {}",
            time(&n.created_at),
            n.preview.replace('\n', " ")
        ));
    }
    Ok(())
}

/// The engine's cache only learns notifications pushed while it is connected (not those from
/// before its first sync, such as the welcome): take the server's newest page into it.
async fn fetch_notifications(app: &App) {
    let client = app.engine.client();
    let page = match client.access_token().await {
        Ok(token) => client.api().notifications(&token).await,
        Err(e) => {
            tracing::debug!(error = %e, "no token to fetch notifications with");
            return;
        }
    };
    match (page, app.engine.cache()) {
        (Ok(page), Ok(cache)) => {
            for n in &page.items {
                if let Err(e) = cache.upsert_notification(n) {
                    tracing::debug!(error = %e, "cannot cache a notification");
                }
            }
        }
        (Err(e), _) => tracing::debug!(error = %e, "notifications not fetched; using the cache"),
        (_, Err(e)) => tracing::debug!(error = %e, "no cache"),
    }
}

/// Connect, deliver, catch up, report.
pub async fn sync(app: &App, wait: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    app.signed_in().await?;
    if app.engine.wait_live(wait).await.is_err() {
        let state = app.engine.connection_state();
        let (code, why) = match &state {
            ConnectionState::SignedOut => (
                "unauthorized",
                "the session is over: run `jeco login <username>`".to_owned(),
            ),
            ConnectionState::Incompatible { reason } => ("protocol_mismatch", reason.clone()),
            other => ("unreachable", output::connection(other)),
        };
        return Err(CliError::new(
            code,
            format!("not synced within {}s: {why}", wait.as_secs_f64()),
        )
        .into());
    }
    let left = wait.saturating_sub(started.elapsed());
    let drained = app.engine.wait_outbox_drained(left).await.is_ok();
    let (queued, failed) = outbox_counts(app)?;
    let conversations = app.engine.conversations()?.len();
    let messages = app.engine.cache()?.message_count()?;
    if app.out.json {
        app.out.document(&json!({
            "live": true,
            "outbox_drained": drained,
            "conversations": conversations,
            "messages": messages,
            "outbox": { "queued": queued, "failed": failed },
        }));
    } else {
        app.out.line(format!(
            "synced: {conversations} conversations, {messages} messages cached; outbox: {queued} queued, {failed} failed"
        ));
        if failed > 0 {
            app.out
                .note("some changes were refused by the server: see `jeco outbox`");
        }
    }
    if !drained {
        return Err(CliError::new(
            "timeout",
            format!(
                "the outbox was not delivered within {}s",
                wait.as_secs_f64()
            ),
        )
        .into());
    }
    Ok(())
}

/// Says on stderr that what follows comes from the cache.
pub fn offline_note(app: &App, state: &ConnectionState) {
    match state {
        ConnectionState::Live => {}
        ConnectionState::WaitingToRetry { reason, .. } => {
            app.out
                .note(format!("offline ({reason}); showing the local cache"));
        }
        other => app.out.note(format!(
            "{}; showing the local cache",
            output::connection(other)
        )),
    }
}
