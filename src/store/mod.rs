//! Session stores: the [`SessionStore`] contract and its backends.
//!
//! # The contract
//!
//! A store keeps [`Session`]s keyed by (session id, user id, session type). Every backend
//! ([`MemoryStore`], `RedisStore` with the `redis` feature, and any
//! store of yours) must give exactly these guarantees; the shared contract test suite in
//! `tests/support/contract.rs` checks them against each backend.
//!
//! - **Create only if absent.** [`WriteMode::Create`] succeeds only when no live session
//!   with that key exists; otherwise it fails with [`StoreErrorKind::Conflict`].
//! - **Update only at the version read.** [`WriteMode::Update`] succeeds only when the
//!   stored lock version equals `session.lock_version` (the version that was read);
//!   otherwise [`StoreErrorKind::Conflict`]: another writer won.
//! - **No resurrection.** Updating a session that was deleted or has expired fails with
//!   [`StoreErrorKind::NotFound`] and writes nothing.
//! - **Lock versions.** A successful write stores `session.lock_version + 1` and returns it.
//! - **Expiry.** A session whose `refresh_expires_at` lies before `now` is never returned,
//!   and is eventually removed without a cleanup job.
//! - **Isolation.** A session of another user or type is never returned, even if it
//!   somehow sits under this key (a tampered backend, a hash-tag collision).
//! - **Atomicity.** Each operation is atomic; for Redis, one round trip.
//! - **Failures** are [`StoreError`]s carrying the driver error as `source()`, never panics.
//!
//! Stores emit no telemetry: the session events are emitted once, above the stores, by
//! [`ObservedStore`], so every store gets them.
//!
//! [`StoreErrorKind::Conflict`]: crate::error::StoreErrorKind::Conflict
//! [`StoreErrorKind::NotFound`]: crate::error::StoreErrorKind::NotFound

use std::fmt;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::session::{Session, SessionKey, SessionType};

pub mod memory;
mod observed;
#[cfg(feature = "redis")]
pub mod redis;

pub use memory::MemoryStore;
pub use observed::ObservedStore;

/// Whether a write creates a session or updates one that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// Create: succeed only if no live session has this key.
    Create,
    /// Update: succeed only if the stored lock version equals `session.lock_version`.
    Update,
}

/// A boxed future returned by [`SessionStore`] methods (keeps the trait object-safe).
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where sessions live. See the [module docs](self) for the contract every store keeps.
///
/// Object-safe: the handle holds an `Arc<dyn SessionStore>`.
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// The live session with this key, or `None` (missing, expired, or not this user/type).
    fn get<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, Option<Session>>;

    /// Write `session` under optimistic locking; returns the new lock version
    /// (`session.lock_version + 1`).
    fn upsert<'a>(
        &'a self,
        session: &'a Session,
        mode: WriteMode,
        now: UnixTime,
    ) -> StoreFuture<'a, u64>;

    /// Delete the session with this key; returns whether one was there.
    fn delete<'a>(&'a self, key: SessionKey<'a>) -> StoreFuture<'a, bool>;

    /// Every live session of this user and type.
    fn get_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<Session>>;

    /// Delete every session of this user and type.
    fn delete_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
    ) -> StoreFuture<'a, ()>;
}
