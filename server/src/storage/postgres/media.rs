//! [`MediaStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend, where `BEGIN IMMEDIATE` serialized every writer:
//! - the quota check of [`MediaStore::create_upload`] first locks the uploader's `users` row
//!   (`FOR NO KEY UPDATE`: it does not block rows that merely reference the user), so concurrent
//!   uploads of one user on any instance are counted one after the other and cannot pass the
//!   quota together; the sum is a new statement, so it sees the uploads committed before the lock
//!   was granted;
//! - recording a blob that may exist already (`insert_blob`) locks the existing row
//!   (`ON CONFLICT … DO UPDATE`), and [`MediaStore::delete_orphan_blob`] locks the row before it
//!   checks for references in a new statement: a new reference and the sweep's delete of the same
//!   blob wait for each other, so the delete never removes a blob that a just-committed
//!   attachment or avatar points at, and a new reference never points at a deleted row;
//! - sums are cast back to `BIGINT` (PostgreSQL sums `BIGINT`s as `NUMERIC`).

use super::{PgStorage, pg};
use crate::storage::StorageError;
use crate::storage::media::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::media::AttachmentKind;
use jeco_shared::{AttachmentId, ConversationId, MessageId, UserId};
use tokio_postgres::Row;

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

fn opt_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn opt_i64(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

const BLOB_COLUMNS: &str = "b.sha256, b.size, b.content_type, b.width, b.height, \
     b.thumbnail_state, b.thumbnail_type, b.created_at";

/// Reads the [`BLOB_COLUMNS`] starting at column `at`.
fn blob_from_row(r: &Row, at: usize) -> Result<BlobRecord, StorageError> {
    Ok(BlobRecord {
        sha256: r.try_get(at).map_err(pg)?,
        size: r.try_get::<_, i64>(at + 1).map_err(pg)? as u64,
        content_type: r.try_get(at + 2).map_err(pg)?,
        width: opt_u32(r.try_get(at + 3).map_err(pg)?),
        height: opt_u32(r.try_get(at + 4).map_err(pg)?),
        thumbnail: ThumbnailState::parse(r.try_get(at + 5).map_err(pg)?),
        thumbnail_type: r.try_get(at + 6).map_err(pg)?,
        created_at_ms: r.try_get(at + 7).map_err(pg)?,
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

fn attachment_from_row(r: &Row) -> Result<AttachmentRecord, StorageError> {
    Ok(AttachmentRecord {
        id: AttachmentId(r.try_get(0).map_err(pg)?),
        uploader_id: UserId(r.try_get(1).map_err(pg)?),
        kind: parse_kind(r.try_get(2).map_err(pg)?),
        name: r.try_get(3).map_err(pg)?,
        duration_ms: opt_u32(r.try_get(4).map_err(pg)?),
        waveform: r.try_get(5).map_err(pg)?,
        message_id: r.try_get::<_, Option<i64>>(6).map_err(pg)?.map(MessageId),
        created_at_ms: r.try_get(7).map_err(pg)?,
        blob: blob_from_row(r, 8)?,
    })
}

/// The attachments of several messages, ordered by message and then in display order: one
/// statement for a whole history page.
pub(super) async fn attachments_of_messages(
    c: &impl GenericClient,
    ids: &[i64],
) -> Result<Vec<AttachmentRecord>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = c
        .prepare_cached(&format!(
            "{} WHERE a.message_id = ANY($1) ORDER BY a.message_id, a.position, a.id",
            attachment_select()
        ))
        .await
        .map_err(pg)?;
    c.query(&stmt, &[&ids])
        .await
        .map_err(pg)?
        .iter()
        .map(attachment_from_row)
        .collect()
}

/// Attaches the sender's unattached uploads to a new message, in order, inside the send's
/// transaction. Any that is not the sender's, does not exist or is already attached fails the
/// whole send with [`StorageError::Conflict`]. (Each `UPDATE` locks its row and re-checks
/// `message_id IS NULL` after a concurrent send's commit, so one attachment joins one message.)
#[allow(dead_code)] // for the messages module's send
pub(super) async fn attach(
    tx: &impl GenericClient,
    message: MessageId,
    sender: UserId,
    ids: &[AttachmentId],
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached(
            "UPDATE attachments SET message_id = $1, position = $2
             WHERE id = $3 AND uploader_id = $4 AND message_id IS NULL",
        )
        .await
        .map_err(pg)?;
    for (position, id) in ids.iter().enumerate() {
        let changed = tx
            .execute(&stmt, &[&message.0, &(position as i64), &id.0, &sender.0])
            .await
            .map_err(pg)?;
        if changed != 1 {
            return Err(StorageError::Conflict);
        }
    }
    Ok(())
}

/// Removes a deleted message's attachments; their blobs are swept once nothing else uses them.
#[allow(dead_code)] // for the messages module's delete
pub(super) async fn detach_all(
    tx: &impl GenericClient,
    message: MessageId,
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached("DELETE FROM attachments WHERE message_id = $1")
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&message.0]).await.map_err(pg)?;
    Ok(())
}

/// Records a blob unless it exists; an existing row is locked (the no-op update) until the
/// transaction ends, so the sweep cannot delete it under the reference being added.
async fn insert_blob(tx: &impl GenericClient, b: &BlobRecord) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO media_blobs (sha256, size, content_type, width, height,
                 thumbnail_state, thumbnail_type, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (sha256) DO UPDATE SET sha256 = media_blobs.sha256",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &b.sha256,
            &(b.size as i64),
            &b.content_type,
            &opt_i64(b.width),
            &opt_i64(b.height),
            &b.thumbnail.as_str(),
            &b.thumbnail_type,
            &b.created_at_ms,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

const UPLOAD_COLUMNS: &str = "id, uploader_id, name, kind, size, received, sha256, duration_ms,
     waveform, created_at, updated_at";

fn upload_from_row(r: &Row) -> Result<UploadRecord, StorageError> {
    Ok(UploadRecord {
        id: r.try_get(0).map_err(pg)?,
        uploader_id: UserId(r.try_get(1).map_err(pg)?),
        name: r.try_get(2).map_err(pg)?,
        kind: parse_kind(r.try_get(3).map_err(pg)?),
        size: r.try_get::<_, i64>(4).map_err(pg)? as u64,
        received: r.try_get::<_, i64>(5).map_err(pg)? as u64,
        sha256: r.try_get(6).map_err(pg)?,
        duration_ms: opt_u32(r.try_get(7).map_err(pg)?),
        waveform: r.try_get(8).map_err(pg)?,
        created_at_ms: r.try_get(9).map_err(pg)?,
        updated_at_ms: r.try_get(10).map_err(pg)?,
    })
}

/// `NOT EXISTS` conditions that make blob `b` an orphan.
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_sha256 = b.sha256)
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_sha256 = b.sha256)
     AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.avatar_sha256 = b.sha256)";

async fn blob_by_sha(
    c: &impl GenericClient,
    sha256: &str,
) -> Result<Option<BlobRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {BLOB_COLUMNS} FROM media_blobs b WHERE b.sha256 = $1"
        ))
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&sha256])
        .await
        .map_err(pg)?
        .map(|r| blob_from_row(&r, 0))
        .transpose()
}

fn avatar_table(owner: AvatarOwner) -> (&'static str, i64) {
    match owner {
        AvatarOwner::User(u) => ("users", u.0),
        AvatarOwner::Team(t) => ("teams", t.0),
    }
}

#[async_trait]
impl MediaStore for PgStorage {
    async fn create_upload(
        &self,
        u: UploadRecord,
        quota_bytes: Option<u64>,
    ) -> Result<UploadAdmission, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if let Some(quota) = quota_bytes {
            let stmt = tx
                .prepare_cached("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .await
                .map_err(pg)?;
            tx.query_opt(&stmt, &[&u.uploader_id.0]).await.map_err(pg)?;
            let stmt = tx
                .prepare_cached(
                    "SELECT ((SELECT COALESCE(SUM(b.size), 0) FROM attachments a
                              JOIN media_blobs b ON b.sha256 = a.blob_sha256
                              WHERE a.uploader_id = $1)
                           + (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = $1)
                           )::BIGINT",
                )
                .await
                .map_err(pg)?;
            let used: i64 = tx
                .query_one(&stmt, &[&u.uploader_id.0])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            let used = used as u64;
            if used.saturating_add(u.size) > quota {
                return Ok(UploadAdmission::OverQuota { used });
            }
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO uploads (id, uploader_id, name, kind, size, received, sha256,
                     duration_ms, waveform, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .await
            .map_err(pg)?;
        tx.execute(
            &stmt,
            &[
                &u.id,
                &u.uploader_id.0,
                &u.name,
                &kind_str(u.kind),
                &(u.size as i64),
                &(u.received as i64),
                &u.sha256,
                &opt_i64(u.duration_ms),
                &u.waveform,
                &u.created_at_ms,
                &u.updated_at_ms,
            ],
        )
        .await
        .map_err(pg)?;
        super::commit(tx).await?;
        Ok(UploadAdmission::Created)
    }

    async fn media_usage(&self) -> Result<Vec<MediaUsageRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "WITH a AS (SELECT at.uploader_id AS user_id, SUM(b.size)::BIGINT AS bytes,
                                   COUNT(*) AS n
                            FROM attachments at JOIN media_blobs b ON b.sha256 = at.blob_sha256
                            GROUP BY at.uploader_id),
                      u AS (SELECT uploader_id AS user_id, SUM(size)::BIGINT AS bytes, COUNT(*) AS n
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
            .await
            .map_err(pg)?;
        c.query(&stmt, &[])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(MediaUsageRecord {
                    user_id: UserId(r.try_get(0).map_err(pg)?),
                    username: r.try_get(1).map_err(pg)?,
                    attachment_bytes: r.try_get::<_, i64>(2).map_err(pg)? as u64,
                    attachments: r.try_get::<_, i64>(3).map_err(pg)? as u64,
                    upload_bytes: r.try_get::<_, i64>(4).map_err(pg)? as u64,
                    uploads: r.try_get::<_, i64>(5).map_err(pg)? as u64,
                })
            })
            .collect()
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
            ))
            .await
            .map_err(pg)?;
        c.query_opt(&stmt, &[&id])
            .await
            .map_err(pg)?
            .as_ref()
            .map(upload_from_row)
            .transpose()
    }

    async fn set_upload_received(
        &self,
        id: &str,
        received: u64,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("UPDATE uploads SET received = $1, updated_at = $2 WHERE id = $3")
            .await
            .map_err(pg)?;
        let n = c
            .execute(&stmt, &[&(received as i64), &now_ms, &id])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_upload(&self, id: &str) -> Result<(), StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("DELETE FROM uploads WHERE id = $1")
            .await
            .map_err(pg)?;
        c.execute(&stmt, &[&id]).await.map_err(pg)?;
        Ok(())
    }

    async fn stale_uploads(&self, before_ms: i64) -> Result<Vec<String>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT id FROM uploads WHERE updated_at < $1 LIMIT 1000")
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&before_ms])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map_err(pg))
            .collect()
    }

    async fn blob(&self, sha256: &str) -> Result<Option<BlobRecord>, StorageError> {
        blob_by_sha(&self.client().await?, sha256).await
    }

    async fn complete_upload(
        &self,
        upload_id: &str,
        blob: BlobRecord,
        a: NewAttachment,
    ) -> Result<AttachmentRecord, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let stmt = tx
            .prepare_cached("DELETE FROM uploads WHERE id = $1")
            .await
            .map_err(pg)?;
        let gone = tx.execute(&stmt, &[&upload_id]).await.map_err(pg)?;
        if gone == 0 {
            // Completed by a concurrent request, or swept.
            return Err(StorageError::NotFound);
        }
        insert_blob(&tx, &blob).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO attachments (uploader_id, blob_sha256, kind, name,
                     duration_ms, waveform, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .await
            .map_err(pg)?;
        let id: i64 = tx
            .query_one(
                &stmt,
                &[
                    &a.uploader_id.0,
                    &blob.sha256,
                    &kind_str(a.kind),
                    &a.name,
                    &opt_i64(a.duration_ms),
                    &a.waveform,
                    &a.created_at_ms,
                ],
            )
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?;
        let stmt = tx
            .prepare_cached(&format!("{} WHERE a.id = $1", attachment_select()))
            .await
            .map_err(pg)?;
        let record = attachment_from_row(&tx.query_one(&stmt, &[&id]).await.map_err(pg)?)?;
        super::commit(tx).await?;
        Ok(record)
    }

    async fn attachment(&self, id: AttachmentId) -> Result<Option<AttachmentPlace>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT a.id, a.uploader_id, a.kind, a.name, a.duration_ms, a.waveform,
                        a.message_id, a.created_at, {BLOB_COLUMNS},
                        m.conversation_id, m.deleted_at IS NOT NULL
                 FROM attachments a JOIN media_blobs b ON b.sha256 = a.blob_sha256
                 LEFT JOIN messages m ON m.id = a.message_id
                 WHERE a.id = $1"
            ))
            .await
            .map_err(pg)?;
        let Some(r) = c.query_opt(&stmt, &[&id.0]).await.map_err(pg)? else {
            return Ok(None);
        };
        Ok(Some(AttachmentPlace {
            attachment: attachment_from_row(&r)?,
            conversation_id: r
                .try_get::<_, Option<i64>>(16)
                .map_err(pg)?
                .map(ConversationId),
            message_deleted: r
                .try_get::<_, Option<bool>>(17)
                .map_err(pg)?
                .unwrap_or(false),
        }))
    }

    async fn set_thumbnail(
        &self,
        sha256: &str,
        state: ThumbnailState,
        content_type: Option<String>,
    ) -> Result<(), StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "UPDATE media_blobs SET thumbnail_state = $1, thumbnail_type = $2
                 WHERE sha256 = $3",
            )
            .await
            .map_err(pg)?;
        c.execute(&stmt, &[&state.as_str(), &content_type, &sha256])
            .await
            .map_err(pg)?;
        Ok(())
    }

    async fn pending_thumbnails(&self) -> Result<Vec<String>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT sha256 FROM media_blobs WHERE thumbnail_state = 'pending'")
            .await
            .map_err(pg)?;
        c.query(&stmt, &[])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map_err(pg))
            .collect()
    }

    async fn delete_unattached(&self, before_ms: i64) -> Result<u64, StorageError> {
        let c = self.client().await?;
        // The condition is checked again on each locked row, so an attachment that a concurrent
        // send attaches is not deleted under it.
        let stmt = c
            .prepare_cached("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1")
            .await
            .map_err(pg)?;
        c.execute(&stmt, &[&before_ms]).await.map_err(pg)
    }

    async fn orphan_blobs(&self, limit: u32) -> Result<Vec<BlobRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {BLOB_COLUMNS} FROM media_blobs b WHERE {UNREFERENCED} LIMIT $1"
            ))
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&i64::from(limit)])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| blob_from_row(r, 0))
            .collect()
    }

    async fn delete_orphan_blob(&self, sha256: &str) -> Result<bool, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Lock first, then check for references in a new statement (a new snapshot): a reference
        // added concurrently has either committed (and is seen) or waits for this delete.
        let stmt = tx
            .prepare_cached("SELECT 1 FROM media_blobs WHERE sha256 = $1 FOR UPDATE")
            .await
            .map_err(pg)?;
        if tx.query_opt(&stmt, &[&sha256]).await.map_err(pg)?.is_none() {
            return Ok(false);
        }
        let stmt = tx
            .prepare_cached(&format!(
                "DELETE FROM media_blobs AS b WHERE b.sha256 = $1 AND {UNREFERENCED}"
            ))
            .await
            .map_err(pg)?;
        let n = tx.execute(&stmt, &[&sha256]).await.map_err(pg)?;
        super::commit(tx).await?;
        Ok(n == 1)
    }

    async fn set_avatar(
        &self,
        owner: AvatarOwner,
        blob: Option<BlobRecord>,
    ) -> Result<Option<String>, StorageError> {
        let (table, id) = avatar_table(owner);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The owner's row is locked so that two changes of one avatar each return the one they
        // replaced.
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT avatar_sha256 FROM {table} WHERE id = $1 FOR NO KEY UPDATE"
            ))
            .await
            .map_err(pg)?;
        let previous: Option<String> = tx
            .query_opt(&stmt, &[&id])
            .await
            .map_err(pg)?
            .ok_or(StorageError::NotFound)?
            .try_get(0)
            .map_err(pg)?;
        if let Some(b) = &blob {
            insert_blob(&tx, b).await?;
        }
        let stmt = tx
            .prepare_cached(&format!(
                "UPDATE {table} SET avatar_sha256 = $1 WHERE id = $2"
            ))
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&blob.as_ref().map(|b| b.sha256.as_str()), &id])
            .await
            .map_err(pg)?;
        super::commit(tx).await?;
        Ok(previous)
    }

    async fn avatar(&self, owner: AvatarOwner) -> Result<Option<BlobRecord>, StorageError> {
        let (table, id) = avatar_table(owner);
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!("SELECT avatar_sha256 FROM {table} WHERE id = $1"))
            .await
            .map_err(pg)?;
        let sha: Option<String> = match c.query_opt(&stmt, &[&id]).await.map_err(pg)? {
            Some(r) => r.try_get(0).map_err(pg)?,
            None => None,
        };
        match sha {
            Some(sha) => blob_by_sha(&c, &sha).await,
            None => Ok(None),
        }
    }
}
