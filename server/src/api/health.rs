//! `GET /api/v1/health`: liveness plus a database round trip, for clients and monitoring.
//! `GET /api/v1/ready`: readiness for load balancers and orchestrators: the database and, in a
//! cluster, Redis answer, and the instance is not draining. An instance that cannot reach Redis
//! still serves its own clients correctly (the database is the truth; see `cluster::bus`), but
//! their view of the other instances lags, so it asks not to get new ones.

use super::typed::Reply;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use jeco_shared::endpoints::{Endpoint, GetHealth, GetReady};
use jeco_shared::health::{Health, Readiness};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
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

/// Whether this instance should get new clients: `200` when the database (and, in a cluster,
/// Redis) answers and the instance is not draining; `503` otherwise, saying which.
#[utoipa::path(
    get,
    path = GetReady::PATH,
    tag = "meta",
    responses(
        (status = 200, description = "Ready for new clients", body = Readiness),
        (status = 503, description = "Not ready: the database or Redis does not answer, or the instance is draining", body = Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> Reply<GetReady> {
    let (database, redis) = tokio::join!(state.storage.ping(), async {
        match &state.cluster {
            Some(cluster) => Some(cluster.ping().await),
            None => None,
        }
    });
    let word = |ok: bool| if ok { "ok" } else { "unavailable" }.to_owned();
    let database_ok = database.is_ok();
    let redis_ok = redis.as_ref().is_none_or(Result::is_ok);
    let draining = state.gateway.is_draining();
    let ready = database_ok && redis_ok && !draining;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    if let Some(Err(e)) = &redis {
        tracing::warn!(error = %e, "readiness: Redis unavailable");
    }
    let body = Readiness {
        ready,
        database: word(database_ok),
        redis: redis.map(|r| word(r.is_ok())),
        draining,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Reply::with_status(status, body)
}
