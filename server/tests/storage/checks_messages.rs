//! Conformance checks (see `suite.rs`): checks_messages.

#[allow(unused_imports)]
use crate::suite::Fresh;
