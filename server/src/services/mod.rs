//! Domain services: the rules of the product, below HTTP and WebSocket handlers.
//!
//! Handlers parse input and render output; everything that decides *whether* something is allowed
//! lives here, so the REST API and the gateway cannot disagree. Services talk to the database only
//! through [`crate::storage::Storage`] and report failures as [`ServiceError`], whose
//! [`code`](ServiceError::code) is the client-visible [`ErrorCode`].
//!
//! **One-way layers.** The modules import each other only downwards, so a change at the bottom
//! never has to know who uses it and the use cases never depend on each other's internals:
//! - bottom — rendering and pure policy: [`render`] (records to wire types, times, avatar
//!   versions), [`rules`] (the product's rules as plain functions of facts, which the storage
//!   backends call inside their transactions too), [`mentions`], [`notices`] (texts of
//!   notifications that are not about a message), [`fanout`] (publishing committed changes);
//! - [`access`]: the one authorization module (conversation membership, writable, moderation,
//!   team membership and administration);
//! - on top, the use cases: [`Conversations`], [`Messages`], [`Teams`], [`Channels`],
//!   [`Notifications`], [`media`], [`Typing`], [`Contacts`], [`Search`], [`Accounts`],
//!   [`export`]….
//!   A use case may call one below it that it builds on (channels open through conversations),
//!   never one that calls it back.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod export;
pub mod fanout;
pub mod lockout;
pub mod login_code;
pub mod mail;
pub mod media;
pub mod mentions;
pub mod messages;
pub mod notices;
pub mod notifications;
pub mod one_time;
pub mod passwords;
pub mod presence;
pub mod rate;
pub mod recovery;
pub mod render;
pub mod rules;
pub mod search;
pub mod sessions;
pub mod teams;
pub mod tokens;
pub mod two_factor;
pub mod typing;

use jeco_shared::{ErrorCode, SessionId, UserId};
use std::collections::BTreeMap;
use std::time::Duration;

pub use accounts::Accounts;
pub use channels::Channels;
pub use contacts::Contacts;
pub use conversations::Conversations;
pub use fanout::{Fanout, Outgoing, Stream};
pub use media::Media;
pub use messages::Messages;
pub use notifications::Notifications;
pub use presence::Presence;
pub use recovery::Recovery;
pub use search::Search;
pub use teams::Teams;
pub use typing::Typing;

/// The conversation services, as the API and the gateway share them.
#[derive(Clone)]
pub struct Chat {
    pub conversations: std::sync::Arc<Conversations>,
    pub messages: std::sync::Arc<Messages>,
    pub typing: std::sync::Arc<Typing>,
    pub presence: std::sync::Arc<Presence>,
    pub teams: std::sync::Arc<Teams>,
    pub channels: std::sync::Arc<Channels>,
    pub notifications: std::sync::Arc<Notifications>,
    pub search: std::sync::Arc<Search>,
    pub contacts: std::sync::Arc<Contacts>,
    /// For the gateway's replay of stored events.
    pub storage: std::sync::Arc<dyn crate::storage::Storage>,
    /// Signalled when media may have lost its last reference; the media sweeper listens.
    pub orphans: std::sync::Arc<tokio::sync::Notify>,
}

impl Chat {
    pub fn new(
        storage: std::sync::Arc<dyn crate::storage::Storage>,
        fanout: std::sync::Arc<dyn Fanout>,
        budgets: Option<std::sync::Arc<dyn rate::SharedBudgets>>,
        config: &crate::Config,
    ) -> Self {
        use std::sync::Arc;
        let access = access::Access::new(storage.clone());
        let conversations = Arc::new(Conversations::new(
            storage.clone(),
            fanout.clone(),
            config.clock.clone(),
        ));
        let orphans = Arc::new(tokio::sync::Notify::new());
        let messages = Arc::new(Messages::new(
            storage.clone(),
            fanout.clone(),
            access.clone(),
            messages::MessageSettings::from_config(config),
            orphans.clone(),
            budgets,
        ));
        let typing = Typing::new(
            access.clone(),
            fanout.clone(),
            Duration::from_millis(config.typing_timeout_ms),
        );
        let presence = Arc::new(Presence::new(storage.clone(), fanout.clone()));
        presence.follow_cluster();
        let teams = Arc::new(Teams::new(
            storage.clone(),
            fanout.clone(),
            config.clock.clone(),
        ));
        let channels = Arc::new(Channels::new(
            storage.clone(),
            fanout.clone(),
            access.clone(),
            conversations.clone(),
            config.clock.clone(),
        ));
        let notifications = Arc::new(Notifications::new(
            storage.clone(),
            fanout.clone(),
            access,
            config.clock.clone(),
        ));
        let search = Arc::new(Search::new(storage.clone()));
        let contacts = Arc::new(Contacts::new(storage.clone(), fanout, config.clock.clone()));
        Self {
            conversations,
            messages,
            typing,
            presence,
            teams,
            channels,
            notifications,
            search,
            contacts,
            storage,
            orphans,
        }
    }
}

/// Who is making a request: established from a verified access token and a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub is_admin: bool,
}

/// Told when a session is revoked (logout, refresh-token reuse), so live connections of that
/// session can be closed. The gateway's connection registry implements it.
pub trait SessionObserver: Send + Sync + 'static {
    /// The session's own logout, or a stolen refresh token: close with `TOKEN_REVOKED`.
    fn session_revoked(&self, session: SessionId);
    /// The account's owner ended these sessions from another one, or reset the password: close
    /// with `SIGNED_OUT` (see [`jeco_shared::ws::close::SIGNED_OUT`]).
    fn sessions_signed_out(&self, sessions: &[SessionId]);
    /// A server admin deactivated the account these sessions belonged to: close with
    /// `DEACTIVATED` (see [`jeco_shared::ws::close::DEACTIVATED`]).
    fn account_deactivated(&self, sessions: &[SessionId]);
}

/// A [`SessionObserver`] for contexts without live connections (the admin CLI).
#[derive(Debug, Default)]
pub struct NoObserver;

impl SessionObserver for NoObserver {
    fn session_revoked(&self, _session: SessionId) {}
    fn sessions_signed_out(&self, _sessions: &[SessionId]) {}
    fn account_deactivated(&self, _sessions: &[SessionId]) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    #[error("{0}")]
    BadRequest(String),
    /// A search query that does not parse or passes a limit (`400 invalid_query`).
    #[error("invalid search query: {0}")]
    InvalidQuery(String),
    #[error("username is already taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed logins for this account from this address; try again shortly")]
    AccountLocked { retry_after: Duration },
    #[error("the access token is invalid")]
    TokenInvalid,
    #[error("the token has expired")]
    TokenExpired,
    #[error("{0}")]
    TokenRevoked(&'static str),
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("too many messages; slow down")]
    RateLimited { retry_after: Duration },
    #[error("no invitation has this code")]
    InviteNotFound,
    #[error("this invitation has expired")]
    InviteExpired,
    #[error("this invitation was revoked")]
    InviteRevoked,
    #[error("this invitation has been used up")]
    InviteUsedUp,
    #[error("the channel is archived; unarchive it to post")]
    ConversationArchived,
    #[error("the owner must transfer ownership before leaving")]
    OwnerMustTransfer,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ImageTooLarge(String),
    #[error(
        "this upload would pass your storage quota: {} of {quota} bytes left",
        quota.saturating_sub(*used)
    )]
    QuotaExceeded { quota: u64, used: u64 },
    #[error("too many uploads; slow down")]
    UploadRateLimited { retry_after: Duration },
    #[error("this chunk starts at {given}, but the upload is at offset {offset}")]
    UploadOffsetMismatch { offset: u64, given: u64 },
    #[error("storage failed: {0}")]
    Storage(crate::storage::StorageError),
    #[error("{0}")]
    CodeInvalid(&'static str),
    #[error("this code has expired; ask for a new one")]
    CodeExpired,
    #[error("this code was already used; ask for a new one")]
    CodeUsed,
    #[error("too many mails for this account or requests from this address; try again later")]
    MailRateLimited { retry_after: Duration },
    #[error("too many exports of your data; try again later")]
    ExportRateLimited { retry_after: Duration },
    #[error("mail cannot be sent now; try again later")]
    MailUnavailable,
    #[error("this account was deactivated by a server admin")]
    AccountDeactivated,
    #[error("the server must keep at least one active admin; make someone else an admin first")]
    LastAdmin,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::storage::StorageError> for ServiceError {
    /// A row that vanished between the service's check and the write reads as "not found", the
    /// same answer as if it never existed.
    fn from(e: crate::storage::StorageError) -> Self {
        match e {
            crate::storage::StorageError::NotFound => Self::NotFound,
            crate::storage::StorageError::LastAdmin => Self::LastAdmin,
            other => Self::Storage(other),
        }
    }
}

impl ServiceError {
    /// One field problem.
    pub fn field(name: &str, problem: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(name.to_owned(), problem.into())]))
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::UsernameTaken => ErrorCode::UsernameTaken,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::AccountLocked { .. } => ErrorCode::AccountLocked,
            Self::TokenInvalid => ErrorCode::TokenInvalid,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::TokenRevoked(_) => ErrorCode::TokenRevoked,
            Self::NotFound => ErrorCode::NotFound,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::InviteNotFound => ErrorCode::InviteNotFound,
            Self::InviteExpired => ErrorCode::InviteExpired,
            Self::InviteRevoked => ErrorCode::InviteRevoked,
            Self::InviteUsedUp => ErrorCode::InviteUsedUp,
            Self::ConversationArchived => ErrorCode::ConversationArchived,
            Self::OwnerMustTransfer => ErrorCode::OwnerMustTransfer,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::UploadOffsetMismatch { .. } => ErrorCode::UploadOffsetMismatch,
            Self::ImageTooLarge(_) => ErrorCode::ImageTooLarge,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::UploadRateLimited { .. }
            | Self::MailRateLimited { .. }
            | Self::ExportRateLimited { .. } => ErrorCode::RateLimited,
            Self::CodeInvalid(_) => ErrorCode::CodeInvalid,
            Self::CodeExpired => ErrorCode::CodeExpired,
            Self::CodeUsed => ErrorCode::CodeUsed,
            Self::MailUnavailable => ErrorCode::Unavailable,
            Self::AccountDeactivated => ErrorCode::AccountDeactivated,
            Self::LastAdmin => ErrorCode::LastAdmin,
            Self::Storage(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}
