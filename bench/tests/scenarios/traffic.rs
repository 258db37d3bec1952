//! `fanout`, `durable` and `history` at tiny sizes: the tool runs end to end, accounts exactly
//! (nothing lost or duplicated against a correct server) and prints its figures.

use super::{result_line, run_bench, start_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_delivers_every_message_to_every_member_once() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = start_server().await;
    let output = run_bench(
        &server,
        &[
            "fanout",
            "--conversations",
            "3",
            "--members",
            "4",
            "--senders",
            "2",
            "--rate",
            "200",
            "--secs",
            "1",
            "--quiet-ms",
            "300",
            "--workers",
            "2",
        ],
    )
    .await;
    let r = result_line(&output);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("deliveries/s"), "{table}");
    assert_eq!(r["scenario"], "fanout");
    assert_eq!(r["params"]["users"], 12);
    assert_eq!(r["connections"], 12, "{r}");
    let acked = r["acknowledged"].as_u64().unwrap();
    assert!(acked > 20, "{r}");
    assert_eq!(r["sent"].as_u64().unwrap(), acked, "{r}");
    assert_eq!(r["expected_deliveries"].as_u64().unwrap(), acked * 4, "{r}");
    assert_eq!(r["delivered"].as_u64().unwrap(), acked * 4, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert_eq!(r["duplicated"], 0, "{r}");
    let latency = &r["delivery_latency_ms"];
    assert_eq!(latency["count"].as_u64().unwrap(), acked * 4, "{r}");
    let (p50, p99, max) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
        latency["max"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{r}");
    assert!(r["deliveries_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["targets"]["throughput_met"], false);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_counts_acknowledged_messages_and_finds_them_afterwards() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = start_server().await;
    let output = run_bench(
        &server,
        &["durable", "--senders", "4", "--window", "2", "--secs", "1"],
    )
    .await;
    let r = result_line(&output);
    assert_eq!(r["scenario"], "durable");
    let acked = r["acknowledged"].as_u64().unwrap();
    assert!(acked >= 4, "{r}");
    assert_eq!(r["delivered"].as_u64().unwrap(), acked, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert!(r["acknowledged_per_sec"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["ack_latency_ms"]["count"].as_u64().unwrap(), acked, "{r}");
    // An attached server is not restarted, but the acknowledged messages are checked over HTTP.
    let v = &r["verification"];
    assert_eq!(v["restarted"], false, "{r}");
    assert_eq!(v["conversations_checked"], 4, "{r}");
    assert_eq!(v["conversations_missing_acked"], 0, "{r}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_fills_then_measures_pages_and_searches() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = start_server().await;
    let output = run_bench(
        &server,
        &[
            "history",
            "--messages",
            "400",
            "--conversations",
            "2",
            "--vocabulary",
            "50",
            "--requests",
            "5",
        ],
    )
    .await;
    let r = result_line(&output);
    assert_eq!(r["scenario"], "history");
    assert_eq!(r["fill"]["acknowledged"], 400, "{r}");
    let latency = r["latency_ms"].as_object().unwrap();
    for kind in [
        "newest",
        "deep",
        "search_common",
        "search_middling",
        "search_rare",
        "search_two_words",
        "search_prefix",
    ] {
        assert_eq!(latency[kind]["count"], 5, "{kind}: {r}");
        assert!(latency[kind]["max"].as_f64().unwrap() > 0.0, "{kind}: {r}");
    }
    // The most common word is in most of 400 messages: a full first page.
    assert_eq!(r["first_page_hits"]["search_common"], 20, "{r}");
    server.stop().await;
}
