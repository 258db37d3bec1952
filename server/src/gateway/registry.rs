//! Index of live, authenticated connections by user and by session.
//!
//! A connection registers after its hello succeeds and is removed when its [`Registration`] drops,
//! so the index cannot leak entries on any exit path. Control messages (close with a code) go to
//! the connection task, which owns its socket; the registry never touches sockets itself and its
//! lock is only held for map updates.

use crate::services::SessionObserver;
use jeco_shared::ws::close;
use jeco_shared::{SessionId, UserId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Identifies one connection for its lifetime.
pub type ConnectionId = u64;

/// A request to close a connection with a WebSocket close code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: &'static str,
}

struct Entry {
    user: UserId,
    session: SessionId,
    control: mpsc::Sender<CloseRequest>,
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

    /// Registers a connection; close requests for it arrive on the returned receiver.
    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        session: SessionId,
    ) -> (Registration, mpsc::Receiver<CloseRequest>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (control, rx) = mpsc::channel(1);
        let mut index = self.lock();
        index.connections.insert(
            id,
            Entry {
                user,
                session,
                control,
            },
        );
        index.by_session.entry(session).or_default().insert(id);
        index.by_user.entry(user).or_default().insert(id);
        (
            Registration {
                registry: self.clone(),
                id,
            },
            rx,
        )
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
            // A full control channel already holds a close request; one is enough.
            let _ = entry.control.try_send(request.clone());
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_session_reaches_only_that_session() {
        let reg = Arc::new(Registry::default());
        let (a, mut rx_a) = reg.register(UserId(1), SessionId(10));
        let (_b, mut rx_b) = reg.register(UserId(1), SessionId(11));
        assert_eq!(reg.user_connection_count(UserId(1)), 2);
        reg.session_revoked(SessionId(10));
        assert_eq!(rx_a.recv().await.unwrap().code, close::TOKEN_REVOKED);
        assert!(rx_b.try_recv().is_err());
        drop(a);
        assert_eq!(reg.connection_count(), 1);
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
}
