//! Per-connection positions: resume on connect, gap-free and duplicate-free delivery afterwards.
//!
//! A connection registers for deliveries *before* it reads positions from storage, so every event
//! is either already visible to that read or published to the connection afterwards. The follower
//! then remembers, per conversation and for the user's own log, the last `seq` handed to the
//! socket:
//! - a delivery at or below that position was already sent (by the replay) and is dropped;
//! - a delivery right after it is sent;
//! - a delivery further ahead means events were published out of order (two commits racing to
//!   publish) — everything in between is committed already, so it is read from the log and sent
//!   first. The late delivery is dropped when it arrives.
//!
//! So a client sees each conversation's events exactly once and in order, whether they came live,
//! from a replay, or from a gap fill. Replay and gap fill render stored events exactly as the live
//! path does ([`crate::services::render`]).

use crate::services::{ServiceError, Stream, fanout, render};
use crate::storage::Storage;
use jeco_shared::events::Resume;
use jeco_shared::ws::ServerFrame;
use jeco_shared::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::Arc;

use super::registry::Delivery;

/// What to write for one delivery: events rendered here that were missed (usually none), then the
/// shared bytes from the fan-out (none when already sent).
pub struct Delivered {
    pub missed: Vec<ServerFrame>,
    pub frame: Option<axum::extract::ws::Utf8Bytes>,
}

pub struct Follower {
    user: UserId,
    storage: Arc<dyn Storage>,
    /// Last conversation `seq` sent, per conversation the user is in.
    positions: HashMap<ConversationId, i64>,
    /// Last user-log `seq` sent.
    user_seq: i64,
    /// The user log's head when following started (what `ready` reports).
    user_head: i64,
    /// Events one catch-up sends per stream at most before it says `resync` instead.
    max_replay: u32,
}

impl Follower {
    /// Starts following `user`'s conversations. With `resume`, returns the replay (or resync
    /// frames) followed by `caught_up`; without, nothing (the client starts from the present).
    pub async fn start(
        user: UserId,
        storage: Arc<dyn Storage>,
        resume: Option<Resume>,
        max_replay: u32,
    ) -> Result<(Self, Vec<ServerFrame>), ServiceError> {
        let heads = storage.membership_heads(user).await?;
        let user_head = storage.user_event_head(user).await?;
        let mut frames = Vec::new();
        let mut positions: HashMap<ConversationId, i64> = heads
            .iter()
            .map(|h| (h.conversation_id, h.last_seq))
            .collect();
        let mut user_seq = user_head;
        let resuming = resume.is_some();
        if let Some(resume) = resume {
            for p in one_position_each(resume.conversations) {
                let Some(head) = heads
                    .iter()
                    .find(|h| h.conversation_id == p.conversation_id)
                else {
                    // Not a member (any more): the user log says so; nothing to replay.
                    continue;
                };
                // Never replay from before the user joined.
                let from = p.seq.max(head.joined_seq - 1).max(0);
                if from >= head.last_seq {
                    continue;
                }
                if head.last_seq - from > i64::from(max_replay) {
                    frames.push(ServerFrame::Resync {
                        conversation_id: Some(head.conversation_id),
                        seq: head.last_seq,
                    });
                    continue;
                }
                let events = storage
                    .events_after(head.conversation_id, from, max_replay)
                    .await?;
                if let Some(last) = events.last() {
                    positions.insert(head.conversation_id, last.seq);
                }
                frames.extend(events.iter().map(|e| ServerFrame::Event(render::event(e))));
            }
            let from = resume.user_seq.max(0);
            if from < user_head {
                if user_head - from > i64::from(max_replay) {
                    frames.push(ServerFrame::Resync {
                        conversation_id: None,
                        seq: user_head,
                    });
                } else {
                    let events = storage.user_events_after(user, from, max_replay).await?;
                    if let Some(last) = events.last() {
                        user_seq = last.seq;
                    }
                    frames.extend(
                        events
                            .iter()
                            .map(|e| ServerFrame::UserEvent(render::user_event(e))),
                    );
                }
            }
        }
        if resuming {
            frames.push(ServerFrame::CaughtUp);
        }
        Ok((
            Self {
                user,
                storage,
                positions,
                user_seq,
                user_head,
                max_replay,
            },
            frames,
        ))
    }

    /// Compares every position with the database and returns what this connection lacks: the
    /// user's own log first (a client learns it joined before it gets the conversation's events),
    /// then each conversation's missing events; a stretch longer than `max_replay` becomes a
    /// `resync` frame, as on resume. Usually (nothing was lost) two reads and no frames.
    pub async fn catch_up(&mut self) -> Result<Vec<ServerFrame>, ServiceError> {
        let mut frames = Vec::new();
        let user_head = self.storage.user_event_head(self.user).await?;
        if user_head > self.user_seq {
            if user_head - self.user_seq > i64::from(self.max_replay) {
                frames.push(ServerFrame::Resync {
                    conversation_id: None,
                    seq: user_head,
                });
                self.user_seq = user_head;
            } else {
                let events = self
                    .storage
                    .user_events_after(self.user, self.user_seq, self.max_replay)
                    .await?;
                for e in &events {
                    if let Stream::User {
                        left: Some(conversation),
                        ..
                    } = fanout::user_stream(e)
                    {
                        self.positions.remove(&conversation);
                    }
                    self.user_seq = self.user_seq.max(e.seq);
                    frames.push(ServerFrame::UserEvent(render::user_event(e)));
                }
            }
        }
        for head in self.storage.membership_heads(self.user).await? {
            let position = *self
                .positions
                .entry(head.conversation_id)
                .or_insert(head.joined_seq - 1);
            if head.last_seq <= position {
                continue;
            }
            if head.last_seq - position > i64::from(self.max_replay) {
                frames.push(ServerFrame::Resync {
                    conversation_id: Some(head.conversation_id),
                    seq: head.last_seq,
                });
                self.positions.insert(head.conversation_id, head.last_seq);
                continue;
            }
            let events = self
                .storage
                .events_after(head.conversation_id, position, self.max_replay)
                .await?;
            if let Some(last) = events.last() {
                self.positions.insert(head.conversation_id, last.seq);
            }
            frames.extend(events.iter().map(|e| ServerFrame::Event(render::event(e))));
        }
        Ok(frames)
    }

    /// The head of the user's log when following started.
    pub fn user_head(&self) -> i64 {
        self.user_head
    }

    /// What to write for one delivery: nothing (already sent), the delivery itself, or the missed
    /// events before it and then it. The common case (the next position) allocates nothing.
    pub async fn deliver(&mut self, delivery: Delivery) -> Result<Delivered, ServiceError> {
        let nothing = Delivered {
            missed: Vec::new(),
            frame: None,
        };
        match delivery.stream {
            Stream::Ephemeral => Ok(Delivered {
                missed: Vec::new(),
                frame: Some(delivery.frame),
            }),
            Stream::CatchUp => Ok(Delivered {
                missed: self.catch_up().await?,
                frame: None,
            }),
            Stream::Conversation { id, seq } => {
                let position = match self.positions.get(&id) {
                    Some(p) => *p,
                    // Joined after this connection started: follow from the joining event.
                    None => match self.storage.member(id, self.user).await? {
                        Some(m) => m.joined_seq - 1,
                        None => return Ok(nothing),
                    },
                };
                if seq <= position {
                    return Ok(nothing);
                }
                let mut missed = Vec::new();
                if seq > position + 1 {
                    let events = self
                        .storage
                        .events_after(id, position, (seq - position - 1) as u32)
                        .await?;
                    missed.extend(events.iter().map(|e| ServerFrame::Event(render::event(e))));
                }
                self.positions.insert(id, seq);
                Ok(Delivered {
                    missed,
                    frame: Some(delivery.frame),
                })
            }
            Stream::User { seq, left } => {
                if seq <= self.user_seq {
                    return Ok(nothing);
                }
                let mut missed = Vec::new();
                if seq > self.user_seq + 1 {
                    let events = self
                        .storage
                        .user_events_after(
                            self.user,
                            self.user_seq,
                            (seq - self.user_seq - 1) as u32,
                        )
                        .await?;
                    for e in &events {
                        if let Stream::User {
                            left: Some(conversation),
                            ..
                        } = fanout::user_stream(e)
                        {
                            self.positions.remove(&conversation);
                        }
                        missed.push(ServerFrame::UserEvent(render::user_event(e)));
                    }
                }
                if let Some(conversation) = left {
                    self.positions.remove(&conversation);
                }
                self.user_seq = seq;
                Ok(Delivered {
                    missed,
                    frame: Some(delivery.frame),
                })
            }
        }
    }
}

/// The resume's positions with each conversation once, at the earliest position it was listed
/// with, in the order first listed.
///
/// A hello that lists a conversation twice (a client bug, or two caches merged) would otherwise be
/// replayed twice, and its events would reach the client twice. Refusing the hello would leave
/// such a client reconnecting with the same hello forever; taking the earliest position instead
/// means nothing it may lack is skipped, and each event is still sent once (the client ignores
/// positions it already has). The rule is documented with the protocol (`jeco_shared::ws`).
fn one_position_each(
    positions: Vec<jeco_shared::events::Position>,
) -> Vec<jeco_shared::events::Position> {
    let mut earliest: HashMap<ConversationId, usize> = HashMap::with_capacity(positions.len());
    let mut once: Vec<jeco_shared::events::Position> = Vec::with_capacity(positions.len());
    for p in positions {
        match earliest.get(&p.conversation_id) {
            Some(&i) => once[i].seq = once[i].seq.min(p.seq),
            None => {
                earliest.insert(p.conversation_id, once.len());
                once.push(p);
            }
        }
    }
    once
}
