//! Where "now" comes from.
//!
//! Every request takes one `now` from the handle's [`Clock`] and uses it for every check
//! (nbf, exp, freshness) and for the timestamps of the session it writes. Tests swap in a
//! [`ManualClock`] to move time without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// Whole seconds since the Unix epoch, rounded down (negative before it).
    fn now(&self) -> UnixTime {
        unix_seconds(SystemTime::now())
    }
}

/// `at` in whole Unix seconds, rounded down (as `OffsetDateTime::unix_timestamp`), read
/// from the [`SystemTime`] itself: every request asks once, and needs no calendar date.
fn unix_seconds(at: SystemTime) -> UnixTime {
    let secs = |d: std::time::Duration| UnixTime::try_from(d.as_secs()).unwrap_or(UnixTime::MAX);
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) => secs(since),
        Err(before) => {
            let before = before.duration();
            let partial = UnixTime::from(before.subsec_nanos() > 0);
            secs(before).saturating_add(partial).saturating_neg()
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn unix_seconds_round_down_as_offset_date_time_does() {
        let ms = Duration::from_millis;
        for at in [
            UNIX_EPOCH,
            UNIX_EPOCH + ms(1),
            UNIX_EPOCH + ms(1_500),
            UNIX_EPOCH + ms(1_767_225_600_999),
            UNIX_EPOCH - ms(1),
            UNIX_EPOCH - ms(1_000),
            UNIX_EPOCH - ms(1_500),
        ] {
            let expected = time::OffsetDateTime::from(at).unix_timestamp();
            assert_eq!(unix_seconds(at), expected, "{at:?}");
        }
        assert_eq!(unix_seconds(UNIX_EPOCH - ms(1_500)), -2);
        assert_eq!(unix_seconds(UNIX_EPOCH + ms(1_500)), 1);
    }

    #[test]
    fn system_clock_reads_the_wall_clock() {
        let before = time::OffsetDateTime::now_utc().unix_timestamp();
        let now = SystemClock.now();
        let after = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(
            (before..=after).contains(&now),
            "{before} <= {now} <= {after}"
        );
    }
}
