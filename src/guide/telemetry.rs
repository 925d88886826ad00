//! # Telemetry
//!
//! Every event is documented one by one in the [`telemetry`](crate::telemetry) module:
//! when it fires, its metadata, its measurements, its `tracing` target, level and fields,
//! and its `metrics` counter, histogram and labels. This page is the recipes.
//!
//! ## The events and what they measure
//!
//! | event | fires when | `duration` measures |
//! |---|---|---|
//! | `charon.session.create` | a login created a session | the store's create |
//! | `charon.session.refresh` | a refresh rotated the tokens | the store's update |
//! | `charon.session.delete` | a logout, a reuse revocation, an eviction by the session cap | the store's delete (an eviction: the login's create) |
//! | `charon.session.delete_all` | "log out everywhere" | the store's delete-all |
//! | `charon.session.lock_conflict` | a write lost the optimistic-lock race | the losing write |
//! | `charon.token.valid` | a request's token verified | the verification |
//! | `charon.token.invalid` | a token was rejected or missing | the verification, up to the failed step |
//! | `charon.jwks.refresh` | a key-set fetch ended, or the keys expired | the fetch (zero when expired) |
//! | `charon.store.operation.start` | a store operation began | zero (`system_time`: when it began) |
//! | `charon.store.operation.stop` | the store answered (`ok`, `conflict`, `not_found`) | the round trip |
//! | `charon.store.operation.exception` | the store failed (timeout, backend, …) | until the failure |
//! | `charon.jwks.refresh.start` | a key-set fetch began | zero |
//! | `charon.jwks.refresh.stop` | a fetch brought a valid key set | the fetch |
//! | `charon.jwks.refresh.exception` | a fetch failed | until the failure |
//!
//! Every event also has `system_time`, the wall-clock time it was emitted (for `*.start`:
//! when the work began). Read them with [`Event::measurements`](crate::telemetry::Event::measurements).
//!
//! ## Your own handler
//!
//! ```
//! use charon_auth::Charon;
//! use charon_auth::telemetry::{Event, EventKind, TelemetryHandler};
//!
//! /// Counts failed logins per error kind, ignoring everything else at no cost.
//! struct InvalidTokens;
//!
//! impl TelemetryHandler for InvalidTokens {
//!     fn enabled(&self, kind: EventKind) -> bool {
//!         kind == EventKind::TokenInvalid
//!     }
//!     fn handle(&self, event: &Event<'_>) {
//!         if let Some(error) = event.token_meta().and_then(|m| m.error) {
//!             eprintln!("rejected: {} ({})", error, error.kind().as_str());
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("at least 32 bytes of secret entropy!!")
//!     .on_event(InvalidTokens)
//!     .on_event(|event: &Event<'_>| {
//!         if event.kind() == EventKind::SessionLockConflict {
//!             eprintln!("two refreshes raced");
//!         }
//!     })
//!     .build()?;
//! # let _ = charon; Ok(()) }
//! ```
//!
//! ## Handlers at run time
//!
//! Attach a handler while the service runs, for some kinds, under an id; detach it by
//! that id. Attaching an id twice is an error. The handle of a `Charon` is shared with its
//! verifier and store:
//!
//! ```
//! use charon_auth::Charon;
//! use charon_auth::telemetry::{Event, EventKind, TelemetryErrorKind};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("at least 32 bytes of secret entropy!!")
//!     .build()?;
//! let slow_store = |event: &Event<'_>| {
//!     if event.measurements().duration.as_millis() > 50 {
//!         eprintln!("slow store call: {:?}", event.store_meta().map(|m| m.operation));
//!     }
//! };
//! charon.telemetry().attach_many(
//!     "slow-store",
//!     [EventKind::StoreStop, EventKind::StoreException],
//!     slow_store,
//! )?;
//! let again = charon.telemetry().attach("slow-store", EventKind::StoreStop, slow_store);
//! assert_eq!(again.map_err(|e| e.kind()), Err(TelemetryErrorKind::AlreadyAttached));
//! charon.telemetry().detach("slow-store")?;
//! # Ok(()) }
//! ```
//!
//! ## An audit log: the event stream
//!
//! [`Telemetry::subscribe`](crate::telemetry::Telemetry::subscribe) gives a bounded stream
//! of owned events to consume in a task. It never slows a request: when the consumer falls
//! behind, events are dropped and counted. Put a privacy filter in front when the
//! consumer must not see raw ids:
//!
//! ```ignore
//! use charon_auth::telemetry::{event_channel, EventKind, FieldPolicy, IdHashKey, MetadataFilter};
//!
//! let key = IdHashKey::new(&audit_key_bytes)?; // 32+ secret bytes, stable across restarts
//! let filter = MetadataFilter::new().user_id(FieldPolicy::Hash(key)).session_id(FieldPolicy::Drop);
//! let (sender, mut stream) = event_channel(4096)?;
//! charon.telemetry().attach_many(
//!     "audit",
//!     [EventKind::SessionCreate, EventKind::SessionDelete, EventKind::SessionDeleteAll],
//!     filter.wrap(sender),
//! )?;
//! tokio::spawn(async move {
//!     while let Some(event) = stream.recv().await {
//!         audit_log.write(event.name(), event.user_id, event.measurements.system_time).await;
//!         if stream.dropped() > 0 { /* report the loss */ }
//!     }
//! });
//! ```
//!
//! ## Prometheus (feature `metrics`)
//!
//! Install any `metrics` recorder; the built-in [`MetricsHandler`] (on by default with the
//! feature) counts every event, e.g. `charon_token_invalid_total{error_kind="expired",
//! token_transport="bearer", token_type="access", session_type="full"}`, and records the
//! durations in three histograms:
//! `charon_token_verification_duration_seconds{outcome,token_type}`,
//! `charon_store_operation_duration_seconds{operation,outcome}` and
//! `charon_jwks_refresh_duration_seconds{outcome}`. Ids never become labels, and every
//! label has a bounded set of values: give the session types you use with
//! `metrics_session_types` (any other is counted as `other`); whatever you configure, at
//! most 32 session types get a series of their own.
//!
//! The exporter owns the histogram buckets. Give it the ones chosen for these durations
//! (microseconds for verification, sub-millisecond for Redis; listed in
//! [`MetricsHandler::HISTOGRAMS`](crate::telemetry::MetricsHandler::HISTOGRAMS)); without
//! them `metrics-exporter-prometheus` renders summaries, which cannot be aggregated across
//! instances:
//!
//! ```
//! # #[cfg(feature = "metrics")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use charon_auth::telemetry::MetricsHandler;
//! use charon_auth::{Charon, SessionType};
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//!
//! let mut builder = PrometheusBuilder::new();
//! for (name, buckets) in MetricsHandler::HISTOGRAMS {
//!     builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)?;
//! }
//! let handle = builder.install_recorder()?;
//! MetricsHandler::describe(); // HELP texts, optional
//! // The builder installs the bridge itself: register no second `MetricsHandler`.
//! let charon = Charon::builder()
//!     .issuer("my-app")
//!     .base_secret("at least 32 bytes of secret entropy!!")
//!     .metrics_session_types([SessionType::new("full")?, SessionType::new("oauth2")?])
//!     .build()?;
//! // serve `handle.render()` at /metrics (the demo server does exactly this)
//! # let _ = (charon, handle);
//! # Ok(()) }
//! # #[cfg(not(feature = "metrics"))]
//! # fn main() {}
//! ```
//!
//! Queries: p99 verification time
//! `histogram_quantile(0.99, sum by (le) (rate(charon_token_verification_duration_seconds_bucket[5m])))`;
//! median and p99 Redis round trip by operation
//! `histogram_quantile(0.5, sum by (le, operation) (rate(charon_store_operation_duration_seconds_bucket[5m])))`;
//! store failures by kind
//! `sum by (outcome) (rate(charon_store_operation_duration_seconds_count{outcome!~"ok|conflict|not_found"}[5m]))`.
//!
//! ## tracing and OpenTelemetry (feature `tracing`)
//!
//! The built-in [`TracingHandler`] (on by default with the feature) emits one `tracing`
//! event per telemetry event under the targets `charon::session`, `charon::token` and
//! `charon::jwks`, named after the event. Filter them like any target
//! (`RUST_LOG=charon::token=debug` shows rejections; `trace` adds every valid token). The
//! work runs in spans: `charon.verify` (`charon::token`, TRACE), `charon.store.operation`
//! (`charon::store`, TRACE) and `charon.jwks.refresh` (`charon::jwks`, DEBUG), with the
//! fields listed in [the module docs](crate::telemetry#spans). To export them to
//! OpenTelemetry, add `tracing-opentelemetry` to your subscriber: the spans become
//! OpenTelemetry spans inside the request span your HTTP tracing layer opened, and the
//! events span events of it (named by their message, e.g. `token invalid`).
//!
//! ```ignore
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info,charon=debug,charon::store=trace"))
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer))
//!     .init();
//! ```
//!
//! Rejections are also logged at DEBUG under the target `charon::rejection` with the status
//! and error kind.
//!
//! [`MetricsHandler`]: crate::telemetry
//! [`TracingHandler`]: crate::telemetry
