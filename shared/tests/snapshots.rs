//! Snapshot tests of every serialized protocol type: a change to the wire format shows up as a
//! snapshot diff and has to be accepted on purpose (`cargo insta review`).

use jeco_shared::auth::*;
use jeco_shared::health::Health;
use jeco_shared::users::*;
use jeco_shared::ws::*;
use jeco_shared::*;
use std::collections::BTreeMap;

fn user() -> User {
    User {
        id: UserId(42),
        username: "ada".into(),
        display_name: Some("Ada Lovelace".into()),
        bio: None,
        status_text: Some("computing".into()),
        is_admin: false,
        created_at: "2026-11-23T10:00:00Z".into(),
    }
}

#[test]
fn error_bodies() {
    insta::assert_json_snapshot!(
        "error_plain",
        ErrorBody::new(ErrorCode::UsernameTaken, "username is taken")
    );
    let mut fields = BTreeMap::new();
    fields.insert(
        "username".to_string(),
        "must be at least 3 characters".to_string(),
    );
    insta::assert_json_snapshot!(
        "error_fields",
        ErrorBody::new(ErrorCode::ValidationFailed, "invalid fields").with_fields(fields)
    );
}

#[test]
fn auth_bodies() {
    insta::assert_json_snapshot!(
        "register_request",
        RegisterRequest {
            username: "ada".into(),
            password: "correct horse".into(),
            display_name: Some("Ada".into())
        }
    );
    insta::assert_json_snapshot!(
        "login_request",
        LoginRequest {
            username: "ada".into(),
            password: "pw".into()
        }
    );
    insta::assert_json_snapshot!(
        "refresh_request",
        RefreshRequest {
            refresh_token: "r".into()
        }
    );
    insta::assert_json_snapshot!(
        "token_response",
        TokenResponse {
            access_token: "a.b.c".into(),
            refresh_token: "opaque".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            user: user(),
        }
    );
    insta::assert_json_snapshot!(
        "access_claims",
        AccessClaims {
            sub: "42".into(),
            sid: 7,
            iat: 1,
            exp: 901,
            adm: false
        }
    );
}

#[test]
fn user_bodies() {
    insta::assert_json_snapshot!("user", user());
    insta::assert_json_snapshot!(
        "user_page",
        UserPage {
            items: vec![user()],
            next_cursor: Some("42".into())
        }
    );
    insta::assert_json_snapshot!(
        "update_profile",
        UpdateProfileRequest {
            display_name: Some(Some("A".into())),
            bio: Some(None),
            status_text: None
        }
    );
    insta::assert_json_snapshot!(
        "health",
        Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            protocol: PROTOCOL_VERSION.into()
        }
    );
}

#[test]
fn ws_frames() {
    insta::assert_json_snapshot!(
        "ws_hello",
        ClientFrame::Hello {
            protocol: "1.0".into(),
            token: Some("a.b.c".into()),
            client: Some("jeco-cli/0.1.0".into())
        }
    );
    insta::assert_json_snapshot!("ws_ping", ClientFrame::Ping { nonce: 3 });
    insta::assert_json_snapshot!(
        "ws_ready",
        ServerFrame::Ready {
            protocol: "1.0".into(),
            server_version: "0.1.0".into(),
            user: user(),
            session_id: SessionId(7),
            heartbeat_interval_ms: 15000,
            idle_timeout_ms: 45000,
        }
    );
    insta::assert_json_snapshot!("ws_pong", ServerFrame::Pong { nonce: 3 });
    insta::assert_json_snapshot!(
        "ws_error",
        ServerFrame::Error {
            code: ErrorCode::UnknownFrame,
            message: "unknown frame type".into(),
            frame: Some("nope".into())
        }
    );
}

#[test]
fn frames_round_trip() {
    let frames = [
        ClientFrame::Hello {
            protocol: "1.0".into(),
            token: None,
            client: None,
        },
        ClientFrame::Ping { nonce: u64::MAX },
    ];
    for f in frames {
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<ClientFrame>(&s).unwrap(), f);
    }
}
