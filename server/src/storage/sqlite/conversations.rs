//! [`ConversationStore`] on SQLite.

use super::events::{append_event, append_user_event, member_ids, single_event};
use super::messages::last_message;
use super::notifications::insert_added_notification;
use super::teams::channel_name_taken;
use super::{SqliteStorage, backend, write};
use crate::storage::{
    AddedNotice, AddedTo, Committed, ConversationRecord, ConversationStore, ConversationSummary,
    EventData, MemberRecord, NewGroup, StorageError, UserEventData,
};
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, TeamId, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn kind_str(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::Channel => "channel",
        ConversationKind::Group => "group",
        ConversationKind::Direct => "direct",
    }
}

pub(super) fn kind_from(text: &str) -> rusqlite::Result<ConversationKind> {
    match text {
        "channel" => Ok(ConversationKind::Channel),
        "group" => Ok(ConversationKind::Group),
        "direct" => Ok(ConversationKind::Direct),
        other => Err(bad_text(other)),
    }
}

pub(super) fn role_str(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner => "owner",
        MemberRole::Admin => "admin",
        MemberRole::Member => "member",
    }
}

pub(super) fn role_from(text: &str) -> rusqlite::Result<MemberRole> {
    match text {
        "owner" => Ok(MemberRole::Owner),
        "admin" => Ok(MemberRole::Admin),
        "member" => Ok(MemberRole::Member),
        other => Err(bad_text(other)),
    }
}

fn bad_text(text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected value {text:?}").into(),
    )
}

const CONVERSATION_COLUMNS: &str =
    "id, kind, name, created_by, created_at, last_seq, last_activity_at";

fn conversation_from_row(r: &Row<'_>) -> rusqlite::Result<ConversationRecord> {
    Ok(ConversationRecord {
        id: ConversationId(r.get(0)?),
        kind: kind_from(&r.get::<_, String>(1)?)?,
        name: r.get(2)?,
        created_by: UserId(r.get(3)?),
        created_at_ms: r.get(4)?,
        last_seq: r.get(5)?,
        last_activity_ms: r.get(6)?,
    })
}

pub(super) fn conversation_by_id(
    c: &Connection,
    id: ConversationId,
) -> Result<Option<ConversationRecord>, StorageError> {
    c.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
        [id.0],
        conversation_from_row,
    )
    .optional()
    .map_err(backend)
}

const MEMBER_COLUMNS: &str = "conversation_id, user_id, role, joined_at, joined_seq, read_seq";

fn member_from_row(r: &Row<'_>) -> rusqlite::Result<MemberRecord> {
    Ok(MemberRecord {
        conversation_id: ConversationId(r.get(0)?),
        user_id: UserId(r.get(1)?),
        role: role_from(&r.get::<_, String>(2)?)?,
        joined_at_ms: r.get(3)?,
        joined_seq: r.get(4)?,
        read_seq: r.get(5)?,
    })
}

pub(super) fn member(
    c: &Connection,
    id: ConversationId,
    user: UserId,
) -> Result<Option<MemberRecord>, StorageError> {
    c.query_row(
        &format!(
            "SELECT {MEMBER_COLUMNS} FROM conversation_members
             WHERE conversation_id = ?1 AND user_id = ?2"
        ),
        params![id.0, user.0],
        member_from_row,
    )
    .optional()
    .map_err(backend)
}

fn members(c: &Connection, id: ConversationId) -> Result<Vec<MemberRecord>, StorageError> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM conversation_members WHERE conversation_id = ?1
             ORDER BY joined_seq, user_id"
        ))
        .map_err(backend)?;
    stmt.query_map([id.0], member_from_row)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)
}

fn insert_conversation(
    tx: &Connection,
    kind: ConversationKind,
    name: Option<&str>,
    direct_key: Option<&str>,
    created_by: UserId,
    now_ms: i64,
) -> Result<ConversationId, StorageError> {
    tx.execute(
        "INSERT INTO conversations (kind, name, direct_key, created_by, created_at, last_activity_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![kind_str(kind), name, direct_key, created_by.0, now_ms],
    )
    .map_err(backend)?;
    Ok(ConversationId(tx.last_insert_rowid()))
}

/// Adds a member with its `member_added` event and `conversation_added` user event.
pub(super) fn add_member(
    tx: &Connection,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    role: MemberRole,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    let event = append_event(tx, id, actor, now_ms, EventData::MemberAdded { user, role })?;
    tx.execute(
        "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, joined_seq)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id.0, user.0, role_str(role), now_ms, event.seq],
    )
    .map_err(backend)?;
    committed.user_events.push(append_user_event(
        tx,
        user,
        now_ms,
        UserEventData::ConversationAdded {
            conversation: id,
            from_seq: event.seq,
        },
    )?);
    committed.events.push(event);
    Ok(())
}

/// A new conversation with its creation event and its members.
pub(super) fn create(
    tx: &Connection,
    kind: ConversationKind,
    name: Option<String>,
    direct_key: Option<&str>,
    creator: UserId,
    members: &[(UserId, MemberRole)],
    now_ms: i64,
) -> Result<(ConversationRecord, Committed), StorageError> {
    let id = insert_conversation(tx, kind, name.as_deref(), direct_key, creator, now_ms)?;
    let mut committed = Committed::default();
    committed.events.push(append_event(
        tx,
        id,
        creator,
        now_ms,
        EventData::ConversationCreated { kind, name },
    )?);
    for &(user, role) in members {
        add_member(tx, id, creator, user, role, now_ms, &mut committed)?;
    }
    committed.recipients = member_ids(tx, id)?;
    let record = conversation_by_id(tx, id)?.ok_or(StorageError::NotFound)?;
    Ok((record, committed))
}

fn count(c: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<u32, StorageError> {
    c.query_row(sql, params, |r| r.get(0)).map_err(backend)
}

fn summary(
    c: &Connection,
    id: ConversationId,
    user: UserId,
) -> Result<Option<ConversationSummary>, StorageError> {
    let Some(me) = member(c, id, user)? else {
        return Ok(None);
    };
    let conversation = conversation_by_id(c, id)?.ok_or(StorageError::NotFound)?;
    // Thread-only replies are not unread in the channel (they are not shown there).
    let unread = count(
        c,
        "SELECT COUNT(*) FROM messages
         WHERE conversation_id = ?1 AND seq > ?2 AND sender_id != ?3 AND deleted_at IS NULL
           AND NOT thread_only",
        &[&id.0, &me.read_seq, &user.0],
    )?;
    // Mentions count wherever they are, thread-only replies included: they name the reader.
    let mentions = count(
        c,
        "SELECT COUNT(*) FROM messages m
         WHERE m.conversation_id = ?1 AND m.seq > ?2 AND m.sender_id != ?3 AND m.deleted_at IS NULL
           AND (m.mentions_channel OR m.mentions_here OR EXISTS (
                SELECT 1 FROM message_mentions mm WHERE mm.message_id = m.id AND mm.user_id = ?3))",
        &[&id.0, &me.read_seq, &user.0],
    )?;
    Ok(Some(ConversationSummary {
        members: members(c, id)?,
        last_message: last_message(c, id)?,
        conversation,
        me,
        unread,
        mentions,
    }))
}

#[async_trait]
impl ConversationStore for SqliteStorage {
    async fn create_group(
        &self,
        group: NewGroup,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut members = vec![(group.owner, MemberRole::Owner)];
                    members.extend(group.members.iter().map(|&u| (u, MemberRole::Member)));
                    let (record, mut committed) = create(
                        tx,
                        ConversationKind::Group,
                        Some(group.name),
                        None,
                        group.owner,
                        &members,
                        group.now_ms,
                    )?;
                    if let Some(preview) = group.added_preview {
                        let notice = AddedNotice {
                            actor: group.owner,
                            target: AddedTo::Conversation(record.id),
                            preview,
                        };
                        for &user in &group.members {
                            insert_added_notification(
                                tx,
                                &notice,
                                user,
                                group.now_ms,
                                &mut committed,
                            )?;
                        }
                    }
                    Ok((record, committed))
                })
            })
            .await
    }

    async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        now_ms: i64,
    ) -> Result<(ConversationRecord, Option<Committed>), StorageError> {
        let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let existing: Option<i64> = tx
                        .query_row(
                            "SELECT id FROM conversations WHERE direct_key = ?1",
                            [&key],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?;
                    if let Some(id) = existing {
                        let record = conversation_by_id(tx, ConversationId(id))?
                            .ok_or(StorageError::NotFound)?;
                        return Ok((record, None));
                    }
                    let members = [(a, MemberRole::Member), (b, MemberRole::Member)];
                    let (record, committed) = create(
                        tx,
                        ConversationKind::Direct,
                        None,
                        Some(&key),
                        a,
                        &members,
                        now_ms,
                    )?;
                    Ok((record, Some(committed)))
                })
            })
            .await
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StorageError> {
        self.pool.run(move |c| conversation_by_id(c, id)).await
    }

    async fn member(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<MemberRecord>, StorageError> {
        self.pool.run(move |c| member(c, id, user)).await
    }

    async fn members(&self, id: ConversationId) -> Result<Vec<MemberRecord>, StorageError> {
        self.pool.run(move |c| members(c, id)).await
    }

    async fn rename_conversation(
        &self,
        id: ConversationId,
        actor: UserId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let team: Option<i64> = tx
                        .query_row(
                            "SELECT team_id FROM channels WHERE conversation_id = ?1",
                            params![id.0],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?;
                    if let Some(team) = team
                        && channel_name_taken(tx, TeamId(team), &name, Some(id))?
                    {
                        return Err(StorageError::Conflict);
                    }
                    let n = tx
                        .execute(
                            "UPDATE conversations SET name = ?1 WHERE id = ?2",
                            params![name, id.0],
                        )
                        .map_err(backend)?;
                    if n == 0 {
                        return Err(StorageError::NotFound);
                    }
                    let event = append_event(
                        tx,
                        id,
                        actor,
                        now_ms,
                        EventData::ConversationRenamed { name },
                    )?;
                    single_event(tx, id, event)
                })
            })
            .await
    }

    async fn add_members(
        &self,
        id: ConversationId,
        actor: UserId,
        users: Vec<UserId>,
        now_ms: i64,
        notice: Option<AddedNotice>,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let mut committed = Committed::default();
                    for user in users {
                        if member(tx, id, user)?.is_none() {
                            add_member(
                                tx,
                                id,
                                actor,
                                user,
                                MemberRole::Member,
                                now_ms,
                                &mut committed,
                            )?;
                            if let Some(notice) = &notice {
                                insert_added_notification(
                                    tx,
                                    notice,
                                    user,
                                    now_ms,
                                    &mut committed,
                                )?;
                            }
                        }
                    }
                    committed.recipients = member_ids(tx, id)?;
                    Ok(committed)
                })
            })
            .await
    }

    async fn remove_member(
        &self,
        id: ConversationId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let role: Option<String> = tx
                        .query_row(
                            "DELETE FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2
                             RETURNING role",
                            params![id.0, user.0],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?;
                    let Some(role) = role else {
                        return Err(StorageError::NotFound);
                    };
                    let mut events = vec![append_event(
                        tx,
                        id,
                        actor,
                        now_ms,
                        EventData::MemberRemoved { user },
                    )?];
                    // A conversation is never left without an owner: the longest-standing admin,
                    // else the longest-standing member, takes over in the same transaction.
                    if role == "owner" {
                        let heir: Option<i64> = tx
                            .query_row(
                                "SELECT user_id FROM conversation_members WHERE conversation_id = ?1
                                 ORDER BY role = 'admin' DESC, joined_seq, user_id LIMIT 1",
                                [id.0],
                                |r| r.get(0),
                            )
                            .optional()
                            .map_err(backend)?;
                        if let Some(heir) = heir {
                            tx.execute(
                                "UPDATE conversation_members SET role = 'owner'
                                 WHERE conversation_id = ?1 AND user_id = ?2",
                                params![id.0, heir],
                            )
                            .map_err(backend)?;
                            events.push(append_event(
                                tx,
                                id,
                                actor,
                                now_ms,
                                EventData::MemberRoleChanged {
                                    user: UserId(heir),
                                    role: MemberRole::Owner,
                                },
                            )?);
                        }
                    }
                    let user_event = append_user_event(
                        tx,
                        user,
                        now_ms,
                        UserEventData::ConversationRemoved { conversation: id },
                    )?;
                    Ok(Committed {
                        events,
                        recipients: member_ids(tx, id)?,
                        user_events: vec![user_event],
                    })
                })
            })
            .await
    }

    async fn conversations_of(
        &self,
        user: UserId,
    ) -> Result<Vec<ConversationSummary>, StorageError> {
        self.pool
            .run(move |c| {
                let ids = {
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT c.id FROM conversation_members m
                             JOIN conversations c ON c.id = m.conversation_id
                             WHERE m.user_id = ?1
                             ORDER BY c.last_activity_at DESC, c.id DESC",
                        )
                        .map_err(backend)?;
                    stmt.query_map([user.0], |r| Ok(ConversationId(r.get(0)?)))
                        .map_err(backend)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(backend)?
                };
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(s) = summary(c, id, user)? {
                        out.push(s);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn conversation_summary(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<ConversationSummary>, StorageError> {
        self.pool.run(move |c| summary(c, id, user)).await
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        user: UserId,
        seq: i64,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        self.pool
            .run(move |c| {
                write(c, |tx| {
                    let head: i64 = tx
                        .query_row(
                            "SELECT last_seq FROM conversations WHERE id = ?1",
                            [id.0],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?
                        .ok_or(StorageError::NotFound)?;
                    let target = seq.min(head);
                    let moved = tx
                        .execute(
                            "UPDATE conversation_members SET read_seq = ?1
                             WHERE conversation_id = ?2 AND user_id = ?3 AND read_seq < ?1",
                            params![target, id.0, user.0],
                        )
                        .map_err(backend)?;
                    if moved == 0 {
                        return Ok(None);
                    }
                    let event =
                        append_event(tx, id, user, now_ms, EventData::Read { user, seq: target })?;
                    Ok(Some(Committed {
                        events: vec![event],
                        recipients: member_ids(tx, id)?,
                        user_events: Vec::new(),
                    }))
                })
            })
            .await
    }

    async fn contacts_of(&self, user: UserId) -> Result<Vec<UserId>, StorageError> {
        self.pool
            .run(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT o.user_id FROM conversation_members m
                         JOIN conversation_members o ON o.conversation_id = m.conversation_id
                         WHERE m.user_id = ?1 AND o.user_id != ?1
                         UNION
                         SELECT contact_id FROM contacts WHERE user_id = ?1",
                    )
                    .map_err(backend)?;
                stmt.query_map([user.0], |r| Ok(UserId(r.get(0)?)))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await
    }
}
