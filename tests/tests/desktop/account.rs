//! Issue 16 in the app: an email address verified with the code the server's dev mailer wrote
//! into `<data-dir>/mail/`; the Security tab's device list, where a `jeco` CLI session is signed
//! out (and the CLI is refused from then on); this device signed out from elsewhere (the CLI's
//! `sign-out-others`: the socket closes with 4008) and the app back on its sign-in screen saying
//! so; then "Forgot password?" with the token from the newest mail, a new password, and signed in.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch, prerequisites, register_in_app};
use jeco_e2e::process::{jeco, jeco_ok};
use jeco_testkit::server::TestServer;
use std::path::Path;
use std::time::{Duration, Instant};

const USERNAME: &str = "rosa";
/// What `register_in_app` and the `jeco` helpers sign in with.
const PASSWORD: &str = "a long enough password";
const NEW_PASSWORD: &str = "a brand new passphrase";
const EMAIL: &str = "rosa@example.org";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_devices_and_forgot_password() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    // Two devices and a checker sign in, refresh and reset more often than one address may
    // within the default `/auth` burst; the budget itself is tested with the server.
    let server = TestServer::start_with(|config| config.auth_rate_burst = 100).await;
    let url = server.base().to_owned();
    let mail_dir = server.data_dir().join("mail");
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let (driver, app) = launch(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-account.log",
    )
    .await?;

    register_in_app(&app, USERNAME).await?;
    // A second device: the CLI signed in as the same person.
    jeco_ok(cli.path(), &url, &["login", USERNAME])?;

    // Profile → Security: add an address and verify it with the mailed code.
    app.click(&app.wait_for("[data-testid=open-profile]").await?)
        .await?;
    app.click(&app.wait_for("[data-testid=profile-tab-security]").await?)
        .await?;
    app.fill(&app.wait_for("#email-address-input").await?, EMAIL)
        .await?;
    app.click(&app.wait_for("[data-testid=set-email]").await?)
        .await?;
    app.wait_for_text("[data-testid=email-pending]", EMAIL)
        .await?;
    let mail = nth_mail_to(&mail_dir, EMAIL, 1).await?;
    let code = code_in(&mail)?;
    app.fill(&app.wait_for("#email-code").await?, &code).await?;
    app.click(&app.wait_for("[data-testid=verify-email]").await?)
        .await?;
    app.wait_for_text("[data-testid=email-verified]", "Verified")
        .await?;
    app.wait_for_text("[data-testid=email-address]", EMAIL)
        .await?;

    // Both devices are listed, this one marked; the CLI's is the other.
    app.wait_for_text("[data-testid=session][data-current=true]", "This device")
        .await?;
    app.wait_for_text("[data-testid=session]:not([data-current])", "jeco-cli/")
        .await?;
    app.screenshot(&screenshots.join("account-security.png"))
        .await?;

    // Signing the CLI out: its next call is refused.
    app.click(
        &app.wait_for("[data-testid=session]:not([data-current]) [data-testid=end-session]")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=sessions-note]", "That device is signed out.")
        .await?;
    let refused = jeco(cli.path(), &url, &["sessions"], None);
    ensure!(
        !refused.success,
        "the signed-out CLI still works: {refused:?}"
    );
    app.click(
        &app.wait_for("[data-testid=profile-dialog] [aria-label=Close]")
            .await?,
    )
    .await?;

    // The CLI signs in again and signs out every other device: this app's socket closes (4008)
    // and it goes back to its sign-in screen, saying why.
    jeco_ok(cli.path(), &url, &["login", USERNAME])?;
    jeco_ok(cli.path(), &url, &["sign-out-others"])?;
    app.wait_for_text("[data-testid=form-error]", "You were signed out")
        .await?;
    app.wait_for_text("h1", "Welcome back").await?;

    // Forgot password: ask by username, paste the token from the newest mail, set a new one.
    app.click(&app.wait_for("[data-testid=forgot-password]").await?)
        .await?;
    app.fill(&app.wait_for("#reset-login").await?, USERNAME)
        .await?;
    app.click(&app.wait_for("[data-testid=reset-request]").await?)
        .await?;
    app.wait_for_text("[data-testid=reset-sent]", "If an account matches")
        .await?;
    let mail = nth_mail_to(&mail_dir, EMAIL, 2).await?;
    let token = token_in(&mail)?;
    app.fill(&app.wait_for("#reset-token").await?, &token)
        .await?;
    app.fill(&app.wait_for("#reset-password").await?, NEW_PASSWORD)
        .await?;
    app.fill(&app.wait_for("#reset-repeat").await?, NEW_PASSWORD)
        .await?;
    app.screenshot(&screenshots.join("forgot-password.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=reset-confirm]").await?)
        .await?;
    app.wait_for_text("[data-testid=welcome]", &format!("Welcome, {USERNAME}!"))
        .await?;

    // The reset ended the CLI's session too, and only the new password signs in.
    let refused = jeco(cli.path(), &url, &["sessions"], None);
    ensure!(!refused.success, "the CLI outlived the reset: {refused:?}");
    let check = jeco_client::Client::builder(&url).build()?;
    let old = check.login(USERNAME, PASSWORD).await;
    ensure!(
        matches!(
            &old,
            Err(jeco_client::ClientError::Api(
                jeco_client::ApiError::Server {
                    code: jeco_shared::ErrorCode::InvalidCredentials,
                    ..
                }
            ))
        ),
        "the old password should be refused as wrong: {old:?}"
    );
    check.login(USERNAME, NEW_PASSWORD).await?;

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// Waits until the dev mailer has written the `n`th mail to `to` (files are named in the order
/// they were written), and returns it.
async fn nth_mail_to(dir: &Path, to: &str, n: usize) -> Result<String> {
    let header = format!("To: {to}\r\n");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        let mails: Vec<String> = paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|text| text.contains(&header))
            .collect();
        if let Some(mail) = mails.into_iter().nth(n - 1) {
            return Ok(mail);
        }
        ensure!(
            Instant::now() < deadline,
            "no mail #{n} to {to} in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The 6 digits of a verification mail ("Your verification code is 123456.").
fn code_in(mail: &str) -> Result<String> {
    let at = mail.find("code is ").context("not a code mail")? + "code is ".len();
    let code = mail.get(at..at + 6).context("a short mail")?;
    ensure!(code.bytes().all(|b| b.is_ascii_digit()), "no code: {code}");
    Ok(code.to_owned())
}

/// The token of a password-reset mail (its "Token: …" line).
fn token_in(mail: &str) -> Result<String> {
    Ok(mail
        .lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .context("not a reset mail")?
        .trim()
        .to_owned())
}
