//! Running a team from the app: a profile set up, a team created, an invite code made and used
//! by someone on the `jeco` CLI, who then shows up among the members and is made an admin.

use anyhow::{Context, Result, ensure};
use jeco_e2e::desktop::{choose_from_menu, launch, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_testkit::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_team_invite_and_roles() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let (driver, app) =
        launch(&prereqs, &url, data_dir.path(), "e2e-tauri-driver-team.log").await?;
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);

    register_in_app(&app, "tess").await?;

    // The profile: a display name and a status, seen at once in the top bar and by others.
    app.click(&app.wait_for("[data-testid=open-profile]").await?)
        .await?;
    let name = app.wait_for("#profile-name").await?;
    app.fill(&name, "Tess Ogden").await?;
    app.fill(&app.wait_for("#profile-status").await?, "shipping v1")
        .await?;
    app.click(&app.wait_for("[data-testid=save-profile]").await?)
        .await?;
    app.wait_for_text("[data-testid=profile-dialog]", "Saved.")
        .await?;
    app.screenshot(&screenshots.join("profile.png")).await?;
    app.click(
        &app.wait_for("[data-testid=profile-dialog] [aria-label=Close]")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=open-profile]", "Tess Ogden")
        .await?;

    // A team (from the sidebar's "+" menu), and an invitation code for it.
    choose_from_menu(&app, "start-plus", "start-team").await?;
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
    let code_element = app.wait_for("[data-testid=invite-code]").await?;
    let code = app.text(&code_element).await?.trim().to_owned();
    ensure!(!code.is_empty(), "no invite code shown");

    // Someone on the CLI joins with it and talks in #general.
    run(&["register", "ivan"])?;
    run(&["join", &code])?;
    let conversations = run(&["conversations"])?;
    ensure!(
        conversations.contains("#general"),
        "the CLI user is not in #general: {conversations}"
    );

    // They are a member now; the owner makes them an admin.
    app.click(&app.wait_for("[data-testid=team-tab-members]").await?)
        .await?;
    app.wait_for_text("[data-testid=member-list]", "@ivan")
        .await?;
    app.click(
        &app.wait_for("select[aria-label='Role of @ivan'] option[value=admin]")
            .await?,
    )
    .await?;
    // The list shows the new role once the server has it (the select is not optimistic);
    // closing before that would race the change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app
        .value(&app.wait_for("select[aria-label='Role of @ivan']").await?)
        .await?
        != "admin"
    {
        ensure!(
            std::time::Instant::now() < deadline,
            "the role change never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Reopened, the dialog reads the roles from the server again.
    app.click(
        &app.wait_for("[data-testid=team-dialog] [aria-label=Close]")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=manage-team]").await?)
        .await?;
    app.wait_for_text("[data-testid=member-list]", "@ivan")
        .await?;
    let role = app
        .value(&app.wait_for("select[aria-label='Role of @ivan']").await?)
        .await?;
    ensure!(role == "admin", "@ivan's role is {role:?}, not admin");
    app.screenshot(&screenshots.join("team.png")).await?;
    // The same dialog in the dark theme (switched with the dialog closed: it is modal).
    app.click(
        &app.wait_for("[data-testid=team-dialog] [aria-label=Close]")
            .await?,
    )
    .await?;
    app.click(
        &app.wait_for("select[aria-label=Theme] option[value=dark]")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=manage-team]").await?)
        .await?;
    app.wait_for_text("[data-testid=member-list]", "@ivan")
        .await?;
    app.screenshot(&screenshots.join("team-dark.png")).await?;
    app.click(
        &app.wait_for("[data-testid=team-dialog] [aria-label=Close]")
            .await?,
    )
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
