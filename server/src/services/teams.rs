//! Teams: members with roles, ownership, and invitations.
//!
//! Authorization: whoever is not in a team gets `not_found` for everything about it (as for an id
//! that does not exist). Members see the team and its members; owners and admins add and remove
//! members (an admin only plain members), rename the team and manage invitations; only the owner
//! deletes the team, grants or takes the admin role and transfers ownership. The owner cannot leave before transferring ownership, so a team always has one.
//! Membership follows the team: whoever joins is put into the default channel, whoever leaves
//! or is removed leaves every channel of the team (see [`crate::storage::TeamStore`]).

use super::access::Access;
use super::fanout::{Fanout, publish_committed};
use super::notices::added_preview;
use super::render::rfc3339;
use super::{Principal, ServiceError};
use crate::storage::{
    AddedNotice, AddedTo, Committed, InviteRecord, NewInvite, Redeemed, Storage, StorageError,
    TeamMemberRecord, TeamRecord,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jeco_shared::conversations::{Member, MemberRole};
use jeco_shared::teams::{
    AddTeamMemberRequest, CreateInviteRequest, Invite, InviteList, JoinInviteRequest,
    TEAM_NAME_MAX, Team, TeamList, TeamNameRequest, TransferOwnershipRequest,
    UpdateTeamMemberRequest,
};
use jeco_shared::{InviteId, TeamId, UserId};
use std::sync::Arc;

/// Longest invitation lifetime: a year.
const INVITE_TTL_MAX_SECS: u64 = 365 * 24 * 3600;

pub struct Teams {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    access: Access,
    /// Wall time (`Config::clock`).
    clock: crate::clock::Clock,
}

fn team(t: TeamRecord, me: &TeamMemberRecord) -> Team {
    Team {
        id: t.id,
        name: t.name,
        created_at: rfc3339(t.created_at_ms),
        my_role: me.role,
        member_count: t.member_count,
        default_channel_id: t.default_channel,
        avatar: t
            .avatar_sha256
            .as_deref()
            .map(super::render::avatar_version),
    }
}

fn member(m: &TeamMemberRecord) -> Member {
    Member {
        user_id: m.user_id,
        role: m.role,
        joined_at: rfc3339(m.joined_at_ms),
    }
}

fn invite(i: InviteRecord) -> Invite {
    Invite {
        id: i.id,
        team_id: i.team_id,
        code: i.code,
        created_by: i.created_by,
        created_at: rfc3339(i.created_at_ms),
        expires_at: i.expires_at_ms.map(rfc3339),
        max_uses: i.max_uses,
        uses: i.uses,
        revoked: i.revoked,
    }
}

fn valid_name(name: &str) -> Result<String, ServiceError> {
    crate::names::clean(name, TEAM_NAME_MAX).map_err(|p| ServiceError::field("name", p))
}

/// 12 random bytes, base64url: 16 characters, unguessable.
fn invite_code() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl Teams {
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

    fn publish(&self, committed: &[Committed]) {
        for c in committed {
            publish_committed(self.fanout.as_ref(), c);
        }
    }

    pub async fn list(&self, who: &Principal) -> Result<TeamList, ServiceError> {
        let items = self.storage.teams_of(who.user_id).await?;
        Ok(TeamList {
            items: items.into_iter().map(|(t, m)| team(t, &m)).collect(),
        })
    }

    pub async fn get(&self, who: &Principal, id: TeamId) -> Result<Team, ServiceError> {
        let me = self.access.require_team_member(id, who.user_id).await?;
        let t = self.storage.team(id).await?.ok_or(ServiceError::NotFound)?;
        Ok(team(t, &me))
    }

    pub async fn create(
        &self,
        who: &Principal,
        req: TeamNameRequest,
    ) -> Result<Team, ServiceError> {
        let name = valid_name(&req.name)?;
        let (record, committed) = self
            .storage
            .create_team(name, who.user_id, self.clock.now_ms())
            .await?;
        self.publish(&committed);
        self.get(who, record.id).await
    }

    /// Owners and admins rename.
    pub async fn rename(
        &self,
        who: &Principal,
        id: TeamId,
        req: TeamNameRequest,
    ) -> Result<Team, ServiceError> {
        let name = valid_name(&req.name)?;
        self.access.require_team_admin(id, who.user_id).await?;
        let committed = self
            .storage
            .rename_team(id, name, self.clock.now_ms())
            .await?;
        self.publish(&[committed]);
        self.get(who, id).await
    }

    /// Only the owner deletes, with every channel.
    pub async fn delete(&self, who: &Principal, id: TeamId) -> Result<(), ServiceError> {
        let me = self.access.require_team_member(id, who.user_id).await?;
        if me.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden);
        }
        let committed = self.storage.delete_team(id, self.clock.now_ms()).await?;
        self.publish(&[committed]);
        Ok(())
    }

    pub async fn members(&self, who: &Principal, id: TeamId) -> Result<Vec<Member>, ServiceError> {
        self.access.require_team_member(id, who.user_id).await?;
        Ok(self
            .storage
            .team_members(id)
            .await?
            .iter()
            .map(member)
            .collect())
    }

    pub async fn add_member(
        &self,
        who: &Principal,
        id: TeamId,
        req: AddTeamMemberRequest,
    ) -> Result<Vec<Member>, ServiceError> {
        let me = self.access.require_team_admin(id, who.user_id).await?;
        let role = req.role.unwrap_or(MemberRole::Member);
        match role {
            MemberRole::Owner => {
                return Err(ServiceError::field(
                    "role",
                    "there is one owner; transfer ownership instead",
                ));
            }
            MemberRole::Admin if me.role != MemberRole::Owner => {
                return Err(ServiceError::Forbidden);
            }
            _ => {}
        }
        if self.storage.user_by_id(req.user_id).await?.is_none() {
            return Err(ServiceError::field(
                "user_id",
                format!("no user with id {}", req.user_id),
            ));
        }
        let team = self.storage.team(id).await?.ok_or(ServiceError::NotFound)?;
        let notice = AddedNotice {
            actor: who.user_id,
            target: AddedTo::Team(id),
            preview: added_preview(
                self.storage.as_ref(),
                who.user_id,
                &format!("the team {}", team.name),
            )
            .await?,
        };
        match self
            .storage
            .add_team_member(
                id,
                who.user_id,
                req.user_id,
                role,
                self.clock.now_ms(),
                Some(notice),
            )
            .await
        {
            Ok(committed) => self.publish(&committed),
            Err(StorageError::Conflict) => {
                return Err(ServiceError::field(
                    "user_id",
                    "already a member of the team",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.members(who, id).await
    }

    /// Removes `user` from the team and all its channels; removing oneself is leaving.
    pub async fn remove_member(
        &self,
        who: &Principal,
        id: TeamId,
        user: UserId,
    ) -> Result<(), ServiceError> {
        let me = self.access.require_team_member(id, who.user_id).await?;
        if user == who.user_id {
            if me.role == MemberRole::Owner {
                return Err(ServiceError::OwnerMustTransfer);
            }
        } else {
            let target = self
                .storage
                .team_member(id, user)
                .await?
                .ok_or(ServiceError::NotFound)?;
            if !me.role.is_admin() || target.role <= me.role {
                return Err(ServiceError::Forbidden);
            }
        }
        let committed = self
            .storage
            .remove_team_member(id, who.user_id, user, self.clock.now_ms())
            .await?;
        self.publish(&committed);
        Ok(())
    }

    /// The owner makes a member an admin or an admin a member.
    pub async fn set_role(
        &self,
        who: &Principal,
        id: TeamId,
        user: UserId,
        req: UpdateTeamMemberRequest,
    ) -> Result<Vec<Member>, ServiceError> {
        let me = self.access.require_team_member(id, who.user_id).await?;
        if me.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden);
        }
        if req.role == MemberRole::Owner || user == who.user_id {
            return Err(ServiceError::field(
                "role",
                "the owner's role changes only by transferring ownership",
            ));
        }
        self.storage
            .team_member(id, user)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let committed = self
            .storage
            .set_team_roles(id, vec![(user, req.role)], self.clock.now_ms())
            .await?;
        self.publish(&[committed]);
        self.members(who, id).await
    }

    /// The owner hands the team to another member and becomes an admin.
    pub async fn transfer(
        &self,
        who: &Principal,
        id: TeamId,
        req: TransferOwnershipRequest,
    ) -> Result<Team, ServiceError> {
        let me = self.access.require_team_member(id, who.user_id).await?;
        if me.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden);
        }
        if req.user_id == who.user_id || self.storage.team_member(id, req.user_id).await?.is_none()
        {
            return Err(ServiceError::field(
                "user_id",
                "must be another member of the team",
            ));
        }
        let committed = self
            .storage
            .set_team_roles(
                id,
                vec![
                    (req.user_id, MemberRole::Owner),
                    (who.user_id, MemberRole::Admin),
                ],
                self.clock.now_ms(),
            )
            .await?;
        self.publish(&[committed]);
        self.get(who, id).await
    }

    pub async fn create_invite(
        &self,
        who: &Principal,
        id: TeamId,
        req: CreateInviteRequest,
    ) -> Result<Invite, ServiceError> {
        if req
            .expires_in_secs
            .is_some_and(|s| s == 0 || s > INVITE_TTL_MAX_SECS)
        {
            return Err(ServiceError::field(
                "expires_in_secs",
                format!("must be 1 to {INVITE_TTL_MAX_SECS}"),
            ));
        }
        if req.max_uses == Some(0) {
            return Err(ServiceError::field("max_uses", "must be at least 1"));
        }
        self.access.require_team_admin(id, who.user_id).await?;
        let now = self.clock.now_ms();
        let record = self
            .storage
            .create_invite(NewInvite {
                team_id: id,
                code: invite_code()?,
                created_by: who.user_id,
                expires_at_ms: req.expires_in_secs.map(|s| now + (s as i64) * 1000),
                max_uses: req.max_uses,
                now_ms: now,
            })
            .await?;
        Ok(invite(record))
    }

    pub async fn invites(&self, who: &Principal, id: TeamId) -> Result<InviteList, ServiceError> {
        self.access.require_team_admin(id, who.user_id).await?;
        Ok(InviteList {
            items: self
                .storage
                .invites(id)
                .await?
                .into_iter()
                .map(invite)
                .collect(),
        })
    }

    pub async fn revoke_invite(
        &self,
        who: &Principal,
        id: TeamId,
        invite_id: InviteId,
    ) -> Result<Invite, ServiceError> {
        self.access.require_team_admin(id, who.user_id).await?;
        Ok(invite(
            self.storage
                .revoke_invite(id, invite_id, self.clock.now_ms())
                .await?,
        ))
    }

    /// Joins the team of an invitation. Returns the team and whether the caller joined now (an
    /// existing member gets the team without using the invitation up).
    pub async fn join(
        &self,
        who: &Principal,
        req: JoinInviteRequest,
    ) -> Result<(Team, bool), ServiceError> {
        let code = req.code.trim().to_owned();
        if code.is_empty() || code.len() > 64 {
            return Err(ServiceError::InviteNotFound);
        }
        let (team_id, joined) = match self
            .storage
            .redeem_invite(code, who.user_id, self.clock.now_ms())
            .await?
        {
            Redeemed::Joined { team, committed } => {
                self.publish(&committed);
                (team, true)
            }
            Redeemed::AlreadyMember(team) => (team, false),
            Redeemed::Unknown => return Err(ServiceError::InviteNotFound),
            Redeemed::Expired => return Err(ServiceError::InviteExpired),
            Redeemed::Revoked => return Err(ServiceError::InviteRevoked),
            Redeemed::UsedUp => return Err(ServiceError::InviteUsedUp),
        };
        Ok((self.get(who, team_id).await?, joined))
    }
}
