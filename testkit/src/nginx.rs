//! A throwaway nginx per test, in front of the test's server instances, run from the very site
//! file a deployment uses (`deploy/nginx/jeco.conf`).
//!
//! The site file is taken as written, with two substitutions: the `server` lines between its
//! `# BEGIN instances` and `# END instances` markers become the test's upstreams (keeping the
//! parameters of the first line, `max_fails=… fail_timeout=…`), and its `listen` lines become one
//! free port of 127.0.0.1. One test-only line is added: every response names the instance that
//! answered it in an `X-Jeco-Upstream` header (nginx's `$upstream_addr`), so a test can tell where
//! nginx sent a client. A generated main config around it keeps the pid file, logs and temp
//! directories in a temp directory, with `daemon off` and `master_process on` (a reload needs a
//! master).
//!
//! nginx runs under a supervising shell ([`crate::supervised`]): when the test process exits —
//! passed, failed or killed — the shell stops nginx (fast shutdown, so its workers go too).

use crate::supervised::{Supervised, free_port, scratch_dir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The header in which the test nginx names the instance that answered (`$upstream_addr`).
pub const UPSTREAM_HEADER: &str = "x-jeco-upstream";

/// A running nginx on a free port of 127.0.0.1, proxying to a list of upstreams.
pub struct Nginx {
    port: u16,
    /// Serves the config generation number, so that a reload can wait until it is in effect.
    control_port: u16,
    generation: u64,
    dir: PathBuf,
    running: Option<Supervised>,
}

impl Nginx {
    /// Starts nginx in front of `upstreams` (`host:port` each, at least one). Panics with the
    /// reason when it cannot (no nginx: install Debian's `nginx-light`, which `./dev test` does).
    pub fn start<A: ToString>(upstreams: &[A]) -> Self {
        let upstreams: Vec<String> = upstreams.iter().map(ToString::to_string).collect();
        let mut last = String::new();
        // A free port can be taken between the probe and nginx's bind: try a few.
        for _ in 0..3 {
            let mut nginx = Self {
                port: free_port(),
                control_port: free_port(),
                generation: 0,
                dir: nginx_dir(),
                running: None,
            };
            match nginx.write_config(&upstreams).and_then(|()| nginx.spawn()) {
                Ok(()) => return nginx,
                Err(e) => last = e,
            }
        }
        panic!("cannot start nginx for the tests: {last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Points nginx at `upstreams` instead (`nginx -s reload`) and returns once new connections
    /// use them. Connections open before (WebSockets) stay on the old workers until they close,
    /// or at most `worker_shutdown_timeout`. Panics when the new config is refused.
    pub fn reload<A: ToString>(&mut self, upstreams: &[A]) {
        let upstreams: Vec<String> = upstreams.iter().map(ToString::to_string).collect();
        self.write_config(&upstreams)
            .unwrap_or_else(|e| panic!("nginx reload: {e}"));
        let out = Command::new(nginx_binary())
            .args(self.flags())
            .args(["-s", "reload"])
            .output()
            .unwrap_or_else(|e| panic!("nginx -s reload: {e}"));
        assert!(
            out.status.success(),
            "nginx -s reload: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // In effect once a new worker serves the new generation and the old worker has said it
        // is leaving (it closes its listening sockets right after saying so): from then on every
        // new connection gets the new config.
        let deadline = Instant::now() + START_TIMEOUT;
        let reloads = (self.generation - 1) as usize;
        while http_get(self.control_port, "/").as_deref() != Some(&self.generation.to_string())
            || self.error_log().matches("gracefully shutting down").count() < reloads
        {
            assert!(
                Instant::now() < deadline,
                "nginx did not take the new config: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// nginx's error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// nginx's access log so far: one line per request, with the upstream that answered it.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Stops nginx (fast shutdown) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(nginx) = self.running.take() {
            nginx.stop();
        }
    }

    fn flags(&self) -> Vec<String> {
        let dir = self.dir.display();
        vec![
            "-p".into(),
            format!("{dir}/"),
            "-c".into(),
            format!("{dir}/nginx.conf"),
            "-e".into(),
            format!("{dir}/error.log"),
        ]
    }

    /// Writes the site (the deployment's file with this test's upstreams and port) and the main
    /// config around it, then checks them with `nginx -t`.
    fn write_config(&mut self, upstreams: &[String]) -> Result<(), String> {
        self.generation += 1;
        let site = std::fs::read_to_string(site_file())
            .map_err(|e| format!("reading {}: {e}", site_file().display()))?;
        let site = site_for_test(&site, upstreams, self.port)?;
        let dir = &self.dir;
        std::fs::write(dir.join("jeco.conf"), site).map_err(|e| e.to_string())?;
        let temp_paths: String = temp_path_directives()
            .iter()
            .map(|(directive, name)| {
                let path = dir.join("temp").join(name);
                format!("    {directive} {};\n", path.display())
            })
            .collect();
        let main = format!(
            "# Generated by jeco_testkit::nginx around deploy/nginx/jeco.conf.\n\
             daemon off;\n\
             master_process on;\n\
             worker_processes 1;\n\
             pid {dir}/nginx.pid;\n\
             error_log {dir}/error.log info;\n\
             # Old workers holding WebSockets after a reload: do not keep them for long.\n\
             worker_shutdown_timeout 5s;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
             {temp_paths}\
             \x20   log_format upstreams '$remote_addr \"$request\" $status upstream=$upstream_addr \
             upstream_status=$upstream_status';\n\
             \x20   access_log {dir}/access.log upstreams;\n\
             \x20   include {dir}/jeco.conf;\n\
             \x20   server {{\n\
             \x20       listen 127.0.0.1:{control};\n\
             \x20       location / {{ return 200 \"{generation}\"; }}\n\
             \x20   }}\n\
             }}\n",
            dir = dir.display(),
            control = self.control_port,
            generation = self.generation,
        );
        std::fs::write(dir.join("nginx.conf"), main).map_err(|e| e.to_string())?;
        let out = Command::new(nginx_binary())
            .args(self.flags())
            .arg("-t")
            .output()
            .map_err(|e| format!("running {}: {e}", nginx_binary().display()))?;
        if !out.status.success() {
            return Err(format!(
                "nginx -t refused the config: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), String> {
        // TERM is nginx's fast shutdown: the master stops its workers, then exits.
        let start = r#""$1" -p "$2/" -c "$2/nginx.conf" -e "$2/error.log" &"#;
        let mut nginx = Supervised::spawn(
            "nginx-supervisor",
            start,
            "TERM",
            &[nginx_binary().as_os_str(), self.dir.as_os_str()],
        )?;
        let (control, port) = (self.control_port, self.port);
        let up = nginx.wait_ready(START_TIMEOUT, || {
            http_get(control, "/").is_some() && listening(port)
        });
        self.running = Some(nginx);
        if up {
            return Ok(());
        }
        self.stop();
        Err(format!("nginx did not start: {}", self.error_log()))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The deployment's site file, `deploy/nginx/jeco.conf` in this repository.
pub fn site_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx/jeco.conf")
}

/// `nginx`: on PATH, else Debian's `/usr/sbin/nginx` (not on a non-root user's PATH).
pub fn nginx_binary() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("nginx"))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

/// `site` (the text of `deploy/nginx/jeco.conf`) with `upstreams` between the instance markers,
/// one `listen` on 127.0.0.1:`port`, and the test's upstream header.
fn site_for_test(site: &str, upstreams: &[String], port: u16) -> Result<String, String> {
    if upstreams.is_empty() {
        return Err("nginx needs at least one upstream".into());
    }
    let mut out = String::new();
    let mut in_instances = false;
    let mut saw_instances = false;
    let mut listened = false;
    let mut proxied = false;
    for line in site.lines() {
        let code = line.trim();
        if code == "# BEGIN instances" {
            in_instances = true;
            out.push_str(line);
            out.push('\n');
        } else if code == "# END instances" {
            in_instances = false;
            out.push_str(line);
            out.push('\n');
        } else if in_instances {
            // The first example line gives the parameters every test upstream gets.
            if !saw_instances && let Some(rest) = code.strip_prefix("server ") {
                saw_instances = true;
                let indent = &line[..line.len() - line.trim_start().len()];
                let params: Vec<&str> = rest.trim_end_matches(';').split_whitespace().collect();
                let params = params.get(1..).unwrap_or_default().join(" ");
                for upstream in upstreams {
                    out.push_str(&format!("{indent}server {upstream} {params};\n"));
                }
            }
        } else if code.starts_with("listen ") {
            if !listened {
                listened = true;
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!("{indent}listen 127.0.0.1:{port};\n"));
            }
        } else {
            out.push_str(line);
            out.push('\n');
            if code.starts_with("proxy_pass ") {
                proxied = true;
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!(
                    "{indent}add_header X-Jeco-Upstream $upstream_addr always;\n"
                ));
            }
        }
    }
    if !saw_instances || !listened || !proxied {
        return Err(format!(
            "{} lacks the `# BEGIN instances` … `# END instances` server lines, a `listen` or a \
             `proxy_pass`",
            site_file().display()
        ));
    }
    Ok(out)
}

/// The temp-path directive of each module this nginx has, with a directory name for it: nginx
/// creates them at start, and their compiled-in defaults (/var/lib/nginx/…) are root's.
fn temp_path_directives() -> Vec<(&'static str, &'static str)> {
    let version = Command::new(nginx_binary())
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default();
    [
        ("client_body_temp_path", "body", ""),
        ("proxy_temp_path", "proxy", "--without-http_proxy_module"),
        (
            "fastcgi_temp_path",
            "fastcgi",
            "--without-http_fastcgi_module",
        ),
        ("uwsgi_temp_path", "uwsgi", "--without-http_uwsgi_module"),
        ("scgi_temp_path", "scgi", "--without-http_scgi_module"),
    ]
    .into_iter()
    .filter(|(_, _, without)| without.is_empty() || !version.contains(without))
    .map(|(directive, name, _)| (directive, name))
    .collect()
}

/// A GET over a plain socket; the body when the answer is 200. The tests need no HTTP client
/// for this.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A scratch directory with the `temp/` nginx's temp paths point into.
fn nginx_dir() -> PathBuf {
    let dir = scratch_dir("nginx");
    std::fs::create_dir_all(dir.join("temp"))
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A tiny HTTP server that answers every request with `name`, until the test ends.
    fn named_server(name: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                    name.len()
                );
            }
        });
        addr
    }

    /// The body and the upstream header of a GET through nginx.
    fn get(nginx: &Nginx, path: &str) -> (String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", nginx.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{response}");
        let upstream = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(UPSTREAM_HEADER)
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        (body.to_owned(), upstream)
    }

    #[test]
    fn proxies_spreads_skips_a_dead_upstream_and_reloads() {
        let (a, b) = (named_server("a"), named_server("b"));
        // A port nobody listens on: connect refused, so nginx must try the next upstream.
        let dead = format!("127.0.0.1:{}", free_port());
        let mut nginx = Nginx::start(&[a.clone(), b.clone(), dead]);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..6 {
            let (body, upstream) = get(&nginx, "/api/v1/health");
            let answered = if body == "a" { &a } else { &b };
            // After a refused connect it names both: "127.0.0.1:DEAD, 127.0.0.1:B".
            assert!(
                upstream.ends_with(answered.as_str()),
                "{upstream} for {body}"
            );
            seen.insert(body);
        }
        assert_eq!(seen.len(), 2, "nginx used one upstream only: {seen:?}");

        nginx.reload(std::slice::from_ref(&b));
        for _ in 0..3 {
            assert_eq!(get(&nginx, "/api/v1/health"), ("b".to_owned(), b.clone()));
        }
        let url = nginx.url();
        nginx.stop();
        assert!(!listening(nginx.port()), "{url} still answers after stop");
    }

    #[test]
    fn the_site_file_gets_the_tests_upstreams_and_port() {
        let site = std::fs::read_to_string(site_file()).unwrap();
        let ups = ["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()];
        let test = site_for_test(&site, &ups, 9).unwrap();
        assert!(test.contains("server 127.0.0.1:1 max_fails="), "{test}");
        assert!(test.contains("server 127.0.0.1:2 max_fails="), "{test}");
        assert!(!test.contains(":7878"), "{test}");
        let listens = test.lines().filter(|l| l.trim().starts_with("listen "));
        assert_eq!(listens.count(), 1, "{test}");
        assert!(test.contains("listen 127.0.0.1:9;"), "{test}");
    }
}
