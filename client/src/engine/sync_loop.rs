//! The sync loop: one WebSocket, reconnected for as long as the account is signed in.
//!
//! ```text
//!            ┌────────────── backoff elapsed / reconnect_now ───────────────┐
//!            ▼                                                              │
//!       connecting ──► authenticating ──► catching up ──► live ──► waiting to retry
//!            │               │                                 (socket lost, no pong)
//!            └── refused ────┴──► signed out (session revoked) / incompatible (protocol)
//! ```
//!
//! This file is the *driver*: it opens the socket ([`handshake`]), reads it, writes it, runs the
//! REST requests, and waits out the backoff. What to do with each frame, answer and tick is
//! decided by [`SyncState`] (see [`super::sync_state`]), which answers with [`Step`]s; the
//! driver performs them and feeds the results back. REST requests run beside the socket (a
//! `FuturesUnordered` owned by the connection), so a request in flight never stops the loop from
//! reading: pongs, close frames and the server's pings are seen while a snapshot loads. When the
//! connection ends, its requests are dropped with it; the next connection resumes from the cache.
//!
//! - **Resume.** The hello carries the cache's positions (last applied `seq` per conversation and
//!   in the user's log); the server replays what came after, then `caught_up`. A cache that never
//!   synced sends no resume, keeps the `user_seq` from `ready`, and loads the conversation list
//!   over REST. Each applied event moves its position in the same transaction, so a crash or a
//!   dropped socket resumes at exactly the right place: nothing missed, nothing twice.
//! - **Resync.** When the server says a conversation is too far behind (or an event reveals a
//!   gap), it is reloaded over REST: the conversation first, then its newest page.
//! - **Dead links.** A socket can stay "open" for minutes after the network is gone (sleep, a
//!   pulled cable, a NAT that forgot us). The server pings every connection it has not heard from
//!   for its heartbeat interval (25 s by default), so the engine pings only when it has heard
//!   nothing for a little longer (at most `ping_interval`), and at once when the user sends a frame
//!   or a REST request starts and the last ping is more than 5 s old; it gives up on a connection
//!   that answers nothing within `pong_timeout`, or whose REST request gets no answer for as long
//!   as a silent link would, then reconnects. A change of network interfaces reconnects at once.
//! - **Backoff.** Failed attempts wait `backoff_min · 2^n` (capped at `backoff_max`) with full
//!   jitter, so a server restart is not met by every client at the same instant;
//!   [`super::Engine::reconnect_now`] and a change of the machine's network interfaces
//!   ([`super::network`]) cut the wait short.

use super::sync_state::{
    End, FetchError, Fetched, Need, Patience, Reload, Step, SyncState, resume_from,
};
use super::{ConnectionState, Engine, EngineEvent, Inner, with_token};
use crate::cache::Cache;
use crate::session::{Client, ClientError};
use crate::sync::{SyncError, describe_close, handshake, text_frame};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use jeco_shared::conversations::Conversation;
use jeco_shared::messages::MessagePage;
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame};
use jeco_shared::{ConversationId, ErrorCode, UserId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Timing of the sync loop.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Check the link with a ping after at most this long without hearing anything (sooner is
    /// never needed: see `check_after_silence`).
    pub ping_interval: Duration,
    /// A connection that has not answered a ping within this is dead.
    pub pong_timeout: Duration,
    /// Opening the socket and getting `ready` must take no longer.
    pub handshake_timeout: Duration,
    /// First retry delay (before jitter).
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(60),
            pong_timeout: Duration::from_secs(4),
            handshake_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// How long the link may be silent before the engine checks it with a ping: the server's heartbeat
/// interval and a tenth (the server pings every connection it has not heard from for an interval,
/// in bursts up to a twenty-fifth of it late), but no longer than [`Timing::ping_interval`] and
/// not under a second. A healthy link is therefore never pinged by the client: the server's pings
/// (answered by tungstenite) and events keep it heard. Clients used to ping every 5 s; a server
/// with many idle clients pays for every such ping with a wake-up.
pub(super) fn check_after_silence(server_heartbeat: Duration, timing: &Timing) -> Duration {
    (server_heartbeat + server_heartbeat / 10)
        .min(timing.ping_interval)
        .max(Duration::from_secs(1).min(timing.ping_interval))
}

impl Timing {
    /// The wait before retry number `attempt` (1-based): exponential, capped, full jitter (but at
    /// least a tenth of the nominal delay, so retries never spin).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let nominal = self
            .backoff_min
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.backoff_max);
        let mut bytes = [0u8; 4];
        let r = if getrandom::fill(&mut bytes).is_ok() {
            u32::from_le_bytes(bytes) as f64 / u32::MAX as f64
        } else {
            0.5
        };
        nominal.mul_f64(0.1 + 0.9 * r)
    }
}

pub(crate) async fn run(inner: Arc<Inner>, cache: Arc<Cache>, mut stop: watch::Receiver<bool>) {
    let mut attempt: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        inner.set_state(ConnectionState::Connecting);
        let end = tokio::select! {
            end = connection(&inner, &cache, &mut attempt) => end,
            _ = stop.changed() => End::Stopped,
        };
        *inner.socket.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match end {
            End::Stopped => return,
            End::SignedOut => {
                tracing::info!("the session ended on the server; signed out (cache kept)");
                inner.set_state(ConnectionState::SignedOut);
                return;
            }
            End::Incompatible(reason) => {
                inner.set_state(ConnectionState::Incompatible { reason });
                return;
            }
            End::RetryNow => {}
            End::Retry(reason) => {
                attempt += 1;
                let delay = inner.timing.backoff(attempt);
                tracing::debug!(attempt, ?delay, %reason, "sync connection lost; retrying");
                inner.set_state(ConnectionState::WaitingToRetry {
                    attempt,
                    retry_in_ms: delay.as_millis() as u64,
                    reason,
                });
                let network = super::network::fingerprint();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = inner.wake.notified() => {}
                    _ = super::network::changed(network) => {
                        tracing::debug!("the network changed; retrying now");
                    }
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// One connection, from opening the socket until it ends.
async fn connection(inner: &Arc<Inner>, cache: &Arc<Cache>, attempt: &mut u32) -> End {
    let token = match inner.client.access_token().await {
        Ok(t) => t,
        Err(ClientError::NotSignedIn) => return End::SignedOut,
        Err(e) => return End::Retry(e.to_string()),
    };
    let resume = match resume_from(cache) {
        Ok(r) => r,
        Err(e) => return End::Retry(format!("cannot read the cache: {e}")),
    };
    let fresh = resume.is_none();
    let url = inner.client.server().ws_url();
    let (mut socket, ready) = match handshake(
        &url,
        &token,
        &inner.client_name,
        resume,
        inner.timing.handshake_timeout,
        || inner.set_state(ConnectionState::Authenticating),
    )
    .await
    {
        Ok(ok) => ok,
        Err(SyncError::Rejected { code, reason, .. }) => {
            return match code {
                Some(ErrorCode::TokenExpired) => match inner.client.refresh_now().await {
                    Ok(_) => End::RetryNow,
                    Err(ClientError::NotSignedIn) => End::SignedOut,
                    Err(e) => End::Retry(e.to_string()),
                },
                Some(ErrorCode::TokenInvalid | ErrorCode::TokenRevoked) => {
                    // Forget the dead tokens; the cache stays for the next sign-in.
                    let _ = inner.client.refresh_now().await;
                    End::SignedOut
                }
                Some(ErrorCode::ProtocolMismatch) => End::Incompatible(reason),
                _ => End::Retry(reason),
            };
        }
        Err(e) => return End::Retry(e.to_string()),
    };
    *attempt = 0;
    inner.set_state(ConnectionState::CatchingUp);
    // `ready` carries the profile as the server has it now (edited on another device, say).
    if let Err(e) = cache.set_me(&ready.user) {
        return End::Retry(format!("cannot write the cache: {e}"));
    }
    if let Err(e) = inner.remember_me(&ready.user) {
        return End::Retry(format!("cannot write the cache: {e}"));
    }

    // The server pings a connection it has not heard from for a heartbeat interval, so a live link
    // is never silent much longer than that; only then does the engine ask itself. A REST request
    // gets as long as a silent link would (seen in the lost-answer scenario: a conversation
    // snapshot in flight when the network went silent), then the connection starts over,
    // resuming from the cache.
    let silence = check_after_silence(ready.heartbeat_interval, &inner.timing);
    let patience = Patience {
        silence,
        pong_timeout: inner.timing.pong_timeout,
        request: silence + inner.timing.pong_timeout,
    };
    let mut state = SyncState::new(ready.user.clone(), cache.clone(), patience, Instant::now());
    let mut steps = state.start(Instant::now(), fresh.then_some(ready.user_seq));

    let (frames_tx, mut frames_rx) = mpsc::channel::<ClientFrame>(64);
    // REST requests in flight. Dropped with the connection: an answer that comes after the
    // connection ended is never applied (the next connection resumes from the cache).
    let mut requests: FuturesUnordered<BoxFuture<'static, (u64, Fetched)>> =
        FuturesUnordered::new();
    loop {
        for step in steps.drain(..) {
            match step {
                Step::Send(frame) => {
                    if let Err(e) = socket.send(text_frame(&frame)).await {
                        return End::Retry(format!("the connection failed: {e}"));
                    }
                }
                Step::Fetch { id, need } => {
                    requests.push(fetch(inner.clone(), need).map(move |f| (id, f)).boxed());
                }
                Step::Emit(event) => {
                    // A notification about a message already on screen in a focused window is
                    // read as it arrives (see `viewing`).
                    if matches!(event, EngineEvent::Notification(_))
                        && let Err(e) = (Engine {
                            inner: inner.clone(),
                        })
                        .read_what_is_seen()
                    {
                        tracing::warn!(error = %e, "cannot mark what is on screen read");
                    }
                    inner.emit(event)
                }
                Step::Live => {
                    *inner.socket.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(frames_tx.clone());
                    inner.set_state(ConnectionState::Live);
                    inner.outbox_wake.notify_one();
                }
                Step::End(end) => return end,
            }
        }
        let wake = state.next_wake();
        steps = tokio::select! {
            _ = async { tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)).await },
                if wake.is_some() => state.on_tick(Instant::now()),
            Some((id, fetched)) = requests.next(), if !requests.is_empty() => {
                state.on_fetched(Instant::now(), id, fetched)
            }
            Some(frame) = frames_rx.recv() => {
                if let Err(e) = socket.send(text_frame(&frame)).await {
                    return End::Retry(format!("the connection failed: {e}"));
                }
                state.on_sent(Instant::now())
            }
            message = socket.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = describe_close(frame.as_ref());
                        return match code.and_then(crate::sync::close_code_meaning) {
                            Some(ErrorCode::TokenRevoked | ErrorCode::TokenInvalid) => {
                                let _ = inner.client.refresh_now().await;
                                End::SignedOut
                            }
                            Some(ErrorCode::TokenExpired) => match inner.client.refresh_now().await {
                                Ok(_) => End::RetryNow,
                                Err(ClientError::NotSignedIn) => End::SignedOut,
                                Err(e) => End::Retry(e.to_string()),
                            },
                            _ => End::Retry(format!("the server closed the connection ({reason})")),
                        };
                    }
                    Some(Ok(_)) => {
                        // A WebSocket ping (tungstenite answers it) or pong.
                        state.on_heard(Instant::now());
                        continue;
                    }
                    Some(Err(e)) => return End::Retry(format!("the connection failed: {e}")),
                    None => return End::Retry("the connection ended".into()),
                };
                match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => state.on_frame(Instant::now(), frame),
                    Err(e) => {
                        // Newer servers may send frame types this build does not know.
                        tracing::debug!(error = %e, "ignoring a frame this engine cannot read");
                        state.on_heard(Instant::now());
                        continue;
                    }
                }
            }
        };
    }
}

/// Performs one [`Need`] of the state machine.
async fn fetch(inner: Arc<Inner>, need: Need) -> Fetched {
    let client = &inner.client;
    match need {
        Need::Conversation(id) => Fetched::Conversation(
            with_token(client, |api, token| async move {
                api.conversation(&token, id).await
            })
            .await
            .map_err(FetchError::from),
        ),
        Need::Snapshot(id) => {
            Fetched::Snapshot(fetch_snapshot(client, id).await.map_err(FetchError::from))
        }
        Need::Reload => Fetched::Reload(fetch_reload(client).await.map_err(FetchError::from)),
        Need::Teams => Fetched::Teams(
            with_token(client, |api, token| async move { api.teams(&token).await })
                .await
                .map(|t| t.items)
                .map_err(FetchError::from),
        ),
        Need::Users(ids) => Fetched::Users(fetch_users(client, ids).await),
    }
}

/// The conversation list, the newest page of notifications (the user log only carries the ones
/// created while synced) and the teams.
async fn fetch_reload(client: &Client) -> super::Result<Reload> {
    let conversations = with_token(client, |api, token| async move {
        api.conversations(&token).await
    })
    .await?;
    let notifications = with_token(client, |api, token| async move {
        api.notifications(&token).await
    })
    .await?;
    let teams = with_token(client, |api, token| async move { api.teams(&token).await }).await?;
    Ok(Reload {
        conversations: conversations.items,
        notifications: notifications.items,
        teams: teams.items,
    })
}

/// Profiles, best effort: the ones that cannot be fetched are left out (a name shown as an id is
/// better than a failed sync).
async fn fetch_users(client: &Client, ids: Vec<UserId>) -> Vec<User> {
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        match with_token(
            client,
            |api, token| async move { api.user(&token, id).await },
        )
        .await
        {
            Ok(user) => users.push(user),
            Err(e) => tracing::debug!(user = %id, error = %e, "cannot fetch a profile"),
        }
    }
    users
}

/// How many times a snapshot reads a conversation that keeps moving before it settles for a
/// page that may be ahead of its position.
const SNAPSHOT_ATTEMPTS: u32 = 5;

/// Reads a conversation over REST for a snapshot: the conversation first (its `last_seq` becomes
/// the position), then its newest page, so every event up to the position is in the page.
///
/// The page must not be *ahead* of the position either: the events after the position are
/// applied on top of it, and not all of them can be applied twice (a reply counts once more
/// on its root; found by the cache-equals-server property test, a reply sent while the
/// conversation was being snapshotted showed as two). So the conversation is read again after
/// the page, and the snapshot is taken over while it moved in between.
async fn fetch_snapshot(
    client: &Client,
    id: ConversationId,
) -> super::Result<(Conversation, MessagePage)> {
    let fetch_conversation = || {
        with_token(client, |api, token| async move {
            api.conversation(&token, id).await
        })
    };
    let mut conversation = fetch_conversation().await?;
    let mut attempt = 1;
    let page = loop {
        let page = with_token(client, |api, token| async move {
            api.messages(
                &token,
                id,
                None,
                None,
                jeco_shared::messages::MESSAGE_PAGE_DEFAULT,
            )
            .await
        })
        .await?;
        let after = fetch_conversation().await?;
        if after.last_seq == conversation.last_seq || attempt == SNAPSHOT_ATTEMPTS {
            break page;
        }
        tracing::debug!(conversation = %id, attempt, "the conversation moved during its snapshot");
        conversation = after;
        attempt += 1;
    };
    Ok((conversation, page))
}

/// Reloads a conversation over REST and stores it (see [`fetch_snapshot`]), with the profiles
/// of its members and of the page's senders. For the engine's own calls outside the sync loop
/// (opening a conversation the cache does not hold).
pub(crate) async fn snapshot(
    inner: &Inner,
    me: &User,
    cache: &Cache,
    id: ConversationId,
) -> super::Result<()> {
    let (conversation, page) = fetch_snapshot(&inner.client, id).await?;
    cache.store_snapshot(me.id, &conversation, &page)?;
    learn_users(
        &inner.client,
        cache,
        conversation
            .members
            .iter()
            .map(|m| m.user_id)
            .chain(page.items.iter().map(|m| m.sender_id)),
    )
    .await;
    Ok(())
}

/// Fetches profiles the cache lacks. Best effort: a name shown as an id is better than a failed
/// sync.
pub(crate) async fn learn_users(
    client: &Client,
    cache: &Cache,
    ids: impl IntoIterator<Item = UserId>,
) {
    let Ok(unknown) = cache.unknown_users(ids) else {
        return;
    };
    if unknown.is_empty() {
        return;
    }
    let _ = cache.upsert_users(&fetch_users(client, unknown).await);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let t = Timing::default();
        for attempt in 1..=12 {
            let nominal = t
                .backoff_min
                .saturating_mul(1 << (attempt - 1))
                .min(t.backoff_max);
            for _ in 0..50 {
                let d = t.backoff(attempt);
                assert!(d <= nominal, "attempt {attempt}: {d:?} > {nominal:?}");
                assert!(
                    d >= nominal.mul_f64(0.1),
                    "attempt {attempt}: {d:?} too short"
                );
            }
        }
        // Jittered: fifty draws are not all the same.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| t.backoff(5)).collect();
        assert!(draws.len() > 1);
        assert!(t.backoff(100) <= t.backoff_max);
    }

    #[test]
    fn the_link_is_checked_only_after_the_servers_heartbeat_went_missing() {
        let t = Timing::default();
        let s = Duration::from_secs;
        // The server's default heartbeat: a live link is heard every ~25 s, so the client waits
        // a tenth longer before asking (it used to ping every 5 s).
        assert_eq!(
            check_after_silence(s(25), &t),
            Duration::from_millis(27_500)
        );
        assert_eq!(check_after_silence(s(40), &t), s(44));
        // A server asking for very long or zero intervals is bounded.
        assert_eq!(check_after_silence(s(3600), &t), t.ping_interval);
        assert_eq!(check_after_silence(Duration::ZERO, &t), s(1));
        // Tests that want fast checks still get them.
        let fast = Timing {
            ping_interval: Duration::from_millis(300),
            ..t
        };
        assert_eq!(
            check_after_silence(s(25), &fast),
            Duration::from_millis(300)
        );
        assert_eq!(
            check_after_silence(Duration::ZERO, &fast),
            Duration::from_millis(300)
        );
    }
}
