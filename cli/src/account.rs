//! Signing in and out, and the commands that create or join conversations (they need the server's
//! answer, so they do not queue).

use crate::app::{App, CONNECT_TIMEOUT, CliError};
use crate::output::{self, label};
use anyhow::bail;
use jeco_shared::conversations::Conversation;
use jeco_shared::users::User;
use serde_json::json;
use std::io::BufRead;

/// The password: the first line of stdin with `--password-stdin`, else `$JECO_PASSWORD`, else a
/// prompt on the terminal (twice for a new account).
pub fn read_password(from_stdin: bool, confirm: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!(CliError::usage("no password on standard input"));
        }
        return Ok(password);
    }
    if let Ok(password) = std::env::var("JECO_PASSWORD")
        && !password.is_empty()
    {
        return Ok(password);
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text).map_err(|e| {
            CliError::usage(format!(
                "cannot ask for the password ({e}): use --password-stdin or JECO_PASSWORD"
            ))
        })
    };
    let first = prompt("Password: ")?;
    if confirm {
        let second = prompt("Repeat password: ")?;
        if first != second {
            bail!(CliError::usage("the passwords differ"));
        }
    }
    Ok(first)
}

pub async fn register(
    app: &App,
    username: &str,
    password: &str,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    let user = app
        .engine
        .register(username, password, display_name)
        .await?;
    signed_in(app, &user, "registered and signed in").await;
    Ok(())
}

/// Lets the first sync fill the cache (so the next command works offline too), then reports.
pub async fn signed_in(app: &App, user: &User, what: &str) {
    let state = app.settle(CONNECT_TIMEOUT).await;
    if app.out.json {
        app.out.document(&json!({
            "user": user,
            "server": app.server.as_str(),
            "connection": state,
        }));
    } else {
        app.out.line(format!(
            "{what} as {} (id {}) on {}",
            user.username,
            user.id,
            app.server.as_str()
        ));
        if !state.is_live() {
            app.out
                .note(format!("sync: {}", output::connection(&state)));
        }
    }
}

pub async fn logout(app: &App, forget: bool) -> anyhow::Result<()> {
    let me = app.engine.me();
    let result = if forget {
        app.engine.logout_and_forget().await
    } else {
        app.engine.logout().await
    };
    // The tokens are gone either way; the server not hearing of it is worth a warning only.
    let told_server = match result {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "logout not confirmed by the server");
            if !app.out.json {
                app.out.note(format!(
                    "warning: signed out here, but the server could not be told: {e}"
                ));
            }
            false
        }
    };
    if app.out.json {
        app.out.document(&json!({
            "signed_out": me.as_ref().map(|u| &u.username),
            "server_told": told_server,
            "cache_deleted": forget && me.is_some(),
        }));
    } else {
        match &me {
            Some(u) if forget => app.out.line(format!(
                "signed out {} and deleted the local cache",
                u.username
            )),
            Some(u) => app.out.line(format!(
                "signed out {} (the local cache is kept)",
                u.username
            )),
            None => app.out.line("not signed in"),
        }
    }
    Ok(())
}

pub async fn create_group(app: &App, name: &str, members: &[String]) -> anyhow::Result<()> {
    app.online().await?;
    let mut ids = Vec::new();
    for username in members {
        ids.push(find_user(app, username).await?.id);
    }
    let c = app.engine.create_group(name, &ids).await?;
    print_conversation(app, &c, "created group");
    Ok(())
}

pub async fn dm(app: &App, username: &str) -> anyhow::Result<()> {
    app.online().await?;
    let name = username.trim().trim_start_matches('@');
    if !app.engine.connection_state().is_live()
        && let Ok(c) = crate::resolve::conversation(app, &format!("@{name}")).await
    {
        // Offline, but it exists already: that is all this command needs.
        print_conversation(app, &c, "direct conversation");
        return Ok(());
    }
    let user = find_user(app, username).await?;
    let c = app.engine.open_direct(user.id).await?;
    print_conversation(app, &c, "direct conversation");
    Ok(())
}

pub async fn join(app: &App, code: &str) -> anyhow::Result<()> {
    app.online().await?;
    let team = app.engine.join_invite(code).await?;
    let general = app.engine.conversation(team.default_channel_id)?;
    if app.out.json {
        app.out
            .document(&json!({ "team": team, "default_channel": general }));
    } else {
        let channel = general
            .map(|c| label(&app.engine, &c))
            .unwrap_or_else(|| format!("id {}", team.default_channel_id));
        app.out.line(format!(
            "joined team {} (id {}, {} members); its default channel is {channel}",
            team.name, team.id, team.member_count
        ));
    }
    Ok(())
}

async fn find_user(app: &App, username: &str) -> anyhow::Result<User> {
    let name = username.trim().trim_start_matches('@');
    match app.engine.find_user(name).await? {
        Some(u) => Ok(u),
        None => Err(CliError::not_found(format!("no user named {name:?}")).into()),
    }
}

pub fn print_conversation(app: &App, c: &Conversation, what: &str) {
    let name = label(&app.engine, c);
    if app.out.json {
        app.out
            .document(&crate::read::JsonConversation::new(&app.engine, c));
    } else {
        app.out.line(format!(
            "{what} {name} ({}, id {}, {} members)",
            output::kind(c.kind),
            c.id,
            c.members.len()
        ));
    }
}
