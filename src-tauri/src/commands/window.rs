//! The app's own lifetime, as the UI asks for it (see [`crate::closing`]).

use tauri::AppHandle;

/// Quits the app. The UI calls it after the person confirmed quitting while others were
/// connected to the hosted server (the `quit-requested` event).
#[tauri::command]
pub fn quit_app(app: AppHandle) {
    tracing::info!("quitting, as confirmed in the app");
    app.exit(0);
}
