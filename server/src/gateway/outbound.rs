//! The write side of a connection: a bounded queue drained by one writer task.
//!
//! Producers never wait: [`Outbox::push`] either enqueues or reports that the client is not keeping
//! up, and the connection is then closed with 4006. The writer coalesces: everything queued when it
//! wakes goes out with one flush (one `write` for many frames). A close request bypasses the queue (a slow
//! client must still be told why it is being dropped) and is itself bounded by a timeout.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long the writer tries to deliver a close frame before giving up on the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Enqueues frames for one connection.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Message>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue is full: the client reads too slowly.
    #[error("outbound queue is full")]
    Full,
    /// The writer has stopped (the socket is gone).
    #[error("connection is closed")]
    Closed,
}

impl Outbox {
    /// Enqueues, waiting up to `patience` for room. Only for a connection's own bulk output (a
    /// resume replay larger than the queue), never for fan-out.
    pub async fn push_wait(&self, message: Message, patience: Duration) -> Result<(), PushError> {
        self.tx
            .send_timeout(message, patience)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => PushError::Full,
                mpsc::error::SendTimeoutError::Closed(_) => PushError::Closed,
            })
    }

    pub fn push(&self, message: Message) -> Result<(), PushError> {
        self.tx.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PushError::Full,
            mpsc::error::TrySendError::Closed(_) => PushError::Closed,
        })
    }
}

/// Asks the writer to send a close frame and stop.
#[derive(Debug)]
pub struct Closer(oneshot::Sender<CloseRequest>);

#[derive(Debug)]
struct CloseRequest {
    frame: CloseFrame,
    /// Deliver frames already queued first (an error frame explaining the close), unless the close
    /// is because the client is not reading.
    flush: bool,
}

impl Closer {
    pub fn close(self, code: u16, reason: &str, flush: bool) {
        let frame = CloseFrame {
            code,
            reason: reason.to_owned().into(),
        };
        let _ = self.0.send(CloseRequest { frame, flush });
    }
}

/// Creates the queue and spawns the writer task for `sink`.
pub fn spawn(
    sink: SplitSink<WebSocket, Message>,
    capacity: usize,
) -> (Outbox, Closer, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity);
    let (close_tx, close_rx) = oneshot::channel();
    let task = tokio::spawn(write_loop(sink, rx, close_rx));
    (Outbox { tx }, Closer(close_tx), task)
}

/// Frames written with one flush at most: bounds the write buffer a burst can grow.
const COALESCE_MAX: usize = 64;

/// Writes `first` and whatever else is already queued (up to [`COALESCE_MAX`]) with one flush, so
/// a connection that receives a burst of events pays one socket write for many frames.
async fn write_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    queue: &mut mpsc::Receiver<Message>,
    first: Message,
) -> Result<(), axum::Error> {
    sink.feed(first).await?;
    for _ in 1..COALESCE_MAX {
        match queue.try_recv() {
            Ok(message) => sink.feed(message).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<CloseRequest>,
) {
    let request = loop {
        let message = tokio::select! {
            biased;
            request = &mut close => break request.ok(),
            message = queue.recv() => match message {
                Some(m) => m,
                None => break None,
            },
        };
        // A send blocked on a full socket must not delay the close.
        tokio::select! {
            biased;
            request = &mut close => break request.ok(),
            sent = write_batch(&mut sink, &mut queue, message) => if sent.is_err() { return },
        }
    };
    if let Some(CloseRequest { frame, flush }) = request {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            if flush {
                while let Ok(message) = queue.try_recv() {
                    sink.send(message).await?;
                }
            }
            sink.send(Message::Close(Some(frame))).await
        })
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_is_reported_instead_of_waited_on() {
        let (tx, rx) = mpsc::channel(2);
        let outbox = Outbox { tx };
        outbox.push(Message::text("1")).unwrap();
        outbox.push(Message::text("2")).unwrap();
        assert_eq!(outbox.push(Message::text("3")), Err(PushError::Full));
        drop(rx);
        assert_eq!(outbox.push(Message::text("4")), Err(PushError::Closed));
    }
}
