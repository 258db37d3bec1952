//! The limits an operator configured reach the engine: every `ready` frame carries the server's,
//! the engine keeps them in its cache (so they hold offline and after a restart) and checks a
//! message's length against them before queueing it, instead of the protocol's default.

use crate::support::{PASSWORD, engine, start_with};
use jeco_client::EngineError;
use jeco_shared::limits::LIMITS;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_configured_limits_reach_the_engine_and_outlive_a_restart() {
    let server = start_with(|c| {
        c.message_max_chars = 40;
        c.media_avatar_max_bytes = 1 << 20;
        c.typing_timeout_ms = 10_000;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ada = engine(server.base(), dir.path());
    // Before any connection: the protocol's.
    assert_eq!(ada.limits(), LIMITS);
    ada.register("ada", PASSWORD, None).await.unwrap();
    ada.wait_live(WAIT).await.unwrap();

    let limits = ada.limits();
    assert_eq!(limits.message_chars_max, 40);
    assert_eq!(limits.avatar_bytes_max, 1 << 20);
    assert_eq!(limits.typing_repeat_ms, 5_000);
    assert_eq!(
        limits.bio_max, LIMITS.bio_max,
        "not configurable: the protocol's"
    );

    // A text within the protocol's default but over this server's is refused before it is
    // queued, with the server's number in the message.
    let notes = ada.create_group("notes", &[]).await.unwrap();
    let long = "x".repeat(41);
    match ada.send(notes.id, &long, None) {
        Err(EngineError::Invalid(why)) => assert!(why.contains("at most 40"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    ada.send(notes.id, &"x".repeat(40), None).unwrap();
    drop(ada);

    // Restarted offline (the server is gone): the cache still has them.
    let base = server.base().to_owned();
    drop(server);
    let ada = engine(&base, dir.path());
    assert_eq!(ada.limits().message_chars_max, 40);
}
