//! # Telemetry
//!
//! Every event is documented one by one in the [`telemetry`](crate::telemetry) module:
//! when it fires, its metadata, its `tracing` target, level and fields, and its `metrics`
//! counter and labels. This page is the recipes.
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
//! ## Prometheus (feature `metrics`)
//!
//! Install any `metrics` recorder; the built-in [`MetricsHandler`] (on by default with the
//! feature) counts every event, e.g. `charon_token_invalid_total{error_kind="expired",
//! token_transport="bearer", token_type="access", session_type="full"}`. Ids never become
//! labels, and every label has a bounded set of values: give the session types you use
//! with `metrics_session_types` (any other is counted as `other`); whatever you configure,
//! at most 32 session types get a series of their own.
//!
//! ```ignore
//! let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! charon_auth::telemetry::MetricsHandler::describe(); // HELP texts, optional
//! let charon = Charon::builder()
//!     // ...
//!     .metrics_session_types([SessionType::new("full")?, SessionType::new("oauth2")?])
//!     .build()?;
//! // serve `handle.render()` at /metrics (the demo server does exactly this)
//! ```
//!
//! ## tracing and OpenTelemetry (feature `tracing`)
//!
//! The built-in [`TracingHandler`] (on by default with the feature) emits one `tracing`
//! event per telemetry event under the targets `charon::session` and `charon::token`, named
//! after the event. Filter them like any target (`RUST_LOG=charon::token=debug` shows
//! rejections; `trace` adds every valid token). To export them to OpenTelemetry, add
//! `tracing-opentelemetry` to your subscriber: the events become span events of the request
//! span your HTTP tracing layer opened.
//!
//! ```ignore
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info,charon=debug"))
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer))
//!     .init();
//! ```
//!
//! Rejections are also logged at DEBUG under the target `charon::rejection` with the status
//! and error kind.
//!
//! [`MetricsHandler`]: crate::telemetry
//! [`TracingHandler`]: crate::telemetry
