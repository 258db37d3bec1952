//! Native notifications from the desktop app, seen by a real notification service: this test
//! owns `org.freedesktop.Notifications` on the session bus (the e2e script runs everything in
//! `dbus-run-session`) and records what the app asks it to show.
//!
//! A `jeco` CLI user mentions the app's user → a notification with the right summary and body;
//! the app's user mutes a conversation → a message there raises none (while a direct message
//! right after it does); invoking the notification's default action (`ActionInvoked`, as a click
//! does) brings up that conversation with the message highlighted. Along the way: the Settings
//! dialog in light and dark (screenshots), and a second launch of the app handing over to the
//! first and exiting.

use anyhow::{Context, Result, bail, ensure};
use jeco_e2e::desktop::{Driver, prerequisites, register_in_app};
use jeco_e2e::process::jeco_ok;
use jeco_e2e::webdriver::Session;
use jeco_testkit::server::TestServer;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::object_server::SignalEmitter;

const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// One `Notify` call the app made.
#[derive(Debug, Clone)]
struct Shown {
    id: u32,
    app_name: String,
    summary: String,
    body: String,
    actions: Vec<String>,
}

/// A minimal freedesktop notification service that remembers what it was asked to show.
struct NotificationService {
    shown: Arc<Mutex<Vec<Shown>>>,
    last_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationService {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            self.last_id += 1;
            self.last_id
        };
        self.shown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Shown {
                id,
                app_name,
                summary,
                body,
                actions,
            });
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".to_owned(), "body".to_owned()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "jeco-e2e".to_owned(),
            "jeco".to_owned(),
            "1".to_owned(),
            "1.2".to_owned(),
        )
    }

    /// What a click on the notification sends.
    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

struct Listener {
    connection: zbus::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
}

impl Listener {
    async fn start() -> Result<Self> {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let service = NotificationService {
            shown: shown.clone(),
            last_id: 0,
        };
        let connection = zbus::connection::Builder::session()?
            .name("org.freedesktop.Notifications")?
            .serve_at(NOTIFICATIONS_PATH, service)?
            .build()
            .await
            .context(
                "owning org.freedesktop.Notifications on the session bus \
                 (run under dbus-run-session, without another notification daemon)",
            )?;
        Ok(Self { connection, shown })
    }

    fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for a notification whose body contains `text`.
    async fn wait_for_body(&self, text: &str) -> Result<Shown> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.shown().into_iter().find(|s| s.body.contains(text)) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                bail!(
                    "no notification with {text:?} within 30 s; shown: {:?}",
                    self.shown()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emits `ActionInvoked(id, "default")`, as the service does when the person clicks.
    async fn click(&self, id: u32) -> Result<()> {
        let iface = self
            .connection
            .object_server()
            .interface::<_, NotificationService>(NOTIFICATIONS_PATH)
            .await?;
        NotificationService::action_invoked(iface.signal_emitter(), id, "default").await?;
        Ok(())
    }
}

/// Counts the app's subscriptions to notification clicks, seen as a bus monitor (its `AddMatch`
/// calls): a click sent before the app listens for it would be lost, and no person clicks that
/// fast — so the test clicks only once the app listens. notify-rust subscribes right after a
/// notification is shown, to `ActionInvoked` and then `NotificationClosed`; the latter is the
/// last step before it waits.
struct Subscriptions {
    count: Arc<std::sync::atomic::AtomicUsize>,
}

impl Subscriptions {
    async fn start() -> Result<Self> {
        use futures_util::TryStreamExt;
        let connection = zbus::Connection::session().await?;
        // The stream first: what arrives once the connection is a monitor must not be missed.
        let mut stream = zbus::MessageStream::from(&connection);
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::MethodCall)
            .interface("org.freedesktop.DBus")?
            .member("AddMatch")?
            .build();
        zbus::fdo::MonitoringProxy::new(&connection)
            .await?
            .become_monitor(&[rule], 0)
            .await
            .context("monitoring the session bus")?;
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            let _connection = connection;
            while let Ok(Some(msg)) = stream.try_next().await {
                if msg
                    .body()
                    .deserialize::<String>()
                    .is_ok_and(|rule| rule.contains("NotificationClosed"))
                {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        Ok(Self { count })
    }

    /// Waits until the app listens for the clicks of `n` notifications.
    async fn wait_for(&self, n: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.count.load(std::sync::atomic::Ordering::SeqCst) < n {
            if Instant::now() > deadline {
                bail!("the app never listened for the clicks of {n} notifications");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Its answer to the last subscription still has to reach it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_notify_muted_conversations_do_not_and_a_click_opens_the_message() -> Result<()> {
    let Some(prereqs) = prerequisites()? else {
        return Ok(());
    };
    let screenshots = jeco_e2e::workspace_root()
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&screenshots)?;
    let listener = Listener::start().await?;
    let subscriptions = Subscriptions::start().await?;
    let server = TestServer::start().await;
    let url = server.base().to_owned();
    let data_dir = tempfile::tempdir()?;
    let cli = tempfile::tempdir()?;
    let log = jeco_e2e::target_dir().join("e2e-tauri-driver-notify.log");
    let env = [
        ("JECO_DESKTOP_SERVER", Path::new(&url)),
        ("JECO_DESKTOP_DATA_DIR", data_dir.path()),
    ];
    let driver = Driver::start(&prereqs, &env, &log).await?;
    let app = Session::start(&driver.url, Driver::capabilities(&prereqs.app)).await?;

    // The app's user signs up.
    register_in_app(&app, "desk").await?;

    // Sam, in a terminal, makes two groups with them and mentions them in one.
    let run = |args: &[&str]| jeco_ok(cli.path(), &url, args);
    run(&["register", "sam"])?;
    run(&["create-group", "plans", "--member", "desk"])?;
    run(&["create-group", "random", "--member", "desk"])?;
    run(&["send", "plans", "@desk can you look at this?"])?;

    let mention = listener
        .wait_for_body("@desk can you look at this?")
        .await?;
    assert_eq!(mention.summary, "sam mentioned you in plans");
    assert_eq!(mention.app_name, "Jeco Chat");
    assert!(
        mention.actions.iter().any(|a| a == "default"),
        "clickable: {mention:?}"
    );
    assert_eq!(
        listener.shown().len(),
        1,
        "only the mention alerts (being added to a group is not a message): {:?}",
        listener.shown()
    );

    // Settings, in both themes.
    app.click(&app.wait_for("[data-testid=open-settings]").await?)
        .await?;
    app.wait_for_text("[data-testid=settings-dialog]", "Desktop notifications")
        .await?;
    app.click(
        &app.wait_for("[data-testid=settings-theme] option[value=light]")
            .await?,
    )
    .await?;
    app.screenshot(&screenshots.join("settings.png")).await?;
    app.click(
        &app.wait_for("[data-testid=settings-theme] option[value=dark]")
            .await?,
    )
    .await?;
    app.screenshot(&screenshots.join("settings-dark.png"))
        .await?;
    app.click(
        &app.wait_for("[data-testid=settings-theme] option[value=system]")
            .await?,
    )
    .await?;
    app.click(&app.wait_for("[data-testid=settings-done]").await?)
        .await?;
    ensure!(
        app.find("[data-testid=settings-dialog]").await?.is_none(),
        "Done closes the dialog"
    );

    // Mute "random" from its header; the sidebar marks it.
    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "random")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=conversation-title]", "random")
        .await?;
    app.click(&app.wait_for("[data-testid=mute-toggle]").await?)
        .await?;
    app.wait_for("[data-testid=mute-toggle][aria-pressed=true]")
        .await?;
    app.wait_for_text("[data-testid=conversation].muted", "random")
        .await?;
    // Look at "plans" instead, so "random" is not on screen.
    app.click(
        &app.wait_for_one_with_text("[data-testid=conversation]", "plans")
            .await?,
    )
    .await?;
    app.wait_for_text("[data-testid=conversation-title]", "plans")
        .await?;

    // A mention in the muted group raises nothing; a direct message right after it does (so the
    // silence is not just slowness: the app handles them in order). First a quiet moment: alerts
    // less than 5 s apart are coalesced into one notification, and this one should be its own.
    tokio::time::sleep(Duration::from_secs(6)).await;
    run(&["send", "random", "@desk muted ping"])?;
    run(&["dm", "desk"])?;
    run(&["send", "@desk", "after mute"])?;
    let direct = listener.wait_for_body("after mute").await?;
    assert_eq!(direct.summary, "sam", "{direct:?}");
    assert_ne!(
        direct.id, mention.id,
        "a new notification after a quiet moment"
    );
    let leaked: Vec<Shown> = listener
        .shown()
        .into_iter()
        .filter(|s| s.body.contains("muted ping"))
        .collect();
    assert!(
        leaked.is_empty(),
        "a muted conversation notified: {leaked:?}"
    );
    assert_eq!(listener.shown().len(), 2, "{:?}", listener.shown());

    // A click on the notification opens that conversation at that message.
    subscriptions.wait_for(2).await?;
    listener.click(direct.id).await?;
    app.wait_for_text("[data-testid=conversation-title]", "@sam")
        .await?;
    app.wait_for_text("[data-highlighted]", "after mute")
        .await?;
    app.screenshot(&screenshots.join("notification-opened.png"))
        .await?;

    // A second launch with the same data hands over to this one and exits.
    let mut second = std::process::Command::new(&prereqs.app);
    for (name, value) in env {
        second.env(name, value);
    }
    let mut second = second
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("launching the app a second time")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            bail!("a second instance kept running instead of handing over to the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "the second instance exited with {status}");
    app.wait_for_text("[data-testid=conversation-title]", "@sam")
        .await
        .context("the first instance is still there")?;

    app.quit().await.context("closing the app")?;
    drop(driver);
    server.stop().await;
    Ok(())
}
