//! Conformance checks (see `suite.rs`): checks_teams.

#[allow(unused_imports)]
use crate::suite::Fresh;
