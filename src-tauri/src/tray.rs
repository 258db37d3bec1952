//! The tray (status area) icon: the unread count at a glance, and Open / Quit. Closing the window
//! can leave the app running here (see [`crate::closing`]); Quit asks first while others use the
//! hosted server.
//!
//! The count is the unread messages of conversations that are not muted — the same rule as the
//! sidebar's badges — shown as the icon's title (the text next to it, on Linux and macOS) and its
//! tooltip (Windows and macOS). A desktop without a status area still runs the app: failing to
//! make the icon is logged, not fatal.

use jeco_shared::conversations::Conversation;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

/// The tray icon's id.
pub const TRAY_ID: &str = "main";

/// Unread messages worth showing: muted conversations do not count.
pub fn unread_total(conversations: &[Conversation]) -> u64 {
    conversations
        .iter()
        .filter(|c| !c.muted)
        .map(|c| u64::from(c.unread_count))
        .sum()
}

/// The tooltip and the title for `unread` messages (no title when there is nothing unread).
pub fn labels(unread: u64) -> (String, Option<String>) {
    match unread {
        0 => ("Jeco Chat".to_owned(), None),
        1 => (
            "Jeco Chat — 1 unread message".to_owned(),
            Some("1".to_owned()),
        ),
        n => (
            format!("Jeco Chat — {n} unread messages"),
            Some(if n > 99 {
                "99+".to_owned()
            } else {
                n.to_string()
            }),
        ),
    }
}

/// Creates the tray icon with its menu.
pub fn install<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Jeco Chat", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let (tooltip, _) = labels(0);
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip(tooltip)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_main_window(app),
            "quit" => {
                let app = app.clone();
                tauri::async_runtime::spawn(
                    async move { crate::closing::quit_requested(&app).await },
                );
            }
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// Shows `unread` on the tray icon (if there is one).
pub fn show_unread<R: Runtime>(app: &AppHandle<R>, unread: u64) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let (tooltip, title) = labels(unread);
    if let Err(e) = tray
        .set_tooltip(Some(&tooltip))
        .and_then(|_| tray.set_title(title.as_deref()))
    {
        tracing::debug!(error = %e, "cannot update the tray icon");
    }
    // The window title says it too, for task bars that show no tray.
    if let Some(window) = app.get_webview_window("main") {
        let title = match unread {
            0 => "Jeco Chat".to_owned(),
            n => format!("Jeco Chat ({n})"),
        };
        let _ = window.set_title(&title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_count_and_cap() {
        assert_eq!(labels(0), ("Jeco Chat".to_owned(), None));
        assert_eq!(labels(1).1.as_deref(), Some("1"));
        assert_eq!(labels(1).0, "Jeco Chat — 1 unread message");
        assert_eq!(labels(42).0, "Jeco Chat — 42 unread messages");
        assert_eq!(labels(100).1.as_deref(), Some("99+"));
    }

    #[test]
    fn muted_conversations_do_not_count() {
        let mut a: Conversation = serde_json::from_value(serde_json::json!({
            "id": 1, "kind": "group", "name": "a", "created_at": "2026-01-01T00:00:00Z",
            "last_activity_at": "2026-01-01T00:00:00Z", "last_seq": 9, "read_seq": 6,
            "unread_count": 3, "mention_count": 0, "my_role": "member", "last_message": null,
            "members": [], "muted": false
        }))
        .unwrap();
        let mut b = a.clone();
        b.unread_count = 5;
        b.muted = true;
        assert_eq!(unread_total(&[a.clone(), b.clone()]), 3);
        a.muted = true;
        assert_eq!(unread_total(&[a, b]), 0);
    }
}
