//! The OS keychain as a [`TokenStore`]: where the desktop app keeps sign-in tokens.
//!
//! On Linux this is the Secret Service (GNOME Keyring, KWallet) over D-Bus; on macOS the Keychain;
//! on Windows the Credential Manager — whatever `keyring` picks for the platform. The token pair is
//! stored as one JSON secret under the service [`SERVICE`] and an account name that identifies the
//! server (see [`crate::target::ServerTarget::keychain_account`]), so each server keeps its own
//! session and switching servers back and forth does not sign anyone out.
//!
//! A keychain that does not work (no Secret Service running, locked and the unlock refused) is an
//! error that reaches the person, never a silent fallback to a plain file: tokens in a file they did
//! not ask for would be a surprise, and a silent sign-out on every start would be a worse one.

use jeco_client::{StoredTokens, TokenStore, TokenStoreError};

// keyring picks a platform's store only with that platform's feature (src-tauri/Cargo.toml); with
// none it silently keeps secrets in memory, which would sign everyone out at every start.
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
compile_error!("no OS keychain for this platform: add its keyring feature in src-tauri/Cargo.toml");

/// The keychain "service" every entry is filed under.
pub const SERVICE: &str = "chat.jeco.desktop";

const BACKEND: &str = "OS keychain";

/// Tokens in the OS keychain.
pub struct KeychainTokenStore {
    entry: keyring::Entry,
    account: String,
}

impl std::fmt::Debug for KeychainTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeychainTokenStore")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl KeychainTokenStore {
    /// The entry for `account` under [`SERVICE`].
    pub fn open(account: &str) -> Result<Self, TokenStoreError> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(|e| backend_error("open", &e))?;
        Ok(Self::with_entry(entry, account))
    }

    /// A store over an existing entry (tests use keyring's mock credentials).
    pub fn with_entry(entry: keyring::Entry, account: &str) -> Self {
        Self {
            entry,
            account: account.to_owned(),
        }
    }
}

impl TokenStore for KeychainTokenStore {
    fn load(&self) -> Result<Option<StoredTokens>, TokenStoreError> {
        match self.entry.get_password() {
            Ok(json) => {
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| TokenStoreError::Backend {
                        backend: BACKEND,
                        action: "read",
                        message: format!("the saved entry is not readable ({e})"),
                    })
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(backend_error("read", &e)),
        }
    }

    fn save(&self, tokens: &StoredTokens) -> Result<(), TokenStoreError> {
        let json = serde_json::to_string(tokens).expect("tokens serialize");
        self.entry
            .set_password(&json)
            .map_err(|e| backend_error("save", &e))
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(backend_error("delete", &e)),
        }
    }
}

/// Turns a keyring failure into a message a person can act on.
fn backend_error(action: &'static str, error: &keyring::Error) -> TokenStoreError {
    let hint = match error {
        keyring::Error::NoStorageAccess(_) => {
            " (the keychain is locked or access was refused; unlock it and try again)"
        }
        keyring::Error::PlatformFailure(_) if cfg!(target_os = "linux") => {
            " (is a Secret Service provider such as GNOME Keyring or KWallet running?)"
        }
        _ => "",
    };
    TokenStoreError::Backend {
        backend: BACKEND,
        action,
        message: format!("{error}{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyring::mock::MockCredential;

    fn mock_store() -> KeychainTokenStore {
        let credential = keyring::mock::default_credential_builder()
            .build(None, SERVICE, "test")
            .unwrap();
        KeychainTokenStore::with_entry(keyring::Entry::new_with_credential(credential), "test")
    }

    fn sample() -> StoredTokens {
        StoredTokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            access_expires_at: 42,
        }
    }

    #[test]
    fn round_trips_through_the_keychain_entry() {
        let store = mock_store();
        assert_eq!(store.load().unwrap(), None);
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), Some(sample()));
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.clear().unwrap();
    }

    #[test]
    fn keychain_failures_are_errors_with_a_hint() {
        let store = mock_store();
        let mock: &MockCredential = store.entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::NoStorageAccess("locked".into()));
        let err = store.save(&sample()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, TokenStoreError::Backend { action: "save", .. }),
            "{err:?}"
        );
        assert!(
            text.contains("OS keychain") && text.contains("unlock"),
            "{text}"
        );

        let mock: &MockCredential = store.entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::PlatformFailure("no dbus".into()));
        assert!(
            store.load().is_err(),
            "a broken keychain must not look like 'signed out'"
        );
    }

    #[test]
    fn unreadable_entry_is_an_error() {
        let store = mock_store();
        store.entry.set_password("not json").unwrap();
        assert!(matches!(
            store.load(),
            Err(TokenStoreError::Backend { action: "read", .. })
        ));
    }
}
