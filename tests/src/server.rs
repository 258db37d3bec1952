//! A real `jeco-server` for a scenario: started on `127.0.0.1:0` with its own temporary data
//! directory, stopped gracefully by [`TestServer::stop`].

use jeco_server::{Config, RunningServer};

pub struct TestServer {
    server: RunningServer,
    // Kept so the directory lives as long as the server.
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut config = Config::with_data_dir(data.path().join("server"));
        config.bind = listener.local_addr()?;
        let server = RunningServer::start(config, listener).await?;
        Ok(Self {
            server,
            _data: data,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}
