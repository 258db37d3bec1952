//! Reading the desktop app's keychain entry (service `chat.jeco.desktop`, account = server URL).

use anyhow::Result;

/// The refresh token the app saved for `server_url`, or `None` when there is no entry.
pub fn saved_tokens(server_url: &str) -> Result<Option<String>> {
    let entry = keyring::Entry::new("chat.jeco.desktop", server_url)?;
    match entry.get_password() {
        Ok(json) => {
            let value: serde_json::Value = serde_json::from_str(&json)?;
            Ok(value["refresh_token"].as_str().map(str::to_owned))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
