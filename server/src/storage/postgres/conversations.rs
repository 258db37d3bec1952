//! [`ConversationStore`] on PostgreSQL.
//!
//! Differences from the SQLite backend, where `BEGIN IMMEDIATE` serialized every writer:
//! - a change of a conversation's members locks the conversation's row first
//!   ([`lock_conversation`]), so the "is already a member" check, the owner's succession and the
//!   inserts cannot interleave with another instance's change of the same conversation;
//! - renaming a channel locks its team's row before the name check, the lock that channel
//!   creation takes too (see `teams.rs`), so two instances cannot give two channels one name;
//! - a direct conversation is created with `ON CONFLICT (direct_key) DO NOTHING`: of two racing
//!   opens one inserts, the other waits for it and then reads the conversation it made;
//! - several user-event heads are locked in ascending user id ([`super::log::lock_user_heads`]) before the
//!   events are appended, so two transactions never wait for each other's heads in a cycle.
//!
//! The summary's last message is read here (`summary_last_message`), with the same columns and
//! completion (mentions, reactions, repliers, attachments) as the messages module.

use super::log::{append_event, append_user_event, member_ids, single_event};
use super::{PgStorage, pg};
use crate::storage::StorageError;
use crate::storage::conversations::*;
use crate::storage::events::{Committed, EventData, UserEventData};
use crate::storage::messages::{MentionSet, MessageRecord, ReactionRecord};
use crate::storage::notifications::{AddedNotice, AddedTo};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::notifications::NotificationKind;
use jeco_shared::{ConversationId, MessageId, NotificationId, TeamId, UserId};
use tokio_postgres::Row;

pub(super) fn bad_value(what: &str) -> StorageError {
    StorageError::Backend(format!("unexpected stored value {what:?}").into())
}

fn kind_str(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::Channel => "channel",
        ConversationKind::Group => "group",
        ConversationKind::Direct => "direct",
    }
}

fn kind_from(text: &str) -> Result<ConversationKind, StorageError> {
    match text {
        "channel" => Ok(ConversationKind::Channel),
        "group" => Ok(ConversationKind::Group),
        "direct" => Ok(ConversationKind::Direct),
        other => Err(bad_value(other)),
    }
}

pub(super) fn role_str(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner => "owner",
        MemberRole::Admin => "admin",
        MemberRole::Member => "member",
    }
}

pub(super) fn role_from(text: &str) -> Result<MemberRole, StorageError> {
    match text {
        "owner" => Ok(MemberRole::Owner),
        "admin" => Ok(MemberRole::Admin),
        "member" => Ok(MemberRole::Member),
        other => Err(bad_value(other)),
    }
}

const CONVERSATION_COLUMNS: &str =
    "id, kind, name, created_by, created_at, last_seq, last_activity_at";

fn conversation_from_row(r: &Row) -> Result<ConversationRecord, StorageError> {
    Ok(ConversationRecord {
        id: ConversationId(r.try_get(0).map_err(pg)?),
        kind: kind_from(r.try_get(1).map_err(pg)?)?,
        name: r.try_get(2).map_err(pg)?,
        created_by: UserId(r.try_get(3).map_err(pg)?),
        created_at_ms: r.try_get(4).map_err(pg)?,
        last_seq: r.try_get(5).map_err(pg)?,
        last_activity_ms: r.try_get(6).map_err(pg)?,
    })
}

pub(super) async fn conversation_by_id(
    c: &impl GenericClient,
    id: ConversationId,
) -> Result<Option<ConversationRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"
        ))
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&id.0])
        .await
        .map_err(pg)?
        .as_ref()
        .map(conversation_from_row)
        .transpose()
}

/// Locks a conversation's row until the transaction ends; `false` when it does not exist.
pub(super) async fn lock_conversation(
    tx: &impl GenericClient,
    id: ConversationId,
) -> Result<bool, StorageError> {
    let stmt = tx
        .prepare_cached("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .await
        .map_err(pg)?;
    Ok(tx.query_opt(&stmt, &[&id.0]).await.map_err(pg)?.is_some())
}

/// Locks the rows of several conversations in ascending id order (the order every transaction
/// that locks more than one uses, so none waits for another in a cycle).
pub(super) async fn lock_conversations(
    tx: &impl GenericClient,
    ids: &[ConversationId],
) -> Result<(), StorageError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = ids.iter().map(|c| c.0).collect();
    let stmt = tx
        .prepare_cached("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .await
        .map_err(pg)?;
    tx.query(&stmt, &[&ids]).await.map_err(pg)?;
    Ok(())
}

const MEMBER_COLUMNS: &str = "conversation_id, user_id, role, joined_at, joined_seq, read_seq";

fn member_from_row(r: &Row) -> Result<MemberRecord, StorageError> {
    Ok(MemberRecord {
        conversation_id: ConversationId(r.try_get(0).map_err(pg)?),
        user_id: UserId(r.try_get(1).map_err(pg)?),
        role: role_from(r.try_get(2).map_err(pg)?)?,
        joined_at_ms: r.try_get(3).map_err(pg)?,
        joined_seq: r.try_get(4).map_err(pg)?,
        read_seq: r.try_get(5).map_err(pg)?,
    })
}

pub(super) async fn member(
    c: &impl GenericClient,
    id: ConversationId,
    user: UserId,
) -> Result<Option<MemberRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM conversation_members
             WHERE conversation_id = $1 AND user_id = $2"
        ))
        .await
        .map_err(pg)?;
    c.query_opt(&stmt, &[&id.0, &user.0])
        .await
        .map_err(pg)?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

async fn members(
    c: &impl GenericClient,
    id: ConversationId,
) -> Result<Vec<MemberRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM conversation_members WHERE conversation_id = $1
             ORDER BY joined_seq, user_id"
        ))
        .await
        .map_err(pg)?;
    c.query(&stmt, &[&id.0])
        .await
        .map_err(pg)?
        .iter()
        .map(member_from_row)
        .collect()
}

/// Adds a member with its `member_added` event and `conversation_added` user event.
pub(super) async fn add_member(
    tx: &impl GenericClient,
    id: ConversationId,
    actor: UserId,
    user: UserId,
    role: MemberRole,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    let event = append_event(tx, id, actor, now_ms, EventData::MemberAdded { user, role }).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, joined_seq)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg)?;
    tx.execute(
        &stmt,
        &[&id.0, &user.0, &role_str(role), &now_ms, &event.seq],
    )
    .await
    .map_err(pg)?;
    committed.user_events.push(
        append_user_event(
            tx,
            user,
            now_ms,
            UserEventData::ConversationAdded {
                conversation: id,
                from_seq: event.seq,
            },
        )
        .await?,
    );
    committed.events.push(event);
    Ok(())
}

/// A new conversation with its creation event and its members.
pub(super) async fn create(
    tx: &impl GenericClient,
    kind: ConversationKind,
    name: Option<String>,
    direct_key: Option<&str>,
    creator: UserId,
    members: &[(UserId, MemberRole)],
    now_ms: i64,
) -> Result<(ConversationRecord, Committed), StorageError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conversations (kind, name, direct_key, created_by, created_at, last_activity_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .await
        .map_err(pg)?;
    let id: i64 = tx
        .query_one(
            &stmt,
            &[&kind_str(kind), &name, &direct_key, &creator.0, &now_ms],
        )
        .await
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    let id = ConversationId(id);
    fill(tx, id, kind, name, creator, members, now_ms).await
}

/// The creation event and the members of a conversation whose row was just inserted.
async fn fill(
    tx: &impl GenericClient,
    id: ConversationId,
    kind: ConversationKind,
    name: Option<String>,
    creator: UserId,
    members: &[(UserId, MemberRole)],
    now_ms: i64,
) -> Result<(ConversationRecord, Committed), StorageError> {
    let mut committed = Committed::default();
    committed.events.push(
        append_event(
            tx,
            id,
            creator,
            now_ms,
            EventData::ConversationCreated { kind, name },
        )
        .await?,
    );
    let mut heads: Vec<UserId> = members.iter().map(|&(u, _)| u).collect();
    heads.sort_by_key(|u| u.0);
    super::log::lock_user_heads(tx, heads.iter().copied()).await?;
    for &(user, role) in members {
        add_member(tx, id, creator, user, role, now_ms, &mut committed).await?;
    }
    committed.recipients = member_ids(tx, id).await?;
    let record = conversation_by_id(tx, id)
        .await?
        .ok_or(StorageError::NotFound)?;
    Ok((record, committed))
}

/// Notifies `user` that `actor` added them to a team or a conversation, inside the transaction
/// that adds them; nothing when they added themselves. (Stored by the notifications
/// module's `insert_notifications`.)
pub(super) async fn insert_added_notice(
    tx: &impl GenericClient,
    notice: &AddedNotice,
    user: UserId,
    now_ms: i64,
    committed: &mut Committed,
) -> Result<(), StorageError> {
    if user == notice.actor {
        return Ok(());
    }
    let (kind, team_id, conversation_id) = match notice.target {
        AddedTo::Team(t) => (NotificationKind::AddedToTeam, Some(t), None),
        AddedTo::Conversation(c) => (NotificationKind::AddedToConversation, None, Some(c)),
    };
    let notification = crate::storage::NotificationRecord {
        id: NotificationId(0), // set by the insert
        user_id: user,
        kind,
        actor_id: Some(notice.actor),
        conversation_id,
        message_id: None,
        contact_request_id: None,
        team_id,
        preview: notice.preview.clone(),
        created_at_ms: now_ms,
        read_at_ms: None,
    };
    super::notifications::insert_notifications(tx, vec![notification], committed).await
}

/// The message columns (alias `m`) as the messages module reads them.
const SUMMARY_MESSAGE_COLUMNS: &str =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, m.reply_to,
    (SELECT COUNT(*) FROM messages r WHERE r.reply_to = m.id AND r.deleted_at IS NULL),
    m.created_at, m.edited_at, m.deleted_at, m.pinned_at IS NOT NULL, m.mentions_channel,
    m.mentions_here, m.thread_only";

fn summary_message_from_row(r: &Row) -> Result<MessageRecord, StorageError> {
    Ok(MessageRecord {
        id: MessageId(r.try_get(0).map_err(pg)?),
        conversation_id: ConversationId(r.try_get(1).map_err(pg)?),
        seq: r.try_get(2).map_err(pg)?,
        sender_id: UserId(r.try_get(3).map_err(pg)?),
        client_id: r.try_get(4).map_err(pg)?,
        body: r.try_get(5).map_err(pg)?,
        reply_to: r.try_get::<_, Option<i64>>(6).map_err(pg)?.map(MessageId),
        thread_only: r.try_get(14).map_err(pg)?,
        reply_count: r.try_get::<_, i64>(7).map_err(pg)? as u32,
        last_repliers: Vec::new(),
        created_at_ms: r.try_get(8).map_err(pg)?,
        edited_at_ms: r.try_get(9).map_err(pg)?,
        deleted_at_ms: r.try_get(10).map_err(pg)?,
        pinned: r.try_get(11).map_err(pg)?,
        mentions: MentionSet {
            users: Vec::new(),
            channel: r.try_get(12).map_err(pg)?,
            here: r.try_get(13).map_err(pg)?,
        },
        reactions: Vec::new(),
        attachments: Vec::new(),
    })
}

/// The newest message of a conversation shown in its history (not thread-only), complete with
/// mentioned users, reactions, recent repliers and attachments.
pub(super) async fn summary_last_message(
    c: &impl GenericClient,
    conversation: ConversationId,
) -> Result<Option<MessageRecord>, StorageError> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {SUMMARY_MESSAGE_COLUMNS} FROM messages m
             WHERE m.conversation_id = $1 AND NOT m.thread_only ORDER BY m.seq DESC LIMIT 1"
        ))
        .await
        .map_err(pg)?;
    let Some(row) = c.query_opt(&stmt, &[&conversation.0]).await.map_err(pg)? else {
        return Ok(None);
    };
    let mut m = summary_message_from_row(&row)?;
    let stmt = c
        .prepare_cached(
            "SELECT user_id FROM message_mentions WHERE message_id = $1 ORDER BY user_id",
        )
        .await
        .map_err(pg)?;
    for r in c.query(&stmt, &[&m.id.0]).await.map_err(pg)? {
        m.mentions.users.push(UserId(r.try_get(0).map_err(pg)?));
    }
    // Emojis in the order each was first used, then users in the order they reacted; `COLLATE
    // "C"` compares bytes, as SQLite does.
    let stmt = c
        .prepare_cached(
            "SELECT emoji, user_id FROM reactions r WHERE message_id = $1
             ORDER BY (SELECT MIN(created_at) FROM reactions f
                       WHERE f.message_id = r.message_id AND f.emoji = r.emoji),
                      emoji COLLATE \"C\", created_at, user_id",
        )
        .await
        .map_err(pg)?;
    for r in c.query(&stmt, &[&m.id.0]).await.map_err(pg)? {
        let emoji: String = r.try_get(0).map_err(pg)?;
        let user = UserId(r.try_get(1).map_err(pg)?);
        match m.reactions.iter_mut().find(|x| x.emoji == emoji) {
            Some(x) => x.users.push(user),
            None => m.reactions.push(ReactionRecord {
                emoji,
                users: vec![user],
            }),
        }
    }
    let stmt = c
        .prepare_cached(
            "SELECT sender_id, MAX(seq) AS newest FROM messages
             WHERE reply_to = $1 AND deleted_at IS NULL
             GROUP BY sender_id ORDER BY newest DESC LIMIT $2",
        )
        .await
        .map_err(pg)?;
    let max = jeco_shared::messages::THREAD_REPLIERS_MAX as i64;
    for r in c.query(&stmt, &[&m.id.0, &max]).await.map_err(pg)? {
        m.last_repliers.push(UserId(r.try_get(0).map_err(pg)?));
    }
    m.attachments = super::media::attachments_of_messages(c, &[m.id.0]).await?;
    Ok(Some(m))
}

async fn count(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u32, StorageError> {
    let stmt = c.prepare_cached(sql).await.map_err(pg)?;
    let n: i64 = c
        .query_one(&stmt, params)
        .await
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    Ok(n as u32)
}

async fn summary(
    c: &impl GenericClient,
    id: ConversationId,
    user: UserId,
) -> Result<Option<ConversationSummary>, StorageError> {
    let Some(me) = member(c, id, user).await? else {
        return Ok(None);
    };
    let conversation = conversation_by_id(c, id)
        .await?
        .ok_or(StorageError::NotFound)?;
    // Thread-only replies are not unread in the channel (they are not shown there).
    let unread = count(
        c,
        "SELECT COUNT(*) FROM messages
         WHERE conversation_id = $1 AND seq > $2 AND sender_id != $3 AND deleted_at IS NULL
           AND NOT thread_only",
        &[&id.0, &me.read_seq, &user.0],
    )
    .await?;
    // Mentions count wherever they are, thread-only replies included: they name the reader.
    let mentions = count(
        c,
        "SELECT COUNT(*) FROM messages m
         WHERE m.conversation_id = $1 AND m.seq > $2 AND m.sender_id != $3 AND m.deleted_at IS NULL
           AND (m.mentions_channel OR m.mentions_here OR EXISTS (
                SELECT 1 FROM message_mentions mm WHERE mm.message_id = m.id AND mm.user_id = $3))",
        &[&id.0, &me.read_seq, &user.0],
    )
    .await?;
    Ok(Some(ConversationSummary {
        members: members(c, id).await?,
        last_message: summary_last_message(c, id).await?,
        conversation,
        me,
        unread,
        mentions,
    }))
}

#[async_trait]
impl ConversationStore for PgStorage {
    async fn create_group(
        &self,
        group: NewGroup,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let mut members = vec![(group.owner, MemberRole::Owner)];
        members.extend(group.members.iter().map(|&u| (u, MemberRole::Member)));
        let (record, mut committed) = create(
            &tx,
            ConversationKind::Group,
            Some(group.name),
            None,
            group.owner,
            &members,
            group.now_ms,
        )
        .await?;
        if let Some(preview) = group.added_preview {
            let notice = AddedNotice {
                actor: group.owner,
                target: AddedTo::Conversation(record.id),
                preview,
            };
            for &user in &group.members {
                insert_added_notice(&tx, &notice, user, group.now_ms, &mut committed).await?;
            }
        }
        super::commit(tx).await?;
        Ok((record, committed))
    }

    async fn open_direct(
        &self,
        a: UserId,
        b: UserId,
        now_ms: i64,
    ) -> Result<(ConversationRecord, Option<Committed>), StorageError> {
        let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Of two instances opening the same pair at once, one inserts; the other's insert waits
        // for it to commit, does nothing, and reads the row below.
        let stmt = tx
            .prepare_cached(
                "INSERT INTO conversations (kind, name, direct_key, created_by, created_at, last_activity_at)
                 VALUES ('direct', NULL, $1, $2, $3, $3)
                 ON CONFLICT (direct_key) DO NOTHING RETURNING id",
            )
            .await
            .map_err(pg)?;
        let inserted = tx
            .query_opt(&stmt, &[&key, &a.0, &now_ms])
            .await
            .map_err(pg)?;
        let Some(row) = inserted else {
            let stmt = tx
                .prepare_cached(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE direct_key = $1"
                ))
                .await
                .map_err(pg)?;
            let row = tx
                .query_opt(&stmt, &[&key])
                .await
                .map_err(pg)?
                .ok_or(StorageError::NotFound)?;
            let record = conversation_from_row(&row)?;
            super::commit(tx).await?;
            return Ok((record, None));
        };
        let id = ConversationId(row.try_get(0).map_err(pg)?);
        let members = [(a, MemberRole::Member), (b, MemberRole::Member)];
        let (record, committed) =
            fill(&tx, id, ConversationKind::Direct, None, a, &members, now_ms).await?;
        super::commit(tx).await?;
        Ok((record, Some(committed)))
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StorageError> {
        conversation_by_id(&self.client().await?, id).await
    }

    async fn member(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<MemberRecord>, StorageError> {
        member(&self.client().await?, id, user).await
    }

    async fn members(&self, id: ConversationId) -> Result<Vec<MemberRecord>, StorageError> {
        members(&self.client().await?, id).await
    }

    async fn rename_conversation(
        &self,
        id: ConversationId,
        actor: UserId,
        name: String,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let stmt = tx
            .prepare_cached("SELECT team_id FROM channels WHERE conversation_id = $1")
            .await
            .map_err(pg)?;
        let team: Option<i64> = tx
            .query_opt(&stmt, &[&id.0])
            .await
            .map_err(pg)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(pg)?;
        if let Some(team) = team {
            // The team's row lock serializes the name checks of its channels.
            super::teams::lock_team(&tx, TeamId(team)).await?;
            if super::teams::channel_name_taken(&tx, TeamId(team), &name, Some(id)).await? {
                return Err(StorageError::Conflict);
            }
        }
        let stmt = tx
            .prepare_cached("UPDATE conversations SET name = $1 WHERE id = $2")
            .await
            .map_err(pg)?;
        let n = tx.execute(&stmt, &[&name, &id.0]).await.map_err(pg)?;
        if n == 0 {
            return Err(StorageError::NotFound);
        }
        let event = append_event(
            &tx,
            id,
            actor,
            now_ms,
            EventData::ConversationRenamed { name },
        )
        .await?;
        let committed = single_event(&tx, id, event).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn add_members(
        &self,
        id: ConversationId,
        actor: UserId,
        users: Vec<UserId>,
        now_ms: i64,
        notice: Option<AddedNotice>,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Serializes this check-then-insert with other changes of the conversation's members.
        lock_conversation(&tx, id).await?;
        let mut committed = Committed::default();
        let mut new = Vec::with_capacity(users.len());
        for user in users {
            if !new.contains(&user) && member(&tx, id, user).await?.is_none() {
                new.push(user);
            }
        }
        let mut heads = new.clone();
        heads.sort_by_key(|u| u.0);
        super::log::lock_user_heads(&tx, heads.iter().copied()).await?;
        for user in new {
            add_member(
                &tx,
                id,
                actor,
                user,
                MemberRole::Member,
                now_ms,
                &mut committed,
            )
            .await?;
            if let Some(notice) = &notice {
                insert_added_notice(&tx, notice, user, now_ms, &mut committed).await?;
            }
        }
        committed.recipients = member_ids(&tx, id).await?;
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn remove_member(
        &self,
        id: ConversationId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        // Two owners leaving at once must not both pick the other as heir.
        lock_conversation(&tx, id).await?;
        let stmt = tx
            .prepare_cached(
                "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2
                 RETURNING role",
            )
            .await
            .map_err(pg)?;
        let Some(row) = tx.query_opt(&stmt, &[&id.0, &user.0]).await.map_err(pg)? else {
            return Err(StorageError::NotFound);
        };
        let role: String = row.try_get(0).map_err(pg)?;
        let mut events =
            vec![append_event(&tx, id, actor, now_ms, EventData::MemberRemoved { user }).await?];
        // A conversation is never left without an owner: the longest-standing admin, else the
        // longest-standing member, takes over in the same transaction.
        if role == "owner" {
            let stmt = tx
                .prepare_cached(
                    "SELECT user_id FROM conversation_members WHERE conversation_id = $1
                     ORDER BY role = 'admin' DESC, joined_seq, user_id LIMIT 1",
                )
                .await
                .map_err(pg)?;
            let heir: Option<i64> = tx
                .query_opt(&stmt, &[&id.0])
                .await
                .map_err(pg)?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(pg)?;
            if let Some(heir) = heir {
                let stmt = tx
                    .prepare_cached(
                        "UPDATE conversation_members SET role = 'owner'
                         WHERE conversation_id = $1 AND user_id = $2",
                    )
                    .await
                    .map_err(pg)?;
                tx.execute(&stmt, &[&id.0, &heir]).await.map_err(pg)?;
                events.push(
                    append_event(
                        &tx,
                        id,
                        actor,
                        now_ms,
                        EventData::MemberRoleChanged {
                            user: UserId(heir),
                            role: MemberRole::Owner,
                        },
                    )
                    .await?,
                );
            }
        }
        let user_event = append_user_event(
            &tx,
            user,
            now_ms,
            UserEventData::ConversationRemoved { conversation: id },
        )
        .await?;
        let committed = Committed {
            events,
            recipients: member_ids(&tx, id).await?,
            user_events: vec![user_event],
        };
        super::commit(tx).await?;
        Ok(committed)
    }

    async fn conversations_of(
        &self,
        user: UserId,
    ) -> Result<Vec<ConversationSummary>, StorageError> {
        let mut c = self.client().await?;
        // One snapshot for the list and every summary in it.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let stmt = tx
            .prepare_cached(
                "SELECT c.id FROM conversation_members m
                 JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.user_id = $1
                 ORDER BY c.last_activity_at DESC, c.id DESC",
            )
            .await
            .map_err(pg)?;
        let ids = tx
            .query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map(ConversationId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pg)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = summary(&tx, id, user).await? {
                out.push(s);
            }
        }
        tx.commit().await.map_err(pg)?; // read-only
        Ok(out)
    }

    async fn conversation_summary(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<ConversationSummary>, StorageError> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let out = summary(&tx, id, user).await?;
        tx.commit().await.map_err(pg)?; // read-only
        Ok(out)
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        user: UserId,
        seq: i64,
        now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let stmt = tx
            // Locked first, as every change of the conversation does, so that this never holds
            // the member's row while waiting for the conversation's.
            .prepare_cached("SELECT last_seq FROM conversations WHERE id = $1 FOR UPDATE")
            .await
            .map_err(pg)?;
        let head: i64 = tx
            .query_opt(&stmt, &[&id.0])
            .await
            .map_err(pg)?
            .ok_or(StorageError::NotFound)?
            .try_get(0)
            .map_err(pg)?;
        let target = seq.min(head);
        // The condition is evaluated again on the locked row, so of two concurrent moves only
        // the one that still moves forward writes.
        let stmt = tx
            .prepare_cached(
                "UPDATE conversation_members SET read_seq = $1
                 WHERE conversation_id = $2 AND user_id = $3 AND read_seq < $1",
            )
            .await
            .map_err(pg)?;
        let moved = tx
            .execute(&stmt, &[&target, &id.0, &user.0])
            .await
            .map_err(pg)?;
        if moved == 0 {
            return Ok(None);
        }
        let event =
            append_event(&tx, id, user, now_ms, EventData::Read { user, seq: target }).await?;
        let committed = Committed {
            events: vec![event],
            recipients: member_ids(&tx, id).await?,
            user_events: Vec::new(),
        };
        super::commit(tx).await?;
        Ok(Some(committed))
    }

    async fn contacts_of(&self, user: UserId) -> Result<Vec<UserId>, StorageError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT o.user_id FROM conversation_members m
                 JOIN conversation_members o ON o.conversation_id = m.conversation_id
                 WHERE m.user_id = $1 AND o.user_id != $1
                 UNION
                 SELECT contact_id FROM contacts WHERE user_id = $1",
            )
            .await
            .map_err(pg)?;
        c.query(&stmt, &[&user.0])
            .await
            .map_err(pg)?
            .iter()
            .map(|r| r.try_get(0).map(UserId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pg)
    }
}
