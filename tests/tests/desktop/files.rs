//! Images and files sent by a `jeco` CLI user, in the app: a click on an image opens the viewer,
//! → / ← and its side buttons walk through the conversation's images, + zooms (its tooltip goes
//! with the click), Copy puts the picture on the clipboard (read back as a PNG by `xclip`), Esc
//! closes it; a file is saved where the Save-as dialog says and opened with the system's default
//! application.
//!
//! Two things here are stand-ins, because they are other programs: the native Save-as dialog
//! (WebDriver cannot drive it) answers with the path in `JECO_E2E_SAVE_AS`, and the system opener
//! is a fake `xdg-open` first in the app's `PATH` that records what it was given. Everything
//! between them and the click is the real app. Screenshots: `image-viewer.png`,
//! `image-viewer-tooltip.png`.

use anyhow::{Result, ensure};
use base64::Engine as _;
use jeco_e2e::desktop::{launch_with, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::{Session, keys};
use jeco_testkit::server::TestServer;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Two small solid-colour PNGs (160×120: red, green).
const PNGS: [(&str, &str); 2] = [
    (
        "red.png",
        "iVBORw0KGgoAAAANSUhEUgAAAKAAAAB4CAIAAAD6wG44AAAAzklEQVR42u3RAQ0AAAzCMIThX8XF3AdpMgVrrtVwsQCwAAuwAAuwAAswYAEWYAEWYAEWYMACLMACLMACLMACDFiABViABViABRiwAAuwAAuwAAswYAEWYAEWYAEWYAEGLMACLMACLMACDFiABViABViABRiwC4AFWIAFWIAFWIABC7AAC7AAC7AAAxZgARZgARZgARZgwAIswAIswAIswIAFWIAFWIAFWIABC7AAC7AAC7AACzBgARZgARZgARZgwAIswAIswAIswIBdWO4Bc9ChzoQTp3cAAAAASUVORK5CYII=",
    ),
    (
        "green.png",
        "iVBORw0KGgoAAAANSUhEUgAAAKAAAAB4CAIAAAD6wG44AAAAzklEQVR42u3RAQ0AAAjDsAtDCeqQio+nyRSsmVsVFwsAC7AAC7AAC7AAAxZgARZgARZgAQYswAIswAIswAIswIAFWIAFWIAFWIABC7AAC7AAC7AAAxZgARZgARZgARZgwAIswAIswAIswIAFWIAFWIAFWIABuwBYgAVYgAVYgAUYsAALsAALsAALMGABFmABFmABFmABBizAAizAAizAAgxYgAVYgAVYgAUYsAALsAALsAALsAADFmABFmABFmABBizAAizAAizAAgzYheYeXLbXR1sm078AAAAASUVORK5CYII=",
    ),
];

/// Writes a PNG larger than any window (2400×1600, blue) with python3 (zlib and crc32 are in its
/// standard library; a constant would be large even compressed).
fn big_png(path: &Path) -> Result<()> {
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import struct, sys, zlib\n\
             w, h = 2400, 1600\n\
             raw = (b'\\x00' + bytes((40, 80, 200)) * w) * h\n\
             def chunk(t, d):\n    \
                 return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n\
             png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) \
                 + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')\n\
             open(sys.argv[1], 'wb').write(png)\n",
        )
        .arg(path)
        .status()?;
    ensure!(
        status.success(),
        "python3 could not write {}",
        path.display()
    );
    Ok(())
}

/// A directory holding an `xdg-open` that records what it was asked to open in `opened.txt`
/// instead of starting an application; returns the `PATH` to give the app and that file.
fn fake_opener(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let opened = dir.join("opened.txt");
    let script = bin.join("xdg-open");
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

/// The viewer's "n of m", once it says `expected`.
async fn wait_for_position(app: &Session, expected: &str) -> Result<()> {
    app.wait_for_text("[data-testid=viewer-position]", expected)
        .await
        .map(drop)
}

/// The name of the image the viewer shows.
async fn shown_image(app: &Session) -> Result<String> {
    let img = app.wait_for("[data-testid=viewer-image]").await?;
    Ok(app.attribute(&img, "alt").await?.unwrap_or_default())
}

/// Waits until `check` holds for the file at `path` (the app writes it after the click returns).
async fn wait_for_file(path: &Path, check: impl Fn(&str) -> bool, what: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if check(&text) {
            return Ok(text);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{what} never happened ({} holds {text:?})",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_viewer_save_as_and_open_with_the_default_application() -> Result<()> {
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
    let work = tempfile::tempdir()?;
    let (path, opened) = fake_opener(work.path())?;
    let save_as = work.path().join("chosen").join("minutes-copy.txt");
    std::fs::create_dir_all(save_as.parent().unwrap_or(work.path()))?;
    let (driver, app) = launch_with(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-files.log",
        &[
            ("PATH", path.as_path()),
            ("JECO_E2E_SAVE_AS", save_as.as_path()),
        ],
    )
    .await?;
    register_in_app(&app, "viewer").await?;

    // A terminal user sends three pictures (two in one message) and a text file.
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "dana"])?;
    run(&["dm", "viewer"])?;
    let mut files = Vec::new();
    for (name, png) in PNGS {
        let file = work.path().join(name);
        std::fs::write(
            &file,
            base64::engine::general_purpose::STANDARD.decode(png)?,
        )?;
        files.push(file.display().to_string());
    }
    let blue = work.path().join("blue.png");
    big_png(&blue)?;
    files.push(blue.display().to_string());
    run(&[
        "send",
        "@viewer",
        "two shots",
        "--file",
        &files[0],
        "--file",
        &files[1],
    ])?;
    run(&["send", "@viewer", "and one more", "--file", &files[2]])?;
    let minutes = work.path().join("minutes.txt");
    std::fs::write(&minutes, "minutes of the meeting\n")?;
    run(&[
        "send",
        "@viewer",
        "the minutes",
        "--file",
        &minutes.display().to_string(),
    ])?;

    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "@dana")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=timeline]", "the minutes")
        .await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = app
            .execute(
                "return document.querySelectorAll('[data-testid=open-image]').length;",
                json!([]),
            )
            .await?;
        if n == json!(3) {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the three images never showed ({n} did)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A click on the first picture opens it in the viewer.
    app.click(&app.wait_for("[aria-label='Open red.png']").await?)
        .await?;
    app.wait_for("[data-testid=image-viewer]").await?;
    wait_for_position(&app, "1 of 3").await?;
    ensure!(shown_image(&app).await? == "red.png");
    app.settle().await?;
    app.screenshot(&screenshots.join("image-viewer.png"))
        .await?;
    // The tools' tooltips are the app's own: up after the pointer rests on a button, gone with
    // the click (native ones stayed up over whatever the click opened).
    let zoom_in = app.wait_for("[aria-label='Zoom in']").await?;
    app.hover(&zoom_in).await?;
    app.wait_for_text("[role=tooltip]", "Zoom in (+)").await?;
    app.screenshot(&screenshots.join("image-viewer-tooltip.png"))
        .await?;
    app.click(&zoom_in).await?;
    app.wait_for_text("[data-testid=viewer-zoom]", "150%")
        .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    ensure!(
        app.find("[role=tooltip]").await?.is_none(),
        "the tooltip stayed up after the click"
    );
    app.press("0").await?;
    app.wait_for_text("[data-testid=viewer-zoom]", "Fit")
        .await?;

    // Copy puts the picture itself on the clipboard: a PNG of the image's size, read back by
    // another X client (xclip) as a pasting application would. (The web view's own paste does
    // not hand images to pages, so the composer cannot be the reader.)
    app.click(&app.wait_for("[aria-label=Copy]").await?).await?;
    app.wait_for_text("[data-testid=viewer-note]", "Copied to the clipboard")
        .await?;
    let pasted = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-t", "image/png", "-o"])
        .output()?;
    ensure!(
        pasted.status.success() && pasted.stdout.starts_with(b"\x89PNG\r\n\x1a\n"),
        "no PNG on the clipboard: {}",
        String::from_utf8_lossy(&pasted.stderr)
    );
    // IHDR: width and height, big-endian, right after the signature and the chunk header.
    let size = |at: usize| {
        pasted
            .stdout
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    ensure!(
        (size(16), size(20)) == (Some(160), Some(120)),
        "the clipboard holds another picture ({:?}×{:?})",
        size(16),
        size(20)
    );

    // → and the next button go forward, ← back; at the end there is no further.
    app.press(keys::ARROW_RIGHT).await?;
    wait_for_position(&app, "2 of 3").await?;
    ensure!(shown_image(&app).await? == "green.png");
    app.click(&app.wait_for("[data-testid=viewer-next]").await?)
        .await?;
    wait_for_position(&app, "3 of 3").await?;
    ensure!(shown_image(&app).await? == "blue.png");
    // Larger than the window, it is fitted into it whole.
    let fits = app
        .execute(
            "const img = document.querySelector('[data-testid=viewer-image]');\
             const r = img.getBoundingClientRect();\
             return img.complete && r.width > 0 && r.right <= window.innerWidth \
               && r.bottom <= window.innerHeight && r.left >= 0 && r.top >= 0;",
            json!([]),
        )
        .await?;
    ensure!(
        fits == json!(true),
        "the 2400×1600 image is not fitted to the window"
    );
    app.press(keys::ARROW_RIGHT).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_for_position(&app, "3 of 3").await?;
    app.press(keys::ARROW_LEFT).await?;
    wait_for_position(&app, "2 of 3").await?;

    // Esc closes it, back to the conversation.
    app.press(keys::ESCAPE).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.find("[data-testid=image-viewer]").await?.is_some() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "Esc did not close the viewer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.wait_for_text("[data-testid=timeline]", "the minutes")
        .await?;

    // Save…: the Save-as dialog's answer (the stand-in) is where the file goes.
    app.click(&app.wait_for("[data-testid=save-file]").await?)
        .await?;
    app.wait_for_text("[data-testid=file-note]", "Saved to")
        .await?;
    let saved = std::fs::read_to_string(&save_as)?;
    ensure!(
        saved == "minutes of the meeting\n",
        "the saved file holds {saved:?}"
    );

    // Open: the system opener gets a file named as it was sent, with its content.
    app.click(&app.wait_for("[data-testid=open-file]").await?)
        .await?;
    let lines = wait_for_file(&opened, |t| !t.is_empty(), "opening the file").await?;
    let target = PathBuf::from(lines.lines().next().unwrap_or_default());
    ensure!(
        target.file_name().is_some_and(|n| n == "minutes.txt"),
        "the opener got {target:?}, not a file named minutes.txt"
    );
    ensure!(
        std::fs::read_to_string(&target)? == "minutes of the meeting\n",
        "the opened file does not hold the attachment"
    );

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// Without the stand-in, Save… shows the real native Save-as dialog (a GTK window titled "Save
/// as"); closing it is a cancel, which saves nothing and says nothing. The dialog starts in
/// `~/Downloads`, which the app creates when it is missing (a home without XDG user dirs, like the
/// test's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_shows_the_native_save_as_dialog_and_a_cancel_saves_nothing() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    // The app's HOME: the script's throwaway one, else one of our own.
    let home = std::env::var_os(jeco_e2e::desktop::ENV_HOME)
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("home"));
    std::fs::create_dir_all(&home)?;
    let downloads = home.join("Downloads");
    let _ = std::fs::remove_dir_all(&downloads);
    let (driver, app) = launch_with(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-save-as.log",
        &[("HOME", home.as_path())],
    )
    .await?;
    register_in_app(&app, "saver").await?;
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "erin"])?;
    run(&["dm", "saver"])?;
    let notes = work.path().join("notes.txt");
    std::fs::write(&notes, "notes\n")?;
    run(&[
        "send",
        "@saver",
        "the notes",
        "--file",
        &notes.display().to_string(),
    ])?;
    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "@erin")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=save-file]").await?)
        .await?;

    let deadline = tokio::time::Instant::now() + WAIT;
    let dialog = loop {
        if let Ok(id) = jeco_e2e::x11::window_id("Save as") {
            break id;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "no Save-as dialog appeared"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(
        downloads.is_dir(),
        "the dialog should start in {}, which was not made",
        downloads.display()
    );
    app.wait_for_text("[data-testid=file-note]", "Saving…")
        .await?;

    // Closed without choosing: nothing saved, nothing to say.
    jeco_e2e::x11::close(&dialog)?;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.find("[data-testid=file-note]").await?.is_some() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the app still says it is saving after the dialog was closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        std::fs::read_dir(&downloads)?.next().is_none(),
        "a cancelled Save-as wrote into {}",
        downloads.display()
    );

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}
