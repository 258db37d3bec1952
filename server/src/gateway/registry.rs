//! Index of live, authenticated connections by user and by session, and the in-process
//! [`Fanout`].
//!
//! A connection registers after its hello succeeds and is removed when its [`Registration`] drops,
//! so the index cannot leak entries on any exit path. Close requests and [`Delivery`]s (encoded
//! frames) go to the connection's [`Mailbox`]; the connection task owns its socket, the registry
//! never touches sockets itself and its lock is only held for map updates and non-blocking pushes
//! into mailboxes — never across an `await`.
//!
//! Publishing encodes nothing: the frame arrives as JSON text, becomes one reference-counted
//! [`Utf8Bytes`] and every recipient connection gets a clone of the same bytes. A connection whose
//! delivery queue is full is asked to close with 4006 (it will resume); the others are unaffected.

use super::mailbox::Mailbox;
use crate::services::{Fanout, Outgoing, SessionObserver, Stream};
use axum::extract::ws::Utf8Bytes;
use jeco_shared::events::PresenceStatus;
use jeco_shared::ws::close;
use jeco_shared::{SessionId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Identifies one connection for its lifetime.
pub type ConnectionId = u64;

/// A request to close a connection with a WebSocket close code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: &'static str,
}

/// An encoded frame for one connection; the bytes are shared with every other recipient.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub stream: Stream,
    pub frame: Utf8Bytes,
}

struct Entry {
    user: UserId,
    session: SessionId,
    mailbox: Arc<Mailbox>,
    away: bool,
}

#[derive(Default)]
struct Index {
    connections: HashMap<ConnectionId, Entry>,
    by_session: HashMap<SessionId, HashSet<ConnectionId>>,
    by_user: HashMap<UserId, HashSet<ConnectionId>>,
}

#[derive(Default)]
pub struct Registry {
    index: Mutex<Index>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("connections", &self.connection_count())
            .finish()
    }
}

/// Keeps a connection registered; dropping it unregisters.
pub struct Registration {
    registry: Arc<Registry>,
    id: ConnectionId,
}

impl Registration {
    pub fn id(&self) -> ConnectionId {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection. Close requests and published frames (at most `queue` waiting) for
    /// it arrive in the returned mailbox.
    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        session: SessionId,
        queue: usize,
    ) -> (Registration, Arc<Mailbox>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::new(queue));
        let mut index = self.lock();
        index.connections.insert(
            id,
            Entry {
                user,
                session,
                mailbox: mailbox.clone(),
                away: false,
            },
        );
        index.by_session.entry(session).or_default().insert(id);
        index.by_user.entry(user).or_default().insert(id);
        (
            Registration {
                registry: self.clone(),
                id,
            },
            mailbox,
        )
    }

    /// Marks one connection away (or back).
    pub fn set_away(&self, id: ConnectionId, away: bool) {
        if let Some(entry) = self.lock().connections.get_mut(&id) {
            entry.away = away;
        }
    }

    fn remove(&self, id: ConnectionId) {
        let mut index = self.lock();
        let Some(entry) = index.connections.remove(&id) else {
            return;
        };
        if let Some(set) = index.by_session.get_mut(&entry.session) {
            set.remove(&id);
            if set.is_empty() {
                index.by_session.remove(&entry.session);
            }
        }
        if let Some(set) = index.by_user.get_mut(&entry.user) {
            set.remove(&id);
            if set.is_empty() {
                index.by_user.remove(&entry.user);
            }
        }
    }

    /// Asks every connection of `session` to close. Returns how many were asked.
    pub fn close_session(&self, session: SessionId, request: CloseRequest) -> usize {
        let index = self.lock();
        let Some(ids) = index.by_session.get(&session) else {
            return 0;
        };
        let mut asked = 0;
        for entry in ids.iter().filter_map(|id| index.connections.get(id)) {
            entry.mailbox.close(request.clone());
            asked += 1;
        }
        asked
    }

    pub fn connection_count(&self) -> usize {
        self.lock().connections.len()
    }

    pub fn user_connection_count(&self, user: UserId) -> usize {
        self.lock().by_user.get(&user).map_or(0, HashSet::len)
    }

    /// Tells every connection to compare its positions with the database and send what it lacks
    /// (after the cluster bus may have lost a message; see `cluster::bus`).
    pub fn catch_up_all(&self) {
        let index = self.lock();
        for entry in index.connections.values() {
            entry.mailbox.deliver(Delivery {
                stream: Stream::CatchUp,
                frame: Utf8Bytes::from_static(""),
            });
        }
    }

    /// The users with at least one live connection.
    pub fn connected_users(&self) -> HashSet<UserId> {
        self.lock().by_user.keys().copied().collect()
    }
}

impl Fanout for Registry {
    fn publish(&self, recipients: &[UserId], frame: Outgoing) {
        let bytes = Utf8Bytes::from(frame.json);
        let index = self.lock();
        for user in recipients {
            let Some(ids) = index.by_user.get(user) else {
                continue;
            };
            for entry in ids.iter().filter_map(|id| index.connections.get(id)) {
                // A full mailbox turns into a 4006 close request for that connection alone.
                entry.mailbox.deliver(Delivery {
                    stream: frame.stream,
                    frame: bytes.clone(),
                });
            }
        }
    }

    fn presence(&self, user: UserId) -> PresenceStatus {
        let index = self.lock();
        let Some(ids) = index.by_user.get(&user) else {
            return PresenceStatus::Offline;
        };
        let mut entries = ids
            .iter()
            .filter_map(|id| index.connections.get(id))
            .peekable();
        if entries.peek().is_none() {
            PresenceStatus::Offline
        } else if entries.any(|e| !e.away) {
            PresenceStatus::Online
        } else {
            PresenceStatus::Away
        }
    }
}

impl SessionObserver for Registry {
    fn session_revoked(&self, session: SessionId) {
        let closed = self.close_session(
            session,
            CloseRequest {
                code: close::TOKEN_REVOKED,
                reason: "the session was logged out or revoked",
            },
        );
        if closed > 0 {
            tracing::info!(
                session = session.0,
                connections = closed,
                "closing revoked session's sockets"
            );
        }
    }

    fn sessions_signed_out(&self, sessions: &[SessionId]) {
        for &session in sessions {
            let closed = self.close_session(
                session,
                CloseRequest {
                    code: close::SIGNED_OUT,
                    reason: "the session was signed out from another session",
                },
            );
            if closed > 0 {
                tracing::info!(
                    session = session.0,
                    connections = closed,
                    "closing signed-out session's sockets"
                );
            }
        }
    }

    fn account_deactivated(&self, sessions: &[SessionId]) {
        for &session in sessions {
            let closed = self.close_session(
                session,
                CloseRequest {
                    code: close::DEACTIVATED,
                    reason: "the account was deactivated by a server admin",
                },
            );
            if closed > 0 {
                tracing::info!(
                    session = session.0,
                    connections = closed,
                    "closing deactivated account's sockets"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::mailbox::Mail;

    #[tokio::test]
    async fn close_session_reaches_only_that_session() {
        let reg = Arc::new(Registry::default());
        let (a, rx_a) = reg.register(UserId(1), SessionId(10), 4);
        let (b, rx_b) = reg.register(UserId(1), SessionId(11), 4);
        assert_eq!(reg.user_connection_count(UserId(1)), 2);
        assert_eq!(reg.connected_users(), HashSet::from([UserId(1)]));
        reg.session_revoked(SessionId(10));
        assert!(matches!(rx_a.recv().await, Mail::Close(r) if r.code == close::TOKEN_REVOKED));
        assert!(rx_b.take().is_none());
        drop(a);
        assert_eq!(reg.connection_count(), 1);
        assert_eq!(reg.connected_users(), HashSet::from([UserId(1)]));
        drop(b);
        assert!(reg.connected_users().is_empty());
        assert_eq!(
            reg.close_session(
                SessionId(10),
                CloseRequest {
                    code: 1,
                    reason: ""
                }
            ),
            0
        );
    }

    #[tokio::test]
    async fn publish_shares_bytes_and_drops_slow_consumers() {
        let reg = Arc::new(Registry::default());
        let (a, del_a) = reg.register(UserId(1), SessionId(10), 1);
        let (_b, del_b) = reg.register(UserId(2), SessionId(11), 1);
        let (_c, del_c) = reg.register(UserId(3), SessionId(12), 1);
        let frame_of = |mail: Option<Mail>| match mail {
            Some(Mail::Delivery(d)) => d.frame,
            other => panic!("expected a delivery, got {other:?}"),
        };
        let frame = |json: &str| Outgoing {
            stream: Stream::Ephemeral,
            json: json.into(),
        };
        reg.publish(&[UserId(1), UserId(2)], frame("{\"n\":1}"));
        let got_a = frame_of(Some(del_a.recv().await));
        let got_b = frame_of(del_b.take());
        assert_eq!(got_a.as_str(), "{\"n\":1}");
        // The same allocation, not a copy.
        assert_eq!(got_a.as_str().as_ptr(), got_b.as_str().as_ptr());
        assert!(del_c.take().is_none());
        // User 2 has not read its first frame... now it has; fill its queue of one and overflow.
        reg.publish(&[UserId(2)], frame("2"));
        reg.publish(&[UserId(2)], frame("3"));
        assert!(matches!(del_b.recv().await, Mail::Close(r) if r.code == close::SLOW_CONSUMER));
        assert_eq!(reg.presence(UserId(1)), PresenceStatus::Online);
        reg.set_away(a.id(), true);
        assert_eq!(reg.presence(UserId(1)), PresenceStatus::Away);
        drop(a);
        assert_eq!(reg.presence(UserId(1)), PresenceStatus::Offline);
    }
}
