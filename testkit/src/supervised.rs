//! A server process that cannot outlive the test process, and the small helpers every throwaway
//! server here needs (a free port, a scratch directory).
//!
//! The server runs under a shell that starts it in the background and then blocks reading a pipe
//! only this process holds. When the test process exits — passed, failed or killed — the pipe
//! closes, `read` returns, and the shell stops the server. [`Supervised::stop`] does the same on
//! purpose (and waits).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A supervising shell and the write end of its pipe.
pub(crate) struct Supervised {
    shell: Child,
    pipe: ChildStdin,
}

impl Supervised {
    /// Runs `start` (a shell command line that starts the server in the background with `&`; its
    /// arguments are `$1`, `$2`, …) under a supervisor that stops it with `signal` (`KILL`, `TERM`).
    /// `name` is the shell's `$0`, shown in `ps`.
    pub(crate) fn spawn(
        name: &str,
        start: &str,
        signal: &str,
        args: &[&OsStr],
    ) -> Result<Self, String> {
        let script = format!(
            "{start}\npid=$!\nread _ignored\nkill -{signal} \"$pid\" 2>/dev/null\nwait \"$pid\" 2>/dev/null\n"
        );
        let mut shell = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg(name)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let pipe = shell.stdin.take().expect("piped stdin");
        Ok(Self { shell, pipe })
    }

    /// Polls `ready` until it says yes (`true`), the server exits or `timeout` passes (`false`).
    pub(crate) fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return true;
            }
            let exited = self.shell.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits for the supervisor to exit.
    pub(crate) fn stop(self) {
        let Self { mut shell, pipe } = self;
        drop(pipe); // the supervisor's `read` returns: it stops the server and exits
        let _ = shell.wait();
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A new directory `jeco-<what>-<pid>-<n>` under the system temporary directory.
pub(crate) fn scratch_dir(what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "jeco-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
