//! [`Engine`]: the headless chat client the desktop app, the `jeco` CLI and bots are built on.
//!
//! The engine owns everything between the UI and the server, so that no view ever talks to the
//! network and every client behaves alike:
//!
//! - the **session** ([`crate::Client`]): sign in, tokens in a [`TokenStore`], refresh before
//!   expiry and on `token_expired`; a revoked session becomes [`ConnectionState::SignedOut`] with
//!   the cache kept;
//! - the **local cache** ([`Cache`]): one SQLite file per account and server, opened before any
//!   network I/O, so a client started offline shows its conversations and timelines at once;
//! - the **sync loop** ([`sync_loop`]): one WebSocket, states connecting → authenticating →
//!   catching up → live → waiting to retry, resume from the cached positions, jittered capped
//!   backoff, heartbeat-based dead-link detection, explicit resync; its decisions are a state
//!   machine without I/O ([`sync_state`]) that answers each frame with the steps to take;
//! - the **outbox** ([`crate::outbox`], delivered by [`deliver`]): every change made here is
//!   persisted first and delivered exactly once, in order within its conversation, when the
//!   connection is live; each conversation's queue goes at its own pace, a refusal stops only its
//!   own queue, and uploads run beside the queues.
//!
//! The UI reads state from the engine (which reads the cache) and listens to [`EngineEvent`]s,
//! which say *what* changed so it can re-read just that. Events are hints, the cache is the truth:
//! a listener that falls behind (`RecvError::Lagged`) re-reads everything and misses nothing.

mod account;
mod admin;
mod deliver;
mod directory;
mod inbox;
mod media;
mod network;
mod people;
mod pins;
mod prefs;
mod sync_loop;
mod sync_state;
mod threads;
mod two_factor;
mod viewing;
mod window;

pub use threads::{Thread, ThreadEntry};
pub use two_factor::TwoFactorOff;
pub use viewing::Viewing;
pub use window::{WindowBounds, WindowDiff, apply as apply_window_diffs};

use crate::cache::Enqueued;
use crate::cache::{Applied, Cache, CacheError, Draft, LocalHit};
use crate::outbox::{MessageRef, OutboxItem, OutboxOp, OutboxState, new_client_id};
use crate::session::{Client, ClientError};
use crate::tokens::TokenStore;
use jeco_shared::conversations::{Conversation, CreateGroupRequest, OpenDirectRequest};
use jeco_shared::endpoints::{CreateGroup, Endpoint, JoinChannel, OpenDirect};
use jeco_shared::events::PresenceStatus;
use jeco_shared::limits::Limits;
use jeco_shared::messages::Message;
use jeco_shared::notifications::Notification;
use jeco_shared::search::SnippetPart;
use jeco_shared::search::query::SearchQuery;
use jeco_shared::teams::Team;
use jeco_shared::users::User;
use jeco_shared::{ConversationId, ErrorCode, MessageId, UserId};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc, watch};

pub use media::FileToSend;
pub use people::AVATAR_FILE_MAX;
pub use sync_loop::Timing;

/// Where the sync connection is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ConnectionState {
    /// No session: sign in (or the session was revoked; the cache is kept).
    SignedOut,
    /// Opening the socket.
    Connecting,
    /// Socket open, waiting for `ready`.
    Authenticating,
    /// Ready; applying what happened while away.
    CatchingUp,
    /// Up to date; changes arrive as they happen and the outbox is being delivered.
    Live,
    /// Offline: the last attempt failed; the next one starts in `retry_in_ms` (or at once after
    /// [`Engine::reconnect_now`]).
    WaitingToRetry {
        attempt: u32,
        retry_in_ms: u64,
        reason: String,
    },
    /// The server speaks another protocol version; the engine will not retry. Upgrade.
    Incompatible { reason: String },
}

impl ConnectionState {
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Live)
    }
}

/// What changed, for the UI to re-read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EngineEvent {
    Connection(ConnectionState),
    /// The conversation list (membership, names, order, unread counts) changed.
    ConversationsChanged,
    /// Messages of a conversation changed: these `seq`s (new, edited, deleted, reacted…); empty
    /// when only local echoes (pending sends) changed.
    TimelineChanged {
        conversation_id: ConversationId,
        seqs: Vec<i64>,
    },
    /// Who is typing in a conversation now.
    Typing {
        conversation_id: ConversationId,
        user_ids: Vec<UserId>,
    },
    Presence {
        user_id: UserId,
        status: PresenceStatus,
    },
    ReadReceipt {
        conversation_id: ConversationId,
        user_id: UserId,
        read_seq: i64,
    },
    Notification(Notification),
    /// An outbox item was queued or changed state.
    Outbox(OutboxItem),
    /// Upload progress of a queued send's file (`file` is its index among the attachments).
    UploadProgress {
        outbox_id: i64,
        conversation_id: ConversationId,
        file: u32,
        sent: u64,
        total: u64,
    },
    /// An outbox item is gone: delivered (`delivered: true`), cancelled or discarded.
    OutboxRemoved {
        id: i64,
        conversation_id: ConversationId,
        delivered: bool,
    },
    TeamsChanged,
    /// The thread of `root` was shown, so its replies so far are read on this device (the
    /// Threads view's unread counts changed).
    ThreadRead {
        conversation_id: ConversationId,
        root: MessageId,
    },
    /// The open timeline window of a conversation changed: apply `diffs` in order
    /// ([`window`](Engine::open_window)).
    Window {
        conversation_id: ConversationId,
        diffs: Vec<WindowDiff>,
    },
}

/// How a message stands, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ItemState {
    /// Confirmed by the server, no local change pending.
    Synced,
    /// A send, edit, delete or reaction made here is waiting for the server.
    Pending,
    /// The server refused a change made here: retry or discard outbox item `outbox_id`.
    Failed {
        outbox_id: i64,
        code: ErrorCode,
        message: String,
    },
    /// A change made here waits behind an earlier one in its conversation that the server
    /// refused (outbox item `behind`, shown as failed): it goes once that one is retried, edited
    /// or discarded. Order within a conversation is kept, so nothing overtakes a refusal.
    Waiting { behind: i64 },
}

/// Which message a timeline item is: one the server confirmed, or one still being sent from here.
/// A view tells them apart by this, never by looking for a `0` in the message's `id` or `seq`
/// (a message still being sent has neither yet; its `Message` carries `0` in both).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ItemId {
    /// Confirmed by the server: its id, and its place in the conversation.
    Sent { id: MessageId, seq: i64 },
    /// Still being sent from here (queued, in flight, waiting or refused): the `client_id` of its
    /// send, which edits, deletes and reactions made meanwhile refer to.
    Local { client_id: String },
}

/// One entry of a timeline: a message as the server has it with this client's unconfirmed changes
/// laid over it, or a message still being sent (`id` says which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimelineItem {
    pub id: ItemId,
    pub message: Message,
    pub state: ItemState,
}

impl TimelineItem {
    /// A message the server confirmed, as it stands (changes made here are laid over later).
    pub(crate) fn sent(message: Message) -> Self {
        Self {
            id: ItemId::Sent {
                id: message.id,
                seq: message.seq,
            },
            message,
            state: ItemState::Synced,
        }
    }

    /// How to refer to this message in edits, deletes and reactions.
    pub fn reference(&self) -> MessageRef {
        match &self.id {
            ItemId::Sent { id, .. } => MessageRef::Id(*id),
            ItemId::Local { client_id } => MessageRef::Pending(client_id.clone()),
        }
    }

    /// The message's place in its conversation, once the server confirmed it.
    pub fn seq(&self) -> Option<i64> {
        match self.id {
            ItemId::Sent { seq, .. } => Some(seq),
            ItemId::Local { .. } => None,
        }
    }
}

/// A page of a timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Timeline {
    pub items: Vec<TimelineItem>,
    /// Older messages exist that are not in this page (in the cache or on the server).
    pub has_more_before: bool,
}

/// A search result: from the cache, the server, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchResult {
    pub message: Message,
    pub snippet: Vec<SnippetPart>,
    /// Found in the local cache (instant, works offline).
    pub local: bool,
}

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("not signed in")]
    NotSignedIn,
    #[error("{0}")]
    Invalid(String),
    #[error("no such message here")]
    UnknownMessage,
    #[error("no such conversation in the cache")]
    UnknownConversation,
    #[error("timed out waiting: {0}")]
    Timeout(&'static str),
    /// A search query that does not parse or passes a limit (the same rules as the server's).
    #[error("invalid search query: {0}")]
    InvalidQuery(#[from] jeco_shared::search::query::QueryError),
}

impl EngineError {
    /// The protocol error code behind this failure, for UIs that act on codes.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Client(e) => e.code().unwrap_or(ErrorCode::Internal),
            Self::NotSignedIn => ErrorCode::Unauthorized,
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::UnknownMessage | Self::UnknownConversation => ErrorCode::NotFound,
            Self::Cache(_) | Self::Timeout(_) => ErrorCode::Internal,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
        }
    }
}

impl From<crate::api::ApiError> for EngineError {
    fn from(e: crate::api::ApiError) -> Self {
        Self::Client(ClientError::Api(e))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Builds an [`Engine`].
pub struct EngineBuilder {
    server: String,
    data_dir: Option<PathBuf>,
    tokens: Option<Arc<dyn TokenStore>>,
    client_name: String,
    timing: Timing,
    server_key: Option<String>,
    media_cache_bytes: u64,
    upload_chunk_bytes: usize,
    window_bounds: WindowBounds,
}

impl EngineBuilder {
    /// Where caches live: `<data_dir>/<server>/<user id>.sqlite3`. Without it the cache is in
    /// memory and gone when the engine is.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The name of this server's directory under the data dir, instead of one made from its
    /// address. For a server whose address changes while it stays the same server (the desktop
    /// app's embedded server takes a free port on every start).
    pub fn server_key(mut self, key: impl Into<String>) -> Self {
        self.server_key = Some(key.into());
        self
    }

    /// Where the session's tokens are kept (the OS keychain in the desktop app).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.tokens = Some(store);
        self
    }

    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// The most downloaded media kept on disk (default 512 MiB); least recently used files go
    /// first.
    pub fn media_cache_bytes(mut self, bytes: u64) -> Self {
        self.media_cache_bytes = bytes;
        self
    }

    /// Size of each upload request (default 1 MiB): what is re-sent at most after a disconnect.
    pub fn upload_chunk_bytes(mut self, bytes: usize) -> Self {
        self.upload_chunk_bytes = bytes.max(1024);
        self
    }

    /// How big timeline windows are (default: pages of 50, 150 kept while following).
    pub fn window_bounds(mut self, bounds: WindowBounds) -> Self {
        self.window_bounds = bounds;
        self
    }

    /// Heartbeat, dead-link and backoff timing (tests shorten them).
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Builds the engine. When a session is saved, its cache is opened at once (no network
    /// needed) and syncing starts in the background.
    pub fn build(self) -> Result<Engine> {
        let mut client = Client::builder(self.server).client_name(self.client_name.clone());
        if let Some(tokens) = self.tokens {
            client = client.token_store(tokens);
        }
        let client = client.build()?;
        let (events, _) = broadcast::channel(1024);
        let (state, _) = watch::channel(ConnectionState::SignedOut);
        let inner = Arc::new(Inner {
            account_dir: self.data_dir.map(|d| {
                d.join(server_dir_name(
                    self.server_key
                        .as_deref()
                        .unwrap_or(client.server().as_str()),
                ))
            }),
            client,
            client_name: self.client_name,
            timing: self.timing,
            media_cache_bytes: self.media_cache_bytes,
            upload_chunk_bytes: self.upload_chunk_bytes,
            window_bounds: self.window_bounds,
            windows: Mutex::new(window::Windows::new()),
            events,
            state,
            account: Mutex::new(None),
            wake: Arc::new(Notify::new()),
            outbox_wake: Arc::new(Notify::new()),
            socket: Mutex::new(None),
            viewing: Mutex::new(Viewing::default()),
        });
        let engine = Engine { inner };
        // A token store that cannot be read now (a locked keychain) is not fatal: the engine
        // starts signed out, and signing in reports the store's error where a person sees it.
        let has_session = engine.inner.client.has_session().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the saved session; starting signed out");
            false
        });
        if has_session && let Some(user) = engine.last_account()? {
            engine.open_account(user)?;
        }
        Ok(engine)
    }
}

/// A signed-in account: its cache and the tasks syncing it.
pub(crate) struct Account {
    pub(crate) me: User,
    pub(crate) cache: Arc<Cache>,
    stop: watch::Sender<bool>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) client_name: String,
    pub(crate) timing: Timing,
    pub(crate) media_cache_bytes: u64,
    pub(crate) upload_chunk_bytes: usize,
    account_dir: Option<PathBuf>,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    pub(crate) state: watch::Sender<ConnectionState>,
    account: Mutex<Option<Account>>,
    /// Wakes the sync loop from its backoff (network came back, the app was asked to retry).
    pub(crate) wake: Arc<Notify>,
    /// Wakes the delivery task (something was queued).
    pub(crate) outbox_wake: Arc<Notify>,
    /// Frames for the live socket (typing, presence), when there is one.
    pub(crate) socket: Mutex<Option<mpsc::Sender<jeco_shared::ws::ClientFrame>>>,
    /// What the window shows (see [`viewing`]): what is read follows from it.
    pub(crate) viewing: Mutex<Viewing>,
    pub(crate) window_bounds: WindowBounds,
    /// The open timeline windows (see [`window`]).
    pub(crate) windows: Mutex<window::Windows>,
}

impl Inner {
    /// Where the signed-in user is kept between runs, so a restart opens the account (and shows
    /// the user) before any network.
    fn last_account_file(&self) -> Option<PathBuf> {
        self.account_dir
            .as_ref()
            .map(|d| d.join("last-account.json"))
    }

    fn write_last_account(&self, me: &User) {
        if let Some(path) = self.last_account_file() {
            let write = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
                .and_then(|_| std::fs::write(&path, serde_json::to_vec(me).unwrap_or_default()));
            if let Err(e) = write {
                tracing::warn!(error = %e, "cannot remember the signed-in account");
            }
        }
    }

    /// The signed-in user as the server last described them (a profile edit's answer, or `ready`
    /// on every connect): kept in the account, its cache and the last-account file. Before this,
    /// a restart showed the profile as it was at sign-in, and a profile dialog filled from that
    /// stale copy erased the status line on save.
    pub(crate) fn remember_me(&self, me: &User) -> Result<()> {
        let cache = {
            let mut guard = self.account.lock().unwrap_or_else(|p| p.into_inner());
            let Some(account) = guard.as_mut().filter(|a| a.me.id == me.id) else {
                return Ok(());
            };
            if account.me == *me {
                return Ok(());
            }
            account.me = me.clone();
            account.cache.clone()
        };
        cache.set_me(me)?;
        cache.upsert_users(std::slice::from_ref(me))?;
        self.write_last_account(me);
        self.emit(EngineEvent::ConversationsChanged);
        Ok(())
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        // No subscriber is fine: the cache holds the state.
        let _ = self.events.send(event);
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        let changed = self.state.send_if_modified(|s| {
            if *s == state {
                false
            } else {
                *s = state.clone();
                true
            }
        });
        if changed {
            tracing::debug!(?state, "connection state");
            self.emit(EngineEvent::Connection(state));
        }
    }
}

/// The engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// An [`Engine`] that does not keep it alive (for a task that should end with it).
#[derive(Clone, Debug)]
pub struct WeakEngine {
    inner: std::sync::Weak<Inner>,
}

impl WeakEngine {
    /// The engine, while it still exists.
    pub fn upgrade(&self) -> Option<Engine> {
        self.inner.upgrade().map(|inner| Engine { inner })
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("server", &self.inner.client.server().as_str())
            .field("state", &*self.inner.state.borrow())
            .finish()
    }
}

/// The directory name for a server: its address with everything but letters and digits made `_`.
/// Other files kept per server (the CLI's token file) go in the same directory.
pub fn server_dir_name(address: &str) -> String {
    let name: String = address
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    name.trim_matches('_').to_owned()
}

impl Engine {
    /// Starts building an engine for the server at `server` (as a person would type it).
    pub fn builder(server: impl Into<String>) -> EngineBuilder {
        EngineBuilder {
            server: server.into(),
            data_dir: None,
            tokens: None,
            client_name: crate::DEFAULT_CLIENT_NAME.to_owned(),
            timing: Timing::default(),
            server_key: None,
            media_cache_bytes: 512 * 1024 * 1024,
            upload_chunk_bytes: 1024 * 1024,
            window_bounds: WindowBounds::default(),
        }
    }

    /// The session (HTTP API and tokens) this engine runs on.
    /// A handle that does not keep the engine alive.
    pub fn downgrade(&self) -> WeakEngine {
        WeakEngine {
            inner: Arc::downgrade(&self.inner),
        }
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.inner.state.borrow().clone()
    }

    /// A receiver that sees every connection state change.
    pub fn watch_connection(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state.subscribe()
    }

    /// Waits until the connection state satisfies `f`, or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        f: impl Fn(&ConnectionState) -> bool,
    ) -> Result<ConnectionState> {
        let mut rx = self.inner.state.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                {
                    let s = rx.borrow_and_update();
                    if f(&s) {
                        return Some(s.clone());
                    }
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match waited {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(EngineError::Timeout("the engine stopped")),
            Err(_) => Err(EngineError::Timeout("connection state")),
        }
    }

    /// Waits until the connection is live.
    pub async fn wait_live(&self, timeout: Duration) -> Result<()> {
        self.wait_for(timeout, ConnectionState::is_live)
            .await
            .map(drop)
    }

    /// Retry connecting now instead of waiting out the backoff (the network came back, the
    /// machine woke up, the person clicked "retry").
    pub fn reconnect_now(&self) {
        self.inner.wake.notify_one();
    }

    /// The signed-in user, as last seen (works offline).
    pub fn me(&self) -> Option<User> {
        self.with_account(|a| a.me.clone())
    }

    /// A message's text as sent: its trailing white space trimmed, refused when empty or longer
    /// than the server allows.
    fn check_text(&self, text: &str) -> Result<String> {
        let trimmed = text.trim_end();
        if trimmed.trim().is_empty() {
            return Err(EngineError::Invalid("a message cannot be empty".into()));
        }
        let chars = trimmed.chars().count();
        let max = self.limits().message_chars_max as usize;
        if chars > max {
            return Err(EngineError::Invalid(format!(
                "a message is at most {max} characters ({chars} given)"
            )));
        }
        Ok(trimmed.to_owned())
    }

    /// The limits of the server signed in to, as it last said in a `ready` frame (works
    /// offline); the protocol's defaults ([`jeco_shared::limits::LIMITS`]) before the first
    /// connection, or signed out.
    pub fn limits(&self) -> Limits {
        self.with_account(|a| a.cache.clone())
            .and_then(|cache| cache.limits().ok().flatten())
            .unwrap_or_default()
    }

    fn with_account<T>(&self, f: impl FnOnce(&Account) -> T) -> Option<T> {
        let guard = self.inner.account.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(f)
    }

    fn account(&self) -> Result<(User, Arc<Cache>)> {
        self.with_account(|a| (a.me.clone(), a.cache.clone()))
            .ok_or(EngineError::NotSignedIn)
    }

    /// The cache of the signed-in account.
    pub fn cache(&self) -> Result<Arc<Cache>> {
        Ok(self.account()?.1)
    }

    fn last_account_file(&self) -> Option<PathBuf> {
        self.inner.last_account_file()
    }

    fn last_account(&self) -> Result<Option<User>> {
        let Some(path) = self.last_account_file() else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(_) => Ok(None),
        }
    }

    fn cache_path(&self, user: UserId) -> Option<PathBuf> {
        self.inner
            .account_dir
            .as_ref()
            .map(|d| d.join(format!("{}.sqlite3", user.0)))
    }

    /// Opens `user`'s cache and starts syncing it.
    fn open_account(&self, user: User) -> Result<()> {
        let cache = match self.cache_path(user.id) {
            Some(path) => Cache::open(&path)?,
            None => Cache::in_memory()?,
        };
        cache.set_me(&user)?;
        self.inner.write_last_account(&user);
        let cache = Arc::new(cache);
        let (stop, stop_rx) = watch::channel(false);
        {
            let mut guard = self.inner.account.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(old) = guard.take() {
                let _ = old.stop.send(true);
            }
            *guard = Some(Account {
                me: user.clone(),
                cache: cache.clone(),
                stop,
            });
        }
        self.inner.set_state(ConnectionState::Connecting);
        tokio::spawn(sync_loop::run(
            self.inner.clone(),
            cache.clone(),
            stop_rx.clone(),
        ));
        self.inner
            .windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        tokio::spawn(window::run(self.inner.clone(), stop_rx.clone()));
        tokio::spawn(deliver::run(self.inner.clone(), user, cache, stop_rx));
        self.inner.emit(EngineEvent::ConversationsChanged);
        Ok(())
    }

    fn close_account(&self) -> Option<Account> {
        let account = self
            .inner
            .account
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(a) = &account {
            let _ = a.stop.send(true);
        }
        *self.inner.socket.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.inner
            .windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.inner.set_state(ConnectionState::SignedOut);
        account
    }

    /// Creates an account, signs in as it, and starts syncing.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<User> {
        let user = self
            .inner
            .client
            .register(username, password, display_name)
            .await?;
        self.open_account(user.clone())?;
        Ok(user)
    }

    /// Signs in and starts syncing (resuming from this account's cache if there is one).
    pub async fn login(&self, username: &str, password: &str) -> Result<User> {
        let user = self.inner.client.login(username, password).await?;
        self.open_account(user.clone())?;
        Ok(user)
    }

    /// Signs out. The account's cache (with anything still queued) stays on disk for the next
    /// sign-in; [`Engine::logout_and_forget`] deletes it.
    pub async fn logout(&self) -> Result<()> {
        self.close_account();
        if let Some(path) = self.last_account_file() {
            let _ = std::fs::remove_file(path);
        }
        self.inner.client.logout().await?;
        Ok(())
    }

    /// Signs out and deletes this account's local cache.
    pub async fn logout_and_forget(&self) -> Result<()> {
        let account = self.close_account();
        let told = self.inner.client.logout().await;
        if let Some(path) = self.last_account_file() {
            let _ = std::fs::remove_file(path);
        }
        if let Some(account) = account
            && let Some(path) = self.cache_path(account.me.id)
        {
            drop(account);
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        told?;
        Ok(())
    }

    /// Stops syncing (the app is quitting). Queued changes stay in the cache.
    pub fn shutdown(&self) {
        if let Some(a) = self
            .inner
            .account
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = a.stop.send(true);
        }
    }

    // ---- reading (from the cache; works offline)

    /// Conversations, most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        Ok(self.cache()?.conversations()?)
    }

    pub fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        Ok(self.cache()?.conversation(id)?)
    }

    /// The conversation last open on screen, if the account still has it: a view starts there
    /// (drawn from the cache, before the network is asked anything).
    pub fn last_opened(&self) -> Result<Option<ConversationId>> {
        let cache = self.cache()?;
        Ok(match cache.last_opened()? {
            Some(id) if cache.conversation(id)?.is_some() => Some(id),
            _ => None,
        })
    }

    /// Remembers the conversation now open on screen (see [`Engine::last_opened`]).
    pub fn set_last_opened(&self, id: ConversationId) -> Result<()> {
        Ok(self.cache()?.set_last_opened(id)?)
    }

    pub fn teams(&self) -> Result<Vec<Team>> {
        Ok(self.cache()?.teams()?)
    }

    /// A cached user profile.
    pub fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(self.cache()?.user(id)?)
    }

    /// Notifications, newest first, with whether each is read.
    pub fn notifications(&self, limit: u32) -> Result<Vec<(Notification, bool)>> {
        Ok(self.cache()?.notifications(limit)?)
    }

    /// The newest `limit` messages before `before` (a message `seq`; `None`: the newest), from the
    /// cache, with pending sends at the end and unconfirmed changes laid over.
    pub fn timeline(
        &self,
        id: ConversationId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Timeline> {
        let (me, cache) = self.account()?;
        let (messages, needs_server) = cache.messages(id, before, limit)?;
        let outbox = cache.outbox(Some(id))?;
        let mut items: Vec<TimelineItem> = messages
            .into_iter()
            .map(|m| overlay(m, &outbox, me.id))
            .collect();
        if before.is_none() {
            items.extend(pending_items(&outbox, id, me.id));
        }
        let oldest = items
            .iter()
            .find_map(TimelineItem::seq)
            .or(before)
            .unwrap_or(i64::MAX);
        let has_more_before = needs_server || cache.has_more_before(id, oldest)?;
        Ok(Timeline {
            items,
            has_more_before,
        })
    }

    /// Like [`Engine::timeline`], but when the cache does not hold the page contiguously and the
    /// server is reachable, fetches it first. Offline it returns what the cache has.
    pub async fn load_timeline(
        &self,
        id: ConversationId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Timeline> {
        let (me, cache) = self.account()?;
        let (_, needs_server) = cache.messages(id, before, limit)?;
        if needs_server && self.connection_state().is_live() {
            let limit = limit.clamp(1, jeco_shared::messages::MESSAGE_PAGE_MAX);
            match self
                .with_token(|api, token| async move {
                    api.messages(&token, id, before, None, limit).await
                })
                .await
            {
                Ok(page) => {
                    cache.store_older(me.id, id, before, &page)?;
                    self.learn_users(page.items.iter().map(|m| m.sender_id))
                        .await;
                }
                Err(e) => tracing::debug!(error = %e, "older history not fetched; using the cache"),
            }
        }
        self.timeline(id, before, limit)
    }

    /// Cached replies to a message, oldest first.
    pub fn thread(&self, root: MessageId) -> Result<Vec<Message>> {
        Ok(self.cache()?.thread(root)?)
    }

    /// Members' read positions in a conversation.
    pub fn read_receipts(&self, id: ConversationId) -> Result<Vec<(UserId, i64)>> {
        Ok(self.cache()?.read_receipts(id)?)
    }

    // ---- writing (through the outbox; works offline)

    fn queue(&self, conversation: ConversationId, op: OutboxOp) -> Result<Enqueued> {
        let cache = self.cache()?;
        if cache.conversation(conversation)?.is_none() {
            return Err(EngineError::UnknownConversation);
        }
        let result = cache.enqueue(conversation, op)?;
        match &result {
            Enqueued::Queued(item) | Enqueued::Rewrote(item) => {
                self.inner.emit(EngineEvent::Outbox(item.clone()))
            }
            Enqueued::Cancelled { removed } => {
                for id in removed {
                    self.inner.emit(EngineEvent::OutboxRemoved {
                        id: *id,
                        conversation_id: conversation,
                        delivered: false,
                    });
                }
            }
            Enqueued::UnknownMessage => return Err(EngineError::UnknownMessage),
        }
        self.inner.emit(EngineEvent::TimelineChanged {
            conversation_id: conversation,
            seqs: Vec::new(),
        });
        self.inner.outbox_wake.notify_one();
        Ok(result)
    }

    /// Sends a message (queued; delivered exactly once when online). Returns the queued send; its
    /// `client_id` identifies the message until the server confirms it.
    pub fn send(
        &self,
        conversation: ConversationId,
        text: &str,
        reply_to: Option<MessageId>,
    ) -> Result<OutboxItem> {
        let text = self.check_text(text)?;
        self.queue_send(conversation, text, reply_to, Vec::new())
    }

    /// Replies in the thread of `root`, with files or not. Unless `also_in_channel`, the reply
    /// stays in the thread: the channel's timeline leaves it out (here and on every member's
    /// device), while the root's reply count and repliers include it.
    pub fn send_in_thread(
        &self,
        conversation: ConversationId,
        root: MessageId,
        text: &str,
        files: &[FileToSend],
        also_in_channel: bool,
    ) -> Result<OutboxItem> {
        let client_id = new_client_id();
        let text = if files.is_empty() {
            self.check_text(text)?
        } else {
            self.check_files(files)?;
            if text.trim().is_empty() {
                String::new()
            } else {
                self.check_text(text)?
            }
        };
        let attachments = self.stage_files(&client_id, files)?;
        self.queue_send_with_id(
            conversation,
            client_id,
            text,
            Some(root),
            !also_in_channel,
            attachments,
        )
    }

    fn check_files(&self, files: &[FileToSend]) -> Result<()> {
        if files.len() > jeco_shared::media::ATTACHMENTS_PER_MESSAGE_MAX {
            return Err(EngineError::Invalid(format!(
                "at most {} files per message",
                jeco_shared::media::ATTACHMENTS_PER_MESSAGE_MAX
            )));
        }
        Ok(())
    }

    /// Copies files into the engine's data (see [`Engine::send_files`]).
    fn stage_files(
        &self,
        client_id: &str,
        files: &[FileToSend],
    ) -> Result<Vec<crate::outbox::PendingUpload>> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.outbox_files_dir()?;
        files
            .iter()
            .enumerate()
            .map(|(i, file)| media::stage(&dir, client_id, i, file))
            .collect()
    }

    /// Sends a message with files (the text may be empty). Each file is copied into the engine's
    /// data first, so the message survives the original being moved and the app being restarted;
    /// uploads run (resumably, with [`EngineEvent::UploadProgress`]) when online, and the message
    /// is sent once they are all done.
    pub fn send_files(
        &self,
        conversation: ConversationId,
        text: &str,
        reply_to: Option<MessageId>,
        files: &[FileToSend],
    ) -> Result<OutboxItem> {
        if files.is_empty() {
            return self.send(conversation, text, reply_to);
        }
        self.check_files(files)?;
        let text = if text.trim().is_empty() {
            String::new()
        } else {
            self.check_text(text)?
        };
        let client_id = new_client_id();
        let attachments = self.stage_files(&client_id, files)?;
        self.queue_send_with_id(conversation, client_id, text, reply_to, false, attachments)
    }

    fn queue_send(
        &self,
        conversation: ConversationId,
        text: String,
        reply_to: Option<MessageId>,
        attachments: Vec<crate::outbox::PendingUpload>,
    ) -> Result<OutboxItem> {
        self.queue_send_with_id(
            conversation,
            new_client_id(),
            text,
            reply_to,
            false,
            attachments,
        )
    }

    fn queue_send_with_id(
        &self,
        conversation: ConversationId,
        client_id: String,
        text: String,
        reply_to: Option<MessageId>,
        thread_only: bool,
        attachments: Vec<crate::outbox::PendingUpload>,
    ) -> Result<OutboxItem> {
        match self.queue(
            conversation,
            OutboxOp::Send {
                client_id,
                text,
                reply_to,
                thread_only: thread_only && reply_to.is_some(),
                attachments,
            },
        )? {
            Enqueued::Queued(item) => {
                self.cache()?.set_draft(conversation, "", None)?;
                Ok(item)
            }
            other => unreachable!("a send is always queued, got {other:?}"),
        }
    }

    /// Where queued files are kept: `<account dir>/outbox-files`, or the system temp dir for an
    /// engine without a data dir.
    fn outbox_files_dir(&self) -> Result<PathBuf> {
        let dir = match &self.inner.account_dir {
            Some(d) => d.join("outbox-files"),
            None => std::env::temp_dir().join("jeco-outbox-files"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            EngineError::Invalid(format!(
                "cannot keep the file for sending in {}: {e}",
                dir.display()
            ))
        })?;
        Ok(dir)
    }

    /// Where downloaded media is cached (`<account dir>/media`, or the system temp dir).
    fn media_dir(&self) -> Result<PathBuf> {
        let dir = match &self.inner.account_dir {
            Some(d) => d.join("media"),
            None => std::env::temp_dir().join("jeco-media"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            EngineError::Invalid(format!(
                "cannot create the media cache {}: {e}",
                dir.display()
            ))
        })?;
        Ok(dir)
    }

    /// A local file with an attachment's content (or its thumbnail): from the media cache, or
    /// downloaded into it (and checked against the attachment's SHA-256) when online. The cache
    /// keeps at most the builder's `media_cache_bytes`, evicting the least recently used files.
    pub async fn attachment_file(
        &self,
        attachment: &jeco_shared::media::Attachment,
        thumbnail: bool,
    ) -> Result<PathBuf> {
        let cache = self.cache()?;
        let dir = self.media_dir()?;
        media::cached_or_download(self, &cache, &dir, attachment, thumbnail).await
    }

    /// Edits a message (a pending one is rewritten before it is sent). Returns the outbox item
    /// that carries the change (the rewritten send, for a pending message).
    pub fn edit(
        &self,
        conversation: ConversationId,
        target: MessageRef,
        text: &str,
    ) -> Result<Option<OutboxItem>> {
        let text = self.check_text(text)?;
        Ok(queued_item(
            self.queue(conversation, OutboxOp::Edit { target, text })?,
        ))
    }

    /// Deletes a message. A pending one is simply not sent: then there is no outbox item.
    pub fn delete(
        &self,
        conversation: ConversationId,
        target: MessageRef,
    ) -> Result<Option<OutboxItem>> {
        Ok(queued_item(
            self.queue(conversation, OutboxOp::Delete { target })?,
        ))
    }

    /// Adds (`add`) or removes the user's reaction.
    pub fn react(
        &self,
        conversation: ConversationId,
        target: MessageRef,
        emoji: &str,
        add: bool,
    ) -> Result<Option<OutboxItem>> {
        let emoji = emoji.trim();
        if emoji.is_empty()
            || emoji.chars().count() > jeco_shared::messages::EMOJI_MAX
            || emoji.contains(char::is_whitespace)
        {
            return Err(EngineError::Invalid(format!(
                "an emoji is 1 to {} characters without spaces",
                jeco_shared::messages::EMOJI_MAX
            )));
        }
        Ok(queued_item(self.queue(
            conversation,
            OutboxOp::React {
                target,
                emoji: emoji.to_owned(),
                add,
            },
        )?))
    }

    /// Marks everything up to `seq` read (at once locally; the server is told when online).
    pub fn mark_read(&self, conversation: ConversationId, seq: i64) -> Result<()> {
        let (me, cache) = self.account()?;
        if cache.mark_read_locally(me.id, conversation, seq)? {
            self.queue(conversation, OutboxOp::MarkRead { seq })?;
            self.inner.emit(EngineEvent::ConversationsChanged);
        }
        Ok(())
    }

    /// Everything queued, oldest first (or one conversation's).
    pub fn outbox(&self, conversation: Option<ConversationId>) -> Result<Vec<OutboxItem>> {
        Ok(self.cache()?.outbox(conversation)?)
    }

    /// Retries a failed outbox item; what waited behind it in its conversation's queue follows.
    pub fn retry(&self, outbox_id: i64) -> Result<bool> {
        let cache = self.cache()?;
        let retried = cache.outbox_retry(outbox_id)?;
        if retried && let Some(item) = cache.outbox_item(outbox_id)? {
            self.inner.emit(EngineEvent::Outbox(item.clone()));
            self.inner.emit(EngineEvent::TimelineChanged {
                conversation_id: item.conversation_id,
                seqs: Vec::new(),
            });
            self.inner.outbox_wake.notify_one();
        }
        Ok(retried)
    }

    /// Discards a failed or pending outbox item (and what was queued against a discarded send);
    /// what waited behind a discarded failure goes on.
    pub fn discard(&self, outbox_id: i64) -> Result<Vec<i64>> {
        let cache = self.cache()?;
        let item = cache.outbox_item(outbox_id)?;
        let removed = cache.outbox_discard(outbox_id)?;
        if let Some(item) = item {
            for id in &removed {
                self.inner.emit(EngineEvent::OutboxRemoved {
                    id: *id,
                    conversation_id: item.conversation_id,
                    delivered: false,
                });
            }
            self.inner.emit(EngineEvent::TimelineChanged {
                conversation_id: item.conversation_id,
                seqs: Vec::new(),
            });
            // What waited behind a discarded failure can go now.
            self.inner.outbox_wake.notify_one();
        }
        Ok(removed)
    }

    /// Waits until nothing deliverable is left in the outbox, or `timeout`: failed items stay,
    /// and so do the items of their conversation's queue waiting behind them.
    pub async fn wait_outbox_drained(&self, timeout: Duration) -> Result<()> {
        let cache = self.cache()?;
        let mut events = self.subscribe();
        tokio::time::timeout(timeout, async {
            loop {
                if !cache.outbox_has_deliverable()? {
                    return Ok(());
                }
                // Any event may be the one; polling the cache keeps this simple and exact.
                let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
            }
        })
        .await
        .map_err(|_| EngineError::Timeout("outbox delivery"))?
    }

    pub fn set_draft(
        &self,
        conversation: ConversationId,
        text: &str,
        reply_to: Option<MessageId>,
    ) -> Result<()> {
        Ok(self.cache()?.set_draft(conversation, text, reply_to)?)
    }

    pub fn draft(&self, conversation: ConversationId) -> Result<Option<Draft>> {
        Ok(self.cache()?.draft(conversation)?)
    }

    /// Tells the conversation's members the user is (or stopped) typing. Dropped when offline:
    /// typing is only worth anything live.
    pub fn typing(&self, conversation: ConversationId, active: bool) {
        self.send_frame(jeco_shared::ws::ClientFrame::Typing {
            conversation_id: conversation,
            active,
        });
    }

    /// Sets this device's presence (online or away).
    pub fn set_presence(&self, status: PresenceStatus) {
        self.send_frame(jeco_shared::ws::ClientFrame::SetPresence { status });
    }

    fn send_frame(&self, frame: jeco_shared::ws::ClientFrame) {
        if let Some(tx) = self
            .inner
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.try_send(frame);
        }
    }

    // ---- search

    /// Parses what a person typed in a search box: Jeco's search language (the server's, so
    /// both answer the same query), with the last term also matching as a prefix so results
    /// appear while typing.
    pub fn parse_search(query: &str) -> Result<SearchQuery> {
        Ok(SearchQuery::parse(query)?.last_term_as_prefix())
    }

    /// Searches the cache: instant, offline. A query that does not parse is
    /// [`EngineError::InvalidQuery`], offline as online.
    pub fn search_local(
        &self,
        query: &str,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<SearchResult>> {
        let parsed = Self::parse_search(query)?;
        self.search_cache(&parsed, conversation, limit)
    }

    fn search_cache(
        &self,
        query: &SearchQuery,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<SearchResult>> {
        Ok(self
            .cache()?
            .search(query, conversation, limit)?
            .into_iter()
            .map(|LocalHit { message, snippet }| SearchResult {
                message,
                snippet,
                local: true,
            })
            .collect())
    }

    /// Searches the cache and, when online, the server; merged newest first without duplicates.
    /// Offline (or if the server fails) the local results alone are returned. The query is parsed
    /// once, here, and the server is sent its canonical form, so both search for the same thing.
    pub async fn search(
        &self,
        query: &str,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<SearchResult>> {
        let parsed = Self::parse_search(query)?;
        let mut results = self.search_cache(&parsed, conversation, limit)?;
        if self.connection_state().is_live() {
            let q = parsed.to_string();
            let server = self
                .with_token(|api, token| {
                    let q = q.clone();
                    async move {
                        api.search(&token, &q, conversation, limit.clamp(1, 100))
                            .await
                    }
                })
                .await;
            match server {
                Ok(page) => {
                    let seen: HashSet<MessageId> = results.iter().map(|r| r.message.id).collect();
                    results.extend(
                        page.items
                            .into_iter()
                            .filter(|h| !seen.contains(&h.message.id))
                            .map(|h| SearchResult {
                                message: h.message,
                                snippet: h.snippet,
                                local: false,
                            }),
                    );
                    results.sort_by_key(|r| std::cmp::Reverse(r.message.id));
                    results.truncate(limit as usize);
                }
                Err(e) => tracing::debug!(error = %e, "server search failed; local results only"),
            }
        }
        Ok(results)
    }

    // ---- online-only actions (they need the server's answer)

    /// Runs an API call with a fresh access token, refreshing once on `token_expired`.
    pub(crate) async fn with_token<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(crate::api::ApiClient, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::api::ApiError>>,
    {
        with_token(&self.inner.client, f).await
    }

    /// Calls endpoint `E` with a fresh access token (refreshed once on `token_expired`) and
    /// answers what `E` answers: the one way the engine talks JSON to the server, so that what it
    /// reads is the type the server's handler for `E` is bound to send.
    pub(crate) async fn call<E>(&self, params: &E::Params, body: &E::Request) -> Result<E::Response>
    where
        E: Endpoint,
        E::Params: Sync,
        E::Request: Sync,
    {
        self.with_token(|api, token| async move { api.call::<E>(&token, params, body).await })
            .await
    }

    /// [`Self::call`] with a query string.
    pub(crate) async fn call_with_query<E>(
        &self,
        params: &E::Params,
        query: &[(&str, String)],
    ) -> Result<E::Response>
    where
        E: Endpoint<Request = ()>,
        E::Params: Sync,
    {
        self.with_token(|api, token| async move {
            api.call_with_query::<E>(&token, params, &(), query).await
        })
        .await
    }

    /// Creates a group room with these members and adds it to the cache.
    pub async fn create_group(&self, name: &str, members: &[UserId]) -> Result<Conversation> {
        let body = CreateGroupRequest {
            name: name.to_owned(),
            member_ids: members.to_vec(),
        };
        let c = self.call::<CreateGroup>(&(), &body).await?;
        self.snapshot(c.id).await?;
        Ok(c)
    }

    /// Opens (or finds) the direct conversation with a user.
    pub async fn open_direct(&self, user: UserId) -> Result<Conversation> {
        let body = OpenDirectRequest { user_id: user };
        let c = self.call::<OpenDirect>(&(), &body).await?;
        self.snapshot(c.id).await?;
        Ok(c)
    }

    /// Joins a team with an invite code; its channels arrive through sync.
    pub async fn join_invite(&self, code: &str) -> Result<Team> {
        let code = code.trim().to_owned();
        let team = self
            .with_token(|api, token| {
                let code = code.clone();
                async move { api.join_invite(&token, &code).await }
            })
            .await?;
        self.cache()?.upsert_team(&team)?;
        // The user event brings the channels; taking the default one now saves a round trip.
        self.snapshot(team.default_channel_id).await?;
        self.inner.emit(EngineEvent::TeamsChanged);
        Ok(team)
    }

    /// Joins a public channel of one of the user's teams.
    pub async fn join_channel(&self, id: ConversationId) -> Result<()> {
        self.call::<JoinChannel>(&(id,), &()).await?;
        self.snapshot(id).await
    }

    /// Finds a user by username: from the cache, else the server.
    pub async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let name = username.trim().trim_start_matches('@').to_lowercase();
        if let Some(u) = self.cache()?.user_by_username(&name)? {
            return Ok(Some(u));
        }
        let page = self
            .with_token(|api, token| {
                let name = name.clone();
                async move { api.search_users(&token, &name).await }
            })
            .await?;
        let found = page.items.into_iter().find(|u| u.username == name);
        if let Some(u) = &found {
            self.cache()?.upsert_users(std::slice::from_ref(u))?;
        }
        Ok(found)
    }

    /// Fetches a conversation and its newest messages into the cache.
    pub async fn snapshot(&self, id: ConversationId) -> Result<()> {
        let (me, cache) = self.account()?;
        sync_loop::snapshot(&self.inner, &me, &cache, id).await?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        self.inner.emit(EngineEvent::TimelineChanged {
            conversation_id: id,
            seqs: Vec::new(),
        });
        Ok(())
    }

    /// Makes sure the cache knows these users' profiles (fetching the unknown ones).
    pub async fn learn_users(&self, ids: impl IntoIterator<Item = UserId>) {
        if let Ok((_, cache)) = self.account() {
            sync_loop::learn_users(&self.inner.client, &cache, ids).await;
        }
    }

    /// Whether an applied event needs a snapshot first (exposed for diagnostics and tests).
    #[doc(hidden)]
    pub fn applied_needs_snapshot(applied: &Applied) -> bool {
        matches!(applied, Applied::UnknownConversation | Applied::Gap { .. })
    }
}

/// Runs an API call with a fresh access token, refreshing once on `token_expired`.
pub(crate) async fn with_token<T, F, Fut>(client: &Client, f: F) -> Result<T>
where
    F: Fn(crate::api::ApiClient, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::api::ApiError>>,
{
    let token = client.access_token().await.map_err(not_signed_in)?;
    match f(client.api().clone(), token).await {
        Err(e) if e.code() == Some(ErrorCode::TokenExpired) => {
            let token = client.refresh_now().await.map_err(not_signed_in)?;
            Ok(f(client.api().clone(), token).await?)
        }
        other => Ok(other?),
    }
}

fn not_signed_in(e: ClientError) -> EngineError {
    match e {
        ClientError::NotSignedIn => EngineError::NotSignedIn,
        other => EngineError::Client(other),
    }
}

fn queued_item(e: Enqueued) -> Option<OutboxItem> {
    match e {
        Enqueued::Queued(item) | Enqueued::Rewrote(item) => Some(item),
        Enqueued::Cancelled { .. } | Enqueued::UnknownMessage => None,
    }
}

/// How a queued item shows; `outbox` is its conversation's queued items, oldest first.
fn item_state(item: &OutboxItem, outbox: &[OutboxItem]) -> ItemState {
    if let Some(behind) = crate::cache::blocked_by(outbox, item) {
        return ItemState::Waiting { behind };
    }
    match (&item.state, &item.error) {
        (OutboxState::Failed, Some(e)) => ItemState::Failed {
            outbox_id: item.id,
            code: e.code,
            message: e.message.clone(),
        },
        (OutboxState::Failed, None) => ItemState::Failed {
            outbox_id: item.id,
            code: ErrorCode::BadRequest,
            message: "refused by the server".into(),
        },
        _ => ItemState::Pending,
    }
}

/// The sends still in `outbox` that show in the timeline (not thread-only replies), in order.
fn pending_items(
    outbox: &[OutboxItem],
    conversation: ConversationId,
    me: UserId,
) -> impl Iterator<Item = TimelineItem> + '_ {
    outbox.iter().filter_map(move |item| match &item.op {
        OutboxOp::Send {
            client_id,
            text,
            reply_to,
            thread_only: false,
            ..
        } => Some(pending_send(
            item,
            outbox,
            conversation,
            me,
            (client_id, text),
            *reply_to,
        )),
        _ => None,
    })
}

/// The timeline item of `item`, the send of `text` still in `outbox`: its local id and the text
/// as typed, with the queued edits, deletes and reactions of it laid over.
fn pending_send(
    item: &OutboxItem,
    outbox: &[OutboxItem],
    conversation: ConversationId,
    me: UserId,
    (client_id, text): (&str, &str),
    reply_to: Option<MessageId>,
) -> TimelineItem {
    let echo = TimelineItem {
        id: ItemId::Local {
            client_id: client_id.to_owned(),
        },
        message: Message {
            reply_to,
            ..Message::new(
                MessageId(0),
                conversation,
                0,
                me,
                client_id.to_owned(),
                text.to_owned(),
                item.created_at.clone(),
            )
        },
        state: item_state(item, outbox),
    };
    let r = echo.reference();
    overlay_item(echo, outbox, &r, me)
}

fn overlay(message: Message, outbox: &[OutboxItem], me: UserId) -> TimelineItem {
    let item = TimelineItem::sent(message);
    let r = item.reference();
    // A message confirmed while a change against its pending send is queued is still that send.
    let by_client = MessageRef::Pending(item.message.client_id.clone());
    let item = overlay_item(item, outbox, &r, me);
    overlay_item(item, outbox, &by_client, me)
}

/// Lays queued edits, deletes and reactions of `target` over the item.
fn overlay_item(
    mut item: TimelineItem,
    outbox: &[OutboxItem],
    target: &MessageRef,
    me: UserId,
) -> TimelineItem {
    for queued in outbox.iter().filter(|q| q.op.target() == Some(target)) {
        match &queued.op {
            OutboxOp::Edit { text, .. } => {
                item.message.text = text.clone();
            }
            OutboxOp::Delete { .. } => {
                item.message.deleted = true;
                item.message.text.clear();
            }
            OutboxOp::React { emoji, add, .. } => {
                if *add {
                    crate::cache::add_reaction(&mut item.message.reactions, me, emoji);
                } else {
                    crate::cache::remove_reaction(&mut item.message.reactions, me, emoji);
                }
            }
            _ => {}
        }
        // A refusal shows over a wait, a wait over plain pending.
        item.state = match (&item.state, item_state(queued, outbox)) {
            (ItemState::Failed { .. }, _) => item.state.clone(),
            (_, s @ ItemState::Failed { .. }) => s,
            (ItemState::Waiting { .. }, _) => item.state.clone(),
            (_, s) => s,
        };
    }
    item
}
