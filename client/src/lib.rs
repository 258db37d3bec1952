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
//! - [`sync`] — the WebSocket connection: hello → ready handshake and heartbeats, the start of the
//!   sync state machine (catch-up, resume and backoff come with messaging).
//! - [`Client`] — the engine that ties them together: signs in, keeps tokens fresh (refresh is
//!   serialized, because a refresh token is single-use and a second use revokes the whole session),
//!   and opens the sync connection.
//!
//! The engine never blocks the caller's thread on I/O: everything is `async` on tokio.

#![forbid(unsafe_code)]

pub mod address;
pub mod api;
pub mod cache;
mod engine;
pub mod outbox;
mod session;
pub mod sync;
pub mod tokens;

pub use address::ServerAddress;
pub use api::{ApiClient, ApiError};
pub use engine::{
    AVATAR_FILE_MAX, ConnectionState, Engine, EngineBuilder, EngineError, EngineEvent, FileToSend,
    ItemState, SearchResult, Thread, ThreadEntry, Timeline, TimelineItem, Timing, TwoFactorOff,
    server_dir_name,
};
pub use outbox::{MessageRef, OutboxItem, OutboxState};
pub use session::{Client, ClientBuilder, ClientError, SignInStep, TwoFactorDone, TwoFactorProof};
pub use sync::{SyncConnection, SyncError, SyncEvent, SyncState};
pub use tokens::{FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore, TokenStoreError};

/// The name and version this crate reports to servers unless the embedding app sets its own.
pub const DEFAULT_CLIENT_NAME: &str = concat!("jeco-client/", env!("CARGO_PKG_VERSION"));
