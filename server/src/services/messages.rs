//! Messages: sending (idempotent by client id, rate-limited, acknowledged only after commit),
//! history, threads, edits, deletes, reactions and pins.
//!
//! Every operation first establishes that the caller is a member of the conversation (else
//! `not_found`) and that the message belongs to that conversation (else `not_found`), then applies
//! the rule of the operation: only the author edits; the author or a conversation admin deletes; any
//! member reacts and pins. An archived channel takes nothing new — no sends, edits, reactions or
//! pins (`conversation_archived`) — but stays readable.

use super::access::Access;
use super::fanout::{Fanout, publish_committed};
use super::mentions;
use super::notifications;
use super::rate::{Budget, SharedBudgets};
use super::render::rfc3339;
use super::{Principal, ServiceError, render};
use crate::storage::group_commit::SendQueue;
use crate::storage::{
    Admission, HistoryAnchor, HistoryPage, MentionSet, MessageRecord, NewMessage, NotifyPlan,
    SendOutcome, SendRefusal, Storage,
};
use jeco_shared::events::PresenceStatus;
use jeco_shared::media::ATTACHMENTS_PER_MESSAGE_MAX;
use jeco_shared::messages::{
    CLIENT_ID_MAX, MESSAGE_PAGE_DEFAULT, MESSAGE_PAGE_MAX, Message, MessagePage, ReactionToggled,
    SendMessageRequest, THREAD_LIST_DEFAULT, THREAD_LIST_MAX, ThreadList, ThreadSummary,
};
use jeco_shared::{AttachmentId, ConversationId, MessageId, UserId};
use std::sync::Arc;
use tokio::sync::Notify;

/// Message limits, from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct MessageSettings {
    pub max_chars: usize,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// Wall time for edits, deletes and reactions (`Config::clock`).
    pub clock: crate::clock::Clock,
}

impl MessageSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            max_chars: config.message_max_chars,
            rate_per_sec: config.message_rate_per_sec,
            rate_burst: config.message_rate_burst,
            clock: config.clock.clone(),
        }
    }
}

fn attachments_unavailable() -> ServiceError {
    ServiceError::field(
        "attachment_ids",
        "each attachment must be a completed upload of yours that is not attached to a message yet",
    )
}

/// Where a history page starts (validated from query parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryQuery {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub around: Option<MessageId>,
    pub limit: Option<u32>,
}

pub struct Messages {
    storage: Arc<dyn Storage>,
    fanout: Arc<dyn Fanout>,
    access: Access,
    settings: MessageSettings,
    /// Sends per user: the cluster's shared budget when there is one (see [`super::rate`]).
    limiter: Arc<Budget<UserId>>,
    /// Told when a delete may have left media without references (see `media::sweep`).
    orphans: Arc<Notify>,
    /// Sends are stored in batches as the backend chooses, and published by the writer (see
    /// [`crate::storage::group_commit`]).
    commits: Arc<dyn SendQueue>,
}

fn page(p: HistoryPage) -> MessagePage {
    MessagePage {
        items: p.items.iter().map(render::message).collect(),
        has_more_before: p.more_before,
        has_more_after: p.more_after,
    }
}

/// A unit of the shared budget taken for a send: given back when dropped, that is, unless the send
/// stored a message (then it is forgotten). Dropping covers every early return.
struct Refund {
    budget: Arc<Budget<UserId>>,
    user: UserId,
    taken: super::rate::Taken,
    spent: bool,
}

impl Drop for Refund {
    fn drop(&mut self) {
        if self.spent {
            return;
        }
        let (budget, user, taken) = (self.budget.clone(), self.user, self.taken);
        tokio::spawn(async move { budget.give_back(user, taken).await });
    }
}

impl Messages {
    pub fn new(
        storage: Arc<dyn Storage>,
        fanout: Arc<dyn Fanout>,
        access: Access,
        settings: MessageSettings,
        orphans: Arc<Notify>,
        shared: Option<Arc<dyn SharedBudgets>>,
    ) -> Self {
        Self {
            commits: {
                let fanout = fanout.clone();
                storage.clone().send_queue(Arc::new(move |committed| {
                    publish_committed(fanout.as_ref(), committed)
                }))
            },
            storage,
            fanout,
            access,
            limiter: Arc::new(Budget::per_second(
                "message",
                settings.rate_per_sec,
                settings.rate_burst,
                shared,
            )),
            settings,
            orphans,
        }
    }

    /// Checks a message's text; it may be empty only when the message has attachments.
    fn valid_text(&self, text: &str, has_attachments: bool) -> Result<String, ServiceError> {
        if text.trim().is_empty() {
            if has_attachments {
                return Ok(String::new());
            }
            return Err(ServiceError::field("text", "must not be empty"));
        }
        // NUL is no text a person types, and PostgreSQL's text cannot hold it: refused on every
        // backend alike.
        if text.contains('\0') {
            return Err(ServiceError::field(
                "text",
                "must not contain NUL characters",
            ));
        }
        if text.chars().count() > self.settings.max_chars {
            return Err(ServiceError::field(
                "text",
                format!("must be at most {} characters", self.settings.max_chars),
            ));
        }
        Ok(text.to_owned())
    }

    /// Resolves `@username` to members of the conversation; other names are plain text.
    async fn mentions(
        &self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<MentionSet, ServiceError> {
        let parsed = mentions::parse(text);
        if parsed.usernames.is_empty() {
            return Ok(MentionSet {
                users: Vec::new(),
                channel: parsed.channel,
                here: parsed.here,
            });
        }
        let members = self.storage.members(conversation).await?;
        let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        self.mentions_among(&ids, text).await
    }

    /// Resolves `@username` to the given members.
    async fn mentions_among(
        &self,
        members: &[UserId],
        text: &str,
    ) -> Result<MentionSet, ServiceError> {
        let parsed = mentions::parse(text);
        let mut users = Vec::new();
        if !parsed.usernames.is_empty() {
            for name in &parsed.usernames {
                if let Some(u) = self.storage.user_by_username(name).await?
                    && members.contains(&u.id)
                    && !users.contains(&u.id)
                {
                    users.push(u.id);
                }
            }
        }
        Ok(MentionSet {
            users,
            channel: parsed.channel,
            here: parsed.here,
        })
    }

    /// Sends a message. A retry with the same `client_id` returns the original message (and does
    /// not publish again). Returns only after the message is committed, with whether it was created
    /// now.
    pub async fn send(
        &self,
        who: &Principal,
        conversation: ConversationId,
        req: SendMessageRequest,
    ) -> Result<(Message, bool), ServiceError> {
        if req.client_id.is_empty() || req.client_id.len() > CLIENT_ID_MAX {
            return Err(ServiceError::field(
                "client_id",
                format!("must be 1 to {CLIENT_ID_MAX} bytes"),
            ));
        }
        if req.thread_only && req.reply_to.is_none() {
            return Err(ServiceError::field(
                "thread_only",
                "only a reply (with reply_to) can stay in its thread",
            ));
        }
        let text = self.valid_text(&req.text, !req.attachment_ids.is_empty())?;
        self.check_attachments(&req.attachment_ids)?;
        let parsed = mentions::parse(&text);
        // In a cluster the budget is the cluster's, in Redis: taken here, since no round trip can
        // run inside the batch's transaction, and given back below when the send creates nothing
        // (refused, or answered from an earlier send with this client_id) so that, as on one
        // server, only a stored message costs budget.
        let mut refund = if self.limiter.is_shared() {
            match self.limiter.take(who.user_id).await {
                Ok(taken) => Some(Refund {
                    budget: self.limiter.clone(),
                    user: who.user_id,
                    taken,
                    spent: false,
                }),
                Err(wait) => return Err(ServiceError::RateLimited { retry_after: wait }),
            }
        } else {
            None
        };
        let taken = refund.as_ref().map(|r| r.taken);
        let mut admission = Admission::always();
        let (mentions, notify) = if parsed.usernames.is_empty() && req.reply_to.is_none() {
            // The common send reads nothing first: whether the sender may send here (member, not
            // an archived channel) is checked by the writer inside the batch's transaction, and
            // who is notified is decided there from the conversation it reads (see
            // `group_commit`). One thread hand-off per batch instead of one read per message.
            // The rate limit is asked there too, after those checks, as it was asked after them
            // here: a refused send costs no budget.
            let sender = who.user_id;
            if taken.is_none() {
                let limiter = self.limiter.clone();
                admission = Admission::by(move || limiter.take_local(sender));
            }
            let (channel, here) = (parsed.channel, parsed.here);
            let fanout = self.fanout.clone();
            let notify = NotifyPlan::decide_in_transaction(move |kind, members| {
                notifications::plan(
                    &notifications::MessageFacts {
                        kind,
                        sender,
                        members,
                        mentioned: &[],
                        mentions_channel: channel,
                        mentions_here: here,
                        parent_author: None,
                    },
                    // Only asked for `@here`.
                    |u| fanout.presence(u) == PresenceStatus::Online,
                )
            });
            let mentions = MentionSet {
                users: Vec::new(),
                channel,
                here,
            };
            (mentions, notify)
        } else {
            // `@username` resolves to members only, and a reply must be to a message of this
            // conversation: both need the conversation first. Membership, archive state, kind and
            // members in one read; the writer checks membership and archive state again in its
            // transaction.
            let context = self
                .storage
                .send_context(conversation, who.user_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            if context.archived {
                return Err(ServiceError::ConversationArchived);
            }
            let parent_author = match req.reply_to {
                Some(parent) => Some(self.message_in(conversation, parent).await?.sender_id),
                None => None,
            };
            if taken.is_none()
                && let Err(wait) = self.limiter.take_local(who.user_id)
            {
                return Err(ServiceError::RateLimited { retry_after: wait });
            }
            let (kind, members) = (context.kind, context.members);
            let mentions = self.mentions_among(&members, &text).await?;
            // Decided now, written in the send's transaction (see `notifications`); `@here` looks
            // at who is online at this moment.
            let notify = notifications::plan(
                &notifications::MessageFacts {
                    kind,
                    sender: who.user_id,
                    members: &members,
                    mentioned: &mentions.users,
                    mentions_channel: mentions.channel,
                    mentions_here: mentions.here,
                    parent_author,
                },
                |u| self.fanout.presence(u) == PresenceStatus::Online,
            );
            (mentions, NotifyPlan::fixed(notify))
        };
        let outcome = self
            .commits
            .send(NewMessage {
                conversation_id: conversation,
                sender_id: who.user_id,
                client_id: req.client_id,
                body: text,
                reply_to: req.reply_to,
                thread_only: req.thread_only,
                mentions,
                attachments: req.attachment_ids.clone(),
                notify,
                admission,
                now_ms: self.settings.clock.now_ms(),
            })
            .await
            .map_err(|e| match e {
                // Attached by a concurrent send, or swept, since the check above.
                crate::storage::StorageError::Conflict => attachments_unavailable(),
                other => other.into(),
            })?;
        if let (SendOutcome::Created { .. }, Some(refund)) = (&outcome, refund.as_mut()) {
            // Stored: the unit is spent.
            refund.spent = true;
        }
        match outcome {
            // Already published by the writer, in position order.
            SendOutcome::Created { message, .. } => Ok((render::message(&message), true)),
            // `client_id` is unique per sender, not per conversation. A key reused in another
            // conversation must not hand back that other message: its current state (reactions,
            // pin, replies) would reach a caller who may have been removed from it since, and
            // the ack would claim a send into the wrong conversation.
            SendOutcome::Duplicate(message) if message.conversation_id != conversation => Err(
                ServiceError::Conflict("client_id was already used in another conversation".into()),
            ),
            SendOutcome::Duplicate(message) => Ok((render::message(&message), false)),
            // Not a member (or no such conversation): the same answer either way.
            SendOutcome::Refused(SendRefusal::NotMember) => Err(ServiceError::NotFound),
            SendOutcome::Refused(SendRefusal::Archived) => Err(ServiceError::ConversationArchived),
            SendOutcome::Refused(SendRefusal::RateLimited { retry_after }) => {
                Err(ServiceError::RateLimited { retry_after })
            }
        }
    }

    /// A bounded list without repeats. That each is a completed upload of the sender not yet
    /// attached is checked by storage inside the send's transaction (after the client-id lookup,
    /// so a retried send still gets its original message).
    fn check_attachments(&self, ids: &[AttachmentId]) -> Result<(), ServiceError> {
        if ids.len() > ATTACHMENTS_PER_MESSAGE_MAX {
            return Err(ServiceError::field(
                "attachment_ids",
                format!("at most {ATTACHMENTS_PER_MESSAGE_MAX} attachments per message"),
            ));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(ServiceError::field(
                    "attachment_ids",
                    format!("attachment {id} is listed twice"),
                ));
            }
        }
        Ok(())
    }

    /// The message, if it is in `conversation`.
    async fn message_in(
        &self,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<MessageRecord, ServiceError> {
        self.storage
            .message(id)
            .await?
            .filter(|m| m.conversation_id == conversation)
            .ok_or(ServiceError::NotFound)
    }

    /// A message the caller can see, for an action on it.
    async fn visible(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<(crate::storage::MemberRecord, MessageRecord), ServiceError> {
        let me = self
            .access
            .require_member(conversation, who.user_id)
            .await?;
        Ok((me, self.message_in(conversation, id).await?))
    }

    pub async fn get(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Message, ServiceError> {
        let (_, m) = self.visible(who, conversation, id).await?;
        Ok(render::message(&m))
    }

    pub async fn history(
        &self,
        who: &Principal,
        conversation: ConversationId,
        q: HistoryQuery,
    ) -> Result<MessagePage, ServiceError> {
        let limit = q.limit.unwrap_or(MESSAGE_PAGE_DEFAULT);
        if limit == 0 || limit > MESSAGE_PAGE_MAX {
            return Err(ServiceError::field(
                "limit",
                format!("must be 1 to {MESSAGE_PAGE_MAX}"),
            ));
        }
        let anchor = match (q.before, q.after, q.around) {
            (None, None, None) => HistoryAnchor::Latest,
            (Some(s), None, None) => HistoryAnchor::Before(s),
            (None, Some(s), None) => HistoryAnchor::After(s),
            (None, None, Some(id)) => HistoryAnchor::Around(id),
            _ => {
                return Err(ServiceError::BadRequest(
                    "give at most one of before, after and around".into(),
                ));
            }
        };
        self.access
            .require_member(conversation, who.user_id)
            .await?;
        Ok(page(
            self.storage.history(conversation, anchor, limit).await?,
        ))
    }

    pub async fn replies(
        &self,
        who: &Principal,
        conversation: ConversationId,
        parent: MessageId,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> Result<MessagePage, ServiceError> {
        let limit = limit.unwrap_or(MESSAGE_PAGE_DEFAULT);
        if limit == 0 || limit > MESSAGE_PAGE_MAX {
            return Err(ServiceError::field(
                "limit",
                format!("must be 1 to {MESSAGE_PAGE_MAX}"),
            ));
        }
        self.visible(who, conversation, parent).await?;
        Ok(page(
            self.storage
                .replies(parent, after.unwrap_or(0), limit)
                .await?,
        ))
    }

    /// The threads `who` started or replied to, newest reply first (the Threads view).
    pub async fn threads(
        &self,
        who: &Principal,
        limit: Option<u32>,
    ) -> Result<ThreadList, ServiceError> {
        let limit = limit.unwrap_or(THREAD_LIST_DEFAULT);
        if limit == 0 || limit > THREAD_LIST_MAX {
            return Err(ServiceError::field(
                "limit",
                format!("must be 1 to {THREAD_LIST_MAX}"),
            ));
        }
        let items = self
            .storage
            .threads_of(who.user_id, limit)
            .await?
            .iter()
            .map(|(root, newest_ms)| ThreadSummary {
                root: render::message(root),
                last_reply_at: rfc3339(*newest_ms),
            })
            .collect();
        Ok(ThreadList { items })
    }

    pub async fn edit(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
        text: &str,
    ) -> Result<Message, ServiceError> {
        let (_, m) = self.visible(who, conversation, id).await?;
        let text = self.valid_text(text, !m.attachments.is_empty())?;
        if m.deleted_at_ms.is_some() {
            return Err(ServiceError::NotFound);
        }
        if m.sender_id != who.user_id {
            return Err(ServiceError::Forbidden);
        }
        self.access.require_writable(conversation).await?;
        let mentions = self.mentions(conversation, &text).await?;
        let committed = self
            .storage
            .edit_message(
                id,
                who.user_id,
                text,
                mentions,
                self.settings.clock.now_ms(),
            )
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        self.get(who, conversation, id).await
    }

    pub async fn delete(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<(), ServiceError> {
        let (me, m) = self.visible(who, conversation, id).await?;
        if m.deleted_at_ms.is_some() {
            return Err(ServiceError::NotFound);
        }
        if m.sender_id != who.user_id && !self.access.moderates(&me).await? {
            return Err(ServiceError::Forbidden);
        }
        let committed = self
            .storage
            .delete_message(id, who.user_id, self.settings.clock.now_ms())
            .await?;
        publish_committed(self.fanout.as_ref(), &committed);
        if !m.attachments.is_empty() {
            self.orphans.notify_one();
        }
        Ok(())
    }

    /// Toggles the caller's reaction (`want: None`) or sets it present/absent, idempotently.
    pub async fn set_reaction(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
        emoji: &str,
        want: Option<bool>,
    ) -> Result<ReactionToggled, ServiceError> {
        let emoji = crate::names::emoji(emoji).map_err(|p| ServiceError::field("emoji", p))?;
        let (_, m) = self.visible(who, conversation, id).await?;
        if m.deleted_at_ms.is_some() {
            return Err(ServiceError::NotFound);
        }
        self.access.require_writable(conversation).await?;
        let (added, reactions, committed) = self
            .storage
            .set_reaction(
                id,
                who.user_id,
                emoji.to_owned(),
                want,
                self.settings.clock.now_ms(),
            )
            .await?;
        if let Some(committed) = committed {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        Ok(ReactionToggled {
            added,
            reactions: render::reactions(&reactions),
        })
    }

    pub async fn set_pinned(
        &self,
        who: &Principal,
        conversation: ConversationId,
        id: MessageId,
        pinned: bool,
    ) -> Result<Message, ServiceError> {
        let (_, m) = self.visible(who, conversation, id).await?;
        if m.deleted_at_ms.is_some() {
            return Err(ServiceError::NotFound);
        }
        self.access.require_writable(conversation).await?;
        if let Some(committed) = self
            .storage
            .set_pinned(id, who.user_id, pinned, self.settings.clock.now_ms())
            .await?
        {
            publish_committed(self.fanout.as_ref(), &committed);
        }
        self.get(who, conversation, id).await
    }

    pub async fn pins(
        &self,
        who: &Principal,
        conversation: ConversationId,
    ) -> Result<Vec<Message>, ServiceError> {
        self.access
            .require_member(conversation, who.user_id)
            .await?;
        Ok(self
            .storage
            .pins(conversation)
            .await?
            .iter()
            .map(render::message)
            .collect())
    }

    /// Who is in `conversation` (for the gateway), after checking `user` is.
    pub async fn member_ids(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Vec<UserId>, ServiceError> {
        self.access.member_ids(conversation, user).await
    }
}
