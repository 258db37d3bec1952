//! The web view's memory: WebKit set up for one long-lived chat window, not for browsing.
//!
//! WebKitGTK's defaults are a web browser's: the `WebBrowser` cache model keeps decoded resources,
//! pages and fonts for quick back-and-forth navigation, sized from the machine's RAM; the page
//! cache keeps whole pages alive after navigating away; the network process never feels memory
//! pressure until the machine does. A chat app loads one page once and stays on it, so:
//!
//! - **cache model `DocumentViewer`** — WebKit's smallest caches (meant for one local document);
//! - **no page cache** — nothing is ever navigated away from;
//! - **a memory limit for the network process** — WebKit's memory-pressure handler frees its
//!   caches when the process passes a fraction of the limit, instead of a fraction of the RAM.
//!
//! The web process's own limit (`WebKitWebContext:memory-pressure-settings`) is construct-only and
//! wry creates the context, so it cannot be set from here. Each lever and its measured effect:
//! BENCHMARKS.md ("Desktop memory"). `JECO_DESKTOP_WEBKIT_MEMORY` chooses them, for measuring:
//! `lean` (the default: all three), `default` (WebKit's own defaults), or a comma list of
//! `cache`, `no-page-cache`, `network-limit`.

/// Which levers are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levers {
    pub document_viewer_cache: bool,
    pub no_page_cache: bool,
    pub network_limit: bool,
}

/// The network process's memory limit, in MiB (it holds the HTTP and resource caches; the app
/// loads its page from inside the binary, so little needs caching there).
pub const NETWORK_LIMIT_MIB: u32 = 64;

impl Default for Levers {
    fn default() -> Self {
        Self::LEAN
    }
}

impl Levers {
    pub const LEAN: Self = Self {
        document_viewer_cache: true,
        no_page_cache: true,
        network_limit: true,
    };
    pub const WEBKIT_DEFAULTS: Self = Self {
        document_viewer_cache: false,
        no_page_cache: false,
        network_limit: false,
    };

    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "lean" => return Ok(Self::LEAN),
            "default" => return Ok(Self::WEBKIT_DEFAULTS),
            _ => {}
        }
        let mut levers = Self::WEBKIT_DEFAULTS;
        for part in value.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "cache" => levers.document_viewer_cache = true,
                "no-page-cache" => levers.no_page_cache = true,
                "network-limit" => levers.network_limit = true,
                other => {
                    return Err(format!(
                        "{other:?} is not one of lean, default, or a list of cache, no-page-cache, network-limit"
                    ));
                }
            }
        }
        Ok(levers)
    }

    /// What must be set before the first web view exists (the network process's limit is read
    /// when that process starts). Call on the main thread before building the app.
    pub fn before_start(self) {
        #[cfg(target_os = "linux")]
        if self.network_limit {
            if let Err(e) = gtk::init() {
                tracing::warn!(error = %e, "cannot initialize GTK to set WebKit's memory limits");
                return;
            }
            let mut settings = webkit2gtk::MemoryPressureSettings::new();
            settings.set_memory_limit(NETWORK_LIMIT_MIB);
            webkit2gtk::WebsiteDataManager::set_memory_pressure_settings(&mut settings);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = self;
    }

    /// Applies the rest to the main window's web view (Linux; WebView2 and WKWebView size their
    /// caches for embedded use already).
    pub fn apply<R: tauri::Runtime>(self, window: &tauri::WebviewWindow<R>) {
        tracing::info!(levers = ?self, "web view memory");
        #[cfg(target_os = "linux")]
        {
            let applied = window.with_webview(move |webview| {
                use webkit2gtk::{CacheModel, SettingsExt, WebContextExt, WebViewExt};
                let view = webview.inner();
                if self.document_viewer_cache
                    && let Some(context) = view.context()
                {
                    context.set_cache_model(CacheModel::DocumentViewer);
                }
                if self.no_page_cache
                    && let Some(settings) = view.settings()
                {
                    settings.set_enable_page_cache(false);
                }
            });
            if let Err(e) = applied {
                tracing::warn!(error = %e, "cannot set the web view's memory settings");
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = window;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levers_parse() {
        assert_eq!(Levers::parse("lean"), Ok(Levers::LEAN));
        assert_eq!(Levers::parse("Default"), Ok(Levers::WEBKIT_DEFAULTS));
        assert_eq!(
            Levers::parse("cache, network-limit"),
            Ok(Levers {
                document_viewer_cache: true,
                no_page_cache: false,
                network_limit: true,
            })
        );
        assert!(Levers::parse("fast").is_err());
        assert_eq!(Levers::default(), Levers::LEAN);
    }
}
