//! `jeco-server admin seed-demo`: a demo team to try the app with.
//!
//! Creates five people, a team with four channels (each with a topic), a group room, two direct
//! conversations and a short, realistic history — a few dozen messages, replies in threads (one
//! kept in its thread), reactions and a pinned checklist — and returns who can sign in with which
//! password. Everything goes through the same services as the API, so the data is exactly what
//! clients would have made (events, read state, notifications, search index).
//!
//! It never runs by itself: only the explicit command calls it. It refuses to run when any of its
//! usernames is taken ([`DemoError::AlreadySeeded`]) — a second run, or a real account with
//! one of those names, which it must not touch.

use crate::config::Config;
use crate::services::accounts::NewAccount;
use crate::services::fanout::NoFanout;
use crate::services::{Chat, Principal, ServiceError};
use crate::storage::Storage;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jeco_shared::conversations::{
    CreateGroupRequest, MemberRole, OpenDirectRequest, UpdateConversationRequest,
};
use jeco_shared::messages::SendMessageRequest;
use jeco_shared::teams::{AddTeamMemberRequest, CreateChannelRequest, TeamNameRequest};
use jeco_shared::{ConversationId, MessageId, SessionId};
use std::fmt;
use std::sync::Arc;

/// The demo people: username and display name. The first owns the team.
pub const DEMO_USERS: [(&str, &str); 5] = [
    ("ada", "Ada Lovelace"),
    ("grace", "Grace Hopper"),
    ("alan", "Alan Turing"),
    ("katherine", "Katherine Johnson"),
    ("edsger", "Edsger Dijkstra"),
];

/// The demo team's name.
pub const DEMO_TEAM: &str = "Lighthouse (demo)";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// An account with this demo username exists: the demo was seeded already, or a real user
    /// has the name.
    #[error("the account {0:?} already exists; seed-demo runs once, on a server without it")]
    AlreadySeeded(String),
    #[error(transparent)]
    Open(#[from] crate::Error),
    #[error("seeding failed: {0}")]
    Service(#[from] ServiceError),
}

/// What was created: who signs in how, and how much history there is.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub team: String,
    /// Username, display name, password.
    pub users: Vec<(String, String, String)>,
    pub channels: Vec<String>,
    pub messages: usize,
}

impl fmt::Display for DemoSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "created the demo team {:?}: channels {}, a group, 2 direct conversations, {} messages",
            self.team,
            self.channels
                .iter()
                .map(|c| format!("#{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.messages
        )?;
        writeln!(f, "{:<12} {:<20} PASSWORD", "USERNAME", "DISPLAY NAME")?;
        for (username, display, password) in &self.users {
            writeln!(f, "{username:<12} {display:<20} {password}")?;
        }
        Ok(())
    }
}

/// Where a scripted message goes.
#[derive(Clone, Copy)]
enum Place {
    Channel(usize),
    Group,
    /// A direct conversation between two demo users (indexes into [`DEMO_USERS`]).
    Direct(usize, usize),
}

struct Line {
    place: Place,
    author: usize,
    text: &'static str,
    /// Index into the script of the message this replies to (in the same conversation).
    reply_to: Option<usize>,
    thread_only: bool,
}

const fn say(place: Place, author: usize, text: &'static str) -> Line {
    Line {
        place,
        author,
        text,
        reply_to: None,
        thread_only: false,
    }
}

const fn reply(place: Place, author: usize, to: usize, text: &'static str) -> Line {
    Line {
        place,
        author,
        text,
        reply_to: Some(to),
        thread_only: false,
    }
}

/// Channels: name, topic. `general` comes with the team.
const CHANNELS: [(&str, &str); 4] = [
    ("general", "Company-wide announcements and chatter"),
    ("design", "Mockups, reviews and the style guide"),
    (
        "releases",
        "Release planning; the launch checklist is pinned",
    ),
    ("random", "Coffee, cats and everything else"),
];
const GENERAL: Place = Place::Channel(0);
const DESIGN: Place = Place::Channel(1);
const RELEASES: Place = Place::Channel(2);
const RANDOM: Place = Place::Channel(3);
const GROUP_NAME: &str = "Launch crew";
/// Members of the group room besides its creator (user 0).
const GROUP_MEMBERS: [usize; 2] = [1, 2];

const SCRIPT: &[Line] = &[
    // 0
    say(
        GENERAL,
        0,
        "Welcome to Lighthouse, everyone 👋 This is a demo team: poke around, nothing here is real.",
    ),
    say(
        GENERAL,
        1,
        "Thanks Ada! Where do we keep the launch checklist?",
    ),
    reply(GENERAL, 0, 1, "It's pinned in #releases."),
    say(GENERAL, 2, "Morning all. Stand-up moves to 10:30 today."),
    say(GENERAL, 3, "Noted. I'll bring the load-test numbers."),
    // 5
    say(
        GENERAL,
        4,
        "Reminder: every change gets a review before it is merged, no exceptions.",
    ),
    reply(
        GENERAL,
        1,
        5,
        "Agreed. Small pull requests get reviewed faster, too.",
    ),
    Line {
        place: GENERAL,
        author: 2,
        text: "+1. I'll split the sync branch into three.",
        reply_to: Some(5),
        thread_only: true,
    },
    say(
        GENERAL,
        3,
        "@ada could you share the customer feedback notes?",
    ),
    reply(GENERAL, 0, 8, "Done, they are in #design."),
    // 10
    say(
        DESIGN,
        1,
        "New sign-in screen mockups are up. Feedback welcome before Thursday.",
    ),
    say(
        DESIGN,
        3,
        "The secondary button's contrast looks low in dark mode.",
    ),
    reply(DESIGN, 1, 11, "Good catch: raising it to meet WCAG AA."),
    say(
        DESIGN,
        0,
        "Customer feedback in short: people love the threads view and want faster search.",
    ),
    say(
        DESIGN,
        2,
        "Search is on me. Prefix matching lands next sprint.",
    ),
    // 15
    say(
        DESIGN,
        4,
        "Please keep the empty states short. One sentence, one action.",
    ),
    say(
        RELEASES,
        0,
        "Launch checklist for 1.0:\n1. Feature freeze on Monday\n2. Release candidate on Wednesday\n3. Ship on Friday",
    ),
    say(
        RELEASES,
        2,
        "The release candidate builds are green on all three platforms.",
    ),
    say(
        RELEASES,
        3,
        "Load test: 2,000 concurrent sockets, p99 send latency 38 ms.",
    ),
    reply(RELEASES, 1, 18, "That's well within budget 🎉"),
    // 20
    say(RELEASES, 4, "The changelog draft is ready for review."),
    reply(RELEASES, 0, 20, "Looks good. We ship on Friday."),
    say(RANDOM, 2, "Who took the last oat milk?"),
    say(RANDOM, 3, "Guilty. I'm buying two tomorrow."),
    say(
        RANDOM,
        1,
        "Found an old bug report from 1947: an actual moth in a relay.",
    ),
    // 25
    reply(RANDOM, 4, 24, "The first documented bug, famously."),
    say(Place::Group, 0, "Quick sync: are we on track for Friday?"),
    say(
        Place::Group,
        1,
        "The docs are done. Screenshots need a refresh.",
    ),
    say(
        Place::Group,
        2,
        "The backend is ready; one migration left to run on staging.",
    ),
    say(Place::Group, 0, "Great. I'll write the announcement."),
    // 30
    say(
        Place::Direct(0, 1),
        1,
        "Do you have five minutes to look at the onboarding copy?",
    ),
    say(Place::Direct(0, 1), 0, "Sure, after lunch?"),
    say(Place::Direct(0, 1), 1, "Perfect, thanks!"),
    say(
        Place::Direct(3, 4),
        4,
        "Your load-test write-up was excellent.",
    ),
    say(
        Place::Direct(3, 4),
        3,
        "Thank you! I'll add the graphs tomorrow.",
    ),
];

/// Reactions: script index, who, emoji.
const REACTIONS: &[(usize, usize, &str)] = &[
    (0, 1, "👋"),
    (0, 2, "👋"),
    (0, 3, "❤️"),
    (17, 0, "👍"),
    (19, 0, "🎉"),
    (19, 2, "🚀"),
    (24, 2, "😂"),
    (30, 0, "👍"),
];

/// The script index of the pinned message (the launch checklist).
const PINNED: usize = 16;

/// Seeds the demo into the data directory of `config`. `password`: one for every demo user;
/// `None` generates one each. See the module doc.
pub async fn seed_demo(config: &Config, password: Option<String>) -> Result<DemoSeed, DemoError> {
    let core = crate::server::open_core(config, Arc::new(crate::services::NoObserver)).await?;
    seed(core.storage, &core.accounts, config, password).await
}

async fn seed(
    storage: Arc<dyn Storage>,
    accounts: &crate::services::Accounts,
    config: &Config,
    password: Option<String>,
) -> Result<DemoSeed, DemoError> {
    for (username, _) in DEMO_USERS {
        if storage
            .user_by_username(username)
            .await
            .map_err(ServiceError::from)?
            .is_some()
        {
            return Err(DemoError::AlreadySeeded(username.to_owned()));
        }
    }
    // The history is written in one go by people who never type that fast: no rate limit.
    let mut config = config.clone();
    config.message_rate_per_sec = u32::MAX / 2;
    config.message_rate_burst = u32::MAX / 2;
    let chat = Chat::new(storage, Arc::new(NoFanout), None, &config);

    let mut users = Vec::new();
    let mut people = Vec::new();
    for (username, display) in DEMO_USERS {
        let password = match &password {
            Some(p) => p.clone(),
            None => generated_password()?,
        };
        let record = accounts
            .create_account(NewAccount {
                username: username.to_owned(),
                password: password.clone(),
                display_name: Some(display.to_owned()),
                is_admin: false,
            })
            .await?;
        people.push(Principal {
            user_id: record.id,
            // Services check membership and roles, not sessions; nobody signs in here.
            session_id: SessionId(0),
            is_admin: false,
        });
        users.push((username.to_owned(), display.to_owned(), password));
    }
    let owner = &people[0];

    let team = chat
        .teams
        .create(
            owner,
            TeamNameRequest {
                name: DEMO_TEAM.to_owned(),
            },
        )
        .await?;
    for (i, who) in people.iter().enumerate().skip(1) {
        let role = (i == 1).then_some(MemberRole::Admin);
        chat.teams
            .add_member(
                owner,
                team.id,
                AddTeamMemberRequest {
                    user_id: who.user_id,
                    role,
                },
            )
            .await?;
    }
    let mut channels: Vec<ConversationId> = vec![team.default_channel_id];
    chat.conversations
        .update(
            owner,
            team.default_channel_id,
            UpdateConversationRequest {
                name: None,
                topic: Some(CHANNELS[0].1.to_owned()),
                archived: None,
            },
        )
        .await?;
    for (name, topic) in &CHANNELS[1..] {
        let created = chat
            .channels
            .create(
                owner,
                team.id,
                CreateChannelRequest {
                    name: (*name).to_owned(),
                    private: false,
                    topic: Some((*topic).to_owned()),
                },
            )
            .await?;
        for who in &people[1..] {
            chat.channels.join(who, created.id).await?;
        }
        channels.push(created.id);
    }
    let group = chat
        .conversations
        .create_group(
            owner,
            CreateGroupRequest {
                name: GROUP_NAME.to_owned(),
                member_ids: GROUP_MEMBERS.iter().map(|&i| people[i].user_id).collect(),
            },
        )
        .await?
        .id;

    let mut sent: Vec<(ConversationId, MessageId)> = Vec::with_capacity(SCRIPT.len());
    for (n, line) in SCRIPT.iter().enumerate() {
        let author = &people[line.author];
        let conversation = match line.place {
            Place::Channel(c) => channels[c],
            Place::Group => group,
            Place::Direct(a, b) => {
                let other = if line.author == a { b } else { a };
                chat.conversations
                    .open_direct(
                        author,
                        OpenDirectRequest {
                            user_id: people[other].user_id,
                        },
                    )
                    .await?
                    .0
                    .id
            }
        };
        let (message, _) = chat
            .messages
            .send(
                author,
                conversation,
                SendMessageRequest {
                    client_id: format!("demo-{n}"),
                    text: line.text.to_owned(),
                    reply_to: line.reply_to.map(|r| sent[r].1),
                    thread_only: line.thread_only,
                    attachment_ids: Vec::new(),
                },
            )
            .await?;
        sent.push((conversation, message.id));
    }
    for &(n, who, emoji) in REACTIONS {
        let (conversation, message) = sent[n];
        chat.messages
            .set_reaction(&people[who], conversation, message, emoji, Some(true))
            .await?;
    }
    let (conversation, message) = sent[PINNED];
    chat.messages
        .set_pinned(owner, conversation, message, true)
        .await?;

    Ok(DemoSeed {
        team: team.name,
        users,
        channels: CHANNELS.iter().map(|(n, _)| (*n).to_owned()).collect(),
        messages: sent.len(),
    })
}

/// 16 characters of base64url from 12 random bytes: easy to copy, far from guessable.
fn generated_password() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_only_refers_backwards_within_its_conversation() {
        for (n, line) in SCRIPT.iter().enumerate() {
            assert!(line.author < DEMO_USERS.len(), "line {n}");
            if let Some(to) = line.reply_to {
                assert!(to < n, "line {n} replies forward");
                let same = match (SCRIPT[to].place, line.place) {
                    (Place::Channel(a), Place::Channel(b)) => a == b,
                    (Place::Group, Place::Group) => true,
                    (Place::Direct(a, b), Place::Direct(c, d)) => (a, b) == (c, d),
                    _ => false,
                };
                assert!(same, "line {n} replies into another conversation");
            }
            if let Place::Direct(a, b) = line.place {
                assert!(line.author == a || line.author == b, "line {n}");
            }
            if let Place::Group = line.place {
                assert!(line.author == 0 || GROUP_MEMBERS.contains(&line.author));
            }
        }
        for &(n, who, _) in REACTIONS {
            assert!(n < SCRIPT.len() && who < DEMO_USERS.len());
        }
        assert!(PINNED < SCRIPT.len());
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let a = generated_password().unwrap();
        assert_eq!(a.len(), 16);
        assert!(crate::services::accounts::password_problem(&a).is_none());
        assert_ne!(a, generated_password().unwrap());
    }
}
