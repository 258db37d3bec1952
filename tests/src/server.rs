//! A real `jeco-server` for a scenario: started on `127.0.0.1:0` with its own temporary data
//! directory, stopped gracefully by [`TestServer::stop`].

use jeco_server::{Config, RunningServer};

pub struct TestServer {
    server: RunningServer,
    // Kept so the directory lives as long as the server.
    data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// [`TestServer::start`] with some settings changed first (a scenario that signs in more
    /// often than the per-address `/auth` budget allows, say).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut config = Config::with_data_dir(data.path().join("server"));
        config.bind = listener.local_addr()?;
        configure(&mut config);
        let server = RunningServer::start(config, listener).await?;
        Ok(Self { server, data })
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    /// The server's data directory; its dev mailer writes each mail into `mail/` there.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.data.path().join("server")
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}
