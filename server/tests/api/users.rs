//! Profiles, lookup by id and the paginated directory search.

use crate::support::*;
use jeco_shared::users::{User, UserPage};
use serde_json::json;

async fn patch_me(s: &TestServer, token: &str, body: serde_json::Value) -> reqwest::Response {
    s.http()
        .patch(s.url("/api/v1/users/me"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn update_profile_sets_keeps_and_clears_fields() {
    let s = TestServer::start().await;
    let t = s.register("ivy").await;
    let resp = patch_me(
        &s,
        &t.access_token,
        json!({"display_name": "Ivy", "bio": "hello", "status_text": "busy"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let u: User = resp.json().await.unwrap();
    assert_eq!(
        (
            u.display_name.as_deref(),
            u.bio.as_deref(),
            u.status_text.as_deref()
        ),
        (Some("Ivy"), Some("hello"), Some("busy"))
    );

    // Absent fields stay; null and "" clear.
    let u: User = patch_me(&s, &t.access_token, json!({"bio": null, "status_text": ""}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (u.display_name.as_deref(), u.bio, u.status_text),
        (Some("Ivy"), None, None)
    );

    let resp = patch_me(&s, &t.access_token, json!({"bio": "x".repeat(501)})).await;
    let err = expect_error(resp, 400, "validation_failed").await;
    assert!(err.error.fields.unwrap().contains_key("bio"));
    let resp = patch_me(&s, &t.access_token, json!({"nickname": "nope"})).await;
    let err = expect_error(resp, 400, "validation_failed").await;
    assert!(err.error.fields.unwrap().contains_key("nickname"));

    let me: User = s
        .get("/api/v1/users/me", Some(&t.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me.display_name.as_deref(),
        Some("Ivy"),
        "failed updates changed nothing"
    );
}

#[tokio::test]
async fn user_by_id() {
    let s = TestServer::start().await;
    let a = s.register("jack").await;
    let b = s.register("kate").await;
    let path = format!("/api/v1/users/{}", b.user.id);
    let u: User = s
        .get(&path, Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u, b.user);
    expect_error(s.get(&path, None).await, 401, "unauthorized").await;
    expect_error(
        s.get("/api/v1/users/999999", Some(&a.access_token)).await,
        404,
        "not_found",
    )
    .await;
    expect_error(
        s.get("/api/v1/users/abc", Some(&a.access_token)).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn search_by_prefix_with_keyset_pages() {
    let s = TestServer::start().await;
    let me = s.register("zed").await;
    for name in ["ann", "anna", "annabel", "bob", "carl"] {
        s.register(name).await;
    }
    let bob = s
        .login("bob", PASSWORD)
        .await
        .json::<jeco_shared::auth::TokenResponse>()
        .await
        .unwrap();
    let resp = s
        .http()
        .patch(s.url("/api/v1/users/me"))
        .bearer_auth(&bob.access_token)
        .json(&json!({"display_name": "Annie Bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/users?q=ANN&limit=2".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: UserPage = s
            .get(&path, Some(&me.access_token))
            .await
            .json()
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|u| u.username));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["ann", "anna", "annabel", "bob"]);
    assert_eq!(pages, 2);

    let all: UserPage = s
        .get("/api/v1/users", Some(&me.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    assert!(all.next_cursor.is_none());

    let q = |p: &'static str| s.get(p, Some(&me.access_token));
    expect_error(q("/api/v1/users?limit=0").await, 400, "validation_failed").await;
    expect_error(q("/api/v1/users?limit=101").await, 400, "validation_failed").await;
    expect_error(q("/api/v1/users?limit=many").await, 400, "bad_request").await;
    expect_error(q("/api/v1/users?cursor=!!").await, 400, "validation_failed").await;
    expect_error(s.get("/api/v1/users?q=a", None).await, 401, "unauthorized").await;
}
