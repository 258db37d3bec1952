//! Creating the benchmark's conversations over the real HTTP API (`POST /api/v1/conversations`).
//!
//! Every scenario that sends messages does it in group rooms it creates itself: the first member
//! creates the group with the others as `member_ids` (at most `GROUP_MEMBERS_MAX` members each).

use crate::accounts::BenchUser;
use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use jeco_shared::conversations::{Conversation, CreateGroupRequest};
use jeco_shared::{API_PREFIX, ConversationId};
use std::time::Duration;

/// A group to create: its creator (an index into the users) and its other members.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub name: String,
    pub members: Vec<usize>,
}

/// Creates the groups, `parallel` at a time, and returns their ids in plan order.
pub async fn create_groups(
    base_url: &str,
    users: &[BenchUser],
    plans: &[GroupPlan],
    parallel: usize,
) -> Result<Vec<ConversationId>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{base_url}{API_PREFIX}/conversations");
    let results: Vec<Result<ConversationId>> = stream::iter(plans)
        .map(|plan| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let (first, rest) = plan.members.split_first().context("empty group")?;
                let body = CreateGroupRequest {
                    name: plan.name.clone(),
                    member_ids: rest.iter().map(|i| users[*i].user_id).collect(),
                };
                let response = http
                    .post(&url)
                    .bearer_auth(&users[*first].access_token)
                    .json(&body)
                    .send()
                    .await
                    .with_context(|| format!("creating group {}", plan.name))?;
                let status = response.status();
                if !status.is_success() {
                    let text = response.text().await.unwrap_or_default();
                    bail!("creating group {}: HTTP {status}: {text}", plan.name);
                }
                let conversation: Conversation = response.json().await?;
                Ok(conversation.id)
            }
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// Members of conversation `r` of `count` when `members` each are drawn from `users` users:
/// consecutive users, wrapping around, so each user is in about `count × members / users`
/// conversations and no conversation has a user twice (`members <= users`).
pub fn members_of(r: usize, members: usize, users: usize) -> Vec<usize> {
    (0..members).map(|j| (r * members + j) % users).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_distinct_and_spread() {
        let m = members_of(3, 5, 12);
        assert_eq!(m, vec![3, 4, 5, 6, 7]);
        let m = members_of(2, 5, 12);
        assert_eq!(m, vec![10, 11, 0, 1, 2]);
        let mut seen = std::collections::HashSet::new();
        assert!(m.iter().all(|u| seen.insert(*u)));
    }
}
