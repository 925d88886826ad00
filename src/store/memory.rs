//! In-process session store (placeholder, being written).

/// In-process session store.
#[derive(Debug, Default)]
pub struct MemoryStore {}
