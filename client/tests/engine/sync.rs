//! The sync handshake against a real gateway: what `ready` says, a live socket, the close code of
//! a stopping server, and refusals with their error codes. (What the engine does on the
//! connection afterwards is tested without sockets in `engine/sync_state/tests.rs`, and against
//! real servers in the engine and e2e suites.)

use crate::support::{Clients, PASSWORD, start};
use futures_util::{SinkExt, StreamExt};
use jeco_client::sync::{Socket, handshake, text_frame};
use jeco_client::{ClientError, MemoryTokenStore, ReadyInfo, SyncError, TokenStore};
use jeco_shared::ErrorCode;
use jeco_shared::ws::{ClientFrame, ServerFrame, close};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn connect(url: &reqwest::Url, token: &str) -> Result<(Socket, ReadyInfo), SyncError> {
    handshake(
        url,
        token,
        "engine-test/1",
        None,
        Duration::from_secs(10),
        || {},
    )
    .await
}

/// The next message other than WebSocket pings and pongs, within ten seconds.
async fn next_message(socket: &mut Socket) -> Option<Message> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time");
        match message {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn handshake_ping_and_server_shutdown() {
    let server = start().await;
    let client = server.client();
    let user = client.register("syncer", PASSWORD, None).await.unwrap();
    let url = client.server().ws_url();

    let token = client.access_token().await.unwrap();
    let (mut socket, ready) = connect(&url, &token).await.unwrap();
    assert_eq!(ready.user.id, user.id);
    assert_eq!(
        jeco_shared::protocol_major(&ready.protocol),
        Some(jeco_shared::PROTOCOL_MAJOR)
    );
    assert!(
        ready.heartbeat_interval > Duration::ZERO && ready.idle_timeout > ready.heartbeat_interval
    );

    socket
        .send(text_frame(&ClientFrame::Ping { nonce: 1 }))
        .await
        .unwrap();
    match next_message(&mut socket).await {
        Some(Message::Text(text)) => assert_eq!(
            serde_json::from_str::<ServerFrame>(&text).unwrap(),
            ServerFrame::Pong { nonce: 1 }
        ),
        other => panic!("expected a pong, got {other:?}"),
    }

    // A graceful server stop closes the socket with "going away".
    server.stop().await;
    match next_message(&mut socket).await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(u16::from(frame.code), close::GOING_AWAY)
        }
        other => panic!("expected the connection to close, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_and_revoked_tokens_are_refused_with_their_codes() {
    let server = start().await;
    let url = jeco_client::ServerAddress::parse(server.base())
        .unwrap()
        .ws_url();

    let err = connect(&url, "not-a-jwt").await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Rejected {
                close_code: close::TOKEN_INVALID,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), Some(ErrorCode::TokenInvalid));

    let store = Arc::new(MemoryTokenStore::new());
    let client = server.client_with(store.clone());
    client.register("leaver", PASSWORD, None).await.unwrap();
    let access = store.load().unwrap().unwrap().access_token;
    client.logout().await.unwrap();
    let err = connect(&url, &access).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TokenRevoked), "{err:?}");

    let err = client.access_token().await.unwrap_err();
    assert!(matches!(err, ClientError::NotSignedIn), "{err:?}");
}
