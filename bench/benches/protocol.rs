//! Criterion micro-benchmarks of the wire protocol's hot paths: encoding and decoding WebSocket
//! frames and REST bodies with the real `jeco_shared` types and serde_json, as the server and the
//! engine do.
//!
//! Run: `cargo bench -p jeco-bench --bench protocol -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jeco_shared::auth::{LoginRequest, RegisterRequest, TokenResponse};
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame};
use jeco_shared::{ErrorBody, ErrorCode, ErrorDetail, SessionId, UserId};
use std::collections::BTreeMap;
use std::hint::black_box;

fn user() -> User {
    User {
        id: UserId(4711),
        username: "alice".into(),
        display_name: Some("Alice Example".into()),
        bio: Some("Writes Rust, drinks tea.".into()),
        status_text: Some("in a meeting".into()),
        is_admin: false,
        deactivated: false,
        created_at: "2026-11-23T10:15:00Z".into(),
        avatar: None,
    }
}

fn server_frames() -> Vec<(&'static str, ServerFrame)> {
    vec![
        (
            "ready",
            ServerFrame::Ready {
                protocol: "1.0".into(),
                server_version: "0.1.0".into(),
                user: user(),
                session_id: SessionId(99),
                heartbeat_interval_ms: 25_000,
                idle_timeout_ms: 60_000,
                user_seq: 0,
                limits: jeco_shared::limits::LIMITS,
            },
        ),
        ("pong", ServerFrame::Pong { nonce: 123_456 }),
        (
            "error",
            ServerFrame::Error {
                code: ErrorCode::MalformedFrame,
                message: "bad ping frame: invalid type: string \"x\", expected u64".into(),
                frame: Some("ping".into()),
                client_id: None,
            },
        ),
    ]
}

fn client_frames() -> Vec<(&'static str, ClientFrame)> {
    vec![
        (
            "hello",
            ClientFrame::Hello {
                protocol: "1.0".into(),
                // A JWT of realistic length.
                token: Some("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.".to_owned() + &"x".repeat(180)),
                client: Some("jeco-desktop/0.1.0".into()),
                resume: None,
            },
        ),
        ("ping", ClientFrame::Ping { nonce: 42 }),
    ]
}

fn ws_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws_frame");
    for (name, frame) in server_frames() {
        let json = serde_json::to_string(&frame).unwrap();
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("encode_server/{name}"), |b| {
            b.iter(|| serde_json::to_vec(black_box(&frame)).unwrap())
        });
        group.bench_function(format!("decode_server/{name}"), |b| {
            b.iter(|| serde_json::from_str::<ServerFrame>(black_box(&json)).unwrap())
        });
    }
    for (name, frame) in client_frames() {
        let json = serde_json::to_string(&frame).unwrap();
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("encode_client/{name}"), |b| {
            b.iter(|| serde_json::to_vec(black_box(&frame)).unwrap())
        });
        group.bench_function(format!("decode_client/{name}"), |b| {
            b.iter(|| serde_json::from_str::<ClientFrame>(black_box(&json)).unwrap())
        });
        // The gateway parses through serde_json::Value first to tell unknown types from malformed
        // ones (server/src/gateway/frames.rs); this is that two-step path.
        group.bench_function(format!("decode_client_via_value/{name}"), |b| {
            b.iter(|| {
                let value: serde_json::Value = serde_json::from_str(black_box(&json)).unwrap();
                serde_json::from_value::<ClientFrame>(value).unwrap()
            })
        });
    }
    group.finish();
}

fn rest_bodies(c: &mut Criterion) {
    let mut group = c.benchmark_group("rest_body");
    let register = serde_json::to_string(&RegisterRequest {
        username: "alice".into(),
        password: "correct horse battery staple".into(),
        display_name: Some("Alice".into()),
    })
    .unwrap();
    group.bench_function("decode/register_request", |b| {
        b.iter(|| serde_json::from_str::<RegisterRequest>(black_box(&register)).unwrap())
    });
    let login = serde_json::to_string(&LoginRequest {
        username: "alice".into(),
        password: "correct horse battery staple".into(),
    })
    .unwrap();
    group.bench_function("decode/login_request", |b| {
        b.iter(|| serde_json::from_str::<LoginRequest>(black_box(&login)).unwrap())
    });
    let tokens = TokenResponse {
        access_token: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.".to_owned() + &"x".repeat(180),
        refresh_token: "r".repeat(43),
        token_type: "Bearer".into(),
        expires_in: 900,
        user: user(),
    };
    group.bench_function("encode/token_response", |b| {
        b.iter(|| serde_json::to_vec(black_box(&tokens)).unwrap())
    });
    let error = ErrorBody {
        error: ErrorDetail {
            code: ErrorCode::ValidationFailed,
            message: "some fields are invalid".into(),
            fields: Some(BTreeMap::from([(
                "username".to_owned(),
                "must be at least 3 characters".to_owned(),
            )])),
            request_id: None,
        },
    };
    group.bench_function("encode/error_body", |b| {
        b.iter(|| serde_json::to_vec(black_box(&error)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, ws_frames, rest_bodies);
criterion_main!(benches);
