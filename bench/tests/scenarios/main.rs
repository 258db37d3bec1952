//! Runs each `jeco-bench` scenario at tiny scale so the tool cannot rot unnoticed.
//!
//! The scenarios are run through the real `jeco-bench` binary (`CARGO_BIN_EXE_jeco-bench`, which
//! Cargo provides to this crate's integration tests), including its worker processes.
//!
//! The server, though, is hosted **in this test process** (`jeco_testkit::server::TestServer`, a
//! `jeco_server::RunningServer` on `127.0.0.1:0`) and the binary is pointed at it with `--addr` and `--server-pid` = this process.
//! Why not spawn the `jeco-server` binary as the tool does by default: Cargo offers
//! `CARGO_BIN_EXE_*` only for the crate's own binaries, and the `jeco-server` binary is not built
//! by `cargo test -p jeco-bench` (only its library is, as a dev-dependency), so looking for it in
//! the target directory would make the test depend on what else happened to be built. The
//! in-process server is the same code as the binary's `serve`, and the memory figures are still
//! real `/proc` readings (of this process), so the parsing and arithmetic are exercised; the spawn
//! path is covered by the recorded runs in BENCHMARKS.md and by the unit test of its address parsing.

mod connections;
mod traffic;

use jeco_testkit::server::TestServer;
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

/// The scenarios run one at a time: `connections` measures this process's memory (the server is
/// hosted here), which the other scenarios' servers would disturb if they ran alongside.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Far above a tiny run's ~5 s, even in a debug build on a busy machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A server in this process (`jeco_testkit::server`), with a fast heartbeat so a short test still
/// sees heartbeats flow and would see connections dropped if the tool failed to keep them alive.
pub async fn start_server() -> TestServer {
    TestServer::start_with(|config| {
        config.ws_heartbeat_interval_ms = 300;
        config.ws_idle_timeout_ms = 1_000;
        // As the tool's spawned servers are configured: measure capacity, not the abuse limit.
        config.message_rate_per_sec = 1_000_000;
        config.message_rate_burst = 1_000_000;
    })
    .await
}

/// Runs `jeco-bench` with `args` against `server` and returns its output.
pub async fn run_bench(server: &TestServer, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_jeco-bench"))
        .arg("--addr")
        .arg(server.addr().to_string())
        .arg("--server-pid")
        .arg(std::process::id().to_string())
        .args(args)
        .kill_on_drop(true)
        .output();
    // A hung tool must fail the test, not hang it.
    tokio::time::timeout(RUN_TIMEOUT, run)
        .await
        .expect("jeco-bench finished in time")
        .expect("jeco-bench runs")
}

/// The last stdout line, which every scenario promises is its JSON result.
pub fn result_line(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "jeco-bench failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}\nstdout:\n{stdout}"))
}
