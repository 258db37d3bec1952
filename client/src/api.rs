//! A typed HTTP client for the REST API under `/api/v1`.
//!
//! Every JSON call goes through [`ApiClient::call`] with an endpoint type from
//! [`jeco_shared::endpoints`]: its method and path come from the type, and the answer is read as
//! the type's `Response` — the type the server's handler for that endpoint is bound to send, so
//! the two cannot disagree. The named methods (`login`, `send_message`…) are shorthands over it;
//! only byte bodies (upload chunks, downloads, pictures) have their own. Failures are one enum,
//! [`ApiError`], that keeps apart what a caller reacts to differently: the server could not be
//! reached (retry later, check the address), the server refused with a typed
//! [`ErrorCode`](jeco_shared::ErrorCode) (show the message, mark the fields, sign in again…), or the
//! server answered something that is not the Jeco protocol (wrong address, a proxy page).
//!
//! The client holds no tokens: callers pass the access token per call, so one `ApiClient` can serve
//! any number of sessions and token policy stays in [`crate::Client`].

use crate::address::ServerAddress;
use jeco_shared::auth::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use jeco_shared::conversations::{Conversation, ConversationList, MarkReadRequest, ReadState};
use jeco_shared::endpoints::{
    self, Conversations, CreateUpload, DeleteMessage, EditMessage, Endpoint, GetConversation,
    GetHealth, GetUser, History, JoinInvite, Login, Logout, MarkRead, Me, Notifications, React,
    Refresh, Register, Search, SearchUsers, SendMessage, Teams, UploadStatus,
};
use jeco_shared::health::Health;
use jeco_shared::media::{CreateUploadRequest, UPLOAD_OFFSET_HEADER, Upload};
use jeco_shared::messages::{
    EditMessageRequest, Message, MessagePage, ReactionRequest, ReactionToggled, SendMessageRequest,
};
use jeco_shared::notifications::NotificationPage;
use jeco_shared::search::SearchPage;
use jeco_shared::teams::{JoinInviteRequest, Team, TeamList};
use jeco_shared::two_factor::SignInOutcome;
use jeco_shared::users::{User, UserPage};
use jeco_shared::{AttachmentId, ConversationId, ErrorBody, ErrorCode, MessageId, UserId};
pub use reqwest::Method;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait for a TCP (and TLS) connection. Short: an unreachable server should be reported
/// while the person is still looking at the form.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of an unexpected (non-JSON) body kept for the error message.
const SNIPPET_LEN: usize = 200;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No HTTP answer: connection refused, DNS failure, TLS failure, timeout.
    #[error("could not reach the server at {server}: {reason}")]
    Unreachable {
        server: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server refused the request with a Jeco error body.
    #[error("{message}")]
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
        /// Field name → problem, for `validation_failed`.
        fields: Option<BTreeMap<String, String>>,
        /// Seconds from the `Retry-After` header, for `rate_limited` and `account_locked`.
        retry_after: Option<u64>,
    },
    /// The answer is not what a Jeco server sends (wrong address, a proxy's error page, a newer or
    /// older server with another body shape).
    #[error("unexpected answer from {server} (HTTP {status}): {detail}")]
    UnexpectedResponse {
        server: String,
        status: u16,
        detail: String,
    },
}

impl ApiError {
    /// The server's error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when the presented credentials (token or password) are no good and signing in again is
    /// the only way forward.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self.code(),
            Some(
                ErrorCode::Unauthorized
                    | ErrorCode::TokenInvalid
                    | ErrorCode::TokenExpired
                    | ErrorCode::TokenRevoked
                    | ErrorCode::InvalidCredentials
            )
        )
    }
}

/// The REST API of one server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    server: ServerAddress,
}

impl ApiClient {
    /// A client for `server`, identifying itself with `user_agent`.
    pub fn new(server: ServerAddress, user_agent: &str) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            // Only fails when the TLS backend cannot initialise, which is a broken build.
            .expect("the HTTP client builds with the compiled-in rustls backend");
        Self { http, server }
    }

    pub fn server(&self) -> &ServerAddress {
        &self.server
    }

    /// `GET /health` — whether the server is up, and its version and protocol.
    pub async fn health(&self) -> Result<Health, ApiError> {
        self.send_typed::<GetHealth>(None, &(), &(), &[]).await
    }

    /// `POST /auth/register` — creates an account and signs it in (or, where the server requires
    /// two-factor, answers the set-up challenge).
    pub async fn register(&self, body: &RegisterRequest) -> Result<SignInOutcome, ApiError> {
        self.send_typed::<Register>(None, &(), body, &[]).await
    }

    /// `POST /auth/login` — tokens, or the two-factor step to take.
    pub async fn login(&self, body: &LoginRequest) -> Result<SignInOutcome, ApiError> {
        self.send_typed::<Login>(None, &(), body, &[]).await
    }

    /// `POST /auth/refresh` — trades a refresh token for a new pair. The old refresh token is dead
    /// afterwards, whatever happens to the answer.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ApiError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.send_typed::<Refresh>(None, &(), &body, &[]).await
    }

    /// `POST /auth/logout` — ends the session the access token belongs to.
    pub async fn logout(&self, access_token: &str) -> Result<(), ApiError> {
        self.call::<Logout>(access_token, &(), &()).await
    }

    /// `GET /users/me`
    pub async fn me(&self, access_token: &str) -> Result<User, ApiError> {
        self.call::<Me>(access_token, &(), &()).await
    }

    // ---- Authenticated calls. Each takes the access token; the engine decides when to refresh.

    /// Calls endpoint `E` with its path parameters and body; answers what `E` answers. Every JSON
    /// call goes through here (or [`Self::call_with_query`]), so the engine reads exactly the type
    /// the server's handler for `E` is bound to answer:
    ///
    /// ```no_run
    /// # async fn f(api: &jeco_client::ApiClient, token: &str) -> Result<(), jeco_client::ApiError> {
    /// use jeco_shared::endpoints::CreateChannel;
    /// use jeco_shared::teams::CreateChannelRequest;
    /// let body = CreateChannelRequest { name: "design".into(), private: false, topic: None };
    /// let channel: jeco_shared::conversations::Conversation =
    ///     api.call::<CreateChannel>(token, &(jeco_shared::TeamId(1),), &body).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Reading another type than the endpoint's does not compile:
    ///
    /// ```compile_fail
    /// # async fn f(api: &jeco_client::ApiClient, token: &str) -> Result<(), jeco_client::ApiError> {
    /// use jeco_shared::endpoints::CreateChannel;
    /// use jeco_shared::teams::CreateChannelRequest;
    /// let body = CreateChannelRequest { name: "design".into(), private: false, topic: None };
    /// let channel: jeco_shared::teams::Channel =
    ///     api.call::<CreateChannel>(token, &(jeco_shared::TeamId(1),), &body).await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<E: Endpoint>(
        &self,
        token: &str,
        params: &E::Params,
        body: &E::Request,
    ) -> Result<E::Response, ApiError> {
        self.send_typed::<E>(Some(token), params, body, &[]).await
    }

    /// Calls endpoint `E` without a token: the few that serve someone who cannot sign in
    /// (asking for and confirming a password reset).
    pub async fn send_anonymous<E: Endpoint>(
        &self,
        params: &E::Params,
        body: &E::Request,
    ) -> Result<E::Response, ApiError> {
        self.send_typed::<E>(None, params, body, &[]).await
    }

    /// [`Self::call`] with a query string (history pages, search).
    pub async fn call_with_query<E: Endpoint>(
        &self,
        token: &str,
        params: &E::Params,
        body: &E::Request,
        query: &[(&str, String)],
    ) -> Result<E::Response, ApiError> {
        self.send_typed::<E>(Some(token), params, body, query).await
    }

    pub async fn conversations(&self, token: &str) -> Result<ConversationList, ApiError> {
        self.call::<Conversations>(token, &(), &()).await
    }

    pub async fn conversation(
        &self,
        token: &str,
        id: ConversationId,
    ) -> Result<Conversation, ApiError> {
        self.call::<GetConversation>(token, &(id,), &()).await
    }

    /// A page of history: the newest, or strictly `before`/`after` a message `seq`.
    pub async fn messages(
        &self,
        token: &str,
        id: ConversationId,
        before: Option<i64>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<MessagePage, ApiError> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        if let Some(after) = after {
            query.push(("after", after.to_string()));
        }
        self.call_with_query::<History>(token, &(id,), &(), &query)
            .await
    }

    pub async fn send_message(
        &self,
        token: &str,
        id: ConversationId,
        body: &SendMessageRequest,
    ) -> Result<Message, ApiError> {
        self.call::<SendMessage>(token, &(id,), body).await
    }

    pub async fn edit_message(
        &self,
        token: &str,
        id: ConversationId,
        message: MessageId,
        text: &str,
    ) -> Result<Message, ApiError> {
        let body = EditMessageRequest {
            text: text.to_owned(),
        };
        self.call::<EditMessage>(token, &(id, message), &body).await
    }

    pub async fn delete_message(
        &self,
        token: &str,
        id: ConversationId,
        message: MessageId,
    ) -> Result<(), ApiError> {
        self.call::<DeleteMessage>(token, &(id, message), &()).await
    }

    /// Sets the caller's reaction present or absent (idempotent).
    pub async fn set_reaction(
        &self,
        token: &str,
        id: ConversationId,
        message: MessageId,
        emoji: &str,
        add: bool,
    ) -> Result<ReactionToggled, ApiError> {
        let body = ReactionRequest {
            emoji: emoji.to_owned(),
            add: Some(add),
        };
        self.call::<React>(token, &(id, message), &body).await
    }

    pub async fn mark_read(
        &self,
        token: &str,
        id: ConversationId,
        seq: i64,
    ) -> Result<ReadState, ApiError> {
        self.call::<MarkRead>(token, &(id,), &MarkReadRequest { seq })
            .await
    }

    pub async fn user(&self, token: &str, id: UserId) -> Result<User, ApiError> {
        self.call::<GetUser>(token, &(id,), &()).await
    }

    /// Users whose username or display name matches `q`.
    pub async fn search_users(&self, token: &str, q: &str) -> Result<UserPage, ApiError> {
        self.call_with_query::<SearchUsers>(token, &(), &(), &[("q", q.to_owned())])
            .await
    }

    pub async fn teams(&self, token: &str) -> Result<TeamList, ApiError> {
        self.call::<Teams>(token, &(), &()).await
    }

    pub async fn join_invite(&self, token: &str, code: &str) -> Result<Team, ApiError> {
        let body = JoinInviteRequest {
            code: code.to_owned(),
        };
        self.call::<JoinInvite>(token, &(), &body).await
    }

    /// Full-text search on the server, newest first.
    pub async fn search(
        &self,
        token: &str,
        q: &str,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<SearchPage, ApiError> {
        let mut query = vec![("q", q.to_owned()), ("limit", limit.to_string())];
        if let Some(c) = conversation {
            query.push(("conversation_id", c.to_string()));
        }
        self.call_with_query::<Search>(token, &(), &(), &query)
            .await
    }

    /// Opens a resumable upload (`POST /uploads`).
    pub async fn create_upload(
        &self,
        token: &str,
        body: &CreateUploadRequest,
    ) -> Result<Upload, ApiError> {
        self.call::<CreateUpload>(token, &(), body).await
    }

    /// Where an upload stands: resume from its `offset`.
    pub async fn upload_status(&self, token: &str, id: &str) -> Result<Upload, ApiError> {
        self.call::<UploadStatus>(token, &(id.to_owned(),), &())
            .await
    }

    /// Appends `bytes` at `offset`; the chunk that reaches the declared size completes the upload
    /// and the answer carries the attachment.
    pub async fn upload_chunk(
        &self,
        token: &str,
        id: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<Upload, ApiError> {
        self.send(
            self.request(Method::PATCH, &format!("/uploads/{id}"))
                .bearer_auth(token)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/offset+octet-stream",
                )
                .header(UPLOAD_OFFSET_HEADER, offset.to_string())
                .body(bytes),
        )
        .await
    }

    /// Streams an attachment (or its thumbnail) into `file`; returns the bytes written.
    pub async fn download_attachment(
        &self,
        token: &str,
        id: AttachmentId,
        thumbnail: bool,
        file: &mut tokio::fs::File,
    ) -> Result<u64, ApiError> {
        let variant = if thumbnail { "thumbnail" } else { "content" };
        self.download(token, &format!("/attachments/{id}/{variant}"), file)
            .await
    }

    /// Streams "export my data" (`GET /users/me/export`, a zip) into `file`; returns the bytes
    /// written.
    pub async fn download_export(
        &self,
        token: &str,
        file: &mut tokio::fs::File,
    ) -> Result<u64, ApiError> {
        self.download(token, "/users/me/export", file).await
    }

    /// Streams the bytes `GET path` answers into `file`, checking that as many arrived as the
    /// server announced (a download cut short is an error, not a short file).
    async fn download(
        &self,
        token: &str,
        path: &str,
        file: &mut tokio::fs::File,
    ) -> Result<u64, ApiError> {
        use tokio::io::AsyncWriteExt;
        let request = self.request(Method::GET, path).bearer_auth(token);
        let mut response = self.check(self.execute(request).await?).await?;
        let announced = response.content_length();
        let write_failed = |e: std::io::Error| ApiError::UnexpectedResponse {
            server: self.server.to_string(),
            status: 200,
            detail: format!("cannot write the download: {e}"),
        };
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            file.write_all(&chunk).await.map_err(write_failed)?;
            written += chunk.len() as u64;
        }
        // tokio writes in the background: make sure every byte is in the file before the caller
        // renames or reads it.
        file.flush().await.map_err(write_failed)?;
        if let Some(announced) = announced
            && announced != written
        {
            return Err(ApiError::UnexpectedResponse {
                server: self.server.to_string(),
                status: 200,
                detail: format!("the download ended after {written} of {announced} bytes"),
            });
        }
        Ok(written)
    }

    /// `PUT path` with raw bytes (a picture), answered with JSON.
    pub async fn put_bytes<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<T, ApiError> {
        self.send(
            self.request(Method::PUT, path)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        )
        .await
    }

    /// `GET path` answered with raw bytes of at most `limit` (a picture).
    pub async fn get_bytes(
        &self,
        token: &str,
        path: &str,
        limit: usize,
    ) -> Result<Vec<u8>, ApiError> {
        let request = self.request(Method::GET, path).bearer_auth(token);
        let mut response = self.check(self.execute(request).await?).await?;
        let mut out = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            if out.len() + chunk.len() > limit {
                return Err(ApiError::UnexpectedResponse {
                    server: self.server.to_string(),
                    status: 200,
                    detail: format!("the answer is larger than {limit} bytes"),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    pub async fn notifications(&self, token: &str) -> Result<NotificationPage, ApiError> {
        self.call::<Notifications>(token, &(), &()).await
    }

    /// Sends endpoint `E`: its method, its path filled from `params`, the body unless `E` has
    /// none (`()` serializes to `null`), and reads `E::Response` (`()` from an empty answer).
    async fn send_typed<E: Endpoint>(
        &self,
        token: Option<&str>,
        params: &E::Params,
        body: &E::Request,
        query: &[(&str, String)],
    ) -> Result<E::Response, ApiError> {
        let method = match E::METHOD {
            endpoints::Method::Get => Method::GET,
            endpoints::Method::Post => Method::POST,
            endpoints::Method::Put => Method::PUT,
            endpoints::Method::Patch => Method::PATCH,
            endpoints::Method::Delete => Method::DELETE,
        };
        let mut request = self.request(method, &E::path(params));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        let json = serde_json::to_value(body).map_err(|e| ApiError::UnexpectedResponse {
            server: self.server.to_string(),
            status: 0,
            detail: format!("cannot encode the request: {e}"),
        })?;
        if !json.is_null() {
            request = request.json(&json);
        }
        self.send(request).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.server.api_url(path))
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        let response = self.execute(request).await?;
        let response = self.check(response).await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        // `204 No Content` reads as `null`: that is `()`, and an error for any other type.
        let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(body).map_err(|e| ApiError::UnexpectedResponse {
            server: self.server.to_string(),
            status,
            detail: format!("the body does not parse ({e}): {}", snippet(&bytes)),
        })
    }

    async fn execute(&self, request: RequestBuilder) -> Result<Response, ApiError> {
        request.send().await.map_err(|e| self.unreachable(e))
    }

    /// Passes successful responses through and turns the rest into [`ApiError`].
    async fn check(&self, response: Response) -> Result<Response, ApiError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        Err(self.error_from_body(status, retry_after, &bytes))
    }

    fn error_from_body(
        &self,
        status: StatusCode,
        retry_after: Option<u64>,
        body: &[u8],
    ) -> ApiError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => ApiError::Server {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
                fields: error.fields,
                retry_after,
            },
            Err(_) => ApiError::UnexpectedResponse {
                server: self.server.to_string(),
                status: status.as_u16(),
                detail: if body.is_empty() {
                    "empty body".to_owned()
                } else {
                    snippet(body)
                },
            },
        }
    }

    fn unreachable(&self, source: reqwest::Error) -> ApiError {
        let reason = if source.is_timeout() {
            "the request timed out".to_owned()
        } else if source.is_connect() {
            "the connection was refused or could not be made".to_owned()
        } else {
            source.to_string()
        };
        ApiError::Unreachable {
            server: self.server.to_string(),
            reason,
            source,
        }
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(SNIPPET_LEN).collect();
    if text.chars().count() > SNIPPET_LEN {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot HTTP server that answers the first request with `response` verbatim, so error
    /// handling can be tested against bodies a real Jeco server would never send.
    async fn canned(response: &'static str) -> ServerAddress {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let _ = socket.read(&mut buf).await.unwrap();
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        });
        ServerAddress::parse(&addr.to_string()).unwrap()
    }

    fn client(server: ServerAddress) -> ApiClient {
        ApiClient::new(server, crate::DEFAULT_CLIENT_NAME)
    }

    #[tokio::test]
    async fn error_body_becomes_typed_error_with_fields_and_retry_after() {
        let body = r#"{"error":{"code":"validation_failed","message":"bad input","fields":{"username":"too short"}}}"#;
        let response: &'static str = Box::leak(
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nretry-after: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_boxed_str(),
        );
        let err = client(canned(response).await).health().await.unwrap_err();
        match err {
            ApiError::Server {
                status,
                code,
                message,
                fields,
                retry_after,
            } => {
                assert_eq!(status, 400);
                assert_eq!(code, ErrorCode::ValidationFailed);
                assert_eq!(message, "bad input");
                assert_eq!(fields.unwrap()["username"], "too short");
                assert_eq!(retry_after, Some(7));
            }
            other => panic!("expected a server error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn non_jeco_error_page_is_unexpected_response() {
        let response = "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 17\r\nconnection: close\r\n\r\n<h1>gateway</h1>\n";
        let err = client(canned(response).await).health().await.unwrap_err();
        assert!(
            matches!(&err, ApiError::UnexpectedResponse { status: 502, detail, .. } if detail.contains("gateway")),
            "{err:?}"
        );
        assert_eq!(err.code(), None);
    }

    #[tokio::test]
    async fn success_with_wrong_shape_is_unexpected_response() {
        let response = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        let err = client(canned(response).await).health().await.unwrap_err();
        assert!(
            matches!(err, ApiError::UnexpectedResponse { status: 200, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn closed_port_is_unreachable() {
        // Bind then drop, so the port is (almost certainly) closed.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = ServerAddress::parse(&format!("127.0.0.1:{port}")).unwrap();
        let err = client(server).health().await.unwrap_err();
        assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
        assert!(err.to_string().contains("could not reach"), "{err}");
    }

    #[test]
    fn auth_failures_are_recognised() {
        let server_error = |code| ApiError::Server {
            status: code_status(code),
            code,
            message: String::new(),
            fields: None,
            retry_after: None,
        };
        assert!(server_error(ErrorCode::TokenRevoked).is_auth_failure());
        assert!(server_error(ErrorCode::InvalidCredentials).is_auth_failure());
        assert!(!server_error(ErrorCode::RateLimited).is_auth_failure());
        assert!(!server_error(ErrorCode::Internal).is_auth_failure());
    }

    fn code_status(code: ErrorCode) -> u16 {
        code.http_status()
    }
}
