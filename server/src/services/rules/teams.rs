//! What comes with a new team.

use crate::storage::NewChannel;
use jeco_shared::TeamId;
use jeco_shared::UserId;
use jeco_shared::teams::DEFAULT_CHANNEL;

/// The team's default channel, created with it: public `#general`, its creator the owner. It is
/// stored as the team's default, which everyone who joins the team joins too.
pub fn default_channel(team: TeamId, creator: UserId, now_ms: i64) -> NewChannel {
    NewChannel {
        team_id: team,
        name: DEFAULT_CHANNEL.to_owned(),
        private: false,
        topic: None,
        creator,
        now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_starts_with_a_public_general() {
        let c = default_channel(TeamId(3), UserId(4), 5);
        assert_eq!(
            (
                c.team_id,
                c.name.as_str(),
                c.private,
                c.topic,
                c.creator,
                c.now_ms
            ),
            (TeamId(3), "general", false, None, UserId(4), 5)
        );
    }
}
