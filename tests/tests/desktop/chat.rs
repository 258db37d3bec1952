//! Chatting in the desktop app with someone on the `jeco` CLI: a message typed in a terminal shows
//! up in the app, the app's answer reaches the terminal, and a picture sent from the terminal is
//! shown in the app — through one real server.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_testkit::server::TestServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_with_a_cli_user() -> Result<()> {
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
    let cli = tempfile::tempdir()?;
    let (driver, app) =
        launch(&prereqs, &url, data_dir.path(), "e2e-tauri-driver-chat.log").await?;

    // The desktop user signs up in the app.
    register_in_app(&app, "desk").await?;

    // Carol, in a terminal, writes to them.
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "carol"])?;
    run(&["dm", "desk"])?;
    run(&["send", "@desk", "hello from the terminal"])?;

    // It shows up in the app; the app answers.
    app.wait_for_text("[data-testid=conversation]", "@carol")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "hello from the terminal")
        .await?;
    app.fill(
        &app.wait_for("[data-testid=composer]").await?,
        "hi carol, from the app",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=send]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "hi carol, from the app")
        .await?;
    // Carol sends a picture: the app shows it (from its thumbnail, through the media cache).
    let picture = jeco_e2e::workspace_root().join("tests/fixtures/gradient.png");
    run(&[
        "send",
        "@desk",
        "a picture",
        "--file",
        picture.to_str().unwrap_or_default(),
    ])?;
    app.wait_for("[data-testid=attachment-image]").await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("chat.png")).await?;
    // The same screen in the dark theme; then back, so later runs start light.
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=dark]")
            .await?,
    )
    .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("chat-dark.png")).await?;
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=system]")
            .await?,
    )
    .await?;

    // And reaches the terminal.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = run(&["--json", "history", "@desk"])?;
        if history.contains("hi carol, from the app") {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the app's answer never reached the CLI: {history}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
