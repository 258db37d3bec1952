//! The embedded server: a full `jeco-server` running inside the app process.
//!
//! It is what makes the app work with zero setup — install, open, register — and lets one person
//! host a small team. Its data lives in `<app data dir>/server`, so it survives restarts. It listens
//! on loopback unless the person chooses to host on the local network (see [`crate::hosting`]);
//! a larger or always-on team is what the standalone `jeco-server` is for.

use jeco_client::ServerAddress;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the embedded server listens unless `JECO_DESKTOP_EMBEDDED_BIND` says otherwise: loopback,
/// any free port (the address is shown on the login screen and tokens are keyed by data directory,
/// not port, so a new port each run loses nothing).
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Why the embedded server did not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("could not listen on {bind}: {source}")]
    Bind {
        bind: SocketAddr,
        source: std::io::Error,
    },
    #[error("the embedded server could not start: {0}")]
    Start(#[from] jeco_server::Error),
}

/// A running embedded server.
#[derive(Debug)]
pub struct EmbeddedServer {
    server: jeco_server::RunningServer,
    address: ServerAddress,
    data_dir: PathBuf,
}

impl EmbeddedServer {
    /// Starts a server with its data in `data_dir`, listening on `bind`. Must run inside the
    /// app's tokio runtime: the server spawns its tasks there.
    pub async fn start(data_dir: &Path, bind: SocketAddr) -> Result<Self, EmbeddedError> {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| EmbeddedError::Bind { bind, source })?;
        let mut config = jeco_server::Config::with_data_dir(data_dir);
        config.bind = listener
            .local_addr()
            .map_err(|source| EmbeddedError::Bind { bind, source })?;
        let server = jeco_server::RunningServer::start(config, listener).await?;
        // Listening on every interface, the app itself still talks to it over loopback.
        let mut local = server.local_addr();
        if local.ip().is_unspecified() {
            local.set_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        }
        let address = ServerAddress::parse(&format!("http://{local}"))
            .expect("a socket address is a valid server address");
        tracing::info!(%address, data_dir = %data_dir.display(), "embedded server started");
        Ok(Self {
            server,
            address,
            data_dir: data_dir.to_owned(),
        })
    }

    pub fn address(&self) -> &ServerAddress {
        &self.address
    }

    /// The port it listens on.
    pub fn local_port(&self) -> u16 {
        self.server.local_addr().port()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The users connected to it right now.
    pub fn connected_users(&self) -> std::collections::HashSet<jeco_shared::UserId> {
        self.server.connected_users()
    }

    /// Graceful stop (in-flight requests finish, WebSockets are closed with 1001).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_serves_and_keeps_data_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("server");
        let server = EmbeddedServer::start(&data, DEFAULT_BIND).await.unwrap();
        let client = jeco_client::Client::builder(server.address().as_str())
            .build()
            .unwrap();
        assert_eq!(client.health().await.unwrap().status, "ok");
        client
            .register("embedded_user", "long enough password", None)
            .await
            .unwrap();
        server.shutdown().await;

        // Same data directory, new port: the account is still there.
        let server = EmbeddedServer::start(&data, DEFAULT_BIND).await.unwrap();
        let client = jeco_client::Client::builder(server.address().as_str())
            .build()
            .unwrap();
        let user = client
            .login("embedded_user", "long enough password")
            .await
            .unwrap();
        assert_eq!(user.username, "embedded_user");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn busy_address_is_a_bind_error() {
        let taken = tokio::net::TcpListener::bind(DEFAULT_BIND).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = EmbeddedServer::start(dir.path(), taken.local_addr().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, EmbeddedError::Bind { .. }), "{err:?}");
    }
}
