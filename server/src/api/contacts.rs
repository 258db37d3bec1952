//! `/api/v1/contacts/*`: contacts and contact requests.

use super::errors::ApiError;
use super::extract::{Auth, Path};
use super::typed::{Body, Reply};
use crate::state::AppState;
use axum::extract::State;
use jeco_shared::contacts::{
    ContactList, ContactRequest, ContactRequestList, ContactRequestStatus, SendContactRequest,
};
use jeco_shared::endpoints::{
    AcceptContactRequest, CancelContactRequest, ContactRequests, Contacts, DeclineContactRequest,
    Endpoint, RemoveContact, SendContactRequestTo,
};
use jeco_shared::{ContactRequestId, ErrorBody, UserId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(requests, send_request))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cancel))
        .routes(routes!(remove))
}

/// The caller's contacts, by username, with their presence.
#[utoipa::path(get, path = Contacts::PATH, tag = "contacts", security(("bearer" = [])),
    responses(
        (status = 200, body = ContactList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<Contacts>, ApiError> {
    Ok(Reply::ok(state.chat.contacts.list(&who).await?))
}

/// The caller's pending contact requests, incoming and outgoing.
#[utoipa::path(get, path = ContactRequests::PATH, tag = "contacts", security(("bearer" = [])),
    responses(
        (status = 200, body = ContactRequestList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn requests(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Reply<ContactRequests>, ApiError> {
    Ok(Reply::ok(state.chat.contacts.requests(&who).await?))
}

/// Ask a user to become a contact; they get a notification and a live event.
#[utoipa::path(post, path = SendContactRequestTo::PATH, tag = "contacts", security(("bearer" = [])),
    request_body = SendContactRequest,
    responses(
        (status = 201, body = ContactRequest),
        (status = 400, description = "Unknown user or oneself", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "Already contacts, or a request is pending", body = ErrorBody),
    ))]
pub async fn send_request(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<SendContactRequestTo>,
) -> Result<Reply<SendContactRequestTo>, ApiError> {
    let r = state.chat.contacts.send_request(&who, req.user_id).await?;
    Ok(Reply::created(r))
}

/// Accept, decline and cancel answer alike: the request as it stands now.
async fn resolve<E: Endpoint<Response = ContactRequest>>(
    state: AppState,
    who: crate::services::Principal,
    id: i64,
    status: ContactRequestStatus,
) -> Result<Reply<E>, ApiError> {
    Ok(Reply::ok(
        state
            .chat
            .contacts
            .resolve(&who, ContactRequestId(id), status)
            .await?,
    ))
}

/// Accept a request sent to the caller: the two become contacts.
#[utoipa::path(post, path = AcceptContactRequest::PATH, tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact request id")),
    responses(
        (status = 200, body = ContactRequest),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller sent it", body = ErrorBody),
        (status = 404, description = "No such request of the caller's", body = ErrorBody),
        (status = 409, description = "No longer pending", body = ErrorBody),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<AcceptContactRequest>, ApiError> {
    resolve(state, who, id, ContactRequestStatus::Accepted).await
}

/// Decline a request sent to the caller.
#[utoipa::path(post, path = DeclineContactRequest::PATH, tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact request id")),
    responses(
        (status = 200, body = ContactRequest),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller sent it", body = ErrorBody),
        (status = 404, description = "No such request of the caller's", body = ErrorBody),
        (status = 409, description = "No longer pending", body = ErrorBody),
    ))]
pub async fn decline(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<DeclineContactRequest>, ApiError> {
    resolve(state, who, id, ContactRequestStatus::Declined).await
}

/// Cancel a request the caller sent.
#[utoipa::path(delete, path = CancelContactRequest::PATH, tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact request id")),
    responses(
        (status = 200, body = ContactRequest),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller received it", body = ErrorBody),
        (status = 404, description = "No such request of the caller's", body = ErrorBody),
        (status = 409, description = "No longer pending", body = ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<i64>,
) -> Result<Reply<CancelContactRequest>, ApiError> {
    resolve(state, who, id, ContactRequestStatus::Cancelled).await
}

/// Stop being contacts with a user (both ways).
#[utoipa::path(delete, path = RemoveContact::PATH, tag = "contacts", security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The contact's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Not a contact", body = ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<i64>,
) -> Result<Reply<RemoveContact>, ApiError> {
    state.chat.contacts.remove(&who, UserId(user_id)).await?;
    Ok(Reply::no_content())
}
