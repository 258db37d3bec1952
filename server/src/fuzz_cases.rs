//! The fuzz targets' seed corpus and found crashes (`fuzz/corpus/<target>`,
//! `fuzz/regressions/<target>`), for the unit tests that replay them on every `cargo test`.

/// Every case of `target`, with its path.
pub(crate) fn cases(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    assert!(!out.is_empty(), "no seed corpus for {target}");
    out
}

/// Runs `check` on every case of `target`; a panic names the file.
pub(crate) fn replay(target: &str, check: fn(&[u8])) {
    for (path, data) in cases(target) {
        let caught = std::panic::catch_unwind(|| check(&data));
        assert!(caught.is_ok(), "{target}: {} fails", path.display());
    }
}
