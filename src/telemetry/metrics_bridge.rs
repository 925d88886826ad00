//! metrics bridge (being written).

/// Counts events.
#[derive(Debug, Default)]
pub struct MetricsHandler {}
