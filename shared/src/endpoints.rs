//! One typed list of the REST endpoints: method, path, path parameters, request body and answer.
//!
//! Each endpoint is a zero-sized type implementing [`Endpoint`]. The server registers its route
//! from [`Endpoint::PATH`] and its handler can only answer [`Endpoint::Response`] (the server's
//! `Reply<E>`); the client engine calls an endpoint by its type and reads
//! [`Endpoint::Response`]. So a server that answers one type where the engine reads another is a
//! compile error on one side, not an "unexpected answer" at run time — the bug class of issue 13,
//! where creating a channel answered a `Conversation` and the engine read a `Channel`.
//!
//! Conventions:
//! - [`Endpoint::PATH`] is relative to [`API_PREFIX`](crate::API_PREFIX), in axum 0.8's `{param}`
//!   syntax; its placeholders are filled in order from [`Endpoint::Params`] by [`Endpoint::path`].
//! - `()` as `Request` means "no body"; `()` as `Response` means `204 No Content`.
//! - Query strings (history pages, search) are not part of the type: the few `GET`s that take one
//!   say so in their docs, and the caller adds the pairs.
//! - Endpoints whose bodies are bytes rather than JSON (upload chunks, downloads, pictures) do not
//!   fit the trait; they are listed in [`BINARY`] with their method and path, so that the list of
//!   what the server serves is still complete here ([`all`] walks both).

use crate::account::{
    ChangePasswordRequest, ConfirmPasswordResetRequest, EmailStatus, PasswordResetRequest,
    SessionList, SetEmailRequest, SignedOut, VerifyEmailRequest,
};
use crate::admin::{AdminPasswordRequest, AdminPasswordReset, AdminUser, AdminUserPage};
use crate::auth::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use crate::contacts::{ContactList, ContactRequest, ContactRequestList, SendContactRequest};
use crate::conversations::{
    AddMembersRequest, Conversation, ConversationList, CreateGroupRequest, MarkReadRequest, Member,
    OpenDirectRequest, ReadState, UpdateConversationRequest,
};
use crate::health::{Health, Readiness};
use crate::ids::{
    AttachmentId, ContactRequestId, ConversationId, InviteId, MessageId, NotificationId, SessionId,
    TeamId, UserId,
};
use crate::media::{Attachment, CreateUploadRequest, MediaUsageReport, SignedUrl, Upload};
use crate::messages::{
    EditMessageRequest, Message, MessagePage, ReactionRequest, ReactionToggled, SendMessageRequest,
    ThreadList,
};
use crate::notifications::{MuteRequest, MuteState, NotificationPage, UnreadNotifications};
use crate::search::SearchPage;
use crate::teams::{
    AddTeamMemberRequest, ChannelList, CreateChannelRequest, CreateInviteRequest, Invite,
    InviteList, JoinInviteRequest, Team, TeamList, TeamNameRequest, TransferOwnershipRequest,
    UpdateTeamMemberRequest,
};
use crate::two_factor::{
    AdminSignedOut, ConfirmLoginCodeRequest, DisableTwoFactorRequest, LoginCodeRequest,
    RecoveryCodes, ServerSettings, SignInOutcome, TwoFactorCodeRequest, TwoFactorEnrollment,
    TwoFactorLoginRequest, TwoFactorSignedIn, TwoFactorStatus,
};
use crate::users::{UpdateProfileRequest, User, UserPage};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method as HTTP spells it (`GET`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values of a path's `{param}` placeholders, in order: `()`, `(TeamId,)`, `(TeamId, UserId)`…
pub trait PathParams {
    /// How many placeholders these values fill.
    const COUNT: usize;
    /// The values as they go into the path.
    fn values(&self) -> Vec<String>;
}

impl PathParams for () {
    const COUNT: usize = 0;
    fn values(&self) -> Vec<String> {
        Vec::new()
    }
}

impl<A: Display> PathParams for (A,) {
    const COUNT: usize = 1;
    fn values(&self) -> Vec<String> {
        vec![self.0.to_string()]
    }
}

impl<A: Display, B: Display> PathParams for (A, B) {
    const COUNT: usize = 2;
    fn values(&self) -> Vec<String> {
        vec![self.0.to_string(), self.1.to_string()]
    }
}

/// One JSON endpoint of the REST API. Implemented by the zero-sized types of this module only.
pub trait Endpoint {
    /// The HTTP method.
    const METHOD: Method;
    /// The route under [`API_PREFIX`](crate::API_PREFIX), with `{param}` placeholders.
    const PATH: &'static str;
    /// The values of the placeholders of [`Self::PATH`], in order.
    type Params: PathParams;
    /// The JSON body sent; `()` for none.
    type Request: Serialize + DeserializeOwned;
    /// The JSON body answered on success; `()` for `204 No Content`.
    type Response: Serialize + DeserializeOwned;

    /// [`Self::PATH`] with its placeholders filled from `params`, in order.
    fn path(params: &Self::Params) -> String {
        fill(Self::PATH, &params.values())
    }
}

/// `template` with each `{…}` replaced by the next of `values`.
fn fill(template: &str, values: &[String]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(values.next().map_or("", String::as_str));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The number of `{param}` placeholders in a path template.
pub fn placeholder_count(template: &str) -> usize {
    template.matches('{').count()
}

/// One row of the list of what the server serves: for tests and tooling that walk every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The endpoint type's name (`CreateChannel`), or the binary endpoint's.
    pub name: &'static str,
    pub method: Method,
    /// Under [`API_PREFIX`](crate::API_PREFIX), with `{param}` placeholders.
    pub path: &'static str,
    /// Whether both bodies are JSON (an [`Endpoint`]) or one of them is bytes ([`BINARY`]).
    pub json: bool,
    /// How many placeholders the typed parameters fill (for JSON endpoints; else the path's).
    pub params: usize,
    /// The request body's type as written in the list (`CreateChannelRequest`, `()`), or
    /// `bytes` for a binary endpoint; for checking the OpenAPI document against the list.
    pub request: &'static str,
    /// The answer's type as written in the list (`Conversation`, `Vec<Member>`, `()`), or `bytes`.
    pub response: &'static str,
}

macro_rules! endpoints {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: $method:ident $path:literal, ($($param:ty),*), $req:ty => $resp:ty;
    )*) => {
        $(
            $(#[doc = $doc])*
            #[doc = ""]
            #[doc = concat!("`", stringify!($method), " ", $path, "`: `", stringify!($req), "` → `", stringify!($resp), "`.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $name;

            impl Endpoint for $name {
                const METHOD: Method = Method::$method;
                const PATH: &'static str = $path;
                type Params = ($($param,)*);
                type Request = $req;
                type Response = $resp;
            }
        )*

        /// Every JSON endpoint, in the order of this module.
        pub const JSON: &[Route] = &[$(
            Route {
                name: stringify!($name),
                method: Method::$method,
                path: $path,
                json: true,
                params: <($($param,)*) as PathParams>::COUNT,
                request: stringify!($req),
                response: stringify!($resp),
            },
        )*];
    };
}

endpoints! {
    // ---- meta and accounts
    /// Whether the server is up, its version and protocol.
    GetHealth: Get "/health", (), () => Health;
    /// Whether this instance should get new clients: database (and Redis) reachable, not draining.
    GetReady: Get "/ready", (), () => Readiness;
    /// Create an account and sign it in (or, when the server requires two-factor, enrol it first).
    Register: Post "/auth/register", (), RegisterRequest => SignInOutcome;
    /// Sign in with a password: tokens, or a two-factor challenge.
    Login: Post "/auth/login", (), LoginRequest => SignInOutcome;
    /// Mail a 6-digit sign-in code to the account's verified address (`204` either way).
    RequestLoginCode: Post "/auth/login-code", (), LoginCodeRequest => ();
    /// Sign in with the mailed code: tokens, or a two-factor challenge.
    ConfirmLoginCode: Post "/auth/login-code/confirm", (), ConfirmLoginCodeRequest => SignInOutcome;
    /// Finish a sign-in with a two-factor code or a recovery code.
    LoginTwoFactor: Post "/auth/login/two-factor", (), TwoFactorLoginRequest => TwoFactorSignedIn;
    /// Trade a refresh token for a new pair.
    Refresh: Post "/auth/refresh", (), RefreshRequest => TokenResponse;
    /// End the session the access token belongs to.
    Logout: Post "/auth/logout", (), () => ();
    /// Change the password, knowing the current one; optionally end the other sessions.
    ChangePassword: Post "/auth/password", (), ChangePasswordRequest => ();
    /// Mail a password-reset token to the account named by username or email (`204` either way).
    RequestPasswordReset: Post "/auth/password-reset", (), PasswordResetRequest => ();
    /// Set a new password with a reset token; every session of the account ends.
    ConfirmPasswordReset: Post "/auth/password-reset/confirm", (), ConfirmPasswordResetRequest => ();

    // ---- the caller's account
    /// The caller's email address and any address waiting for its code.
    MyEmail: Get "/users/me/email", (), () => EmailStatus;
    /// Mail a verification code to a new address (it replaces the old one once verified).
    SetEmail: Put "/users/me/email", (), SetEmailRequest => EmailStatus;
    /// Prove the pending address with the code from the mail.
    VerifyEmail: Post "/users/me/email/verify", (), VerifyEmailRequest => EmailStatus;
    /// Remove the address (and any pending one).
    RemoveEmail: Delete "/users/me/email", (), () => ();
    /// The caller's signed-in sessions.
    MySessions: Get "/users/me/sessions", (), () => SessionList;
    /// End one of the caller's sessions (its sockets close with `4008`).
    EndSession: Delete "/users/me/sessions/{id}", (SessionId), () => ();
    /// End every session of the caller but this one.
    SignOutOthers: Post "/users/me/sessions/sign-out-others", (), () => SignedOut;
    /// Whether the caller uses two-factor, and how many recovery codes are left.
    TwoFactorState: Get "/users/me/two-factor", (), () => TwoFactorStatus;
    /// Start enrolling: a new secret for the authenticator app (replaces a pending one).
    BeginTwoFactor: Post "/users/me/two-factor", (), () => TwoFactorEnrollment;
    /// Finish enrolling with a code from the app: two-factor is on; the recovery codes, once.
    ConfirmTwoFactor: Post "/users/me/two-factor/confirm", (), TwoFactorCodeRequest => RecoveryCodes;
    /// Turn two-factor off, with the password or a current code.
    DisableTwoFactor: Delete "/users/me/two-factor", (), DisableTwoFactorRequest => ();
    /// New recovery codes (the old ones stop working), with a current code.
    RegenerateRecoveryCodes: Post "/users/me/two-factor/recovery-codes", (), TwoFactorCodeRequest => RecoveryCodes;

    // ---- users
    /// The signed-in user.
    Me: Get "/users/me", (), () => User;
    /// Change the signed-in user's display name, bio or status line.
    UpdateMe: Patch "/users/me", (), UpdateProfileRequest => User;
    /// One user's profile.
    GetUser: Get "/users/{id}", (UserId), () => User;
    /// Users whose username or display name matches `?q=`.
    SearchUsers: Get "/users", (), () => UserPage;

    // ---- conversations
    /// The caller's conversations.
    Conversations: Get "/conversations", (), () => ConversationList;
    /// Create a group conversation (201).
    CreateGroup: Post "/conversations", (), CreateGroupRequest => Conversation;
    /// Open (or get) the direct conversation with a user (201 new, 200 existing).
    OpenDirect: Post "/conversations/direct", (), OpenDirectRequest => Conversation;
    /// One conversation.
    GetConversation: Get "/conversations/{id}", (ConversationId), () => Conversation;
    /// Rename a conversation, set a topic, archive a channel.
    UpdateConversation: Patch "/conversations/{id}", (ConversationId), UpdateConversationRequest => Conversation;
    /// Delete a channel.
    DeleteConversation: Delete "/conversations/{id}", (ConversationId), () => ();
    /// Join a public channel.
    JoinChannel: Post "/conversations/{id}/join", (ConversationId), () => Conversation;
    /// A conversation's members.
    ConversationMembers: Get "/conversations/{id}/members", (ConversationId), () => Vec<Member>;
    /// Add members to a conversation.
    AddConversationMembers: Post "/conversations/{id}/members", (ConversationId), AddMembersRequest => Vec<Member>;
    /// Remove a member, or leave.
    RemoveConversationMember: Delete "/conversations/{id}/members/{user_id}", (ConversationId, UserId), () => ();
    /// Mark read up to a sequence number.
    MarkRead: Post "/conversations/{id}/read", (ConversationId), MarkReadRequest => ReadState;
    /// Mute or unmute a conversation.
    SetMute: Put "/conversations/{id}/mute", (ConversationId), MuteRequest => MuteState;

    // ---- messages
    /// A page of history (`?before=`, `?after=`, `?limit=`).
    History: Get "/conversations/{id}/messages", (ConversationId), () => MessagePage;
    /// Send a message (201, or 200 for a retried send).
    SendMessage: Post "/conversations/{id}/messages", (ConversationId), SendMessageRequest => Message;
    /// One message.
    GetMessage: Get "/conversations/{id}/messages/{mid}", (ConversationId, MessageId), () => Message;
    /// Edit a message.
    EditMessage: Patch "/conversations/{id}/messages/{mid}", (ConversationId, MessageId), EditMessageRequest => Message;
    /// Delete a message.
    DeleteMessage: Delete "/conversations/{id}/messages/{mid}", (ConversationId, MessageId), () => ();
    /// A page of a thread's replies (`?after=`, `?limit=`).
    Replies: Get "/conversations/{id}/messages/{mid}/replies", (ConversationId, MessageId), () => MessagePage;
    /// The threads the caller takes part in, newest activity first (`?limit=`).
    Threads: Get "/threads", (), () => ThreadList;
    /// Set the caller's reaction present or absent.
    React: Post "/conversations/{id}/messages/{mid}/reactions", (ConversationId, MessageId), ReactionRequest => ReactionToggled;
    /// A conversation's pinned messages.
    Pins: Get "/conversations/{id}/pins", (ConversationId), () => Vec<Message>;
    /// Pin a message.
    Pin: Put "/conversations/{id}/pins/{mid}", (ConversationId, MessageId), () => Message;
    /// Unpin a message.
    Unpin: Delete "/conversations/{id}/pins/{mid}", (ConversationId, MessageId), () => Message;

    // ---- teams and channels
    /// The caller's teams.
    Teams: Get "/teams", (), () => TeamList;
    /// Create a team (201).
    CreateTeam: Post "/teams", (), TeamNameRequest => Team;
    /// One team.
    GetTeam: Get "/teams/{id}", (TeamId), () => Team;
    /// Rename a team.
    RenameTeam: Patch "/teams/{id}", (TeamId), TeamNameRequest => Team;
    /// Delete a team.
    DeleteTeam: Delete "/teams/{id}", (TeamId), () => ();
    /// A team's members.
    TeamMembers: Get "/teams/{id}/members", (TeamId), () => Vec<Member>;
    /// Add a user to a team.
    AddTeamMember: Post "/teams/{id}/members", (TeamId), AddTeamMemberRequest => Vec<Member>;
    /// Change a member's role.
    SetTeamRole: Patch "/teams/{id}/members/{user_id}", (TeamId, UserId), UpdateTeamMemberRequest => Vec<Member>;
    /// Remove a member, or leave.
    RemoveTeamMember: Delete "/teams/{id}/members/{user_id}", (TeamId, UserId), () => ();
    /// Hand the team to another member.
    TransferTeam: Post "/teams/{id}/transfer", (TeamId), TransferOwnershipRequest => Team;
    /// A team's invitations.
    Invites: Get "/teams/{id}/invites", (TeamId), () => InviteList;
    /// Make an invitation (201).
    CreateInvite: Post "/teams/{id}/invites", (TeamId), CreateInviteRequest => Invite;
    /// Revoke an invitation.
    RevokeInvite: Delete "/teams/{id}/invites/{invite_id}", (TeamId, InviteId), () => Invite;
    /// Join a team with a code (201 joined, 200 already a member).
    JoinInvite: Post "/invites/join", (), JoinInviteRequest => Team;
    /// A team's channels the caller may see.
    Channels: Get "/teams/{id}/channels", (TeamId), () => ChannelList;
    /// Create a channel (201): the answer is the new conversation, as the conversation list has it.
    CreateChannel: Post "/teams/{id}/channels", (TeamId), CreateChannelRequest => Conversation;

    // ---- notifications, search, contacts
    /// The notification inbox (`?limit=`, `?before=`).
    Notifications: Get "/notifications", (), () => NotificationPage;
    /// How many notifications are unread.
    UnreadCount: Get "/notifications/unread-count", (), () => UnreadNotifications;
    /// Mark one notification read.
    MarkNotificationRead: Post "/notifications/{id}/read", (NotificationId), () => UnreadNotifications;
    /// Mark every notification read.
    MarkAllNotificationsRead: Post "/notifications/read-all", (), () => UnreadNotifications;
    /// Full-text search (`?q=`, `?conversation_id=`, `?limit=`).
    Search: Get "/search", (), () => SearchPage;
    /// The caller's contacts.
    Contacts: Get "/contacts", (), () => ContactList;
    /// Contact requests in and out.
    ContactRequests: Get "/contacts/requests", (), () => ContactRequestList;
    /// Ask a user to become a contact (201).
    SendContactRequestTo: Post "/contacts/requests", (), SendContactRequest => ContactRequest;
    /// Accept a request.
    AcceptContactRequest: Post "/contacts/requests/{id}/accept", (ContactRequestId), () => ContactRequest;
    /// Decline a request.
    DeclineContactRequest: Post "/contacts/requests/{id}/decline", (ContactRequestId), () => ContactRequest;
    /// Withdraw a request one sent.
    CancelContactRequest: Delete "/contacts/requests/{id}", (ContactRequestId), () => ContactRequest;
    /// Remove a contact.
    RemoveContact: Delete "/contacts/{user_id}", (UserId), () => ();

    // ---- media (JSON parts)
    /// Open a resumable upload (201).
    CreateUpload: Post "/uploads", (), CreateUploadRequest => Upload;
    /// Where an upload stands.
    UploadStatus: Get "/uploads/{id}", (String), () => Upload;
    /// Cancel an upload.
    CancelUpload: Delete "/uploads/{id}", (String), () => ();
    /// An attachment's metadata.
    GetAttachment: Get "/attachments/{id}", (AttachmentId), () => Attachment;
    /// A signed download address for an attachment.
    SignedAttachmentUrl: Post "/attachments/{id}/url", (AttachmentId), () => SignedUrl;
    /// Remove the signed-in user's picture.
    RemoveMyAvatar: Delete "/users/me/avatar", (), () => ();
    /// Storage used per user (server admins).
    MediaUsage: Get "/admin/media-usage", (), () => MediaUsageReport;

    // ---- server administration (server admins only; everyone else 403)
    /// Every account, paged by username (`?q=` prefix of username, display name or email,
    /// `?limit=`, `?cursor=`).
    AdminUsers: Get "/admin/users", (), () => AdminUserPage;
    /// One account as the admin list shows it.
    AdminGetUser: Get "/admin/users/{id}", (UserId), () => AdminUser;
    /// Deactivate an account: no sign-in, every session ended (sockets close with `4009`).
    DeactivateUser: Post "/admin/users/{id}/deactivate", (UserId), () => AdminUser;
    /// Let a deactivated account sign in again.
    ReactivateUser: Post "/admin/users/{id}/reactivate", (UserId), () => AdminUser;
    /// Set a new password for an account, or mail it a reset token; every session ends.
    AdminResetPassword: Post "/admin/users/{id}/password", (UserId), AdminPasswordRequest => AdminPasswordReset;
    /// Make an account a server admin.
    GrantAdmin: Put "/admin/users/{id}/admin", (UserId), () => AdminUser;
    /// Remove an account's server-admin flag (never the last admin's: `409 last_admin`).
    RevokeAdmin: Delete "/admin/users/{id}/admin", (UserId), () => AdminUser;
    /// Turn off an account's two-factor (lost phone); every session of it ends.
    AdminResetTwoFactor: Delete "/admin/users/{id}/two-factor", (UserId), () => AdminSignedOut;
    /// The server-wide settings.
    AdminSettings: Get "/admin/settings", (), () => ServerSettings;
    /// Change the server-wide settings (requiring two-factor ends the sessions of accounts without it).
    SetAdminSettings: Put "/admin/settings", (), ServerSettings => AdminSignedOut;
}

/// Endpoints with a byte body on one side: not [`Endpoint`]s, listed for completeness.
pub const BINARY: &[Route] = &[
    binary("AppendUpload", Method::Patch, "/uploads/{id}"),
    binary(
        "AttachmentContent",
        Method::Get,
        "/attachments/{id}/content",
    ),
    binary(
        "AttachmentThumbnail",
        Method::Get,
        "/attachments/{id}/thumbnail",
    ),
    binary("SetMyAvatar", Method::Put, "/users/me/avatar"),
    // "Export my data": a zip of the caller's profile, messages and files ([`crate::export`]).
    binary("ExportMyData", Method::Get, "/users/me/export"),
    binary("UserAvatar", Method::Get, "/users/{id}/avatar"),
    binary("TeamAvatar", Method::Get, "/teams/{id}/avatar"),
    binary("SetTeamAvatar", Method::Put, "/teams/{id}/avatar"),
    binary("RemoveTeamAvatar", Method::Delete, "/teams/{id}/avatar"),
    // The WebSocket gateway's upgrade: its protocol is in [`crate::ws`].
    binary("Gateway", Method::Get, "/ws"),
];

const fn binary(name: &'static str, method: Method, path: &'static str) -> Route {
    let bytes = path.as_bytes();
    let mut params = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            params += 1;
        }
        i += 1;
    }
    Route {
        name,
        method,
        path,
        json: false,
        params,
        request: "bytes",
        response: "bytes",
    }
}

/// Every route the server serves under [`API_PREFIX`](crate::API_PREFIX): [`JSON`] then [`BINARY`].
pub fn all() -> impl Iterator<Item = &'static Route> {
    JSON.iter().chain(BINARY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn paths_fill_their_placeholders_in_order() {
        assert_eq!(
            CreateChannel::path(&(TeamId(7),)),
            "/teams/7/channels".to_owned()
        );
        assert_eq!(
            EditMessage::path(&(ConversationId(3), MessageId(9))),
            "/conversations/3/messages/9"
        );
        assert_eq!(Teams::path(&()), "/teams");
    }

    #[test]
    fn every_route_is_listed_once_with_as_many_params_as_placeholders() {
        let mut seen = HashSet::new();
        for route in all() {
            assert!(route.path.starts_with('/'), "{route:?}");
            assert!(!route.path.contains(':'), "axum 0.8 syntax: {route:?}");
            assert_eq!(route.params, placeholder_count(route.path), "{route:?}");
            assert!(
                seen.insert((route.method, route.path)),
                "listed twice: {route:?}"
            );
        }
    }
}
