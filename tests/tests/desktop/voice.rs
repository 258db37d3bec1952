//! A voice note recorded in the desktop app reaches a `jeco` CLI user as a voice attachment with
//! its length, and plays in the app. The app's microphone is ALSA's file plugin and its speakers
//! the null device, from the `.asoundrc` in the home `scripts/e2e-desktop.sh` gives it: both run
//! faster than real time, so the recording reaches its length limit (4 s here) at once and plays
//! back in a moment — the real cpal, Opus and rodio paths all the same.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{Driver, ENV_HOME, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_send_and_play_a_voice_note() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    ensure!(
        std::env::var_os(ENV_HOME).is_some(),
        "{ENV_HOME} is not set: run through scripts/e2e-desktop.sh, which gives the app a \
         microphone and speakers through ALSA"
    );
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver-voice.log");
    let driver = Driver::start(
        &prereqs,
        &[
            ("JECO_DESKTOP_SERVER", Path::new(&url)),
            ("JECO_DESKTOP_DATA_DIR", data_dir.path()),
            // As long as the tone the script made: after it, the file plugin gives silence.
            ("JECO_DESKTOP_VOICE_MAX_SECONDS", Path::new("4")),
        ],
        &log,
    )
    .await?;
    let app = Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;

    register_in_app(&app, "vox").await?;

    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "carol"])?;
    run(&["dm", "vox"])?;
    run(&["send", "@vox", "send me a voice note?"])?;
    app.wait_for_text("[data-testid=conversation]", "@carol")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "send me a voice note?")
        .await?;

    // Record: the meter and the timer run (here the file plugin fills the 4 seconds at once, so
    // the limit stops the recording by itself), then Send.
    app.click(&app.wait_for("[aria-label='Record a voice note']").await?)
        .await?;
    app.wait_for("[data-testid=voice-recorder]").await?;
    app.wait_for_text("[data-testid=voice-recorder]", "Maximum length reached")
        .await?;
    app.wait_for_text("[data-testid=voice-timer]", "0:04")
        .await?;
    app.click(&app.wait_for("[data-testid=voice-send]").await?)
        .await?;

    // Carol's history shows a voice attachment with its length and waveform.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let voice = loop {
        let history: serde_json::Value =
            serde_json::from_str(&run(&["--json", "history", "@vox"])?)?;
        let found = history["items"].as_array().and_then(|items| {
            items
                .iter()
                .flat_map(|i| i["attachments"].as_array().cloned().unwrap_or_default())
                .find(|a| a["kind"] == "voice")
        });
        if let Some(voice) = found {
            break voice;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no voice note reached the CLI: {history}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let duration = voice["duration_ms"].as_u64().context("no duration_ms")?;
    ensure!(duration > 0, "the voice note has no length: {voice}");
    ensure!(duration <= 4_000, "longer than the limit: {voice}");
    ensure!(voice["content_type"] == "audio/ogg", "{voice}");
    let waveform = voice["waveform"].as_array().context("no waveform")?;
    ensure!(!waveform.is_empty() && waveform.len() <= 256, "{voice}");
    // The tone goes on and off every quarter second: loud and quiet bars.
    let loud = waveform.iter().filter(|p| p.as_u64() > Some(128)).count();
    ensure!(
        loud > 0 && loud < waveform.len(),
        "a flat waveform: {voice}"
    );

    // The app shows the player and plays the note: its progress advances.
    app.wait_for("[data-testid=voice-player]").await?;
    app.wait_for_text("[data-testid=voice-time]", "0:04")
        .await?;
    app.click(&app.wait_for("[data-testid=voice-play]").await?)
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let progress = app.wait_for("[data-testid=voice-progress]").await?;
        let now: u64 = app
            .attribute(&progress, "aria-valuenow")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if now > 0 {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the voice note's progress never moved from 0"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.settle().await?;
    app.screenshot(&screenshots.join("voice.png")).await?;

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
