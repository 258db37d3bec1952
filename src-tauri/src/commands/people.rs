//! Commands of the profile, team administration and contacts screens. Each needs the server's
//! answer (see `jeco_client::Engine`'s people API); offline they fail with `unavailable`.

use crate::error::CommandError;
use crate::session::AppState;
use jeco_client::Engine;
use jeco_shared::UserId;
use jeco_shared::contacts::{Contact, ContactRequest, ContactRequestList};
use jeco_shared::conversations::{Conversation, Member, MemberRole};
use jeco_shared::ids::{ContactRequestId, InviteId, TeamId};
use jeco_shared::teams::{CreateChannelRequest, CreateInviteRequest, Invite, Team};
use jeco_shared::users::{UpdateProfileRequest, User};
use serde::Serialize;
use std::path::PathBuf;
use tauri::State;

/// A team member with their profile, as the members list shows them.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TeamMember {
    pub user: User,
    pub role: MemberRole,
    pub joined_at: String,
}

/// Contacts and the requests still waiting for an answer, with the people on them.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ContactsView {
    pub contacts: Vec<Contact>,
    /// Sent to the user: accept or decline.
    pub incoming: Vec<ContactRequestView>,
    /// Sent by the user: waiting, or cancel.
    pub outgoing: Vec<ContactRequestView>,
}

/// A contact request and the other person on it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ContactRequestView {
    pub request: ContactRequest,
    /// The sender of an incoming request, the addressee of an outgoing one.
    pub user: Option<User>,
}

/// The user's profile as the server has it now (the last known one offline): what the profile
/// dialog shows, so that it never edits a stale copy.
#[tauri::command]
pub async fn my_profile(state: State<'_, AppState>) -> Result<User, CommandError> {
    Ok(state.engine().await?.refresh_me().await?)
}

/// Changes the user's display name, bio and status line (absent fields stay as they are).
#[tauri::command]
pub async fn update_profile(
    state: State<'_, AppState>,
    change: UpdateProfileRequest,
) -> Result<User, CommandError> {
    Ok(state.engine().await?.update_profile(&change).await?)
}

/// Sets the user's picture from an image file chosen in the UI.
#[tauri::command]
pub async fn set_avatar(state: State<'_, AppState>, path: PathBuf) -> Result<User, CommandError> {
    Ok(state.engine().await?.set_avatar(&path).await?)
}

/// Sets the user's picture from the bytes of a file chosen, pasted or dropped in the web view
/// (base64, as the web view reads files).
#[tauri::command]
pub async fn set_avatar_bytes(
    state: State<'_, AppState>,
    data_base64: String,
) -> Result<User, CommandError> {
    use base64::Engine as _;
    let too_large = || CommandError::new("payload_too_large", "A picture may be at most 10 MiB.");
    if data_base64.len() as u64 / 4 * 3 > jeco_client::AVATAR_FILE_MAX + 3 {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data_base64.as_bytes())
        .map_err(|_| CommandError::new("validation_failed", "The picture could not be read."))?;
    if bytes.len() as u64 > jeco_client::AVATAR_FILE_MAX {
        return Err(too_large());
    }
    let file = tempfile::NamedTempFile::new()
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, &bytes)?;
            Ok(f)
        })
        .map_err(|e| CommandError::new("internal", format!("Cannot keep the picture: {e}")))?;
    Ok(state.engine().await?.set_avatar(file.path()).await?)
}

/// Removes the user's picture.
#[tauri::command]
pub async fn remove_avatar(state: State<'_, AppState>) -> Result<User, CommandError> {
    Ok(state.engine().await?.remove_avatar().await?)
}

/// A user's picture as a `data:` URL, or `null` when they have none.
#[tauri::command]
pub async fn avatar_data_url(
    state: State<'_, AppState>,
    user: User,
) -> Result<Option<String>, CommandError> {
    use base64::Engine as _;
    let Some(path) = state.engine().await?.user_avatar_file(&user).await? else {
        return Ok(None);
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| CommandError::new("internal", format!("Cannot read the picture: {e}")))?;
    let content_type = if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(Some(format!(
        "data:{content_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    )))
}

/// Creates a team; the user becomes its owner.
#[tauri::command]
pub async fn create_team(state: State<'_, AppState>, name: String) -> Result<Team, CommandError> {
    if name.trim().is_empty() {
        return Err(
            CommandError::new("validation_failed", "Give the team a name.")
                .with_field("name", "required"),
        );
    }
    Ok(state.engine().await?.create_team(&name).await?)
}

/// The user's teams (from the cache: works offline).
#[tauri::command]
pub async fn teams(state: State<'_, AppState>) -> Result<Vec<Team>, CommandError> {
    Ok(state.engine().await?.teams()?)
}

/// A team's members with their profiles, owner first, then admins, then by name.
#[tauri::command]
pub async fn team_members(
    state: State<'_, AppState>,
    team_id: TeamId,
) -> Result<Vec<TeamMember>, CommandError> {
    let engine = state.engine().await?;
    let members = engine.team_members(team_id).await?;
    let mut out = with_profiles(&engine, members)?;
    out.sort_by(|a, b| {
        rank(a.role)
            .cmp(&rank(b.role))
            .then_with(|| a.user.username.cmp(&b.user.username))
    });
    Ok(out)
}

/// Adds someone to a team by username (admins).
#[tauri::command]
pub async fn add_team_member(
    state: State<'_, AppState>,
    team_id: TeamId,
    username: String,
    role: Option<MemberRole>,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    let user = find(&engine, &username).await?;
    Ok(engine.add_team_member(team_id, user.id, role).await?)
}

/// Makes a member an admin or a member (the owner).
#[tauri::command]
pub async fn set_team_role(
    state: State<'_, AppState>,
    team_id: TeamId,
    user_id: UserId,
    role: MemberRole,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .set_team_role(team_id, user_id, role)
        .await?)
}

/// Removes a member (admins) or leaves the team (the user's own id).
#[tauri::command]
pub async fn remove_team_member(
    state: State<'_, AppState>,
    team_id: TeamId,
    user_id: UserId,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .remove_team_member(team_id, user_id)
        .await?)
}

/// Hands the team over to another member (the owner).
#[tauri::command]
pub async fn transfer_team(
    state: State<'_, AppState>,
    team_id: TeamId,
    user_id: UserId,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .transfer_team(team_id, user_id)
        .await?)
}

/// A team's invitations, newest first (admins).
#[tauri::command]
pub async fn invites(
    state: State<'_, AppState>,
    team_id: TeamId,
) -> Result<Vec<Invite>, CommandError> {
    Ok(state.engine().await?.invites(team_id).await?)
}

/// Makes an invitation code (admins).
#[tauri::command]
pub async fn create_invite(
    state: State<'_, AppState>,
    team_id: TeamId,
    expires_in_secs: Option<u64>,
    max_uses: Option<u32>,
) -> Result<Invite, CommandError> {
    let request = CreateInviteRequest {
        expires_in_secs,
        max_uses,
    };
    Ok(state
        .engine()
        .await?
        .create_invite(team_id, &request)
        .await?)
}

/// Revokes an invitation.
#[tauri::command]
pub async fn revoke_invite(
    state: State<'_, AppState>,
    team_id: TeamId,
    invite_id: InviteId,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .revoke_invite(team_id, invite_id)
        .await?)
}

/// Creates a channel in a team; answers it as a conversation (what the server sends).
#[tauri::command]
pub async fn create_channel(
    state: State<'_, AppState>,
    team_id: TeamId,
    name: String,
    private: bool,
    topic: Option<String>,
) -> Result<Conversation, CommandError> {
    let request = CreateChannelRequest {
        name: name.trim().trim_start_matches('#').to_owned(),
        private,
        topic: topic.filter(|t| !t.trim().is_empty()),
    };
    Ok(state
        .engine()
        .await?
        .create_channel(team_id, &request)
        .await?)
}

/// Contacts and pending requests, with the people on them.
#[tauri::command]
pub async fn contacts(state: State<'_, AppState>) -> Result<ContactsView, CommandError> {
    let engine = state.engine().await?;
    let contacts = engine.contacts().await?.items;
    let ContactRequestList { incoming, outgoing } = engine.contact_requests().await?;
    let view = |requests: Vec<ContactRequest>, incoming: bool| -> Result<_, CommandError> {
        requests
            .into_iter()
            .map(|request| {
                let other = if incoming {
                    request.from_user_id
                } else {
                    request.to_user_id
                };
                Ok(ContactRequestView {
                    user: engine.user(other)?,
                    request,
                })
            })
            .collect::<Result<Vec<_>, CommandError>>()
    };
    Ok(ContactsView {
        contacts,
        incoming: view(incoming, true)?,
        outgoing: view(outgoing, false)?,
    })
}

/// Asks `@username` to become a contact.
#[tauri::command]
pub async fn request_contact(
    state: State<'_, AppState>,
    username: String,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    let user = find(&engine, &username).await?;
    Ok(engine.request_contact(user.id).await?)
}

/// Accepts or declines a request sent to the user.
#[tauri::command]
pub async fn answer_contact_request(
    state: State<'_, AppState>,
    request_id: ContactRequestId,
    accept: bool,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .answer_contact_request(request_id, accept)
        .await?)
}

/// Withdraws a request the user sent.
#[tauri::command]
pub async fn cancel_contact_request(
    state: State<'_, AppState>,
    request_id: ContactRequestId,
) -> Result<(), CommandError> {
    Ok(state
        .engine()
        .await?
        .cancel_contact_request(request_id)
        .await?)
}

/// Removes a contact.
#[tauri::command]
pub async fn remove_contact(
    state: State<'_, AppState>,
    user_id: UserId,
) -> Result<(), CommandError> {
    Ok(state.engine().await?.remove_contact(user_id).await?)
}

/// Owner, admins, members.
fn rank(role: MemberRole) -> u8 {
    match role {
        MemberRole::Owner => 0,
        MemberRole::Admin => 1,
        MemberRole::Member => 2,
    }
}

fn with_profiles(engine: &Engine, members: Vec<Member>) -> Result<Vec<TeamMember>, CommandError> {
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        if let Some(user) = engine.user(m.user_id)? {
            out.push(TeamMember {
                user,
                role: m.role,
                joined_at: m.joined_at,
            });
        }
    }
    Ok(out)
}

async fn find(engine: &Engine, username: &str) -> Result<User, CommandError> {
    engine.find_user(username).await?.ok_or_else(|| {
        CommandError::new(
            "not_found",
            format!(
                "There is no user @{}.",
                username.trim().trim_start_matches('@')
            ),
        )
        .with_field("username", "no such user")
    })
}
