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
//! - [`error`] — the `{code, message, fields?}` shape every command error takes.

#![forbid(unsafe_code)]

pub mod bindings;
pub mod commands;
pub mod embedded;
pub mod error;
pub mod hosting;
pub mod keychain;
pub mod session;
pub mod settings;
pub mod voice;

use session::AppState;
use settings::Overrides;
use tauri::{Emitter, Manager};

/// Builds and runs the app until its last window closes.
pub fn run() {
    init_logging();
    let overrides = match Overrides::from_env() {
        Ok(overrides) => overrides,
        Err(message) => {
            eprintln!("jeco-desktop: {message}");
            std::process::exit(2);
        }
    };

    let app = tauri::Builder::default()
        .setup(move |app| {
            let data_dir = match &overrides.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            std::fs::create_dir_all(&data_dir)?;
            tracing::info!(data_dir = %data_dir.display(), "starting");
            // Starting the embedded server takes a moment (opening and migrating its database);
            // doing it before the window shows means the first screen already knows its server.
            let state = tauri::async_runtime::block_on(AppState::start(data_dir, &overrides));
            // Engine events go to the web view as `engine-event`; the UI re-reads what changed.
            let handle = app.handle().clone();
            state.set_event_sink(std::sync::Arc::new(move |event| {
                if let Err(e) = handle.emit(session::ENGINE_EVENT, event) {
                    tracing::debug!(error = %e, "cannot forward an engine event");
                }
            }));
            app.manage(state);
            app.manage(voice::VoiceState::default());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::set_server_address,
            commands::register,
            commands::login,
            commands::logout,
            commands::current_user,
            commands::conversations,
            commands::timeline,
            commands::send_message,
            commands::edit_message,
            commands::delete_message,
            commands::react,
            commands::mark_read,
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
            commands::save_attachment,
            commands::send_with_files,
            commands::set_hosting,
            commands::inbox::inbox,
            commands::inbox::mark_inbox_read,
            commands::inbox::mark_inbox_all_read,
            commands::set_embedded_running,
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
            commands::timeline::thread,
            commands::timeline::messages,
            commands::timeline::set_pinned,
            commands::timeline::pins,
            commands::timeline::read_receipts,
            commands::voice::voice_start,
            commands::voice::voice_cancel,
            commands::voice::voice_send,
            commands::voice::voice_play,
            commands::voice::voice_pause,
        ])
        .build(tauri::generate_context!())
        .expect("the Tauri app builds from tauri.conf.json");

    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(state) = handle.try_state::<AppState>()
        {
            tauri::async_runtime::block_on(state.shutdown());
        }
    });
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JECO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
