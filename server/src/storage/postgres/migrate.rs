//! Numbered migrations of the PostgreSQL schema, embedded in the binary and applied at open.
//!
//! Released migrations are never edited; a change is a new file. Several instances may start at
//! once against one database: the whole run holds a session advisory lock, so each migration is
//! applied once, and each runs in its own transaction together with its row in
//! `schema_migrations`. A database newer than this binary is refused rather than misread.

use super::pg;
use crate::storage::StorageError;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_schema",
    sql: include_str!("../../../migrations/postgres/0001_schema.sql"),
}];

/// The advisory lock key migrations hold ("jeco" in ASCII).
const LOCK_KEY: i64 = 0x6a65_636f;

/// Applies every migration newer than the database. Returns the versions applied.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Object,
    now_ms: i64,
) -> Result<Vec<i64>, StorageError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(pg)?;
    let result = apply(client, now_ms).await;
    // Released even when a migration failed; the connection may be reused by the pool.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .map_err(pg);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn apply(
    client: &mut deadpool_postgres::Object,
    now_ms: i64,
) -> Result<Vec<i64>, StorageError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    BIGINT PRIMARY KEY,
                name       TEXT   NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await
        .map_err(pg)?;
    let current: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
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
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let fail = |e: tokio_postgres::Error| StorageError::Migration {
            version: m.version,
            source: Box::new(e),
        };
        let tx = client.transaction().await.map_err(fail)?;
        tx.batch_execute(m.sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_ms],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        applied.push(m.version);
    }
    Ok(applied)
}
