//! Fail fast: a breaker that opens when the store is known down and a background probe
//! that closes it; one rate-limited warning per transition; failures counted by kind.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::RedisError;

use super::connection::Connection;
use crate::error::{StoreError, StoreErrorKind};

/// Default [`FailFast::after_failures`].
pub const DEFAULT_FAILURES: u32 = 3;

/// Default [`FailFast::probe_interval`].
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// The least time between two warnings of the `charon::store` target: transitions in
/// between are counted and reported with the next warning.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// When the store stops waiting for Redis and fails at once.
///
/// The store is *known down* when a call loses its connection (refused, reset, closed) or
/// when [`after_failures`](Self::after_failures) calls in a row time out. From then on
/// every call fails at once with [`StoreErrorKind::Unavailable`] (its
/// [`retry_after`](StoreError::retry_after) is the probe interval) while a background task
/// sends `PING` every [`probe_interval`](Self::probe_interval); the first answer closes
/// the breaker and calls go to Redis again. Replies that show a live server (`OOM`,
/// `NOSCRIPT`, `READONLY`, a permission error) never open it.
///
/// Set with [`RedisStoreBuilder::fail_fast`](super::RedisStoreBuilder::fail_fast). Defaults
/// to [`FailFast::new`] for a standalone server and Sentinel, and to [`FailFast::off`] for
/// a Cluster: there one shard's failover (which the cluster client rides out on its own)
/// would otherwise fail the calls of every shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailFast {
    enabled: bool,
    failures: u32,
    probe_interval: Duration,
}

impl Default for FailFast {
    fn default() -> Self {
        Self::new()
    }
}

impl FailFast {
    /// On, with [`DEFAULT_FAILURES`] timeouts in a row and a [`DEFAULT_PROBE_INTERVAL`]
    /// probe.
    pub const fn new() -> Self {
        Self {
            enabled: true,
            failures: DEFAULT_FAILURES,
            probe_interval: DEFAULT_PROBE_INTERVAL,
        }
    }

    /// Off: every call waits for Redis (up to its timeouts), as before.
    pub const fn off() -> Self {
        Self {
            enabled: false,
            failures: DEFAULT_FAILURES,
            probe_interval: DEFAULT_PROBE_INTERVAL,
        }
    }

    /// Timeouts in a row that open the breaker (a lost connection opens it at once).
    /// At least 1. Defaults to 3.
    pub const fn after_failures(mut self, failures: u32) -> Self {
        self.failures = failures;
        self
    }

    /// Time between two probes while the breaker is open; also the `retry_after` hint of
    /// [`StoreErrorKind::Unavailable`]. Greater than zero. Defaults to 500 ms.
    pub const fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Whether fail-fast is on.
    pub const fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn is_valid(&self) -> bool {
        !self.enabled || (self.failures >= 1 && !self.probe_interval.is_zero())
    }
}

/// How a failed call bears on the store's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection is gone: refused, reset, closed, or another I/O error.
    ConnectionLost,
    /// No answer within the timeout.
    Timeout,
    /// The server answered (with an error): it is up.
    Answered,
}

impl Failure {
    pub(crate) fn of(e: &RedisError) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connection_dropped() || e.is_connection_refusal() || e.is_io_error() {
            Self::ConnectionLost
        } else {
            Self::Answered
        }
    }
}

/// The breaker shared by a store and its clones.
#[derive(Debug)]
pub(crate) struct Health {
    settings: FailFast,
    open: AtomicBool,
    in_a_row: AtomicU32,
    /// Calls failed fast since the breaker opened.
    failed_fast: AtomicU64,
    signals: Mutex<Signals>,
}

#[derive(Debug, Default)]
struct Signals {
    opened_at: Option<Instant>,
    last_warning: Option<Instant>,
    /// Whether the current outage's "unavailable" warning was emitted (its "recovered"
    /// warning is emitted only then, so warnings come in pairs).
    warned: bool,
    /// Outages not warned about since the last warning.
    suppressed: u64,
}

impl Health {
    pub(crate) fn new(settings: FailFast) -> Self {
        Self {
            settings,
            open: AtomicBool::new(false),
            in_a_row: AtomicU32::new(0),
            failed_fast: AtomicU64::new(0),
            signals: Mutex::new(Signals::default()),
        }
    }

    /// Whether calls go to Redis (the breaker is closed).
    pub(crate) fn is_available(&self) -> bool {
        !self.open.load(Ordering::Acquire)
    }

    /// The error to fail with at once, if the breaker is open.
    pub(crate) fn check(&self) -> Option<StoreError> {
        if !self.settings.enabled || self.is_available() {
            return None;
        }
        self.failed_fast.fetch_add(1, Ordering::Relaxed);
        Some(
            StoreError::with_source(StoreErrorKind::Unavailable, BreakerOpen)
                .with_retry_after(self.settings.probe_interval),
        )
    }

    pub(crate) fn success(&self) {
        if self.in_a_row.load(Ordering::Relaxed) != 0 {
            self.in_a_row.store(0, Ordering::Relaxed);
        }
    }

    /// Record a failed call; opens the breaker (and starts the probe on `conn`) when it
    /// shows the store down.
    pub(crate) fn failure(
        self: &Arc<Self>,
        failure: Failure,
        cause: &dyn std::fmt::Display,
        conn: &Connection,
    ) {
        if !self.settings.enabled {
            return;
        }
        let open = match failure {
            Failure::Answered => false,
            Failure::ConnectionLost => true,
            Failure::Timeout => {
                self.in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= self.settings.failures
            }
        };
        if open && !self.open.swap(true, Ordering::AcqRel) {
            self.failed_fast.store(0, Ordering::Relaxed);
            self.opened(failure, cause);
            let weak = Arc::downgrade(self);
            tokio::spawn(probe(weak, conn.clone(), self.settings.probe_interval));
        }
    }

    fn opened(&self, failure: Failure, cause: &dyn std::fmt::Display) {
        let now = Instant::now();
        let mut s = self
            .signals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.opened_at = Some(now);
        let quiet = s
            .last_warning
            .is_some_and(|at| now.duration_since(at) < WARNING_INTERVAL);
        if quiet {
            s.warned = false;
            s.suppressed += 1;
            return;
        }
        s.warned = true;
        s.last_warning = Some(now);
        let suppressed = std::mem::take(&mut s.suppressed);
        drop(s);
        #[cfg(feature = "tracing")]
        tracing::warn!(
            target: "charon::store",
            reason = match failure {
                Failure::ConnectionLost => "connection_lost",
                Failure::Timeout => "timeouts",
                Failure::Answered => "answered",
            },
            cause = %cause,
            suppressed_outages = suppressed,
            "session store unavailable: failing fast until a probe reaches redis"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (failure, cause, suppressed);
    }

    fn closed(&self) {
        let now = Instant::now();
        let mut s = self
            .signals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let down_for = s.opened_at.take().map(|at| now.duration_since(at));
        let failed_fast = self.failed_fast.swap(0, Ordering::Relaxed);
        if !std::mem::take(&mut s.warned) {
            return;
        }
        s.last_warning = Some(now);
        drop(s);
        #[cfg(feature = "tracing")]
        tracing::warn!(
            target: "charon::store",
            down_ms = down_for.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            failed_fast,
            "session store recovered"
        );
        #[cfg(not(feature = "tracing"))]
        let _ = (down_for, failed_fast);
    }
}

/// `PING` every `interval` until an answer comes; then close the breaker. Ends early when
/// the store is dropped.
async fn probe(health: Weak<Health>, mut conn: Connection, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(h) = health.upgrade() else { return };
        let ping = redis::cmd("PING");
        // The connection's own timeouts bound the PING; this is a second guard.
        let answered = matches!(
            tokio::time::timeout(
                interval.max(Duration::from_secs(1)),
                ping.query_async::<redis::Value>(&mut conn)
            )
            .await,
            Ok(Ok(_))
        );
        if answered {
            h.in_a_row.store(0, Ordering::Relaxed);
            h.open.store(false, Ordering::Release);
            h.closed();
            return;
        }
    }
}

/// Count a failed store call (`charon_store_errors_total{kind}`, feature `metrics`).
pub(crate) fn count(kind: StoreErrorKind) {
    #[cfg(feature = "metrics")]
    metrics::counter!("charon_store_errors_total", "kind" => kind.as_str()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = kind;
}

/// The cause of an [`StoreErrorKind::Unavailable`] error.
#[derive(Debug, thiserror::Error)]
#[error("redis is known to be down; failing fast until a probe reaches it")]
struct BreakerOpen;
