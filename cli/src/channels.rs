//! Channels from the command line: browse a team's channels, create one, join one, and leave a
//! channel or group — what the desktop's channel browser does.
//!
//! A team is named by `--team` (its name or id); it may be left out when the user is in only
//! one team, the common case for a small self-hosted server. Channels to join are found in the
//! server's list (the cache only knows channels the user is already in).

use crate::account::print_conversation;
use crate::app::{App, CliError};
use crate::output::label;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::teams::{Channel, CreateChannelRequest, Team};
use serde_json::json;

/// `jeco channels`: every team's channels (or one team's) with topic, size and whether the user
/// is in each.
pub async fn browse(app: &App, team: Option<&str>) -> anyhow::Result<()> {
    app.online().await?;
    let teams = match team {
        Some(arg) => vec![find_team(app, Some(arg))?],
        None => app.engine.teams()?,
    };
    let mut found = Vec::new();
    for team in teams {
        let channels = app.engine.team_channels(team.id).await?;
        found.push((team, channels));
    }
    if app.out.json {
        let items: Vec<_> = found
            .iter()
            .map(|(team, channels)| json!({ "team": team, "channels": channels }))
            .collect();
        app.out.document(&items);
        return Ok(());
    }
    if found.is_empty() {
        app.out
            .line("not in any team yet: join one with `jeco join <invite-code>`");
    }
    for (team, channels) in &found {
        app.out.line(format!("{} (team {}):", team.name, team.id));
        for c in channels {
            app.out.line(format!("  {}", channel_line(c)));
        }
    }
    Ok(())
}

/// One channel as `browse` lists it: `#design  3 members  joined  — the topic`.
fn channel_line(c: &Channel) -> String {
    let mut flags = Vec::new();
    if c.joined {
        flags.push("joined");
    }
    if c.info.private {
        flags.push("private");
    }
    if c.info.archived {
        flags.push("archived");
    }
    let members = if c.member_count == 1 {
        "1 member".to_owned()
    } else {
        format!("{} members", c.member_count)
    };
    let mut line = format!("#{:<20} {members:>11}", c.name);
    if !flags.is_empty() {
        line.push_str(&format!("  [{}]", flags.join(", ")));
    }
    if let Some(topic) = c.info.topic.as_deref().filter(|t| !t.is_empty()) {
        line.push_str(&format!("  — {topic}"));
    }
    line
}

/// `jeco create-channel`: a new channel in a team, with the caller in it.
pub async fn create(
    app: &App,
    name: &str,
    team: Option<&str>,
    topic: Option<String>,
    private: bool,
) -> anyhow::Result<()> {
    app.online().await?;
    let team = find_team(app, team)?;
    let request = CreateChannelRequest {
        name: name.trim().trim_start_matches('#').to_owned(),
        private,
        topic: topic.filter(|t| !t.trim().is_empty()),
    };
    let c = app.engine.create_channel(team.id, &request).await?;
    print_conversation(app, &c, "created channel");
    Ok(())
}

/// `jeco join-channel`: joins a public channel named `#name`, `name` or by id.
pub async fn join(app: &App, channel: &str, team: Option<&str>) -> anyhow::Result<()> {
    app.online().await?;
    let teams = match team {
        Some(arg) => vec![find_team(app, Some(arg))?],
        None => app.engine.teams()?,
    };
    let arg = channel.trim();
    let wanted = arg.trim_start_matches('#');
    let id: Option<i64> = wanted.parse().ok().filter(|_| !arg.starts_with('#'));
    let mut matches: Vec<(Team, Channel)> = Vec::new();
    for team in teams {
        for c in app.engine.team_channels(team.id).await? {
            let hit = match id {
                Some(id) => c.id.0 == id,
                None => c.name.eq_ignore_ascii_case(wanted),
            };
            if hit {
                matches.push((team.clone(), c));
            }
        }
    }
    let (team, found) = match matches.len() {
        0 => {
            return Err(CliError::not_found(format!(
                "no channel {arg:?} to join (see `jeco channels`)"
            ))
            .into());
        }
        1 => matches.remove(0),
        _ => {
            let teams: Vec<String> = matches.iter().map(|(t, _)| t.name.clone()).collect();
            return Err(CliError::new(
                "ambiguous",
                format!(
                    "#{wanted} is in several teams ({}): pass --team",
                    teams.join(", ")
                ),
            )
            .into());
        }
    };
    app.engine.join_channel(found.id).await?;
    match app.engine.conversation(found.id)? {
        Some(c) => print_conversation(app, &c, "joined"),
        None => app
            .out
            .line(format!("joined #{} in {}", found.name, team.name)),
    }
    Ok(())
}

/// `jeco leave`: leaves a channel or group (a direct conversation cannot be left).
pub async fn leave(app: &App, conversation: &str) -> anyhow::Result<()> {
    app.online().await?;
    let c = crate::resolve::conversation(app, conversation).await?;
    if c.kind == ConversationKind::Direct {
        return Err(CliError::usage(
            "a direct conversation cannot be left (mute it in the app instead)",
        )
        .into());
    }
    let name = label(&app.engine, &c);
    app.engine.leave_conversation(c.id).await?;
    if app.out.json {
        app.out
            .document(&json!({ "left": name, "conversation_id": c.id }));
    } else {
        app.out.line(format!("left {name}"));
    }
    Ok(())
}

/// The team `arg` names (its name, case-insensitive, or its id); without `arg`, the only team.
fn find_team(app: &App, arg: Option<&str>) -> anyhow::Result<Team> {
    let teams = app.engine.teams()?;
    let names = || {
        teams
            .iter()
            .map(|t| format!("{} (id {})", t.name, t.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(arg) = arg.map(str::trim) else {
        return match teams.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(CliError::not_found(
                "not in any team yet: join one with `jeco join <invite-code>`",
            )
            .into()),
            _ => Err(CliError::usage(format!("pass --team: one of {}", names())).into()),
        };
    };
    let by_id: Option<i64> = arg.parse().ok();
    let found: Vec<&Team> = teams
        .iter()
        .filter(|t| by_id == Some(t.id.0) || t.name.eq_ignore_ascii_case(arg))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError::not_found(format!("no team {arg:?}; yours: {}", names())).into()),
        _ => Err(CliError::new(
            "ambiguous",
            format!("{arg:?} names several teams: {}; use the id", names()),
        )
        .into()),
    }
}
