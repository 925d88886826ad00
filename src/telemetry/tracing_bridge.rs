//! tracing bridge (being written).

/// Emits tracing events.
#[derive(Debug, Default)]
pub struct TracingHandler {}
