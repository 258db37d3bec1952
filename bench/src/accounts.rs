//! Creating the benchmark's users over the real HTTP API (`POST /api/v1/auth/register`).
//!
//! Registration hashes a password with argon2id, which is deliberately slow and memory-hard, so a
//! scenario registers a few hundred users and spreads many connections over each (one user with
//! several devices) instead of registering one user per connection. Requests run a few at a time:
//! on two cores more parallel hashes only queue up inside the server.

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use jeco_shared::API_PREFIX;
use jeco_shared::auth::{RegisterRequest, TokenResponse};
use std::time::Duration;

/// Password of every benchmark user (they live in a throwaway or benchmark-only database).
const PASSWORD: &str = "jeco-bench-password";

/// A signed-in benchmark user.
#[derive(Debug, Clone)]
pub struct BenchUser {
    pub user_id: jeco_shared::UserId,
    pub username: String,
    pub access_token: String,
}

/// Registers `count` users named `<prefix>_<n>`, at most `parallel` at a time.
pub async fn register_users(
    base_url: &str,
    prefix: &str,
    count: usize,
    parallel: usize,
) -> Result<Vec<BenchUser>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{base_url}{API_PREFIX}/auth/register");
    let results: Vec<Result<BenchUser>> = stream::iter(0..count)
        .map(|n| {
            let http = http.clone();
            let url = url.clone();
            let username = format!("{prefix}_{n}");
            async move { register(&http, &url, username).await }
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

async fn register(http: &reqwest::Client, url: &str, username: String) -> Result<BenchUser> {
    let body = RegisterRequest {
        username: username.clone(),
        password: PASSWORD.into(),
        display_name: None,
    };
    let response = http
        .post(url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("registering {username}"))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!("registering {username}: HTTP {status}: {text}");
    }
    let tokens: TokenResponse = response.json().await.context("register response")?;
    Ok(BenchUser {
        user_id: tokens.user.id,
        username,
        access_token: tokens.access_token,
    })
}

/// A short random tag so users of runs against a long-lived server (`--addr`) do not collide.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("b{:x}{:05x}", std::process::id() & 0xfff, nanos & 0xfffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_built_from_the_tag_are_valid() {
        let name = format!("{}_{}", run_tag(), 199_999);
        assert_eq!(jeco_shared::auth::username_problem(&name), None, "{name}");
    }
}
