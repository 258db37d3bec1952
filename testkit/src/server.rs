//! One real `jeco-server` hosted in the test process, for every test suite of the workspace.
//!
//! Before this module the server's API tests, the engine tests, the e2e scenarios and the bench
//! scenarios each had their own `TestServer`, and they had drifted apart: one could restart on its
//! data, another could stop and come back on the same address, only one knew about PostgreSQL.
//! This is the union, so that what one suite learns to do (a backend, a restart that clients ride
//! through) every suite can do.
//!
//! The server is the real one ([`RunningServer`], the same code as `jeco-server serve`) on
//! `127.0.0.1:0`, with a temporary data directory that lives as long as the handle, or the
//! [`StoppedServer`] it becomes. Defaults are the server's own ([`Config::with_data_dir`]) except a
//! generous per-address sign-in budget (every test signs in from 127.0.0.1) and the backend, which
//! is SQLite unless `JECO_TEST_BACKEND=postgres` says otherwise ([`Backend::from_env`]).
//!
//! Starting is test support, not product code: a server that does not start panics with the
//! reason, which is the failure the test should report.

use crate::postgres;
use jeco_server::{Config, ManualClock, RunningServer, Secret};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use tempfile::TempDir;

/// The database behind the test servers of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The SQLite file in the server's data directory.
    Sqlite,
    /// A fresh database of the test process's own PostgreSQL cluster ([`crate::postgres`]).
    Postgres,
}

impl Backend {
    /// `JECO_TEST_BACKEND`: `postgres`, or `sqlite` (also when unset or empty). `./dev test` runs
    /// the server's API suite once per backend. Anything else is a mistake worth stopping on.
    pub fn from_env() -> Backend {
        match std::env::var("JECO_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("JECO_TEST_BACKEND must be sqlite or postgres, not {other:?}"),
        }
    }
}

/// The database URL of the server on data directory `dir` in this run: on PostgreSQL a fresh
/// database the first time a directory is named and the same one after (so the admin CLI, a
/// restarted server and a spawned binary on one directory share it, as they share a SQLite file);
/// `None` (the data directory's SQLite file) on SQLite.
pub fn database_for(dir: &Path) -> Option<String> {
    static BY_DIR: LazyLock<Mutex<HashMap<PathBuf, String>>> = LazyLock::new(Default::default);
    match Backend::from_env() {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let mut by_dir = BY_DIR.lock().unwrap_or_else(|e| e.into_inner());
            Some(
                by_dir
                    .entry(dir.to_path_buf())
                    .or_insert_with(postgres::fresh_database)
                    .clone(),
            )
        }
    }
}

/// The configuration a test server starts from: the server's defaults on `dir`, a sign-in budget
/// no test trips unless it lowers it, and the run's backend ([`database_for`]).
pub fn test_config(dir: &Path) -> Config {
    Config {
        database_url: database_for(dir).map(Secret::new),
        ..limits_config(dir)
    }
}

/// [`test_config`] on the data directory's SQLite file whatever the run's backend (a cluster
/// names its own PostgreSQL database; a server run elsewhere has its own).
pub fn limits_config(dir: &Path) -> Config {
    Config {
        auth_rate_per_minute: 100_000,
        auth_rate_burst: 100_000,
        ..Config::with_data_dir(dir)
    }
}

/// A real server in this process, or a handle on one run elsewhere ([`TestServer::external`]).
pub struct TestServer {
    server: Option<RunningServer>,
    addr: SocketAddr,
    base: String,
    config: Config,
    /// Owned temporary directory: the data directory, or for a cluster instance (whose data
    /// directory is the cluster's) its own scratch space.
    dir: TempDir,
    http: reqwest::Client,
    /// False for [`TestServer::external`]: nothing here to stop or start.
    hosted: bool,
}

impl TestServer {
    /// A server with the test defaults ([`test_config`]) on a fresh data directory.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// [`TestServer::start`] with some settings changed first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        TestServer::start_on(config, dir).await
    }

    /// [`TestServer::start_with`] on a [`ManualClock`] that the test moves forward past an expiry
    /// (of a token, a code, an invite, a signed URL, an upload) instead of waiting it out.
    pub async fn start_with_clock(adjust: impl FnOnce(&mut Config)) -> (TestServer, ManualClock) {
        let clock = ManualClock::new();
        let server = TestServer::start_with(|config| {
            config.clock = clock.clock();
            adjust(config);
        })
        .await;
        (server, clock)
    }

    /// A server on exactly `config` (whose data directory may be shared, as a cluster's is),
    /// keeping `dir` for as long as it lives.
    pub async fn start_on(config: Config, dir: TempDir) -> TestServer {
        let listener = bind("127.0.0.1:0".parse().expect("an address")).await;
        let (server, config) = run(config, listener).await;
        let addr = server.local_addr();
        TestServer {
            server: Some(server),
            addr,
            base: format!("http://{addr}"),
            config,
            dir,
            http: reqwest::Client::new(),
            hosted: true,
        }
    }

    /// A handle on a server this process does not host (the `jeco-server` binary started by a
    /// test, a proxy in front of instances) at `base`, with `dir` as its data directory: the same
    /// helpers, no [`TestServer::stop`] or [`TestServer::restart`].
    pub fn external(base: String, dir: TempDir) -> TestServer {
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("{base} is not http://<ip>:<port>: {e}"));
        TestServer {
            server: None,
            addr,
            config: limits_config(dir.path()),
            base,
            dir,
            http: reqwest::Client::new(),
            hosted: false,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` (starting with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The gateway's WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("{}/api/v1/ws", self.base.replacen("http", "ws", 1))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data directory (the dev mailer writes into `mail/` under it).
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The temporary directory this handle owns: the data directory, except for a cluster
    /// instance, where it is the instance's own scratch space.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration to run with from the next [`TestServer::restart`] on (another database,
    /// say, on the same data directory).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// An HTTP client for this server (one per handle: a client's pooled connections belong to
    /// the runtime of the test that made it).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The in-process server, while it runs.
    pub fn running(&self) -> Option<&RunningServer> {
        self.server.as_ref()
    }

    /// Where the in-process server serves `/metrics`, if it does (`metrics_addr`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().and_then(RunningServer::metrics_addr)
    }

    /// Graceful stop, keeping the handle (and the data): WebSockets close with 1001.
    pub async fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Stops and starts again on the same data directory and the same address, so clients that
    /// keep the address reconnect by themselves.
    pub async fn restart(&mut self) {
        assert!(
            self.hosted,
            "restart of a server this process does not host"
        );
        self.shutdown().await;
        let listener = bind(self.addr).await;
        let (server, config) = run(self.config.clone(), listener).await;
        self.config = config;
        self.server = Some(server);
    }

    /// Stops the server, keeping its data and address for [`StoppedServer::start`] (clients see
    /// it go away).
    pub async fn stop(mut self) -> StoppedServer {
        assert!(self.hosted, "stop of a server this process does not host");
        self.shutdown().await;
        StoppedServer {
            addr: self.addr,
            base: self.base,
            config: self.config,
            dir: self.dir,
        }
    }
}

/// A server that was stopped, with its data and address kept for starting it again.
pub struct StoppedServer {
    addr: SocketAddr,
    base: String,
    config: Config,
    dir: TempDir,
}

impl StoppedServer {
    /// `http://127.0.0.1:<port>`, where it will be again.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Starts it again at the same address on the same data (clients reconnect by themselves).
    pub async fn start(self) -> TestServer {
        let listener = bind(self.addr).await;
        let (server, config) = run(self.config, listener).await;
        TestServer {
            server: Some(server),
            addr: self.addr,
            base: self.base,
            config,
            dir: self.dir,
            http: reqwest::Client::new(),
            hosted: true,
        }
    }
}

async fn bind(addr: SocketAddr) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("binding {addr} for a test server: {e}"))
}

/// Starts `config` on `listener`; the config is returned with `bind` set to the address it got.
async fn run(mut config: Config, listener: tokio::net::TcpListener) -> (RunningServer, Config) {
    config.bind = listener
        .local_addr()
        .expect("a bound listener has an address");
    let server = RunningServer::start(config.clone(), listener)
        .await
        .unwrap_or_else(|e| panic!("test server on {}: {e}", config.data_dir.display()));
    (server, config)
}
