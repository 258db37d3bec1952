//! How services reach live connections without knowing about sockets.
//!
//! A service commits a change, renders its event to JSON **once**, and hands that one string with
//! its recipients to a [`Fanout`]. The gateway's registry implements it: it turns the string into
//! shared bytes and enqueues the same bytes on every recipient connection's bounded queue, without
//! waiting (a full queue disconnects that client, never the sender). Today the fan-out is in-process;
//! in a cluster, `cluster::bus::Hub` also puts the same string on Redis for the other instances.

use super::render;
use crate::storage::{Committed, UserEventData, UserEventRecord};
use jeco_shared::events::PresenceStatus;
use jeco_shared::ws::ServerFrame;
use jeco_shared::{ConversationId, UserId};

/// Which stream a frame belongs to, so a connection can keep its positions gap-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A conversation event at `seq`.
    Conversation { id: ConversationId, seq: i64 },
    /// An event of the recipient's own log at `seq`; `left` names a conversation the user is no
    /// longer in, so the connection stops following it.
    User {
        seq: i64,
        left: Option<ConversationId>,
    },
    /// Typing and presence: no position, not replayed.
    Ephemeral,
    /// No frame: an instruction to the connection to compare its positions with the database and
    /// send whatever it lacks. Sent when the cluster bus may have lost a message
    /// (`cluster::bus`); never published by a service.
    CatchUp,
}

/// One encoded frame on its way to some users.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub stream: Stream,
    /// The frame's JSON, encoded once for all recipients.
    pub json: String,
}

pub trait Fanout: Send + Sync + 'static {
    /// Enqueues `frame` on every live connection of every recipient. Never waits.
    fn publish(&self, recipients: &[UserId], frame: Outgoing);
    /// The user's presence across their live connections (in a cluster: on every instance).
    fn presence(&self, user: UserId) -> PresenceStatus;

    /// The user's presence on this instance's connections alone.
    fn local_presence(&self, user: UserId) -> PresenceStatus {
        self.presence(user)
    }
    /// Enqueues `frame` on this instance's connections only. Presence is announced this way: each
    /// instance tells its own clients when the cluster-wide status it sees changes, so nobody gets
    /// a change twice (see `cluster::bus`).
    fn publish_here(&self, recipients: &[UserId], frame: Outgoing) {
        self.publish(recipients, frame)
    }
    /// Tells the other instances what `user`'s status on this one is now (nothing for a single
    /// server).
    fn local_presence_changed(&self, _user: UserId, _status: PresenceStatus) {}
    /// The users whose status on *other* instances changed (they came, went, or their instance
    /// stopped answering), for the presence service to announce; `None` for a single server.
    /// Taken once.
    fn remote_presence_changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<UserId>> {
        None
    }
}

/// Orders statuses for merging instances' views: online beats away beats offline.
pub fn presence_rank(status: PresenceStatus) -> u8 {
    match status {
        PresenceStatus::Online => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    }
}

/// A [`Fanout`] with no connections (the admin CLI, unit tests).
#[derive(Debug, Default)]
pub struct NoFanout;

impl Fanout for NoFanout {
    fn publish(&self, _recipients: &[UserId], _frame: Outgoing) {}
    fn presence(&self, _user: UserId) -> PresenceStatus {
        PresenceStatus::Offline
    }
}

/// Encodes a frame (see [`crate::gateway::frames::to_json`]).
pub fn encode(frame: &ServerFrame) -> String {
    crate::gateway::frames::to_json(frame)
}

/// Publishes what a commit produced: its conversation events to the members, its user events to
/// their users. Called only after the commit.
pub fn publish_committed(fanout: &dyn Fanout, committed: &Committed) {
    // User events first: a client learns it was added before the conversation's events arrive.
    for event in &committed.user_events {
        fanout.publish(
            &[event.user_id],
            Outgoing {
                stream: user_stream(event),
                json: encode(&ServerFrame::UserEvent(render::user_event(event))),
            },
        );
    }
    for event in &committed.events {
        fanout.publish(
            &committed.recipients,
            Outgoing {
                stream: Stream::Conversation {
                    id: event.conversation_id,
                    seq: event.seq,
                },
                json: encode(&ServerFrame::Event(render::event(event))),
            },
        );
    }
}

/// The stream of an event of a user's own log: `left` when it ends the user's membership.
pub fn user_stream(e: &UserEventRecord) -> Stream {
    Stream::User {
        seq: e.seq,
        left: match &e.data {
            UserEventData::ConversationRemoved { conversation } => Some(*conversation),
            UserEventData::ConversationAdded { .. }
            | UserEventData::TeamAdded { .. }
            | UserEventData::TeamRemoved { .. }
            | UserEventData::TeamChanged { .. }
            | UserEventData::NotificationCreated { .. }
            | UserEventData::ContactRequestChanged { .. }
            | UserEventData::ContactRemoved { .. }
            | UserEventData::NotificationRead { .. }
            | UserEventData::NotificationsReadAll { .. } => None,
        },
    }
}
