//! Issue 16's Administration panel in the app: a server admin (the server's bootstrap admin)
//! signs in, opens the panel, finds a second account made over the API, deactivates it after the
//! confirmation (the API then shows it deactivated and refuses its sign-in), reactivates it (it
//! signs in again) and makes it an admin (the API shows the flag); then the panel at 640×480 in
//! the dark theme fits the window and scrolls. Screenshots `admin-panel.png` and
//! `admin-panel-640x480-dark.png`.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch, prerequisites};
use jeco_shared::admin::AdminUser;
use jeco_shared::auth::{LoginRequest, RegisterRequest, TokenResponse};
use jeco_shared::endpoints::{AdminGetUser, Endpoint, Login, Register};
use jeco_shared::{API_PREFIX, UserId};
use jeco_testkit::server::TestServer;
use std::time::{Duration, Instant};

const ADMIN: &str = "root";
const PASSWORD: &str = "a long enough password";
const OTHER: &str = "wanda";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_deactivates_reactivates_and_promotes_an_account() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let server = TestServer::start_with(|config| {
        config.auth_rate_burst = 100;
        config.admin_username = Some(ADMIN.into());
        config.admin_password = Some(jeco_server::Secret::new(PASSWORD));
    })
    .await;
    let url = server.base().to_owned();
    let http = reqwest::Client::new();

    // The second account, made over the API as anyone would.
    let wanda = post::<Register>(
        &http,
        &url,
        &RegisterRequest {
            username: OTHER.into(),
            password: PASSWORD.into(),
            display_name: Some("Wanda Maximoff".into()),
        },
    )
    .await?;
    let jeco_shared::two_factor::SignInOutcome::SignedIn(wanda) = wanda else {
        anyhow::bail!("registering {OTHER} asked for two-factor: {wanda:?}");
    };
    let wanda = wanda.user;

    let data_dir = tempfile::tempdir()?;
    let (driver, app) = launch(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-admin.log",
    )
    .await?;

    // Sign in as the server's admin: the Administration entry is there for them.
    app.click(&app.wait_for("[data-testid=tab-login]").await?)
        .await?;
    app.fill(&app.wait_for("#username").await?, ADMIN).await?;
    app.fill(&app.wait_for("#password").await?, PASSWORD)
        .await?;
    app.click(&app.wait_for("[data-testid=submit]").await?)
        .await?;
    app.wait_for("[data-testid=signed-in]").await?;
    app.click(&app.wait_for("[data-testid=open-admin]").await?)
        .await?;
    app.wait_for("[data-testid=admin-panel]").await?;

    // Find Wanda by a prefix of her name.
    app.fill(&app.wait_for("#admin-search").await?, "wan")
        .await?;
    let row = "[data-testid=admin-account][data-username=wanda]";
    app.wait_for_text(row, "Wanda Maximoff").await?;
    // The unfiltered list shows first; the search's answer leaves root out.
    wait_gone(&app, "[data-testid=admin-account][data-username=root]").await?;
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-manage]"))
            .await?,
    )
    .await?;

    // Deactivate: nothing happens before the confirmation.
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-deactivate]"))
            .await?,
    )
    .await?;
    app.wait_for_text(
        &format!("{row} [data-testid=admin-confirm]"),
        "Deactivate @wanda?",
    )
    .await?;
    ensure!(
        !admin_view(&http, &url, wanda.id).await?.user.deactivated,
        "deactivated before the confirmation"
    );
    app.screenshot(&screenshots.join("admin-panel.png")).await?;
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-confirm-button]"))
            .await?,
    )
    .await?;
    app.wait_for_text(
        &format!("{row} [data-testid=admin-note]"),
        "@wanda is deactivated and signed out everywhere.",
    )
    .await?;
    app.wait_for_text(
        &format!("{row} [data-testid=badge-deactivated]"),
        "Deactivated",
    )
    .await?;
    ensure!(
        admin_view(&http, &url, wanda.id).await?.user.deactivated,
        "the API does not show wanda deactivated"
    );
    let refused = login(&http, &url, OTHER).await?;
    ensure!(
        refused.status() == reqwest::StatusCode::FORBIDDEN,
        "a deactivated account signed in: {}",
        refused.status()
    );
    let body: serde_json::Value = refused.json().await?;
    ensure!(
        body["error"]["code"] == "account_deactivated",
        "refused with {body}"
    );

    // Reactivate: she signs in again.
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-reactivate]"))
            .await?,
    )
    .await?;
    app.wait_for_text(
        &format!("{row} [data-testid=admin-note]"),
        "@wanda can sign in again.",
    )
    .await?;
    ensure!(
        !admin_view(&http, &url, wanda.id).await?.user.deactivated,
        "the API still shows wanda deactivated"
    );
    let back = login(&http, &url, OTHER).await?;
    ensure!(
        back.status().is_success(),
        "wanda cannot sign in again: {}",
        back.status()
    );

    // Make her an admin.
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-grant]"))
            .await?,
    )
    .await?;
    app.wait_for_text(
        &format!("{row} [data-testid=admin-note]"),
        "@wanda is now a server admin.",
    )
    .await?;
    app.wait_for_text(&format!("{row} [data-testid=badge-admin]"), "Admin")
        .await?;
    ensure!(
        admin_view(&http, &url, wanda.id).await?.user.is_admin,
        "the API does not show wanda as an admin"
    );

    // The smallest supported window, dark: the panel fits and its body scrolls.
    app.click(
        &app.wait_for("[data-testid=admin-panel] button[aria-label=Close]")
            .await?,
    )
    .await?;
    ensure!(
        app.find("[data-testid=admin-panel]").await?.is_none(),
        "the panel is still open"
    );
    app.set_window_size(640, 480).await?;
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=dark]")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=open-admin]").await?)
        .await?;
    app.fill(&app.wait_for("#admin-search").await?, "wan")
        .await?;
    wait_gone(&app, "[data-testid=admin-account][data-username=root]").await?;
    app.click(
        &app.wait_for(&format!("{row} [data-testid=admin-manage]"))
            .await?,
    )
    .await?;
    app.wait_for(&format!("{row} [data-testid=admin-set-password]"))
        .await?;
    app.settle().await?;
    let fits = app
        .execute(
            "const r = document.querySelector('[data-testid=admin-panel]').getBoundingClientRect();\
             const b = document.querySelector('[data-testid=admin-panel] .dialog-body');\
             return r.left >= 0 && r.right <= innerWidth && r.bottom <= innerHeight\
               && document.documentElement.scrollWidth <= innerWidth\
               && b.scrollHeight > b.clientHeight;",
            serde_json::json!([]),
        )
        .await?;
    ensure!(
        fits == serde_json::json!(true),
        "the panel does not fit 640x480 with a scrolling body"
    );
    app.screenshot(&screenshots.join("admin-panel-640x480-dark.png"))
        .await?;

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

fn endpoint_url<E: Endpoint>(server: &str, params: &E::Params) -> String {
    format!("{server}{API_PREFIX}{}", E::path(params))
}

async fn post<E: Endpoint<Params = ()>>(
    http: &reqwest::Client,
    server: &str,
    body: &E::Request,
) -> Result<E::Response> {
    let res = http
        .post(endpoint_url::<E>(server, &()))
        .json(body)
        .send()
        .await?;
    ensure!(res.status().is_success(), "{}: {}", E::PATH, res.status());
    Ok(res.json().await?)
}

/// A sign-in attempt, answered as is.
async fn login(http: &reqwest::Client, server: &str, username: &str) -> Result<reqwest::Response> {
    Ok(http
        .post(endpoint_url::<Login>(server, &()))
        .json(&LoginRequest {
            username: username.into(),
            password: PASSWORD.into(),
        })
        .send()
        .await?)
}

/// The account as the admin API shows it, asked with a fresh admin session.
async fn admin_view(http: &reqwest::Client, server: &str, id: UserId) -> Result<AdminUser> {
    let res = login(http, server, ADMIN).await?;
    ensure!(
        res.status().is_success(),
        "the admin cannot sign in: {}",
        res.status()
    );
    let tokens: TokenResponse = res.json().await?;
    let res = http
        .get(endpoint_url::<AdminGetUser>(server, &(id,)))
        .bearer_auth(&tokens.access_token)
        .send()
        .await?;
    ensure!(
        res.status().is_success(),
        "admin user view: {}",
        res.status()
    );
    res.json().await.context("an AdminUser")
}

/// Waits until nothing matches `css` (an answer replaced what was shown).
async fn wait_gone(app: &jeco_e2e::webdriver::Session, css: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.find(css).await?.is_some() {
        ensure!(Instant::now() < deadline, "{css} is still shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
