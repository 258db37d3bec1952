//! Criterion benchmarks of the client engine's local cache at 100,000 cached messages: what a
//! person waits for when the app starts (open the file, read the conversation list, read the newest
//! page of a timeline — with no server at all), scrolling back, and local search.
//!
//! The cache is filled once (20 conversations × 5,000 messages, realistic text) in a temporary
//! directory; every measured iteration opens it afresh, as a starting app does.
//!
//! Run: `cargo bench -p jeco-bench --bench client_cache -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use jeco_client::cache::Cache;
use jeco_shared::conversations::{Conversation, ConversationKind, Member, MemberRole};
use jeco_shared::messages::{Message, MessagePage};
use jeco_shared::{ConversationId, MessageId, UserId};
use std::hint::black_box;
use std::path::Path;

const CONVERSATIONS: i64 = 20;
const PER_CONVERSATION: i64 = 5_000;
const WORDS: &[&str] = &[
    "release",
    "deploy",
    "lunch",
    "meeting",
    "review",
    "coffee",
    "bug",
    "report",
    "quarterly",
    "tomorrow",
    "design",
    "server",
    "client",
    "offline",
    "search",
    "thanks",
    "great",
    "idea",
];

fn message(conversation: i64, seq: i64) -> Message {
    let id = conversation * 1_000_000 + seq;
    let text: Vec<&str> = (0..12)
        .map(|k| WORDS[((id * 7 + k * 13) % WORDS.len() as i64) as usize])
        .collect();
    Message::new(
        MessageId(id),
        ConversationId(conversation),
        seq,
        UserId(1 + seq % 5),
        format!("c{id}"),
        text.join(" "),
        format!(
            "2026-11-{:02}T10:{:02}:{:02}Z",
            1 + seq / 3600 % 28,
            seq / 60 % 60,
            seq % 60
        ),
    )
}

fn conversation(id: i64) -> Conversation {
    Conversation {
        id: ConversationId(id),
        kind: ConversationKind::Group,
        name: Some(format!("room {id}")),
        created_at: "2026-11-01T00:00:00Z".into(),
        last_activity_at: format!("2026-11-23T00:00:{id:02}Z"),
        last_seq: PER_CONVERSATION,
        read_seq: PER_CONVERSATION,
        unread_count: 0,
        mention_count: 0,
        my_role: MemberRole::Member,
        last_message: None,
        members: (1..=5)
            .map(|u| Member {
                user_id: UserId(u),
                role: MemberRole::Member,
                joined_at: "2026-11-01T00:00:00Z".into(),
            })
            .collect(),
        peer_presence: None,
        channel: None,
        muted: false,
    }
}

fn fill(path: &Path) {
    let cache = Cache::open(path).unwrap();
    for c in 1..=CONVERSATIONS {
        let page = MessagePage {
            items: (1..=PER_CONVERSATION).map(|s| message(c, s)).collect(),
            has_more_before: false,
            has_more_after: false,
        };
        cache
            .store_snapshot(UserId(1), &conversation(c), &page)
            .unwrap();
    }
    assert_eq!(
        cache.message_count().unwrap(),
        (CONVERSATIONS * PER_CONVERSATION) as u64
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite3");
    fill(&path);

    let mut group = c.benchmark_group("client_cache_100k");
    group.bench_function(
        "start_offline: open + conversation list + newest page",
        |b| {
            b.iter(|| {
                let cache = Cache::open(&path).unwrap();
                let list = cache.conversations().unwrap();
                let (page, _) = cache.messages(list[0].id, None, 50).unwrap();
                black_box((list.len(), page.len()))
            })
        },
    );
    let cache = Cache::open(&path).unwrap();
    group.bench_function("scroll_back: page of 50 deep in history", |b| {
        b.iter(|| black_box(cache.messages(ConversationId(7), Some(1_234), 50).unwrap()))
    });
    let query = jeco_shared::search::query::SearchQuery::parse("quarterly rev*").unwrap();
    group.bench_function("local_search: two words, newest 20", |b| {
        b.iter(|| black_box(cache.search(&query, None, 20).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
