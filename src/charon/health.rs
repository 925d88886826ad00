//! [`Charon::health`]: the store answers, the verifier has keys.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Charon;
use crate::health::{self, Check, CheckErrorKind, HealthReport, HealthStatus};
use crate::store::SessionStore;

impl Charon {
    /// Check what this handle depends on: the store answered a ping within the
    /// [health deadline](crate::CharonBuilder::health_deadline) (the memory store always
    /// does), then the [verifier's checks](crate::verifier::Verifier::health) (every
    /// trusted issuer has keys). The store's check is named after its
    /// [`backend_name`](SessionStore::backend_name): `memory`, `redis`.
    ///
    /// Never hangs: a store that has not answered by the deadline is reported
    /// [failed](HealthStatus::Failed) with [`CheckErrorKind::DeadlineExceeded`]. Emits no
    /// telemetry event. A readiness endpoint answers 200 when
    /// [`is_ready`](HealthReport::is_ready), 503 otherwise (see the
    /// [operations guide](crate::guide::operations)).
    pub async fn health(&self) -> HealthReport {
        let mut report = HealthReport::new();
        report.push(store_check(self.store().inner(), self.inner.health_deadline).await);
        report.extend(self.verifier().health());
        report
    }

    /// How long [`health`](Self::health) waits for the store.
    pub fn health_deadline(&self) -> Duration {
        self.inner.health_deadline
    }
}

/// Ping `store` within `deadline`, whatever the store does.
async fn store_check(store: &Arc<dyn SessionStore>, deadline: Duration) -> Check {
    let name = store.backend_name();
    let start = Instant::now();
    let answer = health::within(deadline, store.ping(deadline)).await;
    let latency = start.elapsed();
    match answer {
        Some(Ok(())) => Check::ok(name, latency),
        Some(Err(e)) => Check::not_ok(
            name,
            HealthStatus::Failed,
            latency,
            CheckErrorKind::Store(e.kind()),
        )
        .with_error(e),
        None => Check::not_ok(
            name,
            HealthStatus::Failed,
            latency,
            CheckErrorKind::DeadlineExceeded,
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::clock::UnixTime;
    use crate::error::{StoreError, StoreErrorKind};
    use crate::session::{Session, SessionKey, SessionType};
    use crate::store::{Created, MemoryStore, StoreFuture};

    /// A store whose ping answers `Err(kind)`, or never (`None`); everything else is a
    /// memory store.
    #[derive(Debug, Default)]
    struct Pinged {
        memory: MemoryStore,
        ping: Option<StoreErrorKind>,
    }

    impl SessionStore for Pinged {
        fn get<'a>(&'a self, k: SessionKey<'a>, n: UnixTime) -> StoreFuture<'a, Option<Session>> {
            self.memory.get(k, n)
        }
        fn create<'a>(
            &'a self,
            s: &'a Session,
            m: Option<NonZeroU32>,
            n: UnixTime,
        ) -> StoreFuture<'a, Created> {
            self.memory.create(s, m, n)
        }
        fn update<'a>(&'a self, s: &'a Session, n: UnixTime) -> StoreFuture<'a, u64> {
            self.memory.update(s, n)
        }
        fn delete<'a>(&'a self, k: SessionKey<'a>, n: UnixTime) -> StoreFuture<'a, bool> {
            self.memory.delete(k, n)
        }
        fn get_all<'a>(
            &'a self,
            u: &'a str,
            t: &'a SessionType,
            n: UnixTime,
        ) -> StoreFuture<'a, Vec<Session>> {
            self.memory.get_all(u, t, n)
        }
        fn delete_all<'a>(&'a self, u: &'a str, t: &'a SessionType) -> StoreFuture<'a, ()> {
            self.memory.delete_all(u, t)
        }
        fn ping(&self, _deadline: Duration) -> StoreFuture<'_, ()> {
            match self.ping {
                Some(kind) => Box::pin(std::future::ready(Err(StoreError::new(kind)))),
                // Ignores its deadline: the caller's must hold.
                None => Box::pin(std::future::pending()),
            }
        }
        fn backend_name(&self) -> &'static str {
            "pinged"
        }
    }

    fn charon(store: Option<Pinged>) -> Charon {
        let builder = Charon::builder()
            .issuer("health")
            .base_secret("a base secret of at least thirty-two bytes")
            .tracing_events(false)
            .health_deadline(Duration::from_millis(30));
        match store {
            Some(store) => builder.store(store),
            None => builder,
        }
        .build()
        .unwrap()
    }

    #[tokio::test]
    async fn the_memory_store_is_always_ok_and_the_keys_are_checked() {
        let report = charon(None).health().await;
        assert_eq!(report.status(), HealthStatus::Ok);
        let names: Vec<_> = report.checks().iter().map(Check::name).collect();
        assert_eq!(names, ["memory", "keys"]);
        assert!(report.checks().iter().all(|c| c.error_kind().is_none()));
    }

    #[tokio::test]
    async fn a_store_error_fails_the_store_check_with_its_kind() {
        let store = Pinged {
            ping: Some(StoreErrorKind::Unavailable),
            ..Pinged::default()
        };
        let report = charon(Some(store)).health().await;
        assert!(!report.is_ready());
        let check = report.check("pinged").unwrap();
        assert_eq!(check.status(), HealthStatus::Failed);
        assert_eq!(
            check.error_kind(),
            Some(CheckErrorKind::Store(StoreErrorKind::Unavailable))
        );
        let cause = check.error().unwrap().downcast_ref::<StoreError>().unwrap();
        assert_eq!(cause.kind(), StoreErrorKind::Unavailable);
        assert_eq!(report.check("keys").unwrap().status(), HealthStatus::Ok);
    }

    #[tokio::test]
    async fn a_store_that_never_answers_is_cut_at_the_deadline() {
        let report = charon(Some(Pinged::default())).health().await;
        let check = report.check("pinged").unwrap();
        assert_eq!(check.status(), HealthStatus::Failed);
        assert_eq!(check.error_kind(), Some(CheckErrorKind::DeadlineExceeded));
        assert_eq!(report.status(), HealthStatus::Failed);
    }
}
