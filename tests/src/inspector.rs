//! A minimal client of WebKit's remote Web Inspector, for measuring the desktop app's page from
//! outside: evaluating JavaScript and taking JavaScriptCore heap snapshots.
//!
//! WebKitGTK starts an HTTP inspector server in the app's UI process when the app runs with
//! `WEBKIT_INSPECTOR_HTTP_SERVER=127.0.0.1:<port>`. `GET /` lists the inspectable targets; each
//! link holds a websocket path `/socket/<connection>/<target>/<type>` that speaks the inspector
//! protocol (JSON). A web page is reached through the Target domain: the backend announces the
//! page with `Target.targetCreated`, commands go in `Target.sendMessageToTarget` and their answers
//! come back in `Target.dispatchMessageFromTarget` events.
//!
//! Not together with the WebDriver: with that variable set WebKit moves its inspector server (the
//! one `WebKitWebDriver` connects to through `WEBKIT_INSPECTOR_SERVER`) to a random port, and an
//! automation session takes the target list for itself. So a measured app that is inspected is
//! launched directly and driven through [`Inspector::execute`].

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one inspector command may take (a heap snapshot of a large page takes seconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// One inspector connection to the app's page.
pub struct Inspector {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    target: String,
    next_id: u64,
}

impl Inspector {
    /// Connects to the inspector server at `address` (`host:port`), waiting up to `wait` for the
    /// app to list its page.
    pub async fn connect(address: &str, wait: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let deadline = Instant::now() + wait;
        let path = loop {
            let listing = match http.get(format!("http://{address}/")).send().await {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if let Some(path) = page_socket_path(&listing) {
                break path;
            }
            if Instant::now() > deadline {
                bail!(
                    "the inspector at {address} listed no page within {wait:?} (listing: {listing:.400})"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let mut config = WebSocketConfig::default();
        config.max_message_size = None;
        config.max_frame_size = None;
        let (socket, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{address}{path}"),
            Some(config),
            false,
        )
        .await
        .with_context(|| format!("connecting to the inspector's websocket {path}"))?;
        let mut inspector = Self {
            socket,
            target: String::new(),
            next_id: 1,
        };
        inspector.target = inspector.wait_for_page(deadline).await?;
        Ok(inspector)
    }

    /// The page target the backend announces first (not a provisional one).
    async fn wait_for_page(&mut self, deadline: Instant) -> Result<String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left.max(Duration::from_secs(1)), self.next())
                .await
                .context("no Target.targetCreated from the inspector")??;
            if message["method"] == "Target.targetCreated" {
                let info = &message["params"]["targetInfo"];
                let kind = info["type"].as_str().unwrap_or_default();
                if (kind == "page" || kind == "frame") && info["isProvisional"] != true {
                    return info["targetId"]
                        .as_str()
                        .map(str::to_owned)
                        .context("a target without an id");
                }
            }
        }
    }

    /// The next JSON message from the backend.
    async fn next(&mut self) -> Result<Value> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
                Some(Ok(Message::Binary(bytes))) => return Ok(serde_json::from_slice(&bytes)?),
                Some(Ok(Message::Close(frame))) => bail!("the inspector closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => bail!("the inspector connection ended"),
            }
        }
    }

    /// Sends `method` with `params` to the page and returns its `result` (an error when the
    /// backend answers with one). Events that arrive meanwhile are dropped, except that a
    /// committed provisional page (a navigation) becomes the target.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 2;
        let inner = json!({ "id": id, "method": method, "params": params }).to_string();
        let outer = json!({
            "id": id + 1,
            "method": "Target.sendMessageToTarget",
            "params": { "targetId": self.target, "message": inner },
        });
        self.socket
            .send(Message::Text(outer.to_string().into()))
            .await?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, self.next())
                .await
                .with_context(|| format!("{method}: no answer within {COMMAND_TIMEOUT:?}"))??;
            if message["id"] == id + 1 {
                if let Some(error) = message.get("error") {
                    bail!("{method}: the inspector refused to forward it: {error}");
                }
                continue;
            }
            match message["method"].as_str() {
                Some("Target.dispatchMessageFromTarget") => {
                    let text = message["params"]["message"]
                        .as_str()
                        .context("dispatchMessageFromTarget without a message")?;
                    // Only the answer is parsed whole; events of the page are skipped cheaply.
                    if !text.contains(&format!("\"id\":{id}")) {
                        continue;
                    }
                    let answer: Value = serde_json::from_str(text)?;
                    if answer["id"] != id {
                        continue;
                    }
                    if let Some(error) = answer.get("error") {
                        bail!("{method}: {error}");
                    }
                    return Ok(answer["result"].clone());
                }
                Some("Target.didCommitProvisionalTarget") => {
                    if let Some(new) = message["params"]["newTargetId"].as_str() {
                        self.target = new.to_owned();
                    }
                }
                _ => {}
            }
        }
    }

    /// Waits for the page's next event `method` (inner message) and returns its params.
    async fn wait_event(&mut self, method: &str, wait: Duration) -> Result<Value> {
        let deadline = Instant::now() + wait;
        let needle = format!("\"method\":\"{method}\"");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = tokio::time::timeout(left, self.next())
                .await
                .with_context(|| format!("no {method} within {wait:?}"))??;
            if message["method"] != "Target.dispatchMessageFromTarget" {
                continue;
            }
            let Some(text) = message["params"]["message"].as_str() else {
                continue;
            };
            if text.contains(&needle) {
                let event: Value = serde_json::from_str(text)?;
                if event["method"] == method {
                    return Ok(event["params"].clone());
                }
            }
        }
    }

    /// WebKit's own breakdown of the web process's memory (the Web Inspector's memory timeline:
    /// `javascript`, `jit`, `images`, `layers`, `page`, `other`), in bytes, from one sample.
    pub async fn memory_categories(&mut self) -> Result<Vec<(String, u64)>> {
        self.call("Memory.enable", json!({})).await?;
        self.call("Memory.startTracking", json!({})).await?;
        let update = self
            .wait_event("Memory.trackingUpdate", Duration::from_secs(10))
            .await;
        self.call("Memory.stopTracking", json!({})).await?;
        self.call("Memory.disable", json!({})).await?;
        let update = update?;
        let categories = update["event"]["categories"]
            .as_array()
            .context("a Memory.trackingUpdate without categories")?;
        Ok(categories
            .iter()
            .filter_map(|c| Some((c["type"].as_str()?.to_owned(), c["size"].as_f64()? as u64)))
            .collect())
    }

    /// Evaluates `expression` in the page and returns its value (JSON-serializable values only).
    pub async fn evaluate(&mut self, expression: &str) -> Result<Value> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await?;
        if result["wasThrown"] == true {
            bail!(
                "the page threw: {}",
                result["result"]["description"]
                    .as_str()
                    .unwrap_or("(no description)")
            );
        }
        Ok(result["result"]
            .get("value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Runs `script` as a WebDriver "execute script" would: a function body that sees `args` as
    /// `arguments` and returns its result.
    pub async fn execute(&mut self, script: &str, args: Value) -> Result<Value> {
        let expression = format!("(function () {{ {script}\n}}).apply(null, {args})");
        self.evaluate(&expression).await
    }

    /// Waits until `condition` (an expression) is truthy in the page.
    pub async fn wait_until(&mut self, condition: &str, what: &str) -> Result<()> {
        let deadline = Instant::now() + crate::webdriver::DEFAULT_WAIT;
        loop {
            let value = self.evaluate(&format!("!!({condition})")).await?;
            if value == true {
                return Ok(());
            }
            if Instant::now() > deadline {
                let text = self
                    .evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await
                    .unwrap_or_default();
                bail!("waited 30 s for {what}; the page showed: {text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&mut self, css: &str) -> Result<()> {
        let condition = format!("document.querySelector({})", json!(css));
        self.wait_until(&condition, css).await
    }

    /// Waits for an element matching `css` whose text contains `text`.
    pub async fn wait_for_text(&mut self, css: &str, text: &str) -> Result<()> {
        let condition = format!(
            "Array.from(document.querySelectorAll({})).some((e) => e.innerText.includes({}))",
            json!(css),
            json!(text)
        );
        self.wait_until(&condition, &format!("{css} with {text:?}"))
            .await
    }

    /// Clicks the first element matching `css` (waiting for it).
    pub async fn click(&mut self, css: &str) -> Result<()> {
        self.wait_for(css).await?;
        self.execute("document.querySelector(arguments[0]).click()", json!([css]))
            .await
            .map(drop)
    }

    /// Types `text` into the first input matching `css` (waiting for it) the way React sees
    /// typing: the value set through the input's own setter, then an `input` event.
    pub async fn fill(&mut self, css: &str, text: &str) -> Result<()> {
        self.wait_for(css).await?;
        self.execute(
            "const el = document.querySelector(arguments[0]); \
             const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype; \
             Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, arguments[1]); \
             el.dispatchEvent(new Event('input', { bubbles: true }));",
            json!([css, text]),
        )
        .await
        .map(drop)
    }

    /// The visible text of the first element matching `css` (waiting for it).
    pub async fn text(&mut self, css: &str) -> Result<String> {
        self.wait_for(css).await?;
        let value = self
            .execute(
                "return document.querySelector(arguments[0]).innerText",
                json!([css]),
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// A full garbage collection, then a JavaScriptCore heap snapshot (the JSON text of
    /// `Heap.snapshot`, which collects again itself). The backend keeps every snapshot it took
    /// until the Heap domain is disabled, so it is disabled after each one.
    pub async fn heap_snapshot(&mut self) -> Result<String> {
        self.call("Heap.enable", json!({})).await?;
        self.call("Heap.gc", json!({})).await?;
        let result = self.call("Heap.snapshot", json!({})).await;
        self.call("Heap.disable", json!({})).await?;
        let result = result?;
        match result["snapshotData"].as_str() {
            Some(data) => Ok(data.to_owned()),
            None => Err(anyhow!("Heap.snapshot answered without snapshotData")),
        }
    }
}

/// The websocket path of the first page target in the inspector's HTML target list.
fn page_socket_path(listing: &str) -> Option<String> {
    let mut rest = listing;
    while let Some(at) = rest.find("/socket/") {
        let path: String = rest[at..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | '<' | '>' | ' ' | '&' | ')'))
            .collect();
        rest = &rest[at + "/socket/".len()..];
        if path.ends_with("/WebPage") {
            return Some(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::page_socket_path;

    #[test]
    fn finds_the_page_socket_in_the_target_list() {
        let listing = r#"<html><body><table>
            <tr><td>Automation</td><td><input type="button" onclick="window.location.href='Main.html?ws=' + window.location.host + '/socket/1/3/Automation';"></td></tr>
            <tr><td>Jeco Chat</td><td><input type="button" onclick="window.location.href='Main.html?ws=' + window.location.host + '/socket/1/2/WebPage';"></td></tr>
            </table></body></html>"#;
        assert_eq!(
            page_socket_path(listing).as_deref(),
            Some("/socket/1/2/WebPage")
        );
        assert_eq!(page_socket_path("<html>no targets</html>"), None);
    }
}
