//! Shared setup for the sync scenarios.

use jeco_client::{Engine, FileTokenStore, Timing};
use jeco_shared::ConversationId;
use jeco_shared::messages::Message;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const PASSWORD: &str = "a long enough password";
/// Generous: CI machines are slow, and every wait ends as soon as its condition holds.
pub const WAIT: Duration = Duration::from_secs(30);

/// Separate data directories, as separate installations would have.
pub struct Dirs {
    pub root: tempfile::TempDir,
    pub server: PathBuf,
    pub alice: PathBuf,
    pub bob: PathBuf,
}

impl Dirs {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().to_owned();
        Self {
            server: p.join("server"),
            alice: p.join("alice"),
            bob: p.join("bob"),
            root,
        }
    }
}

pub fn token_store(dir: &Path) -> Arc<FileTokenStore> {
    Arc::new(FileTokenStore::new(dir.join("tokens.json")))
}

/// An engine with short heartbeats and backoff, so outages are noticed in test time.
pub fn engine(url: &str, dir: &Path) -> Engine {
    engine_with(url, dir, |b| b)
}

/// [`engine`] with more builder settings.
pub fn engine_with(
    url: &str,
    dir: &Path,
    more: impl FnOnce(jeco_client::EngineBuilder) -> jeco_client::EngineBuilder,
) -> Engine {
    more(Engine::builder(url))
        .data_dir(dir)
        .token_store(token_store(dir))
        .client_name("sync-test/1")
        .timing(Timing {
            ping_interval: Duration::from_millis(300),
            pong_timeout: Duration::from_millis(1500),
            handshake_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(800),
        })
        .build()
        .unwrap()
}

/// Alice and Bob, both live, with a direct conversation.
pub async fn two_users_in_a_dm(url: &str, dirs: &Dirs) -> (Engine, Engine, ConversationId) {
    let alice = engine(url, &dirs.alice);
    let bob = engine(url, &dirs.bob);
    let dm = dm_between(&alice, &bob).await;
    (alice, bob, dm)
}

/// Registers `alice` and `bob` on their engines (which may reach the server by different ways),
/// waits until both are live, and opens their direct conversation; both have it when this returns.
pub async fn dm_between(alice: &Engine, bob: &Engine) -> ConversationId {
    alice.register("alice", PASSWORD, None).await.unwrap();
    bob.register("bob", PASSWORD, None).await.unwrap();
    alice.wait_live(WAIT).await.unwrap();
    bob.wait_live(WAIT).await.unwrap();
    let bob_user = alice.find_user("bob").await.unwrap().unwrap();
    let dm = alice.open_direct(bob_user.id).await.unwrap().id;
    let b = bob.clone();
    eventually(move || b.conversation(dm).unwrap().is_some()).await;
    dm
}

/// A black-holing proxy in front of a server process (see `jeco_e2e::proxy`).
pub async fn proxy_for(server: &jeco_e2e::process::ServerProcess) -> jeco_e2e::proxy::Proxy {
    let addr: std::net::SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    jeco_e2e::proxy::Proxy::start(addr).await
}

/// Texts of the cached timeline (deleted messages as empty strings), oldest first.
pub fn cached_texts(engine: &Engine, id: ConversationId) -> Vec<String> {
    engine
        .timeline(id, None, 500)
        .unwrap()
        .items
        .iter()
        .map(|i| i.message.text.clone())
        .collect()
}

/// The server's history of a conversation, oldest first.
pub async fn server_messages(engine: &Engine, id: ConversationId) -> Vec<Message> {
    let token = engine.client().access_token().await.unwrap();
    engine
        .client()
        .api()
        .messages(&token, id, None, None, 200)
        .await
        .unwrap()
        .items
}

pub async fn server_texts(engine: &Engine, id: ConversationId) -> Vec<String> {
    server_messages(engine, id)
        .await
        .into_iter()
        .filter(|m| !m.deleted)
        .map(|m| m.text)
        .collect()
}

/// Waits until `f` holds (polling), failing after [`WAIT`].
pub async fn eventually(f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `jeco` and asserts it succeeded; returns its stdout.
pub fn jeco_ok(dir: &Path, url: &str, args: &[&str]) -> String {
    let run = jeco_e2e::process::jeco(dir, url, args, None);
    assert!(run.success, "jeco {args:?} failed: {run:?}");
    run.stdout
}

/// Ends a session from another client that holds its tokens.
pub async fn other_logout(other: &jeco_client::Client, tokens: &jeco_client::StoredTokens) {
    other
        .api()
        .logout(&tokens.access_token)
        .await
        .expect("the server ends the session");
}
