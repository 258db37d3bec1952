//! A real server per test (`jeco_testkit::server`, shared by every suite of the workspace), with
//! what only these tests need on top: engines and clients of this crate pointed at it.

use jeco_client::{Client, Engine, FileTokenStore, TokenStore};
pub use jeco_testkit::server::TestServer;
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

pub async fn start() -> TestServer {
    TestServer::start().await
}

/// [`start`] with some settings changed.
pub async fn start_with(adjust: impl FnOnce(&mut jeco_server::Config)) -> TestServer {
    TestServer::start_with(adjust).await
}

/// This crate's clients of a [`TestServer`].
pub trait Clients {
    /// A client without stored tokens.
    fn client(&self) -> Client;
    /// A client keeping its tokens in `store`.
    fn client_with(&self, store: Arc<dyn TokenStore>) -> Client;
}

impl Clients for TestServer {
    fn client(&self) -> Client {
        Client::builder(self.base())
            .client_name("engine-test/1")
            .build()
            .unwrap()
    }

    fn client_with(&self, store: Arc<dyn TokenStore>) -> Client {
        Client::builder(self.base())
            .token_store(store)
            .build()
            .unwrap()
    }
}
