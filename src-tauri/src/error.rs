//! The one error shape the UI sees: `{code, message, fields?, retryAfterSecs?}`.
//!
//! The UI switches on `code` (the server's `ErrorCode` strings, plus a few that only exist on this
//! side of the wire, listed on [`CommandError`]) and shows `message` as is. Field errors keep the
//! server's field names so the form can put each one under its input.

use jeco_client::{ApiError, ClientError, EngineError, TokenStoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// An error returned by a command.
///
/// Codes that do not come from the server:
/// - `server_unreachable` — no answer from the server address;
/// - `unexpected_response` — something answered that is not a Jeco server;
/// - `invalid_address` — the server address cannot be parsed (`fields.server` says why);
/// - `keychain_unavailable` — the OS keychain refused to store or read the tokens;
/// - `token_storage_failed` — any other failure to keep tokens;
/// - `embedded_server_failed` — the built-in server did not start;
/// - `not_signed_in` — the command needs a session;
/// - `sync_failed` — the live connection could not be made;
/// - `link_refused` — a link with a scheme other than http, https or mailto was not opened;
/// - `open_failed` — the system could not open a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[error("{code}: {message}")]
pub struct CommandError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub retry_after_secs: Option<u64>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            fields: None,
            retry_after_secs: None,
        }
    }

    pub fn with_field(mut self, field: &str, problem: impl Into<String>) -> Self {
        self.fields
            .get_or_insert_with(BTreeMap::new)
            .insert(field.to_owned(), problem.into());
        self
    }
}

impl From<ClientError> for CommandError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Api(api) => api.into(),
            ClientError::Address(e) => {
                Self::new("invalid_address", e.to_string()).with_field("server", e.reason.clone())
            }
            ClientError::Tokens(e) => e.into(),
            ClientError::Sync(e) => match e.code() {
                Some(code) => Self::new(code.as_str(), e.to_string()),
                None => Self::new("sync_failed", e.to_string()),
            },
            ClientError::NotSignedIn => Self::new("not_signed_in", "You are not signed in."),
            ClientError::TwoFactorRequired => Self::new(
                "two_factor_required",
                "This account needs a two-factor code to sign in.",
            ),
        }
    }
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Client(e) => e.into(),
            EngineError::NotSignedIn => Self::new("not_signed_in", "You are not signed in."),
            other => Self::new(other.code().as_str(), other.to_string()),
        }
    }
}

impl From<ApiError> for CommandError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Server {
                code,
                message,
                fields,
                retry_after,
                ..
            } => Self {
                code: code.as_str().to_owned(),
                message,
                fields,
                retry_after_secs: retry_after,
            },
            ApiError::Unreachable { ref server, .. } => Self::new(
                "server_unreachable",
                format!(
                    "Could not reach the server at {server}. Check the address and your connection."
                ),
            ),
            ApiError::UnexpectedResponse {
                ref server, status, ..
            } => Self::new(
                "unexpected_response",
                format!("{server} answered (HTTP {status}) but does not look like a Jeco server."),
            ),
        }
    }
}

impl From<TokenStoreError> for CommandError {
    fn from(error: TokenStoreError) -> Self {
        let code = match error {
            TokenStoreError::Backend { .. } => "keychain_unavailable",
            _ => "token_storage_failed",
        };
        Self::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeco_shared::ErrorCode;

    #[test]
    fn server_errors_keep_code_fields_and_retry_after() {
        let api = ApiError::Server {
            status: 400,
            code: ErrorCode::ValidationFailed,
            message: "Some fields are invalid.".into(),
            fields: Some(BTreeMap::from([(
                "username".to_owned(),
                "too short".to_owned(),
            )])),
            retry_after: Some(9),
        };
        let json = serde_json::to_value(CommandError::from(ClientError::Api(api))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "validation_failed",
                "message": "Some fields are invalid.",
                "fields": {"username": "too short"},
                "retryAfterSecs": 9
            })
        );
    }

    #[test]
    fn local_failures_have_their_own_codes() {
        let bad = jeco_client::ServerAddress::parse("ftp://x").unwrap_err();
        let e = CommandError::from(ClientError::Address(bad));
        assert_eq!(e.code, "invalid_address");
        assert!(e.fields.unwrap().contains_key("server"));

        let keychain = TokenStoreError::Backend {
            backend: "OS keychain",
            action: "save",
            message: "locked".into(),
        };
        assert_eq!(CommandError::from(keychain).code, "keychain_unavailable");
        assert_eq!(
            CommandError::from(ClientError::NotSignedIn).code,
            "not_signed_in"
        );
        let json = serde_json::to_value(CommandError::new("x", "y")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "x", "message": "y"}),
            "absent extras are omitted"
        );
    }
}
