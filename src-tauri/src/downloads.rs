//! Where saved attachments go, and under which name.
//!
//! The platform's Downloads folder comes from the OS (XDG user dirs on Linux, Known Folders on
//! Windows, `~/Downloads` on macOS). A Linux desktop without `xdg-user-dirs` has no such setting
//! at all, and saving used to fail there with "No Downloads folder: unknown path" even with
//! `~/Downloads` present; every browser falls back to `~/Downloads`, and so does the app.
//! Names never overwrite: a second `notes.pdf` is saved as `(1) notes.pdf`.

use std::path::{Path, PathBuf};

/// The folder to save into: the OS's Downloads folder, else `<home>/Downloads` (created when
/// saving), else nothing (no home directory either).
pub fn downloads_dir(platform: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    platform.or_else(|| home.map(|h| h.join("Downloads")))
}

/// A safe file name for an attachment: only the last component of the sender's name (never a
/// path of theirs, never a hidden file), else `attachment-<id>`.
pub fn safe_name(sent_name: &str, fallback: impl std::fmt::Display) -> String {
    Path::new(sent_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .unwrap_or_else(|| format!("attachment-{fallback}"))
}

/// `dir/name`, or `dir/(n) name` for the first `n` that does not exist yet.
pub fn free_path(dir: &Path, name: &str) -> PathBuf {
    let mut target = dir.join(name);
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("({n}) {name}"));
        n += 1;
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_xdg_user_dirs_the_home_downloads_folder_is_used() {
        let home = PathBuf::from("/home/ada");
        assert_eq!(
            downloads_dir(None, Some(home.clone())),
            Some(home.join("Downloads"))
        );
        let xdg = PathBuf::from("/home/ada/Téléchargements");
        assert_eq!(downloads_dir(Some(xdg.clone()), Some(home)), Some(xdg));
        assert_eq!(downloads_dir(None, None), None);
    }

    #[test]
    fn names_are_the_last_component_and_never_overwrite() {
        assert_eq!(safe_name("../../etc/passwd", 7), "passwd");
        assert_eq!(safe_name(".bashrc", 7), "attachment-7");
        assert_eq!(safe_name("", 7), "attachment-7");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_path(dir.path(), "a.txt"), dir.path().join("a.txt"));
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        assert_eq!(free_path(dir.path(), "a.txt"), dir.path().join("(1) a.txt"));
    }
}
