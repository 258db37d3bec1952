//! Assembling and running a server: what `jeco-server serve`, the desktop app's embedded mode and
//! the tests all use.
//!
//! [`RunningServer::start`] takes an already-bound listener (so callers choose the port, including
//! `127.0.0.1:0`), opens the data directory, and returns once the server is accepting.
//! [`RunningServer::shutdown`] stops accepting, lets in-flight requests finish, closes WebSockets
//! with 1001 and waits for them.

use crate::api;
use crate::api::rate_limit::AuthRateLimiter;
use crate::cluster::Cluster;
use crate::cluster::bus::Hub;
use crate::config::Config;
use crate::config::Database;
use crate::error::Error;
use crate::gateway::registry::Registry;
use crate::gateway::{Gateway, GatewaySettings};
use crate::services::accounts::AccountSettings;
use crate::services::admin::Admin;
use crate::services::media::MediaSettings;
use crate::services::media::blobs::Blobs;
use crate::services::recovery::RecoverySettings;
use crate::services::sessions::Sessions;
use crate::services::tokens::TokenKeys;
use crate::services::{Accounts, Chat, Media, NoObserver, Recovery, SessionObserver};
use crate::signing_secret;
use crate::state::AppState;
use crate::storage::Storage;
use crate::storage::postgres::PgStorage;
use crate::storage::sqlite::SqliteStorage;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<()>,
    gateway: Arc<Gateway>,
    hub: Arc<Hub>,
    /// For [`RunningServer::sweep_media`].
    media: Arc<Media>,
    media_sweeper: JoinHandle<()>,
    /// The metrics listener (`metrics_addr`), if configured: its address, its stop and its task.
    metrics: Option<(SocketAddr, oneshot::Sender<()>, JoinHandle<()>)>,
}

/// Storage, signing keys and the accounts service for a data directory: the part of a server that
/// the admin CLI needs too.
pub(crate) struct Core {
    pub storage: Arc<dyn Storage>,
    pub accounts: Arc<Accounts>,
    /// The signing secret, from which the media service derives its URL-signing key.
    pub secret: signing_secret::SigningSecret,
}

pub(crate) async fn open_core(
    config: &Config,
    observer: Arc<dyn SessionObserver>,
) -> Result<Core, Error> {
    config.validate()?;
    create_data_dir(&config.data_dir).map_err(|source| Error::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let secret = signing_secret::load_or_create(&config.secret_path())?;
    let storage: Arc<dyn Storage> = match config.database()? {
        Database::Sqlite(path) => Arc::new(SqliteStorage::open(path, config.clock.now_ms()).await?),
        Database::Postgres(url) => Arc::new(PgStorage::open(&url, config.clock.now_ms()).await?),
    };
    let two_factor = Arc::new(crate::services::two_factor::TwoFactor::new(
        storage.clone(),
        secret.bytes(),
        crate::services::two_factor::TwoFactorSettings::from_config(config),
    ));
    let accounts = Arc::new(Accounts::new(
        storage.clone(),
        TokenKeys::new(secret.bytes()),
        AccountSettings::from_config(config),
        observer,
        two_factor,
    ));
    Ok(Core {
        storage,
        accounts,
        secret,
    })
}

/// Creates the data directory (owner-only on Unix: it holds the signing secret and every account).
fn create_data_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Opens the data directory without serving (for `jeco-server admin`).
pub async fn open_accounts(config: &Config) -> Result<Arc<Accounts>, Error> {
    Ok(open_core(config, Arc::new(NoObserver)).await?.accounts)
}

/// Server administration on the data directory without serving (`jeco-server admin
/// list-users`, `deactivate`…; safe while a server runs, see [`crate::services::admin`]). No mail
/// goes out from here, so passwords are set, not mailed.
pub async fn open_admin(config: &Config) -> Result<Arc<Admin>, Error> {
    let core = open_core(config, Arc::new(NoObserver)).await?;
    Ok(Arc::new(Admin::new(
        core.storage,
        Arc::new(NoObserver),
        None,
        config.clock.clone(),
    )))
}

/// Storage used per user, read from the data directory (`jeco-server admin usage`; safe while a
/// server runs). See [`crate::services::media::quota`].
pub async fn media_usage(config: &Config) -> Result<jeco_shared::media::MediaUsageReport, Error> {
    let core = open_core(config, Arc::new(NoObserver)).await?;
    let quota = (config.media_quota_bytes > 0).then_some(config.media_quota_bytes);
    Ok(crate::services::media::quota::usage_report(core.storage.as_ref(), quota).await?)
}

impl RunningServer {
    /// Opens the database (migrating it), loads or creates the signing secret, creates the
    /// bootstrap admin if configured, and starts serving on `listener`.
    pub async fn start(config: Config, listener: TcpListener) -> Result<RunningServer, Error> {
        let local_addr = listener.local_addr().map_err(Error::Listener)?;
        // Bound first: a metrics address that cannot be had fails the start before anything opens.
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .and_then(|l| Ok((l.local_addr()?, l)))
                    .map_err(|source| Error::MetricsListener { addr, source })?,
            ),
            None => None,
        };
        config.validate()?;
        let registry = Arc::new(Registry::default());
        // In a cluster, the hub also carries events and revocations to the other instances.
        let cluster = match &config.redis_url {
            Some(url) => {
                let cluster = Cluster::connect(url).await?;
                tracing::info!(
                    instance = cluster.instance(),
                    "joined the cluster through Redis"
                );
                Some(cluster)
            }
            None => None,
        };
        let hub = match &cluster {
            Some(cluster) => Hub::clustered(registry.clone(), cluster.clone()),
            None => Hub::local(registry.clone()),
        };
        let Core {
            storage,
            accounts,
            secret,
        } = open_core(&config, hub.clone()).await?;
        if let (Some(username), Some(password)) = (&config.admin_username, &config.admin_password) {
            let created = accounts
                .ensure_admin(username, password.expose())
                .await
                .map_err(Error::AdminBootstrap)?;
            if created {
                tracing::info!(%username, "created the bootstrap admin account");
            }
        }
        let mailer = crate::services::mail::from_config(&config).map_err(Error::Mail)?;
        // Said once, so whoever runs the server knows where codes and reset tokens go.
        tracing::info!("mail: {}", mailer.describe());
        let login_codes = Arc::new(crate::services::login_code::LoginCodes::new(
            storage.clone(),
            mailer.clone(),
            accounts.clone(),
            crate::services::login_code::LoginCodeSettings::from_config(&config),
        ));
        let recovery = Arc::new(Recovery::new(
            storage.clone(),
            mailer,
            hub.clone(),
            RecoverySettings::from_config(&config),
        ));
        let sessions = Arc::new(Sessions::new(
            storage.clone(),
            hub.clone(),
            config.clock.clone(),
        ));
        let admin = Arc::new(Admin::new(
            storage.clone(),
            hub.clone(),
            Some(recovery.clone()),
            config.clock.clone(),
        ));
        // In a cluster, the message and sign-in budgets are the cluster's (see `services::rate`).
        let budgets = cluster.as_ref().map(|c| {
            crate::cluster::budgets::RedisBudgets::new(c.clone())
                as Arc<dyn crate::services::rate::SharedBudgets>
        });
        let chat = Chat::new(storage.clone(), hub.clone(), budgets.clone(), &config);
        let blobs = Blobs::from_config(&config).map_err(Error::Media)?;
        let media = Arc::new(
            Media::new(
                storage.clone(),
                crate::services::access::Access::new(storage.clone()),
                blobs,
                secret.bytes(),
                MediaSettings::from_config(&config),
                chat.orphans.clone(),
            )
            .map_err(|source| Error::DataDir {
                path: config.uploads_path(),
                source,
            })?,
        );
        let exports = Arc::new(
            crate::services::export::Exports::new(
                storage.clone(),
                media.blobs().clone(),
                config.exports_path(),
                config.clock.clone(),
            )
            .map_err(|source| Error::DataDir {
                path: config.exports_path(),
                source,
            })?,
        );
        media.resume_thumbnails().await;
        let media_sweeper = media.spawn_sweeper();
        let media_for_sweeps = media.clone();
        let gateway = Arc::new(Gateway::new(
            registry,
            accounts.clone(),
            chat.clone(),
            GatewaySettings::from_config(&config),
        ));
        let state = AppState {
            two_factor: accounts.two_factor().clone(),
            accounts,
            login_codes,
            recovery,
            sessions,
            admin,
            chat,
            storage,
            media,
            exports,
            gateway: gateway.clone(),
            cluster,
            auth_limiter: Arc::new(AuthRateLimiter::new(
                config.auth_rate_per_minute,
                config.auth_rate_burst,
                budgets,
            )),
            trusted_proxies: config.trusted_proxies.clone().into(),
        };
        let app = api::router(state, &config);
        let (stop, stopped) = oneshot::channel::<()>();
        let limits = crate::connections::Limits::from_config(&config);
        let serving = tokio::spawn(crate::connections::serve(
            listener,
            app,
            limits,
            async move {
                let _ = stopped.await;
            },
        ));
        let metrics = metrics_listener.map(|(addr, listener)| {
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(crate::api::observe::serve_metrics(listener, async move {
                let _ = stopped.await;
            }));
            tracing::info!(%addr, "metrics served at http://{addr}/metrics");
            (addr, stop, task)
        });
        tracing::info!(addr = %local_addr, data_dir = %config.data_dir.display(), "jeco-server started");
        Ok(RunningServer {
            local_addr,
            stop,
            serving,
            gateway,
            hub,
            media: media_for_sweeps,
            media_sweeper,
            metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `/metrics` is served (`metrics_addr`, with the port it got), if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _, _)| *addr)
    }

    /// The users connected right now (live WebSockets). The desktop app hosting this server asks
    /// before quitting while anyone but its own user is in it.
    pub fn connected_users(&self) -> std::collections::HashSet<jeco_shared::UserId> {
        self.gateway.registry.connected_users()
    }

    /// Runs one round of the media sweeper now (stale uploads, expired unattached attachments,
    /// unreferenced blobs) and says what it removed. The background sweeper runs the same round
    /// on its interval and when media may have lost its last reference; this is for whoever must
    /// know a round ran after something happened: a test that has moved the clock past an expiry,
    /// or that checks that a blob still in use survives a round.
    pub async fn sweep_media(
        &self,
    ) -> Result<crate::services::media::sweep::Swept, crate::services::ServiceError> {
        self.media.sweep().await
    }

    /// Graceful stop: no new connections, in-flight requests finish, WebSockets close with 1001.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.gateway.shutdown().await;
        let _ = self.serving.await;
        self.hub.stop().await;
        self.media_sweeper.abort();
        if let Some((_, stop, task)) = self.metrics {
            let _ = stop.send(());
            let _ = task.await;
        }
        tracing::info!("jeco-server stopped");
    }
}
