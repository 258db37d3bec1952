use crate::support::{Clients, PASSWORD, start};
use jeco_client::{FileTokenStore, MemoryTokenStore, StoredTokens, TokenStore};
use std::sync::Arc;

/// Marks the saved access token as expired, so the next use must refresh. A client holds the
/// tokens it read, so the tests start a new client over the store afterwards (the app started
/// again after the token's lifetime).
fn expire(store: &dyn TokenStore) -> StoredTokens {
    let mut tokens = store.load().unwrap().unwrap();
    let before = tokens.clone();
    tokens.access_expires_at = 0;
    store.save(&tokens).unwrap();
    before
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_rotated() {
    let server = start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = server.client_with(store.clone());
    client.register("rotor", PASSWORD, None).await.unwrap();

    let before = expire(store.as_ref());
    let client = server.client_with(store.clone());
    let token = client.access_token().await.unwrap();
    let after = store.load().unwrap().unwrap();
    assert_eq!(token, after.access_token);
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "refresh rotates the refresh token"
    );
    assert!(!after.access_expires_within(30));
    assert_eq!(
        client.current_user().await.unwrap().unwrap().username,
        "rotor"
    );
}

#[tokio::test]
async fn concurrent_refreshes_use_the_refresh_token_once() {
    let server = start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = Arc::new(server.client_with(store.clone()));
    client.register("twins", PASSWORD, None).await.unwrap();
    let before = expire(store.as_ref());
    let client = Arc::new(server.client_with(store.clone()));

    // Two tasks need a token at once. Had both presented the same refresh token, the server would
    // see a reuse and revoke the session; serialized, the second one uses the first one's result.
    let (a, b) = tokio::join!(client.access_token(), client.access_token());
    assert_eq!(a.unwrap(), b.unwrap());
    assert_ne!(
        store.load().unwrap().unwrap().refresh_token,
        before.refresh_token,
        "one refresh happened"
    );
    assert_eq!(
        client.current_user().await.unwrap().unwrap().username,
        "twins",
        "session survived"
    );
}

#[tokio::test]
async fn revoked_session_reads_as_signed_out_and_is_forgotten() {
    let server = start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = server.client_with(store.clone());
    client.register("revoked", PASSWORD, None).await.unwrap();
    let stolen = expire(store.as_ref());
    let client = server.client_with(store.clone());

    // Someone else uses the refresh token first and goes on using the session (two rotations, so
    // the server's grace for a retried refresh does not apply), then ours is a reuse: the server
    // revokes the family and the engine must fall back to "signed out", not an error loop.
    let theirs = client.api().refresh(&stolen.refresh_token).await.unwrap();
    client.api().refresh(&theirs.refresh_token).await.unwrap();
    assert_eq!(client.current_user().await.unwrap(), None);
    assert_eq!(store.load().unwrap(), None);
}

#[tokio::test]
async fn file_store_keeps_the_session_across_clients() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jeco/tokens.json");
    let first = server.client_with(Arc::new(FileTokenStore::new(&path)));
    first.register("persistent", PASSWORD, None).await.unwrap();
    drop(first);

    let second = server.client_with(Arc::new(FileTokenStore::new(&path)));
    assert_eq!(
        second.current_user().await.unwrap().unwrap().username,
        "persistent"
    );
    second.logout().await.unwrap();
    assert!(!path.exists());
}
