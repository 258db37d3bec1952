//! Errors of starting and administering a server (not of requests: those are
//! [`crate::services::ServiceError`] and the client-visible error codes).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Secret(#[from] crate::signing_secret::SecretError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("cannot read the listener's address: {0}")]
    Listener(std::io::Error),
    #[error("cannot listen for metrics on {addr}: {source}")]
    MetricsListener {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("admin bootstrap failed: {0}")]
    AdminBootstrap(crate::services::ServiceError),
    #[error(transparent)]
    Service(#[from] crate::services::ServiceError),
    #[error("cannot open the media store: {0}")]
    Media(crate::services::media::blobs::BlobError),
    #[error("cannot set up mail: {0}")]
    Mail(String),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}
