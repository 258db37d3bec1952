//! Links in messages open in the system browser (or mail client), never inside the app's web
//! view. The UI cancels the navigation of a clicked link and calls [`open_link`]; the scheme is
//! checked again here, because the UI is the place hostile text is rendered and this is the place
//! that hands it to the operating system.

use crate::error::CommandError;
use tauri::Url;

/// The schemes a message link may have. Everything else (`javascript:`, `data:`, `file:`,
/// `vbscript:`, custom handlers…) is refused.
const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// The URL to hand to the system opener, or `link_refused` when it is not an absolute http(s) or
/// mailto URL.
pub fn link_target(url: &str) -> Result<Url, CommandError> {
    let refused = || CommandError::new("link_refused", "Only web and mail links can be opened.");
    let parsed = Url::parse(url.trim()).map_err(|_| refused())?;
    if !ALLOWED_SCHEMES.contains(&parsed.scheme()) {
        return Err(refused());
    }
    if parsed.scheme() != "mailto" && parsed.host_str().is_none_or(str::is_empty) {
        return Err(refused());
    }
    Ok(parsed)
}

/// Opens a message link with the system's default handler (tauri-plugin-opener: `xdg-open` on
/// Linux, `open` on macOS, the shell on Windows). `link_refused` for any scheme but http, https
/// and mailto; `open_failed` when the system has no handler.
#[tauri::command]
pub async fn open_link(url: String) -> Result<(), CommandError> {
    let target = link_target(&url)?;
    tauri_plugin_opener::open_url(target.as_str(), None::<&str>)
        .map_err(|e| CommandError::new("open_failed", format!("The link could not be opened: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_and_mail_links_are_allowed() {
        for url in [
            "https://example.com/a?b=c#d",
            "http://localhost:8080/",
            "HTTPS://EXAMPLE.COM",
            "mailto:ann@example.com",
        ] {
            assert!(link_target(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn every_other_scheme_is_refused() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "ftp://example.com/",
            "tauri://localhost/",
            "ssh://host",
            "/relative/path",
            "example.com",
            "http://",
            "",
        ] {
            let err = link_target(url).expect_err(url);
            assert_eq!(err.code, "link_refused", "{url}");
        }
    }
}
