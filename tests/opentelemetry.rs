//! OpenTelemetry, for real: the `opentelemetry` SDK with its in-memory exporters, Charon's
//! `tracing` spans through `tracing-opentelemetry`, and its `metrics` histograms and
//! counters through `metrics-exporter-opentelemetry`. Proves the spans, span events and
//! metrics arrive with the documented names and attributes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use charon_auth::telemetry::MetricsHandler;
use charon_auth::test_util::TestSession;
use charon_auth::{Charon, RefreshSession, Transport};
use http::{HeaderMap, Method, Request};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;

/// The two tests run one at a time: `tracing` caches each callsite's interest process-wide,
/// and a callsite first hit on the other test's thread (no subscriber there) while this
/// one's thread-local subscriber is being set can be cached as uninteresting, losing spans.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn charon() -> Charon {
    Charon::builder()
        .issuer("otel-tests")
        .base_secret("opentelemetry tests secret, thirty-two bytes or more")
        .build()
        .unwrap()
}

fn headers(request: http::request::Builder) -> HeaderMap {
    request.body(()).unwrap().headers().clone()
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match &kv.value {
                Value::String(s) => s.to_string(),
                other => other.to_string(),
            };
            (kv.key.to_string(), value)
        })
        .collect()
}

/// One login, one access request, one refresh, inside a request span each.
async fn flows(charon: &Charon) {
    let session = async {
        TestSession::create(charon, "user-1", Transport::Bearer)
            .await
            .unwrap()
    }
    .instrument(tracing::info_span!("login"))
    .await;
    let access = headers(session.access_request(Request::get("/me")));
    tracing::info_span!("me").in_scope(|| {
        charon
            .verifier()
            .authenticate(&Method::GET, &access)
            .unwrap();
    });
    let refresh = headers(session.refresh_request(Request::post("/refresh")));
    async {
        let auth = charon
            .authenticate_refresh(&Method::POST, &refresh)
            .await
            .unwrap();
        charon
            .refresh_session(&auth, RefreshSession::default())
            .await
            .unwrap();
    }
    .instrument(tracing::info_span!("refresh"))
    .await;
}

fn spans_named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn spans_and_span_events_reach_opentelemetry() {
    let _serial = SERIAL.lock().await;
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let filter = Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("charon::token", tracing::Level::TRACE)
        .with_target("charon::store", tracing::Level::TRACE)
        .with_target("charon::session", tracing::Level::DEBUG);
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("charon-tests")))
        .with(filter);
    let _guard = tracing::subscriber::set_default(subscriber);

    let charon = charon();
    flows(&charon).await;
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();

    // Verification spans: `charon.verify` with its documented attributes, a child of the
    // request span.
    let verify = spans_named(&spans, "charon.verify");
    assert_eq!(
        verify.len(),
        2,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let me = spans_named(&spans, "me")[0];
    let access = verify
        .iter()
        .find(|s| s.parent_span_id == me.span_context.span_id())
        .expect("charon.verify inside the request span");
    let attrs = attributes(&access.attributes);
    assert_eq!(attrs.get("token_type").map(String::as_str), Some("access"));
    assert_eq!(
        attrs.get("token_transport").map(String::as_str),
        Some("bearer")
    );
    assert_eq!(attrs.get("outcome").map(String::as_str), Some("valid"));
    assert!(!attrs.contains_key("error_kind"));
    assert!(
        attrs.values().all(|v| !v.contains("user-1")),
        "no id in span attributes: {attrs:?}"
    );
    let refresh_verify = verify.iter().find(|s| {
        attributes(&s.attributes)
            .get("token_type")
            .map(String::as_str)
            == Some("refresh")
    });
    assert!(refresh_verify.is_some());

    // Store spans: one per operation, with operation, session_type and outcome.
    let store = spans_named(&spans, "charon.store.operation");
    let mut ops: Vec<(String, String, String)> = store
        .iter()
        .map(|s| {
            let a = attributes(&s.attributes);
            (
                a["operation"].clone(),
                a["session_type"].clone(),
                a["outcome"].clone(),
            )
        })
        .collect();
    ops.sort();
    let expected: Vec<(String, String, String)> = [
        ("create", "full", "ok"),
        ("get", "full", "ok"),
        ("update", "full", "ok"),
    ]
    .iter()
    .map(|(o, t, r)| ((*o).to_owned(), (*t).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(ops, expected);
    let login = spans_named(&spans, "login")[0];
    let create = store
        .iter()
        .find(|s| attributes(&s.attributes)["operation"] == "create")
        .unwrap();
    assert_eq!(create.parent_span_id, login.span_context.span_id());

    // The events: span events on the request span, named by their message, with the
    // event's fields as attributes.
    let created = login
        .events
        .events
        .iter()
        .find(|e| e.name == "session created")
        .expect("charon.session.create on the login span");
    let attrs = attributes(&created.attributes);
    assert_eq!(attrs.get("user_id").map(String::as_str), Some("user-1"));
    assert_eq!(attrs.get("session_type").map(String::as_str), Some("full"));
    assert_eq!(
        attrs.get("target").map(String::as_str),
        Some("charon::session")
    );
    assert!(attrs.contains_key("session_id"));
    let valid = me
        .events
        .events
        .iter()
        .find(|e| e.name == "token valid")
        .expect("charon.token.valid on the request span");
    let attrs = attributes(&valid.attributes);
    assert_eq!(
        attrs.get("token_transport").map(String::as_str),
        Some("bearer")
    );
    assert_eq!(attrs.get("token_type").map(String::as_str), Some("access"));
}

/// Every data point of a histogram: its attributes and count.
fn histogram(
    metrics: &[opentelemetry_sdk::metrics::data::ResourceMetrics],
    name: &str,
) -> Vec<(BTreeMap<String, String>, u64)> {
    let mut points = Vec::new();
    for resource in metrics {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics().filter(|m| m.name() == name) {
                let AggregatedMetrics::F64(MetricData::Histogram(h)) = metric.data() else {
                    panic!("{name} is not an f64 histogram");
                };
                for point in h.data_points() {
                    let attrs: Vec<KeyValue> = point.attributes().cloned().collect();
                    points.push((attributes(&attrs), point.count()));
                }
            }
        }
    }
    points
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn histograms_and_counters_reach_opentelemetry_metrics() {
    let _serial = SERIAL.blocking_lock();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let recorder = metrics_exporter_opentelemetry::Recorder::with_meter(
        opentelemetry::metrics::MeterProvider::meter(&provider, "charon"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let charon = charon();
            flows(&charon).await;
            assert!(
                charon
                    .verifier()
                    .authenticate(&Method::GET, &HeaderMap::new())
                    .is_err()
            );
        });
    });
    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();

    let mut verification = histogram(&metrics, MetricsHandler::VERIFICATION_DURATION);
    verification.sort();
    let mut expected = vec![
        (labels(&[("outcome", "valid"), ("token_type", "access")]), 1),
        (
            labels(&[("outcome", "valid"), ("token_type", "refresh")]),
            1,
        ),
        (labels(&[("outcome", "invalid"), ("token_type", "none")]), 1),
    ];
    expected.sort();
    assert_eq!(verification, expected);

    let mut store = histogram(&metrics, MetricsHandler::STORE_DURATION);
    store.sort();
    let mut expected = vec![
        (labels(&[("operation", "create"), ("outcome", "ok")]), 1),
        (labels(&[("operation", "get"), ("outcome", "ok")]), 1),
        (labels(&[("operation", "update"), ("outcome", "ok")]), 1),
    ];
    expected.sort();
    assert_eq!(store, expected);

    // The counters beside them.
    let names: Vec<String> = metrics
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .map(|m| m.name().to_owned())
        .collect();
    for counter in [
        "charon_session_create_total",
        "charon_session_refresh_total",
        "charon_token_valid_total",
        "charon_token_invalid_total",
    ] {
        assert!(names.iter().any(|n| n == counter), "{counter}: {names:?}");
    }
}
