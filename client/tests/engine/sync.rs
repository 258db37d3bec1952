use crate::support::{Clients, PASSWORD, start};
use jeco_client::sync::{SyncOptions, connect};
use jeco_client::{ClientError, MemoryTokenStore, SyncError, SyncEvent, SyncState, TokenStore};
use jeco_shared::ErrorCode;
use jeco_shared::ws::close;
use std::sync::Arc;
use std::time::Duration;

async fn next_event(events: &mut tokio::sync::broadcast::Receiver<SyncEvent>) -> SyncEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event in time")
        .unwrap()
}

#[tokio::test]
async fn handshake_heartbeat_and_server_shutdown() {
    let server = start().await;
    let client = server.client();
    let user = client.register("syncer", PASSWORD, None).await.unwrap();

    let connection = client.connect_sync().await.unwrap();
    assert_eq!(connection.state(), SyncState::Live);
    let ready = connection.ready();
    assert_eq!(ready.user.id, user.id);
    assert_eq!(
        jeco_shared::protocol_major(&ready.protocol),
        Some(jeco_shared::PROTOCOL_MAJOR)
    );
    assert!(
        ready.heartbeat_interval > Duration::ZERO && ready.idle_timeout > ready.heartbeat_interval
    );

    let mut events = connection.subscribe();
    connection.ping_now().await;
    assert!(matches!(
        next_event(&mut events).await,
        SyncEvent::Pong { nonce: 1, .. }
    ));

    // A graceful server stop closes the socket with "going away"; the engine reports it.
    server.stop().await;
    match next_event(&mut events).await {
        SyncEvent::Closed { code, .. } => assert_eq!(code, Some(close::GOING_AWAY)),
        other => panic!("expected the connection to close, got {other:?}"),
    }
    assert_eq!(connection.state(), SyncState::Closed);
}

#[tokio::test]
async fn heartbeats_run_on_their_own() {
    let server = start().await;
    let client = server.client();
    client.register("beater", PASSWORD, None).await.unwrap();
    let options = SyncOptions {
        max_heartbeat_interval: Some(Duration::from_millis(100)),
        ..SyncOptions::default()
    };
    let connection = client.connect_sync_with(options).await.unwrap();
    let mut events = connection.subscribe();
    for expected in 1..=3 {
        match next_event(&mut events).await {
            SyncEvent::Pong { nonce, .. } => assert_eq!(nonce, expected),
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    connection.close().await;
}

#[tokio::test]
async fn bad_and_revoked_tokens_are_refused_with_their_codes() {
    let server = start().await;
    let url = jeco_client::ServerAddress::parse(server.base())
        .unwrap()
        .ws_url();

    let err = connect(&url, "not-a-jwt", SyncOptions::default())
        .await
        .unwrap_err();
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
    let err = connect(&url, &access, SyncOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TokenRevoked), "{err:?}");

    let err = client.connect_sync().await.unwrap_err();
    assert!(matches!(err, ClientError::NotSignedIn), "{err:?}");
}
