//! Whether an invitation code admits someone.

use crate::storage::InviteRecord;

/// What a redemption comes to, before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Count one use and add the user to the team.
    Join,
    /// Already in the team: nothing changes and no use is counted.
    AlreadyMember,
    Revoked,
    Expired,
    UsedUp,
}

/// The rule, in its order: a revoked code, then an expired one, refuse everyone; a member of the
/// team is told so (before "used up", so a member never learns the code's count, and no use is
/// counted); then the code must have a use left. The backend reads `invite` and whether `user` is
/// already a member in the transaction that then counts the use, so a code with one use left
/// admits exactly one of two racing joiners.
pub fn redeem(invite: &InviteRecord, already_member: bool, now_ms: i64) -> Redemption {
    if invite.revoked {
        Redemption::Revoked
    } else if invite.expires_at_ms.is_some_and(|at| at <= now_ms) {
        Redemption::Expired
    } else if already_member {
        Redemption::AlreadyMember
    } else if invite.max_uses.is_some_and(|max| invite.uses >= max) {
        Redemption::UsedUp
    } else {
        Redemption::Join
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeco_shared::{InviteId, TeamId, UserId};

    fn invite() -> InviteRecord {
        InviteRecord {
            id: InviteId(1),
            team_id: TeamId(1),
            code: "c".into(),
            created_by: UserId(1),
            created_at_ms: 0,
            expires_at_ms: Some(100),
            max_uses: Some(2),
            uses: 1,
            revoked: false,
        }
    }

    #[test]
    fn outcomes_in_order_of_precedence() {
        let used_up = InviteRecord {
            uses: 2,
            ..invite()
        };
        let everything = InviteRecord {
            revoked: true,
            ..used_up.clone()
        };
        assert_eq!(redeem(&everything, true, 100), Redemption::Revoked);
        assert_eq!(redeem(&used_up, true, 100), Redemption::Expired);
        assert_eq!(redeem(&used_up, true, 99), Redemption::AlreadyMember);
        assert_eq!(redeem(&used_up, false, 99), Redemption::UsedUp);
        assert_eq!(redeem(&invite(), false, 99), Redemption::Join);
        let unlimited = InviteRecord {
            expires_at_ms: None,
            max_uses: None,
            uses: 1_000,
            ..invite()
        };
        assert_eq!(redeem(&unlimited, false, i64::MAX), Redemption::Join);
    }
}
