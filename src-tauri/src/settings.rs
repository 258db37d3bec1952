//! What the app takes from its surroundings: environment overrides (for tests, scripts and power
//! users) and the few choices it remembers between runs (`settings.json` in the data directory).
//!
//! | variable | effect |
//! |---|---|
//! | `JECO_DESKTOP_DATA_DIR` | data directory instead of the platform one (settings, embedded server data) |
//! | `JECO_DESKTOP_SERVER` | connect to this server at start instead of the remembered choice; the embedded server is not started |
//! | `JECO_DESKTOP_EMBEDDED_BIND` | address for the embedded server (default `127.0.0.1:0`, a free port) |
//! | `JECO_DESKTOP_GPU` | `auto` (default: GPU compositing only where there is a GPU render node), `on` or `off` — see `rendering` |
//! | `JECO_DESKTOP_WEBKIT_MEMORY` | `lean` (default), `default` (WebKit's browser defaults), or a list of `cache`, `no-page-cache`, `network-limit` — see `webview_memory` |
//! | `JSC_useDFGJIT` | JavaScriptCore's optimizing JIT tiers in the web view; the app sets `false` when unset, `true` restores them — see `javascript_jit` |
//! | `JECO_LOG` | log filter (`tracing` syntax), default `info` |

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const ENV_DATA_DIR: &str = "JECO_DESKTOP_DATA_DIR";
pub const ENV_SERVER: &str = "JECO_DESKTOP_SERVER";
pub const ENV_EMBEDDED_BIND: &str = "JECO_DESKTOP_EMBEDDED_BIND";
pub const ENV_GPU: &str = "JECO_DESKTOP_GPU";
pub const ENV_WEBKIT_MEMORY: &str = "JECO_DESKTOP_WEBKIT_MEMORY";

/// Environment overrides, read once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub server: Option<String>,
    pub embedded_bind: Option<SocketAddr>,
    pub gpu: crate::rendering::GpuChoice,
    pub webkit_memory: crate::webview_memory::Levers,
}

impl Overrides {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the overrides through `lookup` (the environment, or a table in tests). Empty values
    /// count as unset, so `JECO_DESKTOP_SERVER= jeco-desktop` means "no override".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let embedded_bind = match get(ENV_EMBEDDED_BIND) {
            Some(v) => Some(
                v.parse()
                    .map_err(|e| format!("{ENV_EMBEDDED_BIND}={v:?} is not an address: {e}"))?,
            ),
            None => None,
        };
        let gpu = match get(ENV_GPU) {
            Some(v) => {
                crate::rendering::GpuChoice::parse(&v).map_err(|e| format!("{ENV_GPU}: {e}"))?
            }
            None => crate::rendering::GpuChoice::default(),
        };
        let webkit_memory = match get(ENV_WEBKIT_MEMORY) {
            Some(v) => crate::webview_memory::Levers::parse(&v)
                .map_err(|e| format!("{ENV_WEBKIT_MEMORY}: {e}"))?,
            None => crate::webview_memory::Levers::default(),
        };
        Ok(Self {
            data_dir: get(ENV_DATA_DIR).map(PathBuf::from),
            server: get(ENV_SERVER),
            embedded_bind,
            gpu,
            webkit_memory,
        })
    }
}

/// Choices remembered between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The server the person chose on the login screen; `None` means the embedded server.
    pub server: Option<String>,
    /// Set while the embedded server is hosted on the local network: the port it keeps.
    pub hosting_port: Option<u16>,
}

impl Settings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("settings.json")
    }

    /// The saved settings; defaults when there are none. A damaged file is logged and replaced by
    /// defaults on the next save — losing a server choice is better than not starting.
    pub fn load(data_dir: &Path) -> Self {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable settings");
                Self::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read settings");
                Self::default()
            }
        }
    }

    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let path = Self::path(data_dir);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("settings serialize"),
        )?;
        std::fs::rename(tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn overrides_from_environment() {
        let o = Overrides::from_lookup(lookup(&[
            (ENV_DATA_DIR, "/tmp/jeco"),
            (ENV_SERVER, " http://127.0.0.1:9 "),
            (ENV_EMBEDDED_BIND, "127.0.0.1:7879"),
        ]))
        .unwrap();
        assert_eq!(o.data_dir, Some(PathBuf::from("/tmp/jeco")));
        assert_eq!(o.server.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(o.embedded_bind, Some("127.0.0.1:7879".parse().unwrap()));

        assert_eq!(
            Overrides::from_lookup(lookup(&[(ENV_SERVER, "")])).unwrap(),
            Overrides::default()
        );
        assert!(Overrides::from_lookup(lookup(&[(ENV_EMBEDDED_BIND, "nope")])).is_err());
    }

    #[test]
    fn settings_round_trip_and_survive_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            server: Some("https://chat.example.com".into()),
            hosting_port: Some(7860),
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        std::fs::write(Settings::path(dir.path()), b"{oops").unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
    }
}
