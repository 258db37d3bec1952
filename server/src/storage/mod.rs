//! Persistent state behind one trait, so the services never see SQL.
//!
//! [`Storage`] is what the domain services need from a database, phrased in domain terms. It is the
//! sum of one sub-trait per concern — [`AccountStore`] (users, sessions, failed logins),
//! [`CredentialStore`] (email addresses, password changes and resets, the session list),
//! [`ConversationStore`] (conversations, members, read positions), [`MessageStore`] (messages,
//! reactions, pins), [`EventStore`] (the event logs that clients resume from), [`TeamStore`] (teams,
//! invitations, channels), [`NotificationStore`] (inboxes and mutes), [`SearchStore`] (full-text
//! search), [`ContactStore`] (contacts and contact requests), [`MediaStore`] (uploads,
//! attachments, blobs and avatars) and [`TwoFactorStore`] (sign-in codes, two-factor secrets,
//! recovery codes, sign-in challenges) — so no single
//! file has to hold every query. Every backend implements them with its own SQL and its own
//! migrations: [`sqlite::SqliteStorage`] (one file, zero configuration) and
//! [`postgres::PgStorage`] (a database several instances share); [`copy`] moves a deployment from
//! the first to the second.
//!
//! Operations that must be atomic are single trait methods so that each backend can run them in one
//! transaction: rotating a refresh token and detecting its reuse, and — the central invariant — every
//! change to a conversation together with its event, whose gap-free `seq` is assigned inside that same
//! transaction (see [`events`]).
//!
//! Times are Unix milliseconds (`i64`) at this boundary: cheap to store and compare in any database.

pub mod accounts;
pub mod admin;
pub mod contacts;
pub mod conversations;
pub mod copy;
pub mod credentials;
pub mod events;
pub mod group_commit;
pub mod media;
pub mod messages;
pub mod notifications;
pub mod postgres;
pub mod search;
pub mod sqlite;
pub mod teams;
pub mod two_factor;

pub use accounts::{
    AccountStore, LoginFailures, NewUser, ProfileChange, RefreshOutcome, SessionRecord, TokenHash,
    UserRecord,
};
pub use admin::{AdminStore, AdminUserRecord};
pub use contacts::{ContactRecord, ContactRequestRecord, ContactStore};
pub use conversations::{
    ConversationRecord, ConversationStore, ConversationSummary, MemberRecord, NewGroup,
};
pub use credentials::{
    CredentialStore, EmailVerificationRecord, PasswordResetRecord, SessionDetails,
};
pub use events::{
    Committed, EventData, EventRecord, EventStore, MembershipHead, RootTally, UserEventData,
    UserEventRecord,
};
pub use media::{
    AttachmentPlace, AttachmentRecord, AvatarOwner, BlobRecord, MediaStore, MediaUsageRecord,
    NewAttachment, ThumbnailState, UploadAdmission, UploadRecord,
};
pub use messages::{
    Admission, HistoryAnchor, HistoryPage, MentionSet, MessageRecord, MessageStore, NewMessage,
    NotifyPlan, ReactionRecord, SendContext, SendOutcome, SendRefusal,
};
pub use notifications::{
    AddedNotice, AddedTo, MessageNotification, NewNotification, NotificationRecord,
    NotificationStore,
};
pub use search::{MessageSearch, SearchHitRecord, SearchStore};
pub use teams::{
    ChannelRecord, InviteRecord, NewChannel, NewInvite, Redeemed, TeamMemberRecord, TeamRecord,
    TeamStore,
};
pub use two_factor::{ChallengeRecord, LoginCodeRecord, TwoFactorRecord, TwoFactorStore};

use async_trait::async_trait;
use jeco_shared::{ConversationId, UserId};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness constraint failed (for example a taken username).
    #[error("already exists")]
    Conflict,
    /// The row the operation is about does not exist (any more).
    #[error("not found")]
    NotFound,
    #[error("cannot open database {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i64,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The change would leave the server without an active admin.
    #[error("the server would be left without an active admin")]
    LastAdmin,
    /// A search query the backend refused (it should not: the rendering quotes every term). The
    /// text is the backend's own and stays on the server: the service answers `invalid_query`
    /// with a sentence of its own.
    #[error("invalid search query: {0}")]
    InvalidQuery(String),
}

/// Everything the services persist. See the module doc.
#[async_trait]
pub trait Storage:
    AccountStore
    + AdminStore
    + CredentialStore
    + ConversationStore
    + MessageStore
    + EventStore
    + NotificationStore
    + SearchStore
    + ContactStore
    + TeamStore
    + MediaStore
    + TwoFactorStore
{
    /// Cheap round trip to the database, for health checks.
    async fn ping(&self) -> Result<(), StorageError>;

    /// The queue sends go through: this backend's own batching strategy ([`group_commit`]),
    /// publishing each committed send with `publish` before answering it. SQLite: one writer, a
    /// batch across all conversations per transaction (its writers are serialized anyway).
    /// PostgreSQL: several writers, a conversation always on the same one, batches of different
    /// writers committing side by side.
    fn send_queue(
        self: std::sync::Arc<Self>,
        publish: group_commit::Publish,
    ) -> std::sync::Arc<dyn group_commit::SendQueue>;

    /// The conversation as a send by `user` needs it — `None` when it does not exist or `user` is
    /// not a member. One call instead of four on the hottest path; the default composes the
    /// separate reads.
    async fn send_context(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<SendContext>, StorageError> {
        if self.member(conversation, user).await?.is_none() {
            return Ok(None);
        }
        let Some(record) = self.conversation(conversation).await? else {
            return Ok(None);
        };
        Ok(Some(SendContext {
            kind: record.kind,
            archived: self
                .channel(conversation)
                .await?
                .is_some_and(|c| c.archived),
            members: self
                .members(conversation)
                .await?
                .into_iter()
                .map(|m| m.user_id)
                .collect(),
        }))
    }
}
