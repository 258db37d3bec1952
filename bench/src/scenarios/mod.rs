//! One module per scenario; each owns its flags (a `clap::Args` struct), its run and its result type.
//!
//! A scenario is a subcommand of `jeco-bench`: `connections`, `fanout`, `durable`, `failover`,
//! `history`.
//! The three that send messages share [`messaging`] (users, groups, connections in workers, exact
//! accounting) on top of [`crate::traffic`]. To add one: write `scenarios/<name>.rs` with `<Name>Args`, a
//! `run(&TargetSpec, &<Name>Args, …)` that starts the server with [`crate::target`], creates its
//! users with [`crate::accounts`], drives the load (in [`crate::workers`] processes when it needs
//! many sockets), and ends with [`crate::report::emit`] — a table and one JSON line whose
//! `"scenario"` is the subcommand's name. Then add the variant to `Scenario` in `main.rs`.

pub mod connections;
pub mod durable;
pub mod failover;
pub mod fanout;
pub mod history;
pub mod messaging;
