//! A real server per test (`jeco_testkit::server`, shared by every suite of the workspace), with
//! what only these tests need on top: engines and clients of this crate pointed at it.

use jeco_client::ConnectionState;
use jeco_client::{Client, Engine, FileTokenStore, TokenStore};
pub use jeco_testkit::server::TestServer;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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

/// How long the waits below give a condition before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits (polling) until `f` holds; fails the test after [`PATIENCE`].
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not reached within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `engine` reads as signed out (its session ended on the server).
pub async fn eventually_signed_out(engine: &Engine) {
    eventually("signed out", || {
        engine.connection_state() == ConnectionState::SignedOut
    })
    .await;
}

/// Ada and Bob, each signed up on their own engine (data under `dir`) and live.
pub async fn ada_and_bob(server: &TestServer, dir: &Path) -> (Engine, Engine) {
    let ada = engine(server.base(), &dir.join("ada"));
    let bob = engine(server.base(), &dir.join("bob"));
    ada.register("ada", PASSWORD, None).await.unwrap();
    bob.register("bob", PASSWORD, None).await.unwrap();
    ada.wait_live(PATIENCE).await.unwrap();
    bob.wait_live(PATIENCE).await.unwrap();
    (ada, bob)
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
