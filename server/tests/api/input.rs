//! Bad input gets a clear 4xx in the one error shape and changes nothing.

use crate::support::*;
use serde_json::json;

async fn raw_post(
    s: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = s.http().post(s.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

const REGISTER: &str = "/api/v1/auth/register";
const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn malformed_wrong_shape_and_oversized_bodies_create_nothing() {
    let s = TestServer::start_with(|c| c.max_body_bytes = 4096).await;

    expect_error(
        raw_post(&s, REGISTER, JSON, "{\"username\": \"mallory\",").await,
        400,
        "invalid_json",
    )
    .await;
    expect_error(raw_post(&s, REGISTER, JSON, "").await, 400, "invalid_json").await;
    let err = expect_error(
        raw_post(
            &s,
            REGISTER,
            JSON,
            r#"{"username": 42, "password": "long enough"}"#,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(err.error.fields.unwrap().contains_key("username"));
    let err = expect_error(
        raw_post(&s, REGISTER, JSON, r#"{"username": "mallory"}"#).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(err.error.fields.unwrap()["password"], "is required");
    let err = expect_error(
        raw_post(
            &s,
            REGISTER,
            JSON,
            r#"{"username": "mallory", "password": "long enough", "admin": true}"#,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert!(err.error.fields.unwrap().contains_key("admin"));
    expect_error(
        raw_post(&s, REGISTER, JSON, "[1, 2]").await,
        400,
        "validation_failed",
    )
    .await;

    let ok_body = json!({"username": "mallory", "password": "long enough"}).to_string();
    expect_error(
        raw_post(&s, REGISTER, Some("text/plain"), ok_body.clone()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        raw_post(&s, REGISTER, None, ok_body.clone()).await,
        415,
        "unsupported_media_type",
    )
    .await;

    let huge = json!({"username": "mallory", "password": "long enough", "display_name": "x".repeat(10_000)});
    expect_error(
        raw_post(&s, REGISTER, JSON, huge.to_string()).await,
        413,
        "payload_too_large",
    )
    .await;

    // None of the above created the account.
    expect_error(
        s.login("mallory", "long enough").await,
        401,
        "invalid_credentials",
    )
    .await;
    let resp = raw_post(&s, REGISTER, JSON, ok_body).await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn bad_usernames_and_passwords_name_their_fields() {
    let s = TestServer::start().await;
    for bad in [
        "ab",
        "has space",
        "tab\tname",
        "héllo",
        "../etc",
        "a/b",
        &"x".repeat(33),
        "",
    ] {
        let resp = s
            .post(
                REGISTER,
                json!({"username": bad, "password": PASSWORD}),
                None,
            )
            .await;
        let err = expect_error(resp, 400, "validation_failed").await;
        let fields = err.error.fields.unwrap();
        assert!(fields.contains_key("username"), "{bad:?}: {fields:?}");
        assert!(!fields.contains_key("password"));
    }
    let resp = s
        .post(
            REGISTER,
            json!({"username": "okname", "password": "short"}),
            None,
        )
        .await;
    let fields = expect_error(resp, 400, "validation_failed")
        .await
        .error
        .fields
        .unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["password"]);
    let resp = s
        .post(
            REGISTER,
            json!({"username": "x", "password": "short", "display_name": "d".repeat(65)}),
            None,
        )
        .await;
    let fields = expect_error(resp, 400, "validation_failed")
        .await
        .error
        .fields
        .unwrap();
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        ["display_name", "password", "username"]
    );

    // Nothing was created: the directory is empty apart from the searcher.
    let t = s.register("searcher").await;
    let page: jeco_shared::users::UserPage = s
        .get("/api/v1/users", Some(&t.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["searcher"]
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let s = TestServer::start().await;
    expect_error(s.get("/api/v1/nope", None).await, 404, "route_not_found").await;
    expect_error(s.get("/nothing/here", None).await, 404, "route_not_found").await;
    let resp = s
        .http()
        .delete(s.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 405, "route_not_found").await;
    let resp = s
        .http()
        .get(s.url("/api/v1/auth/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    // A plain GET on the WebSocket endpoint explains itself.
    expect_error(s.get("/api/v1/ws", None).await, 400, "bad_request").await;
}

#[tokio::test]
async fn json_arrays_and_scalars_are_refused_where_objects_belong() {
    let s = TestServer::start().await;
    let t = s.register("shapes").await;
    for body in ["[null,null]", "[\"x\", \"y\"]", "7", "\"name\"", "null"] {
        let r = s
            .http()
            .patch(s.url("/api/v1/users/me"))
            .bearer_auth(&t.access_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let e = expect_error(r, 400, "validation_failed").await;
        assert_eq!(
            e.error.fields.unwrap()["body"],
            "must be a JSON object",
            "{body}"
        );
    }
    let r = s
        .post(
            "/api/v1/auth/login",
            serde_json::json!(["shapes", PASSWORD]),
            None,
        )
        .await;
    expect_error(r, 400, "validation_failed").await;
}
