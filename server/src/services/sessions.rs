//! The caller's signed-in sessions: which they are, and ending one or all others.
//!
//! A session is a refresh-token family (see `accounts`); it records the `User-Agent` it signed in
//! with and the address and time of its latest sign-in or refresh, which is what a person needs to
//! recognise "my phone" from "not me". "Last active" is the last refresh, not the last request:
//! writing a row on every request would cost more than it tells (access tokens live 15 minutes,
//! so a client in use refreshes at least that often).
//!
//! Ending a session here revokes it like a logout, so its access and refresh tokens stop working
//! at once, and closes its live sockets with [`close::SIGNED_OUT`] rather than `TOKEN_REVOKED`,
//! so the device can tell its person that it was signed out from elsewhere.
//!
//! [`close::SIGNED_OUT`]: jeco_shared::ws::close::SIGNED_OUT

use super::render::rfc3339;
use super::{Principal, ServiceError, SessionObserver};
use crate::storage::Storage;
use jeco_shared::SessionId;
use jeco_shared::account::{SessionInfo, SessionList, SignedOut};
use std::sync::Arc;

/// Longest client name kept for a session (its `User-Agent`), in characters.
pub const SESSION_CLIENT_MAX: usize = 128;

pub struct Sessions {
    storage: Arc<dyn Storage>,
    observer: Arc<dyn SessionObserver>,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

impl Sessions {
    pub fn new(
        storage: Arc<dyn Storage>,
        observer: Arc<dyn SessionObserver>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            storage,
            observer,
            clock,
        }
    }

    /// `GET /users/me/sessions`
    pub async fn list(&self, who: &Principal) -> Result<SessionList, ServiceError> {
        let rows = self
            .storage
            .live_sessions(who.user_id, self.clock.now_ms())
            .await?;
        Ok(SessionList {
            items: rows
                .into_iter()
                .map(|s| SessionInfo {
                    id: s.id,
                    client: s.client,
                    address: s.addr,
                    created_at: rfc3339(s.created_at_ms),
                    last_active_at: rfc3339(s.last_active_at_ms),
                    current: s.id == who.session_id,
                })
                .collect(),
        })
    }

    /// `DELETE /users/me/sessions/{id}`: another user's session, or one that does not exist, is
    /// `404` alike. The session asking is refused (`409`): that is a logout (`POST /auth/logout`),
    /// and a client that wants one should say so rather than pull the ground from under itself.
    pub async fn end(&self, who: &Principal, session: SessionId) -> Result<(), ServiceError> {
        if session == who.session_id {
            return Err(ServiceError::Conflict(
                "this is the session asking; sign it out with POST /auth/logout".into(),
            ));
        }
        let record = self
            .storage
            .session(session)
            .await?
            .filter(|s| s.user_id == who.user_id && !s.revoked)
            .ok_or(ServiceError::NotFound)?;
        if self
            .storage
            .revoke_session(record.id, self.clock.now_ms())
            .await?
        {
            self.observer.sessions_signed_out(&[record.id]);
        }
        Ok(())
    }

    /// `POST /users/me/sessions/sign-out-others`
    pub async fn sign_out_others(&self, who: &Principal) -> Result<SignedOut, ServiceError> {
        let ended = self
            .storage
            .revoke_sessions_except(who.user_id, Some(who.session_id), self.clock.now_ms())
            .await?;
        self.observer.sessions_signed_out(&ended);
        tracing::info!(
            user = who.user_id.0,
            sessions = ended.len(),
            "signed out the other sessions"
        );
        Ok(SignedOut {
            sessions: u32::try_from(ended.len()).unwrap_or(u32::MAX),
        })
    }
}
