//! The server's token-signing secret: generated on first start, kept in `<data-dir>/secret.key`.
//!
//! There is no built-in default key — a default would let anyone forge tokens for every server that
//! kept it. The file holds 64 random bytes as base64url text and is created with mode 0600 (owner
//! only). Losing it signs everyone out; copying it with the database keeps sessions valid.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::io::Write;
use std::path::{Path, PathBuf};

const SECRET_BYTES: usize = 64;
const MIN_SECRET_BYTES: usize = 32;

/// Signing key material. `Debug` never shows it.
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read signing secret {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create signing secret {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "signing secret {path} is corrupt ({reason}); restore it or delete it to sign everyone out"
    )]
    Corrupt { path: PathBuf, reason: &'static str },
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Reads the secret at `path`, creating it first if it does not exist.
pub fn load_or_create(path: &Path) -> Result<SigningSecret, SecretError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match create(path) {
            Ok(secret) => Ok(secret),
            // Another process created it between our read and create: use theirs.
            Err(SecretError::Create { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                parse(path, &text)
            }
            Err(e) => Err(e),
        },
        Err(source) => Err(SecretError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse(path: &Path, text: &str) -> Result<SigningSecret, SecretError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| SecretError::Corrupt {
            path: path.to_path_buf(),
            reason: "not base64url",
        })?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(SecretError::Corrupt {
            path: path.to_path_buf(),
            reason: "shorter than 32 bytes",
        });
    }
    warn_if_readable_by_others(path);
    Ok(SigningSecret(bytes))
}

/// Writes a new secret to a temporary file beside `path`, syncs it, then links it into place: the
/// link either appears whole or fails with `AlreadyExists`, so instances of a cluster starting at
/// once on a shared data directory never read a half-written secret, and all end up with the one
/// that won.
fn create(path: &Path) -> Result<SigningSecret, SecretError> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| SecretError::Random(e.to_string()))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", URL_SAFE_NO_PAD.encode(suffix)));
    let temporary = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let err = |source| SecretError::Create {
        path: path.to_path_buf(),
        source,
    };
    let written = (|| {
        let mut file = options.open(&temporary)?;
        writeln!(file, "{}", URL_SAFE_NO_PAD.encode(&bytes))?;
        file.sync_all()?;
        std::fs::hard_link(&temporary, path)
    })();
    let _ = std::fs::remove_file(&temporary);
    written.map_err(err)?;
    tracing::info!(path = %path.display(), "generated a new signing secret");
    Ok(SigningSecret(bytes))
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "signing secret is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!(a.bytes().len(), SECRET_BYTES);
        assert_eq!(format!("{a:?}"), "SigningSecret([redacted])");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn two_data_dirs_get_different_secrets() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let a = load_or_create(&d1.path().join("s")).unwrap();
        let b = load_or_create(&d2.path().join("s")).unwrap();
        assert_ne!(a.bytes(), b.bytes());
    }

    #[test]
    fn corrupt_secret_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(SecretError::Corrupt { .. })
        ));
    }

    #[test]
    fn instances_starting_at_once_on_one_directory_all_get_the_same_whole_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let secrets: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| load_or_create(&path).unwrap().bytes().to_vec()))
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| s == &secrets[0]));
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
