//! Contacts: requests, answers, the contact list with presence, removal.
//!
//! Only the recipient of a request may accept or decline it, only its sender may cancel it; a
//! request the caller is not part of is `not_found`. A request that is no longer pending, a second
//! pending request between the same two users (either way) and a request to an existing contact are
//! `conflict`.

use super::accounts::to_user;
use super::fanout::{Fanout, publish_committed};
use super::render::rfc3339;
use super::{Principal, ServiceError, render};
use crate::storage::{Storage, StorageError};
use jeco_shared::contacts::{
    Contact, ContactList, ContactRequest, ContactRequestList, ContactRequestStatus,
};
use jeco_shared::{ContactRequestId, UserId};
use std::sync::Arc;

pub struct Contacts {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

fn conflict(e: StorageError, what: &str) -> ServiceError {
    match e {
        StorageError::Conflict => ServiceError::Conflict(what.to_owned()),
        other => other.into(),
    }
}

impl Contacts {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            storage,
            fanout,
            clock,
        }
    }

    async fn display(&self, user: UserId) -> Result<String, ServiceError> {
        let u = self
            .storage
            .user_by_id(user)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(u.display_name.unwrap_or(u.username))
    }

    pub async fn send_request(
        &self,
        who: &Principal,
        to: UserId,
    ) -> Result<ContactRequest, ServiceError> {
        if to == who.user_id {
            return Err(ServiceError::field("user_id", "cannot be yourself"));
        }
        if self.storage.user_by_id(to).await?.is_none() {
            return Err(ServiceError::field(
                "user_id",
                format!("no user with id {to}"),
            ));
        }
        let preview = format!(
            "{} wants to add you as a contact",
            self.display(who.user_id).await?
        );
        let (request, committed) = self
            .storage
            .create_contact_request(who.user_id, to, preview, self.clock.now_ms())
            .await
            .map_err(|e| {
                conflict(
                    e,
                    "already contacts, or a request between you is already pending",
                )
            })?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(render::contact_request(&request))
    }

    /// Accepts, declines (recipient) or cancels (sender) a pending request.
    pub async fn resolve(
        &self,
        who: &Principal,
        id: ContactRequestId,
        status: ContactRequestStatus,
    ) -> Result<ContactRequest, ServiceError> {
        let request = self
            .storage
            .contact_request(id)
            .await?
            .filter(|r| r.from_user == who.user_id || r.to_user == who.user_id)
            .ok_or(ServiceError::NotFound)?;
        let allowed = match status {
            ContactRequestStatus::Accepted | ContactRequestStatus::Declined => {
                request.to_user == who.user_id
            }
            ContactRequestStatus::Cancelled => request.from_user == who.user_id,
            ContactRequestStatus::Pending => false,
        };
        if !allowed {
            return Err(ServiceError::Forbidden);
        }
        let preview = format!(
            "{} accepted your contact request",
            self.display(who.user_id).await?
        );
        let (request, committed) = self
            .storage
            .resolve_contact_request(id, who.user_id, status, preview, self.clock.now_ms())
            .await
            .map_err(|e| conflict(e, "the request is no longer pending"))?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(render::contact_request(&request))
    }

    pub async fn requests(&self, who: &Principal) -> Result<ContactRequestList, ServiceError> {
        let (incoming, outgoing): (Vec<_>, Vec<_>) = self
            .storage
            .pending_contact_requests(who.user_id)
            .await?
            .into_iter()
            .partition(|r| r.to_user == who.user_id);
        Ok(ContactRequestList {
            incoming: incoming.iter().map(render::contact_request).collect(),
            outgoing: outgoing.iter().map(render::contact_request).collect(),
        })
    }

    pub async fn list(&self, who: &Principal) -> Result<ContactList, ServiceError> {
        let mut items = Vec::new();
        for c in self.storage.contacts(who.user_id).await? {
            if let Some(u) = self.storage.user_by_id(c.user_id).await? {
                items.push(Contact {
                    user: to_user(&u),
                    since: rfc3339(c.since_ms),
                    presence: self.fanout.presence(c.user_id),
                });
            }
        }
        Ok(ContactList { items })
    }

    pub async fn remove(&self, who: &Principal, other: UserId) -> Result<(), ServiceError> {
        let committed = self
            .storage
            .remove_contact(who.user_id, other, self.clock.now_ms())
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(())
    }
}
