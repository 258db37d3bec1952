//! The window comes back the way it was left: resized, then ended with SIGTERM (what a session
//! logout or `kill` sends), then started again at the size it had. The app turns the signal into
//! an orderly quit, which is when the window state is written.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{Driver, app_pid, launch_with, prerequisites, terminate_app};
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::path::Path;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_size_survives_a_restart() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let server = TestServer::start().await;
    let data_dir = tempfile::tempdir()?;
    // The app's default rendering: on a machine without a GPU render node (like CI's) it paints
    // without compositing, which the log says.
    let (driver, app) = launch_with(
        &prereqs,
        server.base(),
        data_dir.path(),
        "e2e-tauri-driver-window.log",
        &[("JECO_DESKTOP_GPU", Path::new("auto"))],
    )
    .await?;
    app.wait_for_text("h1", "Create your account").await?;
    let has_gpu = std::fs::read_dir("/dev/dri").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    let log = std::fs::read_to_string(jeco_e2e::target_dir().join("e2e-tauri-driver-window.log"))?;
    let expected = format!("composite={has_gpu}");
    ensure!(
        log.lines()
            .any(|l| l.contains("web view compositing") && strip_ansi(l).contains(&expected)),
        "the app's log should say `{expected}` (GPU render node: {has_gpu})"
    );

    // A size unlike the default (tauri.conf.json), so a restart at the default cannot pass.
    let (_, _, width, height) = app.window_rect().await?;
    let wanted = if width == 900 {
        (1010, 700)
    } else {
        (900, 640)
    };
    app.set_window_size(wanted.0, wanted.1).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let resized = loop {
        let (_, _, w, h) = app.window_rect().await?;
        if (w, h) != (width, height) || Instant::now() > deadline {
            break (w, h);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(
        resized != (width, height),
        "the window did not resize from {width}×{height}"
    );

    // SIGTERM: the app quits in order and writes its window state.
    terminate_app(app_pid(&prereqs.app)?).await?;
    let saved = std::fs::read_to_string(data_dir.path().join("window-state.json"))
        .context("no window-state.json after the app quit")?;
    let saved: serde_json::Value = serde_json::from_str(&saved)?;
    ensure!(
        saved["main"]["width"].as_i64().is_some_and(|w| w > 0),
        "no size for the main window in {saved}"
    );
    let _ = app.quit().await; // the session ended with the app

    // Started again: the same size, not the default.
    let app = Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;
    app.wait_for_text("h1", "Create your account").await?;
    let (_, _, w, h) = app.window_rect().await?;
    ensure!(
        (w, h) == resized,
        "the window came back at {w}×{h}, not {}×{} (saved: {saved})",
        resized.0,
        resized.1
    );
    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// The log line without its colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
