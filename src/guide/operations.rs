//! # Operations: health probes and the Grafana dashboard
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
//!
//! ## The Grafana dashboard
//!
//! `docs/grafana/charon-auth.json` is a dashboard to import (Dashboards → New → Import).
//! It asks for a Prometheus data source (`datasource` variable) and filters every query by
//! a `job` variable (all jobs by default). The metrics come from the `metrics` feature
//! (the counters of the [telemetry](crate::telemetry) module, the duration histograms, the
//! store's error counter), exported by any Prometheus exporter of the `metrics` crate
//! (the demo uses `metrics-exporter-prometheus`; give it buckets for the histograms, or it
//! renders them as summaries without `_bucket` series). `tests/repository/grafana_dashboard.rs` checks
//! that every query reads only metrics the crate documents. The panels, one by one
//! (`$__rate_interval` is Grafana's rate window; the `job` filter is left out here):
//!
//! ### Request rate by outcome
//!
//! ```text
//! sum by (token_transport) (rate(charon_token_valid_total[$__rate_interval]))
//! sum by (token_transport) (rate(charon_token_invalid_total[$__rate_interval]))
//! ```
//!
//! Token checks per second, valid and invalid, per transport (bearer, cookie,
//! cookie_only). One check per request on an access or refresh route: this is the
//! authenticated traffic. A drop of `valid` with a rise of `invalid` is a key or clock
//! problem; both dropping is a traffic problem upstream.
//!
//! ### Invalid-token ratio by error kind
//!
//! ```text
//! sum by (error_kind) (rate(charon_token_invalid_total[$__rate_interval]))
//!   / scalar(sum(rate(charon_token_valid_total[$__rate_interval]))
//!          + sum(rate(charon_token_invalid_total[$__rate_interval])))
//! ```
//!
//! The share of all checks rejected, per
//! [`AuthErrorKind`](crate::AuthErrorKind) (`expired`, `token_not_found`,
//! `signature_invalid`, `session_not_found`, `token_stale`, …). Some `expired` is normal (clients
//! refresh on a 401); a rise of `signature_invalid` or `key_not_found` after a deploy means
//! a key was rotated out too early (see the [key rotation guide](crate::guide::key_rotation));
//! `session_not_found` follows logouts and evictions. Alert on the ratio, not the rate: it
//! does not move with traffic.
//!
//! ### Verification latency p50 / p99
//!
//! ```text
//! histogram_quantile(0.5,  sum by (le) (rate(charon_token_verification_duration_seconds_bucket[$__rate_interval])))
//! histogram_quantile(0.99, sum by (le) (rate(charon_token_verification_duration_seconds_bucket[$__rate_interval])))
//! histogram_quantile(0.99, sum by (le, outcome) (rate(charon_token_verification_duration_seconds_bucket[$__rate_interval])))
//! ```
//!
//! How long verifying one token takes, from the histogram
//! `charon_token_verification_duration_seconds{outcome, token_type}`: the median and the
//! 99th percentile over all pods (buckets are summed by `le` before the quantile, never
//! quantiles averaged), and the p99 per outcome. Microseconds when the verified-token cache
//! hits, tens of microseconds for a signature check (more for RSA); a p99 far above the p50
//! with a low hit ratio (below) says the cache is too small for the working set.
//!
//! ### Redis latency p50 / p99
//!
//! ```text
//! histogram_quantile(0.5,  sum by (le) (rate(charon_store_operation_duration_seconds_bucket[$__rate_interval])))
//! histogram_quantile(0.99, sum by (le) (rate(charon_store_operation_duration_seconds_bucket[$__rate_interval])))
//! histogram_quantile(0.99, sum by (le, operation) (rate(charon_store_operation_duration_seconds_bucket[$__rate_interval])))
//! ```
//!
//! Session store round trips, from `charon_store_operation_duration_seconds{operation,
//! outcome}`, overall and per operation (get, create, update, delete, …). A loopback round
//! trip is about 0.1 ms; a p99 near the store's response timeout (250 ms by default) comes
//! before 503s, and the `Store errors by kind` panel shows them.
//!
//! ### Sessions created / refreshed / deleted
//!
//! ```text
//! sum(rate(charon_session_create_total[$__rate_interval]))
//! sum(rate(charon_session_refresh_total[$__rate_interval]))
//! sum(rate(charon_session_delete_total[$__rate_interval]))
//! sum(rate(charon_session_delete_all_total[$__rate_interval]))
//! ```
//!
//! Logins, token rotations, logouts (and sessions evicted by the per-user cap, each a
//! `delete`), and "log out everywhere". Refreshes follow the access TTL: with 15-minute
//! access tokens, about one per active client every 15 minutes. A burst of `delete_all`
//! can be refresh-token reuse detection revoking sessions.
//!
//! ### Lock conflicts
//!
//! ```text
//! sum by (session_type) (rate(charon_session_lock_conflict_total[$__rate_interval]))
//! ```
//!
//! Writes that lost the optimistic lock: two refreshes of one session at once (a client
//! refreshing in two tabs, a retry racing its original). One of them wins, the other gets
//! a 409 (`SessionErrorKind::Conflict`); a steady rate is a client bug worth finding, not a server fault.
//!
//! ### Verified-token cache hit ratio
//!
//! ```text
//! sum(rate(charon_token_cache_hits_total[$__rate_interval]))
//!   / (sum(rate(charon_token_cache_hits_total[$__rate_interval]))
//!    + sum(rate(charon_token_cache_misses_total[$__rate_interval])))
//! ```
//!
//! The share of checks answered from the cache of verified tokens (no signature check).
//! Clients reuse an access token for its whole TTL, so a healthy service sits well above
//! 0.9; lower, raise
//! [`verified_token_cache`](crate::CharonBuilder::verified_token_cache).
//!
//! ### Store errors by kind
//!
//! ```text
//! sum by (kind) (rate(charon_store_errors_total[$__rate_interval]))
//! ```
//!
//! Failed store calls by [`StoreErrorKind`](crate::error::StoreErrorKind): `unavailable`
//! while Redis is known down and calls fail fast, `timeout`, `backend`, `out_of_memory`,
//! `not_durable`. Pair it with the readiness probe: `unavailable` here is what turns
//! `/health/ready` to 503.
