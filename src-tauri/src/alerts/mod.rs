//! Alerts: what the desktop does when the engine says something happened — a desktop
//! notification, a sound, the tray's unread count.
//!
//! The engine's events arrive here (besides going to the web view) through a bounded queue, so a
//! slow notification service never holds up the UI. One task works through them:
//! - `Notification` events (the server's, for direct messages, mentions and replies) go through
//!   [`decide::decide`] — a pure function of the notification, the preferences, mute, focus and
//!   the open conversation — then through the current [`burst::Burst`], which coalesces, and out
//!   to the [`crate::notify`] service and the [`crate::sound`] player;
//! - anything that can move unread counts marks the tray for a refresh, done at most every
//!   [`TRAY_REFRESH`] from the engine's cache.
//!
//! Clicking a notification focuses the window and emits [`OPEN_MESSAGE_EVENT`] with an
//! [`burst::OpenMessage`]; the UI opens that conversation at that message.

pub mod burst;
pub mod decide;
pub mod plain_text;

use crate::notify::Notifier;
use crate::prefs::{PrefsStore, now_ms};
use crate::session::AppState;
use crate::sound::{Sound, SoundError, SoundPlayer};
use burst::{AlertItem, Burst, OpenMessage};
use decide::{Decision, Situation, decide};
use jeco_client::{Engine, EngineEvent};
use jeco_shared::conversations::{Conversation, ConversationKind};
use jeco_shared::notifications::Notification;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::mpsc;

/// The web-view event that opens a message (a clicked notification).
pub const OPEN_MESSAGE_EVENT: &str = "open-message";
/// The tray's count is recomputed at most this often.
pub const TRAY_REFRESH: Duration = Duration::from_millis(300);
/// Engine events waiting for the alert task; beyond this they are dropped (with a log line).
const QUEUE: usize = 256;
/// How long a sender's name may take to fetch before the notification goes out without it.
const NAME_WAIT: Duration = Duration::from_secs(2);

/// Whether the window has the focus, as the window system last said. The engine is told too
/// (`Engine::set_focused`: what is read follows from it); this copy outlives engines, so an
/// engine started later (another server) learns it on the view's next `set_viewing`. Which
/// conversation is on screen is the engine's to know (`Engine::viewing`).
#[derive(Debug, Default)]
pub struct Attention {
    focused: AtomicBool,
}

impl Attention {
    pub fn set_focused(&self, focused: bool) {
        self.focused.store(focused, Ordering::Relaxed);
    }

    pub fn focused(&self) -> bool {
        self.focused.load(Ordering::Relaxed)
    }
}

/// Managed by Tauri; one per app.
pub struct Alerts {
    events: mpsc::Sender<EngineEvent>,
    pub attention: Arc<Attention>,
    sounds: Arc<SoundPlayer>,
}

impl Alerts {
    /// Starts the alert task (on Tauri's runtime) and the sound thread.
    pub fn start(app: AppHandle) -> Self {
        let (events, queue) = mpsc::channel(QUEUE);
        let attention = Arc::new(Attention::default());
        let sounds = Arc::new(SoundPlayer::start());
        let task = AlertTask {
            app,
            attention: attention.clone(),
            sounds: sounds.clone(),
            notifier: Arc::new(Notifier::new()),
            burst: Burst::new(Instant::now()),
            tray_dirty: Arc::new(tokio::sync::Notify::new()),
        };
        tauri::async_runtime::spawn(task.run(queue));
        Self {
            events,
            attention,
            sounds,
        }
    }

    /// Hands an engine event to the alert task (never blocks).
    pub fn on_engine_event(&self, event: &EngineEvent) {
        let relevant = matches!(
            event,
            EngineEvent::Notification(_)
                | EngineEvent::ConversationsChanged
                | EngineEvent::TimelineChanged { .. }
                | EngineEvent::ReadReceipt { .. }
                | EngineEvent::Connection(_)
        );
        if relevant && let Err(e) = self.events.try_send(event.clone()) {
            tracing::warn!(error = %e, "alert queue full; an engine event was not considered");
        }
    }

    /// Plays `sound` now at `gain`, waiting for the outcome (Settings → "Test sound").
    pub async fn test_sound(&self, sound: Sound, gain: f32) -> Result<(), SoundError> {
        self.sounds.play_and_wait(sound, gain).await
    }
}

struct AlertTask {
    app: AppHandle,
    attention: Arc<Attention>,
    sounds: Arc<SoundPlayer>,
    notifier: Arc<Notifier>,
    burst: Burst,
    tray_dirty: Arc<tokio::sync::Notify>,
}

impl AlertTask {
    async fn run(mut self, mut queue: mpsc::Receiver<EngineEvent>) {
        let app = self.app.clone();
        let dirty = self.tray_dirty.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                dirty.notified().await;
                tokio::time::sleep(TRAY_REFRESH).await;
                refresh_tray(&app).await;
            }
        });
        self.tray_dirty.notify_one();
        while let Some(event) = queue.recv().await {
            match event {
                EngineEvent::Notification(n) => {
                    self.on_notification(n).await;
                    self.tray_dirty.notify_one();
                }
                _ => self.tray_dirty.notify_one(),
            }
        }
    }

    async fn on_notification(&mut self, n: Notification) {
        let Some(engine) = engine(&self.app).await else {
            return;
        };
        let prefs = self.app.state::<PrefsStore>().get();
        let conversation = n
            .conversation_id
            .and_then(|id| engine.conversation(id).ok().flatten());
        let situation = Situation {
            prefs: &prefs,
            now_ms: now_ms(),
            window_focused: self.attention.focused(),
            viewing: engine.viewing().conversation,
            conversation_muted: conversation.as_ref().is_some_and(|c| c.muted),
        };
        let decision = decide(&n, &situation);
        tracing::debug!(notification = n.id.0, ?decision, "alert decision");
        let Decision::Alert { notify, sound } = decision else {
            return;
        };

        let item = AlertItem {
            kind: n.kind,
            conversation_id: n.conversation_id,
            message_id: n.message_id,
            sender: sender_name(&engine, &n).await,
            place: conversation.as_ref().and_then(place),
            preview: n.preview.clone(),
        };
        let now = Instant::now();
        if !self.burst.is_open(now) {
            self.burst = Burst::new(now);
        }
        self.burst.push(item, now);
        if let Some(sound) = sound
            && self.burst.take_sound(sound)
        {
            self.sounds.play(sound, prefs.gain());
        }
        if !notify {
            return;
        }
        let Some(text) = self.burst.text(prefs.previews) else {
            return;
        };
        let app = self.app.clone();
        let target = self.burst.target();
        let on_click = move || {
            if let Some(target) = target {
                open_message(&app, target);
            }
        };
        match self
            .notifier
            .show(&text, self.burst.notification_id, on_click)
            .await
        {
            Ok(id) => self.burst.notification_id = Some(id),
            Err(e) => tracing::warn!(error = %e, "desktop notification not shown"),
        }
    }
}

/// Focuses the window and asks the UI to open `target` (with the message's `seq` from the cache,
/// when it is there by now).
pub fn open_message(app: &AppHandle, mut target: OpenMessage) {
    crate::show_main_window(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let (Some(id), Some(engine)) = (target.message_id, engine(&app).await) {
            target.seq = engine
                .cache()
                .ok()
                .and_then(|cache| cache.message(id).ok().flatten())
                .map(|m| m.seq);
        }
        if let Err(e) = app.emit(OPEN_MESSAGE_EVENT, target) {
            tracing::warn!(error = %e, "cannot ask the window to open a message");
        }
    });
}

async fn engine(app: &AppHandle) -> Option<Engine> {
    app.try_state::<AppState>()?.engine().await.ok()
}

async fn refresh_tray(app: &AppHandle) {
    let unread = match engine(app).await.map(|e| e.conversations()) {
        Some(Ok(list)) => crate::tray::unread_total(&list),
        _ => 0,
    };
    crate::tray::show_unread(app, unread);
}

/// Who caused `n`, by the name the person knows them by; fetched when not cached yet.
async fn sender_name(engine: &Engine, n: &Notification) -> String {
    let Some(actor) = n.actor_id else {
        return "Jeco Chat".to_owned();
    };
    let cached = engine.user(actor).ok().flatten();
    let user = match cached {
        Some(u) => Some(u),
        None => {
            let _ = tokio::time::timeout(NAME_WAIT, engine.learn_users([actor])).await;
            engine.user(actor).ok().flatten()
        }
    };
    match user {
        Some(u) => u
            .display_name
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(u.username),
        None => "Someone".to_owned(),
    }
}

/// Where, for channels and groups; `None` for a direct conversation (the sender says it all).
fn place(c: &Conversation) -> Option<String> {
    match c.kind {
        ConversationKind::Channel => Some(format!("#{}", c.name.as_deref().unwrap_or("channel"))),
        ConversationKind::Group => Some(c.name.clone().unwrap_or_else(|| "a group".to_owned())),
        ConversationKind::Direct => None,
    }
}
