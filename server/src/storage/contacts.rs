//! Contacts and contact requests.
//!
//! Every change to a request is one transaction together with a `contact_request_changed` event in
//! both users' logs and, for a new request or an acceptance, a notification for the other side.

use super::StorageError;
use super::events::Committed;
use async_trait::async_trait;
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::{ContactRequestId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRequestRecord {
    pub id: ContactRequestId,
    pub from_user: UserId,
    pub to_user: UserId,
    pub status: ContactRequestStatus,
    pub created_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRecord {
    pub user_id: UserId,
    pub since_ms: i64,
}

#[async_trait]
pub trait ContactStore: Send + Sync + 'static {
    /// A pending request from `from` to `to`, with a notification for `to` (whose text is
    /// `preview`). [`StorageError::Conflict`] when the two are contacts already or a request
    /// between them is pending.
    async fn create_contact_request(
        &self,
        from: UserId,
        to: UserId,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError>;
    async fn contact_request(
        &self,
        id: ContactRequestId,
    ) -> Result<Option<ContactRequestRecord>, StorageError>;
    /// Moves a pending request to `status` (accepted: the two become contacts, and the sender is
    /// notified with `preview`). [`StorageError::Conflict`] when it is no longer pending.
    async fn resolve_contact_request(
        &self,
        id: ContactRequestId,
        actor: UserId,
        status: ContactRequestStatus,
        preview: String,
        now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError>;
    /// Pending requests to or from `user`, oldest first.
    async fn pending_contact_requests(
        &self,
        user: UserId,
    ) -> Result<Vec<ContactRequestRecord>, StorageError>;
    async fn contacts(&self, user: UserId) -> Result<Vec<ContactRecord>, StorageError>;
    /// Ends the contact both ways; [`StorageError::NotFound`] when they were not contacts.
    async fn remove_contact(
        &self,
        user: UserId,
        other: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
}
