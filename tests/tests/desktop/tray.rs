//! The tray icon, seen by a real status-area host: these tests own
//! `org.kde.StatusNotifierWatcher` on the session bus (as a desktop's panel does), so the app's
//! icon registers with it, and read the icon over D-Bus — its label, the unread count, which a
//! `jeco` CLI user's messages raise and reading the conversation in the app clears — and use its
//! menu (dbusmenu) as a panel does: closing the window keeps the app in the tray, and the menu's
//! "Open Jeco Chat" brings the window back; while the app hosts its server for a teammate, closing
//! the window keeps it running by default, and the tray's Quit asks first (`quit-confirm.png`).

use anyhow::{Context, Result, bail, ensure};
use jeco_e2e::desktop::{Driver, app_pid, launch_with, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::names::InterfaceName;

/// Who registered an icon with us: their bus name and what they passed (an object path, or a
/// bus name whose icon is at the standard path).
type Registered = Arc<Mutex<Vec<(String, String)>>>;

/// A minimal StatusNotifierWatcher that remembers the icons registered with it.
struct Watcher {
    items: Registered,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((sender, service));
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.iter().map(|(_, service)| service.clone()).collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// Owns the StatusNotifierWatcher name on the session bus, as a desktop panel does.
async fn watch_tray() -> Result<(zbus::Connection, Registered)> {
    let items: Registered = Arc::default();
    let connection = zbus::connection::Builder::session()?
        .name("org.kde.StatusNotifierWatcher")?
        .serve_at(
            "/StatusNotifierWatcher",
            Watcher {
                items: items.clone(),
            },
        )?
        .build()
        .await
        .context(
            "owning org.kde.StatusNotifierWatcher on the session bus \
             (run under dbus-run-session, without a desktop panel)",
        )?;
    Ok((connection, items))
}

/// The app's icon, once it has registered with the watcher.
async fn registered_icon(items: &Registered) -> Result<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(item) = items.lock().unwrap_or_else(|p| p.into_inner()).last() {
            return Ok(item.clone());
        }
        if Instant::now() > deadline {
            bail!("the app's tray icon never registered with the StatusNotifierWatcher");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bus name and object path of the icon's StatusNotifierItem.
fn item_address(item: &(String, String)) -> (String, String) {
    match item.1.starts_with('/') {
        true => (item.0.clone(), item.1.clone()),
        false => (item.1.clone(), "/StatusNotifierItem".to_owned()),
    }
}

/// Clicks the icon's menu entry labelled `label`, as a panel does: the menu's object path is the
/// item's `Menu` property; the entries are found by their `label` property (dbusmenu ids are
/// small integers) and clicked with a dbusmenu `Event`.
async fn click_menu_entry(
    connection: &zbus::Connection,
    item: &(String, String),
    label: &str,
) -> Result<()> {
    let (owner, path) = item_address(item);
    let properties = zbus::fdo::PropertiesProxy::builder(connection)
        .destination(owner.clone())?
        .path(path)?
        .build()
        .await?;
    let menu = properties
        .get(
            InterfaceName::from_static_str("org.kde.StatusNotifierItem")?,
            "Menu",
        )
        .await?;
    let menu = zbus::zvariant::OwnedObjectPath::try_from(menu)?;
    let mut seen = Vec::new();
    for id in 0..64i32 {
        let answer = connection
            .call_method(
                Some(owner.as_str()),
                menu.as_str(),
                Some("com.canonical.dbusmenu"),
                "GetProperty",
                &(id, "label"),
            )
            .await;
        let Ok(answer) = answer else {
            continue;
        };
        let value: zbus::zvariant::OwnedValue = answer.body().deserialize()?;
        let Ok(text) = String::try_from(value) else {
            continue;
        };
        // GTK menus keep mnemonic underscores in their labels.
        if text.replace('_', "") == label {
            connection
                .call_method(
                    Some(owner.as_str()),
                    menu.as_str(),
                    Some("com.canonical.dbusmenu"),
                    "Event",
                    &(id, "clicked", zbus::zvariant::Value::from(0i32), 0u32),
                )
                .await?;
            return Ok(());
        }
        seen.push(text);
    }
    bail!("no tray menu entry {label:?}; the menu has {seen:?}")
}

/// The icon's label (`XAyatanaLabel`, what `set_title` shows next to the icon on Linux).
async fn label(connection: &zbus::Connection, item: &(String, String)) -> Result<String> {
    let (owner, path) = item_address(item);
    let properties = zbus::fdo::PropertiesProxy::builder(connection)
        .destination(owner)?
        .path(path)?
        .build()
        .await?;
    let value = properties
        .get(
            InterfaceName::from_static_str("org.kde.StatusNotifierItem")?,
            "XAyatanaLabel",
        )
        .await?;
    Ok(String::try_from(value)?)
}

async fn wait_for_label(
    connection: &zbus::Connection,
    item: &(String, String),
    expected: &str,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = label(connection, item).await?;
        if now == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the tray label stayed {now:?}, expected {expected:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tray_icon_shows_the_unread_count() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let (connection, items) = watch_tray().await?;
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    // The app's default rendering (no screenshots here).
    let (driver, app) = launch_with(
        &prereqs,
        &url,
        data_dir.path(),
        "e2e-tauri-driver-tray.log",
        &[("JECO_DESKTOP_GPU", Path::new("auto"))],
    )
    .await?;

    // The icon registers with the watcher when the app starts.
    let item = registered_icon(&items).await?;
    register_in_app(&app, "traveller").await?;
    wait_for_label(&connection, &item, "").await?;

    // Two messages from a terminal in a group the app is not showing: the icon says 2.
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "quinn"])?;
    run(&["create-group", "trips", "--member", "traveller"])?;
    run(&["send", "trips", "train at 9"])?;
    run(&["send", "trips", "bring snacks"])?;
    wait_for_label(&connection, &item, "2").await?;

    // Reading them in the app clears it.
    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "trips")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=timeline]", "bring snacks")
        .await?;
    wait_for_label(&connection, &item, "").await?;

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// Waits until the app's window is shown (`true`) or hidden (`false`).
async fn wait_for_window(id: &str, viewable: bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while jeco_e2e::x11::is_viewable(id)? != viewable {
        if Instant::now() > deadline {
            bail!(
                "the window stayed {}",
                if viewable { "hidden" } else { "shown" }
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_window_keeps_the_app_in_the_tray_and_open_brings_it_back() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let (connection, items) = watch_tray().await?;
    let server = TestServer::start().await;
    let data_dir = tempfile::tempdir()?;
    let (driver, app) = launch_with(
        &prereqs,
        server.base(),
        data_dir.path(),
        "e2e-tauri-driver-close-to-tray.log",
        &[],
    )
    .await?;
    let item = registered_icon(&items).await?;
    register_in_app(&app, "nightowl").await?;

    // Not hosting a server: closing to the tray is the person's choice, made in Settings.
    app.click(&app.wait_for("[data-testid=open-settings]").await?)
        .await?;
    app.click(
        &app.wait_for("[data-testid=close-to-tray] option[value=always]")
            .await?,
    )
    .await?;
    app.wait_for_text(
        "[data-testid=close-to-tray-hint]",
        "Quit is in the tray menu",
    )
    .await?;
    app.execute(
        "document.querySelector('[data-testid=close-to-tray]').scrollIntoView({ block: 'center' }); return 1;",
        serde_json::json!([]),
    )
    .await?;
    app.settle().await?;
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    app.screenshot(&screenshots.join("settings-close-to-tray.png"))
        .await?;
    app.click(&app.wait_for("[data-testid=settings-done]").await?)
        .await?;
    let saved = std::fs::read_to_string(data_dir.path().join("preferences.json"))?;
    ensure!(
        saved.contains("\"closeToTray\": \"always\""),
        "the choice was not saved: {saved}"
    );

    // Closed as a window manager's close button does: hidden, and the app still runs.
    let pid = app_pid(&prereqs.app)?;
    let window = jeco_e2e::x11::window_id("Jeco Chat")?;
    ensure!(
        jeco_e2e::x11::is_viewable(&window)?,
        "the window starts shown"
    );
    jeco_e2e::x11::close(&window)?;
    wait_for_window(&window, false).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        Path::new(&format!("/proc/{pid}")).exists() && app_pid(&prereqs.app)? == pid,
        "the app quit when its window was closed"
    );
    // The tray is still there.
    ensure!(
        label(&connection, &item).await.is_ok(),
        "the tray icon went away"
    );

    // The tray's "Open Jeco Chat" brings the same window back, signed in as it was.
    click_menu_entry(&connection, &item, "Open Jeco Chat").await?;
    wait_for_window(&window, true).await?;
    app.wait_for_text("[data-testid=welcome]", "nightowl")
        .await?;
    ensure!(
        app_pid(&prereqs.app)? == pid,
        "the app was restarted, not reopened"
    );

    app.quit().await?;
    drop(driver);
    server.stop().await;
    Ok(())
}

/// A `jeco follow` running for as long as the test holds it: a teammate connected to the server.
struct Follower(std::process::Child);

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the process is alive (gone, or a zombie its parent has not reaped yet, is not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_for_others_closes_to_the_tray_and_quitting_asks_first() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let (connection, items) = watch_tray().await?;
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    // The built-in server (no JECO_DESKTOP_SERVER), hosted for the network.
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver-hosting-tray.log");
    let driver = Driver::start(
        &prereqs,
        &[("JECO_DESKTOP_DATA_DIR", data_dir.path())],
        &log,
    )
    .await?;
    let app = Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;
    let item = registered_icon(&items).await?;
    app.click(&app.wait_for("[data-testid=hosting-switch]").await?)
        .await?;
    app.wait_for_text("[data-testid=hosting-state]", "Hosting for your network")
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let address = loop {
        let address = app.value(&app.wait_for("#server-address").await?).await?;
        if !address.is_empty() {
            break address;
        }
        ensure!(Instant::now() < deadline, "no hosted address shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    register_in_app(&app, "host").await?;

    // A teammate on the hosted server, connected (`jeco follow`) and writing to the host.
    jeco_ok(cli.path(), &address, &["register", "guest"])?;
    let _follower = Follower(
        std::process::Command::new(jeco_e2e::process::binary("jeco"))
            .args(["--server", &address, "--data-dir"])
            .arg(cli.path())
            .arg("follow")
            .env("JECO_PASSWORD", "a long enough password")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    jeco_ok(cli.path(), &address, &["dm", "host"])?;
    jeco_ok(
        cli.path(),
        &address,
        &["send", "@host", "are you still there?"],
    )?;
    app.wait_for_text("[data-testid=conversation]", "@guest")
        .await?;
    app.wait_for("[data-testid=presence][aria-label=online]")
        .await?;

    // The default setting, while hosting: closing the window keeps the app (and the server) up.
    let pid = app_pid(&prereqs.app)?;
    let window = jeco_e2e::x11::window_id("Jeco Chat")?;
    jeco_e2e::x11::close(&window)?;
    wait_for_window(&window, false).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(running(pid), "the app quit while hosting for a teammate");
    jeco_ok(cli.path(), &address, &["send", "@host", "still here"])?;

    // The tray's Quit asks first, in the window it shows again; "Keep running" keeps running.
    click_menu_entry(&connection, &item, "Quit").await?;
    wait_for_window(&window, true).await?;
    app.wait_for_text(
        "[data-testid=quit-confirm]",
        "1 other person is connected to the server this computer hosts",
    )
    .await?;
    app.settle().await?;
    app.screenshot(&screenshots.join("quit-confirm.png"))
        .await?;
    app.click(&app.wait_for_one_with_text("button", "Keep running").await?)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.find("[data-testid=quit-confirm]").await?.is_some() {
        ensure!(Instant::now() < deadline, "the question stayed up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(running(pid), "Keep running quit the app");

    // Asked again and confirmed: the app quits.
    click_menu_entry(&connection, &item, "Quit").await?;
    // The app may be gone before the driver answers the click: its exit is what is checked.
    let _ = app
        .click(&app.wait_for("[data-testid=quit-anyway]").await?)
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while running(pid) {
        ensure!(
            Instant::now() < deadline,
            "the app did not quit when confirmed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = app.quit().await; // the session ended with the app
    drop(driver);
    Ok(())
}
