//! The app's one piece of state: which server it talks to, the engine for that server, and the
//! embedded server when it runs.
//!
//! Commands borrow the current [`Engine`] (a cheap clone, so a slow request never holds the lock)
//! and switching servers swaps it. Each server gets its own keychain entry and its own cache
//! directory, so switching back finds the session — and the cached chats — that were there.

use crate::embedded::{EmbeddedError, EmbeddedServer};
use crate::error::CommandError;
use crate::keychain::KeychainTokenStore;
use crate::settings::{Overrides, Settings};
use jeco_client::{ConnectionState, Engine, EngineEvent, ServerAddress};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The web-view event that carries [`EngineEvent`]s.
pub const ENGINE_EVENT: &str = "engine-event";

/// Where engine events go (the web view, in the app).
pub type EventSink = Arc<dyn Fn(EngineEvent) + Send + Sync>;

/// Name and version sent to servers.
pub const CLIENT_NAME: &str = concat!("jeco-desktop/", env!("CARGO_PKG_VERSION"));

/// Which server the app talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTarget {
    Embedded,
    Remote(ServerAddress),
}

impl ServerTarget {
    /// The keychain account for this server's tokens. The embedded server's address changes from
    /// run to run (a free port), so it is keyed by its data directory instead.
    pub fn keychain_account(&self, data_dir: &Path) -> String {
        match self {
            Self::Embedded => format!("embedded:{}", data_dir.display()),
            Self::Remote(address) => address.to_string(),
        }
    }

    /// The cache directory's name under `<data dir>/accounts/`: stable across runs for the
    /// embedded server (whose port is new every time), the address otherwise.
    pub fn cache_key(&self) -> String {
        match self {
            Self::Embedded => "embedded".to_owned(),
            Self::Remote(address) => address.to_string(),
        }
    }
}

/// What the UI shows about the connection (`app_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub app_version: String,
    /// `"embedded"` or `"remote"`.
    #[ts(type = "\"embedded\" | \"remote\"")]
    pub mode: &'static str,
    /// The address the app talks to; `None` only when the embedded server failed to start.
    pub server_address: Option<String>,
    pub embedded: EmbeddedStatus,
    /// The sync connection: `signed_out`, `connecting`, `live`, `waiting_to_retry`…
    pub connection: ConnectionState,
    /// Someone has signed in with this app before (an account's cache exists): the sign-in screen
    /// opens on "Sign in" then, and on "Create account" on a new install.
    pub signed_in_before: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedStatus {
    /// `"running"`, `"stopped"` (talking to another server) or `"failed"`.
    #[ts(type = "\"running\" | \"stopped\" | \"failed\"")]
    pub state: &'static str,
    pub address: Option<String>,
    pub data_dir: String,
    pub error: Option<String>,
    /// Listening on the local network (not only this computer) for teammates.
    pub hosting: bool,
    /// While hosting: the addresses teammates can connect to.
    pub lan_addresses: Vec<String>,
}

struct Inner {
    target: ServerTarget,
    engine: Option<Engine>,
    embedded: Option<EmbeddedServer>,
    embedded_error: Option<String>,
    /// The port the embedded server keeps while hosted on the network; `None`: loopback only.
    hosting_port: Option<u16>,
}

/// Managed by Tauri; one per app.
pub struct AppState {
    data_dir: PathBuf,
    /// `JECO_DESKTOP_EMBEDDED_BIND`: where the embedded server listens, whatever else is chosen.
    embedded_bind: Option<SocketAddr>,
    /// Set when `JECO_DESKTOP_SERVER` chose the server: the choice is then not remembered.
    server_from_env: bool,
    inner: Mutex<Inner>,
    sink: std::sync::Mutex<Option<EventSink>>,
}

impl AppState {
    /// Picks the server (environment, then remembered choice, then embedded), starting the
    /// embedded server if that is the one. Never fails: problems show up in [`AppStatus`] and in
    /// command errors, where the UI can explain them.
    pub async fn start(data_dir: PathBuf, overrides: &Overrides) -> Self {
        let saved = Settings::load(&data_dir);
        let chosen = overrides.server.clone().or(saved.server);
        let state = Self {
            embedded_bind: overrides.embedded_bind,
            server_from_env: overrides.server.is_some(),
            inner: Mutex::new(Inner {
                target: ServerTarget::Embedded,
                engine: None,
                embedded: None,
                embedded_error: None,
                hosting_port: saved.hosting_port,
            }),
            data_dir,
            sink: std::sync::Mutex::new(None),
        };
        let result = match chosen {
            Some(address) => state.switch(Some(&address), false).await,
            None => state.switch(None, false).await,
        };
        if let Err(e) = result {
            tracing::error!(code = %e.code, message = %e.message, "could not set up the server at start");
        }
        state
    }

    /// Sends every engine event (of this and every later engine) to `sink`.
    pub fn set_event_sink(&self, sink: EventSink) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
        if let Ok(inner) = self.inner.try_lock()
            && let Some(engine) = &inner.engine
        {
            self.forward(engine);
        }
    }

    /// Forwards one engine's events to the sink until the engine is gone. A listener that fell
    /// behind gets "conversations changed", which makes the UI re-read everything.
    fn forward(&self, engine: &Engine) {
        let Some(sink) = self.sink.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        let mut events = engine.subscribe();
        // Weak: the task ends with the engine (a switch of server drops it).
        let engine = engine.downgrade();
        tauri::async_runtime::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(event) => sink(event),
                    // Behind: everything is re-read, and each open timeline window is sent
                    // whole (its diffs since were dropped with the lag).
                    Err(RecvError::Lagged(_)) => {
                        sink(EngineEvent::ConversationsChanged);
                        let Some(engine) = engine.upgrade() else {
                            break;
                        };
                        for event in engine.window_resync(&mut events) {
                            sink(event);
                        }
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The engine for the current server.
    pub async fn engine(&self) -> Result<Engine, CommandError> {
        let inner = self.inner.lock().await;
        inner.engine.clone().ok_or_else(|| {
            let reason = inner
                .embedded_error
                .clone()
                .unwrap_or_else(|| "no server is selected".to_owned());
            CommandError::new(
                "embedded_server_failed",
                format!("The built-in server is not running: {reason}"),
            )
        })
    }

    pub async fn status(&self) -> AppStatus {
        let inner = self.inner.lock().await;
        let embedded_address = inner.embedded.as_ref().map(|e| e.address().to_string());
        let hosting = inner.embedded.is_some() && inner.hosting_port.is_some();
        let lan_addresses = match (&inner.embedded, hosting) {
            (Some(server), true) => crate::hosting::lan_urls(server.local_port()),
            _ => Vec::new(),
        };
        AppStatus {
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            mode: match inner.target {
                ServerTarget::Embedded => "embedded",
                ServerTarget::Remote(_) => "remote",
            },
            server_address: inner
                .engine
                .as_ref()
                .map(|e| e.client().server().to_string()),
            embedded: EmbeddedStatus {
                state: match (&inner.embedded, &inner.embedded_error) {
                    (Some(_), _) => "running",
                    (None, Some(_)) => "failed",
                    (None, None) => "stopped",
                },
                address: embedded_address,
                data_dir: self.embedded_data_dir().display().to_string(),
                error: inner.embedded_error.clone(),
                hosting,
                lan_addresses,
            },
            connection: inner
                .engine
                .as_ref()
                .map(Engine::connection_state)
                .unwrap_or(ConnectionState::SignedOut),
            signed_in_before: has_account_cache(&self.data_dir.join("accounts")),
        }
    }

    /// Points the app at `address`, or at the embedded server when `None`/empty or equal to the
    /// embedded server's address. A remote server must answer its health check before the switch,
    /// so a typo is reported on the field instead of at the next sign-in.
    pub async fn set_server(&self, address: Option<&str>) -> Result<AppStatus, CommandError> {
        self.switch(address, true).await?;
        Ok(self.status().await)
    }

    async fn switch(&self, address: Option<&str>, remember: bool) -> Result<(), CommandError> {
        let requested = address.map(str::trim).filter(|a| !a.is_empty());
        let mut inner = self.inner.lock().await;
        let target = match requested {
            None => ServerTarget::Embedded,
            Some(text) => {
                let parsed = ServerAddress::parse(text).map_err(|e| {
                    CommandError::new("invalid_address", e.to_string())
                        .with_field("server", e.reason.clone())
                })?;
                let is_embedded = inner
                    .embedded
                    .as_ref()
                    .is_some_and(|e| e.address() == &parsed);
                if is_embedded {
                    ServerTarget::Embedded
                } else {
                    ServerTarget::Remote(parsed)
                }
            }
        };

        let address = match &target {
            ServerTarget::Embedded => {
                if inner.embedded.is_none() {
                    match self.start_embedded(&mut inner).await {
                        Ok(server) => {
                            inner.embedded = Some(server);
                            inner.embedded_error = None;
                        }
                        Err(e) => {
                            inner.embedded_error = Some(e.to_string());
                            if let Some(old) = inner.engine.take() {
                                old.shutdown();
                            }
                            inner.target = ServerTarget::Embedded;
                            return Err(embedded_failed(&e));
                        }
                    }
                }
                inner
                    .embedded
                    .as_ref()
                    .expect("started above")
                    .address()
                    .clone()
            }
            ServerTarget::Remote(address) => address.clone(),
        };

        let store = KeychainTokenStore::open(&target.keychain_account(&self.data_dir))?;
        if matches!(target, ServerTarget::Remote(_)) && remember {
            let probe = jeco_client::Client::builder(address.as_str())
                .client_name(CLIENT_NAME)
                .build()?;
            probe.health().await.map_err(|e| {
                let error = CommandError::from(e);
                let field = error.message.clone();
                error.with_field("server", field)
            })?;
        }
        // A saved session opens its cache here, before any network I/O, and starts syncing.
        let engine = Engine::builder(address.as_str())
            .data_dir(self.data_dir.join("accounts"))
            .server_key(target.cache_key())
            .token_store(Arc::new(store))
            .client_name(CLIENT_NAME)
            .build()
            .map_err(CommandError::from)?;
        tracing::info!(server = %address, "using server");
        self.forward(&engine);
        if let Some(old) = inner.engine.replace(engine) {
            old.shutdown();
        }
        inner.target = target.clone();
        drop(inner);

        if remember && !self.server_from_env {
            self.remember(|settings| {
                settings.server = match &target {
                    ServerTarget::Embedded => None,
                    ServerTarget::Remote(address) => Some(address.to_string()),
                };
            });
        }
        Ok(())
    }

    /// Starts the embedded server where it should listen: the environment's address, else the
    /// network at the hosting port (a free one if that is taken, then remembered), else loopback.
    async fn start_embedded(&self, inner: &mut Inner) -> Result<EmbeddedServer, EmbeddedError> {
        let dir = self.embedded_data_dir();
        if let Some(bind) = self.embedded_bind {
            return EmbeddedServer::start(&dir, bind).await;
        }
        let Some(port) = inner.hosting_port else {
            return EmbeddedServer::start(&dir, crate::embedded::DEFAULT_BIND).await;
        };
        let server = match EmbeddedServer::start(&dir, crate::hosting::bind(port)).await {
            Ok(server) => server,
            Err(EmbeddedError::Bind { source, .. }) => {
                tracing::warn!(port, error = %source, "hosting port busy; taking another");
                EmbeddedServer::start(&dir, crate::hosting::bind(0)).await?
            }
            Err(e) => return Err(e),
        };
        if server.local_port() != port {
            inner.hosting_port = Some(server.local_port());
            let kept = inner.hosting_port;
            self.remember(|settings| settings.hosting_port = kept);
        }
        Ok(server)
    }

    /// Hosts the embedded server on the local network (or back on this computer only). The
    /// server restarts on its new address; the app follows it and keeps its session and cache.
    pub async fn set_hosting(&self, on: bool) -> Result<AppStatus, CommandError> {
        {
            let mut inner = self.inner.lock().await;
            if inner.target != ServerTarget::Embedded {
                return Err(CommandError::new(
                    "validation_failed",
                    "Hosting is for the built-in server: switch to it first.",
                ));
            }
            let port = on.then(|| inner.hosting_port.unwrap_or(crate::hosting::DEFAULT_PORT));
            inner.hosting_port = port;
            self.remember(|settings| settings.hosting_port = port);
            if let Some(server) = inner.embedded.take() {
                server.shutdown().await;
            }
        }
        self.switch(None, false).await?;
        Ok(self.status().await)
    }

    /// Stops the built-in server (the app keeps reading its cache and queues what is written) or
    /// starts it again.
    pub async fn set_embedded_running(&self, run: bool) -> Result<AppStatus, CommandError> {
        if run {
            self.switch(None, false).await?;
        } else {
            let mut inner = self.inner.lock().await;
            if let Some(server) = inner.embedded.take() {
                server.shutdown().await;
            }
        }
        Ok(self.status().await)
    }

    /// Changes the remembered settings (reading them first, so other choices are kept).
    fn remember(&self, change: impl FnOnce(&mut Settings)) {
        let mut settings = Settings::load(&self.data_dir);
        change(&mut settings);
        if let Err(e) = settings.save(&self.data_dir) {
            tracing::warn!(error = %e, "could not save the settings");
        }
    }

    /// How the embedded server is used by others right now: whether it is hosted on the network,
    /// and how many people other than this app's signed-in user are connected to it. Closing the
    /// window and quitting depend on it ([`crate::closing`]).
    pub async fn hosted_use(&self) -> crate::closing::HostedUse {
        let inner = self.inner.lock().await;
        let Some(server) = &inner.embedded else {
            return crate::closing::HostedUse::default();
        };
        let me = inner.engine.as_ref().and_then(|e| e.me()).map(|u| u.id);
        crate::closing::HostedUse {
            hosting: inner.hosting_port.is_some(),
            others: server
                .connected_users()
                .into_iter()
                .filter(|u| Some(*u) != me)
                .count(),
        }
    }

    fn embedded_data_dir(&self) -> PathBuf {
        self.data_dir.join("server")
    }

    /// Stops syncing and the embedded server, if it runs (at app exit).
    pub async fn shutdown(&self) {
        if let Some(engine) = self.inner.lock().await.engine.as_ref() {
            engine.shutdown();
        }
        let embedded = self.inner.lock().await.embedded.take();
        if let Some(server) = embedded {
            server.shutdown().await;
        }
    }
}

fn embedded_failed(error: &EmbeddedError) -> CommandError {
    CommandError::new(
        "embedded_server_failed",
        format!("The built-in server could not start: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keychain_accounts_tell_servers_apart() {
        let dir = Path::new("/data/a");
        assert_eq!(
            ServerTarget::Embedded.keychain_account(dir),
            "embedded:/data/a"
        );
        let remote = ServerTarget::Remote(ServerAddress::parse("chat.example.com/").unwrap());
        assert_eq!(remote.keychain_account(dir), "http://chat.example.com");
    }

    #[tokio::test]
    async fn starts_embedded_by_default_and_switches_servers() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::start(dir.path().to_owned(), &Overrides::default()).await;
        let status = state.status().await;
        assert_eq!(status.mode, "embedded");
        assert_eq!(status.embedded.state, "running");
        assert_eq!(status.server_address, status.embedded.address);
        assert!(
            state
                .engine()
                .await
                .unwrap()
                .client()
                .health()
                .await
                .is_ok()
        );
        assert_eq!(status.connection, ConnectionState::SignedOut);

        // A typo is refused on the field, and the app stays where it was.
        let err = state.set_server(Some("ftp://nope")).await.unwrap_err();
        assert_eq!(err.code, "invalid_address");
        assert!(err.fields.unwrap().contains_key("server"));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = state
            .set_server(Some(&closed.to_string()))
            .await
            .unwrap_err();
        assert_eq!(err.code, "server_unreachable");
        assert_eq!(state.status().await.mode, "embedded");

        // Another real server: switch, remember, and come back to the embedded one.
        let other_dir = tempfile::tempdir().unwrap();
        let other = EmbeddedServer::start(other_dir.path(), crate::embedded::DEFAULT_BIND)
            .await
            .unwrap();
        let status = state
            .set_server(Some(other.address().as_str()))
            .await
            .unwrap();
        assert_eq!(status.mode, "remote");
        assert_eq!(
            status.server_address.as_deref(),
            Some(other.address().as_str())
        );
        assert_eq!(
            Settings::load(dir.path()).server.as_deref(),
            Some(other.address().as_str())
        );
        let status = state.set_server(None).await.unwrap();
        assert_eq!(status.mode, "embedded");
        assert_eq!(Settings::load(dir.path()).server, None);

        other.shutdown().await;
        state.shutdown().await;
        assert_eq!(state.status().await.embedded.state, "stopped");
    }

    #[tokio::test]
    async fn hosts_on_the_network_at_a_kept_port_and_stops_and_starts() {
        let dir = tempfile::tempdir().unwrap();
        // A port known to be free now, as if chosen on an earlier run.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let state = AppState::start(dir.path().to_owned(), &Overrides::default()).await;
        assert!(!state.status().await.embedded.hosting);
        Settings {
            hosting_port: Some(port),
            ..Settings::default()
        }
        .save(dir.path())
        .unwrap();
        let state = AppState::start(dir.path().to_owned(), &Overrides::default()).await;
        let status = state.status().await;
        assert!(status.embedded.hosting);
        let local = format!("http://127.0.0.1:{port}");
        assert_eq!(status.embedded.address.as_deref(), Some(local.as_str()));
        assert_eq!(status.server_address.as_deref(), Some(local.as_str()));
        assert!(
            status
                .embedded
                .lan_addresses
                .iter()
                .all(|a| a.ends_with(&format!(":{port}")))
        );
        // Listening on every interface, not just loopback.
        let taken = std::net::TcpListener::bind(("0.0.0.0", port));
        assert!(
            taken.is_err(),
            "the hosting port should be bound on 0.0.0.0"
        );

        // Stopped: the app keeps its engine (offline); started again at the same address.
        let status = state.set_embedded_running(false).await.unwrap();
        assert_eq!(status.embedded.state, "stopped");
        assert!(state.engine().await.is_ok());
        let status = state.set_embedded_running(true).await.unwrap();
        assert_eq!(status.embedded.state, "running");
        assert_eq!(status.embedded.address.as_deref(), Some(local.as_str()));

        // Back to this computer only: a loopback address, remembered.
        let status = state.set_hosting(false).await.unwrap();
        assert!(!status.embedded.hosting);
        assert!(status.embedded.lan_addresses.is_empty());
        assert_eq!(Settings::load(dir.path()).hosting_port, None);
        assert!(
            state
                .engine()
                .await
                .unwrap()
                .client()
                .health()
                .await
                .is_ok()
        );
        state.shutdown().await;
    }

    #[tokio::test]
    async fn environment_server_wins_and_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            server: Some("127.0.0.1:9".into()),
            ..Overrides::default()
        };
        let state = AppState::start(dir.path().to_owned(), &overrides).await;
        let status = state.status().await;
        assert_eq!(status.mode, "remote");
        assert_eq!(status.server_address.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            status.embedded.state, "stopped",
            "no embedded server when one is given"
        );
        assert!(!Settings::path(dir.path()).exists());
    }
}

/// True when `accounts` (the engine's data dir: one folder per server, one `<user>.sqlite3` cache
/// per account that signed in there) holds at least one account's cache.
fn has_account_cache(accounts: &Path) -> bool {
    let Ok(servers) = std::fs::read_dir(accounts) else {
        return false;
    };
    servers.flatten().any(|server| {
        std::fs::read_dir(server.path()).is_ok_and(|files| {
            files
                .flatten()
                .any(|f| f.path().extension().is_some_and(|e| e == "sqlite3"))
        })
    })
}

#[cfg(test)]
mod account_cache_tests {
    use super::has_account_cache;

    #[test]
    fn a_new_install_has_no_account_and_a_cache_file_makes_one() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = dir.path().join("accounts");
        assert!(!has_account_cache(&accounts), "no folder yet");
        std::fs::create_dir_all(accounts.join("127.0.0.1_7860")).unwrap();
        assert!(
            !has_account_cache(&accounts),
            "a server folder without a cache"
        );
        std::fs::write(accounts.join("127.0.0.1_7860").join("media.json"), b"{}").unwrap();
        assert!(
            !has_account_cache(&accounts),
            "other files are not accounts"
        );
        std::fs::write(accounts.join("127.0.0.1_7860").join("7.sqlite3"), b"").unwrap();
        assert!(has_account_cache(&accounts));
    }
}
