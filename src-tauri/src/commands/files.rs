//! Attachments leaving the app: saved where the person chooses (a native Save-as dialog that
//! starts in the Downloads folder), opened with the system's default application, or an image
//! copied to the clipboard.
//!
//! Every one starts from the engine's media cache (downloaded into it first when needed), so an
//! attachment seen once can be saved or opened offline. The web view never gets a path to choose:
//! the dialog and the opener run here.

use crate::downloads;
use crate::error::CommandError;
use crate::session::AppState;
use jeco_shared::media::{Attachment, AttachmentKind};
use std::path::{Path, PathBuf};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;

/// Test stand-in for the Save-as dialog: a native dialog cannot be driven by WebDriver, so the
/// desktop end-to-end tests set this to the path "chosen" in it (empty: the dialog was
/// cancelled). Never set in normal use.
pub const ENV_E2E_SAVE_AS: &str = "JECO_E2E_SAVE_AS";

/// Saves an attachment where the person chooses in a Save-as dialog that starts in their
/// Downloads folder with the attachment's name. Returns where it went, or `None` when the dialog
/// was cancelled.
#[tauri::command]
pub async fn save_attachment(
    app: AppHandle,
    state: State<'_, AppState>,
    attachment: Attachment,
) -> Result<Option<String>, CommandError> {
    let engine = state.engine().await?;
    let cached = engine.attachment_file(&attachment, false).await?;
    let name = downloads::safe_name(&attachment.name, attachment.id);
    let Some(target) = ask_where_to_save(&app, &name).await? else {
        return Ok(None);
    };
    copy_to(&cached, &target)?;
    Ok(Some(target.display().to_string()))
}

/// The Save-as dialog, starting in the Downloads folder with `name`: the path chosen, or `None`
/// when it was cancelled. Also used by "Download my data" (`commands::account`).
pub(crate) async fn ask_where_to_save(
    app: &AppHandle,
    name: &str,
) -> Result<Option<PathBuf>, CommandError> {
    let start =
        downloads::downloads_dir(app.path().download_dir().ok(), app.path().home_dir().ok());
    // The dialog opens where the folder is, so it must exist (`~/Downloads` may not yet).
    if let Some(dir) = &start
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot create the Downloads folder");
    }
    choose_target(app, start.filter(|d| d.is_dir()), name).await
}

/// The path picked in the Save-as dialog (`None`: cancelled).
async fn choose_target(
    app: &AppHandle,
    start: Option<PathBuf>,
    name: &str,
) -> Result<Option<PathBuf>, CommandError> {
    if let Some(chosen) = std::env::var_os(ENV_E2E_SAVE_AS) {
        return Ok((!chosen.is_empty()).then(|| PathBuf::from(chosen)));
    }
    let mut dialog = app.dialog().file().set_title("Save as").set_file_name(name);
    if let Some(dir) = start {
        dialog = dialog.set_directory(dir);
    }
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    dialog.save_file(move |path| {
        let _ = tx.send(path);
    });
    let chosen = rx
        .await
        .map_err(|_| CommandError::new("internal", "The Save-as dialog went away."))?;
    chosen
        .map(|path| {
            path.into_path().map_err(|e| {
                CommandError::new("internal", format!("Cannot save to that place: {e}"))
            })
        })
        .transpose()
}

/// Copies the cached file to `target`, replacing a file there (the Save-as dialog has asked).
fn copy_to(cached: &Path, target: &Path) -> Result<(), CommandError> {
    std::fs::copy(cached, target)
        .map(|_| ())
        .map_err(|e| CommandError::new("internal", format!("Cannot save the file: {e}")))
}

/// Opens an attachment with the system's default application for its type. The engine's cached
/// copy has no name of its own, so the file is first copied under its real name (the application
/// and the person see `report.pdf`, not a cache key) into the app's cache folder.
#[tauri::command]
pub async fn open_attachment(
    app: AppHandle,
    state: State<'_, AppState>,
    attachment: Attachment,
) -> Result<(), CommandError> {
    let engine = state.engine().await?;
    let cached = engine.attachment_file(&attachment, false).await?;
    let dir = app
        .path()
        .app_cache_dir()
        .map_err(|e| CommandError::new("internal", format!("No cache folder: {e}")))?
        .join("opened")
        .join(attachment.id.to_string());
    let target = dir.join(downloads::safe_name(&attachment.name, attachment.id));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::copy(&cached, &target))
        .map_err(|e| CommandError::new("internal", format!("Cannot prepare the file: {e}")))?;
    tauri_plugin_opener::open_path(&target, None::<&str>).map_err(|e| {
        CommandError::new(
            "open_failed",
            format!("No application could open {}: {e}", attachment.name),
        )
    })
}

/// Copies an image attachment to the clipboard as an image (pasted as a picture elsewhere, not as
/// a link). On Linux through GTK's clipboard, which the app already links; elsewhere
/// `not_supported`, and the UI uses the web view's clipboard instead.
#[tauri::command]
pub async fn copy_image(
    app: AppHandle,
    state: State<'_, AppState>,
    attachment: Attachment,
) -> Result<(), CommandError> {
    if attachment.kind != AttachmentKind::Image {
        return Err(CommandError::new(
            "validation_failed",
            "Only images can be copied as pictures.",
        ));
    }
    let engine = state.engine().await?;
    let cached = engine.attachment_file(&attachment, false).await?;
    let bytes = tokio::fs::read(&cached)
        .await
        .map_err(|e| CommandError::new("internal", format!("Cannot read the image: {e}")))?;
    clipboard::put_image(&app, bytes).await
}

#[cfg(target_os = "linux")]
mod clipboard {
    use crate::error::CommandError;
    use gtk::gdk_pixbuf::PixbufLoader;
    use gtk::prelude::*;
    use tauri::AppHandle;

    /// Decodes the image and hands it to GTK's clipboard, on the GTK main thread (the only one
    /// allowed to touch it). The app owns the clipboard's content while it runs.
    pub async fn put_image(app: &AppHandle, bytes: Vec<u8>) -> Result<(), CommandError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        app.run_on_main_thread(move || {
            let result = (|| {
                let loader = PixbufLoader::new();
                loader.write(&bytes)?;
                loader.close()?;
                Ok::<_, gtk::glib::Error>(loader.pixbuf())
            })();
            let outcome = match result {
                Ok(Some(pixbuf)) => {
                    gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD).set_image(&pixbuf);
                    Ok(())
                }
                Ok(None) | Err(_) => Err(()),
            };
            let _ = tx.send(outcome);
        })
        .map_err(|e| CommandError::new("internal", format!("Cannot reach the clipboard: {e}")))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => Err(CommandError::new(
                "validation_failed",
                "This image cannot be decoded for the clipboard.",
            )),
            Err(_) => Err(CommandError::new(
                "internal",
                "The clipboard did not answer.",
            )),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod clipboard {
    use crate::error::CommandError;
    use tauri::AppHandle;

    pub async fn put_image(_app: &AppHandle, _bytes: Vec<u8>) -> Result<(), CommandError> {
        Err(CommandError::new(
            "not_supported",
            "Copying images is done by the web view on this system.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_replaces_the_chosen_file_and_reports_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let cached = dir.path().join("cache-key");
        std::fs::write(&cached, b"new").unwrap();
        let target = dir.path().join("notes.txt");
        std::fs::write(&target, b"old").unwrap();
        copy_to(&cached, &target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let err = copy_to(&cached, &dir.path().join("missing/notes.txt")).unwrap_err();
        assert_eq!(err.code, "internal");
    }
}
