//! The sync state machine without sockets or servers: frames, answers and ticks go in at explicit
//! instants, steps come out, and the cache (in memory) shows what was applied.

use super::*;
use jeco_shared::MessageId;
use jeco_shared::events::Position;
use jeco_shared::messages::Message;

const ME: UserId = UserId(1);
const PEER: UserId = UserId(2);
const C: ConversationId = ConversationId(10);

const PATIENCE: Patience = Patience {
    silence: Duration::from_millis(27_500),
    pong_timeout: Duration::from_secs(4),
    request: Duration::from_millis(31_500),
};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn user(id: UserId) -> User {
    User {
        id,
        username: format!("user{}", id.0),
        display_name: None,
        bio: None,
        status_text: None,
        is_admin: false,
        deactivated: false,
        created_at: "2026-11-23T10:00:00Z".into(),
        avatar: None,
    }
}

fn message(id: ConversationId, seq: i64, sender: UserId) -> Message {
    let text = format!("message {seq}");
    crate::fixtures::message(MessageId(id.0 * 1000 + seq), id, seq, sender, &text)
}

fn conversation(id: ConversationId, last_seq: i64) -> Conversation {
    crate::fixtures::direct(id, last_seq, [ME, PEER])
}

/// A snapshot as the server would give it: the conversation at `last_seq`, its messages 1..=last_seq.
fn snapshot(id: ConversationId, last_seq: i64) -> Fetched {
    let page = MessagePage {
        items: (1..=last_seq).map(|seq| message(id, seq, PEER)).collect(),
        has_more_before: false,
        has_more_after: false,
    };
    Fetched::Snapshot(Ok((conversation(id, last_seq), page)))
}

fn event(seq: i64, body: EventBody) -> ServerFrame {
    ServerFrame::Event(ConversationEvent {
        conversation_id: C,
        seq,
        at: format!("2026-11-23T10:00:{seq:02}Z"),
        actor_id: PEER,
        body,
    })
}

fn created(seq: i64) -> ServerFrame {
    event(
        seq,
        EventBody::MessageCreated {
            message: message(C, seq, PEER),
        },
    )
}

/// A cache that synced before: `C` at position 2, both users' profiles, the user log at 5.
fn seeded() -> Arc<Cache> {
    let cache = Cache::in_memory().unwrap();
    cache.set_me(&user(ME)).unwrap();
    cache.upsert_users(&[user(ME), user(PEER)]).unwrap();
    let Fetched::Snapshot(Ok((c, page))) = snapshot(C, 2) else {
        unreachable!()
    };
    cache.store_snapshot(ME, &c, &page).unwrap();
    cache.set_user_seq(5).unwrap();
    Arc::new(cache)
}

fn machine(cache: &Arc<Cache>, now: Instant) -> SyncState {
    SyncState::new(user(ME), cache.clone(), PATIENCE, now)
}

/// The one fetch among `steps`.
fn fetch(steps: &[Step]) -> (RequestId, Need) {
    let fetches: Vec<_> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Fetch { id, need } => Some((*id, need.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(fetches.len(), 1, "one fetch expected in {steps:?}");
    fetches.into_iter().next().unwrap()
}

fn emit(event: EngineEvent) -> Step {
    Step::Emit(event)
}

fn timeline(seqs: Vec<i64>) -> Step {
    emit(EngineEvent::TimelineChanged {
        conversation_id: C,
        seqs,
    })
}

fn ping(nonce: u64) -> Step {
    Step::Send(ClientFrame::Ping { nonce })
}

fn retry(steps: &[Step]) -> &str {
    match steps {
        [.., Step::End(End::Retry(reason))] => reason,
        other => panic!("expected the connection to end for a retry, got {other:?}"),
    }
}

// --- Resume ---

#[test]
fn the_hello_resumes_from_the_caches_positions() {
    let fresh = Cache::in_memory().unwrap();
    assert_eq!(
        resume_from(&fresh).unwrap(),
        None,
        "a cache that never synced"
    );
    let cache = seeded();
    assert_eq!(
        resume_from(&cache).unwrap(),
        Some(Resume {
            conversations: vec![Position {
                conversation_id: C,
                seq: 2
            }],
            user_seq: 5,
        })
    );
}

#[test]
fn a_replay_is_applied_once_then_caught_up_reloads_the_list_and_goes_live() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    assert_eq!(
        sync.start(t0, None),
        vec![],
        "resuming: nothing to fetch first"
    );

    // The replay: applied at once, positions moving with it.
    assert_eq!(
        sync.on_frame(t0, created(3)),
        vec![emit(EngineEvent::ConversationsChanged), timeline(vec![3])]
    );
    assert_eq!(cache.position(C).unwrap(), Some(3));
    // Sent twice (a replay overlapping a live event): applied once.
    assert_eq!(sync.on_frame(t0, created(3)), vec![]);
    assert_eq!(cache.message_count().unwrap(), 3);

    // Caught up: the list is reloaded before going live; what arrives meanwhile waits its turn.
    let steps = sync.on_frame(t0, ServerFrame::CaughtUp);
    let (id, need) = fetch(&steps);
    assert_eq!(need, Need::Reload);
    assert!(!steps.contains(&Step::Live));
    assert_eq!(
        sync.on_frame(t0, created(4)),
        vec![],
        "queued behind the reload"
    );
    assert_eq!(cache.position(C).unwrap(), Some(3));

    let reload = Fetched::Reload(Ok(Reload {
        conversations: vec![conversation(C, 3)],
        notifications: Vec::new(),
        teams: Vec::new(),
    }));
    assert_eq!(
        sync.on_fetched(t0, id, reload),
        vec![
            Step::Live,
            emit(EngineEvent::ConversationsChanged),
            emit(EngineEvent::ConversationsChanged),
            timeline(vec![4]),
        ]
    );
    assert_eq!(cache.position(C).unwrap(), Some(4));
    assert!(!sync.waiting());
}

#[test]
fn a_fresh_cache_keeps_the_user_seq_from_ready_and_loads_everything_over_rest() {
    let cache = Arc::new(Cache::in_memory().unwrap());
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let (id, need) = fetch(&sync.start(t0, Some(7)));
    assert_eq!(need, Need::Reload);
    assert_eq!(cache.user_seq().unwrap(), Some(7));

    let reload = Fetched::Reload(Ok(Reload {
        conversations: vec![conversation(C, 4)],
        notifications: Vec::new(),
        teams: Vec::new(),
    }));
    let (id, need) = fetch(&sync.on_fetched(t0, id, reload));
    assert_eq!(need, Need::Snapshot(C));
    // The snapshot's people are learnt before the engine goes live.
    let (id, need) = fetch(&sync.on_fetched(t0, id, snapshot(C, 4)));
    assert_eq!(need, Need::Users(vec![ME, PEER]));
    assert_eq!(cache.position(C).unwrap(), Some(4));
    assert_eq!(
        sync.on_fetched(t0, id, Fetched::Users(vec![user(ME), user(PEER)])),
        vec![Step::Live, emit(EngineEvent::ConversationsChanged)]
    );
    assert_eq!(cache.user(PEER).unwrap(), Some(user(PEER)));
}

// --- Resync ---

#[test]
fn the_server_saying_too_far_behind_snapshots_the_conversation() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let (id, need) = fetch(&sync.on_frame(
        t0,
        ServerFrame::Resync {
            conversation_id: Some(C),
            seq: 40,
        },
    ));
    assert_eq!(need, Need::Snapshot(C));
    assert_eq!(
        sync.on_fetched(t0, id, snapshot(C, 40)),
        vec![emit(EngineEvent::ConversationsChanged), timeline(vec![])]
    );
    assert_eq!(cache.position(C).unwrap(), Some(40));
    // Events continue after the snapshot's position.
    assert_eq!(
        sync.on_frame(t0, created(41)),
        vec![emit(EngineEvent::ConversationsChanged), timeline(vec![41])]
    );
}

#[test]
fn a_gap_revealed_by_an_event_snapshots_then_applies_it_and_what_came_behind_it() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    // Position 2, event 5: 3 and 4 are missing.
    let (id, need) = fetch(&sync.on_frame(t0, created(5)));
    assert_eq!(need, Need::Snapshot(C));
    assert_eq!(
        cache.position(C).unwrap(),
        Some(2),
        "nothing applied past a gap"
    );
    // Reading goes on while the snapshot is in flight; frames wait their turn.
    let typing = ServerFrame::Typing {
        conversation_id: C,
        user_id: PEER,
        active: true,
        expires_in_ms: 5_000,
    };
    assert_eq!(sync.on_frame(t0, typing), vec![]);
    assert_eq!(sync.on_frame(t0, created(6)), vec![]);

    assert_eq!(
        sync.on_fetched(t0, id, snapshot(C, 4)),
        vec![
            // The snapshot.
            emit(EngineEvent::ConversationsChanged),
            timeline(vec![]),
            // The event that revealed the gap, on top of it.
            emit(EngineEvent::ConversationsChanged),
            timeline(vec![5]),
            // Then the frames that arrived meanwhile, in order.
            emit(EngineEvent::Typing {
                conversation_id: C,
                user_ids: vec![PEER],
            }),
            // A message ends its sender's typing.
            emit(EngineEvent::Typing {
                conversation_id: C,
                user_ids: vec![],
            }),
            emit(EngineEvent::ConversationsChanged),
            timeline(vec![6]),
        ]
    );
    assert_eq!(cache.position(C).unwrap(), Some(6));
    assert_eq!(cache.message_count().unwrap(), 6);
}

#[test]
fn a_resync_of_the_list_reconciles_it_and_moves_the_user_log() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let (id, need) = fetch(&sync.on_frame(
        t0,
        ServerFrame::Resync {
            conversation_id: None,
            seq: 40,
        },
    ));
    assert_eq!(need, Need::Reload);
    assert_eq!(
        cache.user_seq().unwrap(),
        Some(5),
        "moved only once reloaded"
    );
    let reload = Fetched::Reload(Ok(Reload {
        conversations: Vec::new(),
        notifications: Vec::new(),
        teams: Vec::new(),
    }));
    assert_eq!(
        sync.on_fetched(t0, id, reload),
        vec![emit(EngineEvent::ConversationsChanged)]
    );
    assert_eq!(cache.conversation(C).unwrap(), None, "left while away");
    assert_eq!(cache.user_seq().unwrap(), Some(40));
}

#[test]
fn a_conversation_added_is_snapshotted_before_the_user_log_moves() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let other = ConversationId(11);
    let added = ServerFrame::UserEvent(UserEvent {
        seq: 6,
        at: "2026-11-23T10:00:00Z".into(),
        body: UserEventBody::ConversationAdded {
            conversation_id: other,
            from_seq: 1,
        },
    });
    let (id, need) = fetch(&sync.on_frame(t0, added));
    assert_eq!(need, Need::Snapshot(other));
    assert_eq!(cache.user_seq().unwrap(), Some(5));
    assert_eq!(
        sync.on_fetched(t0, id, snapshot(other, 3)),
        vec![emit(EngineEvent::ConversationsChanged)]
    );
    assert_eq!(cache.position(other).unwrap(), Some(3));
    assert_eq!(cache.user_seq().unwrap(), Some(6));
}

#[test]
fn an_edit_of_an_uncached_message_asks_the_server_for_the_counts_first() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let edit = event(
        3,
        EventBody::MessageEdited {
            message_id: MessageId(999),
            text: "edited".into(),
            edited_at: "2026-11-23T10:01:00Z".into(),
            mentions: Default::default(),
        },
    );
    let (id, need) = fetch(&sync.on_frame(t0, edit));
    assert_eq!(need, Need::Conversation(C));
    assert_eq!(
        cache.position(C).unwrap(),
        Some(2),
        "position and counts move together"
    );
    assert_eq!(
        sync.on_fetched(t0, id, Fetched::Conversation(Ok(conversation(C, 3)))),
        vec![]
    );
    assert_eq!(cache.position(C).unwrap(), Some(3));
}

#[test]
fn a_request_refused_for_a_dead_session_signs_out() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let resync = ServerFrame::Resync {
        conversation_id: Some(C),
        seq: 40,
    };
    let (id, _) = fetch(&sync.on_frame(t0, resync));
    assert_eq!(
        sync.on_fetched(t0, id, Fetched::Snapshot(Err(FetchError::SignedOut))),
        vec![Step::End(End::SignedOut)]
    );
    assert_eq!(cache.position(C).unwrap(), Some(2));
}

// --- A dead link mid-request ---

#[test]
fn a_link_that_dies_with_a_snapshot_in_flight_ends_and_the_late_answer_is_dropped() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    // The link has not been checked for a while when a gap asks for a snapshot: it is checked
    // now, so a link that died is noticed within the pong timeout, not after the request's.
    let t1 = t0 + s(6);
    let steps = sync.on_frame(t1, created(5));
    let (id, need) = fetch(&steps);
    assert_eq!(need, Need::Snapshot(C));
    assert_eq!(steps.last(), Some(&ping(1)));
    assert_eq!(sync.next_wake(), Some(t1 + PATIENCE.pong_timeout));

    assert_eq!(sync.on_tick(t1 + s(3)), vec![]);
    let steps = sync.on_tick(t1 + PATIENCE.pong_timeout);
    assert_eq!(retry(&steps), "the server did not answer for 4s");
    assert_eq!(sync.next_wake(), None);

    // The answer arrives after the connection ended: dropped, the cache untouched (the next
    // connection resumes from position 2 and gets the gap again).
    assert_eq!(sync.on_fetched(t1 + s(5), id, snapshot(C, 4)), vec![]);
    assert_eq!(cache.position(C).unwrap(), Some(2));
    assert_eq!(sync.on_frame(t1 + s(5), created(6)), vec![]);
    assert_eq!(sync.on_tick(t1 + s(60)), vec![]);
}

#[test]
fn pongs_are_seen_while_a_snapshot_is_in_flight() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let t1 = t0 + s(6);
    let steps = sync.on_frame(t1, created(5));
    let (id, _) = fetch(&steps);
    assert_eq!(steps.last(), Some(&ping(1)));
    // The pong is read although the snapshot has not come back.
    assert_eq!(
        sync.on_frame(t1 + s(1), ServerFrame::Pong { nonce: 1 }),
        vec![]
    );
    assert_eq!(sync.on_tick(t1 + PATIENCE.pong_timeout), vec![]);
    assert!(sync.waiting());
    let steps = sync.on_fetched(t1 + s(6), id, snapshot(C, 4));
    assert!(steps.contains(&timeline(vec![5])), "{steps:?}");
    assert_eq!(cache.position(C).unwrap(), Some(5));
}

#[test]
fn a_request_unanswered_on_a_live_link_ends_the_connection() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let (id, _) = fetch(&sync.on_frame(t0, created(5)));
    // The server keeps the link alive (its pings, events), but the HTTP answer never comes.
    let mut now = t0;
    while now + s(5) < t0 + PATIENCE.request {
        now += s(5);
        sync.on_heard(now);
        assert_eq!(sync.on_tick(now), vec![]);
    }
    assert_eq!(sync.next_wake(), Some(t0 + PATIENCE.request));
    let steps = sync.on_tick(t0 + PATIENCE.request);
    assert_eq!(
        retry(&steps),
        "a request to the server got no answer for 31.5s"
    );
    assert_eq!(sync.on_fetched(t0 + s(40), id, snapshot(C, 4)), vec![]);
    assert_eq!(cache.position(C).unwrap(), Some(2));
}

#[test]
fn an_answer_to_another_request_is_dropped() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let (id, _) = fetch(&sync.on_frame(t0, created(5)));
    assert_eq!(sync.on_fetched(t0, id + 1, snapshot(C, 4)), vec![]);
    assert!(sync.waiting());
    assert_eq!(cache.position(C).unwrap(), Some(2));
}

// --- Reconnect after sleep ---

#[test]
fn after_a_sleep_the_silent_link_is_pinged_then_given_up() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    // A healthy link is heard from (the server's pings) and never pinged by the client.
    for n in 1..=10 {
        sync.on_heard(t0 + s(25 * n));
        assert_eq!(sync.on_tick(t0 + s(25 * n)), vec![]);
    }
    let heard = t0 + s(250);
    assert_eq!(sync.next_wake(), Some(heard + PATIENCE.silence));
    // The machine sleeps for an hour; the timer fires late, on waking.
    let woke = heard + s(3600);
    assert!(sync.next_wake().unwrap() <= woke);
    assert_eq!(sync.on_tick(woke), vec![ping(1)]);
    assert_eq!(
        sync.on_tick(woke + s(1)),
        vec![],
        "the ping is given its time"
    );
    let steps = sync.on_tick(woke + PATIENCE.pong_timeout);
    assert_eq!(retry(&steps), "the server did not answer for 4s");
}

#[test]
fn after_a_sleep_a_link_that_answers_is_kept() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    let woke = t0 + s(3600);
    assert_eq!(sync.on_tick(woke), vec![ping(1)]);
    assert_eq!(
        sync.on_frame(woke + s(1), ServerFrame::Pong { nonce: 1 }),
        vec![]
    );
    assert_eq!(sync.on_tick(woke + PATIENCE.pong_timeout), vec![]);
    assert_eq!(
        sync.next_wake(),
        Some(woke + s(1) + PATIENCE.silence),
        "back to waiting for silence"
    );
}

#[test]
fn sending_checks_a_link_not_pinged_for_a_while() {
    let cache = seeded();
    let t0 = Instant::now();
    let mut sync = machine(&cache, t0);
    assert_eq!(sync.on_sent(t0 + s(1)), vec![], "checked at the handshake");
    assert_eq!(sync.on_sent(t0 + ACTIVE_CHECK), vec![ping(1)]);
    assert_eq!(sync.on_sent(t0 + s(6)), vec![], "a ping is already out");
    let steps = sync.on_tick(t0 + ACTIVE_CHECK + PATIENCE.pong_timeout);
    assert_eq!(retry(&steps), "the server did not answer for 4s");
}

/// The same machine under tokio's paused clock, as the driver runs it: `next_wake` is where the
/// driver sleeps until.
#[tokio::test(start_paused = true)]
async fn the_driver_sleeps_until_next_wake_and_a_long_jump_in_time_reconnects() {
    let cache = seeded();
    let mut sync = machine(&cache, Instant::now());
    tokio::time::sleep_until(sync.next_wake().unwrap()).await;
    assert_eq!(sync.on_tick(Instant::now()), vec![ping(1)]);
    // Asleep far past the pong timeout.
    tokio::time::advance(s(3600)).await;
    let steps = sync.on_tick(Instant::now());
    assert_eq!(retry(&steps), "the server did not answer for 4s");
}
