//! Criterion benchmark of storage append: storing new messages (with their events, FTS rows and
//! positions) through the SQLite backend's send path, one transaction per batch — what the
//! group-commit writer does for every batch of concurrent sends.
//!
//! Measured per batch size (1 = no group commit, 16, 256 = the writer's maximum); the throughput
//! line reads as messages per second of one writer. The database starts empty and grows during
//! the run, as a server's does; messages go round-robin into 100 conversations of one member.
//!
//! Run: `cargo bench -p jeco-bench --bench storage_append -- --warm-up-time 1 --measurement-time 5`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jeco_server::storage::sqlite::SqliteStorage;
use jeco_server::storage::{
    AccountStore, Admission, ConversationStore, MentionSet, MessageStore, NewGroup, NewMessage,
    NewUser, NotifyPlan,
};
use jeco_shared::{ConversationId, UserId};
use std::sync::atomic::{AtomicU64, Ordering};

const ROOMS: usize = 100;

fn setup(
    runtime: &tokio::runtime::Runtime,
) -> (
    tempfile::TempDir,
    SqliteStorage,
    UserId,
    Vec<ConversationId>,
) {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path().join("bench.db"), 0)
            .await
            .unwrap();
        let user = storage
            .create_user(NewUser {
                username: "appender".into(),
                password_hash: "h".into(),
                display_name: None,
                is_admin: false,
                created_at_ms: 1,
            })
            .await
            .unwrap();
        let mut rooms = Vec::new();
        for r in 0..ROOMS {
            let (room, _) = storage
                .create_group(NewGroup {
                    name: format!("room {r}"),
                    owner: user.id,
                    members: Vec::new(),
                    now_ms: 1,
                    added_preview: None,
                })
                .await
                .unwrap();
            rooms.push(room.id);
        }
        (dir, storage, user.id, rooms)
    })
}

fn appends(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (_dir, storage, user, rooms) = setup(&runtime);
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("storage_append");
    for batch in [1usize, 16, 256] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("sqlite_batch_of_{batch}"), |b| {
            b.iter_batched(
                || {
                    (0..batch)
                        .map(|_| {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            NewMessage {
                                conversation_id: rooms[n as usize % rooms.len()],
                                sender_id: user,
                                client_id: format!("c{n}"),
                                body: format!(
                                    "message number {n} about the quarterly release plan"
                                ),
                                reply_to: None,
                                thread_only: false,
                                mentions: MentionSet::default(),
                                attachments: Vec::new(),
                                notify: NotifyPlan::none(),
                                admission: Admission::always(),
                                now_ms: 1_700_000_000_000,
                            }
                        })
                        .collect::<Vec<_>>()
                },
                |messages| runtime.block_on(storage.send_messages(messages)).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
