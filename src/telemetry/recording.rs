//! Recording handler (being written).

/// Records events.
#[derive(Debug, Default)]
pub struct RecordingHandler {}
/// A recorded event.
#[derive(Debug)]
pub struct RecordedEvent {}
