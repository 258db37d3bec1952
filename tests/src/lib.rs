//! # jeco-e2e — end-to-end scenarios across real processes
//!
//! Support code for the scenarios in `tests/`: the built desktop app driven through `tauri-driver` and
//! WebKitWebDriver ([`desktop`]), and a small WebDriver client over plain HTTP ([`webdriver`]) —
//! the protocol is a handful of JSON requests, so a heavy client crate would buy nothing.

#![forbid(unsafe_code)]

pub mod desktop;
pub mod heapsnap;
pub mod inspector;
pub mod process;
pub mod proxy;
pub mod webdriver;
#[cfg(unix)]
pub mod x11;

use std::path::PathBuf;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}
