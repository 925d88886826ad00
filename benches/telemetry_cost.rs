//! The hot-path cost of telemetry: one `Verifier::authenticate` (HS256, bearer, the
//! verified-token cache off so every request is a real verification) over 20 000 distinct
//! tokens cycled, never one token repeated back to back.
//!
//! `cargo bench --bench telemetry_cost --features metrics`
//!
//! Groups, each the wall time per request:
//! - `authenticate/none`: no handler at all (no `tracing` bridge, no `metrics` bridge): the
//!   clock is not read, no event is built;
//! - `authenticate/tracing_bridge`: the `tracing` bridge with no subscriber (the default
//!   build without `metrics`): the verification is timed, the event is not built;
//! - `authenticate/metrics`: the `metrics` bridge into an installed
//!   `metrics-exporter-prometheus` recorder with the documented buckets: one counter and
//!   one histogram per request;
//! - `authenticate/attached`: no bridge, one handler attached at run time
//!   (`Telemetry::attach_many`, a closure counting `charon.token.valid`);
//! - `authenticate/stream`: no bridge, an `EventStream` attached and drained by another
//!   thread (an owned copy of each event sent through a bounded channel).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use charon_auth::clock::{Clock, SystemClock, UnixTime};
use charon_auth::telemetry::{Event, EventKind, MetricsHandler};
use charon_auth::token::{Claims, JwtCodec, Key, Keyset, TokenType};
use charon_auth::{TrustedIssuer, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method, header};

const ISS: &str = "bench-issuer";
const SECRET: [u8; 32] = [0x42; 32];
const DISTINCT: usize = 20_000;

fn keyset() -> Keyset {
    Keyset::new("k1", Key::hs256(&SECRET).unwrap()).unwrap()
}

/// `n` distinct access tokens, each as the headers of one request.
fn requests(n: usize, now: UnixTime) -> Vec<HeaderMap> {
    let codec = JwtCodec::new(keyset(), ISS).unwrap();
    (0..n)
        .map(|i| {
            let claims = Claims::new(
                TokenType::Access,
                ISS,
                format!("user-{i:08}"),
                format!("Ko2LvV3Gz1Qz5o{i:08}"),
                "full",
                format!("aT9xQ2mVn4Lp8s{i:08}"),
            )
            // Within the default maximum access lifetime (15 minutes).
            .with_validity(now, now + 600);
            let token = codec.sign(&claims).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
            headers
        })
        .collect()
}

fn verifier(tracing: bool, metrics: bool) -> Verifier {
    Verifier::builder()
        .trust(TrustedIssuer::charon(ISS, keyset()))
        .verified_token_cache(0)
        .tracing_events(tracing)
        .metrics_counters(metrics)
        .build()
        .unwrap()
}

fn run(c: &mut Criterion, name: &str, verifier: &Verifier, requests: &[HeaderMap]) {
    let next = AtomicUsize::new(0);
    c.bench_function(&format!("authenticate/{name}"), |b| {
        b.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed) % requests.len();
            black_box(verifier.authenticate(&Method::GET, &requests[i]).unwrap());
        });
    });
}

fn bench(c: &mut Criterion) {
    let now = SystemClock.now();
    let requests = requests(DISTINCT, now);

    run(c, "none", &verifier(false, false), &requests);
    run(c, "tracing_bridge", &verifier(true, false), &requests);

    let mut prometheus = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, buckets) in MetricsHandler::HISTOGRAMS {
        prometheus = prometheus
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(name.to_owned()),
                buckets,
            )
            .unwrap();
    }
    let recorder = prometheus.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    run(c, "metrics", &verifier(false, true), &requests);
    let rendered = handle.render();
    assert!(rendered.contains(MetricsHandler::VERIFICATION_DURATION));

    let attached = verifier(false, false);
    let valid = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&valid);
    attached
        .telemetry()
        .attach_many("bench", [EventKind::TokenValid], move |_: &Event<'_>| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    run(c, "attached", &attached, &requests);
    assert!(valid.load(Ordering::Relaxed) > 0);

    let streamed = verifier(false, false);
    let mut stream = streamed
        .telemetry()
        .subscribe("bench", [EventKind::TokenValid], 4096)
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let consumer = std::thread::spawn(move || {
        let mut received = 0_u64;
        while !stop.load(Ordering::Relaxed) {
            match stream.try_recv() {
                Some(event) => {
                    black_box(event);
                    received += 1;
                }
                None => std::thread::sleep(Duration::from_micros(50)),
            }
        }
        (received, stream.dropped())
    });
    run(c, "stream", &streamed, &requests);
    done.store(true, Ordering::Relaxed);
    let (received, dropped) = consumer.join().unwrap();
    eprintln!("stream: {received} events received, {dropped} dropped");
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
