//! [`HitCounters`]: the hit and miss counters of the in-process caches (verified tokens,
//! sessions), on a cache line of their own.

use std::sync::atomic::{AtomicU64, Ordering};

/// Hits and misses of a cache, counted on every lookup from every worker thread.
///
/// Aligned to 128 bytes (two 64-byte lines, as adjacent-line prefetchers pair them), so that
/// the counters' writes do not evict the read-mostly fields next to them (the cache's
/// handle, its epoch) from the other cores on every request: without it, each lookup on one
/// core made the next lookup on the other miss on that line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct HitCounters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HitCounters {
    /// Count a hit.
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a miss.
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)` so far.
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sits_on_its_own_lines() {
        let c = HitCounters::default();
        c.hit();
        c.hit();
        c.miss();
        assert_eq!(c.get(), (2, 1));
        assert_eq!(std::mem::align_of::<HitCounters>(), 128);
    }
}
