//! [`TelemetryBuilder`]: the handlers a [`Telemetry`] delivers to, and the built-in bridges.

use std::fmt;
use std::sync::Arc;

use super::{Telemetry, TelemetryHandler};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::session::SessionType;

/// Most session types the built-in `metrics` bridge can be given as its allowlist (its
/// label cap).
pub const MAX_METRICS_SESSION_TYPES: usize = 32;
#[cfg(feature = "metrics")]
const _: () =
    assert!(MAX_METRICS_SESSION_TYPES == crate::telemetry::MetricsHandler::MAX_SESSION_TYPE_LABELS);

/// Configures the telemetry of a [`Charon`](crate::Charon) or a
/// [`Verifier`](crate::Verifier): the application's handlers, then the `tracing` bridge
/// (feature `tracing`) and the `metrics` bridge (feature `metrics`), each on by default.
/// The handle builders expose these settings as their own setters.
#[derive(Clone)]
#[must_use]
pub struct TelemetryBuilder {
    handlers: Vec<Arc<dyn TelemetryHandler>>,
    tracing_events: bool,
    metrics_counters: bool,
    metrics_session_types: Option<Vec<SessionType>>,
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        Self {
            handlers: Vec::new(),
            tracing_events: true,
            metrics_counters: true,
            metrics_session_types: None,
        }
    }
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("handlers", &self.handlers.len())
            .field("tracing_events", &self.tracing_events)
            .field("metrics_counters", &self.metrics_counters)
            .field("metrics_session_types", &self.metrics_session_types)
            .finish()
    }
}

impl TelemetryBuilder {
    /// Add a handler (a closure `Fn(&Event<'_>)` works). Handlers run in the order added.
    /// None by default.
    pub fn on_event(mut self, handler: impl TelemetryHandler) -> Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Emit every event as a `tracing` event, and open `tracing` spans around verification
    /// and store operations (feature `tracing`). Defaults to on.
    pub fn tracing_events(mut self, on: bool) -> Self {
        self.tracing_events = on;
        self
    }

    /// Count every event with the `metrics` crate (feature `metrics`). Defaults to on.
    pub fn metrics_counters(mut self, on: bool) -> Self {
        self.metrics_counters = on;
        self
    }

    /// The session types the built-in `metrics` bridge reports under their own name in its
    /// `session_type` label; every other session type is counted as `other` (see
    /// [`MetricsHandler`](crate::telemetry::MetricsHandler#bounded-labels)). At most
    /// [`MAX_METRICS_SESSION_TYPES`] distinct types: [`build`](Self::build) refuses a longer
    /// list. Give it whenever session types can come from requests. Defaults to no
    /// allowlist: the first 32 session types seen keep their name, later ones are `other`.
    pub fn metrics_session_types(mut self, types: impl IntoIterator<Item = SessionType>) -> Self {
        let mut list: Vec<SessionType> = Vec::new();
        for t in types {
            if !list.contains(&t) {
                list.push(t);
            }
        }
        self.metrics_session_types = Some(list);
        self
    }

    /// Build the telemetry: the handlers, then the enabled bridges.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::Invalid`] for more than [`MAX_METRICS_SESSION_TYPES`] metrics
    /// session types.
    pub fn build(self) -> Result<Telemetry, ConfigError> {
        if self
            .metrics_session_types
            .as_ref()
            .is_some_and(|types| types.len() > MAX_METRICS_SESSION_TYPES)
        {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "at most 32 metrics session types (the metrics label cap)",
            ));
        }
        #[allow(unused_mut)]
        let mut handlers = self.handlers;
        #[cfg(feature = "tracing")]
        if self.tracing_events {
            handlers.push(Arc::new(crate::telemetry::TracingHandler::default()));
        }
        #[cfg(feature = "metrics")]
        if self.metrics_counters {
            let mut bridge = crate::telemetry::MetricsHandler::new();
            if let Some(types) = self.metrics_session_types {
                bridge = bridge.with_session_types(types);
            }
            handlers.push(Arc::new(bridge));
        }
        let spans = cfg!(feature = "tracing") && self.tracing_events;
        Ok(Telemetry::new(handlers).with_tracing_spans(spans))
    }
}
