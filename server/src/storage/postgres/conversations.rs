//! [`ConversationStore`] on PostgreSQL.

use super::PgStorage;
use crate::storage::StorageError;
use crate::storage::conversations::*;
use crate::storage::events::Committed;
use crate::storage::messages::MessageRecord;
use crate::storage::notifications::AddedNotice;
use async_trait::async_trait;
use jeco_shared::conversations::{ConversationKind, MemberRole};
use jeco_shared::{ConversationId, UserId};

#[async_trait]
impl ConversationStore for PgStorage {
    async fn create_group(
        &self,
        group: NewGroup,
    ) -> Result<(ConversationRecord, Committed), StorageError> {
        // TEMP (hC): just enough for the message checks; hD's real one replaces it.
        use super::pg;
        use crate::storage::events::{EventData, UserEventData};
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO conversations (kind, name, created_by, created_at, last_activity_at)
                 VALUES ('group', $1, $2, $3, $3) RETURNING id",
                &[&group.name, &group.owner.0, &group.now_ms],
            )
            .await
            .map_err(pg)?
            .get(0);
        let id = ConversationId(id);
        let mut committed = Committed::default();
        committed.events.push(
            super::log::append_event(
                &tx,
                id,
                group.owner,
                group.now_ms,
                EventData::ConversationCreated {
                    kind: ConversationKind::Group,
                    name: Some(group.name.clone()),
                },
            )
            .await?,
        );
        let mut members = vec![(group.owner, "owner", MemberRole::Owner)];
        members.extend(
            group
                .members
                .iter()
                .map(|&u| (u, "member", MemberRole::Member)),
        );
        for (user, role_text, role) in members {
            let event = super::log::append_event(
                &tx,
                id,
                group.owner,
                group.now_ms,
                EventData::MemberAdded { user, role },
            )
            .await?;
            tx.execute(
                "INSERT INTO conversation_members
                     (conversation_id, user_id, role, joined_at, joined_seq)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id.0, &user.0, &role_text, &group.now_ms, &event.seq],
            )
            .await
            .map_err(pg)?;
            committed.user_events.push(
                super::log::append_user_event(
                    &tx,
                    user,
                    group.now_ms,
                    UserEventData::ConversationAdded {
                        conversation: id,
                        from_seq: event.seq,
                    },
                )
                .await?,
            );
            committed.events.push(event);
        }
        committed.recipients = super::log::member_ids(&tx, id).await?;
        tx.commit().await.map_err(pg)?;
        let record = self.conversation(id).await?.ok_or(StorageError::NotFound)?;
        Ok((record, committed))
    }

    async fn open_direct(
        &self,
        _a: UserId,
        _b: UserId,
        _now_ms: i64,
    ) -> Result<(ConversationRecord, Option<Committed>), StorageError> {
        Err(super::not_yet("open_direct"))
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationRecord>, StorageError> {
        // TEMP (hC): just enough for the message checks; hD's real one replaces it.
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(
                "SELECT id, kind, name, created_by, created_at, last_seq, last_activity_at
                 FROM conversations WHERE id = $1",
                &[&id.0],
            )
            .await
            .map_err(super::pg)?
        else {
            return Ok(None);
        };
        Ok(Some(ConversationRecord {
            id: ConversationId(r.get(0)),
            kind: match r.get::<_, &str>(1) {
                "channel" => ConversationKind::Channel,
                "direct" => ConversationKind::Direct,
                _ => ConversationKind::Group,
            },
            name: r.get(2),
            created_by: UserId(r.get(3)),
            created_at_ms: r.get(4),
            last_seq: r.get(5),
            last_activity_ms: r.get(6),
        }))
    }

    async fn member(
        &self,
        _id: ConversationId,
        _user: UserId,
    ) -> Result<Option<MemberRecord>, StorageError> {
        Err(super::not_yet("member"))
    }

    async fn members(&self, _id: ConversationId) -> Result<Vec<MemberRecord>, StorageError> {
        Err(super::not_yet("members"))
    }

    async fn rename_conversation(
        &self,
        _id: ConversationId,
        _actor: UserId,
        _name: String,
        _now_ms: i64,
    ) -> Result<Committed, StorageError> {
        Err(super::not_yet("rename_conversation"))
    }

    async fn add_members(
        &self,
        id: ConversationId,
        actor: UserId,
        users: Vec<UserId>,
        now_ms: i64,
        _notice: Option<AddedNotice>,
    ) -> Result<Committed, StorageError> {
        // TEMP (hC): just enough for the message checks; hD's real one replaces it.
        use super::pg;
        use crate::storage::events::{EventData, UserEventData};
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let mut committed = Committed::default();
        for user in users {
            let event = super::log::append_event(
                &tx,
                id,
                actor,
                now_ms,
                EventData::MemberAdded {
                    user,
                    role: MemberRole::Member,
                },
            )
            .await?;
            tx.execute(
                "INSERT INTO conversation_members
                     (conversation_id, user_id, role, joined_at, joined_seq)
                 VALUES ($1, $2, 'member', $3, $4)",
                &[&id.0, &user.0, &now_ms, &event.seq],
            )
            .await
            .map_err(pg)?;
            committed.user_events.push(
                super::log::append_user_event(
                    &tx,
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
        }
        committed.recipients = super::log::member_ids(&tx, id).await?;
        tx.commit().await.map_err(pg)?;
        Ok(committed)
    }

    async fn remove_member(
        &self,
        id: ConversationId,
        actor: UserId,
        user: UserId,
        now_ms: i64,
    ) -> Result<Committed, StorageError> {
        // TEMP (hC): just enough for the message checks; hD's real one replaces it.
        use super::pg;
        use crate::storage::events::EventData;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let event =
            super::log::append_event(&tx, id, actor, now_ms, EventData::MemberRemoved { user })
                .await?;
        tx.execute(
            "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
            &[&id.0, &user.0],
        )
        .await
        .map_err(pg)?;
        let committed = super::log::single_event(&tx, id, event).await?;
        tx.commit().await.map_err(pg)?;
        Ok(committed)
    }

    async fn conversations_of(
        &self,
        _user: UserId,
    ) -> Result<Vec<ConversationSummary>, StorageError> {
        Err(super::not_yet("conversations_of"))
    }

    async fn conversation_summary(
        &self,
        _id: ConversationId,
        _user: UserId,
    ) -> Result<Option<ConversationSummary>, StorageError> {
        Err(super::not_yet("conversation_summary"))
    }

    async fn mark_read(
        &self,
        _id: ConversationId,
        _user: UserId,
        _seq: i64,
        _now_ms: i64,
    ) -> Result<Option<Committed>, StorageError> {
        Err(super::not_yet("mark_read"))
    }

    async fn contacts_of(&self, _user: UserId) -> Result<Vec<UserId>, StorageError> {
        Err(super::not_yet("contacts_of"))
    }
}
