//! Connection-level limits over raw TCP: the request-head deadline, the body idle timeout, a
//! `Content-Length` over the limit, and the caps on open connections (per address and in total).

use crate::support::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base().trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection (a reset counts as a close).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the server did not close the connection");
    String::from_utf8_lossy(&out).into_owned()
}

/// A complete request on a fresh connection; the answer's status line.
async fn health(s: &TestServer) -> String {
    let mut stream = connect(s).await;
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    read_to_close(&mut stream)
        .await
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn a_request_head_not_finished_in_time_is_closed() {
    let s = TestServer::start_with(|c| c.http_header_timeout_ms = 300).await;
    let started = Instant::now();
    // Half a head, then silence; and a connection that never says anything.
    let mut partial = connect(&s).await;
    partial
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = connect(&s).await;
    assert_eq!(read_to_close(&mut partial).await, "");
    assert_eq!(read_to_close(&mut silent).await, "");
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The server itself is fine.
    assert!(health(&s).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let s = TestServer::start_with(|c| c.http_body_timeout_ms = 300).await;
    let mut stream = connect(&s).await;
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60000\r\n\r\n{\"username\"",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_the_body() {
    let s = TestServer::start_with(|c| c.max_body_bytes = 1000).await;
    let mut stream = connect(&s).await;
    // Only the head: a server that waited for the body would never answer.
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 10000000\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"code\":\"payload_too_large\""),
        "{answer}"
    );
}

/// Asserts that a new connection is refused with a 503 in the error shape, then closed.
async fn assert_refused(s: &TestServer) {
    let mut stream = connect(s).await;
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
}

/// Retries until a fresh connection is served again (a closed connection frees its place once
/// the server has noticed the close).
async fn eventually_served(s: &TestServer) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = health(s).await;
        if status.starts_with("HTTP/1.1 200") {
            return;
        }
        assert!(Instant::now() < deadline, "still refused: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection that made one request and stays open (keep-alive): it surely holds a place.
async fn kept_alive(s: &TestServer) -> TcpStream {
    let mut stream = connect(s).await;
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"}") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    stream
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_refused_with_503() {
    let s = TestServer::start_with(|c| c.max_connections_per_ip = 3).await;
    // A WebSocket holds its place after the upgrade (here waiting for its hello), like any open
    // connection.
    let ws = s.ws(&["jeco.v1"]).await;
    let idle = [kept_alive(&s).await, kept_alive(&s).await];
    let before = refused("per_ip");
    assert_refused(&s).await;
    // Counted (the series are process-wide: other tests may add to it too).
    assert!(refused("per_ip") > before);
    drop(ws);
    eventually_served(&s).await;
    drop(idle);
    eventually_served(&s).await;
}

#[tokio::test]
async fn connections_over_the_total_cap_are_refused_with_503() {
    let s = TestServer::start_with(|c| c.max_connections = 2).await;
    let idle = [kept_alive(&s).await, kept_alive(&s).await];
    let before = refused("total");
    assert_refused(&s).await;
    assert_refused(&s).await;
    assert!(refused("total") >= before + 2);
    drop(idle);
    eventually_served(&s).await;
}

/// `jeco_connections_refused_total{cap}` as it stands.
fn refused(cap: &str) -> u64 {
    jeco_server::metrics::get()
        .connections_refused
        .with_label_values(&[cap])
        .get()
}
