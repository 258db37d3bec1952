//! The server under test: a `jeco-server` process this tool starts, or one already running.
//!
//! By default the real release binary is spawned — not an in-process server — so that its memory
//! and CPU can be read from `/proc` without the load generator's own allocations mixed in, and so
//! that what is measured is exactly what a self-hoster runs. It gets a throwaway data directory,
//! `--bind 127.0.0.1:0` (the address is read back from its "listening on http://ADDR" line), and a
//! per-IP auth budget high enough that creating the benchmark's users is not throttled — every
//! user is registered from the same loopback address — and a per-user message rate high enough
//! that the traffic scenarios measure capacity rather than the abuse limit.
//!
//! The spawned server inherits this process's `RLIMIT_NOFILE`, which [`raise_fd_limit`] lifts to
//! the hard limit first; that is how the server gets room for tens of thousands of sockets without
//! an `unsafe` `pre_exec` hook.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a spawned server may take to print its address (it migrates a fresh database first).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop (SIGTERM: close sockets with 1001, drain) may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the server under test comes from.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// Spawn this binary with these extra flags (placed before `serve`).
    Spawn {
        binary: PathBuf,
        extra_args: Vec<String>,
    },
    /// Use a server that is already listening; `pid` enables memory and CPU figures. `also`: more
    /// instances of the same cluster (same database and Redis), which take a share of the
    /// WebSocket connections; setup goes to `addr`. `also_pids`: their process ids, in the same
    /// order (only the `failover` scenario needs them, to kill one).
    Attach {
        addr: SocketAddr,
        pid: Option<u32>,
        also: Vec<SocketAddr>,
        also_pids: Vec<u32>,
    },
}

/// A server to run a scenario against.
#[derive(Debug)]
pub struct ServerUnderTest {
    pub addr: SocketAddr,
    /// Other instances of the same cluster (attached only).
    pub also: Vec<SocketAddr>,
    /// Process ids of `also`, in order, when given (attached only).
    pub also_pids: Vec<u32>,
    /// The server's process id, when known (always for a spawned server).
    pub pid: Option<u32>,
    spawned: Option<Spawned>,
}

#[derive(Debug)]
struct Spawned {
    child: Child,
    /// Holds the data directory and `server.log`; removed when the run ends.
    dir: TempDir,
    binary: PathBuf,
    extra_args: Vec<String>,
}

impl ServerUnderTest {
    /// The instance WebSocket connection `i` goes to: round-robin over `addr` and `also`, so the
    /// members of a conversation (consecutive users) are spread over every instance.
    pub fn gateway(&self, i: usize) -> SocketAddr {
        match i % (1 + self.also.len()) {
            0 => self.addr,
            k => self.also[k - 1],
        }
    }

    pub async fn start(spec: &TargetSpec) -> Result<Self> {
        match spec {
            TargetSpec::Attach {
                addr,
                pid,
                also,
                also_pids,
            } => Ok(Self {
                addr: *addr,
                also: also.clone(),
                also_pids: also_pids.clone(),
                pid: *pid,
                spawned: None,
            }),
            TargetSpec::Spawn { binary, extra_args } => {
                let dir = tempfile::Builder::new()
                    .prefix("jeco-bench-")
                    .tempdir()
                    .context("cannot create a temporary directory")?;
                spawn(binary, extra_args, dir).await
            }
        }
    }

    /// Restarts a spawned server on the same data directory (users and sessions survive; the
    /// address changes). Scenarios do this after setup so that the measured process holds nothing
    /// left over from setup — password hashing leaves hundreds of MiB in allocator arenas. Returns
    /// `false` for an attached server, which is left alone.
    pub async fn restart(self) -> Result<(Self, bool)> {
        if self.spawned.is_none() {
            return Ok((self, false));
        }
        let (binary, extra_args, dir) = self.stop_keeping_dir().await?;
        Ok((spawn(&binary, &extra_args, dir).await?, true))
    }

    /// Stands in for a server that is no longer running (a restart failed; the error says why).
    pub fn gone() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            also: Vec::new(),
            also_pids: Vec::new(),
            pid: None,
            spawned: None,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn is_spawned(&self) -> bool {
        self.spawned.is_some()
    }

    /// The last lines of a spawned server's log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let Some(spawned) = &self.spawned else {
            return String::new();
        };
        log_tail(&spawned.dir.path().join("server.log"), lines)
    }

    /// Stops a spawned server gracefully (SIGTERM, then SIGKILL after a timeout). An attached
    /// server is left running.
    pub async fn stop(self) -> Result<()> {
        if self.spawned.is_some() {
            self.stop_keeping_dir().await?;
        }
        Ok(())
    }

    async fn stop_keeping_dir(mut self) -> Result<(PathBuf, Vec<String>, TempDir)> {
        let mut spawned = self.spawned.take().context("not a spawned server")?;
        if let Some(pid) = spawned.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        match tokio::time::timeout(STOP_TIMEOUT, spawned.child.wait()).await {
            Ok(status) => {
                status.context("waiting for jeco-server")?;
            }
            Err(_) => {
                eprintln!("jeco-server did not stop within {STOP_TIMEOUT:?}; killing it");
                spawned.child.kill().await?;
            }
        }
        Ok((spawned.binary, spawned.extra_args, spawned.dir))
    }
}

async fn spawn(binary: &Path, extra_args: &[String], dir: TempDir) -> Result<ServerUnderTest> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server.log"))?;
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--bind", "127.0.0.1:0"])
        // Every benchmark user registers from 127.0.0.1; the default budget (30/min) would
        // throttle setup, which is not what is being measured.
        .args(["--auth-rate-per-minute", "1000000"])
        .args(["--auth-rate-burst", "1000000"])
        // Likewise the per-user message rate (10/s by default): the traffic scenarios measure the
        // server's capacity, not its abuse limits.
        .args(["--message-rate-per-sec", "1000000"])
        .args(["--message-rate-burst", "1000000"])
        // Every benchmark connection comes from 127.0.0.1, tens of thousands of them.
        .args(["--max-connections", "1000000"])
        .args(["--max-connections-per-ip", "1000000"])
        .args(extra_args)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(addr) = parse_listening_line(&line) {
                return Ok(addr);
            }
        }
        bail!("jeco-server exited before printing its address")
    })
    .await
    .map_err(|_| anyhow::anyhow!("jeco-server printed no address within {START_TIMEOUT:?}"))
    .and_then(|r| r);
    let addr = match addr {
        Ok(addr) => addr,
        Err(e) => {
            let tail = log_tail(&dir.path().join("server.log"), 20);
            return Err(e.context(format!("server log:\n{tail}")));
        }
    };
    // Keep draining stdout so a chatty server can never block on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let pid = child.id();
    Ok(ServerUnderTest {
        addr,
        also: Vec::new(),
        also_pids: Vec::new(),
        pid,
        spawned: Some(Spawned {
            child,
            dir,
            binary: binary.to_owned(),
            extra_args: extra_args.to_vec(),
        }),
    })
}

/// `"listening on http://127.0.0.1:4321"` → the address.
pub fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("listening on http://")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Finds the `jeco-server` binary: `--server-bin`, else `$JECO_BENCH_SERVER_BIN`, else next to this
/// executable (both are built into the same `target/<profile>/` by
/// `cargo build --release -p jeco-server -p jeco-bench`).
pub fn locate_server_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os("JECO_BENCH_SERVER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot find own executable")?;
    let name = format!("jeco-server{}", std::env::consts::EXE_SUFFIX);
    // `target/release/jeco-bench`, or `target/release/deps/…` for test and bench harnesses.
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "cannot find {name} next to {}; build it with `cargo build --release -p jeco-server -p jeco-bench`, \
         or pass --server-bin PATH, or use --addr with a running server",
        exe.display()
    )
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns the new soft limit.
/// Child processes (the spawned server, the workers) inherit it.
pub fn raise_fd_limit() -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit")?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("setrlimit")?;
    }
    Ok(hard.max(soft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_is_parsed() {
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:4321\n"),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(parse_listening_line("starting"), None);
    }
}
