//! `GET /api/v1/health`: liveness plus a database round trip, for load balancers and clients.

use super::typed::Reply;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use jeco_shared::endpoints::{Endpoint, GetHealth};
use jeco_shared::health::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Server and protocol version; `status` is `ok` when the database answers.
#[utoipa::path(
    get,
    path = GetHealth::PATH,
    tag = "meta",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> Reply<GetHealth> {
    let (status, text) = match state.storage.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    };
    let body = Health {
        status: text.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: jeco_shared::PROTOCOL_VERSION.to_owned(),
    };
    Reply::with_status(status, body)
}
