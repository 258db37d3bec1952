//! `jeco-server db copy`: move a deployment from its SQLite file to PostgreSQL, every row kept.
//!
//! Why a copier of its own instead of a dump and restore: the two schemas differ in types (SQLite
//! integers for flags and blobs in any column, PostgreSQL BOOLEAN and BYTEA) and in search (FTS5
//! tables there, a generated `tsvector` here), and ids and positions must stay exactly what they
//! were so that clients resume from the positions they hold with no gap (Synapse's port tool works
//! the same way).
//!
//! How:
//! - Both databases are brought to the current schema first (opening them runs the migrations).
//! - The target must be empty (no accounts): a copy never merges into a live deployment.
//! - The source is read in one read transaction (one consistent snapshot — still, stop the server
//!   first: what it writes after the snapshot is not copied); the rows go to PostgreSQL with
//!   binary `COPY`, table by table in foreign-key order ([`TABLES`]), by column name, converted to
//!   the target's column types.
//! - Everything is written in **one PostgreSQL transaction**: an interrupted copy (a crash, Ctrl-C,
//!   a lost connection, an error) leaves the target empty, and running the command again starts
//!   over. Before committing, the row count of every table is compared with the source's, and the
//!   identity sequences are moved past the largest copied ids.
//! - The full-text index is not copied: PostgreSQL computes each message's `tsvector` as the row
//!   arrives.

use super::StorageError;
use super::postgres::{PgStorage, pg};
use super::sqlite::SqliteStorage;
use bytes::Bytes;
use rusqlite::types::Value;
use std::path::Path;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// Every table of the PostgreSQL schema, parents before children. A test checks that this list is
/// the schema's exact set of tables, so a migration that adds a table cannot be forgotten here.
pub const TABLES: &[&str] = &[
    "media_blobs",
    "users",
    "sessions",
    "refresh_tokens",
    "login_failures",
    "conversations",
    "conversation_members",
    "messages",
    "message_mentions",
    "reactions",
    "conversation_events",
    "user_event_heads",
    "user_events",
    "teams",
    "team_members",
    "team_invites",
    "channels",
    "conversation_mutes",
    "notifications",
    "contact_requests",
    "contacts",
    "attachments",
    "uploads",
    "email_verifications",
    "password_resets",
    "login_codes",
    "two_factor",
    "recovery_codes",
    "sign_in_challenges",
    "server_settings",
];

/// Rows sent to PostgreSQL per chunk, and how often progress is reported.
const CHUNK_ROWS: usize = 5_000;
const PROGRESS_EVERY: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database already holds data ({0}): copy only into an empty database")]
    TargetNotEmpty(String),
    #[error("cannot read the SQLite database: {0}")]
    Source(#[source] rusqlite::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("table {table}: column {column} holds a value PostgreSQL's {pg_type} cannot take")]
    Value {
        table: &'static str,
        column: String,
        pg_type: Type,
    },
    #[error("table {table}: copied {copied} rows of {source_rows}; nothing was committed")]
    Count {
        table: &'static str,
        copied: u64,
        source_rows: u64,
    },
    #[error("the copy was interrupted; nothing was committed — run it again")]
    Interrupted,
}

/// What was copied: every table with its row count, in copy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Progress lines for a person, and the chance to stop: returning `false` interrupts the copy
/// (nothing is committed).
pub trait Progress: Send {
    fn line(&mut self, line: &str) -> bool;
}

impl<F: FnMut(&str) -> bool + Send> Progress for F {
    fn line(&mut self, line: &str) -> bool {
        self(line)
    }
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to`.
pub async fn sqlite_to_postgres(
    from: &Path,
    to: &str,
    progress: &mut dyn Progress,
) -> Result<CopyReport, CopyError> {
    // Opening runs each backend's migrations: both are at the schema this binary knows.
    drop(SqliteStorage::open(from, now_ms()).await?);
    let target = PgStorage::open(to, now_ms()).await?;
    let mut client = target.client().await?;
    for table in ["users", "conversations", "teams", "messages"] {
        let any: bool = client
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
            .await
            .map_err(pg)?
            .get(0);
        if any {
            return Err(CopyError::TargetNotEmpty(format!("table {table} has rows")));
        }
    }

    let (chunks_tx, mut chunks) = tokio::sync::mpsc::channel::<Result<Chunk, CopyError>>(4);
    let source = from.to_path_buf();
    let mut columns_of = Vec::new();
    let tx = client.transaction().await.map_err(pg)?;
    // The columns each table gets, from the target's own catalogue (generated columns excluded),
    // with their types.
    for table in TABLES {
        let names: Vec<String> = tx
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                   AND is_generated = 'NEVER'
                 ORDER BY ordinal_position",
                &[table],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let select = tx
            .prepare(&format!("SELECT {} FROM {table} LIMIT 0", names.join(", ")))
            .await
            .map_err(pg)?;
        let types: Vec<Type> = select.columns().iter().map(|c| c.type_().clone()).collect();
        columns_of.push((names, types));
    }
    let names: Vec<Vec<String>> = columns_of.iter().map(|(n, _)| n.clone()).collect();
    let reader = std::thread::spawn(move || read_source(&source, &names, &chunks_tx));

    let mut report = CopyReport { tables: Vec::new() };
    for (index, table) in TABLES.iter().enumerate() {
        let (names, types) = &columns_of[index];
        let sink = tx
            .copy_in::<_, Bytes>(&format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                names.join(", ")
            ))
            .await
            .map_err(pg)?;
        let writer = BinaryCopyInWriter::new(sink, types);
        tokio::pin!(writer);
        let mut copied = 0u64;
        let source_rows = loop {
            let chunk = match chunks.recv().await {
                Some(chunk) => chunk?,
                None => return Err(reader_failure(reader)),
            };
            match chunk {
                Chunk::Rows(rows) => {
                    for row in rows {
                        let values = row
                            .into_iter()
                            .zip(types)
                            .zip(names)
                            .map(|((value, ty), column)| {
                                to_pg(value, ty).ok_or_else(|| CopyError::Value {
                                    table,
                                    column: column.clone(),
                                    pg_type: ty.clone(),
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        let refs: Vec<&(dyn ToSql + Sync)> =
                            values.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
                        writer.as_mut().write(&refs).await.map_err(pg)?;
                        copied += 1;
                        if copied.is_multiple_of(PROGRESS_EVERY)
                            && !progress.line(&format!("{table}: {copied} rows…"))
                        {
                            return Err(CopyError::Interrupted);
                        }
                    }
                }
                Chunk::End(count) => break count,
            }
        };
        let written = writer.as_mut().finish().await.map_err(pg)?;
        if written != source_rows || copied != source_rows {
            return Err(CopyError::Count {
                table,
                copied: written,
                source_rows,
            });
        }
        report.tables.push((table, written));
        if !progress.line(&format!("{table}: {written} rows")) {
            return Err(CopyError::Interrupted);
        }
    }
    // Let the reader finish (its snapshot transaction ends with it).
    let _ = reader.join();

    // New rows get ids after the copied ones.
    let identities = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .await
        .map_err(pg)?;
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2),
                               COALESCE((SELECT MAX({column}) FROM {table}), 1),
                               (SELECT MAX({column}) FROM {table}) IS NOT NULL)"
            ),
            &[&table, &column],
        )
        .await
        .map_err(pg)?;
    }
    if !progress.line("committing…") {
        return Err(CopyError::Interrupted);
    }
    tx.commit().await.map_err(pg)?;
    Ok(report)
}

enum Chunk {
    Rows(Vec<Vec<Value>>),
    /// The table is complete: the number of rows the source has.
    End(u64),
}

/// Reads every table of [`TABLES`] from one snapshot of the source, in order, in chunks.
fn read_source(
    path: &Path,
    columns: &[Vec<String>],
    out: &tokio::sync::mpsc::Sender<Result<Chunk, CopyError>>,
) {
    let result = (|| -> Result<(), CopyError> {
        let mut conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(CopyError::Source)?;
        // One read transaction: every table from the same snapshot.
        let snapshot = conn.transaction().map_err(CopyError::Source)?;
        for (table, names) in TABLES.iter().zip(columns) {
            // SQLite stores no event row for most new messages (their row is the event), where
            // PostgreSQL has a marker row for each: the log is read whole.
            let source = if *table == "conversation_events" {
                format!("({})", super::sqlite::log_query("1", "1"))
            } else {
                (*table).to_string()
            };
            let mut stmt = snapshot
                .prepare(&format!(
                    "SELECT {} FROM {source} ORDER BY rowid",
                    names.join(", ")
                ))
                .or_else(|_| {
                    // WITHOUT ROWID tables: their primary key order.
                    snapshot.prepare(&format!("SELECT {} FROM {source}", names.join(", ")))
                })
                .map_err(CopyError::Source)?;
            let width = names.len();
            let mut rows = stmt.query([]).map_err(CopyError::Source)?;
            let mut chunk = Vec::with_capacity(CHUNK_ROWS);
            let mut count = 0u64;
            while let Some(row) = rows.next().map_err(CopyError::Source)? {
                let values = (0..width)
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(CopyError::Source)?;
                chunk.push(values);
                count += 1;
                if chunk.len() == CHUNK_ROWS
                    && out
                        .blocking_send(Ok(Chunk::Rows(std::mem::take(&mut chunk))))
                        .is_err()
                {
                    return Ok(());
                }
            }
            if !chunk.is_empty() && out.blocking_send(Ok(Chunk::Rows(chunk))).is_err() {
                return Ok(());
            }
            if out.blocking_send(Ok(Chunk::End(count))).is_err() {
                return Ok(());
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = out.blocking_send(Err(e));
    }
}

fn reader_failure(reader: std::thread::JoinHandle<()>) -> CopyError {
    match reader.join() {
        Ok(()) => CopyError::Interrupted,
        Err(_) => CopyError::Storage(StorageError::Backend("the SQLite reader panicked".into())),
    }
}

/// One SQLite value as the PostgreSQL column type `ty` takes it; `None` when it cannot.
fn to_pg(value: Value, ty: &Type) -> Option<Box<dyn ToSql + Sync + Send>> {
    Some(match (value, ty) {
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::TEXT => Box::new(None::<String>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Integer(i), t) if *t == Type::INT8 => Box::new(i),
        (Value::Integer(i), t) if *t == Type::BOOL => Box::new(i != 0),
        (Value::Integer(i), t) if *t == Type::TEXT => Box::new(i.to_string()),
        (Value::Text(s), t) if *t == Type::TEXT => Box::new(s),
        (Value::Text(s), t) if *t == Type::BYTEA => Box::new(s.into_bytes()),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b),
        (Value::Real(r), t) if *t == Type::INT8 && r.fract() == 0.0 => Box::new(r as i64),
        _ => return None,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
