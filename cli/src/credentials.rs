//! The password, the email address and the signed-in sessions: `jeco password`, `jeco email`,
//! `jeco forgot-password`, `jeco reset-password`, `jeco sessions`, `jeco sign-out-others`, and
//! `jeco export` (the account's data as a zip).
//! Online only, like the rest of the account commands; the two reset commands need no sign-in.

use crate::app::{App, CliError};
use anyhow::bail;
use jeco_shared::SessionId;
use serde_json::json;
use std::io::BufRead;

/// The current and the new password: the first two lines of stdin with `--password-stdin`, else
/// `$JECO_PASSWORD` and `$JECO_NEW_PASSWORD`, else prompts (the new one twice).
pub fn read_change(from_stdin: bool) -> anyhow::Result<(String, String)> {
    if from_stdin {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<String> {
            let line = lines.next().transpose()?.unwrap_or_default();
            Ok(line.trim_end_matches('\r').to_owned())
        };
        let (current, new) = (next()?, next()?);
        if current.is_empty() || new.is_empty() {
            bail!(CliError::usage(
                "--password-stdin needs two lines: the current password, then the new one"
            ));
        }
        return Ok((current, new));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(current), Some(new)) = (env("JECO_PASSWORD"), env("JECO_NEW_PASSWORD")) {
        return Ok((current, new));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text).map_err(|e| {
            CliError::usage(format!(
                "cannot ask for the passwords ({e}): use --password-stdin or \
                 JECO_PASSWORD and JECO_NEW_PASSWORD"
            ))
        })
    };
    let current = prompt("Current password: ")?;
    let new = prompt("New password: ")?;
    if prompt("Repeat new password: ")? != new {
        bail!(CliError::usage("the new passwords differ"));
    }
    Ok((current, new))
}

pub async fn change_password(
    app: &App,
    current: &str,
    new: &str,
    sign_out_others: bool,
) -> anyhow::Result<()> {
    app.engine
        .change_password(current, new, sign_out_others)
        .await?;
    if app.out.json {
        app.out.document(&json!({
            "password_changed": true,
            "signed_out_others": sign_out_others,
        }));
    } else if sign_out_others {
        app.out
            .line("password changed; your other sessions are signed out");
    } else {
        app.out.line("password changed");
    }
    Ok(())
}

pub async fn sessions(app: &App, end: Option<i64>) -> anyhow::Result<()> {
    if let Some(id) = end {
        app.engine.end_session(SessionId(id)).await?;
        if app.out.json {
            app.out.document(&json!({ "signed_out": id }));
        } else {
            app.out.line(format!("signed out session {id}"));
        }
        return Ok(());
    }
    let sessions = app.engine.sessions().await?;
    if app.out.json {
        app.out.document(&sessions);
        return Ok(());
    }
    for s in &sessions {
        app.out.line(format!(
            "{:>6}  {}  last active {}  from {}{}",
            s.id.0,
            s.client.as_deref().unwrap_or("(unknown client)"),
            crate::output::time(&s.last_active_at),
            s.address.as_deref().unwrap_or("?"),
            if s.current { "  (this one)" } else { "" }
        ));
    }
    Ok(())
}

pub async fn sign_out_others(app: &App) -> anyhow::Result<()> {
    let ended = app.engine.sign_out_others().await?;
    if app.out.json {
        app.out.document(&json!({ "signed_out": ended }));
    } else {
        app.out.line(format!("signed out {ended} other session(s)"));
    }
    Ok(())
}

/// `jeco export --to FILE`: "export my data", streamed to the file.
pub async fn export(app: &App, to: &std::path::Path) -> anyhow::Result<()> {
    let bytes = app.engine.export_my_data(to).await?;
    if app.out.json {
        app.out
            .document(&json!({ "path": to.display().to_string(), "bytes": bytes }));
    } else {
        app.out.line(format!(
            "saved your data to {} ({bytes} bytes)",
            to.display()
        ));
    }
    Ok(())
}

/// `jeco email`: show the address; with one, mail it a code; `--verify CODE`; `--remove`.
pub async fn email(
    app: &App,
    address: Option<&str>,
    verify: Option<&str>,
    remove: bool,
) -> anyhow::Result<()> {
    let status = match (address, verify, remove) {
        (None, None, false) => app.engine.email().await?,
        (Some(address), None, false) => app.engine.set_email(address).await?,
        (None, Some(code), false) => app.engine.verify_email(code).await?,
        (None, None, true) => {
            app.engine.remove_email().await?;
            app.engine.email().await?
        }
        _ => bail!(CliError::usage(
            "give an address, or --verify CODE, or --remove (one of them)"
        )),
    };
    if app.out.json {
        app.out.document(&status);
        return Ok(());
    }
    app.out.line(match &status.email {
        Some(email) => format!("email: {email}"),
        None => "email: none".to_owned(),
    });
    if let Some(pending) = &status.pending {
        app.out.line(format!(
            "waiting for the code sent to {pending} (jeco email --verify CODE)"
        ));
    }
    Ok(())
}

/// `jeco forgot-password`: needs no sign-in; the answer is the same for any name.
pub async fn forgot_password(app: &App, login: &str) -> anyhow::Result<()> {
    app.engine.request_password_reset(login).await?;
    if app.out.json {
        app.out.document(&json!({ "requested": true }));
    } else {
        app.out.line(
            "if that account has a verified email address, a reset token is on its way \
             (then: jeco reset-password)",
        );
    }
    Ok(())
}

/// The reset token and the new password: the first two lines of stdin with `--password-stdin`,
/// else `$JECO_RESET_TOKEN` and `$JECO_NEW_PASSWORD`, else prompts (the password twice).
pub fn read_reset(from_stdin: bool) -> anyhow::Result<(String, String)> {
    if from_stdin {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<String> {
            let line = lines.next().transpose()?.unwrap_or_default();
            Ok(line.trim().to_owned())
        };
        let (token, new) = (next()?, next()?);
        if token.is_empty() || new.is_empty() {
            bail!(CliError::usage(
                "--password-stdin needs two lines: the token from the mail, then the new password"
            ));
        }
        return Ok((token, new));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(token), Some(new)) = (env("JECO_RESET_TOKEN"), env("JECO_NEW_PASSWORD")) {
        return Ok((token, new));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text).map_err(|e| {
            CliError::usage(format!(
                "cannot ask ({e}): use --password-stdin or JECO_RESET_TOKEN and JECO_NEW_PASSWORD"
            ))
        })
    };
    let token = prompt("Token from the mail: ")?.trim().to_owned();
    let new = prompt("New password: ")?;
    if prompt("Repeat new password: ")? != new {
        bail!(CliError::usage("the new passwords differ"));
    }
    Ok((token, new))
}

/// `jeco reset-password`: every session of the account ends; sign in afterwards.
pub async fn reset_password(app: &App, token: &str, new: &str) -> anyhow::Result<()> {
    app.engine.confirm_password_reset(token, new).await?;
    if app.out.json {
        app.out.document(&json!({ "password_reset": true }));
    } else {
        app.out
            .line("password set; every session of the account is signed out — sign in again");
    }
    Ok(())
}
