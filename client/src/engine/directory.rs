//! The directory: what a user can find and join beyond the conversations they are in — a
//! team's channels (the channel browser), people by name (the people picker) — and leaving a
//! channel or group again.
//!
//! These are online-only, like the rest of team administration (`people.rs`): a channel list
//! or a user search is the server's answer of the moment, not something the cache can vouch
//! for, and joining or leaving needs the server's consent. What they change is written to the
//! cache at once (a joined channel is snapshotted, a left one forgotten) so the sidebar does not
//! wait for the user event that follows through sync.

use super::{Engine, EngineError, EngineEvent, Result};
use jeco_shared::ConversationId;
use jeco_shared::endpoints::{Channels, RemoveConversationMember, SearchUsers};
use jeco_shared::ids::TeamId;
use jeco_shared::teams::Channel;
use jeco_shared::users::User;

/// The most people one search shows: enough to pick from, few enough to read.
const USER_SEARCH_LIMIT: u32 = 50;

impl Engine {
    /// A team's channels the user may see: every public one (joined or not) with its topic and
    /// member count, and the private ones the user is in. Sorted by name.
    pub async fn team_channels(&self, team: TeamId) -> Result<Vec<Channel>> {
        let mut list = self.call::<Channels>(&(team,), &()).await?.items;
        list.sort_by_key(|c| c.name.to_lowercase());
        Ok(list)
    }

    /// People whose username (or display name) starts with `query`; an empty query lists
    /// everyone, by username, up to [`USER_SEARCH_LIMIT`]. Their profiles go into the cache, so a
    /// person picked here has a name in the sidebar before any sync.
    pub async fn search_users(&self, query: &str) -> Result<Vec<User>> {
        let q = query.trim().trim_start_matches('@').to_owned();
        let page = self
            .call_with_query::<SearchUsers>(
                &(),
                &[("q", q), ("limit", USER_SEARCH_LIMIT.to_string())],
            )
            .await?;
        self.cache()?.upsert_users(&page.items)?;
        Ok(page.items)
    }

    /// Leaves a channel or group: the server removes the user, and the cache forgets the
    /// conversation (its messages, drafts and anything still queued for it) at once. A team's
    /// default channel is left by leaving the team (the server answers `conflict`).
    pub async fn leave_conversation(&self, id: ConversationId) -> Result<()> {
        let me = self.me().ok_or(EngineError::NotSignedIn)?;
        self.call::<RemoveConversationMember>(&(id, me.id), &())
            .await?;
        self.cache()?.remove_conversation(id)?;
        self.inner.emit(EngineEvent::ConversationsChanged);
        Ok(())
    }
}
