//! Presence: online / away / offline, counted across a user's connections.
//!
//! The gateway's registry knows each user's live connections and whether each is away; this
//! service turns that into a status and tells everyone who shares a conversation with the user when
//! it changes. A user goes offline when the last connection closes — including one closed for not
//! answering heartbeats. Presence is never stored.

use super::ServiceError;
use super::fanout::{Fanout, Outgoing, Stream, encode};
use crate::storage::Storage;
use jeco_shared::UserId;
use jeco_shared::events::PresenceStatus;
use jeco_shared::ws::ServerFrame;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Presence {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    /// The last status told to others, so only changes are broadcast.
    announced: Mutex<HashMap<UserId, PresenceStatus>>,
}

impl Presence {
    pub fn new(storage: Arc<dyn Storage>, fanout: Arc<dyn Fanout>) -> Self {
        Self {
            storage,
            fanout,
            announced: Mutex::new(HashMap::new()),
        }
    }

    pub fn status(&self, user: UserId) -> PresenceStatus {
        self.fanout.presence(user)
    }

    /// Re-reads `user`'s status after a connection came, went or changed its away flag, and
    /// broadcasts it to the user's contacts when it changed.
    pub async fn refresh(&self, user: UserId) -> Result<(), ServiceError> {
        let status = self.fanout.presence(user);
        let changed = {
            let mut announced = self.announced.lock().unwrap_or_else(|p| p.into_inner());
            let before = announced
                .get(&user)
                .copied()
                .unwrap_or(PresenceStatus::Offline);
            if status == PresenceStatus::Offline {
                announced.remove(&user);
            } else {
                announced.insert(user, status);
            }
            before != status
        };
        if changed {
            let recipients = self.storage.contacts_of(user).await?;
            self.fanout.publish(
                &recipients,
                Outgoing {
                    stream: Stream::Ephemeral,
                    json: encode(&ServerFrame::Presence {
                        user_id: user,
                        status,
                    }),
                },
            );
        }
        Ok(())
    }
}
