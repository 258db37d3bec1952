//! # jeco-bench — load generator and benchmarks for Jeco Chat
//!
//! Drives a real `jeco-server` (spawned by the tool, or one already running) over the real HTTP
//! and WebSocket protocol, with users it creates itself, and measures what a self-hoster cares
//! about: memory and CPU of the server process (from `/proc`), and — as scenarios are added —
//! throughput and latency. Figures are recorded in `BENCHMARKS.md`, never asserted in timed tests.
//!
//! Layout:
//! - [`target`] — the server under test: spawn the release binary on `127.0.0.1:0` or attach.
//! - [`accounts`] — benchmark users over `POST /api/v1/auth/register`.
//! - [`groups`] — the benchmark's group rooms over `POST /api/v1/conversations`.
//! - [`gateway_client`] — one lean WebSocket client: hello → ready, heartbeats.
//! - [`traffic`] — senders and receivers on those connections, with exact accounting.
//! - [`latency`] — latency histograms and sets of received positions.
//! - [`workers`] — child processes that hold the client sockets (one process may not open enough).
//! - [`procfs`] — VmRSS, PSS, CPU ticks, fd limits; the machine description.
//! - [`report`] — the human table and the one final JSON line.
//! - [`scenarios`] — one module per subcommand: `connections`, `fanout`, `durable`, `failover`,
//!   `history`.
//!
//! Criterion micro-benchmarks of the protocol's hot paths live in `benches/`.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod gateway_client;
pub mod groups;
pub mod latency;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod target;
pub mod traffic;
pub mod workers;
