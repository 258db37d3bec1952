//! Conversations: group rooms, direct conversations and team channels, their members and read
//! positions. What only channels have (topic, archive) is changed through [`Conversations::update`];
//! creating, listing, joining and deleting channels is in [`super::channels`].
//!
//! Authorization rules live here. Whoever is not a member of a conversation gets `not_found` for it
//! — the same answer as for an id that does not exist — so membership cannot be probed. Any member
//! may rename a group and add people; removing someone else takes an owner or admin; anyone may
//! leave. A direct conversation always has exactly its two members.

use super::access::Access;
use super::fanout::{Fanout, publish_committed};
use super::notices::added_preview;
use super::render::{channel_info, rfc3339};
use super::rules::channels::{name_conflict, valid_channel_name, valid_topic};
use super::{Principal, ServiceError};
use crate::storage::{AddedNotice, AddedTo, ConversationSummary, MemberRecord, NewGroup, Storage};
use jeco_shared::conversations::{
    AddMembersRequest, Conversation, ConversationKind, ConversationList, CreateGroupRequest,
    GROUP_MEMBERS_MAX, Member, MessagePreview, NAME_MAX, OpenDirectRequest, ReadState,
    UpdateConversationRequest,
};
use jeco_shared::{ConversationId, UserId};
use std::sync::Arc;

/// Characters of the last message shown in the conversation list.
const PREVIEW_CHARS: usize = 140;

pub struct Conversations {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    access: Access,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

fn member(m: &MemberRecord) -> Member {
    Member {
        user_id: m.user_id,
        role: m.role,
        joined_at: rfc3339(m.joined_at_ms),
    }
}

fn valid_name(name: &str) -> Result<String, ServiceError> {
    crate::names::clean(name, NAME_MAX).map_err(|p| ServiceError::field("name", p))
}

impl Conversations {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            access: Access::new(storage.clone()),
            storage,
            fanout,
            clock,
        }
    }

    fn render(&self, s: ConversationSummary, muted: bool) -> Conversation {
        let peer_presence = (s.conversation.kind == ConversationKind::Direct)
            .then(|| {
                s.members
                    .iter()
                    .find(|m| m.user_id != s.me.user_id)
                    .map(|m| self.fanout.presence(m.user_id))
            })
            .flatten();
        Conversation {
            id: s.conversation.id,
            kind: s.conversation.kind,
            name: s.conversation.name,
            created_at: rfc3339(s.conversation.created_at_ms),
            last_activity_at: rfc3339(s.conversation.last_activity_ms),
            last_seq: s.conversation.last_seq,
            read_seq: s.me.read_seq,
            unread_count: s.unread,
            mention_count: s.mentions,
            my_role: s.me.role,
            last_message: s.last_message.map(|m| MessagePreview {
                id: m.id,
                sender_id: m.sender_id,
                text: m.body.chars().take(PREVIEW_CHARS).collect(),
                deleted: m.deleted_at_ms.is_some(),
                created_at: rfc3339(m.created_at_ms),
            }),
            members: s.members.iter().map(member).collect(),
            peer_presence,
            channel: None,
            muted,
        }
    }

    /// Adds what a channel has beyond a conversation.
    async fn with_channel(&self, mut c: Conversation) -> Result<Conversation, ServiceError> {
        if c.kind == ConversationKind::Channel {
            c.channel = self.storage.channel(c.id).await?.as_ref().map(channel_info);
        }
        Ok(c)
    }

    pub async fn list(&self, who: &Principal) -> Result<ConversationList, ServiceError> {
        let summaries = self.storage.conversations_of(who.user_id).await?;
        let muted = self.storage.muted_conversations(who.user_id).await?;
        let mut items = Vec::with_capacity(summaries.len());
        for s in summaries {
            let m = muted.contains(&s.conversation.id);
            items.push(self.with_channel(self.render(s, m)).await?);
        }
        Ok(ConversationList { items })
    }

    pub async fn get(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let summary = self
            .storage
            .conversation_summary(id, who.user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let muted = self.storage.muted_conversations(who.user_id).await?;
        self.with_channel(self.render(summary, muted.contains(&id)))
            .await
    }

    async fn require_users(&self, field: &str, users: &[UserId]) -> Result<(), ServiceError> {
        for &u in users {
            if self.storage.user_by_id(u).await?.is_none() {
                return Err(ServiceError::field(field, format!("no user with id {u}")));
            }
        }
        Ok(())
    }

    pub async fn create_group(
        &self,
        who: &Principal,
        req: CreateGroupRequest,
    ) -> Result<Conversation, ServiceError> {
        let name = valid_name(&req.name)?;
        let mut members: Vec<UserId> = Vec::new();
        for u in req.member_ids {
            if u != who.user_id && !members.contains(&u) {
                members.push(u);
            }
        }
        if members.len() + 1 > GROUP_MEMBERS_MAX {
            return Err(ServiceError::field(
                "member_ids",
                format!("a group has at most {GROUP_MEMBERS_MAX} members"),
            ));
        }
        self.require_users("member_ids", &members).await?;
        let (record, committed) = self
            .storage
            .create_group(NewGroup {
                added_preview: Some(
                    added_preview(
                        self.storage.as_ref(),
                        who.user_id,
                        &format!("the group {name}"),
                    )
                    .await?,
                ),
                name,
                owner: who.user_id,
                members,
                now_ms: self.clock.now_ms(),
            })
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        self.get(who, record.id).await
    }

    /// The direct conversation with another user, created on first use. Returns whether it was
    /// created now.
    pub async fn open_direct(
        &self,
        who: &Principal,
        req: OpenDirectRequest,
    ) -> Result<(Conversation, bool), ServiceError> {
        if req.user_id == who.user_id {
            return Err(ServiceError::field(
                "user_id",
                "a direct conversation needs another user",
            ));
        }
        self.require_users("user_id", &[req.user_id]).await?;
        let (record, committed) = self
            .storage
            .open_direct(who.user_id, req.user_id, self.clock.now_ms())
            .await?;
        if let Some(committed) = &committed {
            publish_committed(self.fanout.as_ref(), committed);
        }
        Ok((self.get(who, record.id).await?, committed.is_some()))
    }

    async fn require_group(
        &self,
        id: ConversationId,
        who: &Principal,
    ) -> Result<MemberRecord, ServiceError> {
        let me = self.access.require_member(id, who.user_id).await?;
        let conversation = self
            .storage
            .conversation(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if conversation.kind == ConversationKind::Direct {
            return Err(ServiceError::BadRequest(
                "a direct conversation always has exactly its two members and no name".into(),
            ));
        }
        Ok(me)
    }

    /// Renames (any member of a group or channel); sets a channel's topic (any member) or archive
    /// state (moderators). Everything is checked before anything changes.
    pub async fn update(
        &self,
        who: &Principal,
        id: ConversationId,
        req: UpdateConversationRequest,
    ) -> Result<Conversation, ServiceError> {
        let name = req.name.as_deref().map(valid_name).transpose()?;
        let topic = req.topic.as_deref().map(valid_topic).transpose()?;
        if name.is_none() && topic.is_none() && req.archived.is_none() {
            return Err(ServiceError::field(
                "name",
                "give at least one of name, topic and archived",
            ));
        }
        let me = self.require_group(id, who).await?;
        let is_channel = self.storage.channel(id).await?.is_some();
        // A channel's name is normalized as at creation (no leading `#`), so uniqueness compares
        // like with like.
        let name = match (name, is_channel) {
            (Some(n), true) => Some(valid_channel_name(&n)?),
            (n, _) => n,
        };
        if (topic.is_some() || req.archived.is_some()) && !is_channel {
            return Err(ServiceError::BadRequest(
                "only channels have a topic or an archive state".into(),
            ));
        }
        if req.archived.is_some() && !self.access.moderates(&me).await? {
            return Err(ServiceError::Forbidden);
        }
        let now = self.clock.now_ms();
        if let Some(name) = name {
            let committed = self
                .storage
                .rename_conversation(id, who.user_id, name.clone(), now)
                .await
                .map_err(|e| name_conflict(e, &name))?;
            publish_committed(self.fanout.as_ref(), &committed);
        }
        if let Some(topic) = topic {
            let committed = self.storage.set_topic(id, who.user_id, topic, now).await?;
            publish_committed(self.fanout.as_ref(), &committed);
        }
        if let Some(archived) = req.archived
            && let Some(committed) = self
                .storage
                .set_archived(id, who.user_id, archived, now)
                .await?
        {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        self.get(who, id).await
    }

    pub async fn members(
        &self,
        who: &Principal,
        id: ConversationId,
    ) -> Result<Vec<Member>, ServiceError> {
        self.access.require_member(id, who.user_id).await?;
        Ok(self.storage.members(id).await?.iter().map(member).collect())
    }

    pub async fn add_members(
        &self,
        who: &Principal,
        id: ConversationId,
        req: AddMembersRequest,
    ) -> Result<Vec<Member>, ServiceError> {
        self.require_group(id, who).await?;
        if req.user_ids.is_empty() {
            return Err(ServiceError::field("user_ids", "must not be empty"));
        }
        self.require_users("user_ids", &req.user_ids).await?;
        // A channel's members come from its team.
        if let Some(channel) = self.storage.channel(id).await? {
            for &u in &req.user_ids {
                if self
                    .storage
                    .team_member(channel.team_id, u)
                    .await?
                    .is_none()
                {
                    return Err(ServiceError::field(
                        "user_ids",
                        format!("user {u} is not a member of the channel's team"),
                    ));
                }
            }
        }
        let current = self.storage.members(id).await?;
        let new = req
            .user_ids
            .iter()
            .filter(|u| !current.iter().any(|m| m.user_id == **u))
            .count();
        if current.len() + new > GROUP_MEMBERS_MAX {
            return Err(ServiceError::field(
                "user_ids",
                format!("a group has at most {GROUP_MEMBERS_MAX} members"),
            ));
        }
        let place = match self.storage.conversation(id).await? {
            Some(c) if c.kind == ConversationKind::Channel => {
                format!("#{}", c.name.unwrap_or_default())
            }
            Some(c) => format!("the group {}", c.name.unwrap_or_default()),
            None => return Err(ServiceError::NotFound),
        };
        let notice = AddedNotice {
            actor: who.user_id,
            target: AddedTo::Conversation(id),
            preview: added_preview(self.storage.as_ref(), who.user_id, &place).await?,
        };
        let committed = self
            .storage
            .add_members(
                id,
                who.user_id,
                req.user_ids,
                self.clock.now_ms(),
                Some(notice),
            )
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        self.members(who, id).await
    }

    /// Removes `user`; removing oneself is leaving (except from a team's default channel, which
    /// one leaves by leaving the team: `conflict`). Removing someone else takes the
    /// conversation's owner or admin (not over a higher role) or, in a channel, the team's owner or
    /// an admin (not over a team member of the same or a higher team role) — also from a public
    /// channel they are not in; a private channel stays invisible to team admins outside it.
    pub async fn remove_member(
        &self,
        who: &Principal,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), ServiceError> {
        if user == who.user_id {
            self.require_group(id, who).await?;
            // Every team member is in the default channel; they leave it by leaving the team.
            if self
                .storage
                .channel(id)
                .await?
                .is_some_and(|c| c.is_default)
            {
                return Err(ServiceError::Conflict(
                    "nobody leaves the team's default channel on their own; leave the team instead"
                        .into(),
                ));
            }
        } else {
            let me = match self.require_group(id, who).await {
                Ok(me) => Some(me),
                Err(ServiceError::NotFound) => None,
                Err(e) => return Err(e),
            };
            let channel = self.storage.channel(id).await?;
            let team_admin = match &channel {
                Some(c) => self
                    .storage
                    .team_member(c.team_id, who.user_id)
                    .await?
                    .filter(|t| t.role.is_admin()),
                None => None,
            };
            let sees = me.is_some()
                || (team_admin.is_some() && channel.as_ref().is_some_and(|c| !c.private));
            if !sees {
                return Err(ServiceError::NotFound);
            }
            let target = self
                .storage
                .member(id, user)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let by_role = me
                .as_ref()
                .is_some_and(|me| me.role.is_admin() && target.role >= me.role);
            let by_team = match (&team_admin, &channel) {
                (Some(mine), Some(c)) => self
                    .storage
                    .team_member(c.team_id, user)
                    .await?
                    .is_none_or(|theirs| theirs.role > mine.role),
                _ => false,
            };
            if !by_role && !by_team {
                return Err(ServiceError::Forbidden);
            }
        }
        let committed = self
            .storage
            .remove_member(id, who.user_id, user, self.clock.now_ms())
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        Ok(())
    }

    pub async fn mark_read(
        &self,
        who: &Principal,
        id: ConversationId,
        seq: i64,
    ) -> Result<ReadState, ServiceError> {
        if seq < 0 {
            return Err(ServiceError::field("seq", "must not be negative"));
        }
        self.access.require_member(id, who.user_id).await?;
        if let Some(committed) = self
            .storage
            .mark_read(id, who.user_id, seq, self.clock.now_ms())
            .await?
        {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        let s = self
            .storage
            .conversation_summary(id, who.user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(ReadState {
            conversation_id: id,
            read_seq: s.me.read_seq,
            unread_count: s.unread,
            mention_count: s.mentions,
        })
    }
}
