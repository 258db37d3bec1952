//! What the [`super::registry::Registry`] hands one connection: published frames, in a bounded
//! queue, and at most one request to close.
//!
//! Why not two tokio channels (as before): an idle connection paid for them up front — each
//! bounded `mpsc` allocates its shared state and a first block of 32 slots whether or not anything
//! is ever sent, about 3 KiB per connection for the two — and every delivery cost its own
//! semaphore round trip. Here one small allocation per connection holds a `VecDeque` that
//! allocates only once frames arrive, the close request, and a [`Notify`].
//!
//! Publishers never wait: [`Mailbox::deliver`] pushes under a short `std` mutex (never held across
//! an `await`) or, when the connection already has `capacity` frames waiting, leaves a close
//! request with 4006 instead (the client resumes on reconnect). The owner is woken only when the
//! mailbox goes from empty to non-empty; it takes frames one at a time and waits again only after
//! it has seen the mailbox empty, so no wake-up is lost.

use super::registry::{CloseRequest, Delivery};
use jeco_shared::ws::close;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Debug)]
pub struct Mailbox {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    deliveries: VecDeque<Delivery>,
    close: Option<CloseRequest>,
}

/// What the owner finds in its mailbox.
#[derive(Debug)]
pub enum Mail {
    Close(CloseRequest),
    Delivery(Delivery),
}

impl Mailbox {
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a delivery; a full mailbox asks its connection to close as a slow consumer instead.
    pub fn deliver(&self, delivery: Delivery) {
        let mut state = self.lock();
        if state.close.is_some() {
            return;
        }
        let wake = state.deliveries.is_empty();
        if state.deliveries.len() >= self.capacity {
            state.close = Some(CloseRequest {
                code: close::SLOW_CONSUMER,
                reason: "outbound queue full",
            });
        } else {
            state.deliveries.push_back(delivery);
            if !wake {
                return;
            }
        }
        drop(state);
        self.notify.notify_one();
    }

    /// Asks the connection to close; the first request wins.
    pub fn close(&self, request: CloseRequest) {
        let mut state = self.lock();
        if state.close.is_none() {
            state.close = Some(request);
            drop(state);
            self.notify.notify_one();
        }
    }

    /// The close request, else the oldest delivery, else `None` (without waiting).
    pub fn take(&self) -> Option<Mail> {
        let mut state = self.lock();
        if let Some(request) = state.close.clone() {
            return Some(Mail::Close(request));
        }
        let delivery = state.deliveries.pop_front()?;
        if state.deliveries.is_empty() && state.deliveries.capacity() > IDLE_CAPACITY {
            // A burst is over: give its memory back rather than keep it per idle connection.
            state.deliveries = VecDeque::new();
        }
        Some(Mail::Delivery(delivery))
    }

    /// Waits for mail. Cancel-safe: nothing is taken until the returned mail.
    pub async fn recv(&self) -> Mail {
        loop {
            if let Some(mail) = self.take() {
                return mail;
            }
            // A `notify_one` between `take` and here leaves a permit, so this returns at once.
            self.notify.notified().await;
        }
    }

    /// Deliveries waiting (for tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().deliveries.len()
    }
}

/// Deliveries' queue capacity an empty mailbox may keep.
const IDLE_CAPACITY: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Stream;
    use axum::extract::ws::Utf8Bytes;
    use std::sync::Arc;
    use std::time::Duration;

    fn delivery(n: u32) -> Delivery {
        Delivery {
            stream: Stream::Ephemeral,
            frame: Utf8Bytes::from(n.to_string()),
        }
    }

    #[tokio::test]
    async fn a_full_mailbox_turns_into_a_slow_consumer_close() {
        let mailbox = Mailbox::new(2);
        mailbox.deliver(delivery(1));
        mailbox.deliver(delivery(2));
        assert_eq!(mailbox.waiting(), 2);
        mailbox.deliver(delivery(3));
        match mailbox.recv().await {
            Mail::Close(r) => assert_eq!(r.code, close::SLOW_CONSUMER),
            other => panic!("expected a close, got {other:?}"),
        }
        // The first close request wins.
        mailbox.close(CloseRequest {
            code: close::TOKEN_REVOKED,
            reason: "",
        });
        assert!(matches!(mailbox.take(), Some(Mail::Close(r)) if r.code == close::SLOW_CONSUMER));
    }

    #[tokio::test]
    async fn deliveries_arrive_in_order_and_wake_a_waiting_owner() {
        let mailbox = Arc::new(Mailbox::new(64));
        let waiter = tokio::spawn({
            let mailbox = mailbox.clone();
            async move {
                let mut got = Vec::new();
                while got.len() < 40 {
                    match mailbox.recv().await {
                        Mail::Delivery(d) => got.push(d.frame.as_str().parse::<u32>().unwrap()),
                        Mail::Close(r) => panic!("unexpected close {r:?}"),
                    }
                }
                got
            }
        });
        for n in 0..40 {
            mailbox.deliver(delivery(n));
            if n % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the owner was not woken")
            .unwrap();
        assert_eq!(got, (0..40).collect::<Vec<_>>());
        assert_eq!(mailbox.waiting(), 0);
    }
}
