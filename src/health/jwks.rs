//! The keys check of a remote key set (feature `jwks`).

use std::borrow::Cow;
use std::time::Instant;

use super::{Check, CheckErrorKind, HealthStatus};
use crate::jwks::{JwksState, RemoteJwks};

impl Check {
    /// The check of remote keys, from [`RemoteJwks::status`] (no fetch, no wait):
    ///
    /// | key state | check |
    /// |---|---|
    /// | fresh | ok |
    /// | stale (the last refresh failed, the keys are kept) | degraded, the refresh error's kind |
    /// | starting, unavailable (no keys) | failed, [`CheckErrorKind::NoKeys`] |
    pub fn remote_keys(name: impl Into<Cow<'static, str>>, jwks: &RemoteJwks) -> Self {
        let start = Instant::now();
        let status = jwks.status();
        let latency = start.elapsed();
        match status.state {
            JwksState::Fresh => Check::ok(name, latency),
            JwksState::Stale => {
                let kind = status
                    .last_error
                    .as_ref()
                    .map_or(CheckErrorKind::NoKeys, |e| CheckErrorKind::Jwks(e.kind()));
                let check = Check::not_ok(name, HealthStatus::Degraded, latency, kind);
                match status.last_error {
                    Some(e) => check.with_error(e),
                    None => check,
                }
            }
            _ => {
                let check =
                    Check::not_ok(name, HealthStatus::Failed, latency, CheckErrorKind::NoKeys);
                match status.last_error {
                    Some(e) => check.with_error(e),
                    None => check,
                }
            }
        }
    }
}
