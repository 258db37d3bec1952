//! The sync state machine: what one connection does with each frame, answer and tick, as steps.
//!
//! [`SyncState`] performs no network I/O. It is fed what happened — a frame was read
//! ([`SyncState::on_frame`]), a REST answer came back ([`SyncState::on_fetched`]), the user sent a
//! frame ([`SyncState::on_sent`]), time passed ([`SyncState::on_tick`]) — and answers with the
//! [`Step`]s to take: send a frame, fetch something over REST, emit an engine event, go live, or
//! end the connection. The driver in [`super::sync_loop`] performs them with the socket and the
//! REST client and feeds the results back.
//!
//! Why this shape: applying a frame used to *await* REST calls (profiles, snapshots, a
//! conversation's counts) inside the handler, so while one hung, nothing was read from the socket:
//! not the server's pongs, not its close frame. A hang of exactly that kind was seen one run in
//! fifteen. Now reading never waits: a pong is seen while a snapshot is in flight, and a dead link
//! is noticed within the pong timeout even then. And the logic — resume, resync, dead links,
//! reconnect after sleep — is tested without sockets or servers (see `tests.rs`), with explicit
//! instants instead of a clock.
//!
//! What stays the same is the order of effects. Frames are applied strictly in the order they
//! arrived: a frame that needs the server (an event that reveals a gap, a conversation the cache
//! has never seen) blocks the frames behind it until its answer is applied, and only one REST
//! request is outstanding at a time. Each step of the work is an [`Op`] in one queue; an answer
//! puts its follow-up work at the front, so "snapshot, learn its members' names, then tell the UI,
//! then apply the event that revealed the gap" runs in exactly that order. The cache is local and
//! synchronous, so it is written here directly: each applied event still moves its position in
//! the same transaction.
//!
//! Liveness is bookkeeping on the side of that queue: anything heard proves the link; a link
//! silent for `silence` gets a ping; a ping unanswered within `pong_timeout` ends the connection;
//! a REST request unanswered within `patience` does too (the link may answer pings while the
//! HTTP connection hangs). When a request starts, the link is checked (a ping, at most every
//! [`ACTIVE_CHECK`]) so a link that died with it is noticed within the pong timeout.

#[cfg(test)]
mod tests;

use super::{EngineError, EngineEvent};
use crate::cache::{Applied, Cache, CacheError};
use crate::session::ClientError;
use jeco_shared::conversations::Conversation;
use jeco_shared::events::{ConversationEvent, EventBody, Resume, UserEvent, UserEventBody};
use jeco_shared::messages::MessagePage;
use jeco_shared::notifications::Notification;
use jeco_shared::teams::Team;
use jeco_shared::users::User;
use jeco_shared::ws::{ClientFrame, ServerFrame};
use jeco_shared::{ConversationId, ErrorCode, UserId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// While frames are going out (typing, presence) or a request is in flight, the link is checked
/// at most this often.
pub(crate) const ACTIVE_CHECK: Duration = Duration::from_secs(5);

/// Identifies one REST request, so an answer is matched to what asked for it.
pub(crate) type RequestId = u64;

/// What the state machine needs from the server over REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// The conversation as the server describes it now (for counts the cache cannot work out).
    Conversation(ConversationId),
    /// The conversation, then its newest page, read so that the page is not ahead of the
    /// conversation's `last_seq` (see `sync_loop::fetch_snapshot`).
    Snapshot(ConversationId),
    /// The conversation list, the newest notifications and the teams.
    Reload,
    /// The teams.
    Teams,
    /// These profiles. Best effort: the driver leaves out the ones it could not fetch.
    Users(Vec<UserId>),
}

/// Why a request failed, as far as the state machine cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The server does not know it (or no longer shows it to this user).
    NotFound,
    /// The session is over.
    SignedOut,
    /// Anything else; the connection starts over, resuming.
    Failed(String),
}

impl From<EngineError> for FetchError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotSignedIn | EngineError::Client(ClientError::NotSignedIn) => {
                Self::SignedOut
            }
            e if e.code() == ErrorCode::NotFound => Self::NotFound,
            other => {
                let code = other.code();
                Self::Failed(format!("{other} ({code})"))
            }
        }
    }
}

/// What a reload brings: the server's view of the lists the user log does not replay in full.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reload {
    pub conversations: Vec<Conversation>,
    pub notifications: Vec<Notification>,
    pub teams: Vec<Team>,
}

/// The answer to a [`Need`], of the same kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fetched {
    Conversation(Result<Conversation, FetchError>),
    Snapshot(Result<(Conversation, MessagePage), FetchError>),
    Reload(Result<Reload, FetchError>),
    Teams(Result<Vec<Team>, FetchError>),
    Users(Vec<User>),
}

/// How one connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The loop was told to stop.
    Stopped,
    /// The session is over on the server.
    SignedOut,
    /// The server speaks another protocol.
    Incompatible(String),
    /// Try again after a backoff.
    Retry(String),
    /// Try again at once (a refreshed token).
    RetryNow,
}

/// What the driver is to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Write this frame to the socket.
    Send(ClientFrame),
    /// Ask the server; feed the answer to [`SyncState::on_fetched`] with this id.
    Fetch { id: RequestId, need: Need },
    /// Tell the engine's subscribers.
    Emit(EngineEvent),
    /// Caught up: the engine may send frames on this connection, the state is live, and the
    /// outbox can deliver.
    Live,
    /// The connection is over; nothing more comes from this state machine.
    End(End),
}

/// The timing one connection runs with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patience {
    /// Ping a link heard from for this long (see `sync_loop::check_after_silence`).
    pub silence: Duration,
    /// A ping unanswered this long means the link is dead.
    pub pong_timeout: Duration,
    /// A REST request unanswered this long ends the connection (it is retried, resuming).
    pub request: Duration,
}

/// One piece of work, run in order; an answer puts its follow-ups at the front.
#[derive(Debug)]
enum Op {
    /// A frame as it was read.
    Frame(ServerFrame),
    /// Apply a conversation event. `server`: the description asked for its counts, when asked.
    ApplyEvent {
        event: ConversationEvent,
        server: Option<Box<Option<Conversation>>>,
    },
    /// Apply an event again after the snapshot its gap asked for.
    ReapplyEvent(ConversationEvent),
    /// Reload a conversation; `emit`: tell the UI once stored.
    Snapshot {
        id: ConversationId,
        emit: bool,
    },
    /// Fetch the profiles among these the cache lacks.
    LearnUsers(Vec<UserId>),
    Teams,
    Reload,
    /// Apply a user event, after the fetches it needed.
    ApplyUserEvent(UserEvent),
    SetUserSeq(i64),
    Live,
    Emit(EngineEvent),
}

/// What the outstanding request's answer is for.
#[derive(Debug)]
enum Then {
    Counts(Box<ConversationEvent>),
    Snapshot { id: ConversationId, emit: bool },
    Reload,
    Teams,
    Users,
}

#[derive(Debug)]
struct Outstanding {
    id: RequestId,
    since: Instant,
    then: Then,
}

/// What is known about the link's liveness.
#[derive(Debug)]
struct Link {
    /// When anything was last heard.
    last_heard: Instant,
    /// When the oldest unanswered ping was sent.
    waiting_since: Option<Instant>,
    /// When the last ping was sent.
    last_ping: Instant,
    nonce: u64,
}

impl Link {
    fn new(now: Instant) -> Self {
        Self {
            last_heard: now,
            waiting_since: None,
            last_ping: now,
            nonce: 0,
        }
    }

    fn heard(&mut self, now: Instant) {
        self.waiting_since = None;
        self.last_heard = now;
    }

    /// The next ping to send; from now on an answer is awaited.
    fn ping(&mut self, now: Instant) -> Step {
        self.nonce += 1;
        self.waiting_since.get_or_insert(now);
        self.last_ping = now;
        Step::Send(ClientFrame::Ping { nonce: self.nonce })
    }

    /// A ping, when none is awaited and the last is older than [`ACTIVE_CHECK`].
    fn check(&mut self, now: Instant) -> Option<Step> {
        (self.waiting_since.is_none()
            && now.saturating_duration_since(self.last_ping) >= ACTIVE_CHECK)
            .then(|| self.ping(now))
    }
}

/// The resume a hello carries: the cache's positions, or none for a cache that never synced.
pub(crate) fn resume_from(cache: &Cache) -> crate::cache::Result<Option<Resume>> {
    let Some(user_seq) = cache.user_seq()? else {
        return Ok(None);
    };
    Ok(Some(Resume {
        conversations: cache.positions()?,
        user_seq,
    }))
}

/// The state of one connection after its handshake (see the module docs).
pub(crate) struct SyncState {
    /// The signed-in user as `ready` described them.
    me: User,
    cache: Arc<Cache>,
    patience: Patience,
    link: Link,
    ops: VecDeque<Op>,
    outstanding: Option<Outstanding>,
    next_request: RequestId,
    /// Who is typing where, until when.
    typing: HashMap<ConversationId, HashMap<UserId, Instant>>,
    /// Conversations whose unread and mention counts wait for a server description that fits
    /// an event (see [`Cache::counts_need_server`]).
    counts_unknown: HashSet<ConversationId>,
    ended: bool,
}

impl SyncState {
    /// A connection whose handshake just completed at `now`.
    pub(crate) fn new(me: User, cache: Arc<Cache>, patience: Patience, now: Instant) -> Self {
        Self {
            me,
            cache,
            patience,
            link: Link::new(now),
            ops: VecDeque::new(),
            outstanding: None,
            next_request: 1,
            typing: HashMap::new(),
            counts_unknown: HashSet::new(),
            ended: false,
        }
    }

    /// The first steps. `fresh`: the hello carried no resume, and `ready` said the user log is
    /// at this `user_seq`: positions come from REST, and the user log continues from there.
    pub(crate) fn start(&mut self, now: Instant, fresh: Option<i64>) -> Vec<Step> {
        if let Some(user_seq) = fresh {
            self.ops.extend([
                Op::SetUserSeq(user_seq),
                Op::Reload,
                Op::Live,
                Op::Emit(EngineEvent::ConversationsChanged),
            ]);
        }
        self.run(now, Vec::new())
    }

    /// A frame was read. It proves the link; it is applied after the frames before it.
    pub(crate) fn on_frame(&mut self, now: Instant, frame: ServerFrame) -> Vec<Step> {
        if self.ended {
            return Vec::new();
        }
        self.link.heard(now);
        self.ops.push_back(Op::Frame(frame));
        self.run(now, Vec::new())
    }

    /// Something other than a frame was heard (a WebSocket ping or pong, an unreadable frame).
    pub(crate) fn on_heard(&mut self, now: Instant) {
        self.link.heard(now);
    }

    /// The user sent a frame: someone is looking, so check the link now rather than at the next
    /// heartbeat.
    pub(crate) fn on_sent(&mut self, now: Instant) -> Vec<Step> {
        if self.ended {
            return Vec::new();
        }
        self.link.check(now).into_iter().collect()
    }

    /// The answer to request `id`. An answer nobody waits for (the connection ended meanwhile)
    /// is dropped: the next connection resumes from the cache and asks again.
    pub(crate) fn on_fetched(
        &mut self,
        now: Instant,
        id: RequestId,
        fetched: Fetched,
    ) -> Vec<Step> {
        if self.ended || self.outstanding.as_ref().is_none_or(|o| o.id != id) {
            tracing::debug!(request = id, "dropping an answer nobody waits for");
            return Vec::new();
        }
        let Some(outstanding) = self.outstanding.take() else {
            return Vec::new();
        };
        if let Err(end) = self.answer(outstanding.then, fetched) {
            return self.end(end, Vec::new());
        }
        self.run(now, Vec::new())
    }

    /// Time passed: ping a silent link, give up on an unanswered ping or request.
    pub(crate) fn on_tick(&mut self, now: Instant) -> Vec<Step> {
        if self.ended {
            return Vec::new();
        }
        if let Some(since) = self.link.waiting_since
            && now >= since + self.patience.pong_timeout
        {
            let end = End::Retry(format!(
                "the server did not answer for {:?}",
                self.patience.pong_timeout
            ));
            return self.end(end, Vec::new());
        }
        if let Some(o) = &self.outstanding
            && now >= o.since + self.patience.request
        {
            let end = End::Retry(format!(
                "a request to the server got no answer for {:?}",
                self.patience.request
            ));
            return self.end(end, Vec::new());
        }
        if self.link.waiting_since.is_none() && now >= self.link.last_heard + self.patience.silence
        {
            return vec![self.link.ping(now)];
        }
        Vec::new()
    }

    /// When [`SyncState::on_tick`] has something to do next; `None` once the connection ended.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let link = match self.link.waiting_since {
            Some(since) => since + self.patience.pong_timeout,
            None => self.link.last_heard + self.patience.silence,
        };
        let request = self
            .outstanding
            .as_ref()
            .map(|o| o.since + self.patience.request);
        Some(request.map_or(link, |r| r.min(link)))
    }

    /// Whether a REST request is outstanding.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Runs queued work until it is done or waits for an answer.
    fn run(&mut self, now: Instant, mut steps: Vec<Step>) -> Vec<Step> {
        while self.outstanding.is_none() {
            let Some(op) = self.ops.pop_front() else {
                break;
            };
            if let Err(end) = self.op(now, op, &mut steps) {
                return self.end(end, steps);
            }
        }
        steps
    }

    fn end(&mut self, end: End, mut steps: Vec<Step>) -> Vec<Step> {
        self.ended = true;
        self.ops.clear();
        self.outstanding = None;
        steps.push(Step::End(end));
        steps
    }

    /// Puts work at the front of the queue, in the given order.
    fn next(&mut self, ops: impl IntoIterator<Item = Op, IntoIter: DoubleEndedIterator>) {
        for op in ops.into_iter().rev() {
            self.ops.push_front(op);
        }
    }

    fn fetch(&mut self, now: Instant, need: Need, then: Then, steps: &mut Vec<Step>) {
        let id = self.next_request;
        self.next_request += 1;
        self.outstanding = Some(Outstanding {
            id,
            since: now,
            then,
        });
        steps.push(Step::Fetch { id, need });
        // If the link died, the answer may never come: learn it from the pong timeout.
        steps.extend(self.link.check(now));
    }

    fn op(&mut self, now: Instant, op: Op, steps: &mut Vec<Step>) -> Result<(), End> {
        match op {
            Op::Frame(frame) => self.frame(now, frame, steps)?,
            Op::ApplyEvent { event, server } => {
                self.apply_event(now, event, server.map(|s| *s), steps)?
            }
            Op::ReapplyEvent(event) => {
                // Unknown still: no longer a member, the event is moot.
                let applied = self
                    .cache
                    .apply_event(self.me.id, &event)
                    .map_err(cache_end)?;
                self.applied(now, &event, applied, steps);
            }
            Op::Snapshot { id, emit } => {
                self.fetch(now, Need::Snapshot(id), Then::Snapshot { id, emit }, steps)
            }
            Op::LearnUsers(ids) => {
                // Best effort: a name shown as an id is better than a failed sync.
                let unknown = self.cache.unknown_users(ids).unwrap_or_default();
                if !unknown.is_empty() {
                    self.fetch(now, Need::Users(unknown), Then::Users, steps);
                }
            }
            Op::Teams => self.fetch(now, Need::Teams, Then::Teams, steps),
            Op::Reload => self.fetch(now, Need::Reload, Then::Reload, steps),
            Op::ApplyUserEvent(event) => {
                self.cache.apply_user_event(&event).map_err(cache_end)?;
                match event.body {
                    UserEventBody::NotificationCreated { notification } => {
                        steps.push(Step::Emit(EngineEvent::Notification(notification)));
                    }
                    UserEventBody::ConversationAdded { .. }
                    | UserEventBody::ConversationRemoved { .. } => {
                        steps.push(Step::Emit(EngineEvent::ConversationsChanged));
                    }
                    UserEventBody::TeamAdded { .. }
                    | UserEventBody::TeamChanged { .. }
                    | UserEventBody::TeamRemoved { .. } => {
                        steps.push(Step::Emit(EngineEvent::TeamsChanged));
                    }
                    _ => {}
                }
            }
            Op::SetUserSeq(seq) => self.cache.set_user_seq(seq).map_err(cache_end)?,
            Op::Live => steps.push(Step::Live),
            Op::Emit(event) => steps.push(Step::Emit(event)),
        }
        Ok(())
    }

    fn frame(
        &mut self,
        now: Instant,
        frame: ServerFrame,
        steps: &mut Vec<Step>,
    ) -> Result<(), End> {
        match frame {
            ServerFrame::Event(event) => {
                let id = event.conversation_id;
                // Counts the cache cannot work out come from the server's description of the
                // conversation, read before the event is applied so that position and counts move
                // together. A description already past this event does not fit it: the next
                // events ask again until one fits.
                let ask = self.counts_unknown.contains(&id)
                    || self
                        .cache
                        .counts_need_server(self.me.id, &event)
                        .map_err(cache_end)?;
                if ask {
                    self.fetch(
                        now,
                        Need::Conversation(id),
                        Then::Counts(Box::new(event)),
                        steps,
                    );
                } else {
                    self.apply_event(now, event, None, steps)?;
                }
            }
            ServerFrame::UserEvent(event) => {
                if self
                    .cache
                    .user_seq()
                    .map_err(cache_end)?
                    .is_some_and(|seq| event.seq <= seq)
                {
                    return Ok(());
                }
                // What needs the server comes first: if it fails, the position is not moved and
                // the event is replayed on the next connection.
                let mut ops = Vec::new();
                if let UserEventBody::ConversationAdded {
                    conversation_id, ..
                } = &event.body
                    && self
                        .cache
                        .conversation(*conversation_id)
                        .map_err(cache_end)?
                        .is_none()
                {
                    ops.push(Op::Snapshot {
                        id: *conversation_id,
                        emit: false,
                    });
                }
                if matches!(
                    event.body,
                    UserEventBody::TeamAdded { .. }
                        | UserEventBody::TeamChanged { .. }
                        | UserEventBody::TeamRemoved { .. }
                ) {
                    ops.push(Op::Teams);
                }
                ops.push(Op::ApplyUserEvent(event));
                self.next(ops);
            }
            ServerFrame::CaughtUp => {
                // Reconcile the list with the server (conversations joined or left while away
                // that the replay does not describe), then go live.
                self.next([
                    Op::Reload,
                    Op::Live,
                    Op::Emit(EngineEvent::ConversationsChanged),
                ]);
            }
            ServerFrame::Resync {
                conversation_id: Some(id),
                ..
            } => self.next([Op::Snapshot { id, emit: true }]),
            ServerFrame::Resync {
                conversation_id: None,
                seq,
            } => self.next([
                Op::Reload,
                Op::SetUserSeq(seq),
                Op::Emit(EngineEvent::ConversationsChanged),
            ]),
            ServerFrame::Typing {
                conversation_id,
                user_id,
                active,
                expires_in_ms,
            } => {
                if user_id == self.me.id {
                    return Ok(());
                }
                if active {
                    self.typing
                        .entry(conversation_id)
                        .or_default()
                        .insert(user_id, now + Duration::from_millis(expires_in_ms));
                    self.emit_typing(now, conversation_id, steps);
                } else {
                    self.stop_typing(now, conversation_id, user_id, steps);
                }
            }
            ServerFrame::Presence { user_id, status } => {
                steps.push(Step::Emit(EngineEvent::Presence { user_id, status }));
            }
            ServerFrame::Error { code, message, .. } => {
                tracing::debug!(%code, %message, "the server refused a frame");
            }
            ServerFrame::Pong { .. } | ServerFrame::Ack { .. } | ServerFrame::Ready { .. } => {}
        }
        Ok(())
    }

    fn apply_event(
        &mut self,
        now: Instant,
        event: ConversationEvent,
        server: Option<Option<Conversation>>,
        steps: &mut Vec<Step>,
    ) -> Result<(), End> {
        let id = event.conversation_id;
        if let Some(server) = &server {
            if server.as_ref().is_some_and(|c| c.last_seq == event.seq) {
                self.counts_unknown.remove(&id);
            } else {
                self.counts_unknown.insert(id);
            }
        }
        let applied = self
            .cache
            .apply_event_with_counts(self.me.id, &event, server.flatten().as_ref())
            .map_err(cache_end)?;
        match applied {
            Applied::UnknownConversation | Applied::Gap { .. } => {
                tracing::debug!(conversation = %id, ?applied, "resyncing");
                self.next([Op::Snapshot { id, emit: true }, Op::ReapplyEvent(event)]);
            }
            other => self.applied(now, &event, other, steps),
        }
        Ok(())
    }

    /// What follows an applied event: engine events, and the profiles it introduces.
    fn applied(
        &mut self,
        now: Instant,
        event: &ConversationEvent,
        applied: Applied,
        steps: &mut Vec<Step>,
    ) {
        let Applied::Changed {
            conversation_id,
            messages,
        } = applied
        else {
            return;
        };
        let mut ops = Vec::new();
        match &event.body {
            EventBody::ReadReceipt { user_id, read_seq } => {
                steps.push(Step::Emit(EngineEvent::ReadReceipt {
                    conversation_id,
                    user_id: *user_id,
                    read_seq: *read_seq,
                }));
                if *user_id == self.me.id {
                    steps.push(Step::Emit(EngineEvent::ConversationsChanged));
                }
            }
            EventBody::MessageCreated { message } => {
                // A message ends its sender's typing.
                self.stop_typing(now, conversation_id, message.sender_id, steps);
                ops.push(Op::LearnUsers(vec![message.sender_id]));
                ops.push(Op::Emit(EngineEvent::ConversationsChanged));
            }
            EventBody::MemberAdded { user_id, .. } => {
                ops.push(Op::LearnUsers(vec![*user_id]));
                ops.push(Op::Emit(EngineEvent::ConversationsChanged));
            }
            EventBody::MessageEdited { .. }
            | EventBody::MessageDeleted { .. }
            | EventBody::ReactionAdded { .. }
            | EventBody::ReactionRemoved { .. }
            | EventBody::MessagePinned { .. }
            | EventBody::MessageUnpinned { .. } => {}
            _ => steps.push(Step::Emit(EngineEvent::ConversationsChanged)),
        }
        if !messages.is_empty() {
            ops.push(Op::Emit(EngineEvent::TimelineChanged {
                conversation_id,
                seqs: messages,
            }));
        }
        self.next(ops);
    }

    /// Applies the answer to the outstanding request; its follow-ups go to the front.
    fn answer(&mut self, then: Then, fetched: Fetched) -> Result<(), End> {
        match (then, fetched) {
            (Then::Counts(event), Fetched::Conversation(result)) => {
                let server = match result {
                    Ok(c) => Some(c),
                    // No longer a member: the user log says so.
                    Err(FetchError::NotFound) => None,
                    Err(e) => return Err(fetch_end(e)),
                };
                self.next([Op::ApplyEvent {
                    event: *event,
                    server: Some(Box::new(server)),
                }]);
            }
            (Then::Snapshot { id, emit }, Fetched::Snapshot(result)) => {
                let (conversation, page) = match result {
                    Ok(snapshot) => snapshot,
                    // No longer a member: the user log says so; events of it are moot.
                    Err(FetchError::NotFound) => return Ok(()),
                    Err(e) => return Err(fetch_end(e)),
                };
                self.cache
                    .store_snapshot(self.me.id, &conversation, &page)
                    .map_err(cache_end)?;
                let people = conversation
                    .members
                    .iter()
                    .map(|m| m.user_id)
                    .chain(page.items.iter().map(|m| m.sender_id))
                    .collect();
                let mut ops = vec![Op::LearnUsers(people)];
                if emit {
                    ops.push(Op::Emit(EngineEvent::ConversationsChanged));
                    ops.push(Op::Emit(EngineEvent::TimelineChanged {
                        conversation_id: id,
                        seqs: Vec::new(),
                    }));
                }
                self.next(ops);
            }
            (Then::Reload, Fetched::Reload(result)) => {
                let reload = result.map_err(fetch_end)?;
                self.reload(reload)?;
            }
            (Then::Teams, Fetched::Teams(result)) => {
                let teams = result.map_err(fetch_end)?;
                self.cache.replace_teams(&teams).map_err(cache_end)?;
            }
            (Then::Users, Fetched::Users(users)) => {
                if let Err(e) = self.cache.upsert_users(&users) {
                    tracing::debug!(error = %e, "cannot store profiles");
                }
            }
            (then, fetched) => {
                return Err(End::Retry(format!(
                    "internal: {fetched:?} answered a request for {then:?}"
                )));
            }
        }
        Ok(())
    }

    /// Reconciles the cached conversation list with the server's: new conversations are
    /// snapshotted, known ones get fresh descriptions (counts, members), vanished ones are
    /// forgotten; notifications and teams are replaced.
    fn reload(&mut self, reload: Reload) -> Result<(), End> {
        let known: Vec<ConversationId> = self
            .cache
            .conversations()
            .map_err(cache_end)?
            .iter()
            .map(|c| c.id)
            .collect();
        let mut snapshots = Vec::new();
        for c in &reload.conversations {
            if known.contains(&c.id) {
                // Only when nothing newer was applied here: a listing older than the cache would
                // roll counts back.
                if self.cache.position(c.id).map_err(cache_end)? == Some(c.last_seq) {
                    self.cache.refresh_conversation(c).map_err(cache_end)?;
                }
            } else {
                snapshots.push(Op::Snapshot {
                    id: c.id,
                    emit: false,
                });
            }
        }
        for id in known {
            if !reload.conversations.iter().any(|c| c.id == id) {
                self.cache.remove_conversation(id).map_err(cache_end)?;
            }
        }
        // The user log only carries the notifications created while synced.
        for n in &reload.notifications {
            self.cache.upsert_notification(n).map_err(cache_end)?;
        }
        self.cache.replace_teams(&reload.teams).map_err(cache_end)?;
        self.next(snapshots);
        Ok(())
    }

    fn stop_typing(
        &mut self,
        now: Instant,
        conversation: ConversationId,
        user: UserId,
        steps: &mut Vec<Step>,
    ) {
        if let Some(users) = self.typing.get_mut(&conversation)
            && users.remove(&user).is_some()
        {
            self.emit_typing(now, conversation, steps);
        }
    }

    fn emit_typing(&mut self, now: Instant, conversation: ConversationId, steps: &mut Vec<Step>) {
        let users = self.typing.entry(conversation).or_default();
        users.retain(|_, until| *until > now);
        let mut user_ids: Vec<UserId> = users.keys().copied().collect();
        user_ids.sort();
        steps.push(Step::Emit(EngineEvent::Typing {
            conversation_id: conversation,
            user_ids,
        }));
    }
}

fn cache_end(e: CacheError) -> End {
    End::Retry(format!("the local cache failed: {e}"))
}

fn fetch_end(e: FetchError) -> End {
    match e {
        FetchError::SignedOut => End::SignedOut,
        FetchError::NotFound => {
            End::Retry("the server did not find what the sync asked for".into())
        }
        FetchError::Failed(reason) => End::Retry(reason),
    }
}
