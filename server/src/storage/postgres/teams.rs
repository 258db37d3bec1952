//! [`TeamStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::conversations::ConversationRecord;
use crate::storage::events::Committed;
use crate::storage::notifications::AddedNotice;
use crate::storage::teams::*;
use async_trait::async_trait;
use jeco_shared::conversations::MemberRole;
use jeco_shared::{ConversationId, InviteId, TeamId, UserId};

#[async_trait]
impl TeamStore for PgStorage {
    async fn create_team(
        &self,
        _name: String,
        _owner: UserId,
        _now_ms: i64,
    ) -> Result<(TeamRecord, Vec<Committed>), StorageError> {
        Err(super::not_yet("create_team"))
    }

    async fn team(&self, _id: TeamId) -> Result<Option<TeamRecord>, StorageError> {
        Err(super::not_yet("team"))
    }

    async fn team_member(
        &self,
        _team: TeamId,
        _user: UserId,
    ) -> Result<Option<TeamMemberRecord>, StorageError> {
        Err(super::not_yet("team_member"))
    }

    async fn team_members(&self, _team: TeamId) -> Result<Vec<TeamMemberRecord>, StorageError> {
        Err(super::not_yet("team_members"))
    }

    async fn teams_of(
        &self,
        _user: UserId,
    ) -> Result<Vec<(TeamRecord, TeamMemberRecord)>, StorageError> {
        Err(super::not_yet("teams_of"))
    }

    async fn rename_team(
        &self,
        _team: TeamId,
        _name: String,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("rename_team"))
    }

    async fn delete_team(&self, _team: TeamId, _now_ms: i64) -> Result<Committed, StorageError> {
        Err(super::not_yet("delete_team"))
    }

    async fn add_team_member(
        &self,
        _team: TeamId,
        _actor: UserId,
        _user: UserId,
        _role: MemberRole,
        _now_ms: i64,
        _notice: Option<AddedNotice>,
    ) -> Result<Vec<Committed>, StorageError> {
        Err(super::not_yet("add_team_member"))
    }

    async fn remove_team_member(
        &self,
        _team: TeamId,
        _actor: UserId,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Vec<Committed>, StorageError> {
        Err(super::not_yet("remove_team_member"))
    }

    async fn set_team_roles(
        &self,
        _team: TeamId,
        _roles: Vec<(UserId, MemberRole)>,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("set_team_roles"))
    }

    async fn create_invite(&self, _invite: NewInvite) -> Result<InviteRecord, StorageError> {
        Err(super::not_yet("create_invite"))
    }

    async fn invites(&self, _team: TeamId) -> Result<Vec<InviteRecord>, StorageError> {
        Err(super::not_yet("invites"))
    }

    async fn revoke_invite(
        &self,
        _team: TeamId,
        _invite: InviteId,
        _now_ms: i64,
    ) -> Result<InviteRecord, StorageError> {
        Err(super::not_yet("revoke_invite"))
    }

    async fn redeem_invite(
        &self,
        _code: String,
        _user: UserId,
        _now_ms: i64,
    ) -> Result<Redeemed, StorageError> {
        Err(super::not_yet("redeem_invite"))
    }

    async fn create_channel(
        &self,
        _channel: NewChannel,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        Err(super::not_yet("create_channel"))
    }

    async fn channel(&self, _id: ConversationId) -> Result<Option<ChannelRecord>, StorageError> {
        Err(super::not_yet("channel"))
    }

    async fn channels_visible_to(
        &self,
        _team: TeamId,
        _user: UserId,
    ) -> Result<Vec<ChannelRecord>, StorageError> {
        Err(super::not_yet("channels_visible_to"))
    }

    async fn set_topic(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _topic: Option<String>,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("set_topic"))
    }

    async fn set_archived(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _archived: bool,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("set_archived"))
    }

    async fn delete_channel(
        &self,
        _id: ConversationId,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("delete_channel"))
    }
}
