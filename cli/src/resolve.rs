//! Conversation and message arguments: what a person types to the conversation or message meant.

use crate::app::{App, CliError};
use crate::output::label;
use jeco_client::MessageRef;
use jeco_shared::conversations::{Conversation, ConversationKind};
use jeco_shared::{ConversationId, MessageId};

/// Finds the conversation `arg` names among the cached ones: an id, `#channel`, a group's name,
/// or `@username` for the direct conversation with that person (case-insensitive). A name that
/// matches several conversations, or none, is an error listing the candidates.
pub async fn conversation(app: &App, arg: &str) -> anyhow::Result<Conversation> {
    let all = conversations(app).await?;
    let arg = arg.trim();
    let labelled: Vec<(String, Conversation)> = all
        .into_iter()
        .map(|c| (label(&app.engine, &c), c))
        .collect();
    let pick = |matches: Vec<&(String, Conversation)>| -> Option<anyhow::Result<Conversation>> {
        match matches.as_slice() {
            [] => None,
            [(_, c)] => Some(Ok(c.clone())),
            many => Some(Err(ambiguous(arg, many).into())),
        }
    };
    let (wanted, kinds): (&str, &[ConversationKind]) = if let Some(name) = arg.strip_prefix('#') {
        (name, &[ConversationKind::Channel])
    } else if let Some(name) = arg.strip_prefix('@') {
        (name, &[ConversationKind::Direct])
    } else if let Ok(id) = arg.parse::<i64>() {
        if let Some((_, c)) = labelled.iter().find(|(_, c)| c.id == ConversationId(id)) {
            return Ok(c.clone());
        }
        return Err(CliError::not_found(format!(
            "no conversation with id {id} here{}",
            known(&labelled)
        ))
        .into());
    } else {
        // A bare name: a group first, then a channel, then a person.
        (arg, &[])
    };
    if wanted.is_empty() {
        return Err(CliError::usage("name a conversation: an id, #channel, group or @user").into());
    }
    let matching = |kind: ConversationKind| -> Vec<&(String, Conversation)> {
        labelled
            .iter()
            .filter(|(l, c)| {
                c.kind == kind && {
                    let name = match kind {
                        ConversationKind::Channel | ConversationKind::Direct => &l[1..],
                        ConversationKind::Group => l.as_str(),
                    };
                    name.eq_ignore_ascii_case(wanted)
                }
            })
            .collect()
    };
    let order: &[ConversationKind] = if kinds.is_empty() {
        &[
            ConversationKind::Group,
            ConversationKind::Channel,
            ConversationKind::Direct,
        ]
    } else {
        kinds
    };
    for kind in order {
        if let Some(found) = pick(matching(*kind)) {
            return found;
        }
    }
    let hint = if arg.starts_with('@') {
        format!(" (start one with `jeco dm {wanted}`)")
    } else {
        String::new()
    };
    Err(CliError::not_found(format!("no conversation {arg:?}{hint}{}", known(&labelled))).into())
}

/// The cached conversations, after fetching the profiles of direct-conversation peers the cache
/// does not know yet (so `@name` works; best effort, offline it changes nothing).
pub async fn conversations(app: &App) -> anyhow::Result<Vec<Conversation>> {
    let all = app.engine.conversations()?;
    let peers: Vec<_> = all
        .iter()
        .filter(|c| c.kind == ConversationKind::Direct)
        .flat_map(|c| c.members.iter().map(|m| m.user_id))
        .filter(|id| matches!(app.engine.user(*id), Ok(None)))
        .collect();
    if !peers.is_empty() {
        app.engine.learn_users(peers).await;
    }
    Ok(all)
}

fn ambiguous(arg: &str, candidates: &[&(String, Conversation)]) -> CliError {
    let list: Vec<String> = candidates
        .iter()
        .map(|(l, c)| format!("{l} (id {})", c.id))
        .collect();
    CliError::new(
        "ambiguous",
        format!(
            "{arg:?} names {} conversations: {}; use the id",
            list.len(),
            list.join(", ")
        ),
    )
}

/// `; known: #general, @bob, …` (or a hint when there is nothing cached).
fn known(labelled: &[(String, Conversation)]) -> String {
    const SHOWN: usize = 20;
    if labelled.is_empty() {
        return "; no conversations are cached yet (is the server reachable?)".into();
    }
    let mut names: Vec<String> = labelled
        .iter()
        .take(SHOWN)
        .map(|(l, c)| format!("{l} (id {})", c.id))
        .collect();
    if labelled.len() > SHOWN {
        names.push(format!("and {} more", labelled.len() - SHOWN));
    }
    format!("; known: {}", names.join(", "))
}

/// A message argument: a message id, or the client id of a send not yet confirmed (as `history`
/// shows it).
pub fn message(arg: &str) -> anyhow::Result<MessageRef> {
    let arg = arg.trim();
    if let Ok(id) = arg.parse::<i64>() {
        if id <= 0 {
            return Err(CliError::usage(format!("{id} is not a message id")).into());
        }
        return Ok(MessageRef::Id(MessageId(id)));
    }
    if !arg.is_empty() && arg.len() <= 64 && arg.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(MessageRef::Pending(arg.to_owned()));
    }
    Err(CliError::usage(format!(
        "{arg:?} is not a message id (a number, or the client id of a pending message)"
    ))
    .into())
}
