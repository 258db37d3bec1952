//! The desktop app, built and running under Xvfb, against a real server: register, see the
//! signed-in view, restart and still be signed in (tokens in the OS keychain), log out, fail and then
//! succeed to log in again; chat with a `jeco` CLI user (`chat`); native notifications, mute and
//! the Settings dialog (`notify`); the image viewer, Save-as and opening files (`files`); the tray
//! and closing to it (`tray`); email, signed-in devices and "Forgot password?" (`account`); the
//! Administration panel of a server admin (`admin`); turning two-factor on and signing in with it
//! (`two_factor`).
//! Screenshots go to `target/screenshots/`.
//!
//! Run it with `scripts/e2e-desktop.sh`, which builds everything and provides the display, the D-Bus
//! session and the unlocked keychain. See `tests/README.md`.

mod account;
mod admin;
mod channels;
mod chat;
#[cfg(unix)]
mod files;
mod keychain;
#[cfg(unix)]
mod links;
mod notify;
mod offline;
mod team;
mod threads;
mod timeline;
#[cfg(unix)]
mod tray;
mod two_factor;
mod voice;
mod window;

use anyhow::{Context, Result};
use jeco_e2e::desktop::{Driver, prerequisites};
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::path::Path;

const USERNAME: &str = "e2e_tester";
const DISPLAY_NAME: &str = "E2E Tester";
const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_sign_in_and_out_in_the_desktop_app() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;

    let server = TestServer::start().await;
    let server_url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver.log");
    let driver = Driver::start(
        &prereqs,
        &[
            ("JECO_DESKTOP_SERVER", Path::new(&server_url)),
            ("JECO_DESKTOP_DATA_DIR", data_dir.path()),
        ],
        &log,
    )
    .await?;
    let capabilities = Driver::capabilities(&prereqs.app);

    // First run: the login screen, pointed at our server.
    let app = Session::start(&driver.url, capabilities.clone()).await?;
    let address = app.wait_for("#server-address").await?;
    assert_eq!(
        app.value(&address).await?,
        server_url,
        "the app should use JECO_DESKTOP_SERVER"
    );
    // A new install opens on "Create account" (nobody signed in here yet).
    app.wait_for_text("h1", "Create your account").await?;
    app.screenshot(&screenshots.join("login.png")).await?;

    // Register.
    app.click(&app.wait_for("[data-testid=tab-register]").await?)
        .await?;
    app.fill(&app.wait_for("#username").await?, USERNAME)
        .await?;
    app.fill(&app.wait_for("#display-name").await?, DISPLAY_NAME)
        .await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.screenshot(&screenshots.join("register.png")).await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text(
        "[data-testid=welcome]",
        &format!("Welcome, {DISPLAY_NAME}!"),
    )
    .await?;
    app.screenshot(&screenshots.join("signed-in.png")).await?;

    // The account is real on the server, and the session's tokens are in the keychain.
    let check = jeco_client::Client::builder(&server_url).build()?;
    assert_eq!(
        check
            .login(USERNAME, PASSWORD)
            .await?
            .display_name
            .as_deref(),
        Some(DISPLAY_NAME)
    );
    let saved = keychain::saved_tokens(&server_url)?
        .context("no tokens in the keychain after registering")?;
    assert!(!saved.is_empty());
    assert_no_token_files(data_dir.path(), &saved)?;

    // Restart the app: still signed in, straight to the welcome view.
    app.quit().await?;
    let app = Session::start(&driver.url, capabilities.clone()).await?;
    app.wait_for_text("[data-testid=welcome]", DISPLAY_NAME)
        .await?;

    // Log out: back to the login screen, tokens gone from the keychain.
    app.click(&app.wait_for("[data-testid=logout]").await?)
        .await?;
    app.wait_for_text("h1", "Welcome back").await?;
    assert_eq!(
        keychain::saved_tokens(&server_url)?,
        None,
        "logout must clear the keychain entry"
    );

    // A wrong password is explained; the right one signs in again.
    app.fill(&app.wait_for("#username").await?, USERNAME)
        .await?;
    app.fill(&app.wait_for("#password").await?, "not the password")
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=form-error]", "Wrong username or password.")
        .await?;
    app.screenshot(&screenshots.join("login-error.png")).await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=welcome]", DISPLAY_NAME)
        .await?;
    assert!(keychain::saved_tokens(&server_url)?.is_some());

    app.quit().await?;
    drop(driver);
    server.stop().await;
    eprintln!("screenshots in {}", screenshots.display());
    Ok(())
}

/// With no server given, the app starts its embedded server and works against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_server_by_default() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    let data_dir = tempfile::tempdir()?;
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver-embedded.log");
    let driver = Driver::start(
        &prereqs,
        &[("JECO_DESKTOP_DATA_DIR", data_dir.path())],
        &log,
    )
    .await?;
    let app = Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;

    let address = app.value(&app.wait_for("#server-address").await?).await?;
    assert!(
        address.starts_with("http://127.0.0.1:"),
        "the embedded server's address, not {address:?}"
    );
    // A new install shows Create account, whose first hint is the username's: find the server's.
    app.wait_for_one_with_text(".field-hint", "Built-in server on this computer")
        .await?;
    app.screenshot(&screenshots.join("login-embedded.png"))
        .await?;
    // The whole Create account form fits the default window: its button is not cut off.
    let fits = app
        .execute(
            "const r = document.querySelector('[data-testid=submit]').getBoundingClientRect();\
             return r.bottom <= window.innerHeight && r.top >= 0;",
            serde_json::json!([]),
        )
        .await?;
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "Create account is cut off in the default window"
    );

    // Hosting for the network: the server moves to every interface at a port it keeps, and the
    // sign-in form follows it.
    app.click(&app.wait_for("[data-testid=hosting-switch]").await?)
        .await?;
    app.wait_for_text("[data-testid=hosting-state]", "Hosting for your network")
        .await?;
    app.wait_for("[data-testid=lan-address]").await?;
    let mut address = app.value(&app.wait_for("#server-address").await?).await?;
    for _ in 0..50 {
        if !address.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        address = app.value(&app.wait_for("#server-address").await?).await?;
    }
    let port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("the hosted address has a port")?;
    assert!(
        std::net::TcpListener::bind(("0.0.0.0", port)).is_err(),
        "the hosted server listens on every interface"
    );
    app.screenshot(&screenshots.join("login-hosting.png"))
        .await?;

    app.click(&app.wait_for("[data-testid=tab-register]").await?)
        .await?;
    app.fill(&app.wait_for("#username").await?, "local_user")
        .await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=welcome]", "Welcome, local_user!")
        .await?;
    app.wait_for_text(".server-pill", "Hosting for your network")
        .await?;

    // The embedded server really is at that address, with the account in it.
    let check = jeco_client::Client::builder(&address).build()?;
    assert_eq!(
        check.login("local_user", PASSWORD).await?.username,
        "local_user"
    );
    assert!(
        data_dir.path().join("server").is_dir(),
        "the embedded server keeps its data in the data dir"
    );

    app.quit().await?;
    drop(driver);
    Ok(())
}

/// The refresh token must not be in any file under the app's data directory.
fn assert_no_token_files(dir: &Path, secret: &str) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            assert_no_token_files(&path, secret)?;
        } else if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} contains the refresh token", path.display());
        }
    }
    Ok(())
}
