//! The engine a command runs on, and the errors commands report.

use crate::output::Out;
use anyhow::Context;
use jeco_client::{ConnectionState, Engine, FileTokenStore, ServerAddress, server_dir_name};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a command gives the engine to connect before it works from the cache alone.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// One command's engine and output.
pub struct App {
    pub engine: Engine,
    pub out: Out,
    pub server: ServerAddress,
    pub data_dir: PathBuf,
}

impl App {
    /// Builds the engine on `<data_dir>/<server>/` (the cache the engine keeps there, and the token
    /// file next to it). A saved session opens its cache at once and starts connecting.
    pub fn start(server: &str, data_dir: Option<PathBuf>, out: Out) -> anyhow::Result<Self> {
        let server = ServerAddress::parse(server).map_err(|e| CliError::usage(e.to_string()))?;
        let data_dir = match data_dir {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("chat", "Jeco", "jeco-cli")
                .map(|d| d.data_dir().to_owned())
                .ok_or_else(|| {
                    CliError::usage("no home directory to keep data in: pass --data-dir")
                })?,
        };
        let tokens = data_dir
            .join(server_dir_name(server.as_str()))
            .join("tokens.json");
        let engine = Engine::builder(server.as_str())
            .data_dir(&data_dir)
            .token_store(Arc::new(FileTokenStore::new(tokens)))
            .client_name(format!("jeco-cli/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .with_context(|| format!("cannot open the local data in {}", data_dir.display()))?;
        Ok(Self {
            engine,
            out,
            server,
            data_dir,
        })
    }

    /// Waits (up to `timeout`) for the first connection attempt to end: live and caught up, or
    /// failed. Returns the state then. Signed out returns at once.
    pub async fn settle(&self, timeout: Duration) -> ConnectionState {
        self.engine
            .wait_for(timeout, |s| {
                !matches!(
                    s,
                    ConnectionState::Connecting
                        | ConnectionState::Authenticating
                        | ConnectionState::CatchingUp
                )
            })
            .await
            .unwrap_or_else(|_| self.engine.connection_state())
    }

    /// Like [`App::settle`], but an error when nobody is signed in.
    pub async fn signed_in(&self) -> anyhow::Result<ConnectionState> {
        if self.engine.me().is_none() {
            return Err(not_signed_in().into());
        }
        let state = self.settle(CONNECT_TIMEOUT).await;
        if matches!(state, ConnectionState::SignedOut) {
            tracing::info!("the session is over; working from the cache");
        }
        Ok(state)
    }

    /// For commands that need the server: settles, then says why the server cannot be used.
    pub async fn online(&self) -> anyhow::Result<()> {
        match self.signed_in().await? {
            ConnectionState::Live => Ok(()),
            ConnectionState::SignedOut => Err(not_signed_in().into()),
            ConnectionState::Incompatible { reason } => {
                Err(CliError::new("protocol_mismatch", reason).into())
            }
            // Not live, but the REST API may still answer (the call below says if not).
            _ => Ok(()),
        }
    }
}

fn not_signed_in() -> CliError {
    CliError::new(
        "unauthorized",
        "not signed in: run `jeco login <username>` (or `jeco register <username>`)",
    )
}

/// An error of the CLI itself (a name that matches nothing, a bad argument), with the code
/// `--json` reports.
#[derive(Debug)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new("bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found", message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The code for `--json` errors: the server's (through [`jeco_client::EngineError::code`]) when
/// there is one, `unreachable` when the server did not answer at all.
pub fn error_code(e: &anyhow::Error) -> String {
    use jeco_client::{ApiError, ClientError, EngineError};
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<CliError>() {
            return c.code.to_owned();
        }
        if let Some(ApiError::Unreachable { .. }) = cause.downcast_ref::<ApiError>() {
            return "unreachable".to_owned();
        }
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            if let EngineError::Client(ClientError::Api(ApiError::Unreachable { .. })) = e {
                return "unreachable".to_owned();
            }
            return e.code().as_str().to_owned();
        }
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            if let ClientError::Api(ApiError::Unreachable { .. }) = e {
                return "unreachable".to_owned();
            }
            if let Some(code) = e.code() {
                return code.as_str().to_owned();
            }
        }
    }
    "internal".to_owned()
}

/// The message for an error: the chain joined, plus the server's field problems.
pub fn error_message(e: &anyhow::Error) -> String {
    use jeco_client::{ApiError, ClientError, EngineError};
    let mut message = format!("{e:#}");
    for cause in e.chain() {
        let api = match cause.downcast_ref::<EngineError>() {
            Some(EngineError::Client(ClientError::Api(api))) => Some(api),
            Some(EngineError::NotSignedIn) => {
                return "not signed in: run `jeco login <username>`".to_owned();
            }
            _ => cause.downcast_ref::<ApiError>(),
        };
        if let Some(ApiError::Server {
            fields: Some(fields),
            ..
        }) = api
            && !fields.is_empty()
        {
            let problems: Vec<String> = fields.iter().map(|(f, p)| format!("{f} {p}")).collect();
            message = format!("{message} ({})", problems.join("; "));
            break;
        }
    }
    message
}
