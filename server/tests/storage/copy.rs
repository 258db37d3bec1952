//! `jeco-server db copy` at the storage level (`jeco_server::storage::copy`): a SQLite database
//! filled through the storage traits is copied into a fresh PostgreSQL database of the test
//! cluster. The API-level comparison of both servers is in `tests/api/db_copy.rs`.

use jeco_server::storage::copy::{CopyError, TABLES, sqlite_to_postgres};
use jeco_server::storage::postgres::PgStorage;
use jeco_server::storage::sqlite::SqliteStorage;
use jeco_server::storage::{
    AccountStore, Admission, ConversationStore, MentionSet, MessageStore, NewGroup, NewMessage,
    NewUser, NotifyPlan,
};
use jeco_shared::UserId;
use std::path::{Path, PathBuf};

async fn fresh_target() -> String {
    tokio::task::spawn_blocking(jeco_testkit::postgres::fresh_database)
        .await
        .expect("create a test database")
}

/// A SQLite database with two users, a group and `messages` messages in it.
async fn filled_source(dir: &Path, messages: usize) -> PathBuf {
    let path = dir.join("jeco.db");
    let s = SqliteStorage::open(&path, 1).await.unwrap();
    let mut ids = Vec::new();
    for name in ["ada", "bob"] {
        let user = s
            .create_user(NewUser {
                username: name.into(),
                password_hash: "h".into(),
                display_name: Some(format!("{name} (display)")),
                is_admin: name == "ada",
                created_at_ms: 1,
            })
            .await
            .unwrap();
        ids.push(user.id);
    }
    let (group, _) = s
        .create_group(NewGroup {
            name: "room".into(),
            owner: ids[0],
            members: vec![ids[1]],
            now_ms: 2,
            added_preview: None,
        })
        .await
        .unwrap();
    for i in 0..messages {
        s.send_message(NewMessage {
            conversation_id: group.id,
            sender_id: ids[i % 2],
            client_id: format!("c{i}"),
            body: format!("message number {i} about élan"),
            reply_to: None,
            thread_only: false,
            mentions: MentionSet::default(),
            attachments: Vec::new(),
            notify: NotifyPlan::none(),
            admission: Admission::always(),
            now_ms: 3 + i as i64,
        })
        .await
        .unwrap();
    }
    path
}

/// `(table, rows)` of every copied table, counted in PostgreSQL.
async fn target_counts(url: &str) -> Vec<(&'static str, i64)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut out = Vec::new();
    for table in TABLES {
        let n: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        out.push((*table, n));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copy_list_is_the_schemas_set_of_tables() {
    let url = fresh_target().await;
    drop(PgStorage::open(&url, 0).await.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND table_name <> 'schema_migrations'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables.sort();
    let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, tables,
        "storage::copy::TABLES must list every table of the schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_is_copied_and_new_ids_follow_the_copied_ones() {
    let dir = tempfile::tempdir().unwrap();
    let source = filled_source(dir.path(), 120).await;
    let url = fresh_target().await;
    let mut lines = Vec::new();
    let report = sqlite_to_postgres(&source, &url, &mut |line: &str| {
        lines.push(line.to_string());
        true
    })
    .await
    .unwrap();
    let counts = target_counts(&url).await;
    for ((table, copied), (t, n)) in report.tables.iter().zip(&counts) {
        assert_eq!(table, t);
        assert_eq!(*copied as i64, *n, "{table}");
    }
    let count = |t: &str| counts.iter().find(|(name, _)| *name == t).unwrap().1;
    assert_eq!(count("users"), 2);
    assert_eq!(count("messages"), 120);
    assert!(
        count("conversation_events") >= 120 + 3,
        "created, two members, the messages"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("messages: 120 rows")),
        "{lines:?}"
    );

    // The same records through the traits, and a new row gets the next id.
    let sqlite = SqliteStorage::open(&source, 1).await.unwrap();
    let pg_store = PgStorage::open(&url, 1).await.unwrap();
    let ada = sqlite.user_by_username("ada").await.unwrap().unwrap();
    assert_eq!(pg_store.user_by_username("ada").await.unwrap(), Some(ada));
    let carol = pg_store
        .create_user(NewUser {
            username: "carol".into(),
            password_hash: "h".into(),
            display_name: None,
            is_admin: false,
            created_at_ms: 9,
        })
        .await
        .unwrap();
    assert_eq!(carol.id, UserId(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_leaves_the_target_empty_and_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let source = filled_source(dir.path(), 30).await;
    let url = fresh_target().await;
    let mut seen = 0;
    let err = sqlite_to_postgres(&source, &url, &mut |_: &str| {
        seen += 1;
        seen < 9 // stop after the eighth table
    })
    .await
    .unwrap_err();
    assert!(matches!(err, CopyError::Interrupted), "{err}");
    assert!(target_counts(&url).await.iter().all(|(_, n)| *n == 0));

    let report = sqlite_to_postgres(&source, &url, &mut |_: &str| true)
        .await
        .unwrap();
    assert_eq!(
        report.tables.iter().find(|(t, _)| *t == "messages"),
        Some(&("messages", 30))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_with_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = filled_source(dir.path(), 3).await;
    let url = fresh_target().await;
    sqlite_to_postgres(&source, &url, &mut |_: &str| true)
        .await
        .unwrap();
    let err = sqlite_to_postgres(&source, &url, &mut |_: &str| true)
        .await
        .unwrap_err();
    assert!(matches!(err, CopyError::TargetNotEmpty(_)), "{err}");
    assert_eq!(
        target_counts(&url)
            .await
            .iter()
            .find(|(t, _)| *t == "messages"),
        Some(&("messages", 3)),
        "the refused copy changed nothing"
    );
}
