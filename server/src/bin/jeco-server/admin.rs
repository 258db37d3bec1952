//! `jeco-server admin …`: the account commands, usage, the demo seed and reading a password.
//! They open the data directory without serving (see `jeco_server::open_admin`) and go through
//! the same services as the API.

use crate::cli::AccountCommand;
use anyhow::bail;
use jeco_server::Config;
use jeco_server::services::ServiceError;
use jeco_server::services::accounts::NewAccount;
use jeco_server::services::admin::Caller;
use jeco_shared::admin::{AdminPasswordRequest, AdminUser};
use std::io::{BufRead, IsTerminal};

/// The account commands of `jeco-server admin`, through the same service as the admin API.
pub async fn administer(
    config: Config,
    command: AccountCommand,
    password: Option<String>,
) -> anyhow::Result<()> {
    let admin = jeco_server::open_admin(&config).await?;
    let by = Caller::Operator;
    let find = |username: String| {
        let admin = admin.clone();
        async move {
            match admin.find(by, &username).await {
                Err(ServiceError::NotFound) => bail!("no account is named {username:?}"),
                other => Ok(other?),
            }
        }
    };
    let done = match command {
        AccountCommand::ListUsers { query, json } => {
            let mut users = Vec::new();
            let mut cursor = None;
            loop {
                let page = admin
                    .list(by, query.as_deref(), Some(100), cursor.as_deref())
                    .await?;
                users.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                print_users(&users);
            }
            return Ok(());
        }
        AccountCommand::Deactivate { username } => {
            let user = find(username).await?;
            admin
                .deactivate(by, user.user.id)
                .await
                .map(|u| format!("deactivated {} (id {})", u.user.username, u.user.id))
        }
        AccountCommand::Reactivate { username } => {
            let user = find(username).await?;
            admin
                .reactivate(by, user.user.id)
                .await
                .map(|u| format!("reactivated {} (id {})", u.user.username, u.user.id))
        }
        AccountCommand::SetPassword { username, .. } => {
            let user = find(username).await?;
            let req = AdminPasswordRequest {
                new_password: password,
            };
            admin.reset_password(by, user.user.id, req).await.map(|r| {
                format!(
                    "set the password of {}; {} session(s) signed out",
                    user.user.username, r.signed_out
                )
            })
        }
        AccountCommand::GrantAdmin { username } => {
            let user = find(username).await?;
            admin
                .set_admin(by, user.user.id, true)
                .await
                .map(|u| format!("{} is a server admin", u.user.username))
        }
        AccountCommand::RevokeAdmin { username } => {
            let user = find(username).await?;
            admin
                .set_admin(by, user.user.id, false)
                .await
                .map(|u| format!("{} is no longer a server admin", u.user.username))
        }
        AccountCommand::ResetTwoFactor { username } => {
            let user = find(username).await?;
            admin.reset_two_factor(by, user.user.id).await.map(|r| {
                format!(
                    "two-factor of {} is off; {} session(s) signed out",
                    user.user.username, r.signed_out
                )
            })
        }
        AccountCommand::RequireTwoFactor { setting } => {
            let on = setting == "on";
            let settings = jeco_shared::two_factor::ServerSettings {
                require_two_factor: on,
            };
            admin.set_settings(by, settings).await.map(|r| {
                if on {
                    format!(
                        "two-factor is required of every account; {} session(s) without it signed out",
                        r.signed_out
                    )
                } else {
                    "two-factor is no longer required".to_owned()
                }
            })
        }
    };
    match done {
        Ok(line) => {
            println!("{line}");
            Ok(())
        }
        Err(ServiceError::LastAdmin) => {
            bail!(
                "refused: this is the last active server admin; grant another account admin first"
            )
        }
        Err(ServiceError::Validation(fields)) => {
            let problems: Vec<String> = fields.iter().map(|(f, p)| format!("{f} {p}")).collect();
            bail!("refused: {}", problems.join("; "))
        }
        Err(e) => Err(e.into()),
    }
}

fn print_users(users: &[AdminUser]) {
    println!(
        "{:<8} {:<24} {:<24} {:<6} {:<11} {:<4} {:<20} {:<20} EMAIL",
        "ID", "USERNAME", "DISPLAY NAME", "ADMIN", "DEACTIVATED", "2FA", "CREATED", "LAST ACTIVE"
    );
    for u in users {
        let yes = |b: bool| if b { "yes" } else { "no" };
        println!(
            "{:<8} {:<24} {:<24} {:<6} {:<11} {:<4} {:<20} {:<20} {}",
            u.user.id,
            u.user.username,
            u.user.display_name.as_deref().unwrap_or("-"),
            yes(u.user.is_admin),
            yes(u.user.deactivated),
            yes(u.two_factor),
            short_time(&u.user.created_at),
            u.last_active_at.as_deref().map_or("-", short_time),
            u.email.as_deref().unwrap_or("-"),
        );
    }
}

/// `2026-12-05T12:01:59.123Z` → `2026-12-05 12:01:59`.
fn short_time(t: &str) -> &str {
    t.get(..19).unwrap_or(t)
}

pub async fn seed_demo(config: Config, password: Option<String>) -> anyhow::Result<()> {
    match jeco_server::seed_demo(&config, password).await {
        Ok(demo) => {
            println!("{demo}");
            Ok(())
        }
        Err(jeco_server::demo::DemoError::AlreadySeeded(name)) => bail!(
            "the demo data is already here (the account {name:?} exists); seed-demo runs once per data directory"
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn usage(config: Config, json: bool) -> anyhow::Result<()> {
    let report = jeco_server::media_usage(&config).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let quota = report
        .quota_bytes
        .map_or("none".to_owned(), |q| format!("{q} bytes"));
    println!("quota per user: {quota}");
    println!(
        "{:<32} {:>14} {:>12} {:>10}",
        "USER", "USED BYTES", "ATTACHMENTS", "UPLOADING"
    );
    for u in &report.users {
        println!(
            "{:<32} {:>14} {:>12} {:>10}",
            u.username, u.used_bytes, u.attachments, u.uploads_in_progress
        );
    }
    Ok(())
}

pub fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin && std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            bail!("the passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

pub async fn create_user(config: Config, account: NewAccount) -> anyhow::Result<()> {
    let accounts = jeco_server::open_accounts(&config).await?;
    match accounts.create_account(account).await {
        Ok(user) => {
            let role = if user.is_admin { "admin" } else { "user" };
            println!("created {role} {} (id {})", user.username, user.id);
            Ok(())
        }
        Err(ServiceError::Validation(fields)) => {
            let problems: Vec<String> = fields.iter().map(|(f, p)| format!("{f} {p}")).collect();
            bail!("invalid account: {}", problems.join("; "))
        }
        Err(e) => Err(e.into()),
    }
}
