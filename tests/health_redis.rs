//! Readiness against real Redis (issue 16): `Charon::health` and the demo's
//! `/health/ready` go ready → degraded (503) → ready as the `redis-server` this test starts
//! is killed and restarted; `/health` (liveness) and `/healthz` answer 200 throughout. A
//! paused server is cut at the health deadline (no hang), and a Cluster is pinged on every
//! node (one paused node of three fails the check).
//!
//! No timing is asserted: the reports' statuses and error kinds are.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../examples/demo/app.rs"]
#[allow(dead_code)]
mod app;
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use charon_auth::Charon;
use charon_auth::error::StoreErrorKind;
use charon_auth::health::{CheckErrorKind, HealthReport, HealthStatus};
use charon_auth::store::redis::{FailFast, RedisStore, SigningKey};
use http_body_util::BodyExt as _;
use serde_json::Value;
use support::redis::RedisServer;
use tower::ServiceExt as _;

/// Not a timing assertion: how many checks a test makes before giving up on a state.
const ATTEMPTS: usize = 400;

async fn charon_on(url: &str, fail_fast: FailFast) -> (Charon, RedisStore) {
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([16; 32]))
        .connect_timeout(Duration::from_millis(200))
        .response_timeout(Duration::from_millis(200))
        .fail_fast(fail_fast.probe_interval(Duration::from_millis(100)))
        .connect(url)
        .await
        .unwrap();
    let charon = Charon::builder()
        .issuer("health-redis")
        .base_secret("health readiness tests secret, at least 32 bytes")
        .tracing_events(false)
        .health_deadline(Duration::from_millis(300))
        .store(store.clone())
        .build()
        .unwrap();
    (charon, store)
}

/// The store check of a report that is not ready: failed, with a store error kind (or
/// the deadline), never hanging.
fn assert_redis_failed(report: &HealthReport) {
    assert_eq!(report.status(), HealthStatus::Failed, "{report:?}");
    assert!(!report.is_ready());
    let redis = report.check("redis").expect("a redis check");
    assert_eq!(redis.status(), HealthStatus::Failed);
    match redis.error_kind() {
        Some(CheckErrorKind::Store(
            StoreErrorKind::Backend | StoreErrorKind::Timeout | StoreErrorKind::Unavailable,
        ))
        | Some(CheckErrorKind::DeadlineExceeded) => {}
        other => panic!("redis check with the server killed: {other:?}"),
    }
    // The keys are still there: only the store failed.
    assert_eq!(report.check("keys").unwrap().status(), HealthStatus::Ok);
}

async fn until_ready(charon: &Charon) -> HealthReport {
    for _ in 0..ATTEMPTS {
        let report = charon.health().await;
        if report.is_ready() {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never ready again: {:?}", charon.health().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charon_health_goes_ready_degraded_ready_as_redis_stops_and_restarts() {
    let mut server = RedisServer::spawn();
    let (charon, store) = charon_on(&server.url(), FailFast::new()).await;

    let report = charon.health().await;
    assert_eq!(report.status(), HealthStatus::Ok, "{report:?}");
    let names: Vec<_> = report.checks().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["redis", "keys"]);

    server.stop();
    let report = charon.health().await;
    assert_redis_failed(&report);
    // The cause is kept for logs, as the store error.
    let cause = report.check("redis").unwrap().error().expect("a cause");
    assert!(
        cause
            .downcast_ref::<charon_auth::error::StoreError>()
            .is_some()
    );
    // Known down now (a lost connection opens the breaker): the next check fails at once
    // with `unavailable`.
    let mut unavailable = false;
    for _ in 0..ATTEMPTS {
        let report = charon.health().await;
        assert_redis_failed(&report);
        if report.check("redis").unwrap().error_kind()
            == Some(CheckErrorKind::Store(StoreErrorKind::Unavailable))
        {
            unavailable = true;
            break;
        }
    }
    assert!(unavailable, "the breaker never opened");
    assert!(!store.is_available());

    server.restart();
    let report = until_ready(&charon).await;
    assert_eq!(report.status(), HealthStatus::Ok, "{report:?}");
    assert!(store.is_available());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_is_cut_at_the_deadline_without_fail_fast() {
    let server = RedisServer::spawn();
    let (charon, _store) = charon_on(&server.url(), FailFast::off()).await;
    assert!(charon.health().await.is_ready());
    // `PAUSE ALL` holds back every command, PING included, well past the deadline.
    server.command(&["CLIENT", "PAUSE", "3000", "ALL"]).unwrap();
    let report = charon.health().await;
    assert_eq!(report.status(), HealthStatus::Failed, "{report:?}");
    let kind = report.check("redis").unwrap().error_kind();
    assert!(
        matches!(
            kind,
            Some(CheckErrorKind::Store(StoreErrorKind::Timeout) | CheckErrorKind::DeadlineExceeded)
        ),
        "{kind:?}"
    );
    until_ready(&charon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_answers_the_ping_on_every_node() {
    let cluster = support::redis::cluster();
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([16; 32]))
        .response_timeout(Duration::from_millis(200))
        .connect_cluster(cluster.urls())
        .await
        .unwrap();
    let charon = Charon::builder()
        .issuer("health-redis")
        .base_secret("health readiness tests secret, at least 32 bytes")
        .tracing_events(false)
        .health_deadline(Duration::from_millis(300))
        .store(store)
        .build()
        .unwrap();
    let report = charon.health().await;
    assert_eq!(report.status(), HealthStatus::Ok, "{report:?}");
    assert!(report.check("redis").is_some());
    // One node of three stops answering: the ping goes to every node, so the check fails
    // (a ping to one node would pass most of the time).
    let node = &cluster.nodes()[2];
    node.command(&["CLIENT", "PAUSE", "3000", "ALL"]).unwrap();
    let report = charon.health().await;
    assert_eq!(report.status(), HealthStatus::Failed, "{report:?}");
    let kind = report.check("redis").unwrap().error_kind();
    assert!(
        matches!(
            kind,
            Some(CheckErrorKind::Store(_) | CheckErrorKind::DeadlineExceeded)
        ),
        "{kind:?}"
    );
    until_ready(&charon).await;
}

// ---- over HTTP, through the demo router ------------------------------------------------

async fn get(app: &Router, path: &str) -> (StatusCode, Value) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if json {
        serde_json::from_slice(&bytes).unwrap()
    } else {
        Value::String(String::from_utf8(bytes.to_vec()).unwrap())
    };
    (status, body)
}

async fn assert_alive(app: &Router) {
    let (status, body) = get(app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "alive"}));
    let (status, body) = get(app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}

fn assert_ready_body(body: &Value) {
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["redis"]["status"], "ok", "{body}");
    assert!(body["checks"]["redis"]["latency_ms"].is_number(), "{body}");
    assert!(
        body["checks"]["redis"].get("error_kind").is_none(),
        "{body}"
    );
    assert_eq!(body["checks"]["keys"]["status"], "ok", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_readiness_answers_200_then_503_degraded_then_200() {
    let mut server = RedisServer::spawn();
    let (charon, _store) = charon_on(&server.url(), FailFast::new()).await;
    let app = app::router(&charon, Arc::new(String::new));

    assert_alive(&app).await;
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ready_body(&body);

    server.stop();
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    let redis = &body["checks"]["redis"];
    assert_eq!(redis["status"], "failed", "{body}");
    let kind = redis["error_kind"].as_str().unwrap();
    assert!(
        ["backend", "timeout", "unavailable", "deadline_exceeded"].contains(&kind),
        "{body}"
    );
    // No error message in the body (it may name hosts): only the kind.
    assert_eq!(
        redis.as_object().unwrap().len(),
        3,
        "status, latency_ms, error_kind: {body}"
    );
    assert_eq!(body["checks"]["keys"]["status"], "ok", "{body}");
    // Liveness never asks Redis.
    assert_alive(&app).await;

    server.restart();
    let mut ready = None;
    for _ in 0..ATTEMPTS {
        let (status, body) = get(&app, "/health/ready").await;
        if status == StatusCode::OK {
            ready = Some(body);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "degraded", "{body}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let body = ready.expect("/health/ready never answered 200 again");
    assert_ready_body(&body);
    assert_alive(&app).await;
}
