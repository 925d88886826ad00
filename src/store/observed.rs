//! The one place session and store events are emitted: a wrapper above every store.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use super::{Created, SessionStore};
use crate::clock::UnixTime;
use crate::error::{StoreError, StoreErrorKind};
use crate::session::{Session, SessionKey, SessionType};
use crate::telemetry::{
    Event, EventKind, SessionMeta, StoreMeta, StoreOperation, StoreOutcome, Telemetry,
};

/// A store plus telemetry: every successful operation emits its session event, every lock
/// conflict `charon.session.lock_conflict`, every session a create evicted to keep the
/// session cap `charon.session.delete`. Create and refresh are told apart by the
/// operation, never guessed from timestamps. Failures other than conflicts emit no session
/// event. Every operation (reads too) is also a span: `charon.store.operation.start`, then
/// `.stop` when the store answered (ok, conflict, not found) or `.exception` when it
/// failed, and a `tracing` span `charon.store.operation` around it (feature `tracing`).
/// Session events carry the duration of the store round trip that produced them.
#[derive(Debug, Clone)]
pub struct ObservedStore {
    store: Arc<dyn SessionStore>,
    telemetry: Telemetry,
}

impl ObservedStore {
    /// Wrap `store`, emitting to `telemetry`.
    pub fn new(store: Arc<dyn SessionStore>, telemetry: Telemetry) -> Self {
        Self { store, telemetry }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The telemetry this store emits to.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Run one store operation as a span: `start`, the work (in a `tracing` span), then
    /// `stop` or `exception` with its duration. The duration is `None` when the work began
    /// without any telemetry handler: its events are then not emitted.
    async fn observe<T>(
        &self,
        operation: StoreOperation,
        session_type: &str,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> (Result<T, StoreError>, Option<Duration>) {
        // Any handler: the session events of the operation take its duration too.
        let stopwatch = self.telemetry.stopwatch();
        if stopwatch.is_running() {
            self.telemetry.emit(EventKind::StoreStart, || {
                Event::StoreStart(StoreMeta::start(operation, session_type))
            });
        }
        #[cfg(feature = "tracing")]
        let span = crate::telemetry::spans::store(&self.telemetry, operation, session_type);
        #[cfg(feature = "tracing")]
        let result = tracing::Instrument::instrument(work, span.clone()).await;
        #[cfg(not(feature = "tracing"))]
        let result = work.await;
        let duration = stopwatch.elapsed();
        let outcome = match &result {
            Ok(_) => Ok(StoreOutcome::Ok),
            Err(e) if e.kind() == StoreErrorKind::Conflict => Ok(StoreOutcome::Conflict),
            Err(e) if e.kind() == StoreErrorKind::NotFound => Ok(StoreOutcome::NotFound),
            Err(e) => Err(e),
        };
        #[cfg(feature = "tracing")]
        match outcome {
            Ok(outcome) => crate::telemetry::spans::stored(&span, outcome.as_str(), None),
            Err(error) => {
                crate::telemetry::spans::stored(&span, error.kind().as_str(), Some(error));
            }
        }
        if let Some(duration) = duration {
            let meta = move || {
                let mut meta = StoreMeta::start(operation, session_type);
                meta.measurements.duration = duration;
                meta
            };
            match outcome {
                Ok(outcome) => self.telemetry.emit(EventKind::StoreStop, || {
                    Event::StoreStop(meta().with_outcome(outcome))
                }),
                Err(error) => self.telemetry.emit(EventKind::StoreException, || {
                    Event::StoreException(meta().with_error(error))
                }),
            }
        }
        (result, duration)
    }

    /// See [`SessionStore::get`]. Emits the store span only.
    pub async fn get(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let work = self.store.get(key, now);
        self.observe(StoreOperation::Get, key.session_type.as_str(), work)
            .await
            .0
    }

    /// Read a session from the store itself, shared ([`SessionStore::get_shared`]); observed
    /// as [`get`](Self::get) is.
    pub async fn get_shared(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        let work = self.store.get_shared(key, now);
        self.observe(StoreOperation::Get, key.session_type.as_str(), work)
            .await
            .0
    }

    /// Read a session through the store's coherent cache ([`SessionStore::get_cached`]).
    /// Not observed: a hit is local, with no store operation to time (the access layer's
    /// session check reads the same way); use [`get`](Self::get) for a traced read.
    pub async fn get_cached(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        self.store.get_cached(key, now).await
    }

    /// Create `session`, keeping at most `max_sessions` live sessions of its user and type
    /// (see [`SessionStore::create`]). Emits `charon.session.delete` for each session the
    /// store evicted (with that session's id, user and type), then
    /// `charon.session.create`; or `lock_conflict` if the session exists.
    pub async fn create(
        &self,
        session: &Session,
        max_sessions: Option<NonZeroU32>,
        now: UnixTime,
    ) -> Result<Created, StoreError> {
        let work = self.store.create(session, max_sessions, now);
        let (result, duration) = self
            .observe(StoreOperation::Create, session.session_type.as_str(), work)
            .await;
        let Some(duration) = duration else {
            return result;
        };
        if let Ok(created) = &result {
            for evicted in &created.evicted {
                self.emit_delete(
                    SessionKey::new(evicted, &session.user_id, &session.session_type),
                    duration,
                );
            }
        }
        self.emit_write(session, &result, EventKind::SessionCreate, duration);
        result
    }

    /// Update `session` at the version read; emits `charon.session.refresh`, or
    /// `lock_conflict` when another writer won.
    pub async fn update(&self, session: &Session, now: UnixTime) -> Result<u64, StoreError> {
        let work = self.store.update(session, now);
        let (result, duration) = self
            .observe(StoreOperation::Update, session.session_type.as_str(), work)
            .await;
        if let Some(duration) = duration {
            self.emit_write(session, &result, EventKind::SessionRefresh, duration);
        }
        result
    }

    fn emit_write<T>(
        &self,
        session: &Session,
        result: &Result<T, StoreError>,
        success: EventKind,
        duration: Duration,
    ) {
        let kind = match result {
            Ok(_) => success,
            Err(e) if e.kind() == StoreErrorKind::Conflict => EventKind::SessionLockConflict,
            Err(_) => return,
        };
        self.telemetry.emit(kind, || {
            let mut meta = SessionMeta::of(session);
            meta.measurements.duration = duration;
            Event::session(kind, meta)
        });
    }

    fn emit_delete(&self, key: SessionKey<'_>, duration: Duration) {
        self.telemetry.emit(EventKind::SessionDelete, || {
            let mut meta =
                SessionMeta::new(Some(key.session_id), key.user_id, key.session_type.as_str());
            meta.measurements.duration = duration;
            Event::session(EventKind::SessionDelete, meta)
        });
    }

    /// Delete one session; emits `charon.session.delete` (also when it was already gone).
    pub async fn delete(&self, key: SessionKey<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let work = self.store.delete(key, now);
        let (result, duration) = self
            .observe(StoreOperation::Delete, key.session_type.as_str(), work)
            .await;
        let deleted = result?;
        if let Some(duration) = duration {
            self.emit_delete(key, duration);
        }
        Ok(deleted)
    }

    /// See [`SessionStore::get_all`]. Emits the store span only.
    pub async fn get_all(
        &self,
        user_id: &str,
        session_type: &SessionType,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        let work = self.store.get_all(user_id, session_type, now);
        self.observe(StoreOperation::GetAll, session_type.as_str(), work)
            .await
            .0
    }

    /// See [`SessionStore::session_types`]. Emits the store span only, with the session
    /// type `*` (the operation spans every type).
    pub async fn session_types(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<SessionType>, StoreError> {
        let work = self.store.session_types(user_id, now);
        self.observe(StoreOperation::SessionTypes, "*", work)
            .await
            .0
    }

    /// Delete every session of a user and type; emits `charon.session.delete_all`.
    pub async fn delete_all(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<(), StoreError> {
        let work = self.store.delete_all(user_id, session_type);
        let (result, duration) = self
            .observe(StoreOperation::DeleteAll, session_type.as_str(), work)
            .await;
        result?;
        if let Some(duration) = duration {
            self.telemetry.emit(EventKind::SessionDeleteAll, || {
                let mut meta = SessionMeta::new(None, user_id, session_type.as_str());
                meta.measurements.duration = duration;
                Event::session(EventKind::SessionDeleteAll, meta)
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

    use super::*;
    use crate::store::StoreFuture;
    use crate::telemetry::{RecordedEvent, RecordingHandler};

    type Key = (String, String, String);

    /// A minimal store keeping the contract's lock rules: create only if absent, update
    /// only at the version read, `NotFound` for a missing session. `fail` makes every
    /// operation fail with that kind.
    #[derive(Debug, Default)]
    struct FakeStore {
        sessions: Mutex<HashMap<Key, Session>>,
        fail: Mutex<Option<StoreErrorKind>>,
    }

    impl FakeStore {
        fn sessions(&self) -> MutexGuard<'_, HashMap<Key, Session>> {
            self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
        }

        fn failure(&self) -> Result<(), StoreError> {
            match *self.fail.lock().unwrap_or_else(PoisonError::into_inner) {
                Some(kind) => Err(StoreError::new(kind)),
                None => Ok(()),
            }
        }

        fn set_fail(&self, kind: Option<StoreErrorKind>) {
            *self.fail.lock().unwrap_or_else(PoisonError::into_inner) = kind;
        }
    }

    fn key_of(key: SessionKey<'_>) -> Key {
        (
            key.session_id.to_owned(),
            key.user_id.to_owned(),
            key.session_type.as_str().to_owned(),
        )
    }

    impl SessionStore for FakeStore {
        fn get<'a>(
            &'a self,
            key: SessionKey<'a>,
            now: UnixTime,
        ) -> StoreFuture<'a, Option<Session>> {
            Box::pin(async move {
                self.failure()?;
                Ok(self
                    .sessions()
                    .get(&key_of(key))
                    .filter(|s| !s.is_expired(now))
                    .cloned())
            })
        }

        fn create<'a>(
            &'a self,
            session: &'a Session,
            max_sessions: Option<NonZeroU32>,
            now: UnixTime,
        ) -> StoreFuture<'a, Created> {
            Box::pin(async move {
                self.failure()?;
                let mut sessions = self.sessions();
                sessions.retain(|_, s| !s.is_expired(now));
                let key = key_of(session.key());
                if sessions.contains_key(&key) {
                    return Err(StoreError::conflict());
                }
                // The others of this user and type, soonest to end first.
                let mut others: Vec<(UnixTime, String)> = sessions
                    .values()
                    .filter(|s| {
                        s.user_id == session.user_id && s.session_type == session.session_type
                    })
                    .map(|s| (s.refresh_expires_at, s.id.clone()))
                    .collect();
                others.sort();
                let keep = max_sessions.map_or(others.len(), |cap| cap.get() as usize - 1);
                let excess = others.len().saturating_sub(keep);
                let evicted: Vec<String> =
                    others.into_iter().take(excess).map(|(_, id)| id).collect();
                for id in &evicted {
                    sessions.remove(&(id.clone(), key.1.clone(), key.2.clone()));
                }
                let mut stored = session.clone();
                stored.lock_version = session.lock_version + 1;
                sessions.insert(key, stored);
                Ok(Created::new(session.lock_version + 1, evicted))
            })
        }

        fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64> {
            Box::pin(async move {
                self.failure()?;
                let mut sessions = self.sessions();
                let key = key_of(session.key());
                match sessions.get(&key).filter(|s| !s.is_expired(now)) {
                    None => return Err(StoreError::not_found()),
                    Some(stored) if stored.lock_version != session.lock_version => {
                        return Err(StoreError::conflict());
                    }
                    Some(_) => {}
                }
                let version = session.lock_version + 1;
                let mut stored = session.clone();
                stored.lock_version = version;
                sessions.insert(key, stored);
                Ok(version)
            })
        }

        fn delete<'a>(&'a self, key: SessionKey<'a>, _now: UnixTime) -> StoreFuture<'a, bool> {
            Box::pin(async move {
                self.failure()?;
                Ok(self.sessions().remove(&key_of(key)).is_some())
            })
        }

        fn get_all<'a>(
            &'a self,
            user_id: &'a str,
            session_type: &'a SessionType,
            now: UnixTime,
        ) -> StoreFuture<'a, Vec<Session>> {
            Box::pin(async move {
                self.failure()?;
                Ok(self
                    .sessions()
                    .values()
                    .filter(|s| {
                        s.user_id.as_str() == user_id
                            && &s.session_type == session_type
                            && !s.is_expired(now)
                    })
                    .cloned()
                    .collect())
            })
        }

        fn delete_all<'a>(
            &'a self,
            user_id: &'a str,
            session_type: &'a SessionType,
        ) -> StoreFuture<'a, ()> {
            Box::pin(async move {
                self.failure()?;
                self.sessions().retain(|_, s| {
                    !(s.user_id.as_str() == user_id && &s.session_type == session_type)
                });
                Ok(())
            })
        }
    }

    const NOW: UnixTime = 1_000;

    fn session(id: &str) -> Session {
        Session::new(
            id.to_owned(),
            "user-1".into(),
            SessionType::default(),
            NOW,
            None,
            NOW + 3_600,
            "rtid".to_owned(),
        )
    }

    fn setup() -> (Arc<FakeStore>, ObservedStore, RecordingHandler) {
        let fake = Arc::new(FakeStore::default());
        let recorder = RecordingHandler::new();
        let store = ObservedStore::new(
            fake.clone(),
            Telemetry::new(vec![Arc::new(recorder.clone())]),
        );
        (fake, store, recorder)
    }

    /// The event a session operation on `sid` of `user-1` must produce, field by field.
    fn expected(kind: EventKind, sid: Option<&str>, session_type: &str) -> RecordedEvent {
        RecordedEvent {
            kind,
            session_id: sid.map(str::to_owned),
            user_id: Some("user-1".to_owned()),
            session_type: Some(session_type.to_owned()),
            session_loaded: None,
            token_transport: None,
            token_type: None,
            error_kind: None,
            error: None,
        }
    }

    #[tokio::test]
    async fn create_emits_create_and_a_second_create_a_lock_conflict() {
        let (_, store, recorder) = setup();
        let s = session("sid-1");
        assert_eq!(
            store.create(&s, None, NOW).await.ok(),
            Some(Created::new(1, Vec::new()))
        );
        assert_eq!(
            recorder.take(),
            [expected(EventKind::SessionCreate, Some("sid-1"), "full")]
        );

        let err = store.create(&s, None, NOW).await.err().map(|e| e.kind());
        assert_eq!(err, Some(StoreErrorKind::Conflict));
        assert_eq!(
            recorder.take(),
            [expected(
                EventKind::SessionLockConflict,
                Some("sid-1"),
                "full"
            )]
        );
    }

    #[tokio::test]
    async fn update_emits_refresh_or_lock_conflict() {
        let (_, store, recorder) = setup();
        let mut s = session("sid-1");
        s.lock_version = store
            .create(&s, None, NOW)
            .await
            .map(|c| c.lock_version)
            .unwrap_or_default();
        recorder.clear();

        // Update at the version read: refresh.
        let read = s.clone();
        assert_eq!(store.update(&read, NOW).await.ok(), Some(2));
        assert_eq!(
            recorder.take(),
            [expected(EventKind::SessionRefresh, Some("sid-1"), "full")]
        );

        // A second writer that read the same version lost the race.
        let err = store.update(&read, NOW).await.err().map(|e| e.kind());
        assert_eq!(err, Some(StoreErrorKind::Conflict));
        assert_eq!(
            recorder.take(),
            [expected(
                EventKind::SessionLockConflict,
                Some("sid-1"),
                "full"
            )]
        );
    }

    #[tokio::test]
    async fn other_failures_emit_nothing() {
        let (fake, store, recorder) = setup();
        // Update of a missing session: NotFound, no event.
        let s = session("missing");
        let err = store.update(&s, NOW).await.err().map(|e| e.kind());
        assert_eq!(err, Some(StoreErrorKind::NotFound));
        assert!(recorder.is_empty());

        // Backend failures on every operation: no event.
        for kind in [StoreErrorKind::Backend, StoreErrorKind::Timeout] {
            fake.set_fail(Some(kind));
            assert!(store.create(&s, None, NOW).await.is_err());
            assert!(store.update(&s, NOW).await.is_err());
            assert!(store.delete(s.key(), NOW).await.is_err());
            assert!(store.delete_all("user-1", &s.session_type).await.is_err());
            assert!(store.get(s.key(), NOW).await.is_err());
            assert!(store.get_all("user-1", &s.session_type, NOW).await.is_err());
        }
        assert_eq!(recorder.events(), []);
    }

    #[tokio::test]
    async fn delete_emits_delete_also_when_absent() {
        let (_, store, recorder) = setup();
        let s = session("sid-1");
        store.create(&s, None, NOW).await.ok();
        recorder.clear();

        assert_eq!(store.delete(s.key(), NOW).await.ok(), Some(true));
        assert_eq!(store.delete(s.key(), NOW).await.ok(), Some(false));
        let delete = expected(EventKind::SessionDelete, Some("sid-1"), "full");
        assert_eq!(recorder.take(), [delete.clone(), delete]);
    }

    #[tokio::test]
    async fn an_eviction_emits_one_delete_per_evicted_session_then_the_create() {
        let (_, store, recorder) = setup();
        let cap = NonZeroU32::new(2);
        // Three sessions ending at NOW + 10, + 20, + 30, created without a cap.
        for (i, id) in ["old", "middle", "new"].into_iter().enumerate() {
            let mut s = session(id);
            s.refresh_expires_at = NOW + 10 * (i as i64 + 1);
            assert!(store.create(&s, None, NOW).await.is_ok());
        }
        // Another user's session is neither counted nor evicted.
        let mut other = session("other");
        other.user_id = "user-2".into();
        assert!(store.create(&other, None, NOW).await.is_ok());
        recorder.clear();

        // Cap 2: "old" and "middle" make room for the fourth.
        let fourth = session("fourth");
        let created = store.create(&fourth, cap, NOW).await.ok();
        assert_eq!(
            created,
            Some(Created::new(1, vec!["old".to_owned(), "middle".to_owned()]))
        );
        assert_eq!(
            recorder.take(),
            [
                expected(EventKind::SessionDelete, Some("old"), "full"),
                expected(EventKind::SessionDelete, Some("middle"), "full"),
                expected(EventKind::SessionCreate, Some("fourth"), "full"),
            ]
        );
        assert_eq!(store.get(session("old").key(), NOW).await.ok(), Some(None));
        let all = store.get_all("user-1", &SessionType::default(), NOW).await;
        assert_eq!(all.map(|a| a.len()).ok(), Some(2));

        // Within the cap: a create event only. A conflict evicts nothing.
        assert!(store.delete(fourth.key(), NOW).await.is_ok());
        recorder.clear();
        assert!(store.create(&session("fifth"), cap, NOW).await.is_ok());
        assert_eq!(
            recorder.take(),
            [expected(EventKind::SessionCreate, Some("fifth"), "full")]
        );
        let err = store.create(&session("fifth"), cap, NOW).await.err();
        assert_eq!(err.map(|e| e.kind()), Some(StoreErrorKind::Conflict));
        assert_eq!(
            recorder.take(),
            [expected(
                EventKind::SessionLockConflict,
                Some("fifth"),
                "full"
            )]
        );
    }

    #[tokio::test]
    async fn delete_all_emits_delete_all_without_session_id() {
        let (_, store, recorder) = setup();
        let oauth = SessionType::new("oauth2").unwrap_or_default();
        let mut s = session("sid-1");
        s.session_type = oauth.clone();
        store.create(&s, None, NOW).await.ok();
        recorder.clear();

        assert!(store.delete_all("user-1", &oauth).await.is_ok());
        let events = recorder.take();
        assert_eq!(
            events,
            [expected(EventKind::SessionDeleteAll, None, "oauth2")]
        );
        assert_eq!(events.first().and_then(|e| e.session_id.clone()), None);
        assert_eq!(store.get(s.key(), NOW).await.ok(), Some(None));
    }

    #[tokio::test]
    async fn reads_emit_nothing() {
        let (_, store, recorder) = setup();
        let s = session("sid-1");
        store.create(&s, None, NOW).await.ok();
        recorder.clear();

        let got = store.get(s.key(), NOW).await.ok().flatten();
        assert_eq!(got.map(|g| g.lock_version), Some(1));
        let all = store.get_all("user-1", &s.session_type, NOW).await.ok();
        assert_eq!(all.map(|a| a.len()), Some(1));
        assert!(recorder.is_empty());
    }

    /// Every store call is a span: start, then stop (with the store's answer) or
    /// exception (with the error); the session event carries the stop's duration.
    #[tokio::test]
    async fn every_operation_is_a_span_and_session_events_carry_its_duration() {
        use crate::telemetry::{OwnedEvent, StoreOperation, event_channel};

        let fake = Arc::new(FakeStore::default());
        let (sender, mut stream) = event_channel(64).unwrap_or_else(|_| unreachable!());
        let store = ObservedStore::new(fake.clone(), Telemetry::new(vec![Arc::new(sender)]));
        let mut drain = || {
            let mut events: Vec<OwnedEvent> = Vec::new();
            while let Some(e) = stream.try_recv() {
                events.push(e);
            }
            events
        };
        let s = session("sid-1");
        type Summary = (
            EventKind,
            Option<StoreOperation>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let summary = |events: &[OwnedEvent]| -> Vec<Summary> {
            events
                .iter()
                .map(|e| (e.kind, e.operation, e.outcome, e.error_kind))
                .collect()
        };

        assert!(store.create(&s, None, NOW).await.is_ok());
        let events = drain();
        use EventKind::{
            SessionCreate, SessionLockConflict, StoreException, StoreStart, StoreStop,
        };
        use StoreOperation::{Create, Get, Update};
        assert_eq!(
            summary(&events),
            [
                (StoreStart, Some(Create), None, None),
                (StoreStop, Some(Create), Some("ok"), None),
                (SessionCreate, None, None, None),
            ]
        );
        let [start, stop, create] = &events[..] else {
            unreachable!("three events")
        };
        assert_eq!(start.measurements.duration, std::time::Duration::ZERO);
        assert_eq!(create.measurements.duration, stop.measurements.duration);
        assert_eq!(stop.session_type.as_deref(), Some("full"));

        // A conflict is an answer: stop with outcome conflict, and the lock_conflict event.
        assert!(store.create(&s, None, NOW).await.is_err());
        assert_eq!(
            summary(&drain()),
            [
                (StoreStart, Some(Create), None, None),
                (StoreStop, Some(Create), Some("conflict"), None),
                (SessionLockConflict, None, None, None),
            ]
        );
        // A missing session on update: stop with not_found, no session event.
        assert!(store.update(&session("missing"), NOW).await.is_err());
        assert_eq!(
            summary(&drain()),
            [
                (StoreStart, Some(Update), None, None),
                (StoreStop, Some(Update), Some("not_found"), None),
            ]
        );
        // A failure: exception with the error kind, no session event.
        fake.set_fail(Some(StoreErrorKind::Timeout));
        assert!(store.get(s.key(), NOW).await.is_err());
        let events = drain();
        assert_eq!(
            summary(&events),
            [
                (StoreStart, Some(Get), None, None),
                (StoreException, Some(Get), None, Some("timeout")),
            ]
        );
        assert!(
            events
                .iter()
                .all(|e| e.user_id.is_none() && e.session_id.is_none())
        );
    }

    #[tokio::test]
    async fn works_without_telemetry() {
        let store = ObservedStore::new(Arc::new(FakeStore::default()), Telemetry::none());
        let s = session("sid-1");
        assert_eq!(
            store
                .create(&s, None, NOW)
                .await
                .map(|c| c.lock_version)
                .ok(),
            Some(1)
        );
        assert_eq!(store.delete(s.key(), NOW).await.ok(), Some(true));
        assert!(store.telemetry().is_empty());
    }
}
