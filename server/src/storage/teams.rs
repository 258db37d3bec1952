//! Teams, their members and invitations, and the channels that belong to them.
//!
//! A team's changes reach its members through their own event logs (`team_added`, `team_removed`,
//! `team_changed`); a channel's changes are events of the channel's conversation log like any
//! other conversation's. Operations that touch a team and several of its channels (adding or
//! removing a member, deleting the team) run in one transaction and return one [`Committed`] per
//! conversation they touched, plus one for the users' own logs.

use super::StorageError;
use super::conversations::ConversationRecord;
use super::events::Committed;
use super::notifications::AddedNotice;
use async_trait::async_trait;
use jeco_shared::conversations::MemberRole;
use jeco_shared::{ConversationId, InviteId, TeamId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub created_by: UserId,
    pub created_at_ms: i64,
    pub member_count: u32,
    pub default_channel: ConversationId,
    /// The team picture's blob.
    pub avatar_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamMemberRecord {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: MemberRole,
    pub joined_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRecord {
    pub id: InviteId,
    pub team_id: TeamId,
    pub code: String,
    pub created_by: UserId,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct NewInvite {
    pub team_id: TeamId,
    pub code: String,
    pub created_by: UserId,
    pub expires_at_ms: Option<i64>,
    pub max_uses: Option<u32>,
    pub now_ms: i64,
}

/// What redeeming an invitation code came to. Checked and counted in one transaction, so a code
/// with one use left admits exactly one of two racing joiners.
#[derive(Debug, Clone)]
pub enum Redeemed {
    Joined {
        team: TeamId,
        committed: Vec<Committed>,
    },
    /// Already a member: nothing changed, no use counted.
    AlreadyMember(TeamId),
    Unknown,
    Expired,
    Revoked,
    UsedUp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub conversation: ConversationRecord,
    pub team_id: TeamId,
    pub private: bool,
    pub is_default: bool,
    pub topic: Option<String>,
    pub archived: bool,
    pub member_count: u32,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub team_id: TeamId,
    pub name: String,
    pub private: bool,
    pub topic: Option<String>,
    pub creator: UserId,
    pub now_ms: i64,
}

#[async_trait]
pub trait TeamStore: Send + Sync + 'static {
    /// Creates a team with `owner` as its owner and its public default channel.
    async fn create_team(
        &self,
        name: String,
        owner: UserId,
        now_ms: i64,
    ) -> Result<(TeamRecord, Vec<Committed>), StorageError>;
    async fn team(&self, id: TeamId) -> Result<Option<TeamRecord>, StorageError>;
    async fn team_member(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Option<TeamMemberRecord>, StorageError>;
    async fn team_members(&self, team: TeamId) -> Result<Vec<TeamMemberRecord>, StorageError>;
    /// The teams of `user` with the user's membership, by name.
    async fn teams_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(TeamRecord, TeamMemberRecord)>, StorageError>;
    /// Renames; every member gets `team_changed`.
    async fn rename_team(
        &self,
        team: TeamId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// Deletes the team with its channels; every member is told (`conversation_removed` for each
    /// channel they were in, then `team_removed`).
    async fn delete_team(&self, team: TeamId, now_ms: i64) -> Result<Committed, StorageError>;
    /// Adds `user` with `role` and into the default channel. [`StorageError::Conflict`] if already
    /// a member. With `notice`, the user (unless the notice's actor) is notified in the same
    /// transaction — once, not again for the default channel.
    async fn add_team_member(
        &self,
        team: TeamId,
        actor: UserId,
        user: UserId,
        role: MemberRole,
        now_ms: i64,
        notice: Option<AddedNotice>,
    ) -> Result<Vec<Committed>, StorageError>;
    /// Removes `user` from every channel of the team and then from the team.
    async fn remove_team_member(
        &self,
        team: TeamId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<Committed>, StorageError>;
    /// Sets roles (several at once for a transfer of ownership); every member gets `team_changed`.
    async fn set_team_roles(
        &self,
        team: TeamId,
        roles: Vec<(UserId, MemberRole)>,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;

    async fn create_invite(&self, invite: NewInvite) -> Result<InviteRecord, StorageError>;
    async fn invites(&self, team: TeamId) -> Result<Vec<InviteRecord>, StorageError>;
    /// Revokes an invitation of `team`; [`StorageError::NotFound`] if it has none with this id.
    async fn revoke_invite(
        &self,
        team: TeamId,
        invite: InviteId,
        now_ms: i64,
    ) -> Result<InviteRecord, StorageError>;
    async fn redeem_invite(
        &self,
        code: String,
        user: UserId,
        now_ms: i64,
    ) -> Result<Redeemed, StorageError>;

    /// Creates a channel with the creator as its owner. [`StorageError::Conflict`] when another
    /// channel of the team has the same name, ignoring case (checked in the same transaction).
    async fn create_channel(
        &self,
        channel: NewChannel,
    ) -> Result<(ConversationRecord, Committed), StorageError>;
    /// The channel behind a conversation, `None` when it is not a channel.
    async fn channel(&self, id: ConversationId) -> Result<Option<ChannelRecord>, StorageError>;
    /// The team's channels that `user` may see: public ones and private ones `user` is in.
    async fn channels_visible_to(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Vec<ChannelRecord>, StorageError>;
    async fn set_topic(
        &self,
        id: ConversationId,
        actor: UserId,
        topic: Option<String>,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
    /// `None` when the channel already is in that state.
    async fn set_archived(
        &self,
        id: ConversationId,
        actor: UserId,
        archived: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError>;
    /// Deletes a channel with its messages; every member gets `conversation_removed`.
    async fn delete_channel(
        &self,
        id: ConversationId,
        now_ms: i64,
    ) -> Result<Committed, StorageError>;
}
