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
