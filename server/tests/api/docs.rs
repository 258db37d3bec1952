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
        ("/api/v1/auth/password", "post"),
        ("/api/v1/auth/password-reset", "post"),
        ("/api/v1/auth/password-reset/confirm", "post"),
        ("/api/v1/auth/login-code", "post"),
        ("/api/v1/auth/login-code/confirm", "post"),
        ("/api/v1/auth/login/two-factor", "post"),
        ("/api/v1/users/me/two-factor", "get"),
        ("/api/v1/users/me/two-factor", "post"),
        ("/api/v1/users/me/two-factor", "delete"),
        ("/api/v1/users/me/two-factor/confirm", "post"),
        ("/api/v1/users/me/two-factor/recovery-codes", "post"),
        ("/api/v1/admin/users/{id}/two-factor", "delete"),
        ("/api/v1/admin/settings", "get"),
        ("/api/v1/admin/settings", "put"),
        ("/api/v1/users/me/email", "get"),
        ("/api/v1/users/me/email", "put"),
        ("/api/v1/users/me/email", "delete"),
        ("/api/v1/users/me/email/verify", "post"),
        ("/api/v1/users/me/sessions", "get"),
        ("/api/v1/users/me/sessions/{id}", "delete"),
        ("/api/v1/users/me/sessions/sign-out-others", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/users/me", "patch"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users", "get"),
        ("/api/v1/health", "get"),
        ("/api/v1/ready", "get"),
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
        ("/api/v1/threads", "get"),
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
        ("/api/v1/admin/users", "get"),
        ("/api/v1/admin/users/{id}", "get"),
        ("/api/v1/admin/users/{id}/deactivate", "post"),
        ("/api/v1/admin/users/{id}/reactivate", "post"),
        ("/api/v1/admin/users/{id}/password", "post"),
        ("/api/v1/admin/users/{id}/admin", "put"),
        ("/api/v1/admin/users/{id}/admin", "delete"),
        ("/api/v1/uploads/{id}", "get"),
        ("/api/v1/uploads/{id}", "patch"),
        ("/api/v1/uploads/{id}", "delete"),
        ("/api/v1/attachments/{id}", "get"),
        ("/api/v1/attachments/{id}/content", "get"),
        ("/api/v1/attachments/{id}/thumbnail", "get"),
        ("/api/v1/attachments/{id}/url", "post"),
        ("/api/v1/users/me/avatar", "put"),
        ("/api/v1/users/me/avatar", "delete"),
        ("/api/v1/users/me/export", "get"),
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
        "AdminUser",
        "AdminUserPage",
        "AdminPasswordRequest",
        "AdminPasswordReset",
        "SignInOutcome",
        "TwoFactorChallenge",
        "TwoFactorSetupChallenge",
        "TwoFactorEnrollment",
        "TwoFactorLoginRequest",
        "TwoFactorSignedIn",
        "LoginCodeRequest",
        "ConfirmLoginCodeRequest",
        "TwoFactorStatus",
        "TwoFactorCodeRequest",
        "DisableTwoFactorRequest",
        "RecoveryCodes",
        "ServerSettings",
        "AdminSignedOut",
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
    // The sign-in outcome names each of its kinds by `status`.
    let outcome = doc["components"]["schemas"]["SignInOutcome"].to_string();
    for status in [
        "signed_in",
        "two_factor_required",
        "two_factor_setup_required",
    ] {
        assert!(outcome.contains(status), "{status} in {outcome}");
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
    s.http()
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
        .http()
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

/// Every `"$ref"` anywhere in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_ref_in_the_openapi_document_resolves() {
    let s = TestServer::start().await;
    let doc: Value = s
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{}", all.len());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_the_statuses_and_limits_the_server_enforces() {
    let s = TestServer::start().await;
    let doc: Value = s
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .cloned()
            .collect()
    };
    // A JSON body: broken (400), stalled (408), too long (413), not JSON (415).
    for (path, method) in [
        ("/api/v1/users/me", "patch"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/auth/login", "post"),
    ] {
        let have = statuses(path, method);
        for status in ["400", "408", "413", "415"] {
            assert!(have.contains(&status.into()), "{method} {path}: {have:?}");
        }
    }
    // A numeric id that is not a number is 400.
    for (path, method) in [
        ("/api/v1/attachments/{id}", "get"),
        ("/api/v1/conversations/{id}/members/{user_id}", "delete"),
        ("/api/v1/teams/{id}", "get"),
    ] {
        assert!(
            statuses(path, method).contains(&"400".into()),
            "{method} {path}"
        );
    }
    // The per-IP limiter on /auth/*, and the reused client_id of another conversation.
    assert!(statuses("/api/v1/auth/register", "post").contains(&"429".into()));
    assert!(statuses("/api/v1/conversations/{id}/messages", "post").contains(&"409".into()));

    // Limits in the schemas, from the constants the server enforces.
    let props = |schema: &str| doc["components"]["schemas"][schema]["properties"].clone();
    let register = props("RegisterRequest");
    assert_eq!(
        register["username"]["maxLength"],
        jeco_shared::auth::USERNAME_MAX
    );
    assert_eq!(
        register["username"]["minLength"],
        jeco_shared::auth::USERNAME_MIN
    );
    assert_eq!(
        register["password"]["maxLength"],
        jeco_shared::auth::PASSWORD_MAX
    );
    assert_eq!(
        register["password"]["minLength"],
        jeco_shared::auth::PASSWORD_MIN
    );
    // Issue 16's inputs: addresses, codes, reset tokens, new passwords.
    use jeco_shared::account::{EMAIL_MAX, RESET_LOGIN_MAX, RESET_TOKEN_LEN};
    assert_eq!(props("SetEmailRequest")["email"]["maxLength"], EMAIL_MAX);
    assert_eq!(props("VerifyEmailRequest")["code"]["pattern"], "^[0-9]{6}$");
    assert_eq!(
        props("PasswordResetRequest")["login"]["maxLength"],
        RESET_LOGIN_MAX
    );
    let confirm = props("ConfirmPasswordResetRequest");
    assert_eq!(confirm["token"]["minLength"], RESET_TOKEN_LEN);
    assert_eq!(confirm["token"]["maxLength"], RESET_TOKEN_LEN);
    assert_eq!(
        confirm["new_password"]["minLength"],
        jeco_shared::auth::PASSWORD_MIN
    );
    assert_eq!(
        props("ChangePasswordRequest")["new_password"]["maxLength"],
        jeco_shared::auth::PASSWORD_MAX
    );
    // Reset requests are told apart from nothing; their errors are documented.
    assert!(statuses("/api/v1/auth/password-reset", "post").contains(&"429".into()));
    let confirm_statuses = statuses("/api/v1/auth/password-reset/confirm", "post");
    for status in ["204", "400", "410"] {
        assert!(
            confirm_statuses.contains(&status.into()),
            "{confirm_statuses:?}"
        );
    }
    let send = props("SendMessageRequest");
    assert_eq!(
        send["client_id"]["maxLength"],
        jeco_shared::messages::CLIENT_ID_MAX
    );
    assert_eq!(
        send["attachment_ids"]["maxItems"],
        jeco_shared::media::ATTACHMENTS_PER_MESSAGE_MAX
    );
    assert_eq!(
        props("Attachment")["name"]["maxLength"],
        jeco_shared::media::FILE_NAME_MAX
    );
    // Raw bodies are bytes, not arrays of numbers.
    let chunk = &doc["paths"]["/api/v1/uploads/{id}"]["patch"]["requestBody"]["content"]["application/offset+octet-stream"]
        ["schema"];
    assert_eq!(chunk["type"], "string", "{chunk}");
    assert_eq!(chunk["format"], "binary", "{chunk}");
    let group = props("CreateGroupRequest");
    assert_eq!(
        group["name"]["maxLength"],
        jeco_shared::conversations::NAME_MAX
    );
    // The creator is a member too.
    assert_eq!(
        group["member_ids"]["maxItems"],
        jeco_shared::conversations::GROUP_MEMBERS_MAX - 1
    );
}

#[tokio::test]
async fn empty_error_answers_from_inside_the_router_get_the_error_shape() {
    let s = TestServer::start().await;
    // The docs page's file server answers an unknown file with a bare 404.
    let r = s.get("/api/docs/no-such-file.js", None).await;
    expect_error(r, 404, "not_found").await;
}

/// Every response of every operation states the `x-request-id` header the server always sets, and
/// the error body schema has the `request_id` that repeats it.
#[tokio::test]
async fn every_documented_response_has_the_request_id_header() {
    let s = TestServer::start().await;
    let doc: Value = s
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut responses = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(answers) = op["responses"].as_object() else {
                continue;
            };
            for (status, response) in answers {
                responses += 1;
                assert_eq!(
                    response["headers"]["x-request-id"]["schema"]["type"], "string",
                    "{method} {path} {status}: {response}"
                );
            }
        }
    }
    assert!(responses > 100, "{responses}");
    assert!(
        doc["components"]["schemas"]["ErrorDetail"]["properties"]["request_id"].is_object(),
        "{}",
        doc["components"]["schemas"]["ErrorDetail"]
    );
}
