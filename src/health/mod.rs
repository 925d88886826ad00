//! Health checks: whether the pieces a service depends on answer, as a typed report.
//!
//! [`Charon::health`](crate::Charon::health) pings the session store (the memory store
//! always answers; Redis gets a real `PING`, on every node of a Cluster) within a
//! deadline ([`DEFAULT_HEALTH_DEADLINE`], set with
//! [`CharonBuilder::health_deadline`](crate::CharonBuilder::health_deadline)) and adds the
//! checks of its verifier; [`Verifier::health`](crate::verifier::Verifier::health) tells
//! whether every trusted issuer has keys to verify with. Both return a [`HealthReport`]:
//! one [`Check`] per dependency (name, [`HealthStatus`], latency, [`CheckErrorKind`] when
//! it is not ok) and the overall status, the worst of them.
//!
//! A health check never hangs: the store's ping is bounded by the deadline on any
//! executor, and a store that has not answered by then is reported
//! [`failed`](HealthStatus::Failed) with [`CheckErrorKind::DeadlineExceeded`].
//!
//! The report serializes (serde) to the JSON a readiness endpoint answers with:
//!
//! ```text
//! {"status":"failed","checks":{"redis":{"status":"failed","latency_ms":0.1,"error_kind":"unavailable"},
//!                              "keys":{"status":"ok","latency_ms":0.0}}}
//! ```
//!
//! Error messages are not serialized (they may name hosts); [`Check::error`] keeps the
//! cause for logs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use charon_auth::Charon;
//! use charon_auth::health::HealthStatus;
//!
//! let charon = Charon::builder()
//!     .issuer("https://auth.example")
//!     .base_secret("a base secret of at least thirty-two bytes")
//!     .build()?;
//! let report = charon.health().await;
//! assert_eq!(report.status(), HealthStatus::Ok);
//! assert!(report.is_ready());
//! assert_eq!(report.check("memory").map(|c| c.status()), Some(HealthStatus::Ok));
//! # Ok(()) }
//! ```
//!
//! Serving `/health` (liveness) and `/health/ready` (readiness) from it, and the
//! Kubernetes probes, are shown in the [operations guide](crate::guide::operations).

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::error::StoreErrorKind;

mod deadline;
#[cfg(feature = "jwks")]
mod jwks;

pub(crate) use deadline::within;

/// Default of [`CharonBuilder::health_deadline`](crate::CharonBuilder::health_deadline):
/// 250 ms, the Redis store's default response timeout. A store that has not answered its
/// ping by then is reported failed.
pub const DEFAULT_HEALTH_DEADLINE: Duration = Duration::from_millis(250);

/// How one check, or the whole report, stands. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HealthStatus {
    /// Working.
    Ok,
    /// Working, but not as it should: e.g. remote keys that could not be refreshed and are
    /// still in use until their maximum staleness. A degraded service is still ready.
    Degraded,
    /// Not working: the store did not answer, or an issuer has no keys.
    Failed,
}

impl HealthStatus {
    /// A stable snake_case name: `ok`, `degraded`, `failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HealthStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why a check is not ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckErrorKind {
    /// No answer within the health deadline.
    DeadlineExceeded,
    /// The store answered the ping with an error (or failed at once while known down:
    /// [`StoreErrorKind::Unavailable`]).
    Store(StoreErrorKind),
    /// An issuer has no keys to verify with (remote keys not fetched yet, or dropped after
    /// their maximum staleness).
    NoKeys,
    /// The last refresh of remote keys failed (the keys in use are kept: the check is
    /// degraded, not failed).
    #[cfg(feature = "jwks")]
    Jwks(crate::jwks::JwksErrorKind),
}

impl CheckErrorKind {
    /// A stable snake_case name: `deadline_exceeded`, `no_keys`, the
    /// [`StoreErrorKind::as_str`] of a store error (`unavailable`, `timeout`, `backend`, …),
    /// the `JwksErrorKind::as_str` of a key refresh error (`connect`, `http_status`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckErrorKind::DeadlineExceeded => "deadline_exceeded",
            CheckErrorKind::Store(kind) => kind.as_str(),
            CheckErrorKind::NoKeys => "no_keys",
            #[cfg(feature = "jwks")]
            CheckErrorKind::Jwks(kind) => kind.as_str(),
        }
    }
}

impl fmt::Display for CheckErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check: its name, status, how long it took, and why it is not ok.
///
/// Serializes to `{"status", "latency_ms", "error_kind"?}` (the name is the key of the
/// report's `checks` map); the cause ([`error`](Self::error)) is never serialized.
#[derive(Clone)]
pub struct Check {
    name: Cow<'static, str>,
    status: HealthStatus,
    latency: Duration,
    error_kind: Option<CheckErrorKind>,
    error: Option<Arc<dyn StdError + Send + Sync>>,
}

impl Check {
    /// A check named `name` that passed in `latency`.
    pub fn ok(name: impl Into<Cow<'static, str>>, latency: Duration) -> Self {
        Self {
            name: name.into(),
            status: HealthStatus::Ok,
            latency,
            error_kind: None,
            error: None,
        }
    }

    /// A check named `name` that found `status` (degraded or failed) because of `kind`.
    /// A `status` of [`HealthStatus::Ok`] is taken as [`HealthStatus::Degraded`]: a check
    /// with an error kind is never ok.
    pub fn not_ok(
        name: impl Into<Cow<'static, str>>,
        status: HealthStatus,
        latency: Duration,
        kind: CheckErrorKind,
    ) -> Self {
        Self {
            name: name.into(),
            status: status.max(HealthStatus::Degraded),
            latency,
            error_kind: Some(kind),
            error: None,
        }
    }

    /// Keep `error` as the cause (for logs; never serialized).
    #[must_use]
    pub fn with_error(mut self, error: impl StdError + Send + Sync + 'static) -> Self {
        self.error = Some(Arc::new(error));
        self
    }

    /// The check's name: the store's [`backend_name`](crate::store::SessionStore::backend_name)
    /// (`memory`, `redis`), `keys` for the first trusted issuer's keys, `keys:<iss>` for
    /// the others.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it stands.
    pub fn status(&self) -> HealthStatus {
        self.status
    }

    /// How long the check took.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Why it is not ok (`None` when it is).
    pub fn error_kind(&self) -> Option<CheckErrorKind> {
        self.error_kind
    }

    /// The cause, when there is one (a [`StoreError`](crate::error::StoreError), a
    /// `JwksError`).
    pub fn error(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.error.as_deref()
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("status", &self.status)
            .field("latency", &self.latency)
            .field("error_kind", &self.error_kind)
            .field("error", &self.error.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = if self.error_kind.is_some() { 3 } else { 2 };
        let mut s = serializer.serialize_struct("Check", fields)?;
        s.serialize_field("status", &self.status)?;
        s.serialize_field("latency_ms", &(self.latency.as_secs_f64() * 1000.0))?;
        if let Some(kind) = self.error_kind {
            s.serialize_field("error_kind", kind.as_str())?;
        }
        s.end()
    }
}

/// The checks of a [`Charon`](crate::Charon) or a [`Verifier`](crate::verifier::Verifier),
/// and the overall status: the worst of them ([`HealthStatus::Ok`] when there is none).
///
/// Serializes to `{"status": "ok"|"degraded"|"failed", "checks": {name: check, …}}`, the
/// checks in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct HealthReport {
    checks: Vec<Check>,
}

impl HealthReport {
    /// A report with no checks (status ok).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a check (one of your application's own, say). A check with the name of one
    /// already there replaces it.
    #[must_use]
    pub fn with_check(mut self, check: Check) -> Self {
        self.push(check);
        self
    }

    /// Add a check, replacing one of the same name.
    pub fn push(&mut self, check: Check) {
        match self.checks.iter_mut().find(|c| c.name == check.name) {
            Some(same) => *same = check,
            None => self.checks.push(check),
        }
    }

    /// Add every check of `other`.
    pub fn extend(&mut self, other: HealthReport) {
        for check in other.checks {
            self.push(check);
        }
    }

    /// The worst status of the checks; [`HealthStatus::Ok`] with none.
    pub fn status(&self) -> HealthStatus {
        self.checks
            .iter()
            .map(Check::status)
            .max()
            .unwrap_or(HealthStatus::Ok)
    }

    /// Whether the service can take traffic: no check failed (degraded ones are fine).
    pub fn is_ready(&self) -> bool {
        self.status() != HealthStatus::Failed
    }

    /// The checks, in the order they ran.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// The `checks` map of a report's JSON.
struct Checks<'a>(&'a [Check]);

impl Serialize for Checks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for check in self.0 {
            map.serialize_entry(check.name(), check)?;
        }
        map.end()
    }
}

impl Serialize for HealthReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("HealthReport", 2)?;
        s.serialize_field("status", &self.status())?;
        s.serialize_field("checks", &Checks(&self.checks))?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StoreError;

    #[test]
    fn the_overall_status_is_the_worst_check() {
        let ms = Duration::from_millis;
        let mut report = HealthReport::new();
        assert_eq!(report.status(), HealthStatus::Ok);
        assert!(report.is_ready());
        report.push(Check::ok("memory", ms(0)));
        assert_eq!(report.status(), HealthStatus::Ok);
        report.push(Check::not_ok(
            "keys",
            HealthStatus::Degraded,
            ms(0),
            CheckErrorKind::NoKeys,
        ));
        assert_eq!(report.status(), HealthStatus::Degraded);
        assert!(report.is_ready(), "degraded is still ready");
        report.push(Check::not_ok(
            "redis",
            HealthStatus::Failed,
            ms(1),
            CheckErrorKind::Store(StoreErrorKind::Unavailable),
        ));
        assert_eq!(report.status(), HealthStatus::Failed);
        assert!(!report.is_ready());
        // Same name: replaced, not added.
        report.push(Check::ok("redis", ms(1)));
        assert_eq!(report.checks().len(), 3);
        assert_eq!(report.status(), HealthStatus::Degraded);
    }

    #[test]
    fn a_check_with_an_error_kind_is_never_ok() {
        let c = Check::not_ok(
            "x",
            HealthStatus::Ok,
            Duration::ZERO,
            CheckErrorKind::DeadlineExceeded,
        );
        assert_eq!(c.status(), HealthStatus::Degraded);
    }

    #[test]
    fn the_report_serializes_without_error_messages() {
        let report = HealthReport::new()
            .with_check(
                Check::not_ok(
                    "redis",
                    HealthStatus::Failed,
                    Duration::from_micros(1500),
                    CheckErrorKind::Store(StoreErrorKind::Timeout),
                )
                .with_error(StoreError::new(StoreErrorKind::Timeout)),
            )
            .with_check(Check::ok("keys", Duration::ZERO));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "status": "failed",
                "checks": {
                    "redis": {"status": "failed", "latency_ms": 1.5, "error_kind": "timeout"},
                    "keys": {"status": "ok", "latency_ms": 0.0},
                }
            })
        );
        let redis = report.check("redis").unwrap();
        assert!(redis.error().is_some());
        assert!(format!("{redis:?}").contains("Timeout"));
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(HealthStatus::Degraded.as_str(), "degraded");
        assert_eq!(CheckErrorKind::NoKeys.as_str(), "no_keys");
        assert_eq!(
            CheckErrorKind::Store(StoreErrorKind::Unavailable).to_string(),
            "unavailable"
        );
    }
}
