//! # jeco-desktop — the Jeco Chat desktop app
//!
//! A thin Tauri 2 shell: it registers the window and the [`commands`] the UI calls, and little
//! else. The work happens in `jeco-client` (the engine) and, in embedded mode, `jeco-server`
//! running in-process. Native services are small modules with their own tests:
//!
//! - [`keychain`] — sign-in tokens in the OS keychain (a `jeco_client::TokenStore`);
//! - [`embedded`] — the in-process server, data in the app data directory;
//! - [`hosting`] — that server on the local network for a small team, and its addresses;
//! - [`session`] — which server the app talks to and the engine for it;
//! - [`settings`] — environment overrides (`JECO_DESKTOP_*`) and remembered choices;
//! - [`voice`] — voice notes: microphone capture (cpal), Opus in Ogg, playback (rodio);
//! - [`error`] — the `{code, message, fields?}` shape every command error takes;
//! - [`prefs`] — alert preferences (notifications, previews, sounds, volume, do-not-disturb);
//! - [`alerts`] — engine notifications → decision → desktop notification, sound, tray count;
//! - [`notify`], [`sound`], [`tray`] — the native notification, the alert sounds, the tray icon;
//! - [`closing`] — closing the window hides it to the tray (always while hosting for others),
//!   and quitting while others use the hosted server asks first;
//! - [`downloads`] — where saved attachments go (the Save-as dialog starts there);
//! - [`rendering`] — GPU compositing only where there is a GPU (software GL costs ~400 MiB);
//! - [`javascript_jit`] — JavaScriptCore's optimizing JIT tiers off in the web view (less memory).
//!
//! One instance runs at a time (a second launch focuses the first window), and the window's size
//! and position are remembered between runs.

#![forbid(unsafe_code)]

pub mod alerts;
pub mod bindings;
pub mod closing;
pub mod commands;
pub mod downloads;
pub mod embedded;
pub mod error;
pub mod hosting;
pub mod javascript_jit;
pub mod keychain;
pub mod notify;
pub mod prefs;
pub mod rendering;
pub mod session;
pub mod settings;
pub mod sound;
pub mod tray;
pub mod voice;
pub mod webview_memory;

use session::AppState;
use settings::Overrides;
use tauri::{Emitter, Manager};

/// Builds and runs the app until its last window closes.
pub fn run() {
    // First, while this is the only thread: it sets environment variables.
    javascript_jit::apply();
    init_logging();
    let overrides = match Overrides::from_env() {
        Ok(overrides) => overrides,
        Err(message) => {
            eprintln!("jeco-desktop: {message}");
            std::process::exit(2);
        }
    };

    overrides.webkit_memory.before_start();
    let app = match build_app(overrides) {
        Ok(app) => app,
        Err(tauri::Error::PluginInitialization(plugin, reason)) if plugin == "single-instance" => {
            relaunch_after_previous_instance(&reason)
        }
        Err(e) => panic!("the Tauri app builds from tauri.conf.json: {e}"),
    };

    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<AppState>()
        {
            tauri::async_runtime::block_on(state.shutdown());
        }
    });
}

/// A launch right after the previous instance quit can find it still holding the single-instance
/// name and leaving the bus without answering the hand-over. Rather than fail to start, wait a
/// moment and start again from the top, in this same process (its id stays, for whoever launched
/// it), a bounded number of times.
fn relaunch_after_previous_instance(reason: &str) -> ! {
    const ATTEMPTS: &str = "JECO_DESKTOP_RELAUNCH";
    let attempt: u32 = std::env::var(ATTEMPTS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if attempt >= 20 {
        eprintln!("jeco-desktop: another instance is running and does not answer: {reason}");
        std::process::exit(1);
    }
    tracing::warn!(%reason, attempt, "the previous instance is still exiting; starting again");
    std::thread::sleep(std::time::Duration::from_millis(250));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = std::process::Command::new(std::env::current_exe().unwrap_or_default())
            .args(std::env::args_os().skip(1))
            .env(ATTEMPTS, (attempt + 1).to_string())
            .exec();
        eprintln!("jeco-desktop: cannot start again: {error}");
    }
    std::process::exit(1);
}

/// The app with its plugins, state and commands.
fn build_app(overrides: Overrides) -> tauri::Result<tauri::App> {
    tauri::Builder::default()
        // First: a second launch hands over to the running app, which comes to the front.
        .plugin(single_instance_plugin(&overrides))
        .plugin(window_state_plugin(&overrides))
        // The native Save-as dialog, shown by `commands::files` (the web view gets no dialog
        // permission of its own).
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let gpu = overrides.gpu;
            let webkit_memory = overrides.webkit_memory;
            let data_dir = match &overrides.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            std::fs::create_dir_all(&data_dir)?;
            tracing::info!(data_dir = %data_dir.display(), "starting");
            // Starting the embedded server takes a moment (opening and migrating its database);
            // doing it before the window shows means the first screen already knows its server.
            app.manage(prefs::PrefsStore::open(&data_dir));
            let state = tauri::async_runtime::block_on(AppState::start(data_dir, &overrides));
            let alerts = alerts::Alerts::start(app.handle().clone());
            if let Some(window) = app.get_webview_window("main") {
                rendering::apply(&window, gpu);
                webkit_memory.apply(&window);
                alerts
                    .attention
                    .set_focused(window.is_focused().unwrap_or(false));
            }
            app.manage(alerts);
            // Engine events go to the web view as `engine-event` (the UI re-reads what changed)
            // and to the alerts (notifications, sounds, the tray's count).
            let handle = app.handle().clone();
            state.set_event_sink(std::sync::Arc::new(move |event| {
                handle.state::<alerts::Alerts>().on_engine_event(&event);
                if let Err(e) = handle.emit(session::ENGINE_EVENT, event) {
                    tracing::debug!(error = %e, "cannot forward an engine event");
                }
            }));
            app.manage(state);
            app.manage(voice::VoiceState::default());
            if let Err(e) = tray::install(app.handle()) {
                tracing::warn!(error = %e, "no tray icon");
            }
            quit_on_signal(app.handle().clone());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            tauri::WindowEvent::Focused(focused) => {
                if let Some(alerts) = window.try_state::<alerts::Alerts>() {
                    alerts.attention.set_focused(*focused);
                }
                // The engine decides what is read from it: focusing the window reads what is on
                // screen. The task tells it the focus as it is when the task runs (not as this
                // event said), so quick focus changes whose tasks run out of order end right.
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    let (Some(state), Some(alerts)) = (
                        app.try_state::<session::AppState>(),
                        app.try_state::<alerts::Alerts>(),
                    ) else {
                        return;
                    };
                    if let Ok(engine) = state.engine().await
                        && let Err(e) = engine.set_focused(alerts.attention.focused())
                    {
                        tracing::warn!(error = %e, "cannot tell the engine about the focus");
                    }
                });
            }
            // Closing hides to the tray, quits, or asks first: decided with the hosted server's
            // state, which takes an await, so the close is held and carried out afterwards.
            tauri::WindowEvent::CloseRequested { api, .. } if window.label() == "main" => {
                api.prevent_close();
                let app = window.app_handle().clone();
                tauri::async_runtime::spawn(async move { closing::window_closed(&app).await });
            }
            _ => {}
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::set_server_address,
            commands::register,
            commands::login,
            commands::logout,
            commands::limits,
            commands::current_user,
            commands::conversations,
            commands::timeline,
            commands::timeline_window::open_window,
            commands::timeline_window::close_window,
            commands::timeline_window::window_load_older,
            commands::timeline_window::window_jump,
            commands::timeline_window::window_reach,
            commands::timeline_window::window_newest,
            commands::timeline_window::window_following,
            commands::send_message,
            commands::edit_message,
            commands::delete_message,
            commands::react,
            commands::retry_outbox,
            commands::discard_outbox,
            commands::search,
            commands::open_direct,
            commands::join_invite,
            commands::users,
            commands::set_draft,
            commands::draft,
            commands::typing,
            commands::connection_state,
            commands::reconnect_now,
            commands::attachment_data_url,
            commands::files::save_attachment,
            commands::files::open_attachment,
            commands::files::copy_image,
            commands::send_with_files,
            commands::set_hosting,
            commands::inbox::inbox,
            commands::inbox::mark_inbox_read,
            commands::inbox::mark_inbox_all_read,
            commands::set_embedded_running,
            commands::account::my_email,
            commands::account::set_email,
            commands::account::verify_email,
            commands::account::remove_email,
            commands::account::change_password,
            commands::account::request_password_reset,
            commands::account::confirm_password_reset,
            commands::account::sessions,
            commands::account::end_session,
            commands::account::sign_out_others,
            commands::account::export_my_data,
            commands::admin::admin_users,
            commands::admin::deactivate_user,
            commands::admin::reactivate_user,
            commands::admin::admin_set_password,
            commands::admin::set_server_admin,
            commands::admin::media_usage,
            commands::admin::admin_reset_two_factor,
            commands::two_factor::sign_in,
            commands::two_factor::request_login_code,
            commands::two_factor::sign_in_with_code,
            commands::two_factor::complete_two_factor,
            commands::two_factor::two_factor_status,
            commands::two_factor::begin_two_factor,
            commands::two_factor::confirm_two_factor,
            commands::two_factor::disable_two_factor,
            commands::two_factor::regenerate_recovery_codes,
            commands::people::my_profile,
            commands::people::update_profile,
            commands::people::set_avatar,
            commands::people::set_avatar_bytes,
            commands::people::remove_avatar,
            commands::people::avatar_data_url,
            commands::people::create_team,
            commands::people::teams,
            commands::people::team_members,
            commands::people::add_team_member,
            commands::people::set_team_role,
            commands::people::remove_team_member,
            commands::people::transfer_team,
            commands::people::invites,
            commands::people::create_invite,
            commands::people::revoke_invite,
            commands::people::create_channel,
            commands::people::contacts,
            commands::people::request_contact,
            commands::people::answer_contact_request,
            commands::people::cancel_contact_request,
            commands::people::remove_contact,
            commands::directory::team_channels,
            commands::directory::join_channel,
            commands::directory::leave_conversation,
            commands::directory::search_users,
            commands::directory::create_group,
            commands::directory::open_direct_user,
            commands::timeline::thread,
            commands::timeline::threads,
            commands::timeline::messages,
            commands::timeline::set_pinned,
            commands::timeline::pins,
            commands::timeline::read_receipts,
            commands::voice::voice_start,
            commands::voice::voice_cancel,
            commands::voice::voice_send,
            commands::voice::voice_play,
            commands::voice::voice_pause,
            commands::prefs::preferences,
            commands::prefs::set_preferences,
            commands::prefs::set_conversation_muted,
            commands::alerts::set_viewing,
            commands::last_opened,
            commands::alerts::test_sound,
            commands::links::open_link,
            commands::window::quit_app,
        ])
        .build(tauri::generate_context!())
}

/// Brings the main window to the front (a second launch, the tray's "Open", a clicked
/// notification).
pub fn show_main_window<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// One app per data directory: a second launch hands over to the first, which comes to the
/// front, and exits. The default data directory uses the app's identifier; another one (set with
/// `JECO_DESKTOP_DATA_DIR`) gets its own instance, so two accounts in two folders can run side by
/// side (and tests' apps never find each other).
fn single_instance_plugin<R: tauri::Runtime>(
    overrides: &Overrides,
) -> tauri::plugin::TauriPlugin<R> {
    let mut builder = tauri_plugin_single_instance::Builder::new().callback(|app, _argv, _cwd| {
        show_main_window(app);
    });
    if let Some(dir) = &overrides.data_dir {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        dir.hash(&mut hasher);
        builder = builder.dbus_id(format!("chat.jeco.desktop.d{:016x}", hasher.finish()));
    }
    builder.build()
}

/// A session logout, `kill` or Ctrl+C in a terminal ends the app the way its Quit menu does: the
/// window state is written, the engine and the embedded server stop cleanly. Without this, SIGTERM
/// would end the process on the spot and the window would come back at its old size next time.
fn quit_on_signal(handle: tauri::AppHandle) {
    #[cfg(unix)]
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM/SIGINT; they end the app at once");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: quitting"),
            _ = int.recv() => tracing::info!("SIGINT: quitting"),
        }
        handle.exit(0);
    });
    #[cfg(not(unix))]
    let _ = handle;
}

/// Remembers the window's size and position (not whether it is shown: the app always starts
/// visible). With `JECO_DESKTOP_DATA_DIR` the file goes there too, so a test's app leaves nothing
/// in the person's config folder.
fn window_state_plugin<R: tauri::Runtime>(overrides: &Overrides) -> tauri::plugin::TauriPlugin<R> {
    use tauri_plugin_window_state::StateFlags;
    let mut builder = tauri_plugin_window_state::Builder::new()
        .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED);
    if let Some(dir) = &overrides.data_dir {
        builder = builder.with_filename(dir.join("window-state.json").display().to_string());
    }
    builder.build()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JECO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
