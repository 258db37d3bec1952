//! A real server per test, with its own temporary data directory.

use jeco_client::{Client, Engine, FileTokenStore, TokenStore};
use jeco_server::{Config, RunningServer};
use std::path::Path;
use std::sync::Arc;

pub const PASSWORD: &str = "a long enough password";

/// An engine on `url` keeping its cache and its tokens (in a file) under `dir`: a restart is a
/// second engine on the same `dir`.
pub fn engine(url: &str, dir: &Path) -> Engine {
    Engine::builder(url)
        .data_dir(dir)
        .token_store(Arc::new(FileTokenStore::new(dir.join("tokens.json"))))
        .client_name("engine-test/1")
        .build()
        .unwrap()
}

pub struct TestServer {
    pub server: RunningServer,
    pub url: String,
    _data: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// [`start`] with some settings changed.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::with_data_dir(data.path());
    config.bind = listener.local_addr().unwrap();
    adjust(&mut config);
    let server = RunningServer::start(config, listener).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    TestServer {
        server,
        url,
        _data: data,
    }
}

impl TestServer {
    /// The server's data directory (the dev mailer writes into `mail/` under it).
    pub fn data_dir(&self) -> &Path {
        self._data.path()
    }

    pub fn client(&self) -> Client {
        Client::builder(&self.url)
            .client_name("engine-test/1")
            .build()
            .unwrap()
    }

    pub fn client_with(&self, store: Arc<dyn TokenStore>) -> Client {
        Client::builder(&self.url)
            .token_store(store)
            .build()
            .unwrap()
    }
}

/// A server that was stopped, with its data and address kept for starting it again.
pub struct StoppedServer {
    addr: std::net::SocketAddr,
    url: String,
    data: tempfile::TempDir,
}

impl TestServer {
    /// Stops the server, keeping its data and address (clients see it go away).
    pub async fn stop(self) -> StoppedServer {
        let addr = self.server.local_addr();
        self.server.shutdown().await;
        StoppedServer {
            addr,
            url: self.url,
            data: self._data,
        }
    }
}

impl StoppedServer {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts it again at the same address on the same data (clients reconnect by themselves).
    pub async fn start(self) -> TestServer {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let mut config = Config::with_data_dir(self.data.path());
        config.bind = self.addr;
        let server = RunningServer::start(config, listener).await.unwrap();
        TestServer {
            server,
            url: self.url,
            _data: self.data,
        }
    }
}
