//! `jeco-server`: serve, print the configuration, administer accounts, back up and restore. See
//! `--help`.

#![forbid(unsafe_code)]

mod admin;
mod cli;

use admin::read_password;
use anyhow::Context;
use clap::Parser;
use cli::{AccountCommand, AdminCommand, Cli, Command, DbCommand};
use jeco_server::config::LogFormat;
use jeco_server::services::accounts::NewAccount;
use jeco_server::{Config, RunningServer};
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve => {
            init_tracing("info", config.log_format);
            runtime.block_on(serve(config))
        }
        Command::Backup { to } => {
            init_tracing("warn", config.log_format);
            let manifest = match jeco_server::backup::backup(&config, &to, &mut |line| {
                eprintln!("{line}");
            }) {
                Ok(manifest) => manifest,
                Err(e) => fail(&format!("backup to {} failed", to.display()), &e),
            };
            eprintln!(
                "backup written to {}: {} conversations, {} media objects{}",
                to.display(),
                manifest.conversations.len(),
                manifest.media.objects.len(),
                if manifest.media.included {
                    ""
                } else {
                    " (listed only: copy the S3 bucket too, see server/README \"Backups\")"
                }
            );
            Ok(())
        }
        Command::Restore { file } => {
            init_tracing("warn", config.log_format);
            let manifest = match jeco_server::backup::restore(&config, &file, &mut |line| {
                eprintln!("{line}");
            }) {
                Ok(manifest) => manifest,
                Err(e) => fail(&format!("restore of {} failed", file.display()), &e),
            };
            eprintln!(
                "restored the backup of {} into {}: start the server on it",
                manifest.created_at,
                config.data_dir.display()
            );
            Ok(())
        }
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => {
            init_tracing("warn", config.log_format);
            runtime.block_on(db_copy(&config, from.as_deref(), to.expose()))
        }
        Command::Healthcheck => match healthcheck(config.bind) {
            Ok(()) => Ok(()),
            Err(e) => {
                eprintln!("unhealthy: {e:#}");
                std::process::exit(1)
            }
        },
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
                    admin: is_admin,
                    display_name,
                    password_stdin,
                },
        } => {
            init_tracing("warn", config.log_format);
            let password = read_password(password_stdin)?;
            let account = NewAccount {
                username,
                password,
                display_name,
                is_admin,
            };
            runtime.block_on(admin::create_user(config, account))
        }
        Command::Admin {
            command: AdminCommand::Usage { json },
        } => {
            init_tracing("warn", config.log_format);
            runtime.block_on(admin::usage(config, json))
        }
        Command::Admin {
            command: AdminCommand::SeedDemo { password_stdin },
        } => {
            init_tracing("warn", config.log_format);
            let password = if password_stdin {
                Some(read_password(true)?)
            } else {
                None
            };
            runtime.block_on(admin::seed_demo(config, password))
        }
        Command::Admin {
            command: AdminCommand::Account(command),
        } => {
            init_tracing("warn", config.log_format);
            let password = match &command {
                AccountCommand::SetPassword { password_stdin, .. } => {
                    Some(read_password(*password_stdin)?)
                }
                _ => None,
            };
            runtime.block_on(admin::administer(config, command, password))
        }
    }
}

/// Ends a backup or restore that failed: one line that says what and why (with the causes of an
/// I/O error), exit status 1. No backtrace: the message is for an operator.
fn fail(what: &str, error: &dyn std::error::Error) -> ! {
    let mut line = format!("jeco-server: {what}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        // Our messages already quote the cause they wrap (`…: {source}`); add only new text.
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    eprintln!("{line}");
    std::process::exit(1)
}

/// Logging to stderr, filtered by `RUST_LOG` (else `default`): text lines for people, or one JSON
/// object per line (`--log-format json`) with the event's fields and the spans it happened in —
/// a request's method, route and request id — for a log collector.
fn init_tracing(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // The PostgreSQL driver logs every statement's parameters at debug level: passwords'
        // hashes, search words, message text. Never below info, whatever RUST_LOG asks.
        .add_directive("tokio_postgres=info".parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            // Colour codes only for a person at a terminal, not in journald or log files.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
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

/// One `GET /api/v1/health` over plain TCP, answered 200 within 3 s. (No HTTP client: the check
/// must work in an image that holds nothing but this binary.)
fn healthcheck(bind: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::io::Read;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    use std::time::Duration;
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, bind.port());
    let limit = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, limit)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    write!(
        stream,
        "GET {}/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        jeco_shared::API_PREFIX
    )?;
    let mut head = Vec::new();
    stream.take(4096).read_to_end(&mut head)?;
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or_default();
    anyhow::ensure!(
        status.split_whitespace().nth(1) == Some("200"),
        "{addr} answered {status:?}"
    );
    Ok(())
}

/// `jeco-server db copy`: see [`jeco_server::storage::copy`].
async fn db_copy(config: &Config, from: Option<&str>, to: &str) -> anyhow::Result<()> {
    use jeco_server::config::Database;
    let from = match from {
        Some(url) => Database::parse(url)?,
        None => config.database()?,
    };
    let Database::Sqlite(from) = from else {
        anyhow::bail!("--from must be a SQLite database (sqlite:PATH)");
    };
    if !from.is_file() {
        anyhow::bail!("there is no SQLite database at {}", from.display());
    }
    let Database::Postgres(to) = Database::parse(to)? else {
        anyhow::bail!("--to must be a PostgreSQL database (postgres://…)");
    };
    eprintln!(
        "copying {} to {}",
        from.display(),
        jeco_server::storage::postgres::redact(&to)
    );
    let started = std::time::Instant::now();
    let report = jeco_server::storage::copy::sqlite_to_postgres(&from, &to, &mut |line: &str| {
        eprintln!("{line}");
        true
    })
    .await
    .context("copy failed")?;
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    eprintln!(
        "copied {rows} rows in {} tables in {:.1} s: start the server with --database-url on the \
         PostgreSQL database",
        report.tables.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
