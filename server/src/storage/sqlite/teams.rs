//! [`TeamStore`] on SQLite.

use super::conversations::{add_member, conversation_by_id, create, member, role_from, role_str};
use super::events::{append_event, append_user_event, member_ids, single_event};
use super::notifications::insert_added_notification;
use super::{SqliteStorage, backend, write};
use crate::services::rules::{self, invites::Redemption};
use crate::storage::{
    AddedNotice, ChannelRecord, Committed, ConversationRecord, EventData, InviteRecord, NewChannel,
    NewInvite, Redeemed, StorageError, TeamMemberRecord, TeamRecord, TeamStore, UserEventData,
};
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, InviteId, TeamId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn team_by_id(c: &Connection, id: TeamId) -> Result<Option<TeamRecord>, StorageError> {
    c.query_row(
        "SELECT t.id, t.name, t.created_by, t.created_at,
                (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id),
                (SELECT conversation_id FROM channels ch WHERE ch.team_id = t.id AND ch.is_default),
                t.avatar_sha256
         FROM teams t WHERE t.id = ?1",
        [id.0],
        |r| {
            Ok(TeamRecord {
                id: TeamId(r.get(0)?),
                name: r.get(1)?,
                created_by: UserId(r.get(2)?),
                created_at_ms: r.get(3)?,
                member_count: r.get(4)?,
                default_channel: ConversationId(r.get::<_, Option<i64>>(5)?.unwrap_or(0)),
                avatar_sha256: r.get(6)?,
            })
        },
    )
    .optional()
    .map_err(backend)
}

const TEAM_MEMBER_COLUMNS: &str = "team_id, user_id, role, joined_at";

fn team_member_from_row(r: &Row<'_>) -> rusqlite::Result<TeamMemberRecord> {
    Ok(TeamMemberRecord {
        team_id: TeamId(r.get(0)?),
        user_id: UserId(r.get(1)?),
        role: role_from(&r.get::<_, String>(2)?)?,
        joined_at_ms: r.get(3)?,
    })
}

fn team_member(
    c: &Connection,
    team: TeamId,
    user: UserId,
) -> Result<Option<TeamMemberRecord>, StorageError> {
    c.query_row(
        &format!(
            "SELECT {TEAM_MEMBER_COLUMNS} FROM team_members WHERE team_id = ?1 AND user_id = ?2"
        ),
        params![team.0, user.0],
        team_member_from_row,
    )
    .optional()
    .map_err(backend)
}

fn team_member_ids(c: &Connection, team: TeamId) -> Result<Vec<UserId>, StorageError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT user_id FROM team_members WHERE team_id = ?1 ORDER BY joined_at, user_id",
        )
        .map_err(backend)?;
    stmt.query_map([team.0], |r| Ok(UserId(r.get(0)?)))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)
}

/// The channels of a team, oldest first.
fn team_channel_ids(c: &Connection, team: TeamId) -> Result<Vec<ConversationId>, StorageError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT conversation_id FROM channels WHERE team_id = ?1 ORDER BY conversation_id",
        )
        .map_err(backend)?;
    stmt.query_map([team.0], |r| Ok(ConversationId(r.get(0)?)))
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)
}

/// `team_changed` for every member of the team.
fn team_changed(
    tx: &Connection,
    team: TeamId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in team_member_ids(tx, team)? {
        committed.user_events.push(append_user_event(
            tx,
            user,
            now_ms,
            UserEventData::TeamChanged { team },
        )?);
    }
    Ok(())
}

fn channel_by_id(
    c: &Connection,
    id: ConversationId,
) -> Result<Option<ChannelRecord>, StorageError> {
    let row = c
        .query_row(
            "SELECT team_id, private, is_default, topic, archived_at IS NOT NULL,
                    (SELECT COUNT(*) FROM conversation_members m WHERE m.conversation_id = ?1)
             FROM channels WHERE conversation_id = ?1",
            [id.0],
            |r| {
                Ok((
                    TeamId(r.get(0)?),
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, u32>(5)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((team_id, private, is_default, topic, archived, member_count)) = row else {
        return Ok(None);
    };
    let conversation = conversation_by_id(c, id)?.ok_or(StorageError::NotFound)?;
    Ok(Some(ChannelRecord {
        conversation,
        team_id,
        private,
        is_default,
        topic,
        archived,
        member_count,
    }))
}

/// Whether another channel of `team` (other than `except`) is called `name`, ignoring case and
/// look-alike characters ([`crate::names::uniqueness_key`]) — channel names are unique within a
/// team the way Slack's are. Called inside the write
/// transaction that inserts or renames, so no concurrent writer can slip a duplicate in between.
pub(super) fn channel_name_taken(
    tx: &Connection,
    team: TeamId,
    name: &str,
    except: Option<ConversationId>,
) -> Result<bool, StorageError> {
    let wanted = crate::names::uniqueness_key(name);
    let mut stmt = tx
        .prepare_cached(
            "SELECT cv.id, cv.name FROM channels ch
             JOIN conversations cv ON cv.id = ch.conversation_id
             WHERE ch.team_id = ?1",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![team.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .map_err(backend)?;
    for row in rows {
        let (id, existing) = row.map_err(backend)?;
        if Some(ConversationId(id)) != except
            && existing.is_some_and(|n| crate::names::uniqueness_key(&n) == wanted)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates a channel; [`StorageError::Conflict`] when the team has one of that name already.
fn new_channel(
    tx: &Connection,
    channel: &NewChannel,
    is_default: bool,
) -> Result<(ConversationRecord, Committed), StorageError> {
    if channel_name_taken(tx, channel.team_id, &channel.name, None)? {
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
    )?;
    tx.execute(
        "INSERT INTO channels (conversation_id, team_id, private, is_default, topic)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            record.id.0,
            channel.team_id.0,
            channel.private,
            is_default,
            channel.topic
        ],
    )
    .map_err(backend)?;
    Ok((record, committed))
}

/// Removes `user` from one conversation with its events.
fn leave_conversation(
    tx: &Connection,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    now_ms: i64,
) -> Result<Committed, StorageError> {
    tx.execute(
        "DELETE FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2",
        params![id.0, user.0],
    )
    .map_err(backend)?;
    let event = append_event(tx, id, actor, now_ms, EventData::MemberRemoved { user })?;
    let user_event = append_user_event(
        tx,
        user,
        now_ms,
        UserEventData::ConversationRemoved { conversation: id },
    )?;
    Ok(Committed {
        events: vec![event],
        recipients: member_ids(tx, id)?,
        user_events: vec![user_event],
    })
}

/// Deletes a conversation, telling each of its members.
fn drop_conversation(
    tx: &Connection,
    id: ConversationId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    for user in member_ids(tx, id)? {
        committed.user_events.push(append_user_event(
            tx,
            user,
            now_ms,
            UserEventData::ConversationRemoved { conversation: id },
        )?);
    }
    tx.execute("DELETE FROM conversations WHERE id = ?1", [id.0])
        .map_err(backend)?;
    Ok(())
}

const INVITE_COLUMNS: &str =
    "id, team_id, code, created_by, created_at, expires_at, max_uses, uses, revoked_at IS NOT NULL";

fn invite_from_row(r: &Row<'_>) -> rusqlite::Result<InviteRecord> {
    Ok(InviteRecord {
        id: InviteId(r.get(0)?),
        team_id: TeamId(r.get(1)?),
        code: r.get(2)?,
        created_by: UserId(r.get(3)?),
        created_at_ms: r.get(4)?,
        expires_at_ms: r.get(5)?,
        max_uses: r.get(6)?,
        uses: r.get(7)?,
        revoked: r.get(8)?,
    })
}

fn insert_team_member(
    tx: &Connection,
    team: TeamId,
    actor: UserId,
    user: UserId,
    role: MemberRole,
    now_ms: i64,
) -> Result<Vec<Committed>, StorageError> {
    tx.execute(
        "INSERT INTO team_members (team_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)",
        params![team.0, user.0, role_str(role), now_ms],
    )
    .map_err(backend)?;
    let mut out = Vec::new();
    let default: Option<i64> = tx
        .query_row(
            "SELECT conversation_id FROM channels WHERE team_id = ?1 AND is_default",
            [team.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let mut users = Committed::default();
    users.user_events.push(append_user_event(
        tx,
        user,
        now_ms,
        UserEventData::TeamAdded { team, role },
    )?);
    for other in team_member_ids(tx, team)? {
        if other != user {
            users.user_events.push(append_user_event(
                tx,
                other,
                now_ms,
                UserEventData::TeamChanged { team },
            )?);
        }
    }
    out.push(users);
    if let Some(id) = default.map(ConversationId)
        && member(tx, id, user)?.is_none()
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
        )?;
        committed.recipients = member_ids(tx, id)?;
        out.push(committed);
    }
    Ok(out)
}

#[async_trait]
impl TeamStore for SqliteStorage {
    async fn create_team(
        &self,
        name: String,
        owner: UserId,
        now_ms: i64,
    ) -> Result<(TeamRecord, Vec<Committed>), StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    tx.execute(
                        "INSERT INTO teams (name, created_by, created_at) VALUES (?1, ?2, ?3)",
                        params![name, owner.0, now_ms],
                    )
                    .map_err(backend)?;
                    let team = TeamId(tx.last_insert_rowid());
                    tx.execute(
                        "INSERT INTO team_members (team_id, user_id, role, joined_at)
                         VALUES (?1, ?2, 'owner', ?3)",
                        params![team.0, owner.0, now_ms],
                    )
                    .map_err(backend)?;
                    let users = Committed {
                        user_events: vec![append_user_event(
                            tx,
                            owner,
                            now_ms,
                            UserEventData::TeamAdded {
                                team,
                                role: MemberRole::Owner,
                            },
                        )?],
                        ..Committed::default()
                    };
                    let (_, general) = new_channel(
                        tx,
                        &rules::teams::default_channel(team, owner, now_ms),
                        true,
                    )?;
                    let record = team_by_id(tx, team)?.ok_or(StorageError::NotFound)?;
                    Ok((record, vec![users, general]))
                })
            })
            .await
    }

    async fn team(&self, id: TeamId) -> Result<Option<TeamRecord>, StorageError> {
        self.pool.run(move |c| team_by_id(c, id)).await
    }

    async fn team_member(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Option<TeamMemberRecord>, StorageError> {
        self.pool.run(move |c| team_member(c, team, user)).await
    }

    async fn team_members(&self, team: TeamId) -> Result<Vec<TeamMemberRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {TEAM_MEMBER_COLUMNS} FROM team_members WHERE team_id = ?1
                         ORDER BY joined_at, user_id"
                    ))
                    .map_err(backend)?;
                stmt.query_map([team.0], team_member_from_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn teams_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(TeamRecord, TeamMemberRecord)>, StorageError> {
        self.pool
            .run(move |c| {
                let ids = {
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT t.id FROM team_members m JOIN teams t ON t.id = m.team_id
                             WHERE m.user_id = ?1 ORDER BY t.name, t.id",
                        )
                        .map_err(backend)?;
                    stmt.query_map([user.0], |r| Ok(TeamId(r.get(0)?)))
                        .map_err(backend)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(backend)?
                };
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let (Some(t), Some(m)) = (team_by_id(c, id)?, team_member(c, id, user)?) {
                        out.push((t, m));
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn rename_team(
        &self,
        team: TeamId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let n = tx
                        .execute(
                            "UPDATE teams SET name = ?1 WHERE id = ?2",
                            params![name, team.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    let mut committed = Committed::default();
                    team_changed(tx, team, now_ms, &mut committed)?;
                    Ok(committed)
                })
            })
            .await
    }

    async fn delete_team(&self, team: TeamId, now_ms: i64) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut committed = Committed::default();
                    for id in team_channel_ids(tx, team)? {
                        drop_conversation(tx, id, now_ms, &mut committed)?;
                    }
                    for user in team_member_ids(tx, team)? {
                        committed.user_events.push(append_user_event(
                            tx,
                            user,
                            now_ms,
                            UserEventData::TeamRemoved { team },
                        )?);
                    }
                    let n = tx
                        .execute("DELETE FROM teams WHERE id = ?1", [team.0])
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    Ok(committed)
                })
            })
            .await
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
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut out = insert_team_member(tx, team, actor, user, role, now_ms)?;
                    if let (Some(notice), Some(first)) = (&notice, out.first_mut()) {
                        insert_added_notification(tx, notice, user, now_ms, first)?;
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn remove_team_member(
        &self,
        team: TeamId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut out = Vec::new();
                    // Membership follows the team: out of every channel first.
                    for id in team_channel_ids(tx, team)? {
                        if member(tx, id, user)?.is_some() {
                            out.push(leave_conversation(tx, id, actor, user, now_ms)?);
                        }
                    }
                    let n = tx
                        .execute(
                            "DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2",
                            params![team.0, user.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    let mut users = Committed::default();
                    users.user_events.push(append_user_event(
                        tx,
                        user,
                        now_ms,
                        UserEventData::TeamRemoved { team },
                    )?);
                    team_changed(tx, team, now_ms, &mut users)?;
                    out.push(users);
                    Ok(out)
                })
            })
            .await
    }

    async fn set_team_roles(
        &self,
        team: TeamId,
        roles: Vec<(UserId, MemberRole)>,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    for (user, role) in &roles {
                        let n = tx
                            .execute(
                                "UPDATE team_members SET role = ?1 WHERE team_id = ?2 AND user_id = ?3",
                                params![role_str(*role), team.0, user.0],
                            )
                            .map_err(backend)?;
                        if n == 0 {
                            return Err(StorageError::NotFound);
                        }
                    }
                    let mut committed = Committed::default();
                    team_changed(tx, team, now_ms, &mut committed)?;
                    Ok(committed)
                })
            })
            .await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<InviteRecord, StorageError> {
        self.pool
            .run(move |c| {
                c.execute(
                    "INSERT INTO team_invites (team_id, code, created_by, created_at, expires_at, max_uses)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        invite.team_id.0,
                        invite.code,
                        invite.created_by.0,
                        invite.now_ms,
                        invite.expires_at_ms,
                        invite.max_uses
                    ],
                )
                .map_err(backend)?;
                c.query_row(
                    &format!("SELECT {INVITE_COLUMNS} FROM team_invites WHERE id = ?1"),
                    [c.last_insert_rowid()],
                    invite_from_row,
                )
                .map_err(backend)
            })
            .await
    }

    async fn invites(&self, team: TeamId) -> Result<Vec<InviteRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {INVITE_COLUMNS} FROM team_invites WHERE team_id = ?1 ORDER BY id DESC"
                    ))
                    .map_err(backend)?;
                stmt.query_map([team.0], invite_from_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }

    async fn revoke_invite(
        &self,
        team: TeamId,
        invite: InviteId,
        now_ms: i64,
    ) -> Result<InviteRecord, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let n = tx
                        .execute(
                            "UPDATE team_invites SET revoked_at = COALESCE(revoked_at, ?1)
                             WHERE id = ?2 AND team_id = ?3",
                            params![now_ms, invite.0, team.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    tx.query_row(
                        &format!("SELECT {INVITE_COLUMNS} FROM team_invites WHERE id = ?1"),
                        [invite.0],
                        invite_from_row,
                    )
                    .map_err(backend)
                })
            })
            .await
    }

    async fn redeem_invite(
        &self,
        code: String,
        user: UserId,
        now_ms: i64,
    ) -> Result<Redeemed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let Some(invite) = tx
                        .query_row(
                            &format!("SELECT {INVITE_COLUMNS} FROM team_invites WHERE code = ?1"),
                            [&code],
                            invite_from_row,
                        )
                        .optional()
                        .map_err(backend)?
                    else {
                        return Ok(Redeemed::Unknown);
                    };
                    let already_member = team_member(tx, invite.team_id, user)?.is_some();
                    match rules::invites::redeem(&invite, already_member, now_ms) {
                        Redemption::Join => {}
                        Redemption::AlreadyMember => {
                            return Ok(Redeemed::AlreadyMember(invite.team_id));
                        }
                        Redemption::Revoked => return Ok(Redeemed::Revoked),
                        Redemption::Expired => return Ok(Redeemed::Expired),
                        Redemption::UsedUp => return Ok(Redeemed::UsedUp),
                    }
                    tx.execute(
                        "UPDATE team_invites SET uses = uses + 1 WHERE id = ?1",
                        [invite.id.0],
                    )
                    .map_err(backend)?;
                    let committed = insert_team_member(
                        tx,
                        invite.team_id,
                        invite.created_by,
                        user,
                        MemberRole::Member,
                        now_ms,
                    )?;
                    Ok(Redeemed::Joined {
                        team: invite.team_id,
                        committed,
                    })
                })
            })
            .await
    }

    async fn create_channel(
        &self,
        channel: NewChannel,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        self.pool
            .run(move |c| write(c, |tx| new_channel(tx, &channel, false)))
            .await
    }

    async fn channel(&self, id: ConversationId) -> Result<Option<ChannelRecord>, StorageError> {
        self.pool.run(move |c| channel_by_id(c, id)).await
    }

    async fn channels_visible_to(
        &self,
        team: TeamId,
        user: UserId,
    ) -> Result<Vec<ChannelRecord>, StorageError> {
        self.pool
            .run(move |c| {
                let ids = {
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT ch.conversation_id FROM channels ch
                             JOIN conversations cv ON cv.id = ch.conversation_id
                             WHERE ch.team_id = ?1 AND (NOT ch.private OR EXISTS (
                                 SELECT 1 FROM conversation_members m
                                 WHERE m.conversation_id = ch.conversation_id AND m.user_id = ?2))
                             ORDER BY cv.name, cv.id",
                        )
                        .map_err(backend)?;
                    stmt.query_map(params![team.0, user.0], |r| Ok(ConversationId(r.get(0)?)))
                        .map_err(backend)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(backend)?
                };
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(ch) = channel_by_id(c, id)? {
                        out.push(ch);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn set_topic(
        &self,
        id: ConversationId,
        actor: UserId,
        topic: Option<String>,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let n = tx
                        .execute(
                            "UPDATE channels SET topic = ?1 WHERE conversation_id = ?2",
                            params![topic, id.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    let event =
                        append_event(tx, id, actor, now_ms, EventData::TopicChanged { topic })?;
                    single_event(tx, id, event)
                })
            })
            .await
    }

    async fn set_archived(
        &self,
        id: ConversationId,
        actor: UserId,
        archived: bool,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let n = tx
                        .execute(
                            "UPDATE channels SET archived_at = CASE WHEN ?1 THEN ?2 END
                             WHERE conversation_id = ?3 AND (archived_at IS NOT NULL) != ?1",
                            params![archived, now_ms, id.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Ok(None);
                    }
                    let event = append_event(
                        tx,
                        id,
                        actor,
                        now_ms,
                        EventData::ArchivedChanged { archived },
                    )?;
                    Ok(Some(Committed {
                        events: vec![event],
                        recipients: member_ids(tx, id)?,
                        user_events: Vec::new(),
                    }))
                })
            })
            .await
    }

    async fn delete_channel(
        &self,
        id: ConversationId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut committed = Committed::default();
                    drop_conversation(tx, id, now_ms, &mut committed)?;
                    Ok(committed)
                })
            })
            .await
    }
}
