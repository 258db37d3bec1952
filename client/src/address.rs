//! Server addresses as people type them ("localhost:7878", "chat.example.com",
//! "https://chat.example.com/jeco/") turned into one canonical base URL.
//!
//! One canonical form matters because the address is also the key under which tokens are stored:
//! "http://localhost:7878/" and "localhost:7878" must find the same session.

use reqwest::Url;
use std::fmt;

/// A validated, normalized server base URL: `http` or `https`, no query or fragment, no trailing
/// slash. Endpoints are built by appending `/api/v1/...` to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    base: Url,
}

/// Why a server address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server address {input:?}: {reason}")]
pub struct InvalidAddress {
    pub input: String,
    pub reason: String,
}

impl ServerAddress {
    /// Parses what a person typed. A missing scheme means `http://` (self-hosted servers on a LAN
    /// usually have no certificate; anything public should be typed with `https://`).
    pub fn parse(input: &str) -> Result<Self, InvalidAddress> {
        let fail = |reason: &str| InvalidAddress {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(fail("it is empty"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|e| fail(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(fail("it has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(fail("it must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("it must not contain credentials"));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(Self { base: url })
    }

    /// The base URL, e.g. `http://127.0.0.1:7878` or `https://example.com/jeco`.
    pub fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `<base>/api/v1<path>`; `path` starts with `/`.
    pub fn api_url(&self, path: &str) -> Url {
        let joined = format!("{}{}{}", self.as_str(), jeco_shared::API_PREFIX, path);
        Url::parse(&joined).expect("a valid base plus an ASCII path is a valid URL")
    }

    /// The WebSocket gateway URL: `ws://` or `wss://` matching the HTTP scheme.
    pub fn ws_url(&self) -> Url {
        let mut url = self.api_url("/ws");
        let scheme = if self.base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        url.set_scheme(scheme)
            .expect("ws and wss are valid special schemes for http(s) URLs");
        url
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServerAddress {
    type Err = InvalidAddress;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_what_people_type() {
        for (input, expected) in [
            ("localhost:7878", "http://localhost:7878"),
            ("  http://127.0.0.1:7878/  ", "http://127.0.0.1:7878"),
            ("https://chat.example.com/", "https://chat.example.com"),
            ("https://example.com/jeco/", "https://example.com/jeco"),
            ("HTTP://Example.COM", "http://example.com"),
        ] {
            assert_eq!(
                ServerAddress::parse(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_what_cannot_be_a_server() {
        for input in [
            "",
            "   ",
            "ftp://x.org",
            "http://",
            "http://a/?q=1",
            "http://a/#x",
            "http://u:p@a",
        ] {
            assert!(
                ServerAddress::parse(input).is_err(),
                "{input:?} should be refused"
            );
        }
    }

    #[test]
    fn builds_api_and_websocket_urls() {
        let plain = ServerAddress::parse("127.0.0.1:9000").unwrap();
        assert_eq!(
            plain.api_url("/health").as_str(),
            "http://127.0.0.1:9000/api/v1/health"
        );
        assert_eq!(plain.ws_url().as_str(), "ws://127.0.0.1:9000/api/v1/ws");
        let tls = ServerAddress::parse("https://example.com/jeco").unwrap();
        assert_eq!(
            tls.api_url("/auth/login").as_str(),
            "https://example.com/jeco/api/v1/auth/login"
        );
        assert_eq!(tls.ws_url().as_str(), "wss://example.com/jeco/api/v1/ws");
    }
}
