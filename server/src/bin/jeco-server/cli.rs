//! Command line: subcommands plus every configuration knob as a flag with its `JECO_*` variable.
//!
//! Flags and environment variables are one layer here (clap reads both; a flag beats its variable),
//! applied over the TOML file, which is applied over the defaults.

use clap::{Args, Parser, Subcommand};
use jeco_server::{Config, Secret};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jeco-server",
    version,
    about = "Jeco Chat server: HTTP API, WebSocket gateway and accounts on an embedded SQLite database.",
    long_about = "Jeco Chat server: HTTP API, WebSocket gateway and accounts on an embedded SQLite database.\n\n\
        Runs with no configuration: `jeco-server serve` listens on 127.0.0.1:7878 and keeps its \
        database and signing secret in the platform data directory.\n\n\
        Configuration is layered: built-in defaults, then the TOML file (--config / JECO_CONFIG, keys \
        named like the flags with '_' for '-'), then JECO_* environment variables, then flags. \
        `jeco-server print-config` shows the result with secrets redacted.\n\n\
        API docs: http://<bind>/api/docs"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server until SIGINT or SIGTERM. Prints "listening on http://ADDR" once ready.
    Serve,
    /// Print the effective configuration as TOML, secrets redacted.
    PrintConfig,
    /// Ask the server at the configured bind address for its health (`GET /api/v1/health`):
    /// exit 0 when it answers 200 within 3 s, 1 otherwise. For container health checks, where
    /// the image has no curl. An unspecified bind address (0.0.0.0, ::) is asked on loopback.
    Healthcheck,
    /// Administer accounts in the data directory (works while the server runs).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a backup of the data directory to FILE while the server keeps running: a consistent
    /// snapshot of the database, the signing secret and (with the local media store) the media
    /// it refers to, as a tar with a manifest. Progress goes to stderr. The archive holds
    /// secret.key and every account: keep it as private as the data directory.
    Backup {
        /// The archive to write (replaced only once the new one is complete and on disk).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Database tools.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Restore a backup made by `backup` into an empty (or new) data directory and media
    /// directory. Refuses a directory that holds anything. Start the server afterwards.
    Restore {
        /// The archive written by `jeco-server backup`.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every row of a SQLite database into an empty PostgreSQL database (accounts,
    /// sessions, teams, conversations, messages with their positions, reactions, pins, read
    /// state, notifications, attachment records; PostgreSQL builds its own search index). Stop
    /// the server first. All or nothing: an interrupted copy leaves the target empty, so run it
    /// again. Progress goes to stderr. Media files stay where they are (keep the data directory,
    /// or the S3 bucket).
    Copy {
        /// The SQLite database: sqlite:PATH [default: the configured database, jeco.db in the
        /// data directory].
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The PostgreSQL database: postgres://user:password@host:port/database. It must exist
        /// and hold no data; its tables are created.
        #[arg(long, value_name = "URL")]
        to: Secret,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account. The password is prompted for, or read from stdin with --password-stdin.
    CreateUser {
        /// 3–32 characters of a-z 0-9 _ . - (case-insensitive).
        username: String,
        /// Make the account a server administrator.
        #[arg(long)]
        admin: bool,
        /// Display name shown instead of the username.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show the storage each user uses (what counts toward the media quota), most first.
    Usage {
        /// Print JSON (the same report as GET /api/v1/admin/media-usage) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Fill an empty server with a demo team, users, channels, a group, DMs and a short history,
    /// for trying the app. Prints the users and their passwords. Refuses to run twice.
    SeedDemo {
        /// One password for every demo user, from the first line of standard input, instead of
        /// a generated one each.
        #[arg(long)]
        password_stdin: bool,
    },
    #[command(flatten)]
    Account(AccountCommand),
}

/// The account commands: the same operations as `/api/v1/admin/users*`, on the data directory.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List accounts by username: admin and deactivated flags, created, last active, email.
    ListUsers {
        /// Only accounts whose username, display name or email starts with this.
        #[arg(long)]
        query: Option<String>,
        /// Print JSON (the items of GET /api/v1/admin/users) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Deactivate an account: it cannot sign in and every session ends; its messages stay.
    Deactivate { username: String },
    /// Let a deactivated account sign in again.
    Reactivate { username: String },
    /// Set an account's password and end every session. Prompted for, or --password-stdin.
    SetPassword {
        username: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make an account a server administrator.
    GrantAdmin { username: String },
    /// Remove an account's server-administrator flag (never the last admin's).
    RevokeAdmin { username: String },
    /// Turn off an account's two-factor authentication (a lost phone) and end every session.
    ResetTwoFactor { username: String },
    /// Require two-factor authentication of every account (`on`), or not (`off`). Turning it on
    /// ends the sessions of accounts without it; their next sign-in enrols them.
    RequireTwoFactor {
        #[arg(value_parser = ["on", "off"])]
        setting: String,
    },
}

/// Every knob of [`Config`]. See `Config`'s field docs; defaults are in `print-config`.
#[derive(Debug, Args, Default)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, env = "JECO_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7878]. Port 0 picks a free port.
    #[arg(long, env = "JECO_BIND", global = true, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Directory for jeco.db and secret.key [default: platform data dir, e.g. ~/.local/share/jeco-server].
    #[arg(long, env = "JECO_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database: sqlite:PATH or postgres://user:password@host:port/database
    /// [default: the SQLite file jeco.db in the data directory]. Several instances share one
    /// PostgreSQL database. See server/README "Choosing a database".
    #[arg(
        long,
        env = "JECO_DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<Secret>,
    /// Redis for a cluster of instances: redis://[:password@]host:port [default: none, one
    /// instance]. Needs --database-url postgres://…. See server/README "Running several instances".
    #[arg(
        long,
        env = "JECO_REDIS_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<Secret>,
    /// Address for the Prometheus metrics listener (GET /metrics), apart from --bind
    /// [default: none, no metrics served]. Keep it on loopback or a private network: never expose
    /// it to the internet.
    #[arg(long, env = "JECO_METRICS_ADDR", global = true, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Log format: `text` for people or `json`, one object per line [default: text].
    #[arg(long, env = "JECO_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<jeco_server::config::LogFormat>,
    /// Access token (JWT) lifetime in minutes [default: 15].
    #[arg(
        long,
        env = "JECO_ACCESS_TOKEN_TTL_MINUTES",
        global = true,
        value_name = "MIN"
    )]
    pub access_token_ttl_minutes: Option<u64>,
    /// Refresh token lifetime in days [default: 30].
    #[arg(
        long,
        env = "JECO_REFRESH_TOKEN_TTL_DAYS",
        global = true,
        value_name = "DAYS"
    )]
    pub refresh_token_ttl_days: Option<u64>,
    /// Seconds after a refresh in which the same refresh token is answered again with the same pair [default: 30; 0: none].
    #[arg(
        long,
        env = "JECO_REFRESH_REUSE_GRACE_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub refresh_reuse_grace_secs: Option<u64>,
    /// Largest HTTP request body in bytes [default: 65536].
    #[arg(long, env = "JECO_MAX_BODY_BYTES", global = true, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Time for a request's head, and for an idle keep-alive connection's next request, in
    /// milliseconds; then the connection is closed [default: 10000].
    #[arg(
        long,
        env = "JECO_HTTP_HEADER_TIMEOUT_MS",
        global = true,
        value_name = "MS"
    )]
    pub http_header_timeout_ms: Option<u64>,
    /// Longest pause in a request body in milliseconds (408 after it) [default: 30000].
    #[arg(
        long,
        env = "JECO_HTTP_BODY_TIMEOUT_MS",
        global = true,
        value_name = "MS"
    )]
    pub http_body_timeout_ms: Option<u64>,
    /// Open connections in total, WebSockets included (503 beyond) [default: 10000].
    #[arg(long, env = "JECO_MAX_CONNECTIONS", global = true, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Open connections from one IP address (503 beyond; raise it behind a reverse proxy)
    /// [default: 1000].
    #[arg(
        long,
        env = "JECO_MAX_CONNECTIONS_PER_IP",
        global = true,
        value_name = "N"
    )]
    pub max_connections_per_ip: Option<usize>,
    /// Comma-separated origins allowed by CORS [default: none, CORS off].
    #[arg(
        long,
        env = "JECO_CORS_ALLOWED_ORIGINS",
        global = true,
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed [default: none].
    #[arg(
        long,
        env = "JECO_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ',',
        value_name = "ADDRS"
    )]
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
    /// Failed logins for one account from one address before that address must wait [default: 5].
    #[arg(
        long,
        env = "JECO_LOGIN_LOCKOUT_ATTEMPTS",
        global = true,
        value_name = "N"
    )]
    pub login_lockout_attempts: Option<u32>,
    /// Lockout window in seconds [default: 900].
    #[arg(
        long,
        env = "JECO_LOGIN_LOCKOUT_WINDOW_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub login_lockout_window_secs: Option<u64>,
    /// Longest wait imposed on one address for one account, in seconds [default: 60].
    #[arg(
        long,
        env = "JECO_LOGIN_LOCKOUT_MAX_DELAY_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub login_lockout_max_delay_secs: Option<u64>,
    /// Failures per account from all addresses that space further tries 1 s apart [default: 100].
    #[arg(
        long,
        env = "JECO_LOGIN_BACKSTOP_ATTEMPTS",
        global = true,
        value_name = "N"
    )]
    pub login_backstop_attempts: Option<u32>,
    /// Sustained requests per minute per IP on /api/v1/auth/* [default: 30].
    #[arg(
        long,
        env = "JECO_AUTH_RATE_PER_MINUTE",
        global = true,
        value_name = "N"
    )]
    pub auth_rate_per_minute: Option<u32>,
    /// Burst of requests per IP on /api/v1/auth/* [default: 10].
    #[arg(long, env = "JECO_AUTH_RATE_BURST", global = true, value_name = "N")]
    pub auth_rate_burst: Option<u32>,
    /// WebSocket heartbeat interval in ms [default: 25000].
    #[arg(
        long,
        env = "JECO_WS_HEARTBEAT_INTERVAL_MS",
        global = true,
        value_name = "MS"
    )]
    pub ws_heartbeat_interval_ms: Option<u64>,
    /// WebSocket idle timeout in ms [default: 60000].
    #[arg(
        long,
        env = "JECO_WS_IDLE_TIMEOUT_MS",
        global = true,
        value_name = "MS"
    )]
    pub ws_idle_timeout_ms: Option<u64>,
    /// Time allowed for the WebSocket hello in ms [default: 10000].
    #[arg(
        long,
        env = "JECO_WS_HANDSHAKE_TIMEOUT_MS",
        global = true,
        value_name = "MS"
    )]
    pub ws_handshake_timeout_ms: Option<u64>,
    /// Largest WebSocket message in bytes [default: 65536].
    #[arg(
        long,
        env = "JECO_WS_MAX_FRAME_BYTES",
        global = true,
        value_name = "BYTES"
    )]
    pub ws_max_frame_bytes: Option<usize>,
    /// Frames queued for a slow WebSocket client before it is dropped [default: 256].
    #[arg(long, env = "JECO_WS_OUTBOUND_QUEUE", global = true, value_name = "N")]
    pub ws_outbound_queue: Option<usize>,
    /// Longest message text in characters [default: 4000].
    #[arg(long, env = "JECO_MESSAGE_MAX_CHARS", global = true, value_name = "N")]
    pub message_max_chars: Option<usize>,
    /// Messages per second one user may send, sustained [default: 10].
    #[arg(
        long,
        env = "JECO_MESSAGE_RATE_PER_SEC",
        global = true,
        value_name = "N"
    )]
    pub message_rate_per_sec: Option<u32>,
    /// Messages one user may send in a burst [default: 20].
    #[arg(long, env = "JECO_MESSAGE_RATE_BURST", global = true, value_name = "N")]
    pub message_rate_burst: Option<u32>,
    /// Events a resuming client may be behind per conversation before it must resync [default: 1000].
    #[arg(long, env = "JECO_RESUME_MAX_EVENTS", global = true, value_name = "N")]
    pub resume_max_events: Option<u32>,
    /// How long a typing indicator lasts unless repeated, in ms [default: 6000].
    #[arg(long, env = "JECO_TYPING_TIMEOUT_MS", global = true, value_name = "MS")]
    pub typing_timeout_ms: Option<u64>,
    /// Largest upload in bytes; larger ones get 413 [default: 104857600].
    #[arg(
        long,
        env = "JECO_MEDIA_MAX_UPLOAD_BYTES",
        global = true,
        value_name = "BYTES"
    )]
    pub media_max_upload_bytes: Option<u64>,
    /// Largest avatar image in bytes, before resizing [default: 10485760].
    #[arg(
        long,
        env = "JECO_MEDIA_AVATAR_MAX_BYTES",
        global = true,
        value_name = "BYTES"
    )]
    pub media_avatar_max_bytes: Option<u64>,
    /// Storage quota per user in bytes, attachments plus unfinished uploads [default: 10737418240; 0: none].
    #[arg(
        long,
        env = "JECO_MEDIA_QUOTA_BYTES",
        global = true,
        value_name = "BYTES"
    )]
    pub media_quota_bytes: Option<u64>,
    /// Uploads one user may open per minute [default: 30].
    #[arg(
        long,
        env = "JECO_MEDIA_UPLOAD_RATE_PER_MINUTE",
        global = true,
        value_name = "N"
    )]
    pub media_upload_rate_per_minute: Option<u32>,
    /// Uploads one user may open in a burst [default: 10].
    #[arg(
        long,
        env = "JECO_MEDIA_UPLOAD_RATE_BURST",
        global = true,
        value_name = "N"
    )]
    pub media_upload_rate_burst: Option<u32>,
    /// Media storage: local (a directory) or s3 (an S3-compatible bucket) [default: local].
    #[arg(
        long,
        env = "JECO_MEDIA_BACKEND",
        global = true,
        value_name = "BACKEND"
    )]
    pub media_backend: Option<jeco_server::config::MediaBackend>,
    /// Directory of the local media backend [default: <data-dir>/media].
    #[arg(long, env = "JECO_MEDIA_DIR", global = true, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// S3 endpoint URL (MinIO, Garage, R2, …) [default: AWS for the region]. Credentials come only
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN).
    #[arg(long, env = "JECO_S3_ENDPOINT", global = true, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket for media (required with --media-backend s3).
    #[arg(long, env = "JECO_S3_BUCKET", global = true, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region [default: us-east-1].
    #[arg(long, env = "JECO_S3_REGION", global = true, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Allow a plain http:// S3 endpoint (local test servers only) [default: false].
    #[arg(long, env = "JECO_S3_ALLOW_HTTP", global = true, value_name = "BOOL")]
    pub s3_allow_http: Option<bool>,
    /// Seconds an upload may stay unattached to a message before it is deleted [default: 86400].
    #[arg(
        long,
        env = "JECO_MEDIA_UNATTACHED_TTL_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub media_unattached_ttl_secs: Option<u64>,
    /// How often unattached uploads and unreferenced files are swept, in seconds [default: 600].
    #[arg(
        long,
        env = "JECO_MEDIA_SWEEP_INTERVAL_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub media_sweep_interval_secs: Option<u64>,
    /// Lifetime of signed download URLs in seconds [default: 300].
    #[arg(
        long,
        env = "JECO_MEDIA_SIGNED_URL_TTL_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub media_signed_url_ttl_secs: Option<u64>,
    /// Create this admin account at start if missing (with --admin-password).
    #[arg(long, env = "JECO_ADMIN_USERNAME", global = true, value_name = "NAME")]
    pub admin_username: Option<String>,
    /// Password of the bootstrap admin. Prefer the environment variable over the flag.
    #[arg(
        long,
        env = "JECO_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub admin_password: Option<Secret>,
    /// SMTP server for mail (email codes, password resets): smtps://user:pass@host:465,
    /// smtp://user:pass@host:587?tls=required, smtp://localhost:25. Without it, mail is written as
    /// .eml files into <data-dir>/mail/. Prefer the environment variable (it may hold a password).
    #[arg(
        long,
        env = "JECO_SMTP_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<Secret>,
    /// From address of the server's mail, e.g. "Jeco Chat <chat@example.org>".
    #[arg(long, env = "JECO_MAIL_FROM", global = true, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
}

impl ConfigArgs {
    /// Defaults → TOML file → environment and flags.
    pub fn load(&self) -> Result<Config, jeco_server::config::ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_toml_file(path)?,
            None => Config::default(),
        };
        self.apply(&mut config);
        config.validate()?;
        Ok(config)
    }

    fn apply(&self, c: &mut Config) {
        macro_rules! overlay {
            ($($field:ident),* $(,)?) => {
                $( if let Some(v) = &self.$field { c.$field = v.clone(); } )*
            };
        }
        overlay!(
            bind,
            data_dir,
            log_format,
            access_token_ttl_minutes,
            refresh_token_ttl_days,
            refresh_reuse_grace_secs,
            max_body_bytes,
            http_header_timeout_ms,
            http_body_timeout_ms,
            max_connections,
            max_connections_per_ip,
            cors_allowed_origins,
            trusted_proxies,
            login_lockout_attempts,
            login_lockout_window_secs,
            login_lockout_max_delay_secs,
            login_backstop_attempts,
            auth_rate_per_minute,
            auth_rate_burst,
            ws_heartbeat_interval_ms,
            ws_idle_timeout_ms,
            ws_handshake_timeout_ms,
            ws_max_frame_bytes,
            ws_outbound_queue,
            message_max_chars,
            message_rate_per_sec,
            message_rate_burst,
            resume_max_events,
            typing_timeout_ms,
            media_max_upload_bytes,
            media_avatar_max_bytes,
            media_quota_bytes,
            media_upload_rate_per_minute,
            media_upload_rate_burst,
            media_backend,
            s3_region,
            s3_allow_http,
            media_unattached_ttl_secs,
            media_sweep_interval_secs,
            media_signed_url_ttl_secs,
        );
        if let Some(v) = &self.metrics_addr {
            c.metrics_addr = Some(*v);
        }
        if let Some(v) = &self.database_url {
            c.database_url = Some(v.clone());
        }
        if let Some(v) = &self.redis_url {
            c.redis_url = Some(v.clone());
        }
        if let Some(v) = &self.media_dir {
            c.media_dir = Some(v.clone());
        }
        if let Some(v) = &self.s3_endpoint {
            c.s3_endpoint = Some(v.clone());
        }
        if let Some(v) = &self.s3_bucket {
            c.s3_bucket = Some(v.clone());
        }
        if let Some(v) = &self.admin_username {
            c.admin_username = Some(v.clone());
        }
        if let Some(v) = &self.admin_password {
            c.admin_password = Some(v.clone());
        }
        if let Some(v) = &self.smtp_url {
            c.smtp_url = Some(v.clone());
        }
        if let Some(v) = &self.mail_from {
            c.mail_from = v.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:1111\"\nauth_rate_burst = 3\nmax_body_bytes = 1000\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "jeco-server",
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--bind",
            "127.0.0.1:2222",
            "--cors-allowed-origins",
            "https://a.example,https://b.example",
        ])
        .unwrap();
        let c = cli.config.load().unwrap();
        assert_eq!(c.bind.port(), 2222);
        assert_eq!(c.auth_rate_burst, 3);
        assert_eq!(c.max_body_bytes, 1000);
        assert_eq!(
            c.cors_allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(c.access_token_ttl_minutes, 15);
        assert_eq!(c.metrics_addr, None);
        assert_eq!(c.log_format, jeco_server::config::LogFormat::Text);
    }

    #[test]
    fn metrics_address_and_log_format_are_flags() {
        let cli = Cli::try_parse_from([
            "jeco-server",
            "serve",
            "--metrics-addr",
            "127.0.0.1:9464",
            "--log-format",
            "json",
        ])
        .unwrap();
        let c = cli.config.load().unwrap();
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.log_format, jeco_server::config::LogFormat::Json);
        assert!(Cli::try_parse_from(["jeco-server", "serve", "--log-format", "xml"]).is_err());
        // Not on the API's own address.
        let cli = Cli::try_parse_from([
            "jeco-server",
            "serve",
            "--bind",
            "127.0.0.1:9464",
            "--metrics-addr",
            "127.0.0.1:9464",
        ])
        .unwrap();
        assert!(cli.config.load().is_err());
    }
}
