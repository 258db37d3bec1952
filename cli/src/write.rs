//! Writing commands: everything goes through the engine's persistent outbox, then the command waits
//! a while for the server. What is not delivered in time stays queued for the next `jeco` that runs
//! online; what the server refuses is reported with its reason.

use crate::app::{App, CliError};
use crate::output::label;
use crate::resolve;
use jeco_client::outbox::OutboxOp;
use jeco_client::{ConnectionState, FileToSend, MessageRef, OutboxItem, OutboxState};
use jeco_shared::conversations::Conversation;
use jeco_shared::messages::Message;
use jeco_shared::{ConversationId, MessageId};
use serde_json::json;
use std::io::{IsTerminal, Read};
use std::time::Duration;
use tokio::time::Instant;

/// A change to an existing message.
pub enum Change {
    Edit { text: String },
    Delete,
    React { emoji: String, add: bool },
}

/// How a queued change ended while we waited.
enum Delivery {
    Delivered,
    /// Still queued (offline, or not yet its turn).
    Queued,
    /// Held back by an earlier change in its conversation that the server refused (this outbox
    /// item): it goes once that one is retried or discarded.
    Waiting(i64),
    Failed(OutboxItem),
}

/// What a sent message answers.
pub struct Reply {
    pub to: MessageId,
    /// Keep it in the thread of `to`, out of the channel.
    pub thread_only: bool,
}

pub async fn send(
    app: &App,
    conversation: &str,
    text: Vec<String>,
    reply: Option<Reply>,
    files: &[std::path::PathBuf],
    wait: Duration,
) -> anyhow::Result<()> {
    // With files, no text is fine (and stdin is not read for it).
    let text = if !files.is_empty() && text.is_empty() {
        String::new()
    } else {
        message_text(text)?
    };
    app.signed_in().await?;
    let c = resolve::conversation(app, conversation).await?;
    let files: Vec<FileToSend> = files.iter().map(FileToSend::new).collect();
    let item = match reply {
        Some(Reply {
            to,
            thread_only: true,
        }) => app.engine.send_in_thread(c.id, to, &text, &files, false)?,
        other => app
            .engine
            .send_files(c.id, &text, other.map(|r| r.to), &files)?,
    };
    let OutboxOp::Send { client_id, .. } = &item.op else {
        unreachable!("send queues a send")
    };
    match wait_delivered(app, c.id, &[item.id], wait).await? {
        Delivery::Delivered => {
            let message = app.engine.cache()?.message_by_client_id(c.id, client_id)?;
            match message {
                Some(m) if app.out.json => app
                    .out
                    .document(&json!({ "queued": false, "delivered": true, "message": m })),
                Some(m) => app.out.line(format!(
                    "sent to {} (id {}, seq {})",
                    label(&app.engine, &c),
                    m.id,
                    m.seq
                )),
                // Delivered, but the confirmation is not in the cache (cannot normally happen).
                None => delivered_unknown(app, &c, client_id),
            }
            Ok(())
        }
        Delivery::Queued => {
            queued(app, &c, &item, Some(client_id), None);
            Ok(())
        }
        Delivery::Waiting(behind) => {
            queued(app, &c, &item, Some(client_id), Some(behind));
            Ok(())
        }
        Delivery::Failed(item) => Err(refused(&item)),
    }
}

fn delivered_unknown(app: &App, c: &Conversation, client_id: &str) {
    if app.out.json {
        app.out
            .document(&json!({ "queued": false, "delivered": true, "client_id": client_id }));
    } else {
        app.out.line(format!("sent to {}", label(&app.engine, c)));
    }
}

/// The message text: the arguments joined by spaces, or all of stdin when there are none (or the
/// only one is `-`), without its trailing newline.
fn message_text(args: Vec<String>) -> anyhow::Result<String> {
    if !(args.is_empty() || args.len() == 1 && args[0] == "-") {
        return Ok(args.join(" "));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Type the message, then Ctrl-D on a line of its own:");
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text)?;
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    if text.trim().is_empty() {
        return Err(CliError::new("validation_failed", "the message is empty").into());
    }
    Ok(text)
}

pub async fn change(
    app: &App,
    conversation: &str,
    message: &str,
    change: Change,
    wait: Duration,
) -> anyhow::Result<()> {
    let target = resolve::message(message)?;
    app.signed_in().await?;
    let c = resolve::conversation(app, conversation).await?;
    let queued_item: Option<OutboxItem> = match &change {
        Change::Edit { text } => app.engine.edit(c.id, target.clone(), text)?,
        Change::Delete => app.engine.delete(c.id, target.clone())?,
        Change::React { emoji, add } => app.engine.react(c.id, target.clone(), emoji, *add)?,
    };
    // No item: a delete cancelled a send that had not left yet.
    let what = match &change {
        Change::Edit { .. } => "edited",
        Change::Delete => "deleted",
        Change::React { add: true, .. } => "reacted to",
        Change::React { add: false, .. } => "removed the reaction from",
    };
    let target_name = match &target {
        MessageRef::Id(id) => format!("message {id}"),
        MessageRef::Pending(cid) => format!("pending message {cid}"),
    };
    let Some(item) = queued_item else {
        // Deleting a send that had not left yet: it is simply not sent.
        if app.out.json {
            app.out
                .document(&json!({ "queued": false, "cancelled": true }));
        } else {
            app.out.line(format!(
                "{what} {target_name} before it was sent (it will not be sent)"
            ));
        }
        return Ok(());
    };
    match wait_delivered(app, c.id, &[item.id], wait).await? {
        Delivery::Delivered => {
            let message = current_message(app, c.id, &target)?;
            if app.out.json {
                app.out.document(&json!({
                    "queued": false,
                    "delivered": true,
                    "message": message,
                }));
            } else {
                app.out.line(match &change {
                    Change::React { emoji, add: true } => {
                        format!("reacted {emoji} to {target_name}")
                    }
                    Change::React { emoji, add: false } => {
                        format!("removed {emoji} from {target_name}")
                    }
                    _ => format!("{what} {target_name}"),
                });
            }
            Ok(())
        }
        Delivery::Queued => {
            queued(app, &c, &item, None, None);
            Ok(())
        }
        Delivery::Waiting(behind) => {
            queued(app, &c, &item, None, Some(behind));
            Ok(())
        }
        Delivery::Failed(item) => Err(refused(&item)),
    }
}

fn current_message(
    app: &App,
    conversation: ConversationId,
    target: &MessageRef,
) -> anyhow::Result<Option<Message>> {
    let cache = app.engine.cache()?;
    Ok(match target {
        MessageRef::Id(id) => cache.message(*id)?,
        MessageRef::Pending(cid) => cache.message_by_client_id(conversation, cid)?,
    })
}

/// Prints that `item` waits in the outbox.
fn queued(
    app: &App,
    c: &Conversation,
    item: &OutboxItem,
    client_id: Option<&str>,
    waiting_behind: Option<i64>,
) {
    let state = app.engine.connection_state();
    if app.out.json {
        let mut body = json!({
            "queued": true,
            "outbox_id": item.id,
            "conversation_id": c.id,
            "connection": state,
        });
        if let Some(cid) = client_id {
            body["client_id"] = json!(cid);
        }
        if let Some(behind) = waiting_behind {
            body["waiting_behind"] = json!(behind);
        }
        app.out.document(&body);
        return;
    }
    if let Some(behind) = waiting_behind {
        app.out.line(format!(
            "queued for {} behind outbox item {behind}, which the server refused: it goes once \
             that one is retried (`jeco outbox --retry {behind}`) or discarded (`--discard {behind}`) \
             (outbox item {})",
            label(&app.engine, c),
            item.id
        ));
        return;
    }
    let why = match &state {
        ConnectionState::SignedOut => "the session is over; sign in again with `jeco login`",
        ConnectionState::Live => "the server has not confirmed it yet",
        _ => "offline",
    };
    app.out.line(format!(
        "queued for {} ({why}): it will be sent the next time jeco runs online (outbox item {})",
        label(&app.engine, c),
        item.id
    ));
}

/// The server's refusal of an item as the command's error.
fn refused(item: &OutboxItem) -> anyhow::Error {
    let (code, message) = match &item.error {
        Some(e) => (e.code.as_str(), e.message.clone()),
        None => ("bad_request", "refused by the server".to_owned()),
    };
    CliError::new(
        code,
        format!(
            "the server refused it: {message} (`jeco outbox --retry {id}` or `--discard {id}`)",
            id = item.id
        ),
    )
    .into()
}

/// Waits until the outbox items `ids` are delivered (gone from the outbox), one failed, or
/// `timeout` passed. The engine delivers them in the background while the connection is live.
async fn wait_delivered(
    app: &App,
    conversation: ConversationId,
    ids: &[i64],
    timeout: Duration,
) -> anyhow::Result<Delivery> {
    let mut events = app.engine.subscribe();
    let deadline = Instant::now() + timeout;
    loop {
        let outbox = app.engine.outbox(Some(conversation))?;
        let mine: Vec<&OutboxItem> = outbox.iter().filter(|i| ids.contains(&i.id)).collect();
        if let Some(failed) = mine.iter().find(|i| i.state == OutboxState::Failed) {
            return Ok(Delivery::Failed((*failed).clone()));
        }
        if mine.is_empty() {
            return Ok(Delivery::Delivered);
        }
        // Behind a refusal it will not go by itself: no use waiting.
        if let Some(behind) = mine
            .iter()
            .find_map(|i| jeco_client::cache::blocked_by(&outbox, i))
        {
            return Ok(Delivery::Waiting(behind));
        }
        if matches!(
            app.engine.connection_state(),
            ConnectionState::SignedOut | ConnectionState::Incompatible { .. }
        ) {
            return Ok(Delivery::Queued);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Delivery::Queued);
        }
        // Any event may be the one; re-reading the outbox keeps this exact.
        let _ = tokio::time::timeout(
            (deadline - now).min(Duration::from_millis(250)),
            events.recv(),
        )
        .await;
    }
}

pub async fn outbox(
    app: &App,
    retry: Option<i64>,
    discard: Option<i64>,
    wait: Duration,
) -> anyhow::Result<()> {
    if app.engine.me().is_none() {
        app.signed_in().await?;
    }
    if let Some(id) = discard {
        let removed = app.engine.discard(id)?;
        if removed.is_empty() {
            return Err(CliError::not_found(format!("no outbox item {id}")).into());
        }
        if app.out.json {
            app.out.document(&json!({ "discarded": removed }));
        } else {
            let ids: Vec<String> = removed.iter().map(i64::to_string).collect();
            app.out
                .line(format!("discarded outbox item(s) {}", ids.join(", ")));
        }
        return Ok(());
    }
    if let Some(id) = retry {
        let Some(item) = app.engine.outbox(None)?.into_iter().find(|i| i.id == id) else {
            return Err(CliError::not_found(format!("no outbox item {id}")).into());
        };
        if !app.engine.retry(id)? {
            return Err(CliError::usage(format!(
                "outbox item {id} has not failed; it is delivered when jeco runs online"
            ))
            .into());
        }
        app.settle(crate::app::CONNECT_TIMEOUT).await;
        let c = app
            .engine
            .conversation(item.conversation_id)?
            .ok_or_else(|| CliError::not_found("its conversation is no longer cached"))?;
        return match wait_delivered(app, c.id, &[id], wait).await? {
            Delivery::Delivered => {
                if app.out.json {
                    app.out
                        .document(&json!({ "queued": false, "delivered": true, "outbox_id": id }));
                } else {
                    app.out.line(format!("outbox item {id} delivered"));
                }
                Ok(())
            }
            Delivery::Queued => {
                queued(app, &c, &item, None, None);
                Ok(())
            }
            Delivery::Waiting(behind) => {
                queued(app, &c, &item, None, Some(behind));
                Ok(())
            }
            Delivery::Failed(item) => Err(refused(&item)),
        };
    }
    let items = app.engine.outbox(None)?;
    if app.out.json {
        app.out.document(&items);
        return Ok(());
    }
    if items.is_empty() {
        app.out.line("the outbox is empty");
        return Ok(());
    }
    for item in &items {
        let place = app
            .engine
            .conversation(item.conversation_id)
            .ok()
            .flatten()
            .map(|c| label(&app.engine, &c))
            .unwrap_or_else(|| format!("conversation {}", item.conversation_id));
        let state = match item.state {
            OutboxState::Pending => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Failed => "failed",
        };
        let mut line = format!(
            "{:>4}  {state:<7}  {place}  {}  (since {})",
            item.id,
            describe(&item.op),
            crate::output::time(&item.created_at)
        );
        if let Some(e) = &item.error {
            line.push_str(&format!(
                "\n      refused: {} ({})",
                e.message,
                e.code.as_str()
            ));
        }
        if let Some(behind) = jeco_client::cache::blocked_by(&items, item) {
            line.push_str(&format!(
                "\n      waiting behind refused item {behind} (retry or discard it)"
            ));
        }
        app.out.line(line);
    }
    Ok(())
}

fn describe(op: &OutboxOp) -> String {
    fn target(t: &MessageRef) -> String {
        match t {
            MessageRef::Id(id) => format!("message {id}"),
            MessageRef::Pending(cid) => format!("pending message {cid}"),
        }
    }
    fn quote(text: &str) -> String {
        const MAX: usize = 60;
        let one_line = text.replace('\n', " ");
        if one_line.chars().count() > MAX {
            let cut: String = one_line.chars().take(MAX).collect();
            format!("{cut:?}…")
        } else {
            format!("{one_line:?}")
        }
    }
    match op {
        OutboxOp::Send { text, reply_to, .. } => match reply_to {
            Some(parent) => format!("reply to {parent}: {}", quote(text)),
            None => format!("send {}", quote(text)),
        },
        OutboxOp::Edit { target: t, text } => format!("edit {}: {}", target(t), quote(text)),
        OutboxOp::Delete { target: t } => format!("delete {}", target(t)),
        OutboxOp::React {
            target: t,
            emoji,
            add: true,
        } => format!("react {emoji} to {}", target(t)),
        OutboxOp::React {
            target: t,
            emoji,
            add: false,
        } => format!("remove {emoji} from {}", target(t)),
        OutboxOp::MarkRead { seq } => format!("mark read up to seq {seq}"),
        OutboxOp::MarkNotificationsRead { ids } => {
            format!("mark {} notification(s) read", ids.len())
        }
        OutboxOp::SetMuted { muted: true } => "mute".to_owned(),
        OutboxOp::SetMuted { muted: false } => "unmute".to_owned(),
    }
}
