//! Session stores: the [`SessionStore`] contract and its backends.
//!
//! # The contract
//!
//! A store keeps [`Session`]s keyed by (session id, user id, session type). Every backend
//! ([`MemoryStore`], `RedisStore` with the `redis` feature, and any
//! store of yours) must give exactly these guarantees; the shared contract test suite in
//! `tests/support/contract.rs` checks them against each backend.
//!
//! - **Create only if absent.** [`create`](SessionStore::create) succeeds only when no live
//!   session with that key exists; otherwise it fails with [`StoreErrorKind::Conflict`] and
//!   changes nothing (it evicts nothing either).
//! - **At most `max_sessions` per user and type.** A create given `Some(cap)` leaves at
//!   most `cap` live sessions of that (user, type), the new one included: when the others
//!   already number `cap` or more, it removes the ones with the lowest `refresh_expires_at`
//!   (ties: the lowest session id, in byte order) until they number `cap − 1`, in the same
//!   atomic step as the write, and reports their ids in [`Created::evicted`], soonest to
//!   end first. Expired sessions never count and are never reported; the new session is never
//!   evicted, whatever its expiry. `None` means no cap. (Why the lowest
//!   `refresh_expires_at`: it is the session that would end first without a refresh; with
//!   one refresh TTL it is the least recently used one, so an abandoned browser goes
//!   before the phone the user holds. It is also the order a Redis sorted set already
//!   keeps, so eviction costs one range read.)
//! - **Update only at the version read.** [`update`](SessionStore::update) succeeds only
//!   when the stored lock version equals `session.lock_version` (the version that was
//!   read); otherwise [`StoreErrorKind::Conflict`]: another writer won. Updates never evict.
//! - **No resurrection.** Updating a session that was deleted, evicted or has expired fails
//!   with [`StoreErrorKind::NotFound`] and writes nothing.
//! - **Lock versions.** A successful write stores `session.lock_version + 1` and returns it.
//! - **Expiry.** A session whose `refresh_expires_at` lies before `now` is never returned,
//!   and is eventually removed without a cleanup job. Expiry is decided by the caller's
//!   `now` alone (every call that may look at expiry takes one; a store has no clock of
//!   its own): a backend whose clock is off from the application's must never drop a live
//!   session early. (The Redis store sets relative key expiries for this.)
//! - **Isolation.** A session of another user or type is never returned, even if it
//!   somehow sits under this key (a tampered backend, a hash-tag collision).
//! - **Every type of a user.** [`session_types`](SessionStore::session_types) lists at
//!   least every type under which the user has a live session, and never a type the user
//!   never had a session of (a type whose sessions all ended may stay listed for a while).
//!   It is what "revoke every session of a user" builds on, so a type missing from it would
//!   be a session that survives the revocation.
//! - **Atomicity.** Each operation is atomic; for Redis, one round trip (a write that would
//!   outlive the Redis store's index of the user's session types takes two more, see its
//!   docs).
//! - **Failures** are [`StoreError`]s carrying the driver error as `source()`, never panics.
//!
//! Stores emit no telemetry: the session events are emitted once, above the stores, by
//! [`ObservedStore`], so every store gets them.
//!
//! [`StoreErrorKind::Conflict`]: crate::error::StoreErrorKind::Conflict
//! [`StoreErrorKind::NotFound`]: crate::error::StoreErrorKind::NotFound

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::session::{Session, SessionKey, SessionMemo, SessionType};

pub mod memory;
mod observed;
#[cfg(feature = "redis")]
pub mod redis;

pub use memory::MemoryStore;
pub use observed::ObservedStore;

/// What a successful [`SessionStore::create`] did.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Created {
    /// The lock version stored: `session.lock_version + 1`.
    pub lock_version: u64,
    /// Ids of the live sessions of the same user and type that the create removed to stay
    /// within its `max_sessions`, soonest to end first; empty when none was.
    pub evicted: Vec<String>,
}

impl Created {
    /// A create that stored `lock_version` and evicted `evicted` (for store implementors).
    pub fn new(lock_version: u64, evicted: Vec<String>) -> Self {
        Self {
            lock_version,
            evicted,
        }
    }
}

/// The source of the error [`SessionStore::session_types`] returns by default.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this store cannot list a user's session types")]
struct SessionTypesUnsupported;

/// A boxed future returned by [`SessionStore`] methods (keeps the trait object-safe).
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where sessions live. See the [module docs](self) for the contract every store keeps.
///
/// Object-safe: the handle holds an `Arc<dyn SessionStore>`.
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// The live session with this key, or `None` (missing, expired, or not this user/type).
    fn get<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, Option<Session>>;

    /// The live session with this key, as [`get`](Self::get) (always from the store itself,
    /// never a local cache), shared: a store that keeps decoded sessions hands out the one
    /// it holds without copying it (the Redis store's memo of verified blobs). What the
    /// access layer's [`Revocation::Strict`](crate::layer::Revocation::Strict) calls.
    /// Defaults to [`get`](Self::get).
    fn get_shared<'a>(
        &'a self,
        key: SessionKey<'a>,
        now: UnixTime,
    ) -> StoreFuture<'a, Option<Arc<Session>>> {
        Box::pin(async move { Ok(self.get(key, now).await?.map(Arc::new)) })
    }

    /// The live session with this key, as [`get`](Self::get), possibly answered from a
    /// local cache of this instance that the backend keeps coherent (what the access
    /// layer's [`Revocation::Cached`](crate::layer::Revocation::Cached) calls). A store
    /// with such a cache must answer as `get` would, except within the time an
    /// invalidation takes to arrive, and must answer by a round trip (or not at all)
    /// whenever it may have missed an invalidation; its own writes must be seen by its
    /// next `get_cached`. Defaults to [`get`](Self::get).
    ///
    /// The Redis store has such a cache when built with
    /// `RedisStoreBuilder::session_cache` (feature `redis`): invalidations published by
    /// its write scripts, a heartbeat, and an empty cache whenever the channel may have
    /// missed one.
    ///
    /// The session comes shared (`Arc`): a cache hands out the entry it holds without
    /// copying it.
    fn get_cached<'a>(
        &'a self,
        key: SessionKey<'a>,
        now: UnixTime,
    ) -> StoreFuture<'a, Option<Arc<Session>>> {
        Box::pin(async move { Ok(self.get(key, now).await?.map(Arc::new)) })
    }

    /// The session with this key if the store's coherent local cache holds it and
    /// [`get_cached`](Self::get_cached) would serve it from there now; `None` otherwise,
    /// which means "ask `get_cached`", never "not found". Synchronous and without a round
    /// trip: the access layer's [`Revocation::Cached`](crate::layer::Revocation::Cached)
    /// check tries it first, so that a hit costs no boxed future and no task wake-up. The
    /// same rules as `get_cached` hold: `Some` only for a live session whose entry no
    /// invalidation the store has seen has overtaken. Defaults to `None` (a store without
    /// a cache).
    ///
    /// `memo` belongs to the verified token that names `key` (its claims'): the Redis
    /// store's cache remembers there which entry served it, and the token's next request
    /// checks that entry without looking the key up. Another store can only ignore it (its
    /// contents are the crate's own).
    fn peek_cached(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
        memo: &SessionMemo,
    ) -> Option<Arc<Session>> {
        let _ = (key, now, memo);
        None
    }

    /// Create `session` if no live session has its key, and keep at most `max_sessions`
    /// live sessions of its user and type, evicting the others that would end first (see
    /// the [contract](self#the-contract)), all in one atomic step. Returns the new lock
    /// version (`session.lock_version + 1`) and the ids evicted.
    fn create<'a>(
        &'a self,
        session: &'a Session,
        max_sessions: Option<NonZeroU32>,
        now: UnixTime,
    ) -> StoreFuture<'a, Created>;

    /// Write `session` over the stored one if its lock version is still
    /// `session.lock_version`; returns the new lock version (`session.lock_version + 1`).
    fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64>;

    /// Delete the session with this key; returns whether one was there. `now` is the
    /// caller's time, for whatever expiry bookkeeping the store does (Redis recomputes the
    /// key's time to live from it).
    fn delete<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, bool>;

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

    /// The session types under which `user_id` may have live sessions: at least every type
    /// with a session live at `now`, possibly also types whose sessions have all ended
    /// since (never a type this user never had a session of). What
    /// [`Charon::revoke_all_sessions_of_user`](crate::Charon::revoke_all_sessions_of_user)
    /// and [`Charon::list_all_sessions_of_user`](crate::Charon::list_all_sessions_of_user)
    /// ask, before they call [`delete_all`](Self::delete_all) or [`get_all`](Self::get_all)
    /// for each type. The order is unspecified.
    ///
    /// Defaults to an error ([`Backend`](crate::error::StoreErrorKind::Backend), "this
    /// store cannot list a user's session types"): a store that cannot tell must not let
    /// "log out of every type" silently miss one. [`MemoryStore`] and the Redis store
    /// implement it.
    fn session_types<'a>(
        &'a self,
        user_id: &'a str,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<SessionType>> {
        let _ = (user_id, now);
        Box::pin(std::future::ready(Err(StoreError::with_source(
            crate::error::StoreErrorKind::Backend,
            SessionTypesUnsupported,
        ))))
    }

    /// Whether the backend answers, for health checks
    /// ([`Charon::health`](crate::Charon::health)): `Ok` once it has, an error when it
    /// answered with one or not within `deadline`. A store that talks to a server sends it
    /// a cheap request (Redis: `PING`) and gives up at `deadline`; the caller enforces the
    /// deadline too, so a ping that overruns it is reported failed all the same.
    ///
    /// Defaults to `Ok` at once: right for an in-process store such as [`MemoryStore`];
    /// a store with a backend should override it.
    fn ping(&self, deadline: Duration) -> StoreFuture<'_, ()> {
        let _ = deadline;
        Box::pin(std::future::ready(Ok(())))
    }

    /// A short name for the backend: the name of its check in a
    /// [`HealthReport`](crate::health::HealthReport) (`memory`, `redis`). Defaults to
    /// `store`.
    fn backend_name(&self) -> &'static str {
        "store"
    }
}
