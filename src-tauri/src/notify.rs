//! Desktop notifications through notify-rust (the freedesktop notification service over D-Bus on
//! Linux; the platform's own centre on macOS and Windows).
//!
//! A shown notification carries a default action; when the person clicks it, the notification
//! service sends `ActionInvoked(id, "default")` and the `on_click` given to [`Notifier::show`]
//! runs (it focuses the window and opens the message). A task waits for that per notification,
//! for at most [`CLICK_WAIT`], and only for the newest [`MAX_WAITING`] notifications: a
//! notification replaced by a newer text (see `alerts::burst`) hands its wait to the new one.
//!
//! Nothing here may take the app down: no notification service on the bus, a service that
//! refuses, a lost connection — each is a [`NotifyError`] the caller logs.

use crate::alerts::burst::{NotificationText, escape_markup};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// How long a click on a notification is waited for (it may sit in a notification centre).
pub const CLICK_WAIT: Duration = Duration::from_secs(6 * 3600);
/// Notifications whose clicks are waited for at once (each holds a D-Bus connection).
pub const MAX_WAITING: usize = 8;
/// The application name the notification service shows.
pub const APP_NAME: &str = "Jeco Chat";
/// A notification service that takes longer than this to answer is treated as failing (alerts
/// are handled one after another: a stuck service must not hold up the next ones).
pub const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// After the service's capabilities could not be read, ask again only this much later (D-Bus only:
/// elsewhere there are no capabilities to ask for).
#[cfg(all(unix, not(target_os = "macos")))]
const CAPABILITIES_RETRY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot show a desktop notification: {0}")]
pub struct NotifyError(pub String);

/// Shows notifications and waits for their clicks.
#[derive(Default)]
pub struct Notifier {
    waiting: Mutex<VecDeque<(u32, tokio::task::JoinHandle<()>)>>,
    /// Whether the service renders markup in bodies (asked once it answers).
    markup: tokio::sync::OnceCell<bool>,
    /// When the capabilities may be asked for again after a failure.
    #[cfg(all(unix, not(target_os = "macos")))]
    capabilities_retry: Mutex<Option<std::time::Instant>>,
}

impl Notifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `text` (replacing notification `replaces`, when given and still shown) and returns
    /// its id. `on_click` runs if the person activates it.
    pub async fn show(
        &self,
        text: &NotificationText,
        replaces: Option<u32>,
        on_click: impl FnOnce() + Send + 'static,
    ) -> Result<u32, NotifyError> {
        let markup = self.body_markup().await;
        let body = if markup {
            escape_markup(&text.body)
        } else {
            text.body.clone()
        };
        let mut n = notify_rust::Notification::new();
        n.appname(APP_NAME)
            .summary(&text.summary)
            .body(&body)
            .action("default", "Open");
        #[cfg(all(unix, not(target_os = "macos")))]
        n.hint(notify_rust::Hint::Category("im.received".into()));
        if let Some(id) = replaces {
            n.id(id);
        }
        let handle = show_now(n).await?;
        #[cfg(all(unix, not(target_os = "macos")))]
        let id = handle.id();
        // Elsewhere notifications are not replaced by id; 0 stands for "shown".
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let id = 0;
        let waiter = wait_for_click(handle, on_click);
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.retain(|(shown, task)| {
            let keep = *shown != id && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        waiting.push_back((id, waiter));
        while waiting.len() > MAX_WAITING {
            if let Some((_, oldest)) = waiting.pop_front() {
                oldest.abort();
            }
        }
        Ok(id)
    }

    async fn body_markup(&self) -> bool {
        if let Some(known) = self.markup.get() {
            return *known;
        }
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let now = std::time::Instant::now();
            {
                let mut retry = self
                    .capabilities_retry
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if retry.is_some_and(|at| now < at) {
                    return true;
                }
                // Asked at most once at a time: the retry time is set before asking.
                *retry = Some(now + CAPABILITIES_RETRY);
            }
            let asked = tokio::time::timeout(
                ANSWER_WAIT,
                tokio::task::spawn_blocking(notify_rust::get_capabilities),
            )
            .await;
            match asked {
                Ok(Ok(Ok(caps))) => {
                    let markup = caps.iter().any(|c| c == "body-markup");
                    let _ = self.markup.set(markup);
                    markup
                }
                // Unknown yet (no service?): escape to be safe, and ask again later.
                _ => true,
            }
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = self.markup.set(false);
            false
        }
    }
}

/// Shows `n` through the desktop's notification service (D-Bus), waiting at most [`ANSWER_WAIT`].
#[cfg(all(unix, not(target_os = "macos")))]
async fn show_now(
    n: notify_rust::Notification,
) -> Result<notify_rust::NotificationHandle, NotifyError> {
    tokio::time::timeout(ANSWER_WAIT, n.show_async())
        .await
        .map_err(|_| NotifyError("the notification service did not answer".into()))?
        .map_err(|e| NotifyError(e.to_string()))
}

/// Shows `n` as a toast (Windows) or through the notification center (macOS). notify-rust has only a
/// blocking call there: it runs on the blocking pool, waited for at most [`ANSWER_WAIT`].
#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn show_now(
    n: notify_rust::Notification,
) -> Result<notify_rust::NotificationHandle, NotifyError> {
    tokio::time::timeout(ANSWER_WAIT, tokio::task::spawn_blocking(move || n.show()))
        .await
        .map_err(|_| NotifyError("the notification service did not answer".into()))?
        .map_err(|e| NotifyError(e.to_string()))?
        .map_err(|e| NotifyError(e.to_string()))
}

/// Waits (in a task) for the person to activate the notification, then runs `on_click`.
#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_click(
    handle: notify_rust::NotificationHandle,
    on_click: impl FnOnce() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut clicked = false;
        let waited = tokio::time::timeout(
            CLICK_WAIT,
            handle.wait_for_action_async(|response| {
                clicked = response.is_default_action();
            }),
        )
        .await;
        if waited.is_ok() && clicked {
            on_click();
        }
    })
}

/// Elsewhere notify-rust reports no clicks asynchronously: the notification only informs.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn wait_for_click(
    handle: notify_rust::NotificationHandle,
    on_click: impl FnOnce() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    drop((handle, on_click));
    tokio::spawn(async {})
}

impl Drop for Notifier {
    fn drop(&mut self) {
        for (_, task) in self
            .waiting
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}
