//! `GET /api/v1/health` (liveness) and `GET /api/v1/ready` (readiness, for load balancers).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Health {
    /// `"ok"` when the server can reach its database.
    pub status: String,
    /// Server version (the crate version).
    pub version: String,
    /// Protocol version, see [`crate::PROTOCOL_VERSION`].
    pub protocol: String,
}

/// Whether this instance should get new clients now. `200` when `ready`, else `503`: a load
/// balancer or orchestrator routes around an instance whose database or Redis does not answer, or
/// that is draining for a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub ready: bool,
    /// `"ok"` or `"unavailable"`.
    pub database: String,
    /// `"ok"` or `"unavailable"` in a cluster (`--redis-url`); absent for a single instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// True from the moment the instance was asked to stop (SIGTERM) until it exits.
    pub draining: bool,
}
