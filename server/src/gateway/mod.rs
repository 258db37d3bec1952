//! The WebSocket gateway at `GET /api/v1/ws`: one long-lived connection per client.
//!
//! The protocol is described in [`jeco_shared::ws`]; this module is the server side of it.
//!
//! Shape, and why:
//! - Each connection is **one task** ([`connection`]) that reads and writes its socket, so a reply
//!   or a delivery costs no second task's wake-up and an idle connection holds little (~7.5 KiB with
//!   the small read buffer below). Published frames reach it through its [`mailbox`], **bounded**,
//!   and its replies wait in a **bounded** queue ([`outbound`]); nothing that talks to a client
//!   waits for it: when a client reads too slowly and a queue fills, it is disconnected with close
//!   4006 instead of slowing the sender or growing memory. (It resumes on reconnect.)
//! - A connection may have several `send`s waiting for their commit at once; their acks go out as
//!   they finish, in any order (see [`connection`]).
//! - Authentication happens *after* the upgrade, at hello, so that a refused client learns why from
//!   a close code (browsers cannot see an HTTP status on a failed upgrade). The token comes from the
//!   `Sec-WebSocket-Protocol` header or the hello frame, never from the query string.
//! - Live connections are indexed in a [`registry::Registry`] by user and by session. Logout and
//!   refresh-token theft detection close a session's sockets through it (close 4003), and it is the
//!   in-process [`crate::services::Fanout`]: each event is encoded once and the same bytes are queued
//!   for every recipient connection.
//! - One connection multiplexes every conversation of its user. [`follow`] keeps each
//!   conversation's events gap-free and duplicate-free across resume, live delivery and races
//!   between publishers.
//! - Shutdown is explicit: every connection watches a shutdown signal, answers the sends it already
//!   took (bounded by [`connection::SEND_DRAIN`]), and closes with 1001 ("going away") — or, in a
//!   cluster, 1012 ("service restart": reconnect at once, another instance is there) — and
//!   [`Gateway::shutdown`] waits until all connection tasks have finished (upgraded sockets are no
//!   longer tracked by the HTTP server's graceful shutdown).

pub mod connection;
pub mod follow;
pub mod frames;
pub mod mailbox;
pub mod outbound;
pub mod registry;

use crate::api::errors::ApiError;
use crate::services::{Accounts, Chat};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::response::{IntoResponse, Response};
use jeco_shared::ErrorCode;
use jeco_shared::ws::{AUTH_SUBPROTOCOL_PREFIX, SUBPROTOCOL};
use registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Bytes read from a socket at a time; see the comment in [`ws_handler`].
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Timing and size limits of the gateway, from [`crate::Config`].
#[derive(Debug, Clone, Copy)]
pub struct GatewaySettings {
    pub heartbeat_interval: Duration,
    pub idle_timeout: Duration,
    pub handshake_timeout: Duration,
    /// Largest message the gateway accepts; bigger ones get a `frame_too_large` error frame.
    pub max_frame_bytes: usize,
    pub outbound_queue: usize,
    /// Events per conversation a resuming client may be behind before it is told to resync.
    pub resume_max_events: u32,
    /// The close code of a shutdown: 1012 in a cluster (another instance takes the client now),
    /// 1001 for a single server (reconnect with backoff).
    pub shutdown_code: u16,
    /// What every `ready` frame tells clients ([`crate::Config::limits`]).
    pub limits: jeco_shared::limits::Limits,
}

impl GatewaySettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(config.ws_heartbeat_interval_ms),
            idle_timeout: Duration::from_millis(config.ws_idle_timeout_ms),
            handshake_timeout: Duration::from_millis(config.ws_handshake_timeout_ms),
            max_frame_bytes: config.ws_max_frame_bytes,
            outbound_queue: config.ws_outbound_queue,
            resume_max_events: config.resume_max_events,
            limits: config.limits(),
            shutdown_code: if config.redis_url.is_some() {
                jeco_shared::ws::close::SERVICE_RESTART
            } else {
                jeco_shared::ws::close::GOING_AWAY
            },
        }
    }

    /// The transport-level cap. Messages between `max_frame_bytes` and this are read and answered
    /// with an error frame (the connection survives); beyond it the WebSocket library refuses to
    /// buffer them and the connection is dropped, which bounds memory per connection.
    pub fn transport_max_bytes(&self) -> usize {
        (self.max_frame_bytes * 4).max(256 * 1024)
    }
}

pub struct Gateway {
    pub registry: Arc<Registry>,
    accounts: Arc<Accounts>,
    chat: Chat,
    settings: GatewaySettings,
    shutdown: watch::Sender<bool>,
    /// Each connection task holds a clone; shutdown waits until all are dropped.
    tracker: Mutex<Option<mpsc::Sender<()>>>,
    all_done: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    pub fn new(
        registry: Arc<Registry>,
        accounts: Arc<Accounts>,
        chat: Chat,
        settings: GatewaySettings,
    ) -> Self {
        let (tracker, all_done) = mpsc::channel(1);
        Self {
            registry,
            accounts,
            chat,
            settings,
            shutdown: watch::Sender::new(false),
            tracker: Mutex::new(Some(tracker)),
            all_done: tokio::sync::Mutex::new(all_done),
        }
    }

    pub fn settings(&self) -> GatewaySettings {
        self.settings
    }

    /// Whether [`Gateway::shutdown`] was called (the instance is draining).
    pub fn is_draining(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Closes every connection with the shutdown code once its sends in flight are answered, and
    /// waits for their tasks to end.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        self.tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // `recv` returns `None` once every connection's clone of the tracker is dropped.
        let _ = self.all_done.lock().await.recv().await;
    }

    fn track(&self) -> Option<mpsc::Sender<()>> {
        self.tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The access token a client put in `Sec-WebSocket-Protocol` as `jeco.auth.<token>`, if any.
pub fn token_from_protocols(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix(AUTH_SUBPROTOCOL_PREFIX)
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty())
}

/// Open the WebSocket gateway.
///
/// Send the access token as the subprotocol `jeco.auth.<token>` next to `jeco.v1`, or in the hello
/// frame. Then follow the protocol in the `jeco_shared::ws` docs: hello → ready, pings, error frames
/// and the close codes 4000–4007.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "gateway",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = jeco_shared::ErrorBody),
        (status = 503, description = "The server is shutting down", body = jeco_shared::ErrorBody),
    )
)]
pub async fn ws_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => {
            return ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "this endpoint speaks WebSocket only: {}",
                    rejection.body_text()
                ),
            )
            .into_response();
        }
    };
    let gateway = state.gateway.clone();
    let Some(tracker) = gateway.track() else {
        return ApiError::new(ErrorCode::Internal, "the server is shutting down")
            .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    };
    let header_token = token_from_protocols(&headers);
    let limit = gateway.settings.transport_max_bytes();
    upgrade
        .protocols([SUBPROTOCOL])
        .max_message_size(limit)
        .max_frame_size(limit)
        // tungstenite's default 128 KiB read buffer is zero-filled and stays resident for every
        // idle connection (measured: ~137 KiB per connection; ~17 KiB with 4 KiB). Idle traffic is
        // ~40-byte pings and a send frame a few hundred bytes, so 2 KiB still reads many frames per
        // call; a larger frame (up to the limit) grows the buffer to its length and arrives whole,
        // in more reads (tested in `frames_larger_than_the_read_buffer_arrive_whole`).
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let ctx = connection::Context {
                accounts: gateway.accounts.clone(),
                chat: gateway.chat.clone(),
                registry: gateway.registry.clone(),
                settings: gateway.settings,
                shutdown: gateway.shutdown.subscribe(),
                header_token,
            };
            connection::run(socket, ctx).await;
            drop(tracker);
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn token_is_read_from_the_subprotocol_list() {
        let mut h = HeaderMap::new();
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("jeco.v1, jeco.auth.abc.def"),
        );
        assert_eq!(token_from_protocols(&h).as_deref(), Some("abc.def"));
        h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("jeco.v1"));
        assert_eq!(token_from_protocols(&h), None);
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("jeco.auth."),
        );
        assert_eq!(token_from_protocols(&h), None);
    }
}
