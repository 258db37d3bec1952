//! A throwaway Redis server per test, which the test can stop, kill and start again on the same
//! port (a Redis restart during traffic is one of the cluster's failure cases).
//!
//! The server runs under a supervising shell ([`crate::supervised`]): when the test process exits —
//! passed, failed or killed — the shell kills the server. Nothing is persisted (`save ""`, no AOF): a restart comes back empty,
//! which is exactly what a Redis failover without replication looks like to the instances.

use crate::supervised::{Supervised, free_port, scratch_dir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running (or stopped) `redis-server` on a fixed port of 127.0.0.1.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    running: Option<Supervised>,
}

impl RedisServer {
    /// Starts a server on a free port. Panics with the reason when it cannot (no `redis-server`:
    /// install Debian's `redis-server` package, which `./dev test` does).
    pub fn start() -> Self {
        let mut last = String::new();
        // A free port can be taken between the probe and the server's bind: try a few.
        for _ in 0..3 {
            let port = free_port();
            let dir = scratch_dir("redis");
            let mut server = Self {
                port,
                dir,
                running: None,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("cannot start redis-server for the tests: {last}");
    }

    /// `redis://127.0.0.1:PORT`, the same across restarts.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: a crash, not a shutdown) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(server) = self.running.take() {
            server.stop();
        }
    }

    /// Starts the server again on the same port, empty. Panics when it cannot.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_TIMEOUT;
        // The old socket may linger for a moment; the port is ours, so retry until it binds.
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("cannot restart redis-server: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Runs one command with `redis-cli` (from Debian's `redis-tools`, which `redis-server`
    /// depends on) and returns its output; panics when it fails. E.g. `["CLIENT", "KILL", "TYPE",
    /// "pubsub"]` drops every subscriber, as Redis does to one that falls behind.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("redis-cli: {e}"));
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the server answers `PING` now.
    pub fn is_up(&self) -> bool {
        ping(self.port)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let start = r#"redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$2" --logfile "$2/redis.log" --daemonize no &"#;
        let port = self.port.to_string();
        let mut server = Supervised::spawn(
            "redis-supervisor",
            start,
            "KILL",
            &[port.as_ref(), self.dir.as_os_str()],
        )?;
        let up = server.wait_ready(START_TIMEOUT, || ping(self.port));
        self.running = Some(server);
        if up {
            return Ok(());
        }
        self.kill();
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let hint = if which("redis-server") {
            ""
        } else {
            " (no redis-server on PATH: install Debian's `redis-server` package)"
        };
        Err(format!("redis-server did not start{hint}: {log}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `PING` over a plain socket: the tests need no Redis client for this.
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).exists()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn starts_dies_and_comes_back_on_the_same_port() {
        let mut redis = super::RedisServer::start();
        assert!(redis.is_up());
        let port = redis.port();
        redis.kill();
        assert!(!redis.is_up());
        redis.restart();
        assert!(redis.is_up());
        assert_eq!(redis.port(), port);
    }
}
