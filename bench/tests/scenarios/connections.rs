use super::{result_line, run_bench, start_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_connections_over_two_users_are_held_and_measured() {
    let _alone = super::ONE_AT_A_TIME.lock().await;
    let server = start_server().await;
    let output = run_bench(
        &server,
        &[
            "connections",
            "--connections",
            "20",
            "--users",
            "2",
            "--settle-secs",
            "0",
            // Several server heartbeat intervals (300 ms) and idle timeouts (1 s): connections the
            // tool failed to keep alive would be closed with 4005 and counted as lost.
            "--idle-secs",
            "3",
        ],
    )
    .await;
    let r = result_line(&output);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("established"), "{table}");

    assert_eq!(r["scenario"], "connections");
    assert_eq!(r["params"]["connections"], 20);
    assert_eq!(r["params"]["users"], 2);
    assert_eq!(r["established"], 20, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    assert_eq!(r["held_to_end"], 20, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    // 3 s of 300 ms heartbeats on 20 connections: hundreds of pongs; a few at the very least.
    assert!(r["pongs"].as_u64().unwrap() >= 20, "{r}");

    let memory = &r["memory"];
    for sample in ["after_setup", "baseline", "established", "end"] {
        let rss = memory[sample]["rss_kib"].as_u64().unwrap();
        let pss = memory[sample]["pss_kib"].as_u64().unwrap();
        assert!(rss > 1_000 && rss < 16 * 1024 * 1024, "{sample}: {r}");
        assert!(pss > 0 && pss <= rss + 1024, "{sample}: {r}");
    }
    // Per-connection deltas are noisy at this scale (the test process allocates too) but must be
    // finite numbers of a plausible size.
    for key in ["per_connection_rss_kib", "per_connection_pss_kib"] {
        let kib = memory[key].as_f64().unwrap();
        assert!(kib.abs() < 10.0 * 1024.0, "{key}: {r}");
    }
    let cpu = &r["cpu"];
    let idle = cpu["server_idle_percent"].as_f64().unwrap();
    assert!((0.0..=400.0).contains(&idle), "{r}");
    assert!(cpu["window_secs"].as_f64().unwrap() >= 3.0, "{r}");
    assert!(r["server"]["fd_limit"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["server"]["spawned"], false);

    server.stop().await;
}
