//! Whether a send is admitted, and in what order its checks run.
//!
//! The order is the rule: membership first (a non-member learns nothing, not even that the
//! conversation is archived or that their budget is spent), then the archive, and only then the
//! sender's message budget — so a refused send costs no budget. The client-id lookup comes after
//! admission: a refused send takes no position, and its key stays free.

use crate::storage::SendRefusal;
use std::time::Duration;

/// What the send's transaction read about its conversation and sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFacts {
    /// The conversation exists and the sender is a member of it.
    pub member: bool,
    /// It is an archived channel.
    pub archived: bool,
}

/// `Ok` when the message may be stored. `budget` is asked only once the other checks passed.
pub fn admit(
    facts: SendFacts,
    budget: impl FnOnce() -> Result<(), Duration>,
) -> Result<(), SendRefusal> {
    if !facts.member {
        return Err(SendRefusal::NotMember);
    }
    if facts.archived {
        return Err(SendRefusal::Archived);
    }
    budget().map_err(|retry_after| SendRefusal::RateLimited { retry_after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn membership_then_archive_then_budget_and_refusals_cost_no_budget() {
        let asked = Cell::new(0);
        let spent = || {
            asked.set(asked.get() + 1);
            Err(Duration::from_secs(2))
        };
        let facts = |member, archived| SendFacts { member, archived };
        assert_eq!(
            admit(facts(false, true), spent),
            Err(SendRefusal::NotMember)
        );
        assert_eq!(admit(facts(true, true), spent), Err(SendRefusal::Archived));
        assert_eq!(asked.get(), 0);
        assert_eq!(
            admit(facts(true, false), spent),
            Err(SendRefusal::RateLimited {
                retry_after: Duration::from_secs(2)
            })
        );
        assert_eq!(asked.get(), 1);
        assert_eq!(admit(facts(true, false), || Ok(())), Ok(()));
    }
}
