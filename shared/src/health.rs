//! `GET /api/v1/health`.

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
