//! Where a session's token pair lives between runs.
//!
//! The engine only needs three operations — load, save, clear — so storage is a small trait and
//! each embedding picks the safest place it has: the desktop app the OS keychain, the CLI a `0600`
//! file, tests memory. A store holds the tokens of one account on one server; the caller chooses the
//! key (usually the server address) when it builds the store.
//!
//! Stores are synchronous on purpose: keychains are synchronous APIs, and a save is a few hundred
//! bytes. Failures are errors, never silently ignored: a store that cannot keep tokens must say so
//! rather than leave a person signed out by surprise — or signed in where they thought they were not.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A saved session: the token pair plus when the access token expires.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds after which the access token is expired.
    pub access_expires_at: u64,
}

impl StoredTokens {
    /// Tokens from a login/register/refresh answer, with the expiry made absolute.
    pub fn from_response(response: &jeco_shared::auth::TokenResponse) -> Self {
        Self {
            access_token: response.access_token.clone(),
            refresh_token: response.refresh_token.clone(),
            access_expires_at: unix_now().saturating_add(response.expires_in),
        }
    }

    /// True when the access token is expired or expires within `margin_secs` (refresh a little early
    /// so a request is not sent with a token that dies on the way).
    pub fn access_expires_within(&self, margin_secs: u64) -> bool {
        unix_now().saturating_add(margin_secs) >= self.access_expires_at
    }
}

impl fmt::Debug for StoredTokens {
    // Tokens are credentials: they must not end up in logs through a `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a token store could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum TokenStoreError {
    #[error("could not {action} the token file {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {} is corrupt: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A platform credential store (keychain) failed; `backend` names it for the message.
    #[error("the {backend} could not {action} the sign-in tokens: {message}")]
    Backend {
        backend: &'static str,
        action: &'static str,
        message: String,
    },
}

/// Keeps one session's tokens.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The saved tokens, or `None` when nobody is signed in.
    fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError>;
    /// Replaces the saved tokens.
    fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError>;
    /// Forgets the tokens. Clearing an empty store is not an error.
    fn clear(&self) -> Result<(), TokenStoreError>;
}

/// Tokens in memory only: gone when the process exits. For tests and one-shot tools.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<StoredTokens>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        Ok(())
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}

/// Tokens in a JSON file readable only by its owner (mode `0600` on Unix, written atomically via a
/// temporary file and a rename, so a crash never leaves half a file). For the CLI and headless use.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(
        &self,
        action: &'static str,
        path: &Path,
    ) -> impl FnOnce(std::io::Error) -> TokenStoreError {
        let path = path.to_owned();
        move |source| TokenStoreError::Io {
            action,
            path,
            source,
        }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", &self.path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| TokenStoreError::Corrupt {
                path: self.path.clone(),
                source,
            })
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(self.io("create the folder of", &self.path))?;
        }
        let tmp = self.path.with_extension("tmp");
        let json = serde_json::to_vec(tokens).expect("token JSON serializes");
        {
            let mut file = private_file(&tmp).map_err(self.io("create", &tmp))?;
            file.write_all(&json).map_err(self.io("write", &tmp))?;
            file.sync_all().map_err(self.io("flush", &tmp))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(self.io("replace", &self.path))
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("delete", &self.path)(e)),
        }
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies when the file is created; a leftover temp file keeps its old mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u64) -> StoredTokens {
        StoredTokens {
            access_token: format!("access-{n}"),
            refresh_token: format!("refresh-{n}"),
            access_expires_at: 1_000 + n,
        }
    }

    fn round_trip(store: &dyn TokenStore) {
        assert_eq!(store.load().unwrap(), None);
        store.save(&sample(1)).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample(1)));
        store.save(&sample(2)).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample(2)));
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.clear().unwrap();
    }

    #[test]
    fn memory_store_round_trips() {
        round_trip(&MemoryTokenStore::new());
    }

    #[test]
    fn file_store_round_trips_and_creates_folders() {
        let dir = tempfile::tempdir().unwrap();
        round_trip(&FileTokenStore::new(dir.path().join("a/b/tokens.json")));
    }

    #[cfg(unix)]
    #[test]
    fn file_store_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokens.json");
        FileTokenStore::new(&path).save(&sample(1)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"not json").unwrap();
        let err = FileTokenStore::new(&path).load().unwrap_err();
        assert!(matches!(err, TokenStoreError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn debug_redacts_tokens() {
        let shown = format!("{:?}", sample(1));
        assert!(
            !shown.contains("access-1") && !shown.contains("refresh-1"),
            "{shown}"
        );
    }

    #[test]
    fn expiry_margin() {
        let mut t = sample(1);
        t.access_expires_at = unix_now() + 600;
        assert!(!t.access_expires_within(30));
        assert!(t.access_expires_within(900));
        t.access_expires_at = 0;
        assert!(t.access_expires_within(0));
    }
}
