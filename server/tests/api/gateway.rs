//! The WebSocket gateway: handshake, refusals with distinct close codes, error frames that keep the
//! connection open, heartbeats and timeouts.

use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use jeco_shared::ErrorCode;
use jeco_shared::auth::AccessClaims;
use jeco_shared::ws::{ServerFrame, close};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn error_code(frame: &ServerFrame) -> ErrorCode {
    match frame {
        ServerFrame::Error { code, .. } => *code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

async fn assert_alive(ws: &mut Ws, nonce: u64) {
    send_json(ws, json!({"type": "ping", "nonce": nonce})).await;
    // Skipping what other users' activity brings (presence, events).
    let pong = next_where(ws, |f| matches!(f, ServerFrame::Pong { .. })).await;
    assert_eq!(pong, ServerFrame::Pong { nonce });
}

#[tokio::test]
async fn ready_with_token_in_subprotocol_or_hello() {
    let s = TestServer::start().await;
    let t = s.register("lena").await;

    let (mut ws, ready) = s.ws_ready(&t.access_token).await;
    let ServerFrame::Ready {
        protocol,
        user,
        heartbeat_interval_ms,
        idle_timeout_ms,
        user_seq,
        ..
    } = ready
    else {
        unreachable!()
    };
    // The user's log holds one event so far: the welcome notification.
    assert_eq!(user_seq, 1);
    assert_eq!(protocol, jeco_shared::PROTOCOL_VERSION);
    assert_eq!(user, t.user);
    assert_eq!(heartbeat_interval_ms, s.config().ws_heartbeat_interval_ms);
    assert_eq!(idle_timeout_ms, s.config().ws_idle_timeout_ms);
    assert_alive(&mut ws, 1).await;

    let mut ws = s.ws(&["jeco.v1"]).await;
    send_json(
        &mut ws,
        json!({"type": "hello", "protocol": "1.3", "token": t.access_token, "client": "test/1"}),
    )
    .await;
    assert!(
        matches!(next_frame(&mut ws).await, ServerFrame::Ready { user, .. } if user.username == "lena")
    );
    assert_alive(&mut ws, u64::MAX).await;

    // Without any subprotocol header at all, the hello token is enough.
    let mut ws = s.ws(&[]).await;
    send_json(
        &mut ws,
        json!({"type": "hello", "protocol": "1.0", "token": t.access_token}),
    )
    .await;
    assert!(matches!(
        next_frame(&mut ws).await,
        ServerFrame::Ready { .. }
    ));
}

#[tokio::test]
async fn refusals_have_distinct_close_codes() {
    let s = TestServer::start().await;
    let t = s.register("mike").await;

    // Invalid token.
    let mut ws = s.ws(&["jeco.v1", "jeco.auth.not-a-token"]).await;
    send_json(&mut ws, json!({"type": "hello", "protocol": "1.0"})).await;
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_INVALID);

    // Expired token.
    use base64::Engine;
    let payload = t.access_token.split('.').nth(1).unwrap();
    let claims: AccessClaims = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let expired = forge_token(
        s.data_dir(),
        &AccessClaims {
            exp: unix_now() - 5,
            ..claims
        },
    );
    let mut ws = s.ws(&["jeco.v1"]).await;
    send_json(
        &mut ws,
        json!({"type": "hello", "protocol": "1.0", "token": expired}),
    )
    .await;
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_EXPIRED);

    // No token anywhere.
    let mut ws = s.ws(&["jeco.v1"]).await;
    send_json(&mut ws, json!({"type": "hello", "protocol": "1.0"})).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(expect_close(&mut ws).await, close::HANDSHAKE_REQUIRED);

    // First frame is not a hello.
    let mut ws = s
        .ws(&["jeco.v1", &format!("jeco.auth.{}", t.access_token)])
        .await;
    send_json(&mut ws, json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::HandshakeRequired
    );
    assert_eq!(expect_close(&mut ws).await, close::HANDSHAKE_REQUIRED);

    // Protocol major mismatch: refused clearly even with a good token.
    let mut ws = s
        .ws(&["jeco.v1", &format!("jeco.auth.{}", t.access_token)])
        .await;
    send_json(&mut ws, json!({"type": "hello", "protocol": "2.0"})).await;
    let frame = next_frame(&mut ws).await;
    assert_eq!(error_code(&frame), ErrorCode::ProtocolMismatch);
    assert_eq!(expect_close(&mut ws).await, close::PROTOCOL_MISMATCH);

    // Revoked (logged out) token.
    assert_eq!(
        s.post("/api/v1/auth/logout", json!({}), Some(&t.access_token))
            .await
            .status(),
        204
    );
    let mut ws = s
        .ws(&["jeco.v1", &format!("jeco.auth.{}", t.access_token)])
        .await;
    send_json(&mut ws, json!({"type": "hello", "protocol": "1.0"})).await;
    assert_eq!(expect_close(&mut ws).await, close::TOKEN_REVOKED);
}

#[tokio::test]
async fn handshake_timeout() {
    let s = TestServer::start_with(|c| c.ws_handshake_timeout_ms = 300).await;
    let mut ws = s.ws(&["jeco.v1"]).await;
    assert_eq!(expect_close(&mut ws).await, close::HANDSHAKE_TIMEOUT);
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_survives() {
    let s = TestServer::start_with(|c| c.ws_max_frame_bytes = 1024).await;
    let t = s.register("nina").await;
    let (mut ws, _) = s.ws_ready(&t.access_token).await;

    ws.send(Message::text("{this is not json")).await.unwrap();
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::MalformedFrame
    );
    assert_alive(&mut ws, 1).await;

    send_json(&mut ws, json!({"type": "teleport", "to": "mars"})).await;
    let frame = next_frame(&mut ws).await;
    assert_eq!(
        frame,
        ServerFrame::Error {
            code: ErrorCode::UnknownFrame,
            message: "unknown frame type \"teleport\"".into(),
            frame: Some("teleport".into()),
            client_id: None,
        }
    );
    assert_alive(&mut ws, 2).await;

    send_json(&mut ws, json!({"type": "ping", "nonce": "seven"})).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::MalformedFrame
    );

    send_json(&mut ws, json!({"no": "type"})).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::MalformedFrame
    );

    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::MalformedFrame
    );

    send_json(&mut ws, json!({"type": "hello", "protocol": "1.0"})).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::HandshakeRequired
    );

    let big = json!({"type": "ping", "nonce": 1, "pad": "x".repeat(4000)});
    send_json(&mut ws, big).await;
    assert_eq!(
        error_code(&next_frame(&mut ws).await),
        ErrorCode::FrameTooLarge
    );
    assert_alive(&mut ws, 3).await;
}

#[tokio::test]
async fn server_pings_and_client_pings_keep_the_connection_alive() {
    let s = TestServer::start_with(|c| {
        c.ws_heartbeat_interval_ms = 100;
        c.ws_idle_timeout_ms = 1500;
    })
    .await;
    let t = s.register("otto").await;
    let (mut ws, _) = s.ws_ready(&t.access_token).await;
    // The server sends WebSocket pings on its own.
    let got_ping = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(Ok(Message::Ping(_))) = ws.next().await {
                return;
            }
        }
    })
    .await;
    assert!(got_ping.is_ok(), "no server ping");
    // While the client keeps reading (answering pings), the connection outlives the idle timeout.
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(100), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => panic!("closed while alive: {frame:?}"),
            Ok(Some(Err(e))) => panic!("error while alive: {e}"),
            _ => {}
        }
    }
    assert_alive(&mut ws, 9).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let s = TestServer::start_with(|c| {
        c.ws_heartbeat_interval_ms = 100;
        c.ws_idle_timeout_ms = 400;
    })
    .await;
    let t = s.register("pia").await;
    let (mut ws, _) = s.ws_ready(&t.access_token).await;
    // Not reading means not answering the server's pings: the client is silent.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(expect_close(&mut ws).await, close::HEARTBEAT_TIMEOUT);
}

#[tokio::test]
async fn frames_larger_than_the_read_buffer_arrive_whole() {
    // The gateway reads with a small buffer (2 KiB); frames up to the limit must still arrive whole,
    // in both directions.
    let s = TestServer::start().await;
    let max = s.config().ws_max_frame_bytes;
    assert!(
        max > 16 * 1024,
        "the test needs frames well past the read buffer"
    );
    let alice = s.register("ruth").await;
    let bob = s.register("sam").await;
    let g = s
        .group(&alice.access_token, "big frames", &[bob.user.id.0])
        .await;
    let mut ws = s.ws_live(&alice.access_token).await;
    let mut bob_ws = s.ws_live(&bob.access_token).await;

    // Heartbeats padded with JSON whitespace, up to exactly the limit.
    let padded_ping = |nonce: usize, len: usize| {
        let head = format!(r#"{{"type":"ping","nonce":{nonce}"#);
        format!("{head}{}}}", " ".repeat(len - head.len() - 1))
    };
    for len in [2 * 1024 + 1, 4 * 1024 + 1, 30_000, max] {
        let text = padded_ping(len, len);
        assert_eq!(text.len(), len);
        ws.send(Message::text(text)).await.unwrap();
        let pong = next_where(&mut ws, |f| matches!(f, ServerFrame::Pong { .. })).await;
        assert_eq!(pong, ServerFrame::Pong { nonce: len as u64 });
    }
    ws.send(Message::text(padded_ping(1, max + 1)))
        .await
        .unwrap();
    let refused = next_where(&mut ws, |f| matches!(f, ServerFrame::Error { .. })).await;
    assert_eq!(error_code(&refused), ErrorCode::FrameTooLarge);
    assert_alive(&mut ws, 2).await;

    // A long message of four-byte characters: ~16 KB in, and ~16 KB out to every member.
    let text = "🦀".repeat(jeco_shared::messages::MESSAGE_MAX_CHARS_DEFAULT);
    send_json(
        &mut ws,
        json!({"type": "send", "conversation_id": g, "client_id": "big", "text": text}),
    )
    .await;
    let ack = next_where(&mut ws, |f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(ack, ServerFrame::Ack { message, .. } if message.text == text));
    let event = next_event(&mut bob_ws).await;
    assert!(matches!(
        event.body,
        jeco_shared::events::EventBody::MessageCreated { message } if message.text == text
    ));
    assert_alive(&mut ws, 3).await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_as_a_slow_consumer_and_resumes() {
    let s = TestServer::start_with(|c| c.ws_outbound_queue = 2).await;
    let t = s.register("quentin").await;
    let other = s.register("rosa").await;
    let g = s
        .group(&other.access_token, "while away", &[t.user.id.0])
        .await;
    let (mut ws, _) = s.ws_ready(&t.access_token).await;
    // Each of these earns an error frame twice its size (the unknown type is echoed back). Sending
    // many without reading fills the socket buffers and then the bounded queue.
    let frame = json!({"type": "x".repeat(60_000)}).to_string();
    for _ in 0..400 {
        if ws.send(Message::text(frame.clone())).await.is_err() {
            break;
        }
    }
    // Meanwhile the conversation goes on.
    let mut said = Vec::new();
    for i in 0..3 {
        let m = s
            .say(
                &other.access_token,
                g,
                &format!("away-{i}"),
                "said while stuck",
            )
            .await;
        said.push(m["seq"].as_i64().unwrap());
    }
    assert_eq!(expect_close(&mut ws).await, close::SLOW_CONSUMER);

    // It resumes from before the first of them and gets each exactly once, in order.
    let resume = json!({"conversations": [{"conversation_id": g, "seq": said[0] - 1}], "user_seq": i64::MAX});
    let mut ws = s.ws_resume(&t.access_token, Some(resume)).await;
    let mut replayed = Vec::new();
    loop {
        match next_frame(&mut ws).await {
            ServerFrame::CaughtUp => break,
            ServerFrame::Event(e) => replayed.push(e.seq),
            _ => {}
        }
    }
    assert_eq!(replayed, said);
    assert_alive(&mut ws, 1).await;
}

/// A WebSocket client that writes frames byte by byte, so it can break the protocol on purpose.
struct RawWs {
    stream: tokio::net::TcpStream,
}

impl RawWs {
    /// Upgrades a raw TCP connection to the gateway with the token in the subprotocol.
    async fn open(s: &TestServer, token: &str) -> RawWs {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.base().trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /api/v1/ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Protocol: jeco.v1, jeco.auth.{token}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(n, 1, "closed during the upgrade");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        RawWs { stream }
    }

    /// One frame: `first` is FIN/RSV/opcode, `length` what the header declares (usually the
    /// payload's length), masked unless `masked` is false.
    async fn frame(&mut self, first: u8, payload: &[u8], length: u64, masked: bool) {
        use tokio::io::AsyncWriteExt;
        let mask_bit = if masked { 0x80 } else { 0 };
        let mut bytes = vec![first];
        match length {
            0..=125 => bytes.push(mask_bit | length as u8),
            126..=65535 => {
                bytes.push(mask_bit | 126);
                bytes.extend((length as u16).to_be_bytes());
            }
            _ => {
                bytes.push(mask_bit | 127);
                bytes.extend(length.to_be_bytes());
            }
        }
        let key = [0x12u8, 0x34, 0x56, 0x78];
        if masked {
            bytes.extend(key);
            bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            bytes.extend(payload);
        }
        self.stream.write_all(&bytes).await.unwrap();
    }

    async fn text(&mut self, text: &str) {
        self.frame(0x81, text.as_bytes(), text.len() as u64, true)
            .await;
    }

    /// Reads server frames until a close; returns its code (`None` for a close without one).
    async fn close_code(&mut self) -> Option<u16> {
        use tokio::io::AsyncReadExt;
        let read = async {
            loop {
                let mut head = [0u8; 2];
                self.stream
                    .read_exact(&mut head)
                    .await
                    .expect("closed before a close frame");
                let length = match head[1] & 0x7f {
                    126 => u64::from(self.stream.read_u16().await.unwrap()),
                    127 => self.stream.read_u64().await.unwrap(),
                    n => u64::from(n),
                };
                let mut payload = vec![0u8; length as usize];
                self.stream.read_exact(&mut payload).await.unwrap();
                if head[0] & 0x0f == 0x8 {
                    return (payload.len() >= 2)
                        .then(|| u16::from_be_bytes([payload[0], payload[1]]));
                }
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("no close frame")
    }
}

#[tokio::test]
async fn protocol_violations_close_with_the_rfc_6455_code() {
    let s = TestServer::start_with(|c| c.ws_max_frame_bytes = 1024).await;
    let t = s.register("rawa").await;
    let token = t.access_token.as_str();
    let hello = json!({"type": "hello", "protocol": jeco_shared::PROTOCOL_VERSION}).to_string();
    // The cap on a frame or message: four times `max_frame_bytes`, at least 256 KiB.
    let cap: u64 = 256 * 1024;
    let huge_ping = vec![b'p'; 126];
    type Violation = (&'static str, u16);
    let cases: [Violation; 8] = [
        ("invalid UTF-8 in a text frame", close::INVALID_PAYLOAD),
        ("a reserved bit set", close::PROTOCOL_ERROR),
        ("a reserved opcode", close::PROTOCOL_ERROR),
        ("an unmasked frame", close::PROTOCOL_ERROR),
        ("a 126-byte ping", close::PROTOCOL_ERROR),
        ("a fragmented ping", close::PROTOCOL_ERROR),
        ("a frame over the cap", close::MESSAGE_TOO_BIG),
        ("a fragmented message over the cap", close::MESSAGE_TOO_BIG),
    ];
    for live in [false, true] {
        for (what, code) in cases {
            let mut ws = RawWs::open(&s, token).await;
            if live {
                ws.text(&hello).await;
            }
            match what {
                "invalid UTF-8 in a text frame" => {
                    ws.frame(0x81, &[0xff, 0xfe, 0xfd], 3, true).await
                }
                "a reserved bit set" => ws.frame(0x81 | 0x40, b"{}", 2, true).await,
                "a reserved opcode" => ws.frame(0x83, b"{}", 2, true).await,
                "an unmasked frame" => ws.frame(0x81, b"{}", 2, false).await,
                "a 126-byte ping" => ws.frame(0x89, &huge_ping, 126, true).await,
                "a fragmented ping" => ws.frame(0x09, b"p", 1, true).await,
                "a frame over the cap" => ws.frame(0x82, b"", cap + 1, true).await,
                _ => {
                    let chunk = vec![b'x'; 64 * 1024];
                    ws.frame(0x01, &chunk, chunk.len() as u64, true).await;
                    for _ in 0..4 {
                        ws.frame(0x00, &chunk, chunk.len() as u64, true).await;
                    }
                }
            }
            assert_eq!(ws.close_code().await, Some(code), "{what} (live: {live})");
        }
    }
    // The server is still there for everyone else.
    let (mut ws, _) = s.ws_ready(token).await;
    assert_alive(&mut ws, 1).await;
}
