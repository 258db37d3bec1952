//! # jeco-client — the Jeco Chat client engine
//!
//! Everything a Jeco client does that is not drawing pixels lives here, so the desktop app, the CLI,
//! bots and tests share one implementation of the protocol:
//!
//! - [`api`] — a typed HTTP client for the REST API. Error bodies become [`api::ApiError`] carrying
//!   the server's [`jeco_shared::ErrorCode`], so callers switch on codes, never on prose.
//! - [`tokens`] — where the access/refresh token pair is kept between runs: the [`tokens::TokenStore`]
//!   trait, with an in-memory store (tests) and a `0600` file store (CLI); the desktop app adds an OS
//!   keychain store.
//! - [`sync`] — the WebSocket handshake (hello → ready, typed refusals) and frame helpers.
//! - [`Client`] — signs in and keeps tokens fresh (refresh is serialized, because a refresh token
//!   is single-use and a second use revokes the whole session).
//! - [`Engine`] — the offline-first client: the cache, the outbox, and the sync loop, whose
//!   decisions are a state machine of explicit steps (see `engine/sync_state`).
//!
//! The engine never blocks the caller's thread on I/O: everything is `async` on tokio.

#![forbid(unsafe_code)]

pub mod address;
pub mod api;
pub mod cache;
mod engine;
#[cfg(test)]
mod fixtures;
pub mod outbox;
mod session;
pub mod sync;
pub mod tokens;

pub use address::ServerAddress;
pub use api::{ApiClient, ApiError};
pub use engine::{
    AVATAR_FILE_MAX, ConnectionState, Engine, EngineBuilder, EngineError, EngineEvent, FileToSend,
    ItemId, ItemState, SearchResult, Thread, ThreadEntry, Timeline, TimelineItem, Timing,
    TwoFactorOff, Viewing, WeakEngine, WindowBounds, WindowDiff, apply_window_diffs,
    server_dir_name,
};
pub use outbox::{MessageRef, OutboxItem, OutboxState};
pub use session::{Client, ClientBuilder, ClientError, SignInStep, TwoFactorDone, TwoFactorProof};
pub use sync::{ReadyInfo, SyncError};
pub use tokens::{FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore, TokenStoreError};

/// The name and version this crate reports to servers unless the embedding app sets its own.
pub const DEFAULT_CLIENT_NAME: &str = concat!("jeco-client/", env!("CARGO_PKG_VERSION"));
