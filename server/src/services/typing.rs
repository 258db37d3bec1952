//! Typing indicators: relayed to the other members, never stored, and ended by the server itself
//! when a client stops repeating them (it may have crashed or lost its network).
//!
//! Each (conversation, user) pair has a generation number. Every `start` bumps it and schedules an
//! expiry for that generation; the expiry only fires if nothing newer happened since, so repeated
//! starts extend the indicator and a `stop` cancels it. When a user's last connection closes
//! ([`Typing::connection_closed`]), every indicator of theirs ends at once: the others get the
//! `typing` stop then rather than at the expiry.

use super::access::Access;
use super::fanout::{Fanout, Outgoing, Stream, encode};
use super::{Principal, ServiceError};
use jeco_shared::events::PresenceStatus;
use jeco_shared::ws::ServerFrame;
use jeco_shared::{ConversationId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Key = (ConversationId, UserId);

pub struct Typing {
    access: Access,
    fanout: Arc<dyn Fanout>,
    timeout: Duration,
    active: Mutex<HashMap<Key, u64>>,
    generation: std::sync::atomic::AtomicU64,
}

impl Typing {
    pub fn new(access: Access, fanout: Arc<dyn Fanout>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            access,
            fanout,
            timeout,
            active: Mutex::new(HashMap::new()),
            generation: Default::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, u64>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn announce(&self, recipients: &[UserId], key: Key, active: bool) {
        let (conversation_id, user_id) = key;
        let others: Vec<UserId> = recipients
            .iter()
            .copied()
            .filter(|u| *u != user_id)
            .collect();
        self.fanout.publish(
            &others,
            Outgoing {
                stream: Stream::Ephemeral,
                json: encode(&ServerFrame::Typing {
                    conversation_id,
                    user_id,
                    active,
                    expires_in_ms: if active {
                        self.timeout.as_millis() as u64
                    } else {
                        0
                    },
                }),
            },
        );
    }

    /// Ends every indicator of `user` if they have no live connection left (call after a
    /// connection was unregistered). Another connection of theirs keeps them going.
    pub async fn connection_closed(&self, user: UserId) {
        if self.fanout.presence(user) != PresenceStatus::Offline {
            return;
        }
        let ended: Vec<Key> = {
            let mut active = self.lock();
            let keys: Vec<Key> = active.keys().filter(|(_, u)| *u == user).copied().collect();
            for k in &keys {
                active.remove(k);
            }
            keys
        };
        for key in ended {
            match self.access.member_ids(key.0, user).await {
                Ok(members) => self.announce(&members, key, false),
                // No longer a member: the others were told by the removal.
                Err(e) => tracing::debug!(error = %e, "typing stop not announced"),
            }
        }
    }

    /// `active: true` starts or extends the indicator; `false` ends it.
    pub async fn set(
        self: &Arc<Self>,
        who: &Principal,
        conversation: ConversationId,
        active: bool,
    ) -> Result<(), ServiceError> {
        let members = self.access.member_ids(conversation, who.user_id).await?;
        let key = (conversation, who.user_id);
        if !active {
            if self.lock().remove(&key).is_some() {
                self.announce(&members, key, false);
            }
            return Ok(());
        }
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().insert(key, generation);
        self.announce(&members, key, true);
        let this = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(this.timeout).await;
            let expired = {
                let mut active = this.lock();
                if active.get(&key) == Some(&generation) {
                    active.remove(&key);
                    true
                } else {
                    false
                }
            };
            if expired {
                this.announce(&members, key, false);
            }
        });
        Ok(())
    }
}
