//! The UI's TypeScript types, generated from the Rust types (ts-rs) into `ui/src/bindings/`.
//!
//! The UI must never describe by hand what Rust sends it: a field renamed in `jeco-shared` or the
//! engine would otherwise compile on both sides and break at run time. The generated files are
//! committed, and the test below fails when they are stale, so `./dev test` (and CI) catch a Rust
//! change the UI was not regenerated for. Regenerate with `./dev bindings`
//! (`JECO_UPDATE_BINDINGS=1 cargo test -p jeco-desktop bindings`).

use std::path::{Path, PathBuf};

/// Where the bindings live in the repository.
pub fn bindings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
}

/// Writes the declarations of every type the commands and events carry (and what they use) into
/// `dir`, one file per type.
pub fn export(dir: &Path) -> Result<(), ts_rs::ExportError> {
    use ts_rs::TS;
    // Ids and timestamps are i64 in Rust; they stay far below 2^53, so plain numbers in TS.
    let cfg = ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(dir);
    crate::session::AppStatus::export_all(&cfg)?;
    crate::error::CommandError::export_all(&cfg)?;
    jeco_shared::users::User::export_all(&cfg)?;
    jeco_shared::conversations::Conversation::export_all(&cfg)?;
    jeco_shared::teams::Team::export_all(&cfg)?;
    jeco_client::Timeline::export_all(&cfg)?;
    jeco_client::SearchResult::export_all(&cfg)?;
    jeco_client::OutboxItem::export_all(&cfg)?;
    jeco_client::EngineEvent::export_all(&cfg)?;
    jeco_client::MessageRef::export_all(&cfg)?;
    jeco_client::cache::Draft::export_all(&cfg)?;
    crate::commands::people::TeamMember::export_all(&cfg)?;
    crate::commands::inbox::InboxItem::export_all(&cfg)?;
    crate::commands::people::ContactsView::export_all(&cfg)?;
    jeco_shared::users::UpdateProfileRequest::export_all(&cfg)?;
    jeco_shared::teams::Invite::export_all(&cfg)?;
    jeco_shared::teams::Channel::export_all(&cfg)?;
    jeco_client::Thread::export_all(&cfg)?;
    jeco_client::ThreadEntry::export_all(&cfg)?;
    crate::commands::timeline::ReadReceipt::export_all(&cfg)?;
    crate::voice::VoiceEvent::export_all(&cfg)?;
    crate::prefs::Preferences::export_all(&cfg)?;
    crate::alerts::burst::OpenMessage::export_all(&cfg)?;
    crate::sound::Sound::export_all(&cfg)?;
    crate::closing::QuitRequest::export_all(&cfg)?;
    jeco_shared::account::EmailStatus::export_all(&cfg)?;
    jeco_shared::account::SessionInfo::export_all(&cfg)?;
    jeco_shared::admin::AdminUserPage::export_all(&cfg)?;
    jeco_shared::admin::AdminPasswordReset::export_all(&cfg)?;
    jeco_shared::media::MediaUsageReport::export_all(&cfg)?;
    crate::commands::two_factor::SignInView::export_all(&cfg)?;
    crate::commands::two_factor::TwoFactorSignedIn::export_all(&cfg)?;
    jeco_shared::two_factor::TwoFactorStatus::export_all(&cfg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".ts") {
                    files.insert(name, std::fs::read_to_string(entry.path()).unwrap());
                }
            }
        }
        files
    }

    #[test]
    fn bindings_are_up_to_date() {
        let fresh = tempfile::tempdir().unwrap();
        export(fresh.path()).unwrap();
        let generated = read_dir(fresh.path());
        assert!(generated.contains_key("EngineEvent.ts"));
        let committed_dir = bindings_dir();
        if std::env::var_os("JECO_UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed_dir);
            std::fs::create_dir_all(&committed_dir).unwrap();
            for (name, text) in &generated {
                std::fs::write(committed_dir.join(name), text).unwrap();
            }
            return;
        }
        let committed = read_dir(&committed_dir);
        let stale: Vec<&String> = generated
            .keys()
            .chain(committed.keys())
            .filter(|name| generated.get(*name) != committed.get(*name))
            .collect();
        assert!(
            stale.is_empty(),
            "ui/src/bindings is stale ({stale:?}); regenerate with `./dev bindings`"
        );
    }
}
