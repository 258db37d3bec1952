//! [`ContactStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::contacts::*;
use crate::storage::events::Committed;
use async_trait::async_trait;
use jeco_shared::contacts::ContactRequestStatus;
use jeco_shared::{ContactRequestId, UserId};

#[async_trait]
impl ContactStore for PgStorage {
    async fn create_contact_request(
        &self,
        _from: UserId,
        _to: UserId,
        _preview: String,
        _now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        Err(super::not_yet("create_contact_request"))
    }

    async fn contact_request(
        &self,
        _id: ContactRequestId,
    ) -> Result<Option<ContactRequestRecord>, StorageError> {
        Err(super::not_yet("contact_request"))
    }

    async fn resolve_contact_request(
        &self,
        _id: ContactRequestId,
        _actor: UserId,
        _status: ContactRequestStatus,
        _preview: String,
        _now_ms: i64,
    ) -> Result<(ContactRequestRecord, Committed), StorageError> {
        Err(super::not_yet("resolve_contact_request"))
    }

    async fn pending_contact_requests(
        &self,
        _user: UserId,
    ) -> Result<Vec<ContactRequestRecord>, StorageError> {
        Err(super::not_yet("pending_contact_requests"))
    }

    async fn contacts(&self, _user: UserId) -> Result<Vec<ContactRecord>, StorageError> {
        Err(super::not_yet("contacts"))
    }

    async fn remove_contact(
        &self,
        _user: UserId,
        _other: UserId,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("remove_contact"))
    }
}
