//! The send connection's own thread.
//!
//! Sends are stored by one group-commit writer ([`crate::storage::group_commit`]) a batch at a
//! time, always on the same connection. Running each batch through the blocking pool
//! (`spawn_blocking`) handed it to whichever pool thread was free — under load tokio's blocking
//! pool grew to dozens of threads, and the profile of `jeco-bench durable` showed the kernel
//! switching between them (`finish_task_switch`) as the largest single cost. One long-lived
//! thread that owns the connection takes each batch from a channel instead: it stays hot (its
//! statement cache, its stack, its CPU caches), and a batch costs one wake-up of that thread and
//! one of the task that waits for it.
//!
//! The channel is unbounded because what feeds it is bounded: the group-commit writer has one
//! batch in flight at a time, behind a bounded queue of its own.
//!
//! On Linux the thread asks for precedence over the server's other threads ([`WRITER_NICE`]):
//! every durable send waits for it, and at nice 0 it spent a quarter of each batch waiting for a
//! CPU behind the tokio workers that feed it (BENCHMARKS.md, "Twelfth session" and "Thirteenth
//! session"). Lowering a nice value needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows it (the
//! packaged systemd units set `LimitNICE=-10`); without either the thread runs at the process's
//! nice value, which is only slower.

use super::super::StorageError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

fn stopped() -> StorageError {
    StorageError::Backend("the SQLite writer thread has stopped".into())
}

/// The send writer's nice value on Linux: the process's threads run at 0 by default, and -10
/// gives the writer about nine times their share of a contended CPU (CFS weights 9548 and 1024).
/// It cannot starve them: it has one batch at a time and sleeps until they queue the next. In
/// the issue's `durable` runs -10 reached 49,000–55,300 acks/s (7 of 8 runs above 51,400) and -5
/// 44,300–55,400 (BENCHMARKS.md, "Thirteenth session").
#[cfg(target_os = "linux")]
pub(super) const WRITER_NICE: i32 = -10;

/// Runs the calling thread at [`WRITER_NICE`] when allowed (see the module docs); refused, it
/// says so once in the log and carries on.
fn raise_precedence() {
    #[cfg(target_os = "linux")]
    {
        // `PRIO_PROCESS` with no id is the calling thread on Linux (nice values are per thread).
        match rustix::process::setpriority_process(None, WRITER_NICE) {
            Ok(()) => tracing::debug!(
                nice = WRITER_NICE,
                "the SQLite send writer runs with precedence"
            ),
            Err(e) => tracing::info!(
                error = %e,
                "the SQLite send writer runs without precedence (nice {WRITER_NICE} needs \
                 CAP_SYS_NICE or LimitNICE={WRITER_NICE})"
            ),
        }
    }
}

impl Writer {
    /// Starts the thread; it ends (closing the connection) when the `Writer` is dropped and the
    /// jobs already sent have run.
    pub(super) fn spawn(mut conn: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("jeco-sqlite-writer".into())
            .spawn(move || {
                raise_precedence();
                for job in queue {
                    job(&mut conn);
                }
            })?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the writer thread with its connection.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |conn: &mut Connection| {
                // A panic rolls back the job's transaction (the `Transaction` guard's drop) and is
                // reported to the caller; the thread and its connection carry on.
                let result = catch_unwind(AssertUnwindSafe(|| f(conn)));
                let _ = answer.send(result);
            }))
            .map_err(|_| stopped())?;
        match answered.await {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(StorageError::Backend(
                "a write on the SQLite writer thread panicked".into(),
            )),
            Err(_) => Err(stopped()),
        }
    }
}
