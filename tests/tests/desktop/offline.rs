//! The app without its server: started while the server is down, it opens straight onto the
//! cached conversations, reads and searches their history, and keeps a message written offline;
//! when the server comes back (same address, same data) the message is delivered exactly once.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{Driver, prerequisites, register_in_app};
use jeco_e2e::process::{ServerProcess, jeco_ok};
use jeco_e2e::webdriver::Session;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_offline_read_search_and_send_later() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    let server_dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(server_dir.path(), &[]);
    let url = server.url();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver-offline.log");
    let driver = Driver::start(
        &prereqs,
        &[
            ("JECO_DESKTOP_SERVER", Path::new(&url)),
            ("JECO_DESKTOP_DATA_DIR", data_dir.path()),
        ],
        &log,
    )
    .await?;
    let capabilities = Driver::capabilities(&prereqs.app);
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);

    // Online first: the app user signs up and reads a conversation with a CLI user.
    let app = Session::start(&driver.url, capabilities.clone()).await?;
    register_in_app(&app, "olivia").await?;
    run(&["register", "carl"])?;
    run(&["dm", "olivia"])?;
    run(&["send", "@olivia", "the launch moves to thursday"])?;
    run(&["send", "@olivia", "bring the quarterly slides"])?;
    app.wait_for_text("[data-testid=conversation]", "@carl")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "bring the quarterly slides")
        .await?;
    app.quit().await?;

    // The server goes away; the app starts anyway, signed in, on its cache.
    server.stop();
    let app = Session::start(&driver.url, capabilities).await?;
    app.wait_for("[data-testid=offline-banner]").await?;
    app.wait_for_text("[data-testid=conversation]", "@carl")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "the launch moves to thursday")
        .await?;

    // Search works from the cache, as you type (no button: a pause in typing runs it), and a hit
    // opens the conversation at its message.
    app.click(&app.wait_for("[data-testid=open-search]").await?)
        .await?;
    app.fill(
        &app.wait_for("[data-testid=search-panel] input[type=search]")
            .await?,
        "quarterly sli",
    )
    .await?;
    app.wait_for_text("[data-testid=search-hit]", "bring the quarterly slides")
        .await?;
    app.screenshot(&screenshots.join("offline.png")).await?;
    app.click(&app.wait_for("[data-testid=search-hit]").await?)
        .await?;
    app.wait_for_text("[data-highlighted]", "bring the quarterly slides")
        .await?;

    // A message written offline is kept, marked pending.
    app.fill(
        &app.wait_for("[data-testid=composer]").await?,
        "written on the train",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=send]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "written on the train")
        .await?;
    app.wait_for("[data-testid=pending]").await?;

    // The server comes back at the same address: the app reconnects by itself (backoff is capped
    // at 30 s) and the message is delivered, once.
    server.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let history = run(&["--json", "history", "@olivia"])?;
        let page: serde_json::Value = serde_json::from_str(&history)?;
        let copies = page["items"]
            .as_array()
            .context("history has items")?
            .iter()
            .filter(|m| m["text"] == "written on the train")
            .count();
        ensure!(copies <= 1, "delivered {copies} times: {history}");
        if copies == 1 {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the offline message never reached the server: {history}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // And the app shows it as sent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.find("[data-testid=pending]").await?.is_some() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the message stays pending in the app after delivery"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(
        app.find("[data-testid=offline-banner]").await?.is_none(),
        "the offline banner is still shown once live"
    );

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop();
    Ok(())
}
