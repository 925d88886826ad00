//! The extension point: handlers that receive events.

use super::{Event, EventKind};

/// Receives telemetry events.
///
/// Closures `Fn(&Event<'_>)` are handlers. [`enabled`](Self::enabled) is asked before an
/// event is built, so a handler that ignores a kind costs nothing for it.
///
/// ```
/// use charon_auth::telemetry::{Event, TelemetryHandler};
/// let handler = |event: &Event<'_>| eprintln!("{}", event.name());
/// # fn takes(_: impl TelemetryHandler) {}
/// takes(handler);
/// ```
pub trait TelemetryHandler: Send + Sync + 'static {
    /// Whether this handler wants events of `kind`. Defaults to `true`.
    fn enabled(&self, kind: EventKind) -> bool {
        let _ = kind;
        true
    }

    /// Handle one event. Must not block for long: it runs on the request path.
    fn handle(&self, event: &Event<'_>);
}

impl<F> TelemetryHandler for F
where
    F: Fn(&Event<'_>) + Send + Sync + 'static,
{
    fn handle(&self, event: &Event<'_>) {
        self(event);
    }
}

/// A handler that wants nothing and does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopHandler;

impl TelemetryHandler for NoopHandler {
    fn enabled(&self, _kind: EventKind) -> bool {
        false
    }

    fn handle(&self, _event: &Event<'_>) {}
}
