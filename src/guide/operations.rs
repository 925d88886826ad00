//! # Operations: health probes
//!
//! ## Liveness and readiness
//!
//! [`Charon::health`](crate::Charon::health) returns a typed
//! [`HealthReport`](crate::health::HealthReport): the session store answered a `PING`
//! within the [health deadline](crate::CharonBuilder::health_deadline) (250 ms by default;
//! the memory store always answers), and every trusted issuer has keys. A resource service
//! that only verifies tokens calls [`Verifier::health`](crate::verifier::Verifier::health)
//! (keys present; remote keys ok while fresh, degraded while stale, failed when gone).
//!
//! Serve two endpoints, as the demo does (`examples/demo/app.rs`):
//!
//! - **`GET /health`, liveness**: 200 while the process runs; it asks nothing. A Redis
//!   outage must not get every pod restarted: the access path (a valid access token) keeps
//!   working without Redis, and restarting does not bring Redis back.
//! - **`GET /health/ready`, readiness**: 200 `{"status":"ready","checks":{…}}` when
//!   [`is_ready`](crate::health::HealthReport::is_ready), else 503
//!   `{"status":"degraded","checks":{"redis":{"status":"failed","latency_ms":…,"error_kind":"unavailable"},…}}`.
//!   The orchestrator stops routing new traffic to the pod until Redis answers again.
//!
//! ```
//! use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
//! use charon_auth::Charon;
//!
//! async fn ready(State(charon): State<Charon>) -> (StatusCode, Json<serde_json::Value>) {
//!     let report = charon.health().await;
//!     let (code, status) = if report.is_ready() {
//!         (StatusCode::OK, "ready")
//!     } else {
//!         (StatusCode::SERVICE_UNAVAILABLE, "degraded")
//!     };
//!     let checks = serde_json::to_value(&report).unwrap_or_default()["checks"].take();
//!     (code, Json(serde_json::json!({ "status": status, "checks": checks })))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("at least 32 bytes of secret entropy!!")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "alive" }))
//!     .route("/health/ready", get(ready))
//!     .with_state(charon);
//! # let _ = app; Ok(()) }
//! ```
//!
//! The check never hangs: a store that has not answered by the deadline is reported failed
//! (`deadline_exceeded`, or the Redis store's own `timeout`); while the Redis store is known
//! down (fail-fast, see the [Redis deployment guide](crate::guide::redis_deployment)) the
//! ping fails at once with `unavailable`. Keep the deadline below the probe's
//! `timeoutSeconds`.
//!
//! ## Kubernetes probes
//!
//! ```yaml
//! containers:
//!   - name: api
//!     ports:
//!       - name: http
//!         containerPort: 3000
//!     livenessProbe:
//!       httpGet:
//!         path: /health
//!         port: http
//!       periodSeconds: 10
//!       timeoutSeconds: 1
//!       failureThreshold: 3
//!     readinessProbe:
//!       httpGet:
//!         path: /health/ready
//!         port: http
//!       periodSeconds: 5
//!       timeoutSeconds: 1      # above the health deadline (250 ms by default)
//!       failureThreshold: 2    # two failed pings in a row: out of the Service
//!       successThreshold: 1
//! ```
//!
//! A readiness probe that asks Redis takes every pod out of the Service at once when Redis
//! is down. That is the point when nothing can be served without Redis (logins, refreshes);
//! if your pods also serve routes that need only an access token, you may prefer to keep
//! them in and let the store routes answer 503 with `Retry-After` (they do, see the
//! [Redis deployment guide](crate::guide::redis_deployment)): then point the readiness probe
//! at `/health` too, and alert on `/health/ready` instead.
