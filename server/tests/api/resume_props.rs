//! Property: whatever the interleaving of sends, edits, deletes, reactions and reconnects, every
//! client ends up with the server's sequence of a conversation's events exactly once, in order,
//! without gaps.
//!
//! Each case runs against one real server (started once) in a fresh group room with two members,
//! each with a WebSocket client. The generated operations act over REST (as either member) or
//! reconnect one client: it keeps what it has read so far, forgets the last few events (a cache
//! that lost its newest writes — so it resumes from a random earlier position), and resumes —
//! sometimes with a hello that lists the room more than once, at different positions. Events
//! still unread on the dropped socket are lost with it, as they are in real life. At the end,
//! each client's log must equal the server's: the room's events as a fresh connection of the same
//! member replays them from the start (from the event that added the member), whose positions must
//! run without a gap to the room's `last_seq`.

use crate::support::*;
use futures_util::StreamExt;
use jeco_shared::events::ConversationEvent;
use jeco_shared::ws::ServerFrame;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Small on purpose: each case is a few dozen real requests; 32 cases run in seconds and cover
/// the shapes (reconnect before/after/between edits, deletes and reactions; duplicate listings).
const CASES: u32 = 32;

#[derive(Debug, Clone)]
enum Op {
    /// `by` (0 or 1) sends a message.
    Send { by: usize },
    /// The author of the `target`-th message (modulo those sent) edits it.
    Edit { target: usize },
    /// Its author deletes it.
    Delete { target: usize },
    /// `by` toggles a reaction on it.
    React {
        by: usize,
        target: usize,
        emoji: usize,
    },
    /// Client `who` reconnects, `back` events before what it has read, listing the room
    /// `listings` times (1 = a normal hello).
    Reconnect {
        who: usize,
        back: usize,
        listings: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize).prop_map(|by| Op::Send { by }),
        1 => any::<usize>().prop_map(|target| Op::Edit { target }),
        1 => any::<usize>().prop_map(|target| Op::Delete { target }),
        2 => (0..2usize, any::<usize>(), 0..3usize)
            .prop_map(|(by, target, emoji)| Op::React { by, target, emoji }),
        2 => (0..2usize, 0..6usize, 1..4usize)
            .prop_map(|(who, back, listings)| Op::Reconnect { who, back, listings }),
    ]
}

/// One member's WebSocket client and the room's events it has applied, in the order received.
struct Client {
    token: String,
    ws: Ws,
    log: Vec<ConversationEvent>,
}

impl Client {
    /// Applies whatever arrives within `wait`.
    async fn read_for(&mut self, room: i64, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            self.apply(room, message.expect("websocket error"));
        }
    }

    fn apply(&mut self, room: i64, message: WsMessage) {
        if let WsMessage::Text(text) = message
            && let ServerFrame::Event(e) = serde_json::from_str(text.as_str()).unwrap()
            && e.conversation_id.0 == room
        {
            self.log.push(e);
        }
    }

    /// Reads until its log reaches `head` (or the test's patience runs out).
    async fn read_to(&mut self, room: i64, head: i64) {
        while self.log.last().map_or(0, |e| e.seq) < head {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("events up to the head arrive")
                .expect("connection open")
                .expect("websocket error");
            self.apply(room, message);
        }
    }
}

async fn head(s: &TestServer, token: &str, room: i64) -> i64 {
    s.ok(
        Method::GET,
        &format!("/api/v1/conversations/{room}"),
        None,
        token,
        200,
    )
    .await["last_seq"]
        .as_i64()
        .unwrap()
}

/// Everything the room holds, as a resume from the start replays it.
async fn server_log(s: &TestServer, token: &str, room: i64) -> Vec<ConversationEvent> {
    let mut ws = s
        .ws_resume(
            token,
            Some(json!({"conversations": [{"conversation_id": room, "seq": 0}], "user_seq": 1_000_000})),
        )
        .await;
    let mut log = Vec::new();
    loop {
        match next_frame(&mut ws).await {
            ServerFrame::CaughtUp => return log,
            ServerFrame::Event(e) if e.conversation_id.0 == room => log.push(e),
            _ => {}
        }
    }
}

async fn run_case(
    s: &TestServer,
    tokens: &[String; 2],
    members: &[i64; 2],
    case: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let room = s
        .group(&tokens[0], &format!("prop {case}"), &[members[1]])
        .await;
    let mut clients = Vec::new();
    for token in tokens {
        // Both start from the room's beginning, so both logs must hold all of it.
        let ws = s
            .ws_resume(
                token,
                Some(json!({"conversations": [{"conversation_id": room, "seq": 0}], "user_seq": 1_000_000})),
            )
            .await;
        clients.push(Client {
            token: token.clone(),
            ws,
            log: Vec::new(),
        });
    }
    // (message id, author) of every message sent.
    let mut sent: Vec<(i64, usize)> = Vec::new();
    let msgs = format!("/api/v1/conversations/{room}/messages");
    for (n, op) in ops.iter().enumerate() {
        let (method, path, body, token) = match *op {
            Op::Send { by } => {
                let m = s
                    .say(&tokens[by], room, &format!("c{case}-{n}"), &format!("m{n}"))
                    .await;
                sent.push((m["id"].as_i64().unwrap(), by));
                continue;
            }
            Op::Reconnect {
                who,
                back,
                listings,
            } => {
                let c = &mut clients[who];
                // What happens to have arrived by now counts as read; the rest dies with the socket.
                c.read_for(room, Duration::from_millis(2)).await;
                let keep = c.log.len().saturating_sub(back);
                c.log.truncate(keep);
                let at = c.log.last().map_or(0, |e| e.seq);
                // A hello that lists the room more than once: the others at later positions.
                let listed: Vec<_> = (0..listings)
                    .map(|i| json!({"conversation_id": room, "seq": at + i as i64}))
                    .rev()
                    .collect();
                c.ws = s
                    .ws_resume(
                        &c.token,
                        Some(json!({"conversations": listed, "user_seq": 1_000_000})),
                    )
                    .await;
                continue;
            }
            Op::Edit { target } | Op::Delete { target } if !sent.is_empty() => {
                let (id, author) = sent[target % sent.len()];
                let path = format!("{msgs}/{id}");
                match op {
                    Op::Edit { .. } => (
                        Method::PATCH,
                        path,
                        Some(json!({"text": format!("edit {n}")})),
                        &tokens[author],
                    ),
                    _ => (Method::DELETE, path, None, &tokens[author]),
                }
            }
            Op::React { by, target, emoji } if !sent.is_empty() => {
                let (id, _) = sent[target % sent.len()];
                let emoji = ["👍", "🎉", "❤️"][emoji];
                (
                    Method::POST,
                    format!("{msgs}/{id}/reactions"),
                    Some(json!({ "emoji": emoji })),
                    &tokens[by],
                )
            }
            // Nothing to act on yet.
            _ => continue,
        };
        let resp = s.call(method.clone(), &path, body, token).await;
        // Editing or reacting to a deleted message is refused; the server never fails.
        prop_assert!(
            !resp.status().is_server_error(),
            "{method} {path}: {}",
            resp.status()
        );
    }

    let head = head(s, &tokens[0], room).await;
    for (i, c) in clients.iter_mut().enumerate() {
        // The server's sequence as this member may see it: from the event that added them.
        let expected = server_log(s, &c.token, room).await;
        let seqs: Vec<i64> = expected.iter().map(|e| e.seq).collect();
        let first = seqs.first().copied().unwrap_or(1);
        prop_assert_eq!(
            seqs,
            (first..=head).collect::<Vec<_>>(),
            "the server's log is gap-free"
        );
        c.read_to(room, head).await;
        // A moment more: a duplicate would arrive right behind the head.
        c.read_for(room, Duration::from_millis(20)).await;
        prop_assert_eq!(&c.log, &expected, "client {}'s log after {:?}", i, ops);
    }
    Ok(())
}

#[test]
fn every_client_gets_the_servers_sequence_exactly_once_in_order() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (s, tokens, members) = rt.block_on(async {
        // Sends are rate-limited per user; the property is about positions, not the limit.
        let s = TestServer::start_with(|c| {
            c.message_rate_per_sec = 100_000;
            c.message_rate_burst = 100_000;
        })
        .await;
        let a = s.register("prop_a").await;
        let b = s.register("prop_b").await;
        let members = [a.user.id.0, b.user.id.0];
        (s, [a.access_token, b.access_token], members)
    });
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        // A failing case is shrunk to a short sequence of operations; bound the time that takes.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(run_case(&s, &tokens, &members, n, &ops))
    });
    rt.block_on(async move { drop(s) });
    if let Err(e) = result {
        panic!("{e}");
    }
}
