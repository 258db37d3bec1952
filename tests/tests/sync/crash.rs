//! Crash durability: a real `jeco-server` killed with SIGKILL while several clients flood it with
//! sends, round after round, and restarted on the same data directory.
//!
//! SIGKILL is the crash a process can have (no shutdown, no flush, no checkpoint); what it must not
//! lose is anything it acknowledged. After every round the test checks what a client relies on:
//! - every acknowledged message is stored exactly once, with the id and position it was acked with;
//! - each conversation's positions are gap-free (only messages are written during the flood, so
//!   their positions must fill the conversation's log without holes, up to its head);
//! - a send whose answer was lost in the crash, sent again with the same `client_id`, is stored
//!   exactly once (the original if it was committed, a new one if not) — never twice.
//!
//! The moments of the kills are random (the seed is printed, and `JECO_CRASH_SEED` replays it);
//! the rounds are few and short so the scenario stays within a few tens of seconds.

use jeco_e2e::process::ServerProcess;
use jeco_shared::messages::{Message, MessagePage};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USERS: usize = 4;
/// Sends each user keeps in flight (each lane sends its next message after the previous answer).
const LANES: usize = 4;
const ROUNDS: usize = 8;

/// A small deterministic generator (xorshift64*): the kill moments only need to differ from run to
/// run and be replayable from the printed seed.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("JECO_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("after 1970")
                    .as_nanos() as u64
            })
            | 1;
        println!("crash scenario seed: JECO_CRASH_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One send as the client knows it.
#[derive(Clone)]
struct Sent {
    token: String,
    conversation: i64,
    client_id: String,
    text: String,
}

/// What the clients know after a round: acknowledged sends (client id → the acked message) and
/// sends that got no answer.
#[derive(Default)]
struct Ledger {
    acked: HashMap<String, Message>,
    unanswered: Vec<Sent>,
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("the server answers");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.json().await.expect("a JSON body")
}

/// Sends `sent`; `Ok` is the acknowledged message, `Err` means no answer (the server died).
async fn send(http: &reqwest::Client, base: &str, sent: &Sent) -> Result<Message, String> {
    let resp = http
        .post(format!(
            "{base}/api/v1/conversations/{}/messages",
            sent.conversation
        ))
        .bearer_auth(&sent.token)
        .json(&json!({"client_id": sent.client_id, "text": sent.text}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    // A body cut off by the kill is no answer either.
    let body = resp.text().await.map_err(|e| e.to_string())?;
    assert!(status.is_success(), "a send was refused ({status}): {body}");
    Ok(serde_json::from_str(&body).expect("a message"))
}

/// The whole history of a conversation, oldest first.
async fn history(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.seq);
        let page: MessagePage = http
            .get(format!(
                "{base}/api/v1/conversations/{id}/messages?after={after}&limit=200"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("history answers")
            .json()
            .await
            .expect("a page");
        let more = page.has_more_after;
        all.extend(page.items);
        if !more {
            return all;
        }
    }
}

async fn last_seq(http: &reqwest::Client, base: &str, token: &str, id: i64) -> i64 {
    let conv: Value = http
        .get(format!("{base}/api/v1/conversations/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the conversation answers")
        .json()
        .await
        .expect("a conversation");
    conv["last_seq"].as_i64().expect("last_seq")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_sends_survive_sigkill_and_unanswered_ones_are_stored_once_when_resent() {
    let dirs = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        &dirs.path().join("server"),
        &[
            "--auth-rate-per-minute=10000",
            "--auth-rate-burst=10000",
            "--message-rate-per-sec=100000",
            "--message-rate-burst=100000",
        ],
    );
    let base = server.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut rng = Rng::new();

    // Four users in two group rooms: concurrent senders contend for each room's positions.
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for i in 0..USERS {
        let t = post(
            &http,
            &format!("{base}/api/v1/auth/register"),
            None,
            json!({"username": format!("crash{i}"), "password": "a long enough password"}),
        )
        .await;
        tokens.push(t["access_token"].as_str().unwrap().to_owned());
        ids.push(t["user"]["id"].as_i64().unwrap());
    }
    let mut rooms = Vec::new();
    for name in ["one", "two"] {
        let c = post(
            &http,
            &format!("{base}/api/v1/conversations"),
            Some(&tokens[0]),
            json!({"name": name, "member_ids": ids[1..]}),
        )
        .await;
        rooms.push(c["id"].as_i64().unwrap());
    }
    // Positions before the flood (creation, members); every later one is a message.
    let mut base_seq = HashMap::new();
    for &room in &rooms {
        base_seq.insert(room, last_seq(&http, &base, &tokens[0], room).await);
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = std::time::Instant::now();
    for round in 0..ROUNDS {
        let mut lanes = Vec::new();
        for (user, token) in tokens.iter().enumerate() {
            for lane in 0..LANES {
                let (http, base, ledger) = (http.clone(), base.clone(), ledger.clone());
                let token = token.clone();
                let rooms = rooms.clone();
                lanes.push(tokio::spawn(async move {
                    for n in 0.. {
                        let sent = Sent {
                            token: token.clone(),
                            conversation: rooms[(lane + n) % rooms.len()],
                            client_id: format!("r{round}-u{user}-l{lane}-{n}"),
                            text: format!("round {round} user {user} lane {lane} #{n}"),
                        };
                        match send(&http, &base, &sent).await {
                            Ok(m) => {
                                ledger.lock().unwrap().acked.insert(sent.client_id, m);
                            }
                            Err(_) => {
                                ledger.lock().unwrap().unanswered.push(sent);
                                return;
                            }
                        }
                    }
                }));
            }
        }
        // Let the flood run for a random while, then crash the server under it.
        tokio::time::sleep(Duration::from_millis(150 + rng.below(600))).await;
        server.kill();
        for lane in lanes {
            lane.await.unwrap();
        }
        server.restart();

        // Resend every unanswered send with the same client id, as a client's outbox would.
        let unanswered = std::mem::take(&mut ledger.lock().unwrap().unanswered);
        assert!(
            !unanswered.is_empty(),
            "the kill interrupted sends in flight"
        );
        for sent in &unanswered {
            let m = send(&http, &base, sent)
                .await
                .expect("the restarted server answers");
            assert_eq!(m.client_id, sent.client_id);
            ledger
                .lock()
                .unwrap()
                .acked
                .insert(sent.client_id.clone(), m);
        }
        // An acknowledged send sent again is answered with the original, not stored again.
        let again: Vec<(String, Message)> = {
            let l = ledger.lock().unwrap();
            l.acked
                .iter()
                .take(5)
                .map(|(k, m)| (k.clone(), m.clone()))
                .collect()
        };
        for (client_id, original) in again {
            let token = &tokens[ids
                .iter()
                .position(|&id| id == original.sender_id.0)
                .unwrap()];
            let resent = Sent {
                token: token.clone(),
                conversation: original.conversation_id.0,
                client_id,
                text: original.text.clone(),
            };
            let m = send(&http, &base, &resent).await.unwrap();
            assert_eq!((m.id, m.seq), (original.id, original.seq));
        }

        // What the server holds: every acked message once, where it was acked; no gaps.
        let mut stored: HashMap<String, Message> = HashMap::new();
        for &room in &rooms {
            let messages = history(&http, &base, &tokens[0], room).await;
            let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
            let head = last_seq(&http, &base, &tokens[0], room).await;
            assert_eq!(
                seqs,
                ((base_seq[&room] + 1)..=head).collect::<Vec<_>>(),
                "round {round}: room {room}'s positions are gap-free and each holds one message"
            );
            for m in messages {
                let key = m.client_id.clone();
                assert!(
                    stored.insert(key.clone(), m).is_none(),
                    "round {round}: {key} is stored twice"
                );
            }
        }
        let ledger = ledger.lock().unwrap();
        for (client_id, acked) in &ledger.acked {
            let m = stored
                .get(client_id)
                .unwrap_or_else(|| panic!("round {round}: acked {client_id} is lost"));
            assert_eq!(
                (m.id, m.seq, &m.text),
                (acked.id, acked.seq, &acked.text),
                "round {round}: {client_id} is stored as it was acked"
            );
        }
        // Nothing is stored that no client was told about (every send was answered by now).
        assert_eq!(stored.len(), ledger.acked.len(), "round {round}");
        println!(
            "round {round}: {} acked in all, {} resent after the kill, {:?} elapsed",
            ledger.acked.len(),
            unanswered.len(),
            started.elapsed()
        );
    }
}
