//! [`MediaStore`] on SQLite.

use super::{SqliteStorage, backend, write};
use crate::storage::{
    AttachmentPlace, AttachmentRecord, AvatarOwner, BlobRecord, MediaStore, MediaUsageRecord,
    NewAttachment, StorageError, ThumbnailState, UploadAdmission, UploadRecord,
};
use async_trait::async_trait;
use jeco_shared::media::AttachmentKind;
use jeco_shared::{AttachmentId, ConversationId, MessageId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

/// Bytes that count toward a user's quota: every attachment they uploaded, at its content's
/// size, plus the declared size of their unfinished uploads.
fn used_bytes(c: &Connection, user: UserId) -> Result<u64, StorageError> {
    c.query_row(
        "SELECT (SELECT COALESCE(SUM(b.size), 0) FROM attachments a
                 JOIN media_blobs b ON b.sha256 = a.blob_sha256 WHERE a.uploader_id = ?1)
              + (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = ?1)",
        [user.0],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(backend)
}

fn kind_str(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::File => "file",
        AttachmentKind::Image => "image",
        AttachmentKind::Voice => "voice",
    }
}

fn parse_kind(s: &str) -> AttachmentKind {
    match s {
        "image" => AttachmentKind::Image,
        "voice" => AttachmentKind::Voice,
        _ => AttachmentKind::File,
    }
}

const BLOB_COLUMNS: &str = "b.sha256, b.size, b.content_type, b.width, b.height, \
     b.thumbnail_state, b.thumbnail_type, b.created_at";

/// Reads the [`BLOB_COLUMNS`] starting at column `at`.
fn blob_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<BlobRecord> {
    Ok(BlobRecord {
        sha256: r.get(at)?,
        size: r.get::<_, i64>(at + 1)? as u64,
        content_type: r.get(at + 2)?,
        width: r.get(at + 3)?,
        height: r.get(at + 4)?,
        thumbnail: ThumbnailState::parse(&r.get::<_, String>(at + 5)?),
        thumbnail_type: r.get(at + 6)?,
        created_at_ms: r.get(at + 7)?,
    })
}

/// The attachment columns (alias `a`) followed by the [`BLOB_COLUMNS`] (alias `b`).
fn attachment_select() -> String {
    format!(
        "SELECT a.id, a.uploader_id, a.kind, a.name, a.duration_ms, a.waveform, a.message_id,
                a.created_at, {BLOB_COLUMNS}
         FROM attachments a JOIN media_blobs b ON b.sha256 = a.blob_sha256"
    )
}

fn attachment_from_row(r: &Row<'_>) -> rusqlite::Result<AttachmentRecord> {
    Ok(AttachmentRecord {
        id: AttachmentId(r.get(0)?),
        uploader_id: UserId(r.get(1)?),
        kind: parse_kind(&r.get::<_, String>(2)?),
        name: r.get(3)?,
        duration_ms: r.get(4)?,
        waveform: r.get(5)?,
        message_id: r.get::<_, Option<i64>>(6)?.map(MessageId),
        created_at_ms: r.get(7)?,
        blob: blob_from_row(r, 8)?,
    })
}

/// The attachments of several messages (`ids`: a JSON array of message ids), ordered by message
/// and then in display order: one statement for a whole history page.
pub(super) fn attachments_of_messages(
    c: &Connection,
    ids: &str,
) -> Result<Vec<AttachmentRecord>, StorageError> {
    let sql = format!(
        "{} WHERE a.message_id IN (SELECT value FROM json_each(?1))
         ORDER BY a.message_id, a.position, a.id",
        attachment_select()
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    stmt.query_map([ids], attachment_from_row)
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)
}

/// Attaches the sender's unattached uploads to a new message, in order, inside the send's
/// transaction. Any that is not the sender's, does not exist or is already attached fails the
/// whole send with [`StorageError::Conflict`].
pub(super) fn attach(
    tx: &Connection,
    message: MessageId,
    sender: UserId,
    ids: &[AttachmentId],
) -> Result<(), StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE attachments SET message_id = ?1, position = ?2
             WHERE id = ?3 AND uploader_id = ?4 AND message_id IS NULL",
        )
        .map_err(backend)?;
    for (position, id) in ids.iter().enumerate() {
        let changed = stmt
            .execute(params![message.0, position as i64, id.0, sender.0])
            .map_err(backend)?;
        if changed != 1 {
            return Err(StorageError::Conflict);
        }
    }
    Ok(())
}

/// Removes a deleted message's attachments; their blobs are swept once nothing else uses them.
pub(super) fn detach_all(tx: &Connection, message: MessageId) -> Result<(), StorageError> {
    tx.execute("DELETE FROM attachments WHERE message_id = ?1", [message.0])
        .map_err(backend)?;
    Ok(())
}

fn insert_blob(tx: &Connection, b: &BlobRecord) -> Result<(), StorageError> {
    tx.execute(
        "INSERT OR IGNORE INTO media_blobs (sha256, size, content_type, width, height,
             thumbnail_state, thumbnail_type, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            b.sha256,
            b.size as i64,
            b.content_type,
            b.width,
            b.height,
            b.thumbnail.as_str(),
            b.thumbnail_type,
            b.created_at_ms
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn upload_from_row(r: &Row<'_>) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        id: r.get(0)?,
        uploader_id: UserId(r.get(1)?),
        name: r.get(2)?,
        kind: parse_kind(&r.get::<_, String>(3)?),
        size: r.get::<_, i64>(4)? as u64,
        received: r.get::<_, i64>(5)? as u64,
        sha256: r.get(6)?,
        duration_ms: r.get(7)?,
        waveform: r.get(8)?,
        created_at_ms: r.get(9)?,
        updated_at_ms: r.get(10)?,
    })
}

/// `NOT EXISTS` conditions that make blob `b` an orphan.
pub(super) const UNREFERENCED: &str =
    "NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_sha256 = b.sha256)
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_sha256 = b.sha256)
     AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.avatar_sha256 = b.sha256)";

fn blob_by_sha(c: &Connection, sha256: &str) -> Result<Option<BlobRecord>, StorageError> {
    c.query_row(
        &format!("SELECT {BLOB_COLUMNS} FROM media_blobs b WHERE b.sha256 = ?1"),
        [sha256],
        |r| blob_from_row(r, 0),
    )
    .optional()
    .map_err(backend)
}

fn avatar_table(owner: AvatarOwner) -> (&'static str, i64) {
    match owner {
        AvatarOwner::User(u) => ("users", u.0),
        AvatarOwner::Team(t) => ("teams", t.0),
    }
}

#[async_trait]
impl MediaStore for SqliteStorage {
    async fn create_upload(
        &self,
        u: UploadRecord,
        quota_bytes: Option<u64>,
    ) -> Result<UploadAdmission, StorageError> {
        self.pool
            .run(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                if let Some(quota) = quota_bytes {
                    let used = used_bytes(&tx, u.uploader_id)?;
                    if used.saturating_add(u.size) > quota {
                        return Ok(UploadAdmission::OverQuota { used });
                    }
                }
                tx.execute(
                    "INSERT INTO uploads (id, uploader_id, name, kind, size, received, sha256,
                         duration_ms, waveform, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        u.id,
                        u.uploader_id.0,
                        u.name,
                        kind_str(u.kind),
                        u.size as i64,
                        u.received as i64,
                        u.sha256,
                        u.duration_ms,
                        u.waveform,
                        u.created_at_ms,
                        u.updated_at_ms
                    ],
                )
                .map_err(backend)?;
                tx.commit().map_err(backend)?;
                Ok(UploadAdmission::Created)
            })
            .await
    }

    async fn media_usage(&self) -> Result<Vec<MediaUsageRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "WITH a AS (SELECT at.uploader_id AS user_id, SUM(b.size) AS bytes, COUNT(*) AS n
                                    FROM attachments at JOIN media_blobs b ON b.sha256 = at.blob_sha256
                                    GROUP BY at.uploader_id),
                              u AS (SELECT uploader_id AS user_id, SUM(size) AS bytes, COUNT(*) AS n
                                    FROM uploads GROUP BY uploader_id)
                         SELECT users.id, users.username,
                                COALESCE(a.bytes, 0), COALESCE(a.n, 0),
                                COALESCE(u.bytes, 0), COALESCE(u.n, 0)
                         FROM users
                         LEFT JOIN a ON a.user_id = users.id
                         LEFT JOIN u ON u.user_id = users.id
                         WHERE a.user_id IS NOT NULL OR u.user_id IS NOT NULL
                         ORDER BY COALESCE(a.bytes, 0) + COALESCE(u.bytes, 0) DESC, users.id",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(MediaUsageRecord {
                            user_id: UserId(r.get(0)?),
                            username: r.get(1)?,
                            attachment_bytes: r.get::<_, i64>(2)? as u64,
                            attachments: r.get::<_, i64>(3)? as u64,
                            upload_bytes: r.get::<_, i64>(4)? as u64,
                            uploads: r.get::<_, i64>(5)? as u64,
                        })
                    })
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                Ok(rows)
            })
            .await
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError> {
        let id = id.to_owned();
        self.pool
            .run(move |c| {
                c.query_row(
                    "SELECT id, uploader_id, name, kind, size, received, sha256, duration_ms,
                            waveform, created_at, updated_at
                     FROM uploads WHERE id = ?1",
                    [id],
                    upload_from_row,
                )
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn set_upload_received(
        &self,
        id: &str,
        received: u64,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let id = id.to_owned();
        self.pool
            .run(move |c| {
                let n = c
                    .execute(
                        "UPDATE uploads SET received = ?1, updated_at = ?2 WHERE id = ?3",
                        params![received as i64, now_ms, id],
                    )
                    .map_err(backend)?;
                if n == 0 {
                    return Err(StorageError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn delete_upload(&self, id: &str) -> Result<(), StorageError> {
        let id = id.to_owned();
        self.pool
            .run(move |c| {
                c.execute("DELETE FROM uploads WHERE id = ?1", [id])
                    .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn stale_uploads(&self, before_ms: i64) -> Result<Vec<String>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT id FROM uploads WHERE updated_at < ?1 LIMIT 1000")
                    .map_err(backend)?;
                stmt.query_map([before_ms], |r| r.get(0))
                    .map_err(backend)?
                    .collect::<Result<_, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn blob(&self, sha256: &str) -> Result<Option<BlobRecord>, StorageError> {
        let sha256 = sha256.to_owned();
        self.pool.run(move |c| blob_by_sha(c, &sha256)).await
    }

    async fn complete_upload(
        &self,
        upload_id: &str,
        blob: BlobRecord,
        a: NewAttachment,
    ) -> Result<AttachmentRecord, StorageError> {
        let upload_id = upload_id.to_owned();
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let gone = tx
                        .execute("DELETE FROM uploads WHERE id = ?1", [&upload_id])
                        .map_err(backend)?;
                    if gone == 0 {
                        // Completed by a concurrent request, or swept.
                        return Err(StorageError::NotFound);
                    }
                    insert_blob(tx, &blob)?;
                    tx.execute(
                        "INSERT INTO attachments (uploader_id, blob_sha256, kind, name,
                             duration_ms, waveform, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            a.uploader_id.0,
                            blob.sha256,
                            kind_str(a.kind),
                            a.name,
                            a.duration_ms,
                            a.waveform,
                            a.created_at_ms
                        ],
                    )
                    .map_err(backend)?;
                    let id = tx.last_insert_rowid();
                    tx.query_row(
                        &format!("{} WHERE a.id = ?1", attachment_select()),
                        [id],
                        attachment_from_row,
                    )
                    .map_err(backend)
                })
            })
            .await
    }

    async fn attachment(&self, id: AttachmentId) -> Result<Option<AttachmentPlace>, StorageError> {
        self.pool
            .run(move |c| {
                let sql = format!(
                    "SELECT a.id, a.uploader_id, a.kind, a.name, a.duration_ms, a.waveform,
                            a.message_id, a.created_at, {BLOB_COLUMNS},
                            m.conversation_id, m.deleted_at IS NOT NULL
                     FROM attachments a JOIN media_blobs b ON b.sha256 = a.blob_sha256
                     LEFT JOIN messages m ON m.id = a.message_id
                     WHERE a.id = ?1"
                );
                c.query_row(&sql, [id.0], |r| {
                    Ok(AttachmentPlace {
                        attachment: attachment_from_row(r)?,
                        conversation_id: r.get::<_, Option<i64>>(16)?.map(ConversationId),
                        message_deleted: r.get::<_, Option<bool>>(17)?.unwrap_or(false),
                    })
                })
                .optional()
                .map_err(backend)
            })
            .await
    }

    async fn set_thumbnail(
        &self,
        sha256: &str,
        state: ThumbnailState,
        content_type: Option<String>,
    ) -> Result<(), StorageError> {
        let sha256 = sha256.to_owned();
        self.pool
            .run(move |c| {
                c.execute(
                    "UPDATE media_blobs SET thumbnail_state = ?1, thumbnail_type = ?2
                     WHERE sha256 = ?3",
                    params![state.as_str(), content_type, sha256],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn pending_thumbnails(&self) -> Result<Vec<String>, StorageError> {
        self.pool
            .run(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT sha256 FROM media_blobs WHERE thumbnail_state = 'pending'",
                    )
                    .map_err(backend)?;
                stmt.query_map([], |r| r.get(0))
                    .map_err(backend)?
                    .collect::<Result<_, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn delete_unattached(&self, before_ms: i64) -> Result<u64, StorageError> {
        self.pool
            .run(move |c| {
                let n = c
                    .execute(
                        "DELETE FROM attachments WHERE message_id IS NULL AND created_at < ?1",
                        [before_ms],
                    )
                    .map_err(backend)?;
                Ok(n as u64)
            })
            .await
    }

    async fn orphan_blobs(&self, limit: u32) -> Result<Vec<BlobRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let sql = format!(
                    "SELECT {BLOB_COLUMNS} FROM media_blobs b WHERE {UNREFERENCED} LIMIT ?1"
                );
                let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
                stmt.query_map([limit], |r| blob_from_row(r, 0))
                    .map_err(backend)?
                    .collect::<Result<_, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn delete_orphan_blob(&self, sha256: &str) -> Result<bool, StorageError> {
        let sha256 = sha256.to_owned();
        self.pool
            .run(move |c| {
                let n = c
                    .execute(
                        &format!(
                            "DELETE FROM media_blobs AS b WHERE b.sha256 = ?1 AND {UNREFERENCED}"
                        ),
                        [sha256],
                    )
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn set_avatar(
        &self,
        owner: AvatarOwner,
        blob: Option<BlobRecord>,
    ) -> Result<Option<String>, StorageError> {
        let (table, id) = avatar_table(owner);
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let previous: Option<String> = tx
                        .query_row(
                            &format!("SELECT avatar_sha256 FROM {table} WHERE id = ?1"),
                            [id],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?
                        .ok_or(StorageError::NotFound)?;
                    if let Some(b) = &blob {
                        insert_blob(tx, b)?;
                    }
                    tx.execute(
                        &format!("UPDATE {table} SET avatar_sha256 = ?1 WHERE id = ?2"),
                        params![blob.as_ref().map(|b| b.sha256.as_str()), id],
                    )
                    .map_err(backend)?;
                    Ok(previous)
                })
            })
            .await
    }

    async fn avatar(&self, owner: AvatarOwner) -> Result<Option<BlobRecord>, StorageError> {
        let (table, id) = avatar_table(owner);
        self.pool
            .run(move |c| {
                let sha: Option<String> = c
                    .query_row(
                        &format!("SELECT avatar_sha256 FROM {table} WHERE id = ?1"),
                        [id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(backend)?
                    .flatten();
                match sha {
                    Some(sha) => blob_by_sha(c, &sha),
                    None => Ok(None),
                }
            })
            .await
    }
}
