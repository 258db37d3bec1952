//! A throwaway PostgreSQL cluster per test process, and a fresh database per test.
//!
//! Why a cluster of our own instead of the machine's: tests must not depend on a service someone
//! configured (or did not), must not touch real data, and must run where `./dev test` runs — as
//! root in CI, which PostgreSQL refuses. So the first test that asks starts one: `initdb` into a
//! temporary directory, `postgres` on a free port of 127.0.0.1 (as the `postgres` system user under
//! root). A supervising shell holds the server: it waits on a pipe whose write end only this
//! process holds, so when the test process exits — passed, failed or killed — the pipe closes, the
//! shell stops the server and removes the directory. No cleanup code has to run.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The role every test database belongs to (a superuser of the throwaway cluster).
const ROLE: &str = "jeco";
/// How long the cluster may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running cluster: where to reach it, and how to create databases in it.
pub struct Cluster {
    /// `host`, `port` and `user` of the server, as a URL without a database name.
    base: String,
    host: String,
    port: u16,
    user: String,
    bindir: Option<PathBuf>,
    /// Keeps the supervising shell's stdin open for the life of the process (see the module doc).
    _guard: Option<Mutex<(Child, ChildStdin)>>,
}

/// The process-wide cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| match std::env::var("JECO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Cluster::external(&url),
        _ => Cluster::start()
            .unwrap_or_else(|e| panic!("cannot start PostgreSQL for the tests: {e}")),
    })
}

/// A new, empty database in the test cluster; its URL (`postgres://jeco@127.0.0.1:PORT/NAME`).
pub fn fresh_database() -> String {
    cluster().create_database()
}

impl Cluster {
    fn external(url: &str) -> Self {
        // postgres://user@host:port/db — only the parts `createdb` needs.
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .unwrap_or_else(|| panic!("JECO_TEST_POSTGRES_URL must be a postgres:// URL"));
        let rest = rest.split('/').next().unwrap_or(rest);
        let (user, hostport) = rest.split_once('@').unwrap_or(("postgres", rest));
        let user = user.split(':').next().unwrap_or(user).to_string();
        let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
        let port: u16 = port.parse().expect("port in JECO_TEST_POSTGRES_URL");
        Self {
            base: format!("postgres://{user}@{host}:{port}"),
            host: host.to_string(),
            port,
            user,
            bindir: find_bindir(),
            _guard: None,
        }
    }

    fn start() -> Result<Self, String> {
        let bindir = find_bindir().ok_or_else(|| {
            "no PostgreSQL binaries (initdb, postgres): install Debian's `postgresql` package \
             (`./dev test` does), or set JECO_PG_BINDIR or JECO_TEST_POSTGRES_URL"
                .to_string()
        })?;
        let as_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let mut last_error = String::new();
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..3 {
            match Self::start_once(&bindir, as_root) {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn start_once(bindir: &Path, as_root: bool) -> Result<Self, String> {
        let dir = tempdir()?;
        let data = dir.join("data");
        if as_root {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cannot give {} to the `postgres` user (does it exist? it comes with Debian's \
                     `postgresql` package)",
                    dir.display()
                ));
            }
        }
        let initdb = run_as(as_root, &bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                ROLE,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let port = free_port()?;
        // The supervisor: start the server, wait until our stdin closes (this process exited),
        // then stop the server (fast shutdown) and remove the directory.
        let script = r#"
            "$0" -D "$1" -p "$2" -k "$1" \
                -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off -c max_connections=400 -c shared_buffers=32MB \
                -c log_min_messages=warning >"$3/server.log" 2>&1 &
            pid=$!
            read _ignored
            kill -INT "$pid" 2>/dev/null
            wait "$pid"
            rm -rf "$3"
        "#;
        let mut supervisor = run_as(as_root, Path::new("/bin/sh"))
            .arg("-c")
            .arg(script)
            .arg(bindir.join("postgres"))
            .arg(&data)
            .arg(port.to_string())
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let stdin = supervisor.stdin.take().expect("piped stdin");
        let cluster = Self {
            base: format!("postgres://{ROLE}@127.0.0.1:{port}"),
            host: "127.0.0.1".into(),
            port,
            user: ROLE.into(),
            bindir: Some(bindir.to_path_buf()),
            _guard: Some(Mutex::new((supervisor, stdin))),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = Command::new(bindir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", ROLE])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(cluster);
            }
            if let Some(guard) = &cluster._guard {
                let mut guard = guard.lock().expect("supervisor lock");
                if let Ok(Some(status)) = guard.0.try_wait() {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    return Err(format!("postgres exited ({status}): {log}"));
                }
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                // Stop it: closing stdin makes the supervisor shut the server down.
                if let Some(guard) = &cluster._guard {
                    let _ = guard.lock().expect("supervisor lock").1.write_all(b"\n");
                }
                return Err(format!(
                    "postgres did not accept connections within {START_TIMEOUT:?}: {log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's URL without a database name.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Creates an empty database with a name no other test of this process uses.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "jeco_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let createdb = self
            .bindir
            .as_ref()
            .map(|d| d.join("createdb"))
            .unwrap_or_else(|| PathBuf::from("createdb"));
        let out = Command::new(createdb)
            .args([
                "-h",
                &self.host,
                "-p",
                &self.port.to_string(),
                "-U",
                &self.user,
            ])
            .arg(&name)
            .output()
            .unwrap_or_else(|e| panic!("createdb: {e}"));
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{}/{name}", self.base)
    }
}

/// Runs `program` as the `postgres` user when this process is root (PostgreSQL refuses root).
fn run_as(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn find_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JECO_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
    })
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A new directory under the system temporary directory, short enough for a Unix socket path.
fn tempdir() -> Result<PathBuf, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "jeco-pg-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fresh_database_accepts_connections() {
        let url = super::fresh_database();
        let c = super::cluster();
        let psql = c.bindir.as_ref().expect("bindir").join("psql");
        let db = url.rsplit('/').next().unwrap();
        let out = std::process::Command::new(psql)
            .args([
                "-h",
                &c.host,
                "-p",
                &c.port.to_string(),
                "-U",
                &c.user,
                "-d",
                db,
            ])
            .args(["-tAc", "SELECT current_database()"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), db);
    }
}
