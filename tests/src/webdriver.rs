//! A minimal W3C WebDriver client: sessions, finding elements, clicking, typing, reading text,
//! running scripts and taking screenshots — what the desktop scenarios need, over plain HTTP.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// The key under which W3C WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long `wait_*` helpers poll before giving up.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// One WebDriver session (one running app).
pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

/// A reference to an element in the session's page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    /// Opens a session on the driver at `driver_url` with the given capabilities.
    pub async fn start(driver_url: &str, capabilities: Value) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = driver_url.trim_end_matches('/').to_owned();
        let answer = post(
            &http,
            &format!("{base}/session"),
            json!({ "capabilities": capabilities }),
        )
        .await
        .context("creating the WebDriver session (did the app start?)")?;
        let id = answer["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {answer}"))?
            .to_owned();
        Ok(Self { http, base, id })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.id, path)
    }

    /// The first element matching a CSS selector, if any (no waiting).
    pub async fn find(&self, css: &str) -> Result<Option<Element>> {
        let answer = self
            .http
            .post(self.url("/element"))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        if status.as_u16() == 404 || body["value"]["error"] == "no such element" {
            return Ok(None);
        }
        if !status.is_success() {
            bail!("finding {css:?} failed: {body}");
        }
        let id = body["value"][ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| anyhow!("no element id in {body}"))?;
        Ok(Some(Element(id.to_owned())))
    }

    /// Waits until an element matching `css` exists.
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        let deadline = Instant::now() + DEFAULT_WAIT;
        loop {
            if let Some(element) = self.find(css).await? {
                return Ok(element);
            }
            if Instant::now() > deadline {
                let seen = self.failure_snapshot(css).await;
                bail!("no element matched {css:?} within {DEFAULT_WAIT:?}; {seen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` has text containing `expected`; returns its text.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Result<String> {
        let deadline = Instant::now() + DEFAULT_WAIT;
        let mut last = String::new();
        loop {
            if let Some(element) = self.find(css).await? {
                // The element may be replaced between find and read (React re-render): retry.
                if let Ok(text) = self.text(&element).await {
                    if text.contains(expected) {
                        return Ok(text);
                    }
                    last = text;
                }
            }
            if Instant::now() > deadline {
                let seen = self.failure_snapshot(css).await;
                bail!(
                    "{css:?} did not show {expected:?} within {DEFAULT_WAIT:?} (last text: {last:?}); {seen}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until one of the elements matching `css` has text containing `expected` (a sidebar
    /// entry by its name, say) and returns it.
    pub async fn wait_for_one_with_text(&self, css: &str, expected: &str) -> Result<Element> {
        let deadline = Instant::now() + DEFAULT_WAIT;
        loop {
            let answer = post(
                &self.http,
                &self.url("/elements"),
                json!({ "using": "css selector", "value": css }),
            )
            .await?;
            let ids: Vec<String> = answer["value"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for id in ids {
                let element = Element(id);
                if self
                    .text(&element)
                    .await
                    .is_ok_and(|t| t.contains(expected))
                {
                    return Ok(element);
                }
            }
            if Instant::now() > deadline {
                let seen = self.failure_snapshot(css).await;
                bail!("no {css:?} showed {expected:?} within {DEFAULT_WAIT:?}; {seen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, element: &Element) -> Result<()> {
        post(
            &self.http,
            &self.url(&format!("/element/{}/click", element.0)),
            json!({}),
        )
        .await
        .map(drop)
    }

    /// Moves the (virtual) mouse over the middle of `element`, as a person pointing at it: what
    /// `:hover` styles react to.
    pub async fn hover(&self, element: &Element) -> Result<()> {
        post(
            &self.http,
            &self.url("/actions"),
            json!({ "actions": [{
                "type": "pointer",
                "id": "mouse",
                "parameters": { "pointerType": "mouse" },
                "actions": [{
                    "type": "pointerMove",
                    "duration": 0,
                    "origin": { ELEMENT_KEY: element.0 },
                    "x": 0,
                    "y": 0
                }]
            }] }),
        )
        .await
        .map(drop)
    }

    /// Presses and releases one key (a character, or one of the [`keys`] codes) where the
    /// keyboard focus is, as a person would.
    pub async fn press(&self, key: &str) -> Result<()> {
        self.press_together(&[key]).await
    }

    /// Holds `keys` down in order and releases them in reverse: a shortcut such as
    /// `[keys::CONTROL, "v"]`.
    pub async fn press_together(&self, keys: &[&str]) -> Result<()> {
        let down = keys
            .iter()
            .map(|k| json!({ "type": "keyDown", "value": k }));
        let up = keys
            .iter()
            .rev()
            .map(|k| json!({ "type": "keyUp", "value": k }));
        post(
            &self.http,
            &self.url("/actions"),
            json!({ "actions": [{
                "type": "key",
                "id": "keyboard",
                "actions": down.chain(up).collect::<Vec<_>>()
            }] }),
        )
        .await
        .map(drop)
    }

    /// Clears an input and types `text` into it.
    pub async fn fill(&self, element: &Element, text: &str) -> Result<()> {
        post(
            &self.http,
            &self.url(&format!("/element/{}/clear", element.0)),
            json!({}),
        )
        .await?;
        post(
            &self.http,
            &self.url(&format!("/element/{}/value", element.0)),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    pub async fn text(&self, element: &Element) -> Result<String> {
        let answer = get(
            &self.http,
            &self.url(&format!("/element/{}/text", element.0)),
        )
        .await?;
        Ok(answer["value"].as_str().unwrap_or_default().to_owned())
    }

    /// An attribute of an element (`None` when it has none).
    pub async fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>> {
        let answer = get(
            &self.http,
            &self.url(&format!("/element/{}/attribute/{name}", element.0)),
        )
        .await?;
        Ok(answer["value"].as_str().map(str::to_owned))
    }

    /// The `value` property of an input.
    pub async fn value(&self, element: &Element) -> Result<String> {
        let answer = get(
            &self.http,
            &self.url(&format!("/element/{}/property/value", element.0)),
        )
        .await?;
        Ok(answer["value"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits for the page to paint what it has (two animation frames), so a screenshot shows
    /// the state after the last change rather than the one before it.
    pub async fn settle(&self) -> Result<()> {
        let script = "const done = arguments[arguments.length - 1];\
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        post(
            &self.http,
            &self.url("/execute/async"),
            json!({ "script": script, "args": [] }),
        )
        .await
        .map(drop)
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        self.settle().await?;
        let answer = get(&self.http, &self.url("/screenshot")).await?;
        let encoded = answer["value"]
            .as_str()
            .ok_or_else(|| anyhow!("no screenshot data"))?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded)?;
        if !png.starts_with(b"\x89PNG") {
            bail!("the screenshot is not a PNG");
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// What the window showed when a wait gave up: a screenshot under
    /// `target/screenshots/failed-*.png` and the page's visible text, for the error message.
    async fn failure_snapshot(&self, css: &str) -> String {
        let name: String = css
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = crate::workspace_root()
            .join("target")
            .join("screenshots")
            .join(format!("failed-{}.png", name.trim_matches('-')));
        let shot = match self.screenshot(&path).await {
            Ok(()) => format!("screenshot: {}", path.display()),
            Err(e) => format!("no screenshot ({e})"),
        };
        let text = match self.find("body").await {
            Ok(Some(body)) => self.text(&body).await.unwrap_or_default(),
            _ => String::new(),
        };
        let text: String = text.chars().take(2000).collect();
        format!("{shot}; the page showed: {text:?}")
    }

    /// Runs `script` in the page (synchronously, `arguments` = `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        let answer = post(
            &self.http,
            &self.url("/execute/sync"),
            json!({ "script": script, "args": args }),
        )
        .await?;
        Ok(answer["value"].clone())
    }

    /// The window's outer size and position: `(x, y, width, height)`.
    pub async fn window_rect(&self) -> Result<(i64, i64, i64, i64)> {
        let answer = get(&self.http, &self.url("/window/rect")).await?;
        let v = &answer["value"];
        let n = |k: &str| v[k].as_f64().map(|f| f.round() as i64);
        match (n("x"), n("y"), n("width"), n("height")) {
            (Some(x), Some(y), Some(w), Some(h)) => Ok((x, y, w, h)),
            _ => bail!("no window rect in {answer}"),
        }
    }

    /// Resizes the window (the driver answers with the rect it got).
    pub async fn set_window_size(&self, width: i64, height: i64) -> Result<()> {
        post(
            &self.http,
            &self.url("/window/rect"),
            json!({ "width": width, "height": height }),
        )
        .await?;
        Ok(())
    }

    /// Ends the session; the driver closes the app.
    pub async fn quit(self) -> Result<()> {
        let answer = self.http.delete(self.url("")).send().await?;
        if !answer.status().is_success() {
            bail!("deleting the session failed: {}", answer.text().await?);
        }
        Ok(())
    }
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let answer = http
        .post(url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    checked(answer, url).await
}

async fn get(http: &reqwest::Client, url: &str) -> Result<Value> {
    let answer = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    checked(answer, url).await
}

async fn checked(answer: reqwest::Response, url: &str) -> Result<Value> {
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    if !status.is_success() {
        bail!("{url} failed ({status}): {body}");
    }
    Ok(body)
}

/// WebDriver's codes for keys that are not characters, for [`Session::press`].
pub mod keys {
    pub const CONTROL: &str = "\u{E009}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ARROW_LEFT: &str = "\u{E012}";
    pub const ARROW_RIGHT: &str = "\u{E014}";
}
