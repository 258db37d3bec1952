//! `jeco admin …`: server administration for a signed-in server admin, over the same endpoints
//! as everything else (`/api/v1/admin/users*`); the server refuses everyone else (`forbidden`).
//! Accounts are named by username, found through the admin list.

use crate::app::{App, CliError};
use anyhow::bail;
use jeco_shared::admin::AdminUser;

/// The account named `username` (with or without @), exactly.
async fn find(app: &App, username: &str) -> anyhow::Result<AdminUser> {
    let name = username.trim().trim_start_matches('@').to_lowercase();
    let page = app.engine.admin_users(&name, 100, None).await?;
    match page.items.into_iter().find(|u| u.user.username == name) {
        Some(user) => Ok(user),
        None => bail!(CliError::not_found(format!("no account is named {name:?}"))),
    }
}

fn show(app: &App, user: &AdminUser, done: &str) {
    if app.out.json {
        app.out.document(user);
    } else {
        app.out.line(format!("{} {done}", user.user.username));
    }
}

/// `jeco admin users [QUERY]`: every account (or those matching), all pages.
pub async fn users(app: &App, query: Option<&str>) -> anyhow::Result<()> {
    let mut users = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .engine
            .admin_users(query.unwrap_or(""), 100, cursor.as_deref())
            .await?;
        users.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if app.out.json {
        app.out.document(&users);
        return Ok(());
    }
    for u in &users {
        let mut flags = Vec::new();
        if u.user.is_admin {
            flags.push("admin");
        }
        if u.user.deactivated {
            flags.push("deactivated");
        }
        app.out.line(format!(
            "{:>6}  {:<24} {:<24} {:<18} last active {}{}",
            u.user.id.0,
            u.user.username,
            u.user.display_name.as_deref().unwrap_or("-"),
            flags.join(","),
            u.last_active_at
                .as_deref()
                .map_or("never".to_owned(), crate::output::time),
            u.email
                .as_deref()
                .map_or(String::new(), |e| format!("  <{e}>")),
        ));
    }
    Ok(())
}

/// `jeco admin deactivate|reactivate USERNAME`
pub async fn set_active(app: &App, username: &str, active: bool) -> anyhow::Result<()> {
    let user = find(app, username).await?;
    if active {
        let user = app.engine.reactivate_user(user.user.id).await?;
        show(app, &user, "can sign in again");
    } else {
        let user = app.engine.deactivate_user(user.user.id).await?;
        show(app, &user, "is deactivated; every session of it ended");
    }
    Ok(())
}

/// `jeco admin set-password USERNAME` (a new password) or `--mail` (a reset token by mail).
pub async fn set_password(app: &App, username: &str, password: Option<&str>) -> anyhow::Result<()> {
    let user = find(app, username).await?;
    let done = app
        .engine
        .admin_reset_password(user.user.id, password)
        .await?;
    if app.out.json {
        app.out.document(&done);
    } else if done.mailed {
        app.out.line(format!(
            "mailed {} a reset token; {} session(s) signed out",
            user.user.username, done.signed_out
        ));
    } else {
        app.out.line(format!(
            "set the password of {}; {} session(s) signed out",
            user.user.username, done.signed_out
        ));
    }
    Ok(())
}

/// `jeco admin grant|revoke USERNAME`
pub async fn set_admin(app: &App, username: &str, admin: bool) -> anyhow::Result<()> {
    let user = find(app, username).await?;
    let user = app.engine.set_server_admin(user.user.id, admin).await?;
    let done = if admin {
        "is a server admin"
    } else {
        "is no longer a server admin"
    };
    show(app, &user, done);
    Ok(())
}

/// `jeco admin reset-two-factor USERNAME`
pub async fn reset_two_factor(app: &App, username: &str) -> anyhow::Result<()> {
    let user = find(app, username).await?;
    let done = app.engine.admin_reset_two_factor(user.user.id).await?;
    if app.out.json {
        app.out.document(&done);
    } else {
        app.out.line(format!(
            "two-factor of {} is off; {} session(s) signed out",
            user.user.username, done.signed_out
        ));
    }
    Ok(())
}

/// `jeco admin require-two-factor [on|off]`
pub async fn require_two_factor(app: &App, on: Option<bool>) -> anyhow::Result<()> {
    let Some(on) = on else {
        let settings = app.engine.server_settings().await?;
        if app.out.json {
            app.out.document(&settings);
        } else {
            app.out.line(format!(
                "two-factor is {}required of every account",
                if settings.require_two_factor {
                    ""
                } else {
                    "not "
                }
            ));
        }
        return Ok(());
    };
    let settings = jeco_shared::two_factor::ServerSettings {
        require_two_factor: on,
    };
    let done = app.engine.set_server_settings(settings).await?;
    if app.out.json {
        app.out.document(&done);
    } else if on {
        app.out.line(format!(
            "two-factor is required of every account; {} session(s) without it signed out",
            done.signed_out
        ));
    } else {
        app.out.line("two-factor is no longer required");
    }
    Ok(())
}
