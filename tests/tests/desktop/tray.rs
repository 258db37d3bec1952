//! The tray icon, seen by a real status-area host: this test owns
//! `org.kde.StatusNotifierWatcher` on the session bus (as a desktop's panel does), so the app's
//! icon registers with it, and reads the icon's label over D-Bus — the unread count, which a
//! `jeco` CLI user's messages raise and reading the conversation in the app clears.

use anyhow::{Context, Result, bail};
use jeco_e2e::desktop::{launch_with, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::server::TestServer;
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

/// The icon's label (`XAyatanaLabel`, what `set_title` shows next to the icon on Linux).
async fn label(connection: &zbus::Connection, item: &(String, String)) -> Result<String> {
    let (owner, path) = match item.1.starts_with('/') {
        true => (item.0.clone(), item.1.clone()),
        false => (item.1.clone(), "/StatusNotifierItem".to_owned()),
    };
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
    let server = TestServer::start().await?;
    let url = server.url();
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
    let deadline = Instant::now() + Duration::from_secs(30);
    let item = loop {
        if let Some(item) = items.lock().unwrap_or_else(|p| p.into_inner()).last() {
            break item.clone();
        }
        if Instant::now() > deadline {
            bail!("the app's tray icon never registered with the StatusNotifierWatcher");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
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
