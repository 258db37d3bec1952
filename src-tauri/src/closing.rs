//! Closing the window and quitting.
//!
//! Chat apps are left running: closing the window hides it, and the tray icon (its count, its
//! Open and Quit) is how the person gets it back or ends it. The app can also host its built-in
//! server for teammates, and then closing the window must not end their chat: while hosting on
//! the network it always closes to the tray by default. Whether it closes to the tray otherwise is
//! the person's choice ([`CloseToTray`], in Settings).
//!
//! Quitting while other people are connected to the hosted server disconnects them, so the app
//! says so first: it shows its window and asks the UI (the [`QUIT_REQUESTED`] event, carrying a
//! [`QuitRequest`]), which confirms with the `quit_app` command. The decisions are plain
//! functions ([`on_close`], [`on_quit`]) so they are tested without a window.

use crate::prefs::{CloseToTray, PrefsStore};
use crate::session::AppState;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// The event that asks the UI to confirm quitting (payload: [`QuitRequest`]).
pub const QUIT_REQUESTED: &str = "quit-requested";

/// How the embedded server is used by others right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostedUse {
    /// It listens on the local network for teammates.
    pub hosting: bool,
    /// People other than this app's signed-in user connected to it.
    pub others: usize,
}

/// Why the UI is asked to confirm quitting.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct QuitRequest {
    /// How many other people are connected to the hosted server.
    pub others: u32,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hide the window; the app keeps running in the tray.
    Hide,
    /// Quit at once.
    Quit,
    /// Ask first: quitting disconnects these many people.
    Ask { others: usize },
}

/// What closing the window does.
pub fn on_close(choice: CloseToTray, used: HostedUse) -> Action {
    match choice {
        CloseToTray::Always => Action::Hide,
        CloseToTray::WhileHosting if used.hosting => Action::Hide,
        CloseToTray::WhileHosting | CloseToTray::Never => on_quit(used),
    }
}

/// What the tray's Quit does.
pub fn on_quit(used: HostedUse) -> Action {
    match used.others {
        0 => Action::Quit,
        others => Action::Ask { others },
    }
}

/// The window's close button (or the window manager's close): hide, quit or ask.
pub async fn window_closed<R: Runtime>(app: &AppHandle<R>) {
    let choice = app.state::<PrefsStore>().get().close_to_tray;
    let used = app.state::<AppState>().hosted_use().await;
    let action = on_close(choice, used);
    tracing::info!(?choice, ?used, ?action, "window closed");
    carry_out(app, action);
}

/// The tray's Quit: quit, or ask first while others use the hosted server.
pub async fn quit_requested<R: Runtime>(app: &AppHandle<R>) {
    let used = app.state::<AppState>().hosted_use().await;
    carry_out(app, on_quit(used));
}

fn carry_out<R: Runtime>(app: &AppHandle<R>, action: Action) {
    match action {
        Action::Hide => {
            if let Some(window) = app.get_webview_window("main")
                && let Err(e) = window.hide()
            {
                tracing::warn!(error = %e, "cannot hide the window");
            }
        }
        Action::Quit => app.exit(0),
        Action::Ask { others } => {
            crate::show_main_window(app);
            let request = QuitRequest {
                others: u32::try_from(others).unwrap_or(u32::MAX),
            };
            if let Err(e) = app.emit(QUIT_REQUESTED, request) {
                // Nobody to ask: quitting anyway would drop the others without a word.
                tracing::warn!(error = %e, "cannot ask the UI about quitting; staying open");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALONE: HostedUse = HostedUse {
        hosting: false,
        others: 0,
    };

    #[test]
    fn by_default_the_window_closes_to_the_tray_only_while_hosting() {
        assert_eq!(on_close(CloseToTray::WhileHosting, ALONE), Action::Quit);
        let hosting = HostedUse {
            hosting: true,
            others: 0,
        };
        assert_eq!(on_close(CloseToTray::WhileHosting, hosting), Action::Hide);
        let hosting_for_two = HostedUse {
            hosting: true,
            others: 2,
        };
        assert_eq!(
            on_close(CloseToTray::WhileHosting, hosting_for_two),
            Action::Hide
        );
    }

    #[test]
    fn always_hides_and_never_quits_but_asks_while_others_are_connected() {
        assert_eq!(on_close(CloseToTray::Always, ALONE), Action::Hide);
        assert_eq!(on_close(CloseToTray::Never, ALONE), Action::Quit);
        let used = HostedUse {
            hosting: true,
            others: 3,
        };
        assert_eq!(
            on_close(CloseToTray::Never, used),
            Action::Ask { others: 3 }
        );
    }

    #[test]
    fn quitting_asks_first_while_others_use_the_hosted_server() {
        assert_eq!(on_quit(ALONE), Action::Quit);
        let hosting_alone = HostedUse {
            hosting: true,
            others: 0,
        };
        assert_eq!(on_quit(hosting_alone), Action::Quit);
        let used = HostedUse {
            hosting: true,
            others: 1,
        };
        assert_eq!(on_quit(used), Action::Ask { others: 1 });
    }
}
