use crate::support::{Clients, PASSWORD, start};
use jeco_client::{ApiError, ClientError, MemoryTokenStore, TokenStore};
use jeco_shared::ErrorCode;
use std::sync::Arc;

#[tokio::test]
async fn register_login_me_logout() {
    let server = start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = server.client_with(store.clone());

    let health = client.health().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(
        jeco_shared::protocol_major(&health.protocol),
        Some(jeco_shared::PROTOCOL_MAJOR)
    );

    // Usernames are case-insensitive: the engine lowercases what was typed.
    let user = client
        .register(" Ada ", PASSWORD, Some("Ada Lovelace"))
        .await
        .unwrap();
    assert_eq!(user.username, "ada");
    assert_eq!(user.display_name.as_deref(), Some("Ada Lovelace"));
    assert!(
        store.load().unwrap().is_some(),
        "register saves the session"
    );
    assert_eq!(client.current_user().await.unwrap().unwrap().id, user.id);

    let old_access = store.load().unwrap().unwrap().access_token;
    client.logout().await.unwrap();
    assert_eq!(store.load().unwrap(), None, "logout forgets the session");
    assert_eq!(client.current_user().await.unwrap(), None);
    // And the server ended it: the old access token no longer works.
    let err = client.api().me(&old_access).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");

    let again = client.login("ADA", PASSWORD).await.unwrap();
    assert_eq!(again.id, user.id);
    assert_eq!(
        client.current_user().await.unwrap().unwrap().username,
        "ada"
    );
}

#[tokio::test]
async fn server_errors_arrive_as_typed_codes() {
    let server = start().await;
    let client = server.client();
    client.register("grace", PASSWORD, None).await.unwrap();

    let err = client.register("grace", PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UsernameTaken), "{err:?}");

    let err = client.login("grace", "wrong password!").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidCredentials), "{err:?}");

    let err = client.register("x", "short", None).await.unwrap_err();
    match err {
        ClientError::Api(ApiError::Server {
            code,
            fields,
            status,
            ..
        }) => {
            assert_eq!(code, ErrorCode::ValidationFailed);
            assert_eq!(status, 400);
            let fields = fields.expect("per-field problems");
            assert!(
                fields.contains_key("username") && fields.contains_key("password"),
                "{fields:?}"
            );
        }
        other => panic!("expected validation_failed, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_server_is_not_a_protocol_error() {
    let server = start().await;
    let url = server.base().to_owned();
    server.stop().await;
    let client = jeco_client::Client::builder(&url).build().unwrap();
    let err = client.login("nobody", PASSWORD).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Api(ApiError::Unreachable { .. })),
        "{err:?}"
    );
    assert_eq!(err.code(), None);
}
