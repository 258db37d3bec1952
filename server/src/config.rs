//! Server configuration: one plain struct with every knob, layered
//! defaults → optional TOML file → `JECO_*` environment → command-line flags.
//!
//! The struct is deliberately flat (units in the names: `_secs`, `_ms`, `_bytes`) so that one field
//! maps to one TOML key, one environment variable and one flag without a nesting convention to
//! learn. The binary owns the flag/env layer (clap); this module owns defaults, the file layer,
//! validation and printing. [`Secret`] values never appear in `Debug` output or in
//! `print-config`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The effective configuration of a server. `Config::default()` is a working zero-config server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Directory for the database (`jeco.db`) and the signing secret (`secret.key`).
    pub data_dir: PathBuf,
    /// The database: unset (the default) is the embedded SQLite file `jeco.db` in `data_dir`;
    /// `sqlite:PATH` is a SQLite file elsewhere; `postgres://user:password@host:port/database`
    /// is a PostgreSQL server (the database must exist; the server creates its tables), which
    /// several server instances can share. `data_dir` still holds the signing secret, unfinished
    /// uploads and (with the local media backend) the media. Redacted when printed.
    pub database_url: Option<Secret>,
    /// Redis, for running several instances as one cluster (`redis://[:password@]host:port[/db]`):
    /// committed events, session revocations, presence and rate budgets go through it, so any
    /// instance serves any client. Unset (the default): one instance, everything in process.
    /// Needs a shared database (`database_url` = PostgreSQL). Redacted when printed.
    pub redis_url: Option<Secret>,
    /// Address of the Prometheus metrics listener (`GET /metrics`), apart from `bind`. Unset (the
    /// default): no metrics are served. Bind it to loopback or a private network that only the
    /// scraper reaches; never expose it to the internet.
    pub metrics_addr: Option<SocketAddr>,
    /// Log lines as text for people (`text`, the default) or one JSON object per line (`json`).
    /// Read by the `jeco-server` binary, which sets up logging.
    pub log_format: LogFormat,
    /// Lifetime of an access token (JWT), in minutes.
    pub access_token_ttl_minutes: u64,
    /// Lifetime of a refresh token, in days.
    pub refresh_token_ttl_days: u64,
    /// A refresh token presented again within this many seconds of its rotation gets the same new
    /// pair (a retried or concurrent refresh) instead of revoking the session. 0: no grace.
    pub refresh_reuse_grace_secs: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a request's head (request line and headers), and that an idle
    /// keep-alive connection may wait for its next request, in milliseconds. Then it is closed.
    pub http_header_timeout_ms: u64,
    /// Longest pause while a request body arrives, in milliseconds (408 `request_timeout`).
    pub http_body_timeout_ms: u64,
    /// Open connections in total, WebSockets included; more are refused with 503 `unavailable`.
    /// Keep it below the open-files limit.
    pub max_connections: usize,
    /// Open connections from one IP address, WebSockets included; more are refused with 503
    /// `unavailable`. Behind a reverse proxy every client has the proxy's address: raise it.
    pub max_connections_per_ip: usize,
    /// Origins allowed to call the API from a browser. Empty: CORS is off (no CORS headers).
    pub cors_allowed_origins: Vec<String>,
    /// Failed logins for one account from one address within the window before that address has
    /// to wait between tries (see `services::lockout`).
    pub login_lockout_attempts: u32,
    /// Lockout window, in seconds.
    pub login_lockout_window_secs: u64,
    /// Longest wait imposed on one address for one account after repeated failures (the wait
    /// starts at 1 s once the free attempts are used and doubles per further failure), in seconds.
    pub login_lockout_max_delay_secs: u64,
    /// Failed logins for one account from all addresses within the window after which any address
    /// must leave 1 s after the latest failure (slows a distributed guesser; never locks).
    pub login_backstop_attempts: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed: for a request from one of these
    /// addresses, the client is the rightmost address in that header that is not itself a trusted
    /// proxy. Empty (the default): the header is ignored and the client is the TCP peer.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Requests per minute one IP address may make to `/api/v1/auth/*` (sustained rate).
    pub auth_rate_per_minute: u32,
    /// Requests one IP address may make to `/api/v1/auth/*` in a burst.
    pub auth_rate_burst: u32,
    /// How often the server pings WebSocket clients and asks them to ping, in milliseconds.
    pub ws_heartbeat_interval_ms: u64,
    /// A WebSocket connection silent this long is closed, in milliseconds.
    pub ws_idle_timeout_ms: u64,
    /// Time a new WebSocket connection has to complete hello → ready, in milliseconds.
    pub ws_handshake_timeout_ms: u64,
    /// Largest accepted WebSocket message, in bytes. Larger ones get a `frame_too_large` error frame.
    pub ws_max_frame_bytes: usize,
    /// Frames that may wait for a slow WebSocket client before it is disconnected (close 4006).
    pub ws_outbound_queue: usize,
    /// Longest message text, in characters.
    pub message_max_chars: usize,
    /// Messages one user may send per second (sustained), over REST and WebSocket together.
    pub message_rate_per_sec: u32,
    /// Messages one user may send in a burst.
    pub message_rate_burst: u32,
    /// A resuming client further behind than this many events in a conversation gets a `resync`
    /// frame instead of a replay.
    pub resume_max_events: u32,
    /// How long a typing indicator lasts without being repeated, in milliseconds.
    pub typing_timeout_ms: u64,
    /// Largest upload (attachment), in bytes. Larger uploads are refused with 413.
    pub media_max_upload_bytes: u64,
    /// Largest avatar image accepted (before it is resized), in bytes.
    pub media_avatar_max_bytes: u64,
    /// Storage quota per user, in bytes: their attachments (each at its full size, even when the
    /// content is stored once for several users) plus their unfinished uploads. 0: no quota.
    pub media_quota_bytes: u64,
    /// Uploads one user may open per minute (sustained).
    pub media_upload_rate_per_minute: u32,
    /// Uploads one user may open in a burst.
    pub media_upload_rate_burst: u32,
    /// Where attachments and avatars are stored: `local` (a directory) or `s3` (any
    /// S3-compatible bucket; credentials come only from the `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` environment variables).
    pub media_backend: MediaBackend,
    /// `local` backend: the directory. Default: `media` under `data_dir`.
    pub media_dir: Option<PathBuf>,
    /// `s3` backend: endpoint URL, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO/Garage
    /// address. Absent: AWS's endpoint for the region.
    pub s3_endpoint: Option<String>,
    /// `s3` backend: the bucket (must exist).
    pub s3_bucket: Option<String>,
    /// `s3` backend: the region.
    pub s3_region: String,
    /// `s3` backend: allow a plain `http://` endpoint (local test servers only).
    pub s3_allow_http: bool,
    /// `s3` backend: credentials given by a program embedding the server (tests, the desktop
    /// app). Never read from the file, the flags or printed; the binary leaves it empty so that the
    /// standard `AWS_*` environment variables apply.
    #[serde(skip)]
    pub s3_credentials: Option<S3Credentials>,
    /// Uploads not sent with a message within this many seconds are deleted (and so are
    /// unfinished uploads without progress for as long).
    pub media_unattached_ttl_secs: u64,
    /// How often unattached uploads and unreferenced files are swept, in seconds.
    pub media_sweep_interval_secs: u64,
    /// Lifetime of signed download URLs, in seconds.
    pub media_signed_url_ttl_secs: u64,
    /// With `admin_password`: create this admin account at start if it does not exist.
    pub admin_username: Option<String>,
    /// Password for `admin_username`.
    pub admin_password: Option<Secret>,
    /// Where mail (email codes, password resets) goes: `smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required`, `smtp://localhost:25`. Unset: every message is
    /// written as an `.eml` file into `<data_dir>/mail/` (the dev mailer, see `services::mail`).
    pub smtp_url: Option<Secret>,
    /// The From address of that mail.
    pub mail_from: String,
    /// How long an email verification code is valid, in seconds.
    pub email_code_ttl_secs: u64,
    /// How long a password-reset token is valid, in seconds.
    pub password_reset_ttl_secs: u64,
    /// How long a mailed sign-in code is valid, in seconds.
    pub login_code_ttl_secs: u64,
    /// How long the second step of a sign-in (the two-factor code) may take, in seconds.
    pub two_factor_challenge_ttl_secs: u64,
    /// Where the server reads wall time (see `clock`): the system's, unless a test hosting the
    /// server gives it a `ManualClock` to move past expiries. Not a setting: never read from a
    /// file, the environment or flags, never printed.
    #[serde(skip)]
    pub clock: crate::clock::Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7878)),
            data_dir: default_data_dir(),
            database_url: None,
            redis_url: None,
            metrics_addr: None,
            log_format: LogFormat::Text,
            access_token_ttl_minutes: 15,
            refresh_token_ttl_days: 30,
            refresh_reuse_grace_secs: 30,
            max_body_bytes: 64 * 1024,
            http_header_timeout_ms: 10_000,
            http_body_timeout_ms: 30_000,
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            login_lockout_attempts: 5,
            login_lockout_window_secs: 15 * 60,
            login_lockout_max_delay_secs: 60,
            login_backstop_attempts: 100,
            auth_rate_per_minute: 30,
            auth_rate_burst: 10,
            ws_heartbeat_interval_ms: 25_000,
            ws_idle_timeout_ms: 60_000,
            ws_handshake_timeout_ms: 10_000,
            ws_max_frame_bytes: 64 * 1024,
            ws_outbound_queue: 256,
            message_max_chars: jeco_shared::messages::MESSAGE_MAX_CHARS_DEFAULT,
            message_rate_per_sec: 10,
            message_rate_burst: 20,
            resume_max_events: 1000,
            typing_timeout_ms: jeco_shared::limits::TYPING_TIMEOUT_MS_DEFAULT,
            media_max_upload_bytes: 100 * 1024 * 1024,
            media_avatar_max_bytes: jeco_shared::limits::AVATAR_BYTES_MAX_DEFAULT,
            media_quota_bytes: 10 * 1024 * 1024 * 1024,
            media_upload_rate_per_minute: 30,
            media_upload_rate_burst: 10,
            media_backend: MediaBackend::Local,
            media_dir: None,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: "us-east-1".into(),
            s3_allow_http: false,
            s3_credentials: None,
            media_unattached_ttl_secs: 24 * 60 * 60,
            media_sweep_interval_secs: 10 * 60,
            media_signed_url_ttl_secs: 5 * 60,
            admin_username: None,
            admin_password: None,
            smtp_url: None,
            mail_from: "Jeco Chat <jeco@localhost>".into(),
            email_code_ttl_secs: 15 * 60,
            password_reset_ttl_secs: 30 * 60,
            login_code_ttl_secs: 10 * 60,
            two_factor_challenge_ttl_secs: 5 * 60,
            clock: crate::clock::Clock::system(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, message, fields, the request's span).
    Json,
}

/// Where media is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    /// A directory on the local disk (`media_dir`).
    #[default]
    Local,
    /// An S3-compatible bucket (`s3_*`).
    S3,
}

/// An S3 access key, for [`Config::s3_credentials`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// The platform data directory (`~/.local/share/jeco-server` on Linux), or `./jeco-data` when the
/// platform has none (no home directory).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "jeco-server")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("jeco-data"))
}

/// Why a configuration could not be loaded or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, with the given data directory.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: dir.into(),
            ..Config::default()
        }
    }

    /// Defaults overlaid with a TOML file; keys absent from the file keep their defaults.
    pub fn from_toml_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Checks values that would make the server misbehave rather than fail loudly.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive: [(&str, u64); 32] = [
            ("email_code_ttl_secs", self.email_code_ttl_secs),
            ("login_code_ttl_secs", self.login_code_ttl_secs),
            (
                "two_factor_challenge_ttl_secs",
                self.two_factor_challenge_ttl_secs,
            ),
            ("password_reset_ttl_secs", self.password_reset_ttl_secs),
            ("access_token_ttl_minutes", self.access_token_ttl_minutes),
            ("refresh_token_ttl_days", self.refresh_token_ttl_days),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("http_header_timeout_ms", self.http_header_timeout_ms),
            ("http_body_timeout_ms", self.http_body_timeout_ms),
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("login_lockout_attempts", self.login_lockout_attempts.into()),
            ("login_lockout_window_secs", self.login_lockout_window_secs),
            (
                "login_lockout_max_delay_secs",
                self.login_lockout_max_delay_secs,
            ),
            (
                "login_backstop_attempts",
                self.login_backstop_attempts.into(),
            ),
            ("auth_rate_per_minute", self.auth_rate_per_minute.into()),
            ("auth_rate_burst", self.auth_rate_burst.into()),
            ("ws_heartbeat_interval_ms", self.ws_heartbeat_interval_ms),
            ("ws_handshake_timeout_ms", self.ws_handshake_timeout_ms),
            ("ws_outbound_queue", self.ws_outbound_queue as u64),
            ("message_max_chars", self.message_max_chars as u64),
            ("message_rate_per_sec", self.message_rate_per_sec.into()),
            ("message_rate_burst", self.message_rate_burst.into()),
            ("resume_max_events", self.resume_max_events.into()),
            ("typing_timeout_ms", self.typing_timeout_ms),
            ("media_max_upload_bytes", self.media_max_upload_bytes),
            ("media_avatar_max_bytes", self.media_avatar_max_bytes),
            (
                "media_upload_rate_per_minute",
                self.media_upload_rate_per_minute.into(),
            ),
            (
                "media_upload_rate_burst",
                self.media_upload_rate_burst.into(),
            ),
            ("media_unattached_ttl_secs", self.media_unattached_ttl_secs),
            ("media_sweep_interval_secs", self.media_sweep_interval_secs),
            ("media_signed_url_ttl_secs", self.media_signed_url_ttl_secs),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be greater than 0"
                )));
            }
        }
        if self.ws_idle_timeout_ms <= self.ws_heartbeat_interval_ms {
            return Err(ConfigError::Invalid(
                "ws_idle_timeout_ms must be greater than ws_heartbeat_interval_ms".into(),
            ));
        }
        if self.metrics_addr == Some(self.bind) && self.bind.port() != 0 {
            return Err(ConfigError::Invalid(
                "metrics_addr must differ from bind: metrics are served on their own address"
                    .into(),
            ));
        }
        if self.ws_max_frame_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "ws_max_frame_bytes must be at least 1024".into(),
            ));
        }
        if self.media_backend == MediaBackend::S3
            && self.s3_bucket.as_deref().is_none_or(str::is_empty)
        {
            return Err(ConfigError::Invalid(
                "media_backend = \"s3\" needs s3_bucket".into(),
            ));
        }
        if let Err(e) = self.mail_from.parse::<lettre::message::Mailbox>() {
            return Err(ConfigError::Invalid(format!(
                "mail_from {:?} is not an address: {e}",
                self.mail_from
            )));
        }
        let database = self.database()?;
        if let Some(url) = &self.redis_url {
            let url = url.expose();
            if !url.starts_with("redis://") {
                return Err(ConfigError::Invalid(
                    "redis_url must start with redis:// (e.g. redis://127.0.0.1:6379; no TLS: \
                     keep Redis on a private network)"
                        .into(),
                ));
            }
            // Instances of a cluster must share their data: a SQLite file is one instance's own.
            if matches!(database, Database::Sqlite(_)) {
                return Err(ConfigError::Invalid(
                    "redis_url runs several instances as one cluster, which needs a shared \
                     database: set database_url to postgres://…"
                        .into(),
                ));
            }
        }
        if self.admin_username.is_some() != self.admin_password.is_some() {
            return Err(ConfigError::Invalid(
                "admin_username and admin_password must be set together".into(),
            ));
        }
        Ok(())
    }

    /// The configuration as TOML, secrets replaced by `[redacted]`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }

    /// The embedded SQLite database's file, when the database is SQLite.
    pub fn database_path(&self) -> PathBuf {
        match self.database() {
            Ok(Database::Sqlite(path)) => path,
            _ => self.data_dir.join("jeco.db"),
        }
    }

    /// Which database `database_url` names (see its doc).
    pub fn database(&self) -> Result<Database, ConfigError> {
        let Some(url) = &self.database_url else {
            return Ok(Database::Sqlite(self.data_dir.join("jeco.db")));
        };
        Database::parse(url.expose())
    }

    /// Where the dev mailer writes messages when no SMTP server is configured.
    pub fn mail_path(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    pub fn secret_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// The `local` media backend's directory.
    pub fn media_path(&self) -> PathBuf {
        self.media_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }

    /// Where unfinished uploads are kept (always on the local disk, whatever the backend).
    pub fn uploads_path(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    /// Where "export my data" zips are built (unnamed temporary files).
    pub fn exports_path(&self) -> PathBuf {
        self.data_dir.join("exports")
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_minutes * 60)
    }

    pub fn http_body_timeout(&self) -> Duration {
        Duration::from_millis(self.http_body_timeout_ms)
    }

    pub fn refresh_token_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_days * 24 * 60 * 60)
    }
}

/// The database a server runs on ([`Config::database`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file: zero configuration, one server process.
    Sqlite(PathBuf),
    /// A PostgreSQL server's URL (it may hold a password: do not print it).
    Postgres(String),
}

impl Database {
    /// `sqlite:PATH`, `sqlite://PATH` (a relative or, with a third `/`, absolute path),
    /// `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(ConfigError::Invalid(
                    "database_url sqlite: needs a file path, e.g. sqlite:///var/lib/jeco/jeco.db"
                        .into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let scheme = url.split(':').next().unwrap_or("");
        Err(ConfigError::Invalid(format!(
            "database_url must start with sqlite: or postgres:// (got {scheme:?}:)"
        )))
    }
}

/// A value that must not be printed: `Debug`, `Display` and `Serialize` all show `[redacted]`.
/// Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

const REDACTED: &str = "[redacted]";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_config() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:7878");
        assert_eq!(c.access_token_ttl(), Duration::from_secs(900));
        assert!(c.cors_allowed_origins.is_empty());
    }

    /// What clients are told the limits are (`jeco_shared::limits::LIMITS`, which the desktop UI
    /// gets as generated constants) is what a server left at its defaults enforces.
    #[test]
    fn default_limits_are_the_ones_clients_are_told() {
        let c = Config::default();
        let told = jeco_shared::limits::LIMITS;
        assert_eq!(c.message_max_chars, told.message_chars_max as usize);
        assert_eq!(c.media_avatar_max_bytes, told.avatar_bytes_max);
        assert!(told.typing_repeat_ms * 2 <= c.typing_timeout_ms);
    }

    #[test]
    fn file_overlays_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jeco.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0:9000\"\nlogin_lockout_attempts = 3\n",
        )
        .unwrap();
        let c = Config::from_toml_file(&path).unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.login_lockout_attempts, 3);
        assert_eq!(c.refresh_token_ttl_days, 30);
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jeco.toml");
        std::fs::write(&path, "bnid = \"0.0.0.0:9000\"\n").unwrap();
        assert!(matches!(
            Config::from_toml_file(&path),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let c = Config {
            admin_username: Some("root".into()),
            admin_password: Some(Secret::new("hunter2-very-secret")),
            smtp_url: Some(Secret::new("smtps://jeco:smtp-hunter3@mail.example.org")),
            ..Config::with_data_dir("/tmp/x")
        };
        assert!(!format!("{c:?}").contains("hunter"));
        let toml = c.to_redacted_toml();
        assert!(!toml.contains("hunter"), "{toml}");
        assert!(toml.contains("admin_password = \"[redacted]\""), "{toml}");
        assert!(toml.contains("smtp_url = \"[redacted]\""), "{toml}");
        assert_eq!(c.admin_password.unwrap().expose(), "hunter2-very-secret");
    }

    #[test]
    fn the_mail_from_address_must_parse() {
        let mut c = Config::with_data_dir("/tmp/x");
        assert!(c.validate().is_ok());
        c.mail_from = "Jeco <chat@example.org>".into();
        assert!(c.validate().is_ok());
        c.mail_from = "not an address".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn s3_needs_a_bucket_and_its_credentials_are_never_printed() {
        let mut c = Config {
            media_backend: MediaBackend::S3,
            ..Config::with_data_dir("/tmp/x")
        };
        assert!(c.validate().is_err());
        c.s3_bucket = Some("media".into());
        c.s3_credentials = Some(S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI-secret"),
        });
        c.validate().unwrap();
        let toml = c.to_redacted_toml();
        assert!(toml.contains("media_backend = \"s3\""), "{toml}");
        assert!(
            !toml.contains("AKIDEXAMPLE") && !toml.contains("wJalr"),
            "{toml}"
        );
        assert!(!format!("{c:?}").contains("wJalr"));
        // The file layer cannot set credentials.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jeco.toml");
        std::fs::write(&path, "s3_credentials = \"x\"\n").unwrap();
        assert!(Config::from_toml_file(&path).is_err());
    }

    #[test]
    fn validation_catches_nonsense() {
        let mut c = Config::with_data_dir("/tmp/x");
        c.ws_idle_timeout_ms = c.ws_heartbeat_interval_ms;
        assert!(c.validate().is_err());
        let c = Config {
            admin_username: Some("root".into()),
            ..Config::with_data_dir("/tmp/x")
        };
        assert!(c.validate().is_err());
    }
}
