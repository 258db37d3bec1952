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

use super::access::Access;
use super::conversations::Conversations;
use super::fanout::{Fanout, publish_committed};
use super::rules::channels::{name_conflict, valid_channel_name, valid_topic};
use super::{Principal, ServiceError, render};
use crate::storage::{ChannelRecord, NewChannel, Storage};
use jeco_shared::conversations::{Conversation, ConversationKind};
use jeco_shared::teams::{Channel, ChannelList, CreateChannelRequest};
use jeco_shared::{ConversationId, TeamId};
use std::sync::Arc;

pub struct Channels {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    access: Access,
    conversations: Arc<Conversations>,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

impl Channels {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        access: Access,
        conversations: Arc<Conversations>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            storage,
            fanout,
            access,
            conversations,
            clock,
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
        self.access
            .require_team_member(channel.team_id, who.user_id)
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
        self.access.require_team_member(team, who.user_id).await?;
        let (record, committed) = self
            .storage
            .create_channel(NewChannel {
                team_id: team,
                name: name.clone(),
                private: req.private,
                topic,
                creator: who.user_id,
                now_ms: self.clock.now_ms(),
            })
            .await
            .map_err(|e| name_conflict(e, &name))?;
        publish_committed(self.fanout.as_ref(), &committed);
        self.conversations.get(who, record.id).await
    }

    pub async fn list(&self, who: &Principal, team: TeamId) -> Result<ChannelList, ServiceError> {
        self.access.require_team_member(team, who.user_id).await?;
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
                info: render::channel_info(&c),
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
                .add_members(
                    id,
                    who.user_id,
                    vec![who.user_id],
                    self.clock.now_ms(),
                    None,
                )
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
            self.access.require_member(id, who.user_id).await?;
            return Err(ServiceError::BadRequest(
                "only channels can be deleted; leave the conversation instead".into(),
            ));
        }
        let (channel, _) = self.visible(who, id).await?;
        let me = self
            .access
            .require_team_member(channel.team_id, who.user_id)
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
        let committed = self.storage.delete_channel(id, self.clock.now_ms()).await?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(())
    }
}
