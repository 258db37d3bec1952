//! Search: full-text over the caller's messages — matches, filters, pagination, highlights,
//! membership (non-members and removed members find nothing), edits and deletes, bad syntax.

use crate::support::*;
use jeco_shared::ErrorBody;
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

/// The first page for `q`.
async fn find(s: &TestServer, token: &str, q: &str) -> SearchPage {
    search(s, token, &[("q", q)]).await
}

/// What `GET /search` answers for `q`: the page, or the error body and status.
async fn outcome(s: &TestServer, token: &str, q: &str) -> Result<SearchPage, (u16, ErrorBody)> {
    let resp = s
        .call(Method::GET, &search_path(&[("q", q)]), None, token)
        .await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    if status == 200 {
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        Err((status, serde_json::from_str(&text).unwrap()))
    }
}

#[tokio::test]
async fn bad_queries_are_a_typed_400_not_500() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    s.say(a, g, "1", "something to find").await;
    let too_long = "w ".repeat(130);
    let too_many = vec!["w"; 33].join(" ");
    for (q, why) in [
        ("find AND", "AND needs a search term on both sides"),
        ("(find", "parenthesis is not closed"),
        ("find)", "')' without a matching '('"),
        ("*", "'*' must follow a word"),
        ("- … !", "no words or filters to search for"),
        ("  ", "no words or filters to search for"),
        ("", "no words or filters to search for"),
        (too_long.as_str(), "at most 256 characters"),
        (too_many.as_str(), "at most 32 words"),
        (
            "find before:yesterday",
            "before: needs a date as YYYY-MM-DD",
        ),
        ("find after:2026-02-30", "after: needs a date as YYYY-MM-DD"),
        ("find from:", "from: needs a username"),
        ("find in:#", "in: needs a channel or group name"),
        ("find has:link", "has: needs `file`"),
        ("find OR from:@alice", "from: applies to the whole search"),
        ("(find in:#g)", "in: applies to the whole search"),
    ] {
        let body = expect_error(
            s.call(Method::GET, &search_path(&[("q", q)]), None, a)
                .await,
            400,
            "invalid_query",
        )
        .await;
        assert!(
            body.error.message.starts_with("invalid search query: ")
                && body.error.message.contains(why),
            "{q}: {}",
            body.error.message
        );
        assert!(!body.error.message.contains("fts5"), "{q}");
    }
    // FTS5's own syntax, stray quotes and punctuation are only text: a column filter, NEAR, `^`,
    // `-`, `+`, braces, an unclosed quote (a phrase to the end), SQL.
    for (q, found) in [
        ("something: find", 1),
        ("nosuchcolumn: find", 0),
        ("text:something", 0),
        ("NEAR(something find)", 0),
        ("NEAR(something find, 5)", 0),
        ("^something -find", 1),
        ("something + find", 1),
        ("{something find}", 1),
        ("\"to find\"", 1),
        ("\"to find", 1),
        ("something \"", 1),
        ("somethin* NOT nothing", 1),
        ("nothing OR (find NOT missing)", 1),
        ("something NOT find", 0),
        ("'; DROP TABLE messages; --", 0),
        // Jeco's own OR: "find" or the phrase "1 1".
        ("find' OR '1'='1", 1),
        ("find from:@alice'--", 0),
        ("find in:#g'OR'1'='1", 0),
        ("in:#g'--", 0),
        ("\u{0}find\u{0}", 1),
    ] {
        match outcome(&s, a, q).await {
            Ok(page) => assert_eq!(page.items.len(), found, "{q}"),
            Err((status, body)) => panic!("{q}: {status} {}", body.error.message),
        }
    }
    for (pairs, field) in [
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

/// Hostile bytes in `q`: every answer is a page or a typed 400, never a 500 or backend text.
#[tokio::test]
async fn hostile_queries_get_a_page_or_a_typed_400() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let a = alice.access_token.as_str();
    let g = s.group(a, "G", &[]).await;
    s.say(a, g, "1", "plain words here").await;
    let mut queries: Vec<String> = [
        "\"",
        "\"\"",
        "\"\"\"",
        "(",
        ")",
        "()",
        "*",
        "**",
        "a*b*",
        "^",
        "-",
        ":",
        "a:",
        ":a",
        "NEAR",
        "NEAR(",
        "NEAR()",
        "AND",
        "OR",
        "NOT",
        "a AND",
        "NOT NOT",
        "((a)",
        "a))",
        "from:@",
        "from:@@",
        "in:##",
        "has:",
        "before:",
        "after:0000-00-00",
        "col:\"a",
        "{a",
        "a}",
        "a + + b",
        "a\u{0}b",
        "\u{feff}",
        "\u{202e}plain",
        "%",
        "_",
        "\\",
        "'",
        "`",
        "--",
        "/*",
        "*/",
        ";",
    ]
    .iter()
    .map(|q| q.to_string())
    .collect();
    queries.push("(".repeat(256));
    queries.push("\"".repeat(256));
    queries.push("a ".repeat(128));
    queries.push("é".repeat(256));
    queries.push("x".repeat(5000));
    for q in &queries {
        match outcome(&s, a, q).await {
            Ok(_) => {}
            Err((status, body)) => {
                assert_eq!(
                    (status, body.error.code.as_str()),
                    (400, "invalid_query"),
                    "{q:?}: {}",
                    body.error.message
                );
                let m = body.error.message.to_lowercase();
                assert!(
                    !m.contains("fts5") && !m.contains("syntax error") && !m.contains("sqlite"),
                    "{q:?}: {m}"
                );
            }
        }
    }
    assert_eq!(search(&s, a, &[("q", "plain")]).await.items.len(), 1);
}

/// `from:@user`, `in:#name`, `before:`/`after:` days and `has:file`, alone and together, with the
/// request's own `conversation_id`.
#[tokio::test]
async fn filters_narrow_the_search() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let (a, b) = (alice.access_token.as_str(), bob.access_token.as_str());
    let (team_id, general) = team(&s, a, "Acme").await;
    add_to_team(&s, a, team_id, bob.user.id.0, "member").await;
    let random = channel(&s, a, team_id, "random", false).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{random}/join"),
        None,
        b,
        200,
    )
    .await;
    let g = s.group(a, "Plans", &[bob.user.id.0]).await;
    let first = s.say(a, general, "1", "budget for general").await;
    s.say(b, general, "2", "budget from bob").await;
    s.say(b, random, "3", "budget in random").await;
    s.say(a, g, "4", "budget plans").await;
    let file = crate::media::upload(&s, b, "budget.txt", "file", b"numbers").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{g}/messages"),
        Some(json!({"client_id": "5", "text": "budget attached", "attachment_ids": [file["id"]]})),
        b,
        201,
    )
    .await;

    assert_eq!(find(&s, a, "budget").await.items.len(), 5);
    assert_eq!(
        texts(&find(&s, a, "budget from:@bob").await),
        ["budget attached", "budget in random", "budget from bob"]
    );
    assert_eq!(
        texts(&find(&s, a, "budget from:BOB").await),
        ["budget attached", "budget in random", "budget from bob"]
    );
    assert_eq!(
        texts(&find(&s, a, "budget from:@bob from:@alice in:#general").await),
        ["budget from bob", "budget for general"]
    );
    assert_eq!(
        texts(&find(&s, a, "budget in:#Random").await),
        ["budget in random"]
    );
    assert_eq!(
        texts(&find(&s, a, "in:#plans").await),
        ["budget attached", "budget plans"]
    );
    assert_eq!(texts(&find(&s, a, "has:file").await), ["budget attached"]);
    assert_eq!(
        texts(&find(&s, a, "budget has:file from:@alice").await),
        Vec::<&str>::new()
    );
    assert!(find(&s, a, "budget from:@nobody").await.items.is_empty());
    assert!(find(&s, a, "budget in:#nowhere").await.items.is_empty());
    // Within a conversation (the API's `conversation_id`), `in:` narrows further: naming
    // another conversation finds nothing.
    let gen_id = general.to_string();
    assert_eq!(
        search(
            &s,
            a,
            &[("q", "budget from:@bob"), ("conversation_id", &gen_id)]
        )
        .await
        .items
        .len(),
        1
    );
    assert_eq!(
        search(
            &s,
            a,
            &[("q", "budget in:#general"), ("conversation_id", &gen_id)]
        )
        .await
        .items
        .len(),
        2
    );
    assert!(
        search(
            &s,
            a,
            &[("q", "budget in:#random"), ("conversation_id", &gen_id)]
        )
        .await
        .items
        .is_empty()
    );
    // Days are UTC and exclusive: before the day began, after it ended.
    let created = first["created_at"].as_str().unwrap();
    let d = jeco_shared::search::query::Date::parse(&created[..10]).unwrap();
    let today = time::Date::from_calendar_date(
        i32::from(d.year),
        time::Month::try_from(d.month).unwrap(),
        d.day,
    )
    .unwrap();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let (yesterday, tomorrow) = (
        day(today.previous_day().unwrap()),
        day(today.next_day().unwrap()),
    );
    let today = day(today);
    assert!(
        find(&s, a, &format!("budget before:{today}"))
            .await
            .items
            .is_empty()
    );
    assert!(
        find(&s, a, &format!("budget after:{today}"))
            .await
            .items
            .is_empty()
    );
    assert_eq!(
        find(
            &s,
            a,
            &format!("budget after:{yesterday} before:{tomorrow}")
        )
        .await
        .items
        .len(),
        5
    );
    assert_eq!(
        texts(&find(&s, a, &format!("after:{yesterday} from:@bob has:file")).await),
        ["budget attached"]
    );
    // Day filters and the RFC 3339 parameters both apply.
    assert!(
        search(
            &s,
            a,
            &[
                ("q", &format!("budget after:{yesterday}")),
                ("before", created)
            ]
        )
        .await
        .items
        .is_empty()
    );
    // Filters-only hits carry the message's text as an unhighlighted snippet.
    let only = find(&s, a, "from:@alice in:#general").await;
    assert_eq!(texts(&only), ["budget for general"]);
    assert!(only.items[0].snippet.iter().all(|p| !p.highlight));
    // Filters page like words do.
    let first_page = search(&s, a, &[("q", "from:@bob"), ("limit", "2")]).await;
    assert_eq!(first_page.items.len(), 2);
    let rest = search(
        &s,
        a,
        &[
            ("q", "from:@bob"),
            ("limit", "2"),
            ("cursor", first_page.next_cursor.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(texts(&rest), ["budget from bob"]);
    // Bob is not in alice's private nothing; bob searching sees only his conversations.
    assert_eq!(search(&s, b, &[("q", "from:@alice")]).await.items.len(), 2);
}
