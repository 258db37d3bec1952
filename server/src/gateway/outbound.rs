//! The write side of a connection: a bounded queue that the connection's own task writes out.
//!
//! There is no writer task: the connection task polls [`Outbound::poll_write`] in the same turn in
//! which it reads (see [`super::connection`]), so a reply or a delivery costs no wake-up of a second
//! task, and an idle connection holds one task's state instead of two plus a channel.
//!
//! [`Outbound::push`] never waits: it enqueues or reports that the client is not keeping up, and
//! the connection is then closed with 4006 (it resumes on reconnect) instead of buffering without
//! bound. Writing coalesces: everything queued (up to [`COALESCE_MAX`] frames) goes into the
//! socket's write buffer and out with one flush, i.e. one `write` for many frames. The state lives
//! in the queue and the socket, not in a future, so dropping a pending write (another event won
//! the connection's `select!`) loses nothing.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::Sink;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

/// Frames written with one flush at most: bounds the write buffer a burst can grow.
const COALESCE_MAX: usize = 64;

/// Queue capacity an empty queue may keep (a burst's memory is given back).
const IDLE_CAPACITY: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue is full: the client reads too slowly.
    #[error("outbound queue is full")]
    Full,
}

/// Frames waiting for the socket, at most `capacity` of them.
#[derive(Debug)]
pub struct Outbound {
    queue: VecDeque<Message>,
    capacity: usize,
    /// Frames handed to the socket since its last flush.
    unflushed: usize,
}

impl Outbound {
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            unflushed: 0,
        }
    }

    pub fn push(&mut self, message: Message) -> Result<(), PushError> {
        if self.queue.len() >= self.capacity {
            return Err(PushError::Full);
        }
        self.queue.push_back(message);
        Ok(())
    }

    /// Nothing queued and nothing waiting for a flush.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.unflushed == 0
    }

    /// Moves queued frames into the socket and flushes them. `Ready(Ok)` once everything is
    /// written; `Pending` while the socket cannot take more (the task is woken when it can).
    pub fn poll_write(
        &mut self,
        ws: &mut WebSocket,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), axum::Error>> {
        let metrics = crate::metrics::get();
        loop {
            if self.unflushed < COALESCE_MAX && !self.queue.is_empty() {
                ready!(Pin::new(&mut *ws).poll_ready(cx))?;
                if self.unflushed == 0 {
                    // Once per coalesced write: how far behind this connection is.
                    metrics
                        .ws_outbound_queue_depth
                        .observe(self.queue.len() as f64);
                }
                if let Some(message) = self.queue.pop_front() {
                    Pin::new(&mut *ws).start_send(message)?;
                    self.unflushed += 1;
                    metrics.ws_frames_out.inc();
                }
                continue;
            }
            if self.unflushed == 0 {
                if self.queue.capacity() > IDLE_CAPACITY {
                    self.queue = VecDeque::new();
                }
                return Poll::Ready(Ok(()));
            }
            ready!(Pin::new(&mut *ws).poll_flush(cx))?;
            self.unflushed = 0;
        }
    }

    /// Writes `frames` after whatever is queued, a batch at a time, waiting up to `patience` per
    /// batch for the socket to take it. Only for a connection's own bulk output before its live
    /// loop (`ready` and a resume replay), which may be larger than the queue.
    pub async fn write_bulk(
        &mut self,
        ws: &mut WebSocket,
        frames: impl IntoIterator<Item = Message>,
        patience: Duration,
    ) -> Result<(), WriteError> {
        let mut frames = frames.into_iter().peekable();
        while frames.peek().is_some() {
            self.queue.extend(frames.by_ref().take(COALESCE_MAX));
            self.write_all(ws, patience).await?;
        }
        self.write_all(ws, patience).await
    }

    /// Writes everything queued, waiting up to `patience` for the socket to take it.
    async fn write_all(
        &mut self,
        ws: &mut WebSocket,
        patience: Duration,
    ) -> Result<(), WriteError> {
        tokio::time::timeout(patience, std::future::poll_fn(|cx| self.poll_write(ws, cx)))
            .await
            .map_err(|_| WriteError::Slow)?
            .map_err(|_| WriteError::Gone)
    }

    /// Queues the close frame — after the frames still queued when `flush` (an error frame that
    /// explains the close), else instead of them (the client is not reading). It goes past the
    /// capacity: a slow client must still be told why it is dropped.
    pub fn close(&mut self, frame: CloseFrame, flush: bool) {
        if !flush {
            self.queue.clear();
        }
        self.queue.push_back(Message::Close(Some(frame)));
    }
}

/// Why a bulk write did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The socket took nothing for the whole patience: a slow consumer.
    Slow,
    /// The socket failed.
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_is_reported_instead_of_waited_on() {
        let mut out = Outbound::new(2);
        out.push(Message::text("1")).unwrap();
        out.push(Message::text("2")).unwrap();
        assert_eq!(out.push(Message::text("3")), Err(PushError::Full));
        assert!(!out.is_idle());
    }
}
