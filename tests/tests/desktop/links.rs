//! Message formatting and links, with a `jeco` CLI user: Markdown sent from the terminal shows
//! formatted in the app (bold, inline code, a link), a `javascript:` link is not a link, and a click
//! on a link reaches the system opener — a fake `xdg-open` first in the app's `PATH` that appends
//! its argument to a file — while the app's own page stays where it was. Screenshot of the
//! formatted message (`formatting.png`).

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch_with, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_testkit::server::TestServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const LINK: &str = "https://example.com/jeco-e2e?from=desktop";

/// A directory holding an `xdg-open` that records what it was asked to open in `opened.txt`
/// (next to it) instead of starting a browser; returns the `PATH` to give the app.
fn fake_opener(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let opened = dir.join("opened.txt");
    let script = bin.join("xdg-open");
    // An argument-less call (a launcher probe) records nothing.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ -n \"$1\" ] && printf '%s\\n' \"$1\" >> '{}'\nexit 0\n",
            opened.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let mut paths = vec![bin];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    Ok((std::env::join_paths(paths)?.into(), opened))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatted_message_and_a_link_opened_in_the_system_browser() -> Result<()> {
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
    let opener = tempfile::tempdir()?;
    let (path, opened) = fake_opener(opener.path())?;
    let (driver, app) = launch_with(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-links.log",
        &[("PATH", path.as_path())],
    )
    .await?;

    register_in_app(&app, "desk").await?;

    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "carol"])?;
    run(&["dm", "desk"])?;
    let text = format!(
        "**release notes** are up: {LINK} — run `jeco sync` first, not [this](javascript:alert(1))"
    );
    run(&["send", "@desk", &text])?;

    app.wait_for_text("[data-testid=conversation]", "@carol")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "release notes are up")
        .await?;

    // Formatted: bold, inline code, one link (the bare URL); the javascript: one is text.
    let shown = app
        .execute(
            "const t = [...document.querySelectorAll('[data-testid=timeline] [data-testid=message-text]')]\
               .find((e) => e.textContent.includes('release notes'));\
             return {\
               bold: t.querySelector('strong')?.textContent ?? null,\
               code: t.querySelector('code')?.textContent ?? null,\
               links: [...t.querySelectorAll('a')].map((a) => a.getAttribute('href')),\
               text: t.textContent,\
             };",
            json!([]),
        )
        .await?;
    ensure!(
        shown["bold"] == "release notes" && shown["code"] == "jeco sync",
        "the message is not formatted: {shown}"
    );
    ensure!(
        shown["links"] == json!([LINK]),
        "the message should have exactly the one web link: {shown}"
    );
    ensure!(
        shown["text"]
            .as_str()
            .is_some_and(|t| t.contains("[this](javascript:alert(1))")),
        "the javascript: link should show as typed: {shown}"
    );
    app.settle().await?;
    app.screenshot(&screenshots.join("formatting.png")).await?;

    // A click hands the link to the system opener; the app's page does not navigate.
    let page = app.execute("return location.href;", json!([])).await?;
    let link = app
        .wait_for("[data-testid=timeline] [data-testid=message-text] a.md-link")
        .await?;
    app.click(&link).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let lines = std::fs::read_to_string(&opened).unwrap_or_default();
        if lines.lines().any(|l| l == LINK) {
            ensure!(
                lines.lines().filter(|l| !l.is_empty()).count() == 1,
                "the opener was asked more than once: {lines:?}"
            );
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the system opener never got {LINK} (it got {lines:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = app.execute("return location.href;", json!([])).await?;
    ensure!(page == after, "the app's page navigated: {page} → {after}");
    let still: Value = app
        .execute(
            "return !!document.querySelector('[data-testid=timeline]');",
            json!([]),
        )
        .await?;
    ensure!(
        still == Value::Bool(true),
        "the chat view is gone after the click"
    );

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
