//! Channels: the conversations of a team.
//!
//! A channel is a conversation of kind `channel` plus its team, visibility, topic and archive
//! state; messages, events and membership work as for every conversation
//! ([`super::Conversations`], [`super::Messages`]). What is special lives here and in
//! [`super::Conversations::update`]:
//! - any team member creates channels (becoming the channel's owner) and joins public ones;
//! - a private channel is invisible to non-members — listing skips it and every request about it
//!   answers `not_found`, like an id that does not exist — and only its members add people, who
//!   must be in the team;
//! - team admins (and the channel's owner/admins) archive channels and delete others' messages;
//!   team admins delete channels, except the default `#general` that every member is in (and
//!   nobody leaves on their own: they leave it by leaving the team);
//! - channel names are unique within a team ignoring case (`409 conflict`), checked by the
//!   storage in the transaction that creates or renames.

use super::conversations::Conversations;
use super::fanout::{Fanout, publish_committed};
use super::teams::Teams;
use super::{Principal, ServiceError, now_ms};
use crate::storage::{ChannelRecord, NewChannel, Storage, StorageError};
use jeco_shared::conversations::{Conversation, ConversationKind, NAME_MAX};
use jeco_shared::teams::{Channel, ChannelInfo, ChannelList, CreateChannelRequest, TOPIC_MAX};
use jeco_shared::{ConversationId, TeamId};
use std::sync::Arc;

pub struct Channels {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    teams: Arc<Teams>,
    conversations: Arc<Conversations>,
}

pub fn info(c: &ChannelRecord) -> ChannelInfo {
    ChannelInfo {
        team_id: c.team_id,
        topic: c.topic.clone(),
        private: c.private,
        archived: c.archived,
        is_default: c.is_default,
    }
}

/// A topic as stored: trimmed, `None` when empty.
pub fn valid_topic(topic: &str) -> Result<Option<String>, ServiceError> {
    let topic = topic.trim();
    if topic.chars().count() > TOPIC_MAX {
        return Err(ServiceError::field(
            "topic",
            format!("must be at most {TOPIC_MAX} characters"),
        ));
    }
    Ok((!topic.is_empty()).then(|| topic.to_owned()))
}

/// A channel name as stored: a clean name ([`crate::names::clean`]) without a leading `#`.
/// Unique within the team by [`crate::names::uniqueness_key`] (case and look-alikes folded).
pub fn valid_channel_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim().trim_start_matches('#');
    crate::names::clean(name, NAME_MAX).map_err(|p| ServiceError::field("name", p))
}

/// A storage conflict on creating or renaming a channel: the team has a channel of that name.
pub fn name_conflict(e: StorageError, name: &str) -> ServiceError {
    match e {
        StorageError::Conflict => ServiceError::Conflict(format!(
            "a channel named #{name} already exists in this team"
        )),
        other => other.into(),
    }
}

impl Channels {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        teams: Arc<Teams>,
        conversations: Arc<Conversations>,
    ) -> Self {
        Self {
            storage,
            fanout,
            teams,
            conversations,
        }
    }

    /// A channel the caller may know exists: in one of the caller's teams, and public or joined.
    /// Everything else is `not_found`.
    async fn visible(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<(ChannelRecord, bool), ServiceError> {
        let channel = self
            .storage
            .channel(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.teams
            .require_member(channel.team_id, who.user_id)
            .await?;
        let joined = self.storage.member(id, who.user_id).await?.is_some();
        if channel.private && !joined {
            return Err(ServiceError::NotFound);
        }
        Ok((channel, joined))
    }

    pub async fn create(
        &self,
        who: &Principal,
        team: TeamId,
        req: CreateChannelRequest,
    ) -> Result<Conversation, ServiceError> {
        let name = valid_channel_name(&req.name)?;
        let topic = match req.topic.as_deref() {
            Some(t) => valid_topic(t)?,
            None => None,
        };
        self.teams.require_member(team, who.user_id).await?;
        let (record, committed) = self
            .storage
            .create_channel(NewChannel {
                team_id: team,
                name: name.clone(),
                private: req.private,
                topic,
                creator: who.user_id,
                now_ms: now_ms(),
            })
            .await
            .map_err(|e| name_conflict(e, &name))?;
        publish_committed(self.fanout.as_ref(), &committed);
        self.conversations.get(who, record.id).await
    }

    pub async fn list(&self, who: &Principal, team: TeamId) -> Result<ChannelList, ServiceError> {
        self.teams.require_member(team, who.user_id).await?;
        let channels = self.storage.channels_visible_to(team, who.user_id).await?;
        let mut items = Vec::with_capacity(channels.len());
        for c in channels {
            let joined = self
                .storage
                .member(c.conversation.id, who.user_id)
                .await?
                .is_some();
            items.push(Channel {
                id: c.conversation.id,
                name: c.conversation.name.clone().unwrap_or_default(),
                info: info(&c),
                member_count: c.member_count,
                joined,
            });
        }
        Ok(ChannelList { items })
    }

    /// Joins a public channel of one of the caller's teams (a no-op when already in it).
    pub async fn join(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let (_, joined) = self.visible(who, id).await?;
        if !joined {
            let committed = self
                .storage
                .add_members(id, who.user_id, vec![who.user_id], now_ms(), None)
                .await?;
            publish_committed(self.fanout.as_ref(), &committed);
        }
        self.conversations.get(who, id).await
    }

    /// Team admins delete a channel (not the default one) with its messages.
    pub async fn delete(&self, who: &Principal, id: ConversationId) -> Result<(), ServiceError> {
        let conversation = self
            .storage
            .conversation(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if conversation.kind != ConversationKind::Channel {
            // Only members may learn that a group or direct conversation exists.
            self.conversations.require_member(id, who.user_id).await?;
            return Err(ServiceError::BadRequest(
                "only channels can be deleted; leave the conversation instead".into(),
            ));
        }
        let (channel, _) = self.visible(who, id).await?;
        let me = self
            .teams
            .require_member(channel.team_id, who.user_id)
            .await?;
        if !me.role.is_admin() {
            return Err(ServiceError::Forbidden);
        }
        if channel.is_default {
            // A conflict with the team's state (every member is in it), like leaving it: 409.
            return Err(ServiceError::Conflict(
                "the team's default channel cannot be deleted".into(),
            ));
        }
        let committed = self.storage.delete_channel(id, now_ms()).await?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(())
    }
}
