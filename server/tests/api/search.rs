//! Search: full-text over the caller's messages — matches, filters, pagination, highlights,
//! membership (non-members and removed members find nothing), edits and deletes, bad syntax.

use crate::support::*;
use jeco_shared::search::SearchPage;
use reqwest::Method;
use serde_json::json;

/// `/api/v1/search?…` with the pairs percent-encoded.
fn search_path(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x/api/v1/search").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

async fn search(s: &TestServer, token: &str, pairs: &[(&str, &str)]) -> SearchPage {
    let v = s
        .ok(Method::GET, &search_path(pairs), None, token, 200)
        .await;
    serde_json::from_value(v).unwrap()
}

fn texts(page: &SearchPage) -> Vec<&str> {
    page.items.iter().map(|h| h.message.text.as_str()).collect()
}

#[tokio::test]
async fn finds_filters_paginates_and_highlights() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let h = s.group(a, "H", &[]).await;
    s.say(a, g, "1", "the quick brown fox jumps").await;
    s.say(a, g, "2", "a lazy dog sleeps").await;
    let bobs = s.say(b, g, "3", "Quick thinking, bob").await;
    s.say(a, h, "4", "quicksand ahead").await;

    // Words match case-insensitively; newest first; prefixes with `*`.
    let page = search(&s, a, &[("q", "quick")]).await;
    assert_eq!(
        texts(&page),
        ["Quick thinking, bob", "the quick brown fox jumps"]
    );
    assert_eq!(page.next_cursor, None);
    let prefix = search(&s, a, &[("q", "quick*")]).await;
    assert_eq!(
        texts(&prefix),
        [
            "quicksand ahead",
            "Quick thinking, bob",
            "the quick brown fox jumps"
        ]
    );
    // The snippet highlights exactly the matching word.
    let fox = &page.items[1];
    let highlighted: Vec<&str> = fox
        .snippet
        .iter()
        .filter(|p| p.highlight)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(highlighted, ["quick"]);
    let joined: String = fox.snippet.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(joined, "the quick brown fox jumps");
    let phrase = search(&s, a, &[("q", "\"brown fox\"")]).await;
    assert_eq!(texts(&phrase), ["the quick brown fox jumps"]);
    assert_eq!(
        phrase.items[0]
            .snippet
            .iter()
            .filter(|p| p.highlight)
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>(),
        // A matched phrase is one highlighted piece.
        ["brown fox"]
    );

    // Filters: conversation, author, time.
    let gs = g.to_string();
    let in_h = search(
        &s,
        a,
        &[("q", "quick*"), ("conversation_id", &h.to_string())],
    )
    .await;
    assert_eq!(texts(&in_h), ["quicksand ahead"]);
    let by_bob = search(
        &s,
        a,
        &[("q", "quick*"), ("author_id", &bob.user.id.0.to_string())],
    )
    .await;
    assert_eq!(texts(&by_bob), ["Quick thinking, bob"]);
    let at = bobs["created_at"].as_str().unwrap();
    let since = search(&s, a, &[("q", "quick*"), ("after", at)]).await;
    assert_eq!(texts(&since), ["quicksand ahead", "Quick thinking, bob"]);
    let until = search(&s, a, &[("q", "quick*"), ("before", at)]).await;
    assert_eq!(texts(&until), ["the quick brown fox jumps"]);
    let g_only = search(&s, a, &[("q", "quick* OR lazy"), ("conversation_id", &gs)]).await;
    assert_eq!(g_only.items.len(), 3);

    // Pagination: one at a time, no duplicates, nothing lost.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut pairs = vec![("q", "quick*"), ("limit", "1")];
        if let Some(c) = &cursor {
            pairs.push(("cursor", c.as_str()));
        }
        let page = search(&s, a, &pairs).await;
        assert!(page.items.len() <= 1);
        seen.extend(page.items.iter().map(|h| h.message.text.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "quicksand ahead",
            "Quick thinking, bob",
            "the quick brown fox jumps"
        ]
    );
}

#[tokio::test]
async fn only_conversations_the_caller_is_in_now() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let (a, b, c) = (
        alice.access_token.as_str(),
        bob.access_token.as_str(),
        carol.access_token.as_str(),
    );
    let g = s.group(a, "G", &[bob.user.id.0]).await;
    let private = s.group(a, "Private", &[]).await;
    s.say(a, g, "1", "secret plans for friday").await;
    s.say(a, private, "2", "secret diary entry").await;

    assert_eq!(search(&s, a, &[("q", "secret")]).await.items.len(), 2);
    assert_eq!(
        texts(&search(&s, b, &[("q", "secret")]).await),
        ["secret plans for friday"]
    );
    // A non-member finds nothing, even naming the conversation.
    assert!(search(&s, c, &[("q", "secret")]).await.items.is_empty());
    assert!(
        search(
            &s,
            c,
            &[("q", "secret"), ("conversation_id", &g.to_string())]
        )
        .await
        .items
        .is_empty()
    );
    assert!(
        search(
            &s,
            b,
            &[("q", "diary"), ("conversation_id", &private.to_string())]
        )
        .await
        .items
        .is_empty()
    );
    // Removed, bob loses access at once.
    s.ok(
        Method::DELETE,
        &format!("/api/v1/conversations/{g}/members/{}", bob.user.id.0),
        None,
        a,
        204,
    )
    .await;
    assert!(search(&s, b, &[("q", "secret")]).await.items.is_empty());
    // Without a token there is no search at all.
    expect_error(
        s.get(&search_path(&[("q", "secret")]), None).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn edits_and_deletes_update_the_index() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    let m = s.say(a, g, "1", "meet at the harbour").await;
    s.say(a, g, "2", "harbour again").await;
    let url = format!("/api/v1/conversations/{g}/messages/{}", m["id"]);
    s.ok(
        Method::PATCH,
        &url,
        Some(json!({"text": "meet at the station"})),
        a,
        200,
    )
    .await;
    assert_eq!(
        texts(&search(&s, a, &[("q", "harbour")]).await),
        ["harbour again"]
    );
    let station = search(&s, a, &[("q", "station")]).await;
    assert_eq!(texts(&station), ["meet at the station"]);
    assert!(station.items[0].message.edited_at.is_some());
    s.ok(Method::DELETE, &url, None, a, 204).await;
    assert!(search(&s, a, &[("q", "station")]).await.items.is_empty());
    assert!(search(&s, a, &[("q", "meet")]).await.items.is_empty());
    assert_eq!(search(&s, a, &[("q", "harbour")]).await.items.len(), 1);
}

#[tokio::test]
async fn bad_queries_are_400_not_500() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    s.say(a, g, "1", "something to find").await;
    for (q, why) in [
        ("\"unbalanced", "quoted phrase is not closed"),
        ("find AND", "AND needs a search term on both sides"),
        ("(find", "parenthesis is not closed"),
        ("*", "'*' must follow a word"),
        ("- … !", "no words to search for"),
    ] {
        let body = expect_error(
            s.call(Method::GET, &search_path(&[("q", q)]), None, a)
                .await,
            400,
            "bad_request",
        )
        .await;
        assert!(
            body.error.message.starts_with("invalid search query")
                && body.error.message.contains(why),
            "{q}: {}",
            body.error.message
        );
    }
    // FTS5's own syntax and stray punctuation are only text: a column filter, NEAR, `^`, `-`.
    for (q, found) in [
        ("something: find", 1),
        ("nosuchcolumn: find", 0),
        ("NEAR(something find)", 0),
        ("^something -find", 1),
        ("\"to find\"", 1),
        ("somethin* NOT nothing", 1),
        ("nothing OR (find NOT missing)", 1),
        ("something NOT find", 0),
    ] {
        assert_eq!(search(&s, a, &[("q", q)]).await.items.len(), found, "{q}");
    }
    for (pairs, field) in [
        (vec![("q", "  ")], "q"),
        (vec![("q", "find"), ("limit", "0")], "limit"),
        (vec![("q", "find"), ("cursor", "nope")], "cursor"),
        (vec![("q", "find"), ("after", "yesterday")], "after"),
    ] {
        let body = expect_error(
            s.call(Method::GET, &search_path(&pairs), None, a).await,
            400,
            "validation_failed",
        )
        .await;
        assert!(body.error.fields.unwrap().contains_key(field), "{field}");
    }
    // The server is fine afterwards.
    assert_eq!(search(&s, a, &[("q", "find")]).await.items.len(), 1);
}
