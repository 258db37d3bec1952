//! `jeco-server`: serve, print the configuration, or administer accounts. See `--help`.

#![forbid(unsafe_code)]

mod cli;

use anyhow::{Context, bail};
use clap::Parser;
use cli::{AdminCommand, Cli, Command};
use jeco_server::services::ServiceError;
use jeco_server::services::accounts::NewAccount;
use jeco_server::{Config, RunningServer};
use std::io::{BufRead, IsTerminal, Write};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve => {
            init_tracing("info");
            runtime.block_on(serve(config))
        }
        Command::PrintConfig => {
            print!(
                "# Effective jeco-server configuration (secrets redacted)\n{}",
                config.to_redacted_toml()
            );
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    username,
                    admin,
                    display_name,
                    password_stdin,
                },
        } => {
            init_tracing("warn");
            let password = read_password(password_stdin)?;
            let account = NewAccount {
                username,
                password,
                display_name,
                is_admin: admin,
            };
            runtime.block_on(create_user(config, account))
        }
        Command::Admin {
            command: AdminCommand::Usage { json },
        } => {
            init_tracing("warn");
            runtime.block_on(usage(config, json))
        }
    }
}

async fn usage(config: Config, json: bool) -> anyhow::Result<()> {
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

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in journald or log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM that arrives as soon as the address is printed must already be ours,
    // or the default action kills the process without a graceful shutdown.
    let signals = Signals::install()?;
    raise_open_files_limit(config.max_connections);
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let server = RunningServer::start(config, listener).await?;
    // Scripts and tests read the real address from here (the configured port may be 0).
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", server.local_addr())?;
    stdout.flush()?;
    signals.wait().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// Every client holds a socket, and the usual soft limit (1,024 under systemd) would cap a server at
/// about a thousand clients: take the soft limit up to the hard one, which an administrator controls.
/// `max_connections` is what bounds the sockets clients can hold; if the limit is below it (plus
/// room for the database, media files and the listener), running out of descriptors comes first:
/// say so.
#[cfg(unix)]
fn raise_open_files_limit(max_connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let limit = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                tracing::debug!(from = soft, to = hard, "raised the open-files limit");
                hard
            }
            Err(e) => {
                tracing::warn!(error = %e, soft, "cannot raise the open-files limit");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-files limit");
            return;
        }
    };
    const SPARE: u64 = 256;
    if limit < max_connections as u64 + SPARE {
        tracing::warn!(
            limit,
            max_connections,
            "the open-files limit is below max_connections plus {SPARE}: lower max_connections or raise LimitNOFILE"
        );
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit(_max_connections: usize) {}

/// SIGINT (Ctrl-C) and SIGTERM, both asking for a graceful shutdown.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> anyhow::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        Ok(())
    }

    #[cfg(not(unix))]
    async fn wait(self) -> anyhow::Result<()> {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
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

async fn create_user(config: Config, account: NewAccount) -> anyhow::Result<()> {
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
