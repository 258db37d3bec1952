//! Amendments to the generated OpenAPI document, so that it states what the server really does.
//!
//! utoipa documents each handler from its annotation. Two kinds of fact live elsewhere and are
//! added here, in one place, from the code that enforces them: the error answers of the shared
//! extractors and layers (see [`common_errors`]), and the limits on request fields, taken from the
//! same `jeco_shared` constants the services check (utoipa's `max_length` and friends take only
//! literals, which would drift from the constants). The document is edited as JSON and read back.

use serde_json::{Value, json};

/// The generated document with its common errors and field limits.
pub fn amend(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    common_errors(&mut value);
    field_limits(&mut value);
    raw_bytes(&mut value);
    request_id_header(&mut value);
    match serde_json::from_value(value) {
        Ok(amended) => amended,
        Err(e) => {
            tracing::error!(error = %e, "cannot amend the OpenAPI document");
            doc
        }
    }
}

/// States the `x-request-id` header on every response (set by the request-id layers, see
/// [`super::observe`]); it is the `error.request_id` of an error body.
fn request_id_header(value: &mut Value) {
    let header = json!({
        "description": "The request's id: the client's own `x-request-id` if it sent a plain one \
                        (at most 64 characters of A-Z a-z 0-9 . _ : -), else a new UUID. Error \
                        bodies carry the same id in `error.request_id`.",
        "schema": {"type": "string"},
    });
    let Some(paths) = value["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for response in responses.values_mut() {
                if let Some(response) = response.as_object_mut() {
                    let headers = response.entry("headers").or_insert_with(|| json!({}));
                    if let Some(headers) = headers.as_object_mut() {
                        headers.insert(super::observe::REQUEST_ID_HEADER.into(), header.clone());
                    }
                }
            }
        }
    }
}

/// Adds the error answers that come from the shared extractors and layers rather than from a
/// handler, to every operation they apply to, so the document lists every status the server
/// really returns: 400 for a path id that is not a number, 400/408/413/415 for a JSON body
/// (broken or wrong shape, stalled, too long, wrong content type), 401 where a token is needed,
/// and 429 from the per-IP limiter on `/auth/*`. An operation that already describes a status
/// keeps its own description.
fn common_errors(value: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        })
    };
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    if let Some(paths) = value["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for method in methods {
                let Some(op) = item.get_mut(method).and_then(|o| o.as_object_mut()) else {
                    continue;
                };
                let numeric_id =
                    op.get("parameters")
                        .and_then(|p| p.as_array())
                        .is_some_and(|ps| {
                            ps.iter().any(|p| {
                                p["in"] == "path" && p["schema"]["type"].as_str() == Some("integer")
                            })
                        });
                let json_body = op
                    .get("requestBody")
                    .and_then(|b| b["content"].as_object())
                    .is_some_and(|c| c.contains_key("application/json"));
                let bearer = op
                    .get("security")
                    .and_then(|s| s.as_array())
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
                let mut add: Vec<(&str, &str)> = Vec::new();
                if numeric_id {
                    add.push(("400", "A path id that is not a number, or invalid input"));
                }
                if json_body {
                    add.push((
                        "400",
                        "Broken JSON, or JSON of the wrong shape (fields names the problem)",
                    ));
                    add.push(("408", "The body stopped arriving (body timeout)"));
                    add.push((
                        "413",
                        "The body is over the size limit (Content-Length checked first)",
                    ));
                    add.push(("415", "The body is not Content-Type: application/json"));
                }
                if bearer {
                    add.push(("401", "Not signed in"));
                }
                if path.starts_with("/api/v1/auth/") {
                    add.push((
                        "429",
                        "Too many requests from this address (see Retry-After)",
                    ));
                }
                let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut())
                else {
                    continue;
                };
                for (status, description) in add {
                    responses
                        .entry(status)
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// Raw bodies (uploads, images, downloads) are bytes, not JSON arrays of numbers: utoipa renders
/// `[u8]` as an array of integers under every content type, which tells a client (or a schema
/// fuzzer) to send `[1, 2, 3]` as an upload chunk. Any non-JSON content gets a binary string.
fn raw_bytes(value: &mut Value) {
    fn fix(content: &mut Value) {
        let Some(types) = content.as_object_mut() else {
            return;
        };
        for (media_type, body) in types.iter_mut() {
            if !media_type.contains("json") && body["schema"]["type"] == "array" {
                body["schema"] = json!({"type": "string", "format": "binary"});
            }
        }
    }
    let Some(paths) = value["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            if let Some(content) = op.pointer_mut("/requestBody/content") {
                fix(content);
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                for response in responses.values_mut() {
                    if let Some(content) = response.get_mut("content") {
                        fix(content);
                    }
                }
            }
        }
    }
}

/// `(schema, property, JSON Schema keyword, value)`: the limits the services enforce.
fn limits() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    use jeco_shared::account::{EMAIL_CODE_LEN, EMAIL_MAX, RESET_LOGIN_MAX, RESET_TOKEN_LEN};
    use jeco_shared::auth::{
        DISPLAY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN,
    };
    use jeco_shared::conversations::{GROUP_MEMBERS_MAX, NAME_MAX};
    use jeco_shared::media::{
        ATTACHMENTS_PER_MESSAGE_MAX, FILE_NAME_MAX, VOICE_DURATION_MAX_MS, WAVEFORM_PEAKS_MAX,
    };
    use jeco_shared::messages::{CLIENT_ID_MAX, EMOJI_MAX};
    use jeco_shared::teams::{TEAM_NAME_MAX, TOPIC_MAX};
    use jeco_shared::users::{BIO_MAX, STATUS_TEXT_MAX};
    // A group's members include its creator, who is not in `member_ids`.
    let invitees = GROUP_MEMBERS_MAX - 1;
    vec![
        (
            "RegisterRequest",
            "username",
            "minLength",
            json!(USERNAME_MIN),
        ),
        (
            "RegisterRequest",
            "username",
            "maxLength",
            json!(USERNAME_MAX),
        ),
        (
            "RegisterRequest",
            "username",
            "pattern",
            json!("^[A-Za-z0-9_.-]*$"),
        ),
        (
            "RegisterRequest",
            "password",
            "minLength",
            json!(PASSWORD_MIN),
        ),
        (
            "RegisterRequest",
            "password",
            "maxLength",
            json!(PASSWORD_MAX),
        ),
        (
            "RegisterRequest",
            "display_name",
            "maxLength",
            json!(DISPLAY_NAME_MAX),
        ),
        (
            "UpdateProfileRequest",
            "display_name",
            "maxLength",
            json!(DISPLAY_NAME_MAX),
        ),
        ("UpdateProfileRequest", "bio", "maxLength", json!(BIO_MAX)),
        (
            "UpdateProfileRequest",
            "status_text",
            "maxLength",
            json!(STATUS_TEXT_MAX),
        ),
        ("CreateGroupRequest", "name", "maxLength", json!(NAME_MAX)),
        (
            "CreateGroupRequest",
            "member_ids",
            "maxItems",
            json!(invitees),
        ),
        (
            "UpdateConversationRequest",
            "name",
            "maxLength",
            json!(NAME_MAX),
        ),
        (
            "UpdateConversationRequest",
            "topic",
            "maxLength",
            json!(TOPIC_MAX),
        ),
        ("SendMessageRequest", "client_id", "minLength", json!(1)),
        (
            "SendMessageRequest",
            "client_id",
            "maxLength",
            json!(CLIENT_ID_MAX),
        ),
        (
            "SendMessageRequest",
            "attachment_ids",
            "maxItems",
            json!(ATTACHMENTS_PER_MESSAGE_MAX),
        ),
        ("ReactionRequest", "emoji", "minLength", json!(1)),
        ("ReactionRequest", "emoji", "maxLength", json!(EMOJI_MAX)),
        ("TeamNameRequest", "name", "minLength", json!(1)),
        ("TeamNameRequest", "name", "maxLength", json!(TEAM_NAME_MAX)),
        ("CreateChannelRequest", "name", "minLength", json!(1)),
        ("CreateChannelRequest", "name", "maxLength", json!(NAME_MAX)),
        (
            "CreateChannelRequest",
            "topic",
            "maxLength",
            json!(TOPIC_MAX),
        ),
        ("SetEmailRequest", "email", "maxLength", json!(EMAIL_MAX)),
        ("SetEmailRequest", "email", "format", json!("email")),
        (
            "VerifyEmailRequest",
            "code",
            "pattern",
            json!(format!("^[0-9]{{{EMAIL_CODE_LEN}}}$")),
        ),
        (
            "ChangePasswordRequest",
            "current_password",
            "maxLength",
            json!(PASSWORD_MAX),
        ),
        (
            "ChangePasswordRequest",
            "new_password",
            "minLength",
            json!(PASSWORD_MIN),
        ),
        (
            "ChangePasswordRequest",
            "new_password",
            "maxLength",
            json!(PASSWORD_MAX),
        ),
        ("PasswordResetRequest", "login", "minLength", json!(1)),
        (
            "PasswordResetRequest",
            "login",
            "maxLength",
            json!(RESET_LOGIN_MAX),
        ),
        (
            "ConfirmPasswordResetRequest",
            "token",
            "minLength",
            json!(RESET_TOKEN_LEN),
        ),
        (
            "ConfirmPasswordResetRequest",
            "token",
            "maxLength",
            json!(RESET_TOKEN_LEN),
        ),
        (
            "ConfirmPasswordResetRequest",
            "new_password",
            "minLength",
            json!(PASSWORD_MIN),
        ),
        (
            "ConfirmPasswordResetRequest",
            "new_password",
            "maxLength",
            json!(PASSWORD_MAX),
        ),
        // Longer upload names are shortened, not refused: the limit is on the stored name.
        ("Attachment", "name", "maxLength", json!(FILE_NAME_MAX)),
        (
            "CreateUploadRequest",
            "waveform",
            "maxItems",
            json!(WAVEFORM_PEAKS_MAX),
        ),
        ("CreateUploadRequest", "duration_ms", "minimum", json!(1)),
        (
            "CreateUploadRequest",
            "duration_ms",
            "maximum",
            json!(VOICE_DURATION_MAX_MS),
        ),
    ]
}

/// Writes [`limits`] into the component schemas. A limit whose schema or property is missing is a
/// bug (a renamed field): logged, so the document test that checks the limits fails loudly.
fn field_limits(value: &mut Value) {
    for (schema, property, keyword, limit) in limits() {
        match value
            .pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            ))
            .and_then(Value::as_object_mut)
        {
            Some(p) => {
                p.insert(keyword.to_owned(), limit);
            }
            None => tracing::error!(schema, property, "no such schema property for a limit"),
        }
    }
}
