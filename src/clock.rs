//! Where "now" comes from.
//!
//! Every request takes one `now` from the handle's [`Clock`] and uses it for every check
//! (nbf, exp, freshness) and for the timestamps of the session it writes. Tests swap in a
//! [`ManualClock`] to move time without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in whole seconds, as in JWT `NumericDate` claims.
pub type UnixTime = i64;

/// A source of the current Unix time in seconds.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current Unix time in seconds.
    fn now(&self) -> UnixTime;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use charon_auth::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(30);
/// assert_eq!(clock.now(), 1_030);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: UnixTime) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(now)),
        }
    }

    /// A clock standing at the current system time.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    /// Move the clock forward (or back, with a negative value) by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Set the clock to `now`.
    pub fn set(&self, now: UnixTime) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.now.load(Ordering::SeqCst)
    }
}
