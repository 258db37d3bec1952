//! People and teams: the signed-in user's profile and picture, team administration (members,
//! roles, invitations, channels) and contacts.
//!
//! Unlike messages these are not queued: each needs the server's answer (a role change can be
//! refused, an invite code is made by the server), so they fail at once when offline with the
//! server's `{code, message}`. What they change is written to the cache, so the new profile,
//! team or member reads offline afterwards, and the UI hears of it through the usual events.

use super::{Engine, EngineError, EngineEvent, Result};
use crate::api::ApiError;
use crate::session::ClientError;
use jeco_shared::UserId;
use jeco_shared::contacts::{ContactList, ContactRequestList, SendContactRequest};
use jeco_shared::conversations::{Conversation, Member, MemberRole};
use jeco_shared::endpoints::{
    AcceptContactRequest, AddTeamMember, CancelContactRequest, ContactRequests, Contacts,
    CreateChannel, CreateInvite, CreateTeam, DeclineContactRequest, GetTeam, Invites, Me,
    RemoveContact, RemoveMyAvatar, RemoveTeamMember, RevokeInvite, SendContactRequestTo,
    SetTeamRole, TeamMembers, TransferTeam, UpdateMe,
};
use jeco_shared::ids::{ContactRequestId, InviteId, TeamId};
use jeco_shared::teams::{
    AddTeamMemberRequest, CreateChannelRequest, CreateInviteRequest, Invite, Team, TeamNameRequest,
    TransferOwnershipRequest, UpdateTeamMemberRequest,
};
use jeco_shared::users::{UpdateProfileRequest, User};
use std::path::{Path, PathBuf};

/// The largest picture read for an avatar upload: the server's default limit (one place,
/// `jeco_shared::limits`, for the server, the engine and the UI).
pub const AVATAR_FILE_MAX: u64 = jeco_shared::limits::AVATAR_BYTES_MAX_DEFAULT;
/// The largest avatar accepted from the server (they are 256×256 there).
const AVATAR_DOWNLOAD_MAX: usize = 2 * 1024 * 1024;

impl Engine {
    /// Changes the signed-in user's display name, bio or status line (absent fields stay).
    pub async fn update_profile(&self, change: &UpdateProfileRequest) -> Result<User> {
        let me = self.call::<UpdateMe>(&(), change).await?;
        self.remember_me(&me)?;
        Ok(me)
    }

    /// The signed-in user's profile as the server has it now (remembered for offline use), or the
    /// last known one when the server cannot be reached. A profile form shows this, never a copy
    /// from sign-in.
    pub async fn refresh_me(&self) -> Result<User> {
        let (cached, _) = self.account()?;
        match self.call::<Me>(&(), &()).await {
            Ok(me) => {
                self.remember_me(&me)?;
                Ok(me)
            }
            Err(EngineError::Client(ClientError::Api(ApiError::Unreachable { .. }))) => Ok(cached),
            Err(e) => Err(e),
        }
    }

    /// Sets the signed-in user's picture from an image file (the server checks its type from the
    /// bytes, turns it upright and crops it to a square).
    pub async fn set_avatar(&self, image: &Path) -> Result<User> {
        let size = std::fs::metadata(image)
            .map_err(|e| EngineError::Invalid(format!("cannot read {}: {e}", image.display())))?
            .len();
        if size > AVATAR_FILE_MAX {
            return Err(EngineError::Invalid(format!(
                "a picture may be at most {} MiB",
                AVATAR_FILE_MAX / 1024 / 1024
            )));
        }
        let bytes = std::fs::read(image)
            .map_err(|e| EngineError::Invalid(format!("cannot read {}: {e}", image.display())))?;
        let me: User = self
            .with_token(|api, token| {
                let bytes = bytes.clone();
                async move {
                    api.put_bytes(&token, "/users/me/avatar", image_type(&bytes), bytes)
                        .await
                }
            })
            .await?;
        self.remember_me(&me)?;
        Ok(me)
    }

    /// Removes the signed-in user's picture.
    pub async fn remove_avatar(&self) -> Result<User> {
        self.call::<RemoveMyAvatar>(&(), &()).await?;
        let me = self.call::<Me>(&(), &()).await?;
        self.remember_me(&me)?;
        Ok(me)
    }

    /// A user's picture as a local file (kept in the media cache by version, so a changed picture
    /// is fetched once and an unchanged one never again); `None` when they have none.
    pub async fn user_avatar_file(&self, user: &User) -> Result<Option<PathBuf>> {
        let Some(version) = &user.avatar else {
            return Ok(None);
        };
        let version: String = version
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(64)
            .collect();
        let path = self
            .media_dir()?
            .join(format!("avatar-u{}-{version}", user.id));
        if path.exists() {
            return Ok(Some(path));
        }
        let route = format!("/users/{}/avatar", user.id);
        let bytes = self
            .with_token(|api, token| {
                let route = route.clone();
                async move { api.get_bytes(&token, &route, AVATAR_DOWNLOAD_MAX).await }
            })
            .await?;
        let part = path.with_extension("part");
        std::fs::write(&part, &bytes)
            .and_then(|()| std::fs::rename(&part, &path))
            .map_err(|e| EngineError::Invalid(format!("cannot store the picture: {e}")))?;
        Ok(Some(path))
    }

    /// Creates a team; the caller becomes its owner. Its `#general` arrives through sync.
    pub async fn create_team(&self, name: &str) -> Result<Team> {
        let body = TeamNameRequest {
            name: name.trim().to_owned(),
        };
        let team = self.call::<CreateTeam>(&(), &body).await?;
        self.cache()?.upsert_team(&team)?;
        self.snapshot(team.default_channel_id).await?;
        self.inner.emit(EngineEvent::TeamsChanged);
        Ok(team)
    }

    /// A team's members with their roles (their profiles are taken into the cache).
    pub async fn team_members(&self, team: TeamId) -> Result<Vec<Member>> {
        let members = self.call::<TeamMembers>(&(team,), &()).await?;
        self.learn_users(members.iter().map(|m| m.user_id)).await;
        Ok(members)
    }

    /// Adds a user to a team (admins; only the owner adds admins).
    pub async fn add_team_member(
        &self,
        team: TeamId,
        user: UserId,
        role: Option<MemberRole>,
    ) -> Result<()> {
        let body = AddTeamMemberRequest {
            user_id: user,
            role,
        };
        self.call::<AddTeamMember>(&(team,), &body).await?;
        self.refresh_team(team).await
    }

    /// Makes a member an admin or a plain member again (the owner only).
    pub async fn set_team_role(&self, team: TeamId, user: UserId, role: MemberRole) -> Result<()> {
        let body = UpdateTeamMemberRequest { role };
        self.call::<SetTeamRole>(&(team, user), &body).await?;
        Ok(())
    }

    /// Removes a member from a team (admins), or leaves it (`user` is the caller).
    pub async fn remove_team_member(&self, team: TeamId, user: UserId) -> Result<()> {
        self.call::<RemoveTeamMember>(&(team, user), &()).await?;
        if self.me().is_some_and(|me| me.id == user) {
            self.cache()?.remove_team(team)?;
            self.inner.emit(EngineEvent::TeamsChanged);
            self.inner.emit(EngineEvent::ConversationsChanged);
            return Ok(());
        }
        self.refresh_team(team).await
    }

    /// Hands the team to another member; the caller becomes an admin.
    pub async fn transfer_team(&self, team: TeamId, user: UserId) -> Result<()> {
        let body = TransferOwnershipRequest { user_id: user };
        self.call::<TransferTeam>(&(team,), &body).await?;
        self.refresh_team(team).await
    }

    /// A team's invitations, newest first (admins).
    pub async fn invites(&self, team: TeamId) -> Result<Vec<Invite>> {
        let list = self.call::<Invites>(&(team,), &()).await?;
        Ok(list.items)
    }

    /// Makes an invitation code (admins), optionally expiring or limited in uses.
    pub async fn create_invite(
        &self,
        team: TeamId,
        request: &CreateInviteRequest,
    ) -> Result<Invite> {
        self.call::<CreateInvite>(&(team,), request).await
    }

    /// Revokes an invitation: its code no longer works.
    pub async fn revoke_invite(&self, team: TeamId, invite: InviteId) -> Result<()> {
        self.call::<RevokeInvite>(&(team, invite), &()).await?;
        Ok(())
    }

    /// Creates a channel in a team (any member); the creator is in it at once. The answer is
    /// the new channel as a conversation, the way the conversation list shows it (issue 13: the
    /// engine read a `Channel` here while the server answers a `Conversation`).
    pub async fn create_channel(
        &self,
        team: TeamId,
        request: &CreateChannelRequest,
    ) -> Result<Conversation> {
        let channel = self.call::<CreateChannel>(&(team,), request).await?;
        self.snapshot(channel.id).await?;
        Ok(channel)
    }

    /// The user's contacts with their presence.
    pub async fn contacts(&self) -> Result<ContactList> {
        let list = self.call::<Contacts>(&(), &()).await?;
        let users: Vec<User> = list.items.iter().map(|c| c.user.clone()).collect();
        self.cache()?.upsert_users(&users)?;
        Ok(list)
    }

    /// Contact requests waiting for the user (incoming) or for the other side (outgoing).
    pub async fn contact_requests(&self) -> Result<ContactRequestList> {
        let list = self.call::<ContactRequests>(&(), &()).await?;
        let ids = list
            .incoming
            .iter()
            .map(|r| r.from_user_id)
            .chain(list.outgoing.iter().map(|r| r.to_user_id));
        self.learn_users(ids.collect::<Vec<_>>()).await;
        Ok(list)
    }

    /// Asks a user to become a contact.
    pub async fn request_contact(&self, user: UserId) -> Result<()> {
        let body = SendContactRequest { user_id: user };
        self.call::<SendContactRequestTo>(&(), &body).await?;
        Ok(())
    }

    /// Accepts or declines a request sent to the user.
    pub async fn answer_contact_request(&self, id: ContactRequestId, accept: bool) -> Result<()> {
        if accept {
            self.call::<AcceptContactRequest>(&(id,), &()).await?;
        } else {
            self.call::<DeclineContactRequest>(&(id,), &()).await?;
        }
        Ok(())
    }

    /// Withdraws a request the user sent.
    pub async fn cancel_contact_request(&self, id: ContactRequestId) -> Result<()> {
        self.call::<CancelContactRequest>(&(id,), &()).await?;
        Ok(())
    }

    /// Removes a contact.
    pub async fn remove_contact(&self, user: UserId) -> Result<()> {
        self.call::<RemoveContact>(&(user,), &()).await
    }

    // ---- helpers

    /// The team as the server now sees it (member count, the caller's role) into the cache.
    async fn refresh_team(&self, team: TeamId) -> Result<()> {
        let fresh = self.call::<GetTeam>(&(team,), &()).await?;
        self.cache()?.upsert_team(&fresh)?;
        self.inner.emit(EngineEvent::TeamsChanged);
        Ok(())
    }

    /// The signed-in user's new profile: in the session, in the cache, and told to the UI.
    fn remember_me(&self, me: &User) -> Result<()> {
        self.account()?;
        self.inner.remember_me(me)
    }
}

/// The picture's type from its first bytes (the server checks it again; this is the header).
fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::image_type;

    #[test]
    fn picture_types_come_from_the_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(image_type(b"GIF89a"), "image/gif");
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(image_type(b"MZ\x90\0"), "application/octet-stream");
    }
}
