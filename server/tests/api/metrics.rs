//! `/metrics` (issue 19): served on `metrics_addr` only, in the Prometheus text format, with every
//! series present and moving after real traffic; request ids in responses and error bodies.
//!
//! The series are process-wide and other tests run in this process at the same time, so the checks
//! are "present" and "grew by at least what this test did", never exact values.

use crate::support::*;
use futures_util::SinkExt;
use jeco_shared::ws::ServerFrame;
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio_tungstenite::tungstenite::Message;

/// One scrape: `series{labels} value` lines by their full name with labels.
async fn scrape(addr: std::net::SocketAddr) -> (String, HashMap<String, f64>) {
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers()
    );
    let text = r.text().await.unwrap();
    let values = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect();
    (text, values)
}

fn value(values: &HashMap<String, f64>, series: &str) -> f64 {
    *values
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {values:#?}"))
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_move_with_traffic() {
    let s = TestServer::start_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let addr = s.metrics_addr().expect("the metrics listener is up");
    assert_ne!(addr.to_string(), s.base().trim_start_matches("http://"));
    let (before_text, before) = scrape(addr).await;
    for help in [
        "# TYPE jeco_connections_open gauge",
        "# TYPE jeco_ws_connections_open gauge",
        "# TYPE jeco_ws_send_ack_seconds histogram",
        "# TYPE jeco_commit_batch_size histogram",
        "# TYPE jeco_db_pool_size gauge",
    ] {
        assert!(before_text.contains(help), "{help}: {before_text}");
    }

    // Traffic: HTTP (a 201, a 404 with an id in its path, a query string), then a WebSocket
    // send that another connection receives.
    let alice = s.register("metricsalice").await;
    let bob = s.register("metricsbob").await;
    let g = s
        .group(&alice.access_token, "metrics", &[bob.user.id.0])
        .await;
    let r = s
        .get(
            "/api/v1/conversations/987654321/messages?limit=3",
            Some(&alice.access_token),
        )
        .await;
    assert_eq!(r.status(), 404);
    let mut bob_ws = s.ws_live(&bob.access_token).await;
    let (mut ws, _) = s.ws_ready(&alice.access_token).await;
    send_json(
        &mut ws,
        json!({"type": "send", "conversation_id": g, "client_id": "metrics-1", "text": "counted"}),
    )
    .await;
    let ack = next_where(&mut ws, |f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(ack, ServerFrame::Ack { .. }));
    next_event(&mut bob_ws).await;

    let (text, after) = scrape(addr).await;
    let grew = |series: &str, by: f64| {
        let b = before.get(series).copied().unwrap_or(0.0);
        let a = value(&after, series);
        assert!(a >= b + by, "{series}: {b} → {a}, expected +{by}\n{text}");
    };
    // Both WebSockets (and their TCP connections) are still open.
    assert!(value(&after, "jeco_ws_connections_open") >= 2.0, "{text}");
    assert!(value(&after, "jeco_connections_open") >= 2.0, "{text}");
    assert!(value(&after, "jeco_db_pool_size") >= 4.0, "{text}");
    grew("jeco_ws_frames_in_total", 3.0); // two hellos and a send
    grew("jeco_ws_frames_out_total", 3.0); // two readies and an ack
    grew("jeco_ws_deliveries_total", 1.0);
    grew("jeco_ws_send_ack_seconds_count", 1.0);
    grew("jeco_commit_batch_size_count", 1.0);
    grew("jeco_commit_batch_seconds_count", 1.0);
    grew("jeco_db_commits_total", 4.0); // two accounts, a group, a message
    grew("jeco_ws_outbound_queue_depth_count", 3.0);
    grew(
        r#"jeco_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"}"#,
        2.0,
    );
    grew(
        r#"jeco_http_requests_total{method="GET",route="/api/v1/conversations/{id}/messages",status="404"}"#,
        1.0,
    );
    grew(
        r#"jeco_http_request_seconds_count{method="POST",route="/api/v1/conversations"}"#,
        1.0,
    );
    assert!(
        after.contains_key("jeco_ws_slow_consumer_closes_total"),
        "{text}"
    );
    // Route templates only: never an id, a query string or a path nobody routed.
    assert!(!text.contains("987654321"), "{text}");
    assert!(!text.contains("limit=3"), "{text}");

    // The API's own address does not serve the metrics; the metrics address serves nothing else.
    let r = s.get("/metrics", None).await;
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("jeco_"));
    let r = reqwest::get(format!("http://{addr}/api/v1/health"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The WebSockets close: the gauge goes down again.
    ws.send(Message::Close(None)).await.unwrap();
    bob_ws.send(Message::Close(None)).await.unwrap();
}

#[tokio::test]
async fn no_metrics_listener_unless_configured() {
    let s = TestServer::start().await;
    assert_eq!(s.metrics_addr(), None);
    assert_eq!(s.get("/metrics", None).await.status(), 404);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_error_bodies_carry_it() {
    let s = TestServer::start().await;
    // Made by the server when the client sends none.
    let r = s.get("/api/v1/users/me", None).await;
    assert_eq!(r.status(), 401);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], id.as_str(), "{body}");
    // A successful answer has one too, and no two requests share one.
    let r = s.get("/api/v1/health", None).await;
    assert_eq!(r.status(), 200);
    let other = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(other, id);
    // A 404 from the fallback, and an extractor's rejection: the same id in header and body.
    for (path, status) in [("/api/v1/nowhere", 404), ("/api/v1/auth/login", 415)] {
        let r = s.http().post(s.url(path)).body("x").send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["request_id"], id.as_str(), "{path}: {body}");
    }

    // A client's (or proxy's) plain id is kept; anything else is replaced.
    let r = s
        .http()
        .get(s.url("/api/v1/users/me"))
        .header("x-request-id", "proxy-7f3a.01:x_y")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-7f3a.01:x_y");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], "proxy-7f3a.01:x_y");
    for bad in ["<script>", &"a".repeat(65), "two words"] {
        let r = s
            .http()
            .get(s.url("/api/v1/users/me"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "{id}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["request_id"], id.as_str());
    }
}
