//! Telemetry: typed events delivered to handlers, `tracing` and `metrics`.
//!
//! Seven events with stable names, as Charon's telemetry:
//!
//! | event | when | metadata |
//! |---|---|---|
//! | `charon.session.create` | a session was created | session_id, user_id, session_type |
//! | `charon.session.refresh` | a session was refreshed | session_id, user_id, session_type |
//! | `charon.session.delete` | a session was deleted | session_id, user_id, session_type |
//! | `charon.session.delete_all` | all sessions of a user and type were deleted | user_id, session_type |
//! | `charon.session.lock_conflict` | a write lost the optimistic-lock race | session_id, user_id, session_type |
//! | `charon.token.valid` | a token verified | session_loaded, token_transport, and when decoded: token_type, user_id, session_id, session_type |
//! | `charon.token.invalid` | a token was rejected | as `valid`, plus error |
//!
//! Delivery: [`Event`]s to [`TelemetryHandler`]s (closures work) registered on the
//! builder, one `tracing` event each (feature `tracing`), one counter increment each
//! (feature `metrics`). With no handler registered, emitting costs a length check.

use std::fmt;
use std::sync::Arc;

mod event;
mod handler;
#[cfg(feature = "metrics")]
mod metrics_bridge;
#[cfg(any(test, feature = "test-util"))]
mod recording;
#[cfg(test)]
mod tests;
#[cfg(feature = "tracing")]
mod tracing_bridge;

pub use event::{ClaimMeta, Event, EventKind, SessionMeta, TokenMeta};
pub use handler::{NoopHandler, TelemetryHandler};
#[cfg(feature = "metrics")]
pub use metrics_bridge::MetricsHandler;
#[cfg(any(test, feature = "test-util"))]
pub use recording::{RecordedEvent, RecordingHandler};
#[cfg(feature = "tracing")]
pub use tracing_bridge::TracingHandler;

/// A set of handlers that events are sent to. Cheap to clone.
#[derive(Clone, Default)]
pub struct Telemetry {
    handlers: Arc<[Arc<dyn TelemetryHandler>]>,
}

impl Telemetry {
    /// Telemetry delivering to these handlers, in order.
    pub fn new(handlers: Vec<Arc<dyn TelemetryHandler>>) -> Self {
        Self {
            handlers: handlers.into(),
        }
    }

    /// Telemetry with no handler: every emit is a no-op.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any handler wants events of `kind`.
    pub fn enabled(&self, kind: EventKind) -> bool {
        self.handlers.iter().any(|h| h.enabled(kind))
    }

    /// Build the event with `make` only if some handler wants `kind`, then deliver it to
    /// each handler that does.
    pub fn emit<'a>(&self, kind: EventKind, make: impl FnOnce() -> Event<'a>) {
        let mut make = Some(make);
        let mut event: Option<Event<'a>> = None;
        for handler in self.handlers.iter() {
            if !handler.enabled(kind) {
                continue;
            }
            if let Some(make) = make.take() {
                event = Some(make());
            }
            if let Some(event) = &event {
                handler.handle(event);
            }
        }
    }

    /// Number of handlers.
    pub fn len(&self) -> usize {
        self.handlers.len()
    }

    /// Whether there is no handler.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("handlers", &self.handlers.len())
            .finish()
    }
}
