//! Backup and restore on real SQLite files and media directories, in process. The scenario with
//! a serving `jeco-server` under write load is in the e2e crate (`tests/tests/sync/backup.rs`).

use super::*;
use crate::Config;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{AccountStore, NewUser};
use std::path::{Path, PathBuf};

const CONTENT: &[u8] = b"the bytes of an attachment";

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A data directory with a migrated database, a signing secret, one user with one attachment
/// (its blob on disk, with a thumbnail) and one orphaned blob row whose object is already gone.
async fn data_dir(root: &Path) -> Config {
    let config = Config::with_data_dir(root.join("data"));
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::fs::write(
        config.secret_path(),
        "not a real secret, but bytes to carry",
    )
    .unwrap();
    let storage = SqliteStorage::open(config.database_path(), 1)
        .await
        .unwrap();
    let user = storage
        .create_user(NewUser {
            username: "alice".into(),
            password_hash: "h".into(),
            display_name: None,
            is_admin: false,
            created_at_ms: 1,
        })
        .await
        .unwrap();
    drop(storage);
    let sha = sha256_hex(CONTENT);
    let orphan = sha256_hex(b"deleted long ago");
    let c = rusqlite::Connection::open(config.database_path()).unwrap();
    c.execute_batch(&format!(
        "INSERT INTO media_blobs (sha256, size, content_type, thumbnail_state, created_at)
             VALUES ('{sha}', {}, 'image/png', 'ready', 1), ('{orphan}', 16, 'text/plain', 'none', 1);
         INSERT INTO attachments (uploader_id, blob_sha256, kind, name, created_at)
             VALUES ({}, '{sha}', 'image', 'a.png', 1);
         INSERT INTO uploads (id, uploader_id, name, kind, size, created_at, updated_at)
             VALUES ('u1', {}, 'half.bin', 'file', 100, 1, 1);",
        CONTENT.len(),
        user.id.0,
        user.id.0,
    ))
    .unwrap();
    let media = config.media_path();
    for (folder, bytes) in [("blobs", CONTENT), ("thumbs", &b"a small picture"[..])] {
        let dir = media.join(folder).join(&sha[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&sha), bytes).unwrap();
    }
    config
}

fn run_backup(config: &Config, to: &Path) -> Result<(Manifest, Vec<String>), BackupError> {
    let mut lines = Vec::new();
    let manifest = backup(config, to, &mut |l| lines.push(l.to_owned()))?;
    Ok((manifest, lines))
}

fn run_restore(config: &Config, from: &Path) -> Result<Manifest, RestoreError> {
    restore(config, from, &mut |_| {})
}

/// Every file below `dir`, relative, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_backup_restores_the_database_secret_and_media_it_refers_to() {
    let root = tempfile::tempdir().unwrap();
    let config = data_dir(root.path()).await;
    let archive = root.path().join("backup.tar");
    let (manifest, lines) = run_backup(&config, &archive).unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("snapshot taken")),
        "{lines:?}"
    );
    assert_eq!(manifest.format, FORMAT);
    assert!(manifest.secret_key.is_some());
    assert!(manifest.media.included);
    let sha = sha256_hex(CONTENT);
    let keys: Vec<&str> = manifest
        .media
        .objects
        .iter()
        .map(|o| o.key.as_str())
        .collect();
    // The orphan's row is dropped from the snapshot rather than promised without its object.
    assert_eq!(
        keys,
        [
            format!("blobs/{}/{sha}", &sha[..2]),
            format!("thumbs/{}/{sha}", &sha[..2])
        ]
    );
    // Nothing but the archive is left beside it.
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside.len(), 2, "{beside:?}");

    let target = Config::with_data_dir(root.path().join("restored"));
    let restored = run_restore(&target, &archive).unwrap();
    assert_eq!(restored, manifest);
    assert_eq!(
        files(&target.media_path()),
        files(&config.media_path()),
        "the media files come back byte for byte"
    );
    assert_eq!(
        std::fs::read(target.secret_path()).unwrap(),
        std::fs::read(config.secret_path()).unwrap()
    );
    // The database opens as a server's, and holds the user, the attachment and no upload.
    let storage = SqliteStorage::open(target.database_path(), 2)
        .await
        .unwrap();
    assert!(storage.user_by_username("alice").await.unwrap().is_some());
    drop(storage);
    let c = rusqlite::Connection::open(target.database_path()).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM attachments"), 1);
    assert_eq!(count("SELECT COUNT(*) FROM media_blobs"), 1);
    assert_eq!(count("SELECT COUNT(*) FROM uploads"), 0);
}

#[tokio::test]
async fn restore_refuses_a_directory_that_is_not_empty() {
    let root = tempfile::tempdir().unwrap();
    let config = data_dir(root.path()).await;
    let archive = root.path().join("backup.tar");
    run_backup(&config, &archive).unwrap();
    // The live data directory itself.
    let before = files(&config.data_dir);
    let err = run_restore(&config, &archive).unwrap_err();
    assert!(matches!(err, RestoreError::NotEmpty(_)), "{err}");
    assert!(err.to_string().contains("is not empty"), "{err}");
    assert_eq!(files(&config.data_dir), before, "nothing was touched");
    // A separate media directory that holds something is refused too.
    let mut target = Config::with_data_dir(root.path().join("new"));
    target.media_dir = Some(root.path().join("elsewhere"));
    std::fs::create_dir_all(root.path().join("elsewhere")).unwrap();
    std::fs::write(root.path().join("elsewhere/x"), "x").unwrap();
    assert!(matches!(
        run_restore(&target, &archive),
        Err(RestoreError::NotEmpty(p)) if p.ends_with("elsewhere")
    ));
}

#[tokio::test]
async fn a_cut_short_or_damaged_archive_is_refused_and_leaves_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let config = data_dir(root.path()).await;
    let archive = root.path().join("backup.tar");
    let (manifest, _) = run_backup(&config, &archive).unwrap();
    let bytes = std::fs::read(&archive).unwrap();

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut in half", bytes[..bytes.len() / 2].to_vec()),
        // At an entry boundary: the archive reads as complete, but files are missing.
        ("cut after the database", {
            let mut n = 0;
            let mut offset = 0;
            let mut a = tar::Archive::new(bytes.as_slice());
            for e in a.entries().unwrap() {
                let e = e.unwrap();
                n += 1;
                if n == 2 {
                    offset =
                        e.raw_file_position() as usize + e.size().next_multiple_of(512) as usize;
                    break;
                }
            }
            bytes[..offset].to_vec()
        }),
        ("empty", Vec::new()),
        ("not a tar", b"hello, this is not an archive".repeat(40)),
    ];
    // One byte of the database's content flipped.
    let mut flipped = bytes.clone();
    let at = {
        let mut a = tar::Archive::new(bytes.as_slice());
        let mut entries = a.entries().unwrap();
        entries.next();
        let db = entries.next().unwrap().unwrap();
        assert_eq!(db.path().unwrap().to_str(), Some(DATABASE));
        db.raw_file_position() as usize + 2000
    };
    flipped[at] ^= 0x55;
    cases.push(("one byte flipped", flipped));

    for (what, bytes) in cases {
        let damaged = root.path().join("damaged.tar");
        std::fs::write(&damaged, &bytes).unwrap();
        let target = Config::with_data_dir(root.path().join("target"));
        let err = run_restore(&target, &damaged).unwrap_err();
        assert!(
            matches!(err, RestoreError::Damaged { .. }),
            "{what}: {err:?}"
        );
        assert!(
            err.to_string().contains("is not a complete Jeco backup"),
            "{what}: {err}"
        );
        assert!(!target.data_dir.exists(), "{what}: the restore cleaned up");
    }
    // A manifest of a newer layout gets its own answer.
    let mut newer = manifest.clone();
    newer.version = FORMAT_VERSION + 1;
    let mut tar = tar::Builder::new(Vec::new());
    let json = serde_json::to_vec(&newer).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    tar.append_data(&mut header, MANIFEST, json.as_slice())
        .unwrap();
    let newer_archive = root.path().join("newer.tar");
    std::fs::write(&newer_archive, tar.into_inner().unwrap()).unwrap();
    let target = Config::with_data_dir(root.path().join("target"));
    assert!(matches!(
        run_restore(&target, &newer_archive),
        Err(RestoreError::Unsupported { found, .. }) if found == FORMAT_VERSION + 1
    ));
}

#[tokio::test]
async fn a_referenced_object_missing_from_the_media_directory_fails_the_backup() {
    let root = tempfile::tempdir().unwrap();
    let config = data_dir(root.path()).await;
    let sha = sha256_hex(CONTENT);
    std::fs::remove_file(config.media_path().join("blobs").join(&sha[..2]).join(&sha)).unwrap();
    let archive = root.path().join("backup.tar");
    std::fs::write(&archive, "an older backup").unwrap();
    let err = run_backup(&config, &archive).unwrap_err();
    assert!(matches!(err, BackupError::MediaMissing { .. }), "{err}");
    // The file at the target is untouched, and no temporary file is left.
    assert_eq!(std::fs::read(&archive).unwrap(), b"an older backup");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 2);
}

#[tokio::test]
async fn a_missing_database_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let config = Config::with_data_dir(root.path().join("nothing-here"));
    let err = run_backup(&config, &root.path().join("b.tar")).unwrap_err();
    assert!(err.to_string().contains("there is no database"), "{err}");
    assert!(
        !config.data_dir.exists(),
        "a backup creates no data directory"
    );
}

#[test]
fn only_names_the_server_makes_are_media_objects() {
    let sha = sha256_hex(b"x");
    assert!(is_object_key(&format!("blobs/{}/{sha}", &sha[..2])));
    assert!(is_object_key(&format!("thumbs/{}/{sha}", &sha[..2])));
    for bad in [
        format!("blobs/zz/{sha}"),
        format!("blobs/{}/{sha}/x", &sha[..2]),
        format!("../{}/{sha}", &sha[..2]),
        format!("blobs/{}/{}", &sha[..2], &sha[..10]),
        format!("other/{}/{sha}", &sha[..2]),
        format!("blobs/{}/{}", &sha[..2], sha.to_uppercase()),
    ] {
        assert!(!is_object_key(&bad), "{bad}");
    }
}
