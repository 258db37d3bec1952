//! Conformance checks (see `suite.rs`): checks_accounts.

#[allow(unused_imports)]
use crate::suite::Fresh;
