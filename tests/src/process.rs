//! Real `jeco-server` and `jeco` processes for the sync scenarios.
//!
//! The binaries are the ones cargo built into the target directory (`./dev test` builds them
//! before it runs these scenarios). A server is started on `127.0.0.1:0` the first time and on the
//! same address and data directory on every restart, so clients reconnect to "the same server
//! after it came back" exactly as they would in real life.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A built binary of this workspace (`jeco-server`, `jeco`).
pub fn binary(name: &str) -> PathBuf {
    let path = crate::target_dir().join("debug").join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build -p jeco-server -p jeco-cli --bins` first",
        path.display()
    );
    path
}

/// A `jeco-server serve` process.
pub struct ServerProcess {
    child: Option<Child>,
    addr: SocketAddr,
    data_dir: PathBuf,
    extra: Vec<String>,
}

impl ServerProcess {
    /// Starts a server with its data in `data_dir` on a free port; `extra` are more flags.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, addr) = spawn(data_dir, "127.0.0.1:0", &extra);
        Self {
            child: Some(child),
            addr,
            data_dir: data_dir.to_owned(),
            extra,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            {
                use nix::sys::signal::{Signal, kill};
                use nix::unistd::Pid;
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills the server with SIGKILL — no shutdown, no flush, no checkpoint: a crash — and waits
    /// for it to be gone. [`ServerProcess::restart`] starts it again.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same address with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Starts the server again on the same address with the same data but other flags: an
    /// operator who changed the configuration (a lower limit, say) while clients were away.
    pub fn restart_with(&mut self, extra: &[&str]) {
        self.stop();
        self.extra = extra.iter().map(|s| s.to_string()).collect();
        self.start_again();
    }

    fn start_again(&mut self) {
        let (child, addr) = spawn(&self.data_dir, &self.addr.to_string(), &self.extra);
        assert_eq!(addr, self.addr);
        self.child = Some(child);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(data_dir: &Path, bind: &str, extra: &[String]) -> (Child, SocketAddr) {
    let mut child = Command::new(binary("jeco-server"))
        .arg("serve")
        .arg("--bind")
        .arg(bind)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("jeco-server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(addr) = line.trim().strip_prefix("listening on http://") {
                let _ = tx.send(addr.to_owned());
                sent = true;
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("jeco-server says where it listens within 30 s");
    (child, addr.parse().expect("a socket address"))
}

/// Runs the `jeco` CLI with a data directory and server, returning (exit success, stdout, stderr).
pub fn jeco(data_dir: &Path, server: &str, args: &[&str], stdin: Option<&str>) -> JecoRun {
    use std::io::Write;
    let mut child = Command::new(binary("jeco"))
        .arg("--server")
        .arg(server)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("JECO_PASSWORD", "a long enough password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jeco starts");
    let mut input = child.stdin.take().expect("piped stdin");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .expect("stdin takes the text");
    }
    drop(input);
    let out = child.wait_with_output().expect("jeco runs");
    JecoRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What a `jeco` run printed.
#[derive(Debug)]
pub struct JecoRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl JecoRun {
    /// Asserts success and parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        assert!(self.success, "jeco failed: {self:?}");
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("jeco printed no JSON ({e}): {self:?}");
        })
    }
}

/// Runs `jeco` for a CLI user (data in `dir`) against `server`: its output, or an error with
/// everything it printed.
pub fn jeco_ok(dir: &Path, server: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = jeco(dir, server, args, None);
    anyhow::ensure!(out.success, "jeco {args:?} failed: {out:?}");
    Ok(out.stdout)
}
