//! Channels and people from the sidebar's "+" menus, with someone on the `jeco` CLI: the app's user
//! makes a team and a channel; the CLI user finds that channel with `jeco channels` and joins it
//! (the browser then counts two members), and makes a channel of their own that the app's user
//! finds in the channel browser, joins and leaves again; then a group and a direct message are
//! started from the people picker, and the CLI user is in them.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{choose_from_menu, launch, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;

/// Opens a "+" menu (by its test id) and picks an item (by its test id).
async fn choose(app: &Session, menu: &str, item: &str) -> Result<()> {
    choose_from_menu(app, menu, item).await
}

/// The channel browser's row for `#name`.
fn row(name: &str) -> String {
    format!("[data-testid=channel-browser] [data-testid=channel-row][data-channel={name}]")
}

async fn close_dialog(app: &Session, dialog: &str) -> Result<()> {
    app.click(
        &app.wait_for(&format!("[data-testid={dialog}] [aria-label=Close]"))
            .await?,
    )
    .await
}

async fn set_theme(app: &Session, theme: &str) -> Result<()> {
    app.click(
        &app.wait_for(&format!("select[aria-label=Theme] option[value={theme}]"))
            .await?,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_browser_and_people_picker() -> Result<()> {
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
        "e2e-tauri-driver-channels.log",
    )
    .await?;
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);

    register_in_app(&app, "tess").await?;

    // A team from the "+" menu, and an invite code for the CLI user.
    choose(&app, "start-plus", "start-team").await?;
    app.fill(&app.wait_for("#create-team-input").await?, "Skunkworks")
        .await?;
    app.click(&app.wait_for("[data-testid=create-team-submit]").await?)
        .await?;
    app.wait_for_text("[data-testid=conversation-title]", "#general")
        .await?;
    app.click(&app.wait_for("[data-testid=manage-team]").await?)
        .await?;
    app.click(&app.wait_for("[data-testid=team-tab-invites]").await?)
        .await?;
    app.click(&app.wait_for("[data-testid=create-invite]").await?)
        .await?;
    let code = app
        .text(&app.wait_for("[data-testid=invite-code]").await?)
        .await?
        .trim()
        .to_owned();
    ensure!(!code.is_empty(), "no invite code shown");
    close_dialog(&app, "team-dialog").await?;
    run(&["register", "ivan"])?;
    run(&["join", &code])?;

    // A new channel made in the app, from the team's "+" menu.
    choose(&app, "team-plus", "new-channel").await?;
    app.fill(&app.wait_for("#channel-name").await?, "design")
        .await?;
    app.fill(&app.wait_for("#channel-topic").await?, "Gears and cards")
        .await?;
    app.click(&app.wait_for("[data-testid=create-channel]").await?)
        .await?;
    app.wait_for_text("[data-testid=conversation-title]", "#design")
        .await?;

    // The CLI user browses, finds it with its topic, joins it and says hello.
    let listed = run(&["channels"])?;
    let line = listed
        .lines()
        .find(|l| l.contains("#design"))
        .with_context(|| format!("#design not in `jeco channels`: {listed}"))?;
    ensure!(
        line.contains("1 member") && line.contains("Gears and cards"),
        "{line}"
    );
    run(&["join-channel", "#design"])?;
    run(&["send", "#design", "hello from ivan"])?;
    app.wait_for_text("[data-testid=timeline]", "hello from ivan")
        .await?;

    // The CLI user makes a channel too; the app's browser lists both, with their sizes.
    run(&["create-channel", "ops", "--topic", "Pager duty"])?;
    choose(&app, "team-plus", "browse-channels").await?;
    app.wait_for_text(&row("design"), "2 members").await?;
    let ops = app.wait_for_text(&row("ops"), "Pager duty").await?;
    ensure!(ops.contains("1 member"), "#ops row: {ops}");
    app.wait_for(&format!("{} button[aria-label='Join #ops']", row("ops")))
        .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("channel-browser.png"))
        .await?;

    // Join from the browser: the channel opens, with the CLI user's message in it.
    run(&["send", "#ops", "ops is open"])?;
    app.click(
        &app.wait_for(&format!("{} button[aria-label='Join #ops']", row("ops")))
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=conversation-title]", "#ops")
        .await?;
    app.wait_for_text("[data-testid=timeline]", "ops is open")
        .await?;
    let members = run(&["channels", "--json"])?;
    ensure!(
        members.contains("\"member_count\": 2") || members.contains("\"member_count\":2"),
        "#ops does not count two members: {members}"
    );

    // And leave it again: the browser offers to join, and the sidebar no longer lists it.
    choose(&app, "team-plus", "browse-channels").await?;
    app.click(
        &app.wait_for(&format!("{} button[aria-label='Leave #ops']", row("ops")))
            .await?,
    )
    .await?;
    app.wait_for(&format!("{} button[aria-label='Join #ops']", row("ops")))
        .await?;
    close_dialog(&app, "channel-browser").await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sidebar = app
            .text(&app.wait_for("nav.sidebar").await?)
            .await
            .unwrap_or_default();
        if !sidebar.contains("#ops") {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "#ops stays in the sidebar after leaving: {sidebar}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A group from the people picker: a name, a person found by search.
    choose(&app, "start-plus", "start-group").await?;
    app.fill(&app.wait_for("#group-name").await?, "Crew")
        .await?;
    app.fill(&app.wait_for("#people-search").await?, "iv")
        .await?;
    app.click(
        &app.wait_for_one_with_text("[data-testid=person]", "@ivan")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=picked]", "ivan").await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("people-picker.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=picker-start]").await?)
        .await?;
    app.wait_for_text("[data-testid=conversation-title]", "Crew")
        .await?;
    let conversations = run(&["conversations"])?;
    ensure!(
        conversations.contains("Crew"),
        "the CLI user is not in the group: {conversations}"
    );
    run(&["send", "Crew", "aboard"])?;
    app.wait_for_text("[data-testid=timeline]", "aboard")
        .await?;

    // A direct message from the same picker, one person picked.
    choose(&app, "start-plus", "start-direct").await?;
    app.fill(&app.wait_for("#people-search").await?, "ivan")
        .await?;
    app.click(
        &app.wait_for_one_with_text("[data-testid=person]", "@ivan")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=picker-start]").await?)
        .await?;
    app.wait_for_text("[data-testid=conversation-title]", "@ivan")
        .await?;

    // The two dialogs and the menu in the dark theme (switched with no dialog open: they are
    // modal), then back so later runs start light.
    set_theme(&app, "dark").await?;
    choose(&app, "team-plus", "browse-channels").await?;
    app.wait_for_text(&row("design"), "2 members").await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("channel-browser-dark.png"))
        .await?;
    close_dialog(&app, "channel-browser").await?;
    choose(&app, "start-plus", "start-group").await?;
    app.wait_for_one_with_text("[data-testid=person]", "@ivan")
        .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("people-picker-dark.png"))
        .await?;
    close_dialog(&app, "people-picker").await?;
    app.click(&app.wait_for("[data-testid=start-plus]").await?)
        .await?;
    app.wait_for("[role=menu]").await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("plus-menu-dark.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=start-plus]").await?)
        .await?;
    set_theme(&app, "system").await?;

    // A small window (800×600): the browser fits, with its rows readable.
    app.set_window_size(800, 600).await?;
    choose(&app, "team-plus", "browse-channels").await?;
    app.wait_for_text(&row("design"), "2 members").await?;
    let fits = app
        .execute(
            "const r = document.querySelector('[data-testid=channel-browser]').getBoundingClientRect();\
             return r.right <= window.innerWidth && r.bottom <= window.innerHeight;",
            serde_json::json!([]),
        )
        .await?;
    ensure!(
        fits == serde_json::Value::Bool(true),
        "the channel browser does not fit an 800×600 window"
    );
    app.settle().await?;
    app.screenshot(&screenshots.join("channel-browser-800.png"))
        .await?;
    close_dialog(&app, "channel-browser").await?;

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
