//! Who may do what: the authorization checks every use case shares.
//!
//! One place answers "is this user a member of this conversation", "may they moderate it", "does
//! it take new messages", "are they in this team", "do they administer it", so the services that
//! need an answer depend on this module instead of on each other (before, `Conversations` and
//! `Teams` were everyone's authorization helpers, which tied the use cases into one import
//! circle). Not-a-member answers `not_found` whether the thing is missing or foreign, so nobody
//! learns what exists by probing.

use super::ServiceError;
use crate::storage::{MemberRecord, Storage, TeamMemberRecord};
use jeco_shared::{ConversationId, TeamId, UserId};
use std::sync::Arc;

#[derive(Clone)]
pub struct Access {
    storage: Arc<dyn Storage>,
}

impl Access {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    /// The caller's membership, or `not_found` whether the conversation is missing or foreign.
    pub async fn require_member(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<MemberRecord, ServiceError> {
        self.storage
            .member(id, user)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Members of a conversation (for typing fan-out), after checking the caller is one.
    pub async fn member_ids(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Vec<UserId>, ServiceError> {
        self.require_member(id, user).await?;
        Ok(self
            .storage
            .members(id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect())
    }

    /// Whether `me` may moderate (delete others' messages, archive): the conversation's owner or
    /// admins and, in a channel, the team's owner and admins.
    pub async fn moderates(&self, me: &MemberRecord) -> Result<bool, ServiceError> {
        if me.role.is_admin() {
            return Ok(true);
        }
        let Some(channel) = self.storage.channel(me.conversation_id).await? else {
            return Ok(false);
        };
        Ok(self
            .storage
            .team_member(channel.team_id, me.user_id)
            .await?
            .is_some_and(|t| t.role.is_admin()))
    }

    /// `conversation_archived` for an archived channel: it is readable, but takes nothing new.
    pub async fn require_writable(&self, id: ConversationId) -> Result<(), ServiceError> {
        match self.storage.channel(id).await? {
            Some(c) if c.archived => Err(ServiceError::ConversationArchived),
            _ => Ok(()),
        }
    }

    /// The caller's team membership, or `not_found` whether the team is missing or foreign.
    pub async fn require_team_member(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<TeamMemberRecord, ServiceError> {
        self.storage
            .team_member(team, user)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// A team owner or admin: `forbidden` for other members, `not_found` for everyone else.
    pub async fn require_team_admin(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<TeamMemberRecord, ServiceError> {
        let me = self.require_team_member(team, user).await?;
        if !me.role.is_admin() {
            return Err(ServiceError::Forbidden);
        }
        Ok(me)
    }
}
