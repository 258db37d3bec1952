//! Accepting TCP connections and serving HTTP/1.1 on them, with the limits `axum::serve` does not
//! offer: a cap on open connections (in total and per client address) and a deadline for a
//! request's head.
//!
//! Why our own accept loop: `axum::serve` configures hyper with no timer, so hyper's header-read
//! timeout is off, and it accepts every connection it can. A client could then open thousands of
//! sockets that never finish a request line (measured: 2,000 still open after 75 s) until the
//! process runs out of file descriptors — and `jeco-server` raises its descriptor limit, so that is
//! every descriptor the machine allows. Here:
//!
//! - **Header deadline.** hyper's own `header_read_timeout` ([`Limits::header_timeout`]): a
//!   connection whose request head (request line and headers) is not complete in time is closed
//!   without an answer. The clock starts when hyper waits for a head, so it is also how long an
//!   idle keep-alive connection may wait for its next request.
//! - **Connection caps.** Each accepted socket takes a permit from a total budget and from its
//!   client address's budget, and holds them for as long as the socket lives — through a
//!   WebSocket upgrade too, since the permits travel inside the I/O object hyper hands over. Past
//!   either cap the socket gets a canned `503 Service Unavailable` in the one error shape
//!   (`Connection: close`, `Retry-After`), written without waiting for the client (a single
//!   non-blocking write into an empty socket buffer) and then closed, so a refused client learns why
//!   and a flood costs the server no task and no buffer. Nothing of the request is read.
//! - **Body idle timeout** is not here: it is `tower_http`'s `RequestBodyTimeoutLayer` in
//!   [`crate::api`], so that a stalled body becomes a `408` in the error shape.
//!
//! Graceful shutdown works as with `axum::serve`: stop accepting, ask every connection to finish
//! its request in flight, and wait for them (upgraded WebSockets are the gateway's to close).

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tower::ServiceExt;

/// The connection limits, from [`crate::Config`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's head (and for an idle keep-alive connection's next request).
    pub header_timeout: Duration,
    /// Open connections in total, WebSockets included.
    pub max_connections: usize,
    /// Open connections from one client IP address, WebSockets included.
    pub max_connections_per_ip: usize,
}

impl Limits {
    pub fn from_config(c: &crate::Config) -> Self {
        Self {
            header_timeout: Duration::from_millis(c.http_header_timeout_ms),
            max_connections: c.max_connections,
            max_connections_per_ip: c.max_connections_per_ip,
        }
    }
}

/// Serves `app` on `listener` until `stop` completes, then waits for connections in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send,
) {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = PerIp::new(limits.max_connections_per_ip);
    let (draining, drain) = watch::channel(false);
    // Every connection task holds a clone; all are gone when `recv` answers `None`.
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset before accept: neither is
                    // fixed by retrying at once.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Chat traffic is many small writes: with Nagle's algorithm a frame written while an
        // earlier one is unacknowledged waits for the peer's delayed ACK (up to 40 ms on Linux).
        // Measured with `jeco-bench fanout --rate`: p50 latency 100+ ms at half the server's
        // capacity. Every write here is already a whole, coalesced batch of frames.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let refused = &crate::metrics::get().connections_refused;
        let Ok(total_permit) = total.clone().try_acquire_owned() else {
            refused.with_label_values(&["total"]).inc();
            refuse(stream, "the server has too many open connections");
            continue;
        };
        let Some(ip_permit) = per_ip.acquire(remote.ip()) else {
            refused.with_label_values(&["per_ip"]).inc();
            refuse(stream, "too many open connections from this address");
            continue;
        };
        let io = TokioIo::new(Counted {
            stream,
            _permits: (
                total_permit,
                ip_permit,
                crate::metrics::GaugeGuard::new(&crate::metrics::get().connections_open),
            ),
        });
        let service = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request
            });
        let connection = http
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        let mut drain = drain.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result),
                () = async { drop(drain.wait_for(|d| *d).await) } => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await);
                }
            }
            drop(alive);
        });
    }
    drop(listener);
    let _ = draining.send(true);
    drop(alive);
    let _ = all_done.recv().await;
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Header timeouts, malformed requests, peers that went away: the client's business.
        tracing::debug!(error = %e, "connection ended");
    }
}

/// The whole answer to a connection past a cap: written at once, never waited for.
fn refuse(stream: TcpStream, why: &str) {
    let body = serde_json::to_string(&jeco_shared::ErrorBody::new(
        jeco_shared::ErrorCode::Unavailable,
        why,
    ))
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // A fresh socket's send buffer is empty, so this goes out whole; if not, the peer gets a
    // closed connection, which is a refusal too.
    let _ = stream.try_write(response.as_bytes());
    tracing::debug!(reason = why, "refused a connection");
}

/// Open connections per client address.
#[derive(Clone)]
struct PerIp {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerIp {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    fn acquire(&self, ip: IpAddr) -> Option<IpPermit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(IpPermit {
            ip,
            owner: self.clone(),
        })
    }
}

/// One open connection of an address; dropping it frees the place.
struct IpPermit {
    ip: IpAddr,
    owner: PerIp,
}

impl Drop for IpPermit {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A socket that holds its places under the caps for as long as it exists, wherever hyper moves
/// it (an upgraded WebSocket keeps it).
struct Counted {
    stream: TcpStream,
    /// Held for the connection's life: its places under the caps, and its count in the metrics.
    _permits: (OwnedSemaphorePermit, IpPermit, crate::metrics::GaugeGuard),
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_places_are_counted_and_freed() {
        let per_ip = PerIp::new(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let a = per_ip.acquire(ip).unwrap();
        let _b = per_ip.acquire(ip).unwrap();
        assert!(per_ip.acquire(ip).is_none());
        assert!(per_ip.acquire(other).is_some());
        drop(a);
        assert!(per_ip.acquire(ip).is_some());
        assert!(!per_ip.open.lock().unwrap().contains_key(&other));
    }
}
