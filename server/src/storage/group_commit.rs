//! Group commit for sends: a writer task stores concurrent sends in one transaction — the
//! batching strategy a backend chooses for itself ([`Storage::send_queue`]).
//!
//! **Whose strategy.** How sends are batched belongs to each backend, because what a batch costs
//! does: SQLite serializes its writers, so its queue has one writer whose batches span every
//! conversation; PostgreSQL has row locks and a batch's time is mostly round trips, so its queue
//! has several writers (*lanes*), a conversation always in the same lane, and its `send_messages`
//! locks a batch's conversations in ascending id order, so batches on different lanes or instances
//! never deadlock. Both use this machinery with their own lane count; a backend with another
//! strategy implements [`SendQueue`] itself. The services only see [`SendQueue::send`].
//!
//! A commit costs more than the rows it writes (WAL frames, locks, index flushes): measured with
//! `storage_append`, one writer stores ~3,600 messages/s one per transaction and ~16,800/s in
//! batches of 256. So every send is queued here, and one writer task takes whatever has queued up
//! — at most [`MAX_BATCH`] — and stores it with one
//! [`send_messages`](crate::storage::MessageStore::send_messages) call: one transaction, positions
//! assigned in queue order, a refused message failing alone. While that commit runs, the next
//! batch queues; there is no timer, so a lone send is not delayed and a busy server batches by
//! itself. A second task publishes each committed batch while the next one commits.
//!
//! A commit also syncs the WAL to disk before it returns (`synchronous = FULL`, see
//! [`crate::storage::sqlite`]): ~2 ms on the benchmark machine's disk, however many messages the
//! batch holds. Batching is what makes that affordable — one sync per batch, not per message — and
//! the sync adds to the batch's time, so the next batch queues up longer and is larger by itself.
//!
//! Only after the commit does the writer, in batch order, publish each new message's events and
//! then answer its caller — so **an ack still means committed and on disk**, events leave in position order (no
//! connection has to fill a gap caused by two publishers racing), and a `client_id` repeated within
//! a batch is stored once (the store sees the first while storing the second). The queue is bounded
//! ([`QUEUE`]): when the database falls behind, senders wait for room instead of piling up memory.
//!
//! **Authorization happens in the batch's transaction.** The common send (no `@username`, not a
//! reply) reads nothing before it is queued: the store checks that the sender is a member and the
//! conversation is not an archived channel inside the write transaction, before it writes
//! anything, and answers [`SendOutcome::Refused`](crate::storage::SendOutcome::Refused) otherwise
//! — which the messages service turns into the same `not_found` / `conversation_archived` as
//! before. A read before the queue cost each message a hand-off to a blocking thread (the largest
//! cost in the `durable` profile, BENCHMARKS.md) and left a window between check and insert; now a
//! message costs no hand-off of its own, only its batch does, and no removal or archiving that
//! commits before the message can slip through. Who is notified is decided in the same
//! transaction ([`NotifyPlan`](crate::storage::NotifyPlan)), from the kind and members it reads,
//! and the sender's rate limit is asked there after those checks
//! ([`Admission`](crate::storage::Admission)), so a refused send still costs no budget.

use super::{Committed, NewMessage, SendOutcome, Storage, StorageError};
use async_trait::async_trait;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// What the writer does with each committed send, in commit order, before its caller hears of it:
/// the services publish its events to the recipients' connections (and the cluster's bus).
pub type Publish = Arc<dyn Fn(&Committed) + Send + Sync>;

/// Where the services hand a send: stored (batched as the backend chooses), published, then
/// answered — an answer means committed and on disk.
#[async_trait]
pub trait SendQueue: Send + Sync {
    async fn send(&self, message: NewMessage) -> Result<SendOutcome, StorageError>;
}

/// Most messages in one transaction: bounds the time one commit holds the write lock (and so the
/// latency of everything queued behind it) and the memory of a batch.
pub const MAX_BATCH: usize = 256;
/// Sends waiting for the writer before callers wait for room.
pub const QUEUE: usize = 4 * MAX_BATCH;

struct Job {
    message: NewMessage,
    reply: oneshot::Sender<Result<SendOutcome, StorageError>>,
}

pub struct GroupCommit {
    storage: Arc<dyn Storage>,
    publish: Publish,
    lanes: usize,
    /// One queue per writer; started on first use, so constructing the services needs no runtime.
    queues: OnceLock<Vec<mpsc::Sender<Job>>>,
}

impl GroupCommit {
    /// Group commit over `storage` with `lanes` writers (at least one).
    pub fn new(storage: Arc<dyn Storage>, publish: Publish, lanes: usize) -> Self {
        Self {
            storage,
            publish,
            lanes: lanes.max(1),
            queues: OnceLock::new(),
        }
    }
}

#[async_trait]
impl SendQueue for GroupCommit {
    /// Stores `message` with whatever else is being sent, and returns once it is committed and its
    /// events are published.
    async fn send(&self, message: NewMessage) -> Result<SendOutcome, StorageError> {
        let queues = self.queues.get_or_init(|| {
            (0..self.lanes)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(write_loop(rx, self.storage.clone(), self.publish.clone()));
                    tx
                })
                .collect()
        });
        // A conversation always goes through the same writer: its batches commit, and its events
        // are published, in position order.
        let lane = message.conversation_id.0.unsigned_abs() as usize % queues.len();
        let queue = &queues[lane];
        let (reply, answer) = oneshot::channel();
        queue
            .send(Job { message, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StorageError {
    StorageError::Backend("the message writer has stopped".into())
}

async fn write_loop(mut queue: mpsc::Receiver<Job>, storage: Arc<dyn Storage>, publish: Publish) {
    // Publishing a batch (its events to every recipient's connection, then the acks) overlaps the
    // next batch's commit: done in between, it left the writer thread idle ~20 % of the time under
    // load (`jeco-bench durable`, BENCHMARKS.md). Batches reach the publisher in commit order, and
    // each message is acknowledged only after its own commit, as before.
    let (committed, to_publish) = mpsc::channel::<Stored>(1);
    tokio::spawn(publish_loop(to_publish, publish));
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (messages, replies): (Vec<NewMessage>, Vec<_>) =
            jobs.drain(..).map(|j| (j.message, j.reply)).unzip();
        let began = std::time::Instant::now();
        let size = messages.len();
        let stored = storage.send_messages(messages).await;
        let metrics = crate::metrics::get();
        metrics.commit_batch_size.observe(size as f64);
        metrics
            .commit_batch_seconds
            .observe(began.elapsed().as_secs_f64());
        tracing::debug!(
            size,
            micros = began.elapsed().as_micros() as u64,
            "batch committed"
        );
        if committed.send(Stored { stored, replies }).await.is_err() {
            break;
        }
    }
}

/// A committed (or failed) batch on its way to the publisher.
struct Stored {
    stored: Result<Vec<Result<SendOutcome, StorageError>>, StorageError>,
    replies: Vec<oneshot::Sender<Result<SendOutcome, StorageError>>>,
}

async fn publish_loop(mut batches: mpsc::Receiver<Stored>, publish: Publish) {
    while let Some(Stored { stored, replies }) = batches.recv().await {
        match stored {
            Ok(results) => {
                for (result, reply) in results.into_iter().zip(replies) {
                    if let Ok(SendOutcome::Created { committed, .. }) = &result {
                        publish(committed);
                    }
                    // A caller that went away (its connection closed) still had its message stored.
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                let text = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StorageError::Backend(text.clone().into())));
                }
            }
        }
    }
}
