//! PostgreSQL backend of [`Storage`]: the database several server instances share.
//!
//! **Driver.** [`tokio_postgres`] is the async PostgreSQL driver the Rust ecosystem builds on: the
//! protocol in pure Rust (no libpq), pipelining, binary parameters, and a prepared-statement API;
//! [`deadpool_postgres`] is the small pool made for it (connections checked when reused, a
//! statement cache per connection). sqlx would bring its own macros, runtime layer and a second
//! SQLite driver next to rusqlite; diesel is synchronous at heart. Connections are plain TCP or a
//! Unix socket: put PostgreSQL on the same host or a private network (TLS to the database is not
//! built in).
//!
//! **Positions.** Every change to a conversation updates the conversation's row
//! (`last_seq = last_seq + 1 … RETURNING last_seq`) in the transaction that stores the change and
//! its event ([`log::append_event`]): the row lock is held until commit, so a second writer of
//! the same conversation waits, and positions are gap-free and become visible in order — on any
//! number of server instances. Writes of different conversations do not wait for each other.
//! A transaction that locks several conversations locks them in ascending id order, so two
//! instances can never deadlock on each other's locks.
//!
//! **Durability.** A transaction's `COMMIT` returns once its WAL record is flushed
//! (`synchronous_commit = on`, PostgreSQL's default; the server checks it at open and warns when
//! it is off): an acknowledged write survives power loss.
//!
//! **Schema.** Migrations live in `server/migrations/postgres/` ([`migrate`]); they run at open
//! under an advisory lock, so instances starting together apply each one once.
//!
//! One file per concern, as in the SQLite backend: [`accounts`], [`conversations`], [`messages`],
//! [`events`], [`notifications`], [`search`], [`contacts`], [`media`], [`teams`], [`credentials`],
//! [`two_factor`], [`admin`]; [`log`] holds the helpers every write transaction uses to append
//! events.

mod accounts;
mod admin;
mod contacts;
mod conversations;
mod credentials;
mod events;
pub(crate) mod log;
mod media;
mod messages;
mod migrate;
mod notifications;
mod search;
mod teams;
mod two_factor;

use super::{Storage, StorageError};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use tokio_postgres::NoTls;

/// Connections in the pool of one server instance. PostgreSQL's default `max_connections` is 100:
/// a few instances fit beside other clients.
const POOL_SIZE: usize = 16;

pub struct PgStorage {
    pool: Pool,
    /// The URL without its password, for logs and errors.
    shown: String,
    /// Messages a search walks newest first before it looks up the rest another way
    /// ([`search`]'s module doc).
    search_walk_rows: i64,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// The driver's error in the storage's terms: a unique or primary-key violation is a
/// [`StorageError::Conflict`], anything else a backend error.
pub(crate) fn pg(e: tokio_postgres::Error) -> StorageError {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        StorageError::Conflict
    } else {
        StorageError::Backend(Box::new(e))
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StorageError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg(e),
        other => StorageError::Backend(Box::new(other)),
    }
}

/// A method this backend does not have yet: an error, never a panic.
#[allow(dead_code)]
fn not_yet(what: &str) -> StorageError {
    StorageError::Backend(format!("postgres backend: {what} is not implemented yet").into())
}

/// `url` with any password replaced, fit for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PgStorage {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or any form
    /// [`tokio_postgres::Config`] parses) and applies pending migrations.
    pub async fn open(url: &str, now_ms: i64) -> Result<Self, StorageError> {
        let shown = redact(url);
        let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StorageError::Open {
            path: shown.clone().into(),
            source: e,
        };
        let config = tokio_postgres::Config::from_str(url).map_err(|e| open_err(Box::new(e)))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| open_err(Box::new(e)))?;
        let mut client = pool.get().await.map_err(|e| open_err(Box::new(e)))?;
        let applied = migrate::migrate(&mut client, now_ms).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        let sync: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(pg)?
            .get(0);
        if sync == "off" {
            tracing::warn!(
                synchronous_commit = %sync,
                "PostgreSQL acknowledges commits before they are on disk: an acknowledged \
                 message can be lost in a power failure"
            );
        }
        drop(client);
        crate::metrics::get().db_pool_size.add(POOL_SIZE as i64);
        Ok(Self {
            pool,
            shown,
            search_walk_rows: search::SEARCH_WALK_ROWS,
        })
    }

    /// Makes searches walk `rows` messages newest first (at least 1) before they look up the
    /// rest another way, instead of [`search::SEARCH_WALK_ROWS`]. For tests: with a window of a
    /// few rows, a handful of messages takes a search through both of its ways and their seam.
    pub fn with_search_walk_rows(mut self, rows: i64) -> Self {
        self.search_walk_rows = rows.max(1);
        self
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StorageError> {
        self.pool.get().await.map_err(pool_error)
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        crate::metrics::get().db_pool_size.sub(POOL_SIZE as i64);
    }
}

/// Commits `tx`, counted in `jeco_db_commits_total` (one WAL flush each, as on SQLite).
pub(crate) async fn commit(tx: deadpool_postgres::Transaction<'_>) -> Result<(), StorageError> {
    tx.commit().await.map_err(pg)?;
    crate::metrics::get().db_commits.inc();
    Ok(())
}

/// Group-commit writers on PostgreSQL (see [`Storage::send_queue`]): half the pool, so reads
/// always find a connection.
const SEND_LANES: usize = POOL_SIZE / 2;

#[async_trait]
impl Storage for PgStorage {
    /// [`SEND_LANES`] writers, a conversation always on the same one (its positions commit and
    /// publish in order); a batch locks its conversations in ascending id order, so batches of
    /// different writers, or of other instances, never deadlock (see [`messages`]).
    fn send_queue(
        self: std::sync::Arc<Self>,
        publish: super::group_commit::Publish,
    ) -> std::sync::Arc<dyn super::group_commit::SendQueue> {
        std::sync::Arc::new(super::group_commit::GroupCommit::new(
            self, publish, SEND_LANES,
        ))
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.client()
            .await?
            .query_one("SELECT 1", &[])
            .await
            .map(drop)
            .map_err(pg)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            super::redact("postgres://jeco:s3cret@db:5432/jeco"),
            "postgres://jeco:***@db:5432/jeco"
        );
        assert_eq!(
            super::redact("postgres://jeco@db/jeco"),
            "postgres://jeco@db/jeco"
        );
        assert_eq!(
            super::redact("host=/run/postgresql"),
            "host=/run/postgresql"
        );
    }
}
