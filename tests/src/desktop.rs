//! Launching the built desktop app under a WebDriver: finding the prerequisites, running
//! `tauri-driver` (which starts WebKitWebDriver, which starts the app), and cleaning up.
//!
//! Missing prerequisites fail the scenario with a list of what is missing and how to get it. The
//! only way to not run it is to say why, in `JECO_E2E_SKIP_DESKTOP=<reason>`.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set to a reason to skip the desktop scenarios (the reason is printed).
pub const ENV_SKIP: &str = "JECO_E2E_SKIP_DESKTOP";
/// Path of the app binary; default `<target>/debug/jeco-desktop`.
pub const ENV_APP_BIN: &str = "JECO_DESKTOP_BIN";
/// Path of `tauri-driver`; default: `PATH`, then `~/.cargo/bin`.
pub const ENV_TAURI_DRIVER: &str = "TAURI_DRIVER";
/// A throwaway home the app runs with (`HOME`), set by `scripts/e2e-desktop.sh`: it holds the
/// `.asoundrc` that gives the app a microphone (ALSA's file plugin) and speakers (the null device)
/// on machines without a sound card. The keychain is unaffected: it is reached over D-Bus.
pub const ENV_HOME: &str = "JECO_E2E_HOME";

/// Everything needed to drive the app.
#[derive(Debug, Clone)]
pub struct Prerequisites {
    pub app: PathBuf,
    pub tauri_driver: PathBuf,
    pub native_driver: PathBuf,
}

/// `Ok(None)` when the scenario is explicitly skipped; `Err` listing everything that is missing.
pub fn prerequisites() -> Result<Option<Prerequisites>> {
    if let Some(reason) = std::env::var(ENV_SKIP)
        .ok()
        .filter(|r| !r.trim().is_empty())
    {
        eprintln!("SKIPPING the desktop end-to-end scenario: {ENV_SKIP}={reason}");
        return Ok(None);
    }
    let mut missing = Vec::new();

    let app = std::env::var_os(ENV_APP_BIN)
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_dir().join("debug").join("jeco-desktop"));
    if !app.is_file() {
        missing.push(format!(
            "the desktop app binary {} ({ENV_APP_BIN}): build it with `npm --prefix ui install && npm --prefix ui run build && cargo build -p jeco-desktop`",
            app.display()
        ));
    }
    let tauri_driver = std::env::var_os(ENV_TAURI_DRIVER)
        .map(PathBuf::from)
        .or_else(|| {
            find_on_path("tauri-driver").or_else(|| {
                let home = std::env::var_os("HOME")?;
                Some(PathBuf::from(home).join(".cargo/bin/tauri-driver")).filter(|p| p.is_file())
            })
        });
    if tauri_driver.is_none() {
        missing.push("tauri-driver: `cargo install tauri-driver --version ^2 --locked`".to_owned());
    }
    let native_driver = find_on_path("WebKitWebDriver");
    if native_driver.is_none() {
        missing.push("WebKitWebDriver: `apt-get install webkit2gtk-driver`".to_owned());
    }
    if std::env::var_os("DISPLAY").is_none() {
        missing.push("an X display (DISPLAY): run under `xvfb-run -a`".to_owned());
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        missing.push(
            "a D-Bus session with an unlocked Secret Service for the keychain (DBUS_SESSION_BUS_ADDRESS): \
             run under `dbus-run-session` with `gnome-keyring-daemon --unlock --components=secrets`"
                .to_owned(),
        );
    }
    if !missing.is_empty() {
        bail!(
            "the desktop end-to-end scenario cannot run; missing:\n  - {}\n\
             `scripts/e2e-desktop.sh` installs and starts all of it; set {ENV_SKIP}=<reason> to skip on purpose.",
            missing.join("\n  - ")
        );
    }
    Ok(Some(Prerequisites {
        app: app.canonicalize()?,
        tauri_driver: tauri_driver.expect("checked above"),
        native_driver: native_driver.expect("checked above"),
    }))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `tauri-driver`, in its own process group so that dropping it also ends the
/// WebKitWebDriver and app processes it started.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    /// Starts `tauri-driver` on free ports with `env` added to the environment it (and so the app)
    /// inherits, and waits until it accepts requests.
    ///
    /// A free port can be taken by another process between the probe and the driver's bind (seen
    /// once in CI: the driver never answered), so a driver that exits or stays silent is stopped
    /// and started again on new ports, up to three times.
    pub async fn start(prereqs: &Prerequisites, env: &[(&str, &Path)], log: &Path) -> Result<Self> {
        let mut last = None;
        for attempt in 1..=3 {
            match Self::start_once(prereqs, env, log).await {
                Ok(driver) => return Ok(driver),
                Err(e) => {
                    eprintln!("tauri-driver start, attempt {attempt}: {e:#}");
                    last = Some(e);
                }
            }
        }
        Err(last.expect("three attempts"))
    }

    async fn start_once(
        prereqs: &Prerequisites,
        env: &[(&str, &Path)],
        log: &Path,
    ) -> Result<Self> {
        let port = free_port()?;
        let native_port = free_port()?;
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(&prereqs.tauri_driver);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&prereqs.native_driver)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        if let Some(home) = std::env::var_os(ENV_HOME) {
            command.env("HOME", home);
        }
        // WebKitWebDriver's screenshots need WebKit's compositing: without it (the app's default
        // on a machine with no GPU, like this one) `GET /screenshot` never answers. So the app
        // composites here, on Mesa's software GL, unless a test asks otherwise (`tray.rs` and
        // `window.rs` run the default).
        command.env("JECO_DESKTOP_GPU", "on");
        for (name, value) in env {
            command.env(name, value);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", prereqs.tauri_driver.display()))?;
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };

        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(answer) = http.get(format!("{}/status", driver.url)).send().await
                && answer.status().is_success()
            {
                return Ok(driver);
            }
            if let Some(status) = driver.child.try_wait()? {
                bail!(
                    "tauri-driver exited ({status}) before answering on {}; see {}",
                    driver.url,
                    log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "tauri-driver did not answer on {} within 20 s; see {}",
                    driver.url,
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Capabilities that make the driver launch `app`.
    pub fn capabilities(app: &Path) -> serde_json::Value {
        serde_json::json!({ "alwaysMatch": { "tauri:options": { "application": app } } })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: tauri-driver, WebKitWebDriver and any app still running. (Not by
        // running `kill -TERM -<pgid>`: procps-ng 4.0.2, Debian 12's, sends that to every process.)
        #[cfg(unix)]
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            use nix::sys::signal::{Signal, killpg};
            let _ = killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGTERM);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tauri-driver` for the app against `server` with `data_dir` as its data directory
/// (its log in `<target>/<log_name>`), and opens a WebDriver session: the app's window.
pub async fn launch(
    prereqs: &Prerequisites,
    server: &str,
    data_dir: &Path,
    log_name: &str,
) -> Result<(Driver, crate::webdriver::Session)> {
    launch_with(prereqs, server, data_dir, log_name, &[]).await
}

/// [`launch`] with more environment for the app (overriding the driver's defaults).
pub async fn launch_with(
    prereqs: &Prerequisites,
    server: &str,
    data_dir: &Path,
    log_name: &str,
    env: &[(&str, &Path)],
) -> Result<(Driver, crate::webdriver::Session)> {
    let log = crate::target_dir().join(log_name);
    let mut all = vec![
        ("JECO_DESKTOP_SERVER", Path::new(server)),
        ("JECO_DESKTOP_DATA_DIR", data_dir),
    ];
    all.extend_from_slice(env);
    let driver = Driver::start(prereqs, &all, &log).await?;
    let app =
        crate::webdriver::Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;
    Ok((driver, app))
}

/// Creates an account in the app's sign-in screen and waits for the signed-in view.
pub async fn register_in_app(app: &crate::webdriver::Session, username: &str) -> Result<()> {
    app.click(&app.wait_for("[data-testid=tab-register]").await?)
        .await?;
    app.fill(&app.wait_for("#username").await?, username)
        .await?;
    app.fill(&app.wait_for("#password").await?, "a long enough password")
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=welcome]", &format!("Welcome, {username}!"))
        .await?;
    Ok(())
}

/// Opens a menu button (by test id) and picks one of its items (by test id).
///
/// Just after signing in the sidebar is still taking in its first lists, and a click that lands
/// while it re-renders can be lost (seen once in CI: the menu never opened). A person clicks again,
/// and so does this: when the item has not appeared within a few seconds and the button does not
/// say it is expanded, the button is clicked again (at most three times).
pub async fn choose_from_menu(
    app: &crate::webdriver::Session,
    menu: &str,
    item: &str,
) -> Result<()> {
    let button_css = format!("[data-testid={menu}]");
    let item_css = format!("[data-testid={item}]");
    for attempt in 1..=3 {
        let button = app.wait_for(&button_css).await?;
        if app.attribute(&button, "aria-expanded").await?.as_deref() != Some("true") {
            app.click(&button).await?;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
        while std::time::Instant::now() < deadline {
            if let Some(found) = app.find(&item_css).await? {
                return app.click(&found).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        eprintln!("menu {menu}: item {item} not shown after click {attempt}; clicking again");
    }
    app.click(&app.wait_for(&item_css).await?).await
}

/// The running app: the process whose executable is the app binary.
pub fn app_pid(app: &Path) -> Result<u32> {
    let wanted = app.canonicalize()?;
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("exe")).is_ok_and(|exe| exe == wanted) {
            return Ok(pid);
        }
    }
    bail!("the app process was not found")
}

/// Asks the app to quit the way a session logout does (SIGTERM) and waits until it has exited.
#[cfg(unix)]
pub async fn terminate_app(pid: u32) -> Result<()> {
    use nix::sys::signal::{Signal, kill};
    let target = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
    kill(target, Signal::SIGTERM)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Gone, or a zombie its parent (the WebDriver) has not reaped yet.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    };
    while running() {
        if Instant::now() > deadline {
            bail!("the app did not exit within 20 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
