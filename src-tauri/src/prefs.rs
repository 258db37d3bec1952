//! The person's preferences: alerts (notifications, message previews, sounds, volume,
//! do-not-disturb) and what closing the window does, kept in `<data dir>/preferences.json`.
//!
//! They belong to the app on this computer, not to an account or a server: switching servers or
//! accounts keeps them. The file is small and written atomically (a temporary file in the same
//! directory, flushed to disk, then renamed over the old one), so a crash mid-save leaves either
//! the old preferences or the new ones, never half a file. A damaged or unreadable file is logged
//! and read as the defaults — missing a preference is better than not starting.
//!
//! Everything the UI sends is checked here ([`Preferences::validate`]): the volume is 0–100 and a
//! "do not disturb until" lies in the future, at most [`DND_MAX_MS`] ahead.

use crate::error::CommandError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The longest "do not disturb until" accepted: one week.
pub const DND_MAX_MS: i64 = 7 * 24 * 3600 * 1000;

/// Do not disturb: no desktop notifications and no sounds while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DoNotDisturb {
    #[default]
    Off,
    /// Until turned off.
    On,
    /// Until this moment (milliseconds since the Unix epoch); off afterwards by itself.
    Until {
        #[serde(rename = "untilMs")]
        until_ms: i64,
    },
}

impl DoNotDisturb {
    /// Whether it silences alerts at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        match self {
            Self::Off => false,
            Self::On => true,
            Self::Until { until_ms } => now_ms < *until_ms,
        }
    }
}

/// What closing the window does (see [`crate::closing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CloseToTray {
    /// Keep running in the tray while the app hosts its server for others on the network (they
    /// would lose their chat otherwise); quit otherwise.
    #[default]
    WhileHosting,
    /// Always keep running in the tray; Quit is in the tray's menu.
    Always,
    /// Closing the window quits (asking first while others are connected to the hosted server).
    Never,
}

/// What the person chose in Settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, rename_all = "camelCase")]
pub struct Preferences {
    /// Desktop notifications for direct messages, mentions and replies.
    pub notifications: bool,
    /// Show the message's text in notifications (otherwise only who and where).
    pub previews: bool,
    /// Alert sounds.
    pub sounds: bool,
    /// Alert volume, 0–100.
    pub volume: u8,
    pub do_not_disturb: DoNotDisturb,
    /// What closing the window does.
    pub close_to_tray: CloseToTray,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            notifications: true,
            previews: true,
            sounds: true,
            volume: 70,
            do_not_disturb: DoNotDisturb::Off,
            close_to_tray: CloseToTray::WhileHosting,
        }
    }
}

impl Preferences {
    /// Refuses values the app cannot honour, with the field at fault.
    pub fn validate(&self, now_ms: i64) -> Result<(), CommandError> {
        if self.volume > 100 {
            return Err(invalid("volume", "must be 0 to 100"));
        }
        if let DoNotDisturb::Until { until_ms } = self.do_not_disturb {
            if until_ms <= now_ms {
                return Err(invalid("doNotDisturb", "must end in the future"));
            }
            if until_ms - now_ms > DND_MAX_MS {
                return Err(invalid("doNotDisturb", "can last at most a week"));
            }
        }
        Ok(())
    }

    /// The volume as a gain factor, 0.0–1.0.
    pub fn gain(&self) -> f32 {
        f32::from(self.volume.min(100)) / 100.0
    }
}

fn invalid(field: &str, problem: &str) -> CommandError {
    CommandError::new(
        "validation_failed",
        format!("This preference is not valid: {field} {problem}."),
    )
    .with_field(field, problem)
}

/// The preferences file and the current preferences, shared by the commands and the alerts.
pub struct PrefsStore {
    path: PathBuf,
    current: Mutex<Preferences>,
}

impl PrefsStore {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("preferences.json")
    }

    /// Reads the saved preferences (defaults when there are none or the file is damaged).
    pub fn open(data_dir: &Path) -> Self {
        let path = Self::path(data_dir);
        let current = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable preferences");
                Preferences::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Preferences::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read preferences");
                Preferences::default()
            }
        };
        Self {
            path,
            current: Mutex::new(current),
        }
    }

    pub fn get(&self) -> Preferences {
        self.lock().clone()
    }

    /// Checks, saves and then adopts `new`. On any failure the old preferences stay, in memory and
    /// on disk.
    pub fn set(&self, new: Preferences, now_ms: i64) -> Result<Preferences, CommandError> {
        new.validate(now_ms)?;
        let mut current = self.lock();
        write_atomically(
            &self.path,
            &serde_json::to_vec_pretty(&new).expect("serializes"),
        )
        .map_err(|e| {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot save preferences");
            CommandError::new("internal", format!("Could not save the preferences: {e}"))
        })?;
        *current = new.clone();
        Ok(new)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Preferences> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes `bytes` to `path` so that a reader (or a crash) sees the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename itself is durable once the directory is.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn defaults_when_missing_and_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(PrefsStore::open(dir.path()).get(), Preferences::default());
        std::fs::write(PrefsStore::path(dir.path()), b"{not json").unwrap();
        assert_eq!(PrefsStore::open(dir.path()).get(), Preferences::default());
        // Fields missing from an older file take their defaults.
        std::fs::write(PrefsStore::path(dir.path()), br#"{"sounds": false}"#).unwrap();
        let p = PrefsStore::open(dir.path()).get();
        assert!(!p.sounds);
        assert!(p.notifications);
        assert_eq!(p.volume, 70);
        // Closing to the tray while hosting is the default, for files from before the setting.
        assert_eq!(p.close_to_tray, CloseToTray::WhileHosting);
    }

    #[test]
    fn saved_preferences_survive_a_restart_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = PrefsStore::open(dir.path());
        let chosen = Preferences {
            notifications: true,
            previews: false,
            sounds: false,
            volume: 35,
            do_not_disturb: DoNotDisturb::Until {
                until_ms: NOW + 3_600_000,
            },
            close_to_tray: CloseToTray::Always,
        };
        assert_eq!(store.set(chosen.clone(), NOW).unwrap(), chosen);
        assert_eq!(store.get(), chosen);
        assert_eq!(PrefsStore::open(dir.path()).get(), chosen);
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, vec!["preferences.json".to_owned()]);
        // The wire shape the UI relies on.
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(PrefsStore::path(dir.path())).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "notifications": true, "previews": false, "sounds": false, "volume": 35,
                "doNotDisturb": {"mode": "until", "untilMs": NOW + 3_600_000},
                "closeToTray": "always"
            })
        );
    }

    #[test]
    fn invalid_preferences_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = PrefsStore::open(dir.path());
        let loud = Preferences {
            volume: 101,
            ..Preferences::default()
        };
        let err = store.set(loud, NOW).unwrap_err();
        assert_eq!(err.code, "validation_failed");
        assert!(err.fields.unwrap().contains_key("volume"));

        for until_ms in [NOW - 1, NOW, NOW + DND_MAX_MS + 1] {
            let p = Preferences {
                do_not_disturb: DoNotDisturb::Until { until_ms },
                ..Preferences::default()
            };
            let err = store.set(p, NOW).unwrap_err();
            assert!(err.fields.unwrap().contains_key("doNotDisturb"));
        }
        assert_eq!(store.get(), Preferences::default());
        assert!(!PrefsStore::path(dir.path()).exists());
    }

    #[test]
    fn a_failed_save_keeps_the_old_preferences() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        std::fs::create_dir(PrefsStore::path(dir.path())).unwrap();
        let store = PrefsStore::open(dir.path());
        let err = store
            .set(
                Preferences {
                    sounds: false,
                    ..Preferences::default()
                },
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.code, "internal");
        assert!(store.get().sounds);
    }

    #[test]
    fn do_not_disturb_ends_by_itself() {
        assert!(!DoNotDisturb::Off.is_active(NOW));
        assert!(DoNotDisturb::On.is_active(NOW));
        let until = DoNotDisturb::Until { until_ms: NOW + 10 };
        assert!(until.is_active(NOW));
        assert!(!until.is_active(NOW + 10));
    }
}
