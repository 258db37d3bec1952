//! Threads that reduce noise, and faces and names (issue 13, 2.4 and 2.7), in the app against a
//! `jeco` CLI user through one real server: a reply in the thread panel stays in the thread (the
//! app's timeline and the CLI's history leave it out, the CLI's `thread` has it) unless "Also send
//! to …" is ticked, when it shows in both; the root says how many replies and who replied; a reply
//! from the CLI while the thread is closed is unread in the Threads view, which opens it; a click
//! on a name opens the profile card. Screenshots: `threads-view.png`, `thread-only.png`,
//! `profile-card.png`, `profile-card-dark.png`.

use crate::timeline::{history_until, message_action, thread_until};
use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{launch, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use serde_json::json;

/// The texts of the messages in the app's timeline (not the thread panel).
async fn timeline_texts(app: &Session) -> Result<Vec<String>> {
    let texts = app
        .execute(
            "return [...document.querySelectorAll('[data-testid=timeline] [data-testid=message-text]')]\
               .map((t) => t.textContent);",
            json!([]),
        )
        .await?;
    Ok(serde_json::from_value(texts)?)
}

/// Waits until nothing matches `css` (what it is called, for the failure).
async fn gone(app: &Session, css: &str, what: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.find(css).await?.is_some() {
        ensure!(tokio::time::Instant::now() < deadline, "{what} stayed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_reply_stays_out_of_the_channel_unless_also_sent_there() -> Result<()> {
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
        "e2e-tauri-driver-threads.log",
    )
    .await?;
    register_in_app(&app, "desk").await?;

    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "carol"])?;
    run(&["dm", "desk"])?;
    run(&["send", "@desk", "which release notes format?"])?;
    run(&["send", "@desk", "they are due on Friday"])?;
    let root = history_until(cli.path(), &url, "the root", |m| {
        m["text"] == "which release notes format?"
    })
    .await?;
    let root_id = root["id"].as_i64().context("message id")?;
    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "@carol")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=timeline]", "they are due on Friday")
        .await?;

    // Faces: Carol's two messages are one group, her face beside the first only, and the text of
    // both starts at the same x.
    let group = app
        .execute(
            "const all = [...document.querySelectorAll('[data-testid=timeline] article.message')];\
             const a = all.find((m) => m.textContent.includes('which release notes format?'));\
             const b = all.find((m) => m.textContent.includes('they are due on Friday'));\
             const x = (m) => m.querySelector('[data-testid=message-text]').getBoundingClientRect().left;\
             const face = (m) => !!m.querySelector('[data-testid=message-avatar]');\
             return {grouped: b.classList.contains('grouped'), a: x(a), b: x(b), \
                     faces: [face(a), face(b)]};",
            json!([]),
        )
        .await?;
    ensure!(
        group["grouped"] == true
            && group["a"] == group["b"]
            && group["faces"] == json!([true, false]),
        "grouped messages are not aligned under one face: {group}"
    );

    // A reply in the thread panel, "Also send to @carol" left unticked: in the thread only.
    message_action(&app, root_id, "Reply in thread").await?;
    app.wait_for_text("[data-testid=thread-panel]", "Also send to @carol")
        .await?;
    let also = app.wait_for("[data-testid=also-to-channel]").await?;
    ensure!(
        app.execute(
            "return document.querySelector('[data-testid=also-to-channel]').checked;",
            json!([])
        )
        .await?
            == json!(false),
        "\"Also send to\" starts ticked"
    );
    app.fill(
        &app.wait_for("[data-testid=thread-composer]").await?,
        "Markdown, like last time",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=thread-send]").await?)
        .await?;
    let quiet = thread_until(cli.path(), &url, root_id, "the thread-only reply", |m| {
        m["text"] == "Markdown, like last time"
    })
    .await?;
    ensure!(
        quiet["thread_only"] == true,
        "the reply is not thread-only: {quiet}"
    );
    app.wait_for_text("[data-testid=thread-panel]", "Markdown, like last time")
        .await?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"),
        "1 reply",
    )
    .await?;
    let texts = timeline_texts(&app).await?;
    ensure!(
        !texts.iter().any(|t| t == "Markdown, like last time"),
        "the thread-only reply is in the app's timeline: {texts:?}"
    );
    let out = run(&["--json", "history", "@desk"])?;
    ensure!(
        !out.contains("Markdown, like last time"),
        "the thread-only reply is in the CLI's history: {out}"
    );
    app.settle().await?;
    app.screenshot(&screenshots.join("thread-only.png")).await?;

    // Ticked: the next reply shows in the thread and in the conversation.
    app.click(&also).await?;
    app.fill(
        &app.wait_for("[data-testid=thread-composer]").await?,
        "sending the draft to everyone",
    )
    .await?;
    app.click(&app.wait_for("[data-testid=thread-send]").await?)
        .await?;
    let loud = history_until(cli.path(), &url, "the reply sent to the channel too", |m| {
        m["text"] == "sending the draft to everyone"
    })
    .await?;
    ensure!(
        loud["reply_to"].as_i64() == Some(root_id) && loud["thread_only"] == false,
        "the reply sent to both is not a reply in the channel: {loud}"
    );
    app.wait_for_text("[data-testid=timeline]", "sending the draft to everyone")
        .await?;
    app.wait_for_text(
        "[data-testid=thread-panel]",
        "sending the draft to everyone",
    )
    .await?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"),
        "2 replies",
    )
    .await?;
    app.click(&app.wait_for("button[aria-label='Close thread']").await?)
        .await?;

    // Carol answers in the thread only, from her terminal: unread in the Threads view.
    run(&[
        "send",
        "@desk",
        "fine by me",
        "--reply-to",
        &root_id.to_string(),
        "--thread-only",
    ])?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"),
        "3 replies",
    )
    .await?;
    app.wait_for_text(
        &format!("article[data-message-id=\"{root_id}\"] [data-testid=thread-link]"),
        "carol",
    )
    .await?;
    app.wait_for_text("[data-testid=threads-unread]", "1")
        .await?;
    let texts = timeline_texts(&app).await?;
    ensure!(
        !texts.iter().any(|t| t == "fine by me"),
        "Carol's thread-only reply is in the app's timeline: {texts:?}"
    );
    app.click(&app.wait_for("[data-testid=open-threads]").await?)
        .await?;
    let entry = app
        .wait_for_one_with_text("[data-testid=thread-entry]", "which release notes format?")
        .await?;
    app.wait_for_text("[data-testid=thread-entry]", "3 replies")
        .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("threads-view.png"))
        .await?;
    app.click(&entry).await?;
    app.wait_for_text("[data-testid=thread-panel]", "fine by me")
        .await?;
    // Seen now: the badge goes.
    gone(&app, "[data-testid=threads-unread]", "the Threads badge").await?;

    // Faces and names: Carol's name opens her card (shown in both themes); "Message" opens the
    // conversation with her.
    let name = format!(
        "[data-testid=timeline] article[data-message-id=\"{root_id}\"] [data-testid=sender-name]"
    );
    for theme in ["dark", "light"] {
        app.click(
            &app.wait_for(&format!("select[aria-label=Theme] option[value={theme}]"))
                .await?,
        )
        .await?;
        app.click(&app.wait_for(&name).await?).await?;
        app.wait_for_text("[data-testid=profile-card]", "@carol")
            .await?;
        app.settle().await?;
        let shot = if theme == "dark" {
            "profile-card-dark.png"
        } else {
            "profile-card.png"
        };
        app.screenshot(&screenshots.join(shot)).await?;
        if theme == "dark" {
            app.click(
                &app.wait_for("[data-testid=profile-card] button[aria-label=Close]")
                    .await?,
            )
            .await?;
        }
    }
    app.click(&app.wait_for("[data-testid=profile-card-message]").await?)
        .await?;
    gone(&app, "[data-testid=profile-card]", "the profile card").await?;
    app.wait_for_text("[data-testid=conversation-title]", "@carol")
        .await?;
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=system]")
            .await?,
    )
    .await?;

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
