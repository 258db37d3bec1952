//! [`TeamStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend, where `BEGIN IMMEDIATE` serialized every writer:
//! - every change of a team's members, roles, name or channels locks the team's row first
//!   ([`lock_team`]): channel names are checked, members added and invitations counted one
//!   change at a time per team, on any number of instances;
//! - redeeming an invitation locks the team and then the invitation's row (`FOR UPDATE`) before
//!   it reads the uses, so a code with one use left admits exactly one of two racing joiners;
//! - locks are taken in one order everywhere — team, then conversations by ascending id, then
//!   users' event-log heads by ascending id — before the first event is appended, so two
//!   transactions never wait for each other in a cycle;
//! - names sort with `COLLATE "C"` (bytes, as SQLite's default collation does).

use super::conversations::{
    add_member, conversation_by_id, create, insert_added_notice, lock_conversation,
    lock_conversations, member, role_from, role_str,
};
use super::log::{append_event, append_user_event, member_ids, single_event};
use super::{PgStorage, pg};
use crate::services::rules::{self, invites::Redemption};
use crate::storage::StorageError;
use crate::storage::conversations::ConversationRecord;
use crate::storage::events::{Committed, EventData, UserEventData};
use crate::storage::notifications::AddedNotice;
use crate::storage::teams::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, InviteId, TeamId, UserId};
use tokio_postgres::Row;

/// Locks a team's row until the transaction ends; `false` when the team does not exist.
pub(super) async fn lock_team(tx: &impl GenericClient, team: TeamId) -> Result<bool, StorageError> {
    let stmt = tx
        .prepare_cached("SELECT id FROM teams WHERE id = $1 FOR UPDATE")
        .await
        .map_err(pg)?;
    Ok(tx.query_opt(&stmt, &[&team.0]).await.map_err(pg)?.is_some())
}

async fn team_by_id(
    c: &impl GenericClient,
    id: TeamId,
) -> Result<Option<TeamRecord>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT t.id, t.name, t.created_by, t.created_at,
                    (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id),
                    (SELECT conversation_id FROM channels ch
                     WHERE ch.team_id = t.id AND ch.is_default LIMIT 1),
                    t.avatar_sha256
             FROM teams t WHERE t.id = $1",
        )
        .await
        .map_err(pg)?;
    let Some(r) = c.query_opt(&stmt, &[&id.0]).await.map_err(pg)? else {
        return Ok(None);
    };
    Ok(Some(TeamRecord {
        id: TeamId(r.try_get(0).map_err(pg)?),
        name: r.try_get(1).map_err(pg)?,
        created_by: UserId(r.try_get(2).map_err(pg)?),
        created_at_ms: r.try_get(3).map_err(pg)?,
        member_count: r.try_get::<_, i64>(4).map_err(pg)? as u32,
        default_channel: ConversationId(r.try_get::<_, Option<i64>>(5).map_err(pg)?.unwrap_or(0)),
        avatar_sha256: r.try_get(6).map_err(pg)?,
    }))
}

const TEAM_MEMBER_COLUMNS: &str = "team_id, user_id, role, joined_at";

fn team_member_from_row(r: &Row) -> Result<TeamMemberRecord, StorageError> {
    Ok(TeamMemberRecord {
        team_id: TeamId(r.try_get(0).map_err(pg)?),
        user_id: UserId(r.try_get(1).map_err(pg)?),
        role: role_from(r.try_get(2).map_err(pg)?)?,
        joined_at_ms: r.try_get(3).map_err(pg)?,
    })
}

async fn team_member(
    c: &impl GenericClient,
    team: TeamId,
    user: UserId,
) -> Result<Option<TeamMemberRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {TEAM_MEMBER_COLUMNS} FROM team_members WHERE team_id = $1 AND user_id = $2"
        ))
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&team.0, &user.0])
        .await
        .map_err(pg)?
        .as_ref()
        .map(team_member_from_row)
        .transpose()
}

async fn team_member_ids(
    c: &impl GenericClient,
    team: TeamId,
) -> Result<Vec<UserId>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY joined_at, user_id",
        )
        .await
        .map_err(pg)?;
    c.query(&stmt, &[&team.0])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| r.try_get(0).map(UserId).map_err(pg))
        .collect()
}

/// The channels of a team, oldest first (which is ascending id, the locking order).
async fn team_channel_ids(
    c: &impl GenericClient,
    team: TeamId,
) -> Result<Vec<ConversationId>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT conversation_id FROM channels WHERE team_id = $1 ORDER BY conversation_id",
        )
        .await
        .map_err(pg)?;
    c.query(&stmt, &[&team.0])
        .await
        .map_err(pg)?
        .iter()
        .map(|r| r.try_get(0).map(ConversationId).map_err(pg))
        .collect()
}

/// Locks the heads of `users` (any order, duplicates allowed) in ascending id order.
async fn lock_heads(tx: &impl GenericClient, users: &[UserId]) -> Result<(), StorageError> {
    super::log::lock_user_heads(tx, users.iter().copied()).await
}

/// `team_changed` for every member of the team (whose heads the caller has locked).
async fn team_changed(
    tx: &impl GenericClient,
    team: TeamId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in team_member_ids(tx, team).await? {
        committed
            .user_events
            .push(append_user_event(tx, user, now_ms, UserEventData::TeamChanged { team }).await?);
    }
    Ok(())
}

async fn channel_by_id(
    c: &impl GenericClient,
    id: ConversationId,
) -> Result<Option<ChannelRecord>, StorageError> {
    let stmt = c
        .prepare_cached(
            "SELECT team_id, private, is_default, topic, archived_at IS NOT NULL,
                    (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = $1)
             FROM channels WHERE conversation_id = $1",
        )
        .await
        .map_err(pg)?;
    let Some(r) = c.query_opt(&stmt, &[&id.0]).await.map_err(pg)? else {
        return Ok(None);
    };
    let conversation = conversation_by_id(c, id)
        .await?
        .ok_or(StorageError::NotFound)?;
    Ok(Some(ChannelRecord {
        conversation,
        team_id: TeamId(r.try_get(0).map_err(pg)?),
        private: r.try_get(1).map_err(pg)?,
        is_default: r.try_get(2).map_err(pg)?,
        topic: r.try_get(3).map_err(pg)?,
        archived: r.try_get(4).map_err(pg)?,
        member_count: r.try_get::<_, i64>(5).map_err(pg)? as u32,
    }))
}

/// Whether another channel of `team` (other than `except`) is called `name`, ignoring case and
/// look-alike characters ([`crate::names::uniqueness_key`]). The caller holds the team's row lock,
/// so no concurrent writer can slip a duplicate in between.
pub(super) async fn channel_name_taken(
    tx: &impl GenericClient,
    team: TeamId,
    name: &str,
    except: Option<ConversationId>,
) -> Result<bool, StorageError> {
    let wanted = crate::names::uniqueness_key(name);
    let stmt = tx
        .prepare_cached(
            "SELECT cv.id, cv.name FROM channels ch
             JOIN conversations cv ON cv.id = ch.conversation_id
             WHERE ch.team_id = $1",
        )
        .await
        .map_err(pg)?;
    for r in tx.query(&stmt, &[&team.0]).await.map_err(pg)? {
        let id: i64 = r.try_get(0).map_err(pg)?;
        let existing: Option<String> = r.try_get(1).map_err(pg)?;
        if Some(ConversationId(id)) != except
            && existing.is_some_and(|n| crate::names::uniqueness_key(&n) == wanted)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates a channel; [`StorageError::Conflict`] when the team has one of that name already.
async fn new_channel(
    tx: &impl GenericClient,
    channel: &NewChannel,
    is_default: bool,
) -> Result<(ConversationRecord, Committed), StorageError> {
    lock_team(tx, channel.team_id).await?;
    if channel_name_taken(tx, channel.team_id, &channel.name, None).await? {
        return Err(StorageError::Conflict);
    }
    let (record, committed) = create(
        tx,
        ConversationKind::Channel,
        Some(channel.name.clone()),
        None,
        channel.creator,
        &[(channel.creator, MemberRole::Owner)],
        channel.now_ms,
    )
    .await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO channels (conversation_id, team_id, private, is_default, topic)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[
            &record.id.0,
            &channel.team_id.0,
            &channel.private,
            &is_default,
            &channel.topic,
        ],
    )
    .await
    .map_err(pg)?;
    Ok((record, committed))
}

/// Removes `user` from one conversation with its events (the caller holds the locks).
async fn leave_conversation(
    tx: &impl GenericClient,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    now_ms: i64,
) -> Result<Committed, StorageError> {
    let stmt = tx
        .prepare_cached(
            "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&id.0, &user.0]).await.map_err(pg)?;
    let event = append_event(tx, id, actor, now_ms, EventData::MemberRemoved { user }).await?;
    let user_event = append_user_event(
        tx,
        user,
        now_ms,
        UserEventData::ConversationRemoved { conversation: id },
    )
    .await?;
    Ok(Committed {
        events: vec![event],
        recipients: member_ids(tx, id).await?,
        user_events: vec![user_event],
    })
}

/// Deletes a conversation, telling each of its members (the caller holds the locks).
async fn drop_conversation(
    tx: &impl GenericClient,
    id: ConversationId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in member_ids(tx, id).await? {
        committed.user_events.push(
            append_user_event(
                tx,
                user,
                now_ms,
                UserEventData::ConversationRemoved { conversation: id },
            )
            .await?,
        );
    }
    let stmt = tx
        .prepare_cached("DELETE FROM conversations WHERE id = $1")
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&id.0]).await.map_err(pg)?;
    Ok(())
}

/// The members of several conversations, for locking their heads.
async fn members_of(
    tx: &impl GenericClient,
    ids: &[ConversationId],
) -> Result<Vec<UserId>, StorageError> {
    let mut out = Vec::new();
    for &id in ids {
        out.extend(member_ids(tx, id).await?);
    }
    Ok(out)
}

const INVITE_COLUMNS: &str =
    "id, team_id, code, created_by, created_at, expires_at, max_uses, uses, revoked_at IS NOT NULL";

fn invite_from_row(r: &Row) -> Result<InviteRecord, StorageError> {
    Ok(InviteRecord {
        id: InviteId(r.try_get(0).map_err(pg)?),
        team_id: TeamId(r.try_get(1).map_err(pg)?),
        code: r.try_get(2).map_err(pg)?,
        created_by: UserId(r.try_get(3).map_err(pg)?),
        created_at_ms: r.try_get(4).map_err(pg)?,
        expires_at_ms: r.try_get(5).map_err(pg)?,
        max_uses: r
            .try_get::<_, Option<i64>>(6)
            .map_err(pg)?
            .map(|n| n.clamp(0, u32::MAX as i64) as u32),
        uses: r
            .try_get::<_, i64>(7)
            .map_err(pg)?
            .clamp(0, u32::MAX as i64) as u32,
        revoked: r.try_get(8).map_err(pg)?,
    })
}

/// Adds a team member, with its events, and into the default channel. The caller holds the
/// team's lock.
async fn insert_team_member(
    tx: &impl GenericClient,
    team: TeamId,
    actor: UserId,
    user: UserId,
    role: MemberRole,
    now_ms: i64,
) -> Result<Vec<Committed>, StorageError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO team_members (team_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .await
        .map_err(pg)?;
    tx.execute(&stmt, &[&team.0, &user.0, &role_str(role), &now_ms])
        .await
        .map_err(pg)?;
    let stmt = tx
        .prepare_cached(
            "SELECT conversation_id FROM channels WHERE team_id = $1 AND is_default LIMIT 1",
        )
        .await
        .map_err(pg)?;
    let default: Option<ConversationId> = tx
        .query_opt(&stmt, &[&team.0])
        .await
        .map_err(pg)?
        .map(|r| r.try_get(0).map(ConversationId))
        .transpose()
        .map_err(pg)?;
    // Locks in order: the default channel, then every head this appends to.
    if let Some(id) = default {
        lock_conversation(tx, id).await?;
    }
    let others = team_member_ids(tx, team).await?;
    lock_heads(tx, &others).await?;
    let mut out = Vec::new();
    let mut users = Committed::default();
    users
        .user_events
        .push(append_user_event(tx, user, now_ms, UserEventData::TeamAdded { team, role }).await?);
    for other in others {
        if other != user {
            users.user_events.push(
                append_user_event(tx, other, now_ms, UserEventData::TeamChanged { team }).await?,
            );
        }
    }
    out.push(users);
    if let Some(id) = default
        && member(tx, id, user).await?.is_none()
    {
        let mut committed = Committed::default();
        add_member(
            tx,
            id,
            actor,
            user,
            MemberRole::Member,
            now_ms,
            &mut committed,
        )
        .await?;
        committed.recipients = member_ids(tx, id).await?;
        out.push(committed);
    }
    Ok(out)
}

#[async_trait]
impl TeamStore for PgStorage {
    async fn create_team(
        &self,
        name: String,
        owner: UserId,
        now_ms: i64,
    ) -> Result<(TeamRecord, Vec<Committed>), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO teams (name, created_by, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .await
            .map_err(pg)?;
        let team = TeamId(
            tx.query_one(&stmt, &[&name, &owner.0, &now_ms])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?,
        );
        let stmt = tx
            .prepare_cached(
                "INSERT INTO team_members (team_id, user_id, role, joined_at)
                 VALUES ($1, $2, 'owner', $3)",
            )
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&team.0, &owner.0, &now_ms])
            .await
            .map_err(pg)?;
        let users = Committed {
            user_events: vec![
                append_user_event(
                    &tx,
                    owner,
                    now_ms,
                    UserEventData::TeamAdded {
                        team,
                        role: MemberRole::Owner,
                    },
                )
                .await?,
            ],
            ..Committed::default()
        };
        let (_, general) = new_channel(
            &tx,
            &rules::teams::default_channel(team, owner, now_ms),
            true,
        )
        .await?;
        let record = team_by_id(&tx, team).await?.ok_or(StorageError::NotFound)?;
        super::commit(tx).await?;
        Ok((record, vec![users, general]))
    }

    async fn team(&self, id: TeamId) -> Result<Option<TeamRecord>, StorageError> {
        team_by_id(&self.client().await?, id).await
    }

    async fn team_member(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Option<TeamMemberRecord>, StorageError> {
        team_member(&self.client().await?, team, user).await
    }

    async fn team_members(&self, team: TeamId) -> Result<Vec<TeamMemberRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {TEAM_MEMBER_COLUMNS} FROM team_members WHERE team_id = $1
                 ORDER BY joined_at, user_id"
            ))
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&team.0])
            .await
            .map_err(pg)?
            .iter()
            .map(team_member_from_row)
            .collect()
    }

    async fn teams_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(TeamRecord, TeamMemberRecord)>, StorageError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let stmt = tx
            .prepare_cached(
                "SELECT t.id FROM team_members m JOIN teams t ON t.id = m.team_id
                 WHERE m.user_id = $1 ORDER BY t.name COLLATE \"C\", t.id",
            )
            .await
            .map_err(pg)?;
        let ids = tx
            .query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map(TeamId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pg)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let (Some(t), Some(m)) = (
                team_by_id(&tx, id).await?,
                team_member(&tx, id, user).await?,
            ) {
                out.push((t, m));
            }
        }
        super::commit(tx).await?;
        Ok(out)
    }

    async fn rename_team(
        &self,
        team: TeamId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if !lock_team(&tx, team).await? {
            return Err(StorageError::NotFound);
        }
        let stmt = tx
            .prepare_cached("UPDATE teams SET name = $1 WHERE id = $2")
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&name, &team.0]).await.map_err(pg)?;
        lock_heads(&tx, &team_member_ids(&tx, team).await?).await?;
        let mut committed = Committed::default();
        team_changed(&tx, team, now_ms, &mut committed).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn delete_team(&self, team: TeamId, now_ms: i64) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        if !lock_team(&tx, team).await? {
            return Err(StorageError::NotFound);
        }
        let channels = team_channel_ids(&tx, team).await?;
        lock_conversations(&tx, &channels).await?;
        let team_members = team_member_ids(&tx, team).await?;
        let mut heads = members_of(&tx, &channels).await?;
        heads.extend(&team_members);
        lock_heads(&tx, &heads).await?;
        let mut committed = Committed::default();
        for id in channels {
            drop_conversation(&tx, id, now_ms, &mut committed).await?;
        }
        for user in team_members {
            committed.user_events.push(
                append_user_event(&tx, user, now_ms, UserEventData::TeamRemoved { team }).await?,
            );
        }
        let stmt = tx
            .prepare_cached("DELETE FROM teams WHERE id = $1")
            .await
            .map_err(pg)?;
        let n = tx.execute(&stmt, &[&team.0]).await.map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn add_team_member(
        &self,
        team: TeamId,
        actor: UserId,
        user: UserId,
        role: MemberRole,
        now_ms: i64,
        notice: Option<AddedNotice>,
    ) -> Result<Vec<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_team(&tx, team).await?;
        let mut out = insert_team_member(&tx, team, actor, user, role, now_ms).await?;
        if let (Some(notice), Some(first)) = (&notice, out.first_mut()) {
            insert_added_notice(&tx, notice, user, now_ms, first).await?;
        }
        super::commit(tx).await?;
        Ok(out)
    }

    async fn remove_team_member(
        &self,
        team: TeamId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_team(&tx, team).await?;
        let channels = team_channel_ids(&tx, team).await?;
        let mut theirs = Vec::new();
        for id in channels {
            if member(&tx, id, user).await?.is_some() {
                theirs.push(id);
            }
        }
        lock_conversations(&tx, &theirs).await?;
        let mut heads = team_member_ids(&tx, team).await?;
        heads.push(user);
        lock_heads(&tx, &heads).await?;
        let mut out = Vec::new();
        // Membership follows the team: out of every channel first.
        for id in theirs {
            out.push(leave_conversation(&tx, id, actor, user, now_ms).await?);
        }
        let stmt = tx
            .prepare_cached("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .await
            .map_err(pg)?;
        let n = tx.execute(&stmt, &[&team.0, &user.0]).await.map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        let mut users = Committed::default();
        users
            .user_events
            .push(append_user_event(&tx, user, now_ms, UserEventData::TeamRemoved { team }).await?);
        team_changed(&tx, team, now_ms, &mut users).await?;
        out.push(users);
        super::commit(tx).await?;
        Ok(out)
    }

    async fn set_team_roles(
        &self,
        team: TeamId,
        roles: Vec<(UserId, MemberRole)>,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_team(&tx, team).await?;
        let stmt = tx
            .prepare_cached("UPDATE team_members SET role = $1 WHERE team_id = $2 AND user_id = $3")
            .await
            .map_err(pg)?;
        for (user, role) in &roles {
            let n = tx
                .execute(&stmt, &[&role_str(*role), &team.0, &user.0])
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StorageError::NotFound);
            }
        }
        lock_heads(&tx, &team_member_ids(&tx, team).await?).await?;
        let mut committed = Committed::default();
        team_changed(&tx, team, now_ms, &mut committed).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<InviteRecord, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "INSERT INTO team_invites (team_id, code, created_by, created_at, expires_at, max_uses)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITE_COLUMNS}"
            ))
            .await
            .map_err(pg)?;
        let row = c
            .query_one(
                &stmt,
                &[
                    &invite.team_id.0,
                    &invite.code,
                    &invite.created_by.0,
                    &invite.now_ms,
                    &invite.expires_at_ms,
                    &invite.max_uses.map(i64::from),
                ],
            )
            .await
            .map_err(pg)?;
        invite_from_row(&row)
    }

    async fn invites(&self, team: TeamId) -> Result<Vec<InviteRecord>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {INVITE_COLUMNS} FROM team_invites WHERE team_id = $1 ORDER BY id DESC"
            ))
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&team.0])
            .await
            .map_err(pg)?
            .iter()
            .map(invite_from_row)
            .collect()
    }

    async fn revoke_invite(
        &self,
        team: TeamId,
        invite: InviteId,
        now_ms: i64,
    ) -> Result<InviteRecord, StorageError> {
        let c = self.client().await?;
        // One statement: the row's lock makes it atomic with a concurrent redemption.
        let stmt = c
            .prepare_cached(&format!(
                "UPDATE team_invites SET revoked_at = COALESCE(revoked_at, $1)
                 WHERE id = $2 AND team_id = $3 RETURNING {INVITE_COLUMNS}"
            ))
            .await
            .map_err(pg)?;
        let row = c
            .query_opt(&stmt, &[&now_ms, &invite.0, &team.0])
            .await
            .map_err(pg)?
            .ok_or(StorageError::NotFound)?;
        invite_from_row(&row)
    }

    async fn redeem_invite(
        &self,
        code: String,
        user: UserId,
        now_ms: i64,
    ) -> Result<Redeemed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The team first (the order every team change locks in), then the invitation's row, read
        // again under its lock: uses are counted one redemption at a time.
        let stmt = tx
            .prepare_cached("SELECT team_id FROM team_invites WHERE code = $1")
            .await
            .map_err(pg)?;
        let Some(row) = tx.query_opt(&stmt, &[&code]).await.map_err(pg)? else {
            return Ok(Redeemed::Unknown);
        };
        let team = TeamId(row.try_get(0).map_err(pg)?);
        lock_team(&tx, team).await?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {INVITE_COLUMNS} FROM team_invites WHERE code = $1 FOR UPDATE"
            ))
            .await
            .map_err(pg)?;
        let Some(row) = tx.query_opt(&stmt, &[&code]).await.map_err(pg)? else {
            return Ok(Redeemed::Unknown);
        };
        let invite = invite_from_row(&row)?;
        let already_member = team_member(&tx, invite.team_id, user).await?.is_some();
        match rules::invites::redeem(&invite, already_member, now_ms) {
            Redemption::Join => {}
            Redemption::AlreadyMember => return Ok(Redeemed::AlreadyMember(invite.team_id)),
            Redemption::Revoked => return Ok(Redeemed::Revoked),
            Redemption::Expired => return Ok(Redeemed::Expired),
            Redemption::UsedUp => return Ok(Redeemed::UsedUp),
        }
        let stmt = tx
            .prepare_cached("UPDATE team_invites SET uses = uses + 1 WHERE id = $1")
            .await
            .map_err(pg)?;
        tx.execute(&stmt, &[&invite.id.0]).await.map_err(pg)?;
        let committed = insert_team_member(
            &tx,
            invite.team_id,
            invite.created_by,
            user,
            MemberRole::Member,
            now_ms,
        )
        .await?;
        super::commit(tx).await?;
        Ok(Redeemed::Joined {
            team: invite.team_id,
            committed,
        })
    }

    async fn create_channel(
        &self,
        channel: NewChannel,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let out = new_channel(&tx, &channel, false).await?;
        super::commit(tx).await?;
        Ok(out)
    }

    async fn channel(&self, id: ConversationId) -> Result<Option<ChannelRecord>, StorageError> {
        channel_by_id(&self.client().await?, id).await
    }

    async fn channels_visible_to(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Vec<ChannelRecord>, StorageError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let stmt = tx
            .prepare_cached(
                "SELECT ch.conversation_id FROM channels ch
                 JOIN conversations cv ON cv.id = ch.conversation_id
                 WHERE ch.team_id = $1 AND (NOT ch.private OR EXISTS (
                     SELECT 1 FROM conversation_members m
                     WHERE m.conversation_id = ch.conversation_id AND m.user_id = $2))
                 ORDER BY cv.name COLLATE \"C\", cv.id",
            )
            .await
            .map_err(pg)?;
        let ids = tx
            .query(&stmt, &[&team.0, &user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map(ConversationId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pg)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(ch) = channel_by_id(&tx, id).await? {
                out.push(ch);
            }
        }
        super::commit(tx).await?;
        Ok(out)
    }

    async fn set_topic(
        &self,
        id: ConversationId,
        actor: UserId,
        topic: Option<String>,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The conversation before the channel row, as a channel's deletion locks them.
        lock_conversation(&tx, id).await?;
        let stmt = tx
            .prepare_cached("UPDATE channels SET topic = $1 WHERE conversation_id = $2")
            .await
            .map_err(pg)?;
        let n = tx.execute(&stmt, &[&topic, &id.0]).await.map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        let event = append_event(&tx, id, actor, now_ms, EventData::TopicChanged { topic }).await?;
        let committed = single_event(&tx, id, event).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn set_archived(
        &self,
        id: ConversationId,
        actor: UserId,
        archived: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_conversation(&tx, id).await?;
        let stmt = tx
            .prepare_cached(
                "UPDATE channels SET archived_at = CASE WHEN $1 THEN $2::BIGINT END
                 WHERE conversation_id = $3 AND (archived_at IS NOT NULL) != $1",
            )
            .await
            .map_err(pg)?;
        let n = tx
            .execute(&stmt, &[&archived, &now_ms, &id.0])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Ok(None);
        }
        let event = append_event(
            &tx,
            id,
            actor,
            now_ms,
            EventData::ArchivedChanged { archived },
        )
        .await?;
        let committed = Committed {
            events: vec![event],
            recipients: member_ids(&tx, id).await?,
            user_events: Vec::new(),
        };
        super::commit(tx).await?;
        Ok(Some(committed))
    }

    async fn delete_channel(
        &self,
        id: ConversationId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // The team (when it is a channel), then the conversation, then its members' heads.
        let stmt = tx
            .prepare_cached("SELECT team_id FROM channels WHERE conversation_id = $1")
            .await
            .map_err(pg)?;
        if let Some(row) = tx.query_opt(&stmt, &[&id.0]).await.map_err(pg)? {
            lock_team(&tx, TeamId(row.try_get(0).map_err(pg)?)).await?;
        }
        lock_conversation(&tx, id).await?;
        lock_heads(&tx, &member_ids(&tx, id).await?).await?;
        let mut committed = Committed::default();
        drop_conversation(&tx, id, now_ms, &mut committed).await?;
        super::commit(tx).await?;
        Ok(committed)
    }
}
