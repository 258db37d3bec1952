//! # jeco-server — the Jeco Chat server
//!
//! A library with a thin binary on top. The binary (`jeco-server serve`) and the desktop app's
//! embedded mode both run a [`RunningServer`] built from a [`Config`]; tests do the same on
//! `127.0.0.1:0`.
//!
//! Layers, top to bottom:
//! - [`api`] — axum routers under `/api/v1`, the OpenAPI document and the docs page. Parses and
//!   renders; decides nothing.
//! - [`gateway`] — the WebSocket endpoint: handshake, heartbeats, bounded outbound queues and the
//!   registry of live connections.
//! - [`services`] — the domain rules (accounts, sessions, lockout). All authorization lives here so
//!   REST and WebSocket share it.
//! - [`storage`] — a trait and its SQLite backend; the only place with SQL.
//!
//! Plus [`backup`] (`jeco-server backup` of a running server and `restore`), [`demo`] (`jeco-server admin seed-demo`), [`config`] (layered configuration, secrets redacted), [`clock`] (the injected wall clock every expiry reads, a manual one in tests), `connections` (the accept loop:
//! connection caps and the request-head deadline), [`names`] (the one validation of user-visible
//! names and reactions, used by services and by storage's uniqueness checks) and the signing
//! secret that is generated into the data directory on first start.
//!
//! ```no_run
//! # async fn run() -> Result<(), jeco_server::Error> {
//! let config = jeco_server::Config::with_data_dir("/tmp/jeco");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let server = jeco_server::RunningServer::start(config, listener).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod api;
pub mod backup;
pub mod clock;
pub mod cluster;
pub mod config;
mod connections;
pub mod demo;
mod error;
#[cfg(test)]
mod fuzz_cases;
pub mod gateway;
pub mod metrics;
pub mod names;
pub mod search_query;
mod server;
pub mod services;
mod signing_secret;
mod state;
pub mod storage;

pub use clock::{Clock, ManualClock};
pub use config::{Config, Secret};
pub use demo::seed_demo;
pub use error::Error;
pub use server::{RunningServer, media_usage, open_accounts, open_admin};
pub use state::AppState;
