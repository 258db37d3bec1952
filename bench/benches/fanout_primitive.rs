//! STAND-IN measurement of the serialize-once fan-out primitive — not of the server.
//!
//! ARCHITECTURE.md's invariant 4 says an event is encoded once and the same bytes are shared by
//! every recipient. This benchmark measures only that primitive in isolation: encode one server
//! frame into `bytes::Bytes`, then hand a clone (a reference-count increment) to 1,000 bounded
//! tokio mpsc queues with `try_send`, as the gateway's per-connection outbound queues will be fed,
//! and drain them. For contrast, the same delivery with a fresh JSON encoding per recipient. No
//! sockets, no tasks, no server: it bounds from above what the fan-out path can cost per recipient
//! in the process, and it is replaced as *the* fan-out figure by `jeco-bench fanout` (planned, needs
//! the messaging protocol) which measures deliveries end to end.
//!
//! Run: `cargo bench -p jeco-bench --bench fanout_primitive -- --warm-up-time 1 --measurement-time 3`

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jeco_shared::ErrorCode;
use jeco_shared::ws::ServerFrame;
use std::hint::black_box;
use tokio::sync::mpsc;

const RECIPIENTS: usize = 1_000;
/// The server's default `ws_outbound_queue`.
const QUEUE_CAPACITY: usize = 256;

/// A frame of typical chat-event size (~200 bytes of JSON). Only frames that exist in the protocol
/// today are used; an error frame has the right shape and size.
fn frame() -> ServerFrame {
    ServerFrame::Error {
        code: ErrorCode::MalformedFrame,
        message: "a message of about the length of a short chat line, sent to everyone in a room"
            .into(),
        frame: Some("send".into()),
        client_id: None,
    }
}

fn queues() -> (Vec<mpsc::Sender<Bytes>>, Vec<mpsc::Receiver<Bytes>>) {
    (0..RECIPIENTS)
        .map(|_| mpsc::channel(QUEUE_CAPACITY))
        .unzip()
}

fn fanout(c: &mut Criterion) {
    let frame = frame();
    let (senders, mut receivers) = queues();
    let mut group = c.benchmark_group("fanout_primitive_standin");
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    group.bench_function("encode_once_share_bytes_to_1000_queues", |b| {
        b.iter(|| {
            let bytes = Bytes::from(serde_json::to_vec(black_box(&frame)).unwrap());
            for tx in &senders {
                tx.try_send(bytes.clone()).unwrap();
            }
            for rx in &mut receivers {
                black_box(rx.try_recv().unwrap());
            }
        })
    });
    group.bench_function("encode_per_recipient_to_1000_queues", |b| {
        b.iter(|| {
            for tx in &senders {
                let bytes = Bytes::from(serde_json::to_vec(black_box(&frame)).unwrap());
                tx.try_send(bytes).unwrap();
            }
            for rx in &mut receivers {
                black_box(rx.try_recv().unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
