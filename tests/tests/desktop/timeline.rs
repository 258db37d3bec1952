//! The conversation view against a `jeco` CLI user through one real server: the app reacts to,
//! replies to, edits and deletes messages, and the CLI sees each change (`jeco --json history`);
//! a reply from the CLI makes a thread the app opens in its panel and answers in; a reaction comes
//! from the emoji picker; a pin shows in the pinned panel; the timeline follows a burst of new
//! messages down. Screenshots of the thread panel in light and dark themes, and of the pins.

use anyhow::{Context, Result, bail, ensure};
use jeco_e2e::desktop::{launch, prerequisites, register_in_app};
use jeco_e2e::process::{jeco, jeco_ok};
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Waits for a message to show and gives it focus.
async fn focus_message(app: &Session, id: i64) -> Result<()> {
    let selector = format!("article[data-message-id=\"{id}\"]");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = app
            .execute(
                "const el = document.querySelector(arguments[0]);\
                 if (!el) return false; el.focus(); return true;",
                json!([selector]),
            )
            .await?;
        if found == Value::Bool(true) {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "message {id} never showed in the app"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks one of a message's actions (by its accessible label): scrolled into view, pointed at
/// (its toolbar shows on hover, as for a person), then clicked.
pub(crate) async fn message_action(app: &Session, id: i64, label: &str) -> Result<()> {
    focus_message(app, id).await?;
    app.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'nearest'});",
        json!([format!("article[data-message-id=\"{id}\"]")]),
    )
    .await?;
    let article = app
        .wait_for(&format!("article[data-message-id=\"{id}\"]"))
        .await?;
    app.hover(&article).await?;
    let button = app
        .wait_for(&format!(
            "article[data-message-id=\"{id}\"] .actions button[aria-label=\"{label}\"]"
        ))
        .await?;
    app.click(&button).await
}

/// The CLI's view of the conversation with the app's user (it syncs first), polled until `check`
/// finds what it wants in one of the messages.
pub(crate) async fn history_until(
    cli: &Path,
    url: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let out = jeco(cli, url, &["--json", "history", "@desk"], None);
        ensure!(out.success, "jeco history failed: {out:?}");
        let history: Value = serde_json::from_str(&out.stdout).context("jeco --json history")?;
        let items = history["items"].as_array().cloned().unwrap_or_default();
        if let Some(found) = items.iter().find(|m| check(m)) {
            return Ok(found.clone());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the CLI never saw {what}: {history}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The CLI's view of the thread of `root` in the conversation with the app's user, polled until
/// `check` finds what it wants in one of its replies.
pub(crate) async fn thread_until(
    cli: &Path,
    url: &str,
    root: i64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let out = jeco(
            cli,
            url,
            &["--json", "thread", "@desk", &root.to_string()],
            None,
        );
        ensure!(out.success, "jeco thread failed: {out:?}");
        let thread: Value = serde_json::from_str(&out.stdout).context("jeco --json thread")?;
        let items = thread["items"].as_array().cloned().unwrap_or_default();
        if let Some(found) = items.iter().find(|m| check(m)) {
            return Ok(found.clone());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the CLI never saw {what} in the thread: {thread}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until the message with exactly `text` is wholly inside the timeline's viewport.
async fn in_view_at_bottom(app: &Session, screenshots: &Path, text: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // "ok", or where things were (for the failure message).
        let seen = app
            .execute(
                "const scroller = document.querySelector('[data-testid=timeline] [data-virtuoso-scroller]');\
                 const texts = [...document.querySelectorAll('[data-testid=timeline] [data-testid=message-text]')];\
                 const last = texts.find((t) => t.textContent === arguments[0]);\
                 if (!scroller || !last) return `scroller ${!!scroller}, message ${!!last}`;\
                 const s = scroller.getBoundingClientRect(), r = last.getBoundingClientRect();\
                 return r.top >= s.top - 1 && r.bottom <= s.bottom + 1 ? 'ok'\
                   : `message ${r.top}..${r.bottom}, viewport ${s.top}..${s.bottom}`;",
                json!([text]),
            )
            .await?;
        if seen == "ok" {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            app.screenshot(&screenshots.join("failed-follow-bottom.png"))
                .await?;
            bail!("{text:?} did not stay in view at the bottom: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn react_reply_edit_delete_and_a_thread_with_a_cli_user() -> Result<()> {
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
    let (driver, app) = launch(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-timeline.log",
    )
    .await?;

    register_in_app(&app, "desk").await?;

    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "carol"])?;
    run(&["dm", "desk"])?;
    run(&["send", "@desk", "shall we ship on Friday?"])?;
    run(&["send", "@desk", "and a second thought"])?;
    let root = history_until(cli.path(), &url, "the first message", |m| {
        m["text"] == "shall we ship on Friday?"
    })
    .await?;
    let root_id = root["id"].as_i64().context("message id")?;

    app.wait_for_text("[data-testid=conversation]", "@carol")
        .await?;
    app.click(&app.wait_for("[data-testid=conversation]").await?)
        .await?;
    app.wait_for_text("[data-testid=timeline]", "and a second thought")
        .await?;

    // React 👍 to Carol's message.
    message_action(&app, root_id, "React 👍").await?;
    app.wait_for(&format!(
        "article[data-message-id=\"{root_id}\"] [data-testid=reaction][aria-pressed=true]"
    ))
    .await?;
    history_until(cli.path(), &url, "the reaction", |m| {
        m["id"].as_i64() == Some(root_id)
            && m["reactions"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["emoji"] == "👍" && r["count"] == 1))
    })
    .await?;

    // Reply to it: the quote bar, then the message with the quoted parent.
    message_action(&app, root_id, "Reply").await?;
    app.wait_for_text("[data-testid=reply-bar]", "shall we ship on Friday?")
        .await?;
    app.fill(
        &app.wait_for("[data-testid=composer]").await?,
        "yes, Friday works",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=send]").await?)
        .await?;
    let reply = history_until(cli.path(), &url, "the reply", |m| {
        m["text"] == "yes, Friday works"
    })
    .await?;
    ensure!(
        reply["reply_to"].as_i64() == Some(root_id),
        "the reply does not reply to the root: {reply}"
    );
    let reply_id = reply["id"].as_i64().context("reply id")?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{reply_id}\"] [data-testid=reply-quote]"),
        "shall we ship on Friday?",
    )
    .await?;

    // Edit the reply.
    message_action(&app, reply_id, "Edit").await?;
    let composer = app.wait_for("[data-testid=composer]").await?;
    app.fill(&composer, "yes, Friday afternoon works").await?;
    app.click(&app.wait_for("[data-testid=send]").await?)
        .await?;
    history_until(cli.path(), &url, "the edit", |m| {
        m["id"].as_i64() == Some(reply_id)
            && m["text"] == "yes, Friday afternoon works"
            && !m["edited_at"].is_null()
    })
    .await?;
    app.wait_for_text("[data-testid=timeline]", "yes, Friday afternoon works")
        .await?;

    // Carol answers in the thread from her terminal; the app shows "2 replies" and opens it.
    run(&[
        "send",
        "@desk",
        "great, I will prepare the notes",
        "--reply-to",
        &root_id.to_string(),
    ])?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"),
        "2 replies",
    )
    .await?;
    app.click(
        &app.wait_for(&format!(
            "article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"
        ))
        .await?,
    )
    .await?;
    app.wait_for_text(
        "[data-testid=thread-panel]",
        "great, I will prepare the notes",
    )
    .await?;
    app.fill(
        &app.wait_for("[data-testid=thread-composer]").await?,
        "thanks, see you then",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=thread-send]").await?)
        .await?;
    // It stays in the thread (see `threads.rs`): the CLI finds it there.
    let threaded = thread_until(cli.path(), &url, root_id, "the thread answer", |m| {
        m["text"] == "thanks, see you then"
    })
    .await?;
    ensure!(
        threaded["reply_to"].as_i64() == Some(root_id),
        "the thread answer is not in the thread: {threaded}"
    );
    app.wait_for_text("[data-testid=thread-panel]", "thanks, see you then")
        .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("thread.png")).await?;
    // The thread's text box has room to write in (it was about 40 px wide at the default window,
    // the placeholder wrapping a letter or two a line).
    let width = app
        .execute(
            "return document.querySelector('[data-testid=thread-composer]').getBoundingClientRect().width;",
            json!([]),
        )
        .await?;
    ensure!(
        width.as_f64().is_some_and(|w| w >= 200.0),
        "the thread composer is {width} px wide"
    );
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=dark]")
            .await?,
    )
    .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("thread-dark.png")).await?;
    check_window_sizes(&app, &screenshots).await?;
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=system]")
            .await?,
    )
    .await?;

    // Delete the edited reply: the CLI sees it deleted.
    message_action(&app, reply_id, "Delete").await?;
    // It asks first; the message stays until the person says yes.
    app.wait_for_text("[data-testid=confirm-delete]", "Delete this message?")
        .await?;
    app.screenshot(&screenshots.join("delete-confirm.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=confirm-delete-button]").await?)
        .await?;
    history_until(cli.path(), &url, "the delete", |m| {
        m["id"].as_i64() == Some(reply_id) && m["deleted"] == true
    })
    .await?;

    // A reaction from the picker, found by name (Enter picks the first match).
    let second = history_until(cli.path(), &url, "the second message", |m| {
        m["text"] == "and a second thought"
    })
    .await?;
    let second_id = second["id"].as_i64().context("message id")?;
    message_action(&app, second_id, "Add reaction").await?;
    app.fill(
        &app.wait_for("[data-testid=emoji-picker] input").await?,
        "tada\u{E007}",
    )
    .await?;
    history_until(cli.path(), &url, "the picked reaction", |m| {
        m["id"].as_i64() == Some(second_id)
            && m["reactions"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["emoji"] == "🎉"))
    })
    .await?;

    // Pin Carol's question: the CLI sees it pinned; the pinned panel lists it.
    message_action(&app, root_id, "Pin").await?;
    history_until(cli.path(), &url, "the pin", |m| {
        m["id"].as_i64() == Some(root_id) && m["pinned"] == true
    })
    .await?;
    app.click(&app.wait_for("[data-testid=open-pins]").await?)
        .await?;
    app.wait_for_text(
        "[data-testid=pinned-panel] [data-testid=pinned-message]",
        "shall we ship on Friday?",
    )
    .await?;
    // Messages above changed size (a delete, reactions): the newest stayed in view.
    in_view_at_bottom(&app, &screenshots, "great, I will prepare the notes").await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("pinned.png")).await?;

    // A burst of messages while the timeline is at the bottom: it follows them down.
    for i in 0..30 {
        run(&["send", "@desk", &format!("burst message {i}")])?;
    }
    app.wait_for_text("[data-testid=timeline]", "burst message 29")
        .await?;
    app.settle().await?;
    in_view_at_bottom(&app, &screenshots, "burst message 29").await?;

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// The chat with its thread panel open, at a large, a small and the smallest supported window, in
/// both themes: a screenshot of each (`thread-<w>x<h>-<theme>.png`), and what broke before at
/// 900 px and below: the page scrolled sideways, the top bar wrapped onto several lines and
/// "Log out" was cut off, the composers were squeezed to a few letters. Leaves the window at its
/// first size.
async fn check_window_sizes(app: &Session, screenshots: &Path) -> Result<()> {
    let (_, _, w0, h0) = app.window_rect().await?;
    for (w, h) in [(1440, 900), (800, 600), (640, 480)] {
        app.set_window_size(w, h).await?;
        for theme in ["light", "dark"] {
            app.click(
                &app.wait_for(&format!("select[aria-label=Theme] option[value={theme}]"))
                    .await?,
            )
            .await?;
            app.settle().await?;
            app.screenshot(&screenshots.join(format!("thread-{w}x{h}-{theme}.png")))
                .await?;
        }
        let layout = app
            .execute(
                "const d = document.documentElement;\
                 const rect = (s) => { const e = document.querySelector(s); \
                   if (!e) return null; const r = e.getBoundingClientRect(); \
                   return {left: r.left, right: r.right, width: r.width, height: r.height}; };\
                 return {scroll: d.scrollWidth, client: d.clientWidth, \
                   topbar: rect('.topbar'), logout: rect('[data-testid=logout]'), \
                   composer: rect('[data-testid=composer]'), \
                   thread: rect('[data-testid=thread-composer]')};",
                json!([]),
            )
            .await?;
        let n = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let at = format!("at {w}×{h}: {layout}");
        ensure!(
            n(&layout["scroll"]) <= n(&layout["client"]),
            "the page scrolls sideways {at}"
        );
        ensure!(
            n(&layout["topbar"]["height"]) <= 64.0,
            "the top bar wrapped {at}"
        );
        ensure!(
            n(&layout["logout"]["right"]) <= n(&layout["client"])
                && n(&layout["logout"]["left"]) >= 0.0,
            "Log out is cut off {at}"
        );
        ensure!(
            n(&layout["thread"]["width"]) >= 200.0,
            "the thread composer is squeezed {at}"
        );
        // The main composer is under the thread panel when that covers the timeline.
        ensure!(
            layout["composer"].is_null() || n(&layout["composer"]["width"]) >= 200.0 || w <= 900,
            "the composer is squeezed {at}"
        );
    }
    // At the smallest size the sidebar can be hidden: the conversation gets the whole width.
    app.click(&app.wait_for("[data-testid=sidebar-toggle]").await?)
        .await?;
    app.settle().await?;
    ensure!(
        app.find("#conversations-sidebar").await?.is_none(),
        "the sidebar is still shown after Hide conversations"
    );
    let widths = app
        .execute(
            "const m = document.querySelector('.chat-main');\
             return {main: m ? m.getBoundingClientRect().width : 0, \
               client: document.documentElement.clientWidth};",
            json!([]),
        )
        .await?;
    ensure!(
        widths["main"].as_f64().unwrap_or(0.0)
            >= widths["client"].as_f64().unwrap_or(f64::NAN) - 1.0,
        "the conversation does not take the whole width with the sidebar hidden: {widths}"
    );
    app.screenshot(&screenshots.join("sidebar-hidden-640x480.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=sidebar-toggle]").await?)
        .await?;
    app.wait_for("#conversations-sidebar").await?;
    app.set_window_size(w0, h0).await?;
    app.settle().await?;
    Ok(())
}
