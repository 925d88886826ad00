//! The one place session events are emitted: a wrapper above every store.

use std::sync::Arc;

use super::{SessionStore, WriteMode};
use crate::clock::UnixTime;
use crate::error::{StoreError, StoreErrorKind};
use crate::session::{Session, SessionKey, SessionType};
use crate::telemetry::{Event, EventKind, SessionMeta, Telemetry};

/// A store plus telemetry: every successful operation emits its session event, every lock
/// conflict `charon.session.lock_conflict`. Create and refresh are told apart by the
/// operation, never guessed from timestamps. Failures other than conflicts emit nothing.
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

    /// See [`SessionStore::get`]. Emits nothing.
    pub async fn get(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        self.store.get(key, now).await
    }

    /// Create `session`; emits `charon.session.create`, or `lock_conflict` if it exists.
    pub async fn create(&self, session: &Session, now: UnixTime) -> Result<u64, StoreError> {
        self.write(session, WriteMode::Create, now, EventKind::SessionCreate)
            .await
    }

    /// Update `session` at the version read; emits `charon.session.refresh`, or
    /// `lock_conflict` when another writer won.
    pub async fn update(&self, session: &Session, now: UnixTime) -> Result<u64, StoreError> {
        self.write(session, WriteMode::Update, now, EventKind::SessionRefresh)
            .await
    }

    async fn write(
        &self,
        session: &Session,
        mode: WriteMode,
        now: UnixTime,
        success: EventKind,
    ) -> Result<u64, StoreError> {
        let result = self.store.upsert(session, mode, now).await;
        let kind = match &result {
            Ok(_) => success,
            Err(e) if e.kind() == StoreErrorKind::Conflict => EventKind::SessionLockConflict,
            Err(_) => return result,
        };
        self.telemetry
            .emit(kind, || Event::session(kind, SessionMeta::of(session)));
        result
    }

    /// Delete one session; emits `charon.session.delete` (also when it was already gone).
    pub async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StoreError> {
        let deleted = self.store.delete(key).await?;
        self.telemetry.emit(EventKind::SessionDelete, || {
            Event::session(
                EventKind::SessionDelete,
                SessionMeta {
                    session_id: Some(key.session_id),
                    user_id: key.user_id,
                    session_type: key.session_type.as_str(),
                },
            )
        });
        Ok(deleted)
    }

    /// See [`SessionStore::get_all`]. Emits nothing.
    pub async fn get_all(
        &self,
        user_id: &str,
        session_type: &SessionType,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        self.store.get_all(user_id, session_type, now).await
    }

    /// Delete every session of a user and type; emits `charon.session.delete_all`.
    pub async fn delete_all(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<(), StoreError> {
        self.store.delete_all(user_id, session_type).await?;
        self.telemetry.emit(EventKind::SessionDeleteAll, || {
            Event::session(
                EventKind::SessionDeleteAll,
                SessionMeta {
                    session_id: None,
                    user_id,
                    session_type: session_type.as_str(),
                },
            )
        });
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

        fn upsert<'a>(
            &'a self,
            session: &'a Session,
            mode: WriteMode,
            now: UnixTime,
        ) -> StoreFuture<'a, u64> {
            Box::pin(async move {
                self.failure()?;
                let mut sessions = self.sessions();
                let key = key_of(session.key());
                let live = sessions.get(&key).filter(|s| !s.is_expired(now));
                match (mode, live) {
                    (WriteMode::Create, Some(_)) => return Err(StoreError::conflict()),
                    (WriteMode::Update, None) => return Err(StoreError::not_found()),
                    (WriteMode::Update, Some(stored))
                        if stored.lock_version != session.lock_version =>
                    {
                        return Err(StoreError::conflict());
                    }
                    _ => {}
                }
                let version = session.lock_version + 1;
                let mut stored = session.clone();
                stored.lock_version = version;
                sessions.insert(key, stored);
                Ok(version)
            })
        }

        fn delete<'a>(&'a self, key: SessionKey<'a>) -> StoreFuture<'a, bool> {
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
                        s.user_id == user_id
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
                self.sessions()
                    .retain(|_, s| !(s.user_id == user_id && &s.session_type == session_type));
                Ok(())
            })
        }
    }

    const NOW: UnixTime = 1_000;

    fn session(id: &str) -> Session {
        Session::new(
            id.to_owned(),
            "user-1".to_owned(),
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
        assert_eq!(store.create(&s, NOW).await.ok(), Some(1));
        assert_eq!(
            recorder.take(),
            [expected(EventKind::SessionCreate, Some("sid-1"), "full")]
        );

        let err = store.create(&s, NOW).await.err().map(|e| e.kind());
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
        s.lock_version = store.create(&s, NOW).await.unwrap_or_default();
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
            assert!(store.create(&s, NOW).await.is_err());
            assert!(store.update(&s, NOW).await.is_err());
            assert!(store.delete(s.key()).await.is_err());
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
        store.create(&s, NOW).await.ok();
        recorder.clear();

        assert_eq!(store.delete(s.key()).await.ok(), Some(true));
        assert_eq!(store.delete(s.key()).await.ok(), Some(false));
        let delete = expected(EventKind::SessionDelete, Some("sid-1"), "full");
        assert_eq!(recorder.take(), [delete.clone(), delete]);
    }

    #[tokio::test]
    async fn delete_all_emits_delete_all_without_session_id() {
        let (_, store, recorder) = setup();
        let oauth = SessionType::new("oauth2").unwrap_or_default();
        let mut s = session("sid-1");
        s.session_type = oauth.clone();
        store.create(&s, NOW).await.ok();
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
        store.create(&s, NOW).await.ok();
        recorder.clear();

        let got = store.get(s.key(), NOW).await.ok().flatten();
        assert_eq!(got.map(|g| g.lock_version), Some(1));
        let all = store.get_all("user-1", &s.session_type, NOW).await.ok();
        assert_eq!(all.map(|a| a.len()), Some(1));
        assert!(recorder.is_empty());
    }

    #[tokio::test]
    async fn works_without_telemetry() {
        let store = ObservedStore::new(Arc::new(FakeStore::default()), Telemetry::none());
        let s = session("sid-1");
        assert_eq!(store.create(&s, NOW).await.ok(), Some(1));
        assert_eq!(store.delete(s.key()).await.ok(), Some(true));
        assert!(store.telemetry().is_empty());
    }
}
