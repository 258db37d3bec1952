//! A tiny fixed-size pool of rusqlite connections used from async code.
//!
//! rusqlite is blocking, so every use runs on tokio's blocking thread pool (`spawn_blocking`) and
//! never stalls the async workers. A handful of connections is enough: SQLite in WAL mode lets
//! readers proceed alongside one writer, and writers serialize on the database lock anyway (they
//! wait up to `busy_timeout`). A semaphore hands out connections fairly; no external pool crate is
//! needed for that.

use super::super::StorageError;
use rusqlite::Connection;
use std::sync::Mutex;
use tokio::sync::Semaphore;

pub(super) struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Pool {
    pub(super) fn new(connections: Vec<Connection>) -> Self {
        let permits = Semaphore::new(connections.len());
        Self {
            idle: Mutex::new(connections),
            permits,
        }
    }

    /// Runs `f` with a connection on a blocking thread.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| StorageError::Backend(e.into()))?;
        let mut conn = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .ok_or_else(|| StorageError::Backend("connection pool is empty".into()))?;
        let joined = tokio::task::spawn_blocking(move || {
            let result = f(&mut conn);
            (conn, result)
        })
        .await;
        match joined {
            Ok((conn, result)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(conn);
                drop(permit);
                result
            }
            Err(e) => {
                // The closure panicked and took its connection with it: shrink the pool instead of
                // handing out a permit without a connection.
                permit.forget();
                Err(StorageError::Backend(Box::new(e)))
            }
        }
    }
}

#[cfg(test)]
impl Pool {
    /// Runs `f` on every idle connection, in this thread: for tests that check each connection's
    /// settings (a `run` may hand out the same connection every time).
    pub(super) fn each_idle<T>(&self, mut f: impl FnMut(&Connection) -> T) -> Vec<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        idle.iter().map(&mut f).collect()
    }
}
