//! "Export my data": everything a user wrote — profile, messages, files — as one zip.
//!
//! The archive's layout and JSON are [`jeco_shared::export`]'s. Only the caller's own data goes
//! in: their profile and email, the messages they authored (not other people's, not even the
//! thread parents they replied to — only those ids), the emoji they put on those messages, the
//! files they attached to them, and their picture. The one thing decided here is *whose* data:
//! always `who.user_id`'s, so no request can name another account.
//!
//! **Never whole in memory.** The zip is written to an unnamed temporary file under
//! `<data-dir>/exports/` (gone when closed, even after a crash) by one blocking thread that owns
//! the `zip` writer; this task feeds it entry starts and byte chunks through a small bounded
//! channel, reading messages in pages of [`PAGE`] ids and files as streams from the object store.
//! What is held whole is the list of the user's message ids (8 bytes a message) and the names of
//! the conversations they wrote in. The finished file is then streamed to the client with its
//! length, so a failure while building is a clean error instead of a truncated download.
//!
//! **Bounded.** One export at a time per user (a second one while the first is being built or
//! downloaded is `409 conflict`: it would only double the work) and a few per hour
//! ([`PER_HOUR`], `429 rate_limited` with `Retry-After`). The running check comes first, so a
//! refused concurrent request costs no budget.
//!
//! Nothing of the content is logged: failures are reported as fixed texts.

use super::{Principal, ServiceError, render};
use crate::services::accounts::to_user;
use crate::services::media::blobs::{Blobs, Rendition};
use crate::services::rate::UserRateLimiter;
use crate::storage::{AttachmentRecord, MessageRecord, Storage};
use bytes::Bytes;
use futures_util::StreamExt;
use jeco_shared::conversations::ConversationKind;
use jeco_shared::export::{
    AVATAR_ENTRY, EXPORT_FORMAT, ExportProfile, ExportedFile, ExportedMessage, MESSAGES_ENTRY,
    PROFILE_ENTRY, file_path,
};
use jeco_shared::{ConversationId, UserId};
use std::collections::{HashMap, HashSet};
use std::io::{Seek, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Message ids read per page.
const PAGE: usize = 200;
/// Exports per user per hour (also the burst).
pub const PER_HOUR: u32 = 3;
/// Entry pieces in flight between this task and the zip-writing thread.
const PIECES_IN_FLIGHT: usize = 8;

/// The export service.
pub struct Exports {
    storage: Arc<dyn Storage>,
    blobs: Blobs,
    /// Where the temporary zips are made.
    dir: PathBuf,
    gate: Gate,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

/// Who may start an export now.
struct Gate {
    /// Users whose export is being built or downloaded.
    running: Arc<Mutex<HashSet<UserId>>>,
    rate: UserRateLimiter,
}

/// A finished export: an unnamed temporary file, read from its start. The user's export counts as
/// running until this is dropped (the download has ended, or failed).
pub struct ExportFile {
    pub file: std::fs::File,
    pub len: u64,
    pub running: Running,
}

/// Marks a user's export as running until dropped.
pub struct Running {
    set: Arc<Mutex<HashSet<UserId>>>,
    user: UserId,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.user);
    }
}

/// What the blocking writer is told, in order.
enum Piece {
    /// Start an entry; `compress` for JSON, not for files (mostly compressed already).
    Start {
        name: String,
        compress: bool,
        large: bool,
    },
    Bytes(Bytes),
}

fn failed(what: &'static str) -> ServiceError {
    ServiceError::Internal(format!("the export could not be made: {what}"))
}

impl Exports {
    /// `dir` is created if missing (private to the server's user).
    pub fn new(
        storage: Arc<dyn Storage>,
        blobs: Blobs,
        dir: PathBuf,
        clock: crate::clock::Clock,
    ) -> Result<Self, std::io::Error> {
        super::media::create_private_dir(&dir)?;
        Ok(Self {
            storage,
            blobs,
            dir,
            gate: Gate::new(),
            clock,
        })
    }

    /// The caller's export, built into a temporary file.
    pub async fn export(&self, who: &Principal) -> Result<ExportFile, ServiceError> {
        let running = self.gate.start(who.user_id)?;
        let file = tempfile::tempfile_in(&self.dir).map_err(|_| failed("no temporary file"))?;
        let (tx, rx) = mpsc::channel(PIECES_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || write_zip(file, rx));
        let fed = self.feed(who.user_id, &tx).await;
        drop(tx);
        let written = writer.await.map_err(|_| failed("the writer stopped"))?;
        // A writer failure makes the feeder stop with "writer gone": report the writer's.
        let (mut file, len) = written?;
        fed?;
        file.rewind().map_err(|_| failed("rewind"))?;
        Ok(ExportFile { file, len, running })
    }

    /// Sends every entry of `user`'s export to the writer.
    async fn feed(&self, user: UserId, tx: &mpsc::Sender<Piece>) -> Result<(), ServiceError> {
        let send = |piece| async move {
            tx.send(piece)
                .await
                .map_err(|_| failed("the writer stopped"))
        };
        let record = self
            .storage
            .user_by_id(user)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let profile = ExportProfile {
            format: EXPORT_FORMAT,
            exported_at: render::rfc3339(self.clock.now_ms()),
            user: to_user(&record),
            email: self.storage.email_of(user).await?,
        };
        send(Piece::Start {
            name: PROFILE_ENTRY.to_owned(),
            compress: true,
            large: false,
        })
        .await?;
        send(Piece::Bytes(json(&profile)?)).await?;
        if let Some(sha256) = &record.avatar_sha256 {
            send(Piece::Start {
                name: AVATAR_ENTRY.to_owned(),
                compress: false,
                large: false,
            })
            .await?;
            self.send_blob(sha256, tx).await?;
        }

        let ids = self.storage.message_ids_by_sender(user).await?;
        send(Piece::Start {
            name: MESSAGES_ENTRY.to_owned(),
            compress: true,
            large: false,
        })
        .await?;
        send(Piece::Bytes(Bytes::from_static(b"["))).await?;
        let mut conversations: HashMap<ConversationId, Option<(ConversationKind, Option<String>)>> =
            HashMap::new();
        let mut first = true;
        for page in ids.chunks(PAGE) {
            for m in self.page(page).await? {
                let place = match conversations.get(&m.conversation_id) {
                    Some(place) => place.clone(),
                    None => {
                        let place = self
                            .storage
                            .conversation(m.conversation_id)
                            .await?
                            .map(|c| (c.kind, c.name));
                        conversations.insert(m.conversation_id, place.clone());
                        place
                    }
                };
                let Some((kind, name)) = place else { continue };
                let mut line = Vec::with_capacity(m.body.len() + 256);
                line.extend_from_slice(if first { b"\n" } else { b",\n" });
                first = false;
                serde_json::to_writer(&mut line, &exported(user, &m, kind, name))
                    .map_err(|_| failed("json"))?;
                send(Piece::Bytes(line.into())).await?;
            }
        }
        send(Piece::Bytes(Bytes::from_static(b"\n]\n"))).await?;

        // The files, in a second pass over the same pages: nothing of the first is kept.
        for page in ids.chunks(PAGE) {
            for m in self.page(page).await? {
                for a in m.attachments.iter().filter(|a| a.uploader_id == user) {
                    send(Piece::Start {
                        name: file_path(a.id, &a.name),
                        compress: false,
                        large: a.blob.size >= u64::from(u32::MAX),
                    })
                    .await?;
                    self.send_blob(&a.blob.sha256, tx).await?;
                }
            }
        }
        Ok(())
    }

    /// The messages of these ids that are not deleted.
    async fn page(
        &self,
        ids: &[jeco_shared::MessageId],
    ) -> Result<Vec<MessageRecord>, ServiceError> {
        Ok(self
            .storage
            .messages_by_ids(ids.to_vec())
            .await?
            .into_iter()
            .filter(|m| m.deleted_at_ms.is_none())
            .collect())
    }

    /// Streams one blob's bytes to the writer.
    async fn send_blob(&self, sha256: &str, tx: &mpsc::Sender<Piece>) -> Result<(), ServiceError> {
        let mut fetched = self
            .blobs
            .fetch(sha256, Rendition::Original, None)
            .await
            .map_err(|_| failed("a file could not be read"))?;
        while let Some(chunk) = fetched.stream.next().await {
            let chunk = chunk.map_err(|_| failed("a file could not be read"))?;
            tx.send(Piece::Bytes(chunk))
                .await
                .map_err(|_| failed("the writer stopped"))?;
        }
        Ok(())
    }
}

impl Gate {
    fn new() -> Self {
        Self {
            running: Arc::new(Mutex::new(HashSet::new())),
            rate: UserRateLimiter::per_hour(PER_HOUR, PER_HOUR),
        }
    }

    /// Marks `user`'s export running, unless one is, or the hourly budget is spent.
    fn start(&self, user: UserId) -> Result<Running, ServiceError> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if running.contains(&user) {
            return Err(ServiceError::Conflict(
                "an export of your data is already being made; wait for it to finish".to_owned(),
            ));
        }
        self.rate
            .check(user)
            .map_err(|retry_after| ServiceError::ExportRateLimited { retry_after })?;
        running.insert(user);
        Ok(Running {
            set: self.running.clone(),
            user,
        })
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<Bytes, ServiceError> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|_| failed("json"))
}

/// One message as the export shows it.
fn exported(
    user: UserId,
    m: &MessageRecord,
    kind: ConversationKind,
    name: Option<String>,
) -> ExportedMessage {
    ExportedMessage {
        id: m.id,
        conversation_id: m.conversation_id,
        conversation_kind: kind,
        conversation_name: name,
        body: m.body.clone(),
        created_at: render::rfc3339(m.created_at_ms),
        edited_at: m.edited_at_ms.map(render::rfc3339),
        thread_parent: m.reply_to,
        my_reactions: m
            .reactions
            .iter()
            .filter(|r| r.users.contains(&user))
            .map(|r| r.emoji.clone())
            .collect(),
        attachments: m
            .attachments
            .iter()
            .filter(|a| a.uploader_id == user)
            .map(exported_file)
            .collect(),
    }
}

fn exported_file(a: &AttachmentRecord) -> ExportedFile {
    ExportedFile {
        id: a.id,
        name: a.name.clone(),
        size: a.blob.size,
        content_type: a.blob.content_type.clone(),
        path: file_path(a.id, &a.name),
    }
}

/// The blocking side: writes the pieces into a zip in `file`; the file and its length.
fn write_zip(
    file: std::fs::File,
    mut rx: mpsc::Receiver<Piece>,
) -> Result<(std::fs::File, u64), ServiceError> {
    let mut zip = ZipWriter::new(file);
    while let Some(piece) = rx.blocking_recv() {
        match piece {
            Piece::Start {
                name,
                compress,
                large,
            } => {
                let method = if compress {
                    CompressionMethod::Deflated
                } else {
                    CompressionMethod::Stored
                };
                let options = SimpleFileOptions::default()
                    .compression_method(method)
                    .large_file(large)
                    .unix_permissions(0o644);
                zip.start_file(name, options)
                    .map_err(|_| failed("an entry could not be started"))?;
            }
            Piece::Bytes(bytes) => zip
                .write_all(&bytes)
                .map_err(|_| failed("the temporary file could not be written"))?,
        }
    }
    let mut file = zip
        .finish()
        .map_err(|_| failed("the archive could not be finished"))?;
    let len = file
        .stream_position()
        .map_err(|_| failed("the archive's length"))?;
    Ok((file, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_export_while_one_runs_is_a_conflict_and_costs_no_budget() {
        let exports = Gate::new();
        let me = UserId(1);
        let first = exports.start(me).expect("the first export starts");
        for _ in 0..5 {
            assert!(matches!(exports.start(me), Err(ServiceError::Conflict(_))));
        }
        // Someone else is not held up.
        drop(
            exports
                .start(UserId(2))
                .expect("another user's export starts"),
        );
        drop(first);
        // The refused attempts spent nothing: two more fit the hourly budget, then it is spent.
        drop(exports.start(me).expect("second"));
        drop(exports.start(me).expect("third"));
        assert!(matches!(
            exports.start(me),
            Err(ServiceError::ExportRateLimited { .. })
        ));
    }
}
