//! Issue 16's two-factor in the app: turn it on in Profile → Security with the key read from the
//! screen (this test is the authenticator app: it computes the RFC 6238 codes with `totp-rs`, the
//! crate the server checks them with), see the recovery codes once, log out, then sign in with
//! the password and the app's code.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch, prerequisites, register_in_app};
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::time::{SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Builder, Secret, Totp};

const USERNAME: &str = "tess";
/// What `register_in_app` signs up with.
const PASSWORD: &str = "a long enough password";

/// The authenticator app for the key the UI shows: SHA-1, 6 digits, 30-second steps.
fn authenticator(secret: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret.trim())
        .map_err(|e| anyhow::anyhow!("the shown key is not base32: {e:?}"))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP parameters: {e:?}"))
}

/// Clicks a button of the profile dialog, scrolled to the middle of its scrolling body first: the
/// Security tab is taller than the dialog, and WebKitWebDriver refuses a click on a button that a
/// new line above it (an error, the QR code) pushed out of view.
async fn click_in_view(app: &Session, css: &str) -> Result<()> {
    let button = app.wait_for(css).await?;
    app.execute(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' }); return 1;",
        serde_json::json!([css]),
    )
    .await?;
    app.click(&button).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_two_factor_and_sign_in_with_it() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let (driver, app) = launch(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-two-factor.log",
    )
    .await?;

    register_in_app(&app, USERNAME).await?;

    // Profile → Security → Two-factor: off; turn it on.
    app.click(&app.wait_for("[data-testid=open-profile]").await?)
        .await?;
    app.click(&app.wait_for("[data-testid=profile-tab-security]").await?)
        .await?;
    app.wait_for_text("[data-testid=two-factor-status]", "Off.")
        .await?;
    click_in_view(&app, "[data-testid=enable-two-factor]").await?;
    let secret = app
        .text(&app.wait_for("[data-testid=two-factor-secret]").await?)
        .await?;
    let totp = authenticator(&secret)?;
    let qr = app
        .attribute(&app.wait_for("[data-testid=two-factor-qr]").await?, "src")
        .await?
        .context("the QR code has no image")?;
    ensure!(
        qr.starts_with("data:image/svg+xml"),
        "the QR code is not an SVG: {qr:.40}"
    );

    app.execute(
        "document.querySelector('[data-testid=two-factor-enable-form]').scrollIntoView({ block: 'center' }); return 1;",
        serde_json::json!([]),
    )
    .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("two-factor-enable.png"))
        .await?;

    // A wrong code is refused in words; the app's current one turns two-factor on.
    let current = totp.generate(now()).to_string();
    let wrong = format!("{:06}", (current.parse::<u32>()? + 500_000) % 1_000_000);
    app.fill(&app.wait_for("#two-factor-settings-code").await?, &wrong)
        .await?;
    click_in_view(&app, "[data-testid=confirm-two-factor]").await?;
    app.wait_for_text("[data-testid=two-factor-error]", "That code is not right.")
        .await?;
    let confirmed_at = now();
    app.fill(
        &app.wait_for("#two-factor-settings-code").await?,
        &totp.generate(confirmed_at).to_string(),
    )
    .await?;
    click_in_view(&app, "[data-testid=confirm-two-factor]").await?;
    app.wait_for("[data-testid=recovery-codes] li").await?;
    app.wait_for_text(
        "[data-testid=two-factor-status]",
        "On. 10 recovery codes left.",
    )
    .await?;
    click_in_view(&app, "[data-testid=recovery-codes-saved]").await?;
    app.click(
        &app.wait_for("[data-testid=profile-dialog] [aria-label=Close]")
            .await?,
    )
    .await?;

    // Log out; the password alone no longer signs in: the code step asks for the app's code.
    app.click(&app.wait_for("[data-testid=logout]").await?)
        .await?;
    app.wait_for_text("h1", "Welcome back").await?;
    app.fill(&app.wait_for("#username").await?, USERNAME)
        .await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for_text(
        "[data-testid=two-factor-prompt]",
        "Enter the 6-digit code from your authenticator app.",
    )
    .await?;
    // A code is accepted once: the server keeps the step of the last one (the confirmation's).
    // The next step's code is within the one step of skew it allows, so no 30-second wait.
    let next = totp.generate(confirmed_at + 30).to_string();
    app.fill(&app.wait_for("#two-factor-code").await?, &next)
        .await?;
    app.screenshot(&screenshots.join("two-factor-sign-in.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=two-factor-submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=welcome]", &format!("Welcome, {USERNAME}!"))
        .await?;

    // The server agrees: two-factor is on for the account.
    let check = jeco_client::Client::builder(&url).build()?;
    let step = check.sign_in(USERNAME, PASSWORD).await?;
    ensure!(
        matches!(step, jeco_client::SignInStep::TwoFactorRequired(_)),
        "the password alone signed in: {step:?}"
    );

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}
