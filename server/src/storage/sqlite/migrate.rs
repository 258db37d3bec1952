//! Numbered migrations, embedded in the binary and applied at open.
//!
//! Each migration runs in its own transaction together with its row in `schema_migrations`, so a
//! crash leaves the database at a whole version. Released migrations are never edited; a change is a
//! new file. A database newer than this binary is refused rather than misread.

use super::super::StorageError;
use rusqlite::{Connection, TransactionBehavior, params};

pub(super) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_accounts",
        sql: include_str!("../../../migrations/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "0002_conversations",
        sql: include_str!("../../../migrations/0002_conversations.sql"),
    },
    Migration {
        version: 3,
        name: "0003_teams",
        sql: include_str!("../../../migrations/0003_teams.sql"),
    },
    Migration {
        version: 4,
        name: "0004_social",
        sql: include_str!("../../../migrations/0004_social.sql"),
    },
    Migration {
        version: 5,
        name: "0005_invite_notifications",
        sql: include_str!("../../../migrations/0005_invite_notifications.sql"),
    },
    Migration {
        version: 6,
        name: "0006_media",
        sql: include_str!("../../../migrations/0006_media.sql"),
    },
    Migration {
        version: 7,
        name: "0007_fts_insert_per_batch",
        sql: include_str!("../../../migrations/0007_fts_insert_per_batch.sql"),
    },
    Migration {
        version: 8,
        name: "0008_fts_prefix_index",
        sql: include_str!("../../../migrations/0008_fts_prefix_index.sql"),
    },
    Migration {
        version: 9,
        name: "0009_reply_index_partial",
        sql: include_str!("../../../migrations/0009_reply_index_partial.sql"),
    },
    Migration {
        version: 10,
        name: "0010_login_failures_by_address",
        sql: include_str!("../../../migrations/0010_login_failures_by_address.sql"),
    },
    Migration {
        version: 11,
        name: "0011_media_quota",
        sql: include_str!("../../../migrations/0011_media_quota.sql"),
    },
    Migration {
        version: 12,
        name: "0012_thread_only_replies",
        sql: include_str!("../../../migrations/0012_thread_only_replies.sql"),
    },
    Migration {
        version: 13,
        name: "0013_account_recovery",
        sql: include_str!("../../../migrations/0013_account_recovery.sql"),
    },
    Migration {
        version: 14,
        name: "0014_administration",
        sql: include_str!("../../../migrations/0014_administration.sql"),
    },
    Migration {
        version: 15,
        name: "0015_two_factor",
        sql: include_str!("../../../migrations/0015_two_factor.sql"),
    },
    Migration {
        version: 16,
        name: "0016_notification_quotes_by_the_service",
        sql: include_str!("../../../migrations/0016_notification_quotes_by_the_service.sql"),
    },
];

/// Applies every migration newer than the database. Returns the versions applied.
pub(super) fn migrate(conn: &mut Connection, now_ms: i64) -> Result<Vec<i64>, StorageError> {
    migrate_through(conn, now_ms, MIGRATIONS.last().map_or(0, |m| m.version))
}

/// Applies the migrations newer than the database up to and including version `last` (tests use
/// it to build a database as an older server left it).
fn migrate_through(
    conn: &mut Connection,
    now_ms: i64,
    last: i64,
) -> Result<Vec<i64>, StorageError> {
    let backend = |e: rusqlite::Error| StorageError::Backend(Box::new(e));
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )
    .map_err(backend)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > newest_known {
        return Err(StorageError::Migration {
            version: current,
            source: format!(
                "the database is at schema version {current}, newer than this server knows \
                 ({newest_known}); upgrade jeco-server"
            )
            .into(),
        });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= last)
    {
        let fail = |e: rusqlite::Error| StorageError::Migration {
            version: m.version,
            source: Box::new(e),
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.execute_batch(m.sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_ms],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_increasing_and_names_match() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
        for m in MIGRATIONS {
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    /// Notification quotes are the services' rule since 0016 (the backend rewrites them on edit
    /// and delete); the trigger that used to keep them must be gone, or it would override it.
    #[test]
    fn no_trigger_rewrites_notification_quotes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        let triggers: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!triggers.is_empty(), "the search index's triggers remain");
        assert!(
            !triggers.iter().any(|t| t == "notifications_follow_message"),
            "{triggers:?}"
        );
    }

    #[test]
    fn migrate_is_idempotent_and_recorded() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate(&mut conn, 1).unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert!(migrate(&mut conn, 2).unwrap().is_empty());
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
    }

    #[test]
    fn bundled_sqlite_has_fts5() {
        // Migration 0004 creates an FTS5 table; rusqlite's `bundled` build compiles it in.
        let conn = Connection::open_in_memory().unwrap();
        let fts5: bool = conn
            .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(fts5);
    }

    /// Migration 0008 rebuilds `messages_fts` with a prefix index: on a database an older server
    /// filled, every message that is not deleted must still be found — by word and by prefix —
    /// and edits and deletes must keep the rebuilt index exact (its triggers are recreated).
    #[test]
    fn prefix_index_migration_keeps_existing_messages_searchable() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate_through(&mut conn, 1, 7).unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7]
        );
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'u', 'h', 0);
             INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq,
                                        last_activity_at)
                 VALUES (1, 'group', 'g', 1, 0, 4, 0);
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at)
                 VALUES (1, 1, 1, 1, 'a', 'kayak trip', 0),
                        (2, 1, 2, 1, 'b', 'karma and kale', 0),
                        (3, 1, 3, 1, 'c', 'nothing here', 0);
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at,
                                   deleted_at)
                 VALUES (4, 1, 4, 1, 'd', '', 0, 9);
             -- What the send path of an older server did once per batch (migration 0007).
             INSERT INTO messages_fts (rowid, body)
                 SELECT id, body FROM messages WHERE deleted_at IS NULL;",
        )
        .unwrap();
        assert_eq!(
            migrate(&mut conn, 2).unwrap(),
            vec![8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("prefix = '2 3'"), "{sql}");
        let hits = |conn: &Connection, q: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
                     ORDER BY rowid DESC",
                )
                .unwrap();
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(hits(&conn, "ka*"), [2, 1]);
        assert_eq!(hits(&conn, "kay*"), [1]);
        assert_eq!(hits(&conn, "kale"), [2]);
        assert_eq!(hits(&conn, "nothing"), [3]);
        // The send path's per-batch indexing still works on the rebuilt table.
        conn.execute_batch(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at)
                 VALUES (5, 1, 5, 1, 'e', 'kangaroo', 0);
             INSERT INTO messages_fts (rowid, body)
                 SELECT id, body FROM messages WHERE id BETWEEN 5 AND 5 AND deleted_at IS NULL;",
        )
        .unwrap();
        assert_eq!(hits(&conn, "ka*"), [5, 2, 1]);
        // Edit and delete triggers.
        conn.execute("UPDATE messages SET body = 'canoe trip' WHERE id = 1", [])
            .unwrap();
        conn.execute(
            "UPDATE messages SET body = '', deleted_at = 10 WHERE id = 2",
            [],
        )
        .unwrap();
        assert_eq!(hits(&conn, "ka*"), [5]);
        assert_eq!(hits(&conn, "ca*"), [1]);
        conn.execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
    }

    /// Migration 0009 leaves only replies in `messages_reply_to`; every query that looks replies
    /// up must still use it (a reply count per message of every history page would otherwise scan
    /// the table).
    #[test]
    fn reply_lookups_use_the_partial_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        for sql in [
            "SELECT COUNT(*) FROM messages r WHERE r.reply_to = ?1 AND r.deleted_at IS NULL",
            "SELECT id FROM messages m WHERE m.reply_to = ?1 AND m.seq > ?2 ORDER BY m.seq",
            "SELECT EXISTS (SELECT 1 FROM messages m WHERE m.reply_to = ?1 AND m.seq <= ?2)",
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let params = rusqlite::params_from_iter(vec![1; stmt.parameter_count()]);
            let plan: Vec<String> = stmt
                .query_map(params, |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("messages_reply_to")),
                "{sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
        assert!(matches!(
            migrate(&mut conn, 1),
            Err(StorageError::Migration { version: 999, .. })
        ));
    }
}
