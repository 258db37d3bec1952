//! Presence: online / away / offline, counted across a user's connections.
//!
//! The gateway's registry knows each user's live connections and whether each is away; this
//! service turns that into a status and tells everyone who shares a conversation with the user when
//! it changes. A user goes offline when the last connection closes — including one closed for not
//! answering heartbeats. Presence is never stored.
//!
//! In a cluster, a user's connections may be on several instances. Each instance tells the others
//! its own part (`Fanout::local_presence_changed`, carried by `cluster::bus`), and each one
//! announces the merged status **to its own clients only** whenever the merged status it sees
//! changes — whether the change happened here, on another instance, or because another instance
//! stopped answering (its users go offline within `cluster::bus::GONE`). So a change reaches every
//! viewer once, from the instance the viewer is connected to.

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

    /// Re-reads `user`'s status after a connection came, went or changed its away flag here, tells
    /// the other instances, and announces the merged status when it changed.
    pub async fn refresh(&self, user: UserId) -> Result<(), ServiceError> {
        self.fanout
            .local_presence_changed(user, self.fanout.local_presence(user));
        self.announce_if_changed(user).await
    }

    /// Announces `user`'s merged status to their contacts connected here, if it is not the status
    /// last announced here.
    async fn announce_if_changed(&self, user: UserId) -> Result<(), ServiceError> {
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
            self.fanout.publish_here(
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

    /// In a cluster: announces the changes the other instances report, for as long as the bus
    /// runs. Nothing for a single server.
    pub fn follow_cluster(self: &Arc<Self>) {
        let Some(mut changes) = self.fanout.remote_presence_changes() else {
            return;
        };
        let presence = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(user) = changes.recv().await {
                let Some(presence) = presence.upgrade() else {
                    return;
                };
                if let Err(e) = presence.announce_if_changed(user).await {
                    tracing::warn!(error = %e, "cannot announce a presence change from the cluster");
                }
            }
        });
    }
}
