//! A tiny fixed-size pool of rusqlite connections used from async code.
//!
//! rusqlite is blocking, so every use runs on tokio's blocking thread pool (`spawn_blocking`) and
//! never stalls the async workers. A handful of connections is enough: SQLite in WAL mode lets
//! readers proceed alongside one writer, and writers serialize on the database lock anyway (they
//! wait up to `busy_timeout`). A semaphore hands out connections fairly; no external pool crate is
//! needed for that.

use super::super::StorageError;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub(super) struct Pool {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    /// Connections it was made with (for the `jeco_db_pool_size` series).
    size: usize,
}

impl Drop for Pool {
    fn drop(&mut self) {
        crate::metrics::get().db_pool_size.sub(self.size as i64);
    }
}

impl Pool {
    pub(super) fn new(connections: Vec<Connection>) -> Self {
        crate::metrics::get()
            .db_pool_size
            .add(connections.len() as i64);
        let permits = Arc::new(Semaphore::new(connections.len()));
        Self {
            size: connections.len(),
            idle: Arc::new(Mutex::new(connections)),
            permits,
        }
    }

    /// Runs `f` with a connection on a blocking thread.
    ///
    /// The blocking task itself puts the connection back and only then releases its permit, so a
    /// caller that stops waiting (a request whose client went away drops its handler's future)
    /// cannot lose the connection: were it returned after the `await`, the permit would go back
    /// without it and a later `run` would find the pool empty.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StorageError::Backend(e.into()))?;
        let mut conn = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .ok_or_else(|| StorageError::Backend("connection pool is empty".into()))?;
        let idle = self.idle.clone();
        // Lent out until the blocking task gives the connection back (or drops it).
        let in_use = crate::metrics::GaugeGuard::new(&crate::metrics::get().db_pool_in_use);
        let joined = tokio::task::spawn_blocking(move || {
            let _in_use = in_use;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut conn))) {
                Ok(result) => {
                    idle.lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(conn);
                    drop(permit);
                    result
                }
                Err(panic) => {
                    // The connection may be mid-transaction: drop it and shrink the pool instead
                    // of handing out a permit without a connection.
                    drop(conn);
                    permit.forget();
                    std::panic::resume_unwind(panic)
                }
            }
        })
        .await;
        joined.map_err(|e| StorageError::Backend(Box::new(e)))?
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pool(n: usize) -> Pool {
        Pool::new(
            (0..n)
                .map(|_| Connection::open_in_memory().unwrap())
                .collect(),
        )
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_does_not_lose_the_connection() {
        let pool = pool(1);
        let slow = pool.run(|_| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        // Dropped while the blocking task still holds the connection.
        assert!(
            tokio::time::timeout(Duration::from_millis(10), slow)
                .await
                .is_err()
        );
        for _ in 0..3 {
            let one: i64 = pool
                .run(|c| {
                    c.query_row("SELECT 1", [], |r| r.get(0))
                        .map_err(|e| StorageError::Backend(e.into()))
                })
                .await
                .unwrap();
            assert_eq!(one, 1);
        }
    }

    #[tokio::test]
    async fn a_panicking_closure_shrinks_the_pool_instead_of_emptying_it() {
        let pool = pool(2);
        let e = pool.run::<(), _>(|_| panic!("boom")).await;
        assert!(e.is_err());
        assert_eq!(pool.permits.available_permits(), 1);
        pool.run(|_| Ok(())).await.unwrap();
    }
}
