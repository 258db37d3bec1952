//! Contacts (`/api/v1/contacts/*`): people a user has agreed to be connected with.
//!
//! One user sends a contact request; the other accepts or declines it, and the sender may cancel it
//! while it is pending. At most one request between two users is pending at a time, and none while
//! they are already contacts. An accepted request makes both users contacts of each other until
//! either removes the other. Every change to a request (sent, accepted, declined, cancelled) is
//! pushed to both users as a
//! [`UserEventBody::ContactRequestChanged`](crate::events::UserEventBody::ContactRequestChanged) at
//! their own `seq`; removing a contact as
//! [`UserEventBody::ContactRemoved`](crate::events::UserEventBody::ContactRemoved).

use crate::events::PresenceStatus;
use crate::ids::{ContactRequestId, UserId};
use crate::users::User;
use serde::{Deserialize, Serialize};

/// Where a contact request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ContactRequestStatus {
    Pending,
    Accepted,
    Declined,
    /// Withdrawn by its sender.
    Cancelled,
}

/// One contact request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactRequest {
    pub id: ContactRequestId,
    pub from_user_id: UserId,
    pub to_user_id: UserId,
    pub status: ContactRequestStatus,
    /// RFC 3339 UTC timestamp.
    pub created_at: String,
    /// When it was accepted, declined or cancelled.
    pub resolved_at: Option<String>,
}

/// `GET /api/v1/contacts/requests`: the caller's pending requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactRequestList {
    /// Sent to the caller, waiting for their answer.
    pub incoming: Vec<ContactRequest>,
    /// Sent by the caller, waiting for the other side.
    pub outgoing: Vec<ContactRequest>,
}

/// `POST /api/v1/contacts/requests`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SendContactRequest {
    pub user_id: UserId,
}

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contact {
    pub user: User,
    /// RFC 3339 UTC timestamp of the acceptance.
    pub since: String,
    pub presence: PresenceStatus,
}

/// `GET /api/v1/contacts`: by username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContactList {
    pub items: Vec<Contact>,
}
