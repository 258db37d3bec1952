//! Prometheus metrics: the series the server keeps (served by `api::observe::serve_metrics`).
//!
//! The series live in one process-wide [`Metrics`] (a private registry, not the `prometheus`
//! crate's default one), reached from anywhere through [`get`]: recording is an atomic add on a
//! handle created once, cheap enough for the gateway's per-frame paths, and it happens whether or
//! not anything scrapes. Several servers in one process (the tests, an embedding app) share the
//! series.
//!
//! `/metrics` is served only when `metrics_addr` is set, and only there — on its own listener,
//! never on the API's address — because the series say how busy the server is and which routes
//! are used: bind it to a loopback or private address that only the scraper reaches. Nothing in a
//! series names a user or carries what a client sent: HTTP requests are labelled by the route
//! template they matched (`/api/v1/conversations/{id}/messages`), never the raw path or query.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use std::sync::LazyLock;

/// Every series the server records. See server/README "Monitoring" for what each one means.
pub struct Metrics {
    registry: Registry,
    /// TCP connections open on the API's listener (HTTP and WebSocket).
    pub connections_open: IntGauge,
    /// Connections refused by the caps with a 503, by which cap (`total`, `per_ip`).
    pub connections_refused: IntCounterVec,
    /// WebSocket connections open (from the upgrade to the close).
    pub ws_connections_open: IntGauge,
    /// WebSocket frames read from clients (data frames; pings and pongs included).
    pub ws_frames_in: IntCounter,
    /// WebSocket frames written to clients.
    pub ws_frames_out: IntCounter,
    /// Events delivered to connections (each published event, once per receiving connection).
    pub ws_deliveries: IntCounter,
    /// From reading a `send` frame to queueing its `ack`, in seconds (commit and fsync included).
    pub ws_send_ack_seconds: Histogram,
    /// Frames waiting in a connection's outbound queue when it is written out.
    pub ws_outbound_queue_depth: Histogram,
    /// Connections closed because their outbound queue overflowed (close 4006).
    pub ws_slow_consumer_closes: IntCounter,
    /// Messages per group-commit transaction.
    pub commit_batch_size: Histogram,
    /// Time to store one group-commit batch (its transaction and the WAL sync), in seconds.
    pub commit_batch_seconds: Histogram,
    /// Database transactions committed (every write, not only sends); each one syncs the WAL
    /// to disk (`synchronous = FULL`), so this is also the number of fsyncs of commits.
    pub db_commits: IntCounter,
    /// Connections of the database's read/write pool lent out right now.
    pub db_pool_in_use: IntGauge,
    /// Connections in that pool.
    pub db_pool_size: IntGauge,
    /// Messages this instance put on the cluster bus (Redis), and those it could not (Redis down
    /// or its queue full: the other instances notice the gap and catch up from the database).
    pub bus_published: IntCounter,
    pub bus_publish_dropped: IntCounter,
    /// Messages from other instances read from the bus.
    pub bus_received: IntCounter,
    /// Times this instance told all its connections to compare their positions with the database
    /// (after a bus reconnect, or a gap in another instance's sequence).
    pub bus_catch_ups: IntCounter,
    /// 1 while this instance is subscribed to the bus.
    pub bus_subscribed: IntGauge,
    /// HTTP requests answered, by method, matched route template and status.
    pub http_requests: IntCounterVec,
    /// HTTP request latency (to the response head), by method and matched route template.
    pub http_request_seconds: HistogramVec,
}

/// Latency buckets, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Count buckets for queue depths and batch sizes (batches hold up to 256 messages).
const COUNT_BUCKETS: &[f64] = &[
    0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's series.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        // The names and help texts are constants: registering cannot fail but for a duplicate
        // name, which would be a bug caught by the first test that touches a series.
        fn reg<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
            r.register(Box::new(c.clone()))
                .expect("metric names are unique");
            c
        }
        let gauge = |name: &str, help: &str| reg(&registry, IntGauge::new(name, help).unwrap());
        let counter = |name: &str, help: &str| reg(&registry, IntCounter::new(name, help).unwrap());
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            reg(
                &registry,
                Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                    .unwrap(),
            )
        };
        Self {
            connections_open: gauge(
                "jeco_connections_open",
                "TCP connections open on the API listener (HTTP and WebSocket)",
            ),
            connections_refused: reg(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "jeco_connections_refused_total",
                        "Connections refused with 503 by max_connections (total) or \
                         max_connections_per_ip (per_ip)",
                    ),
                    &["cap"],
                )
                .unwrap(),
            ),
            ws_connections_open: gauge("jeco_ws_connections_open", "WebSocket connections open"),
            ws_frames_in: counter(
                "jeco_ws_frames_in_total",
                "WebSocket frames read from clients",
            ),
            ws_frames_out: counter(
                "jeco_ws_frames_out_total",
                "WebSocket frames written to clients",
            ),
            ws_deliveries: counter(
                "jeco_ws_deliveries_total",
                "Events delivered to WebSocket connections (one per receiving connection)",
            ),
            ws_send_ack_seconds: histogram(
                "jeco_ws_send_ack_seconds",
                "From reading a send frame to queueing its ack (commit and fsync included)",
                LATENCY_BUCKETS,
            ),
            ws_outbound_queue_depth: histogram(
                "jeco_ws_outbound_queue_depth",
                "Frames waiting in a connection's outbound queue when it is written out",
                COUNT_BUCKETS,
            ),
            ws_slow_consumer_closes: counter(
                "jeco_ws_slow_consumer_closes_total",
                "WebSocket connections closed because their outbound queue overflowed (4006)",
            ),
            commit_batch_size: histogram(
                "jeco_commit_batch_size",
                "Messages per group-commit transaction",
                COUNT_BUCKETS,
            ),
            commit_batch_seconds: histogram(
                "jeco_commit_batch_seconds",
                "Time to store one group-commit batch (transaction and WAL sync)",
                LATENCY_BUCKETS,
            ),
            db_commits: counter(
                "jeco_db_commits_total",
                "Database transactions committed, each with one WAL sync (synchronous = FULL)",
            ),
            db_pool_in_use: gauge("jeco_db_pool_in_use", "Database pool connections lent out"),
            db_pool_size: gauge("jeco_db_pool_size", "Database pool connections"),
            bus_published: counter(
                "jeco_bus_published_total",
                "Messages this instance published on the cluster bus",
            ),
            bus_publish_dropped: counter(
                "jeco_bus_publish_dropped_total",
                "Bus messages not published (Redis unreachable or queue full); others catch up",
            ),
            bus_received: counter(
                "jeco_bus_received_total",
                "Bus messages received from other instances",
            ),
            bus_catch_ups: counter(
                "jeco_bus_catch_ups_total",
                "Times every connection was told to compare its positions with the database",
            ),
            bus_subscribed: gauge(
                "jeco_bus_subscribed",
                "1 while subscribed to the cluster bus",
            ),
            http_requests: reg(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "jeco_http_requests_total",
                        "HTTP requests by method, matched route template and status",
                    ),
                    &["method", "route", "status"],
                )
                .unwrap(),
            ),
            http_request_seconds: reg(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "jeco_http_request_seconds",
                        "HTTP request latency to the response head, by method and route template",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["method", "route"],
                )
                .unwrap(),
            ),
            registry,
        }
    }

    /// Every series in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(error = %e, "cannot render the metrics");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

/// Adds one to a gauge until dropped (a connection open for as long as its guard lives).
pub struct GaugeGuard(&'static IntGauge);

impl GaugeGuard {
    pub fn new(gauge: &'static IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The content type of the text format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";
