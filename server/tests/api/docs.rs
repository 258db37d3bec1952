//! The OpenAPI document, the offline docs page, health and CORS.

use crate::support::*;
use jeco_shared::health::Health;
use serde_json::Value;

#[tokio::test]
async fn openapi_lists_every_route_with_schemas_and_bearer_auth() {
    let s = TestServer::start().await;
    let resp = s.get("/api/v1/openapi.json", None).await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/users/me", "patch"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users", "get"),
        ("/api/v1/health", "get"),
        ("/api/v1/ws", "get"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations", "post"),
        ("/api/v1/conversations/direct", "post"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}", "patch"),
        ("/api/v1/conversations/{id}/members", "get"),
        ("/api/v1/conversations/{id}/members", "post"),
        ("/api/v1/conversations/{id}/members/{user_id}", "delete"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/conversations/{id}/messages/{mid}", "get"),
        ("/api/v1/conversations/{id}/messages/{mid}", "patch"),
        ("/api/v1/conversations/{id}/messages/{mid}", "delete"),
        ("/api/v1/conversations/{id}/messages/{mid}/replies", "get"),
        (
            "/api/v1/conversations/{id}/messages/{mid}/reactions",
            "post",
        ),
        ("/api/v1/conversations/{id}/pins", "get"),
        ("/api/v1/conversations/{id}/pins/{mid}", "put"),
        ("/api/v1/conversations/{id}/pins/{mid}", "delete"),
        ("/api/v1/conversations/{id}", "delete"),
        ("/api/v1/conversations/{id}/join", "post"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams/{id}", "get"),
        ("/api/v1/teams/{id}", "patch"),
        ("/api/v1/teams/{id}", "delete"),
        ("/api/v1/teams/{id}/members", "get"),
        ("/api/v1/teams/{id}/members", "post"),
        ("/api/v1/teams/{id}/members/{user_id}", "patch"),
        ("/api/v1/teams/{id}/members/{user_id}", "delete"),
        ("/api/v1/teams/{id}/transfer", "post"),
        ("/api/v1/teams/{id}/invites", "get"),
        ("/api/v1/teams/{id}/invites", "post"),
        ("/api/v1/teams/{id}/invites/{invite_id}", "delete"),
        ("/api/v1/invites/join", "post"),
        ("/api/v1/teams/{id}/channels", "get"),
        ("/api/v1/teams/{id}/channels", "post"),
        ("/api/v1/conversations/{id}/mute", "put"),
        ("/api/v1/notifications", "get"),
        ("/api/v1/notifications/unread-count", "get"),
        ("/api/v1/notifications/{id}/read", "post"),
        ("/api/v1/notifications/read-all", "post"),
        ("/api/v1/search", "get"),
        ("/api/v1/contacts", "get"),
        ("/api/v1/contacts/requests", "get"),
        ("/api/v1/contacts/requests", "post"),
        ("/api/v1/contacts/requests/{id}/accept", "post"),
        ("/api/v1/contacts/requests/{id}/decline", "post"),
        ("/api/v1/contacts/requests/{id}", "delete"),
        ("/api/v1/contacts/{user_id}", "delete"),
        ("/api/v1/uploads", "post"),
        ("/api/v1/admin/media-usage", "get"),
        ("/api/v1/uploads/{id}", "get"),
        ("/api/v1/uploads/{id}", "patch"),
        ("/api/v1/uploads/{id}", "delete"),
        ("/api/v1/attachments/{id}", "get"),
        ("/api/v1/attachments/{id}/content", "get"),
        ("/api/v1/attachments/{id}/thumbnail", "get"),
        ("/api/v1/attachments/{id}/url", "post"),
        ("/api/v1/users/me/avatar", "put"),
        ("/api/v1/users/me/avatar", "delete"),
        ("/api/v1/users/{id}/avatar", "get"),
        ("/api/v1/teams/{id}/avatar", "get"),
        ("/api/v1/teams/{id}/avatar", "put"),
        ("/api/v1/teams/{id}/avatar", "delete"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        operations,
        expected.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["paths"]["/api/v1/users/me"]["get"]["security"].is_array());
    for schema in [
        "TokenResponse",
        "RegisterRequest",
        "LoginRequest",
        "User",
        "UserPage",
        "ErrorBody",
        "Health",
        "Conversation",
        "ConversationList",
        "CreateGroupRequest",
        "Message",
        "MessagePage",
        "SendMessageRequest",
        "ReactionToggled",
        "ReadState",
        "NotificationPage",
        "UnreadNotifications",
        "MuteState",
        "SearchPage",
        "SnippetPart",
        "ContactList",
        "ContactRequest",
        "ContactRequestList",
        "Attachment",
        "Upload",
        "CreateUploadRequest",
        "SignedUrl",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    // Error responses point at the one error shape.
    let conflict = &doc["paths"]["/api/v1/auth/register"]["post"]["responses"]["409"];
    assert_eq!(
        conflict["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}

#[tokio::test]
async fn docs_page_is_served_without_internet() {
    let s = TestServer::start().await;
    let resp = s.get("/api/docs/", None).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("cdn"), "docs must not load from a CDN");
    // The vendored assets and the initializer pointing at our document are served too.
    let init = s.get("/api/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
    let bundle = s.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);
}

#[tokio::test]
async fn health_reports_versions() {
    let s = TestServer::start().await;
    let h: Health = s.get("/api/v1/health", None).await.json().await.unwrap();
    assert_eq!(h.status, "ok");
    assert_eq!(h.protocol, jeco_shared::PROTOCOL_VERSION);
    assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
}

async fn preflight(s: &TestServer, origin: &str) -> reqwest::Response {
    s.http
        .request(reqwest::Method::OPTIONS, s.url("/api/v1/auth/login"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default_and_allowlisted_by_config() {
    let off = TestServer::start().await;
    let resp = preflight(&off, "https://app.example").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = off
        .http
        .get(off.url("/api/v1/health"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let on =
        TestServer::start_with(|c| c.cors_allowed_origins = vec!["https://app.example".into()])
            .await;
    let resp = preflight(&on, "https://app.example").await;
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let resp = preflight(&on, "https://evil.example").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
