//! A real server per test, with its own temporary data directory.

use jeco_client::{Client, TokenStore};
use jeco_server::{Config, RunningServer};
use std::sync::Arc;

pub const PASSWORD: &str = "a long enough password";

pub struct TestServer {
    pub server: RunningServer,
    pub url: String,
    _data: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::with_data_dir(data.path());
    config.bind = listener.local_addr().unwrap();
    let server = RunningServer::start(config, listener).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    TestServer {
        server,
        url,
        _data: data,
    }
}

impl TestServer {
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
