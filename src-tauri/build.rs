//! Points tauri-build at the repository-root `tauri.conf.json` (the design card keeps it there, next to
//! `ui/` and `icons/`), and fails early with a useful message when the UI has not been built yet —
//! the release binary embeds `ui/dist`, and tauri's own error for a missing folder does not say how
//! to make it.

use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("..");
    let config = Path::new(&manifest_dir).join("tauri.conf.json");
    println!("cargo:rerun-if-changed={}", config.display());

    let embeds_ui = std::env::var_os("CARGO_FEATURE_EMBED_UI").is_some();
    let index = root.join("ui").join("dist").join("index.html");
    println!("cargo:rerun-if-changed={}", index.display());
    if embeds_ui && !index.exists() {
        panic!(
            "ui/dist/index.html is missing: build the UI first with \
             `npm --prefix ui install && npm --prefix ui run build` \
             (or build with --no-default-features to load the Vite dev server instead)"
        );
    }

    tauri_build::try_build(tauri_build::Attributes::new().config_path(config))
        .expect("tauri-build failed");
}
