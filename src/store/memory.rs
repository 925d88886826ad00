//! In-process session store: [`MemoryStore`].
//!
//! Sessions live in this process only and are lost on restart; several instances of a
//! service do not see each other's sessions. Use it for tests, examples, development and
//! single-instance deployments; use the Redis store otherwise.
//!
//! # Layout
//!
//! Sessions are held in a fixed number of shards, picked by a hash of the user id. Each
//! shard is one [`std::sync::Mutex`] around `user id → session type → session id → session`,
//! so [`get_all`](SessionStore::get_all) and [`delete_all`](SessionStore::delete_all) touch
//! one bucket, never the whole store, and [`session_types`](SessionStore::session_types) is
//! the user's map of buckets. Every operation takes one shard lock once and never
//! holds it across an `.await`, which makes each operation atomic.
//!
//! # Expiry without a cleanup job
//!
//! A session whose `refresh_expires_at` lies before `now` is never returned. It is removed:
//! - from its (user, type) bucket on every write to that bucket (create or update);
//! - from the whole shard every [`PRUNE_EVERY`] writes to that shard (amortised);
//! - on demand with [`MemoryStore::prune_expired`].
//!
//! The store has no clock of its own: "now" is the `now` callers pass to `get`, `get_all`,
//! `create` and `update`. [`delete`](SessionStore::delete) ignores its `now` and returns
//! whether the entry was there, live or expired but not pruned yet: only a session that was
//! never there, already deleted, evicted or pruned gives `false`.
//!
//! # Session cap
//!
//! A create with `max_sessions` evicts, under the same shard lock as the write, the live
//! sessions of the bucket with the lowest `refresh_expires_at` (ties: lowest id) until
//! `max_sessions − 1` are left, then inserts the new one.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::fmt;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Created, SessionStore, StoreFuture};
use crate::clock::UnixTime;
use crate::error::{StoreError, StoreErrorKind};
use crate::session::{Session, SessionKey, SessionType};

/// Writes to one shard between two prunes of the whole shard.
pub const PRUNE_EVERY: u64 = 1024;

/// Number of shards of [`MemoryStore::new`].
pub const DEFAULT_SHARDS: usize = 16;

/// Sessions of one (user, type): session id → session.
type Bucket = HashMap<String, Session>;

/// The write a caller asked for.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Create, keeping at most this many live sessions in the bucket.
    Create(Option<NonZeroU32>),
    /// Update at the version read.
    Update,
}

/// One shard: user id → session type → bucket.
#[derive(Default)]
struct Shard {
    users: HashMap<String, HashMap<SessionType, Bucket>>,
    /// Writes since the last prune of the whole shard.
    writes_since_prune: u64,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

/// An in-process [`SessionStore`]: sharded hash maps behind `std::sync::Mutex`es.
///
/// Keeps the full [store contract](super): create only if absent, update only at the
/// version read, no resurrection of deleted or expired sessions, lock versions incremented
/// by one per write, expired sessions never returned and pruned without a background task
/// (see the [module docs](self)).
///
/// Cheap to clone: clones share the same sessions (an `Arc` inside).
///
/// ```
/// use std::sync::Arc;
/// use charon_auth::session::{Session, SessionType};
/// use charon_auth::store::{MemoryStore, SessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let now = 1_700_000_000;
/// let session = Session::new(
///     "sid".into(), "user".into(), SessionType::default(),
///     now, None, now + 3600, "rtid".into(),
/// );
/// assert_eq!(store.create(&session, None, now).await?.lock_version, 1);
/// let read = store.get(session.key(), now).await?.ok_or("not stored")?;
/// assert_eq!(read.lock_version, 1);
///
/// // Clones share the sessions; share it behind the object-safe trait.
/// let shared: Arc<dyn SessionStore> = Arc::new(store.clone());
/// assert!(shared.delete(session.key(), now).await?);
/// assert_eq!(store.get(session.key(), now).await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

impl MemoryStore {
    /// An empty store with [`DEFAULT_SHARDS`] shards.
    pub fn new() -> Self {
        Self::with_shards(DEFAULT_SHARDS)
    }

    /// An empty store with `shards` shards (at least one). More shards let more writers to
    /// different users proceed in parallel.
    pub fn with_shards(shards: usize) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| Mutex::new(Shard::default()))
            .collect();
        Self {
            inner: Arc::new(Inner {
                shards,
                hasher: RandomState::new(),
            }),
        }
    }

    /// Number of sessions held, including expired ones not pruned yet.
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| {
                lock(shard)
                    .users
                    .values()
                    .flat_map(HashMap::values)
                    .map(HashMap::len)
                    .sum::<usize>()
            })
            .sum()
    }

    /// Whether the store holds no sessions at all (expired ones included).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every session expired at `now`; returns how many were removed.
    ///
    /// Never needed for correctness (expired sessions are never returned, and writes prune
    /// them); useful to bound memory after a burst of logins.
    pub fn prune_expired(&self, now: UnixTime) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| {
                let mut shard = lock(shard);
                shard.writes_since_prune = 0;
                prune_shard(&mut shard, now)
            })
            .sum()
    }

    fn shard(&self, user_id: &str) -> MutexGuard<'_, Shard> {
        let shards = &self.inner.shards;
        let hash = self.inner.hasher.hash_one(user_id);
        // The remainder is below `shards.len()`, so it fits in a usize.
        let index = usize::try_from(hash % shards.len() as u64).unwrap_or(0);
        match shards.get(index) {
            Some(shard) => lock(shard),
            None => unreachable!("the index is below the shard count"),
        }
    }

    fn get_sync(&self, key: SessionKey<'_>, now: UnixTime) -> Option<Session> {
        let shard = self.shard(key.user_id);
        shard
            .users
            .get(key.user_id)?
            .get(key.session_type)?
            .get(key.session_id)
            .filter(|s| !s.is_expired(now) && s.matches(&key))
            .cloned()
    }

    fn write_sync(
        &self,
        session: &Session,
        mode: Mode,
        now: UnixTime,
    ) -> Result<Created, StoreError> {
        let new_version = session.lock_version.checked_add(1).ok_or_else(|| {
            StoreError::with_source(StoreErrorKind::Encoding, "lock version overflow")
        })?;
        let creating = matches!(mode, Mode::Create(_));
        let mut guard = self.shard(session.user_id.as_str());
        let shard = &mut *guard;

        shard.writes_since_prune += 1;
        if shard.writes_since_prune >= PRUNE_EVERY {
            shard.writes_since_prune = 0;
            prune_shard(shard, now);
        }

        let types = match shard.users.entry(session.user_id.as_str().to_owned()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) if creating => e.insert(HashMap::new()),
            Entry::Vacant(_) => return Err(StoreError::not_found()),
        };
        let bucket = match types.entry(session.session_type.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) if creating => e.insert(HashMap::new()),
            Entry::Vacant(_) => return Err(StoreError::not_found()),
        };
        // Expired sessions count as absent: drop them before looking.
        bucket.retain(|_, s| !s.is_expired(now));

        let result = match (bucket.get_mut(&session.id), mode) {
            (Some(_), Mode::Create(_)) => Err(StoreError::conflict()),
            (None, Mode::Update) => Err(StoreError::not_found()),
            (Some(stored), Mode::Update) if stored.lock_version != session.lock_version => {
                Err(StoreError::conflict())
            }
            (Some(stored), Mode::Update) => {
                stored.clone_from(session);
                stored.lock_version = new_version;
                Ok(Created::new(new_version, Vec::new()))
            }
            (None, Mode::Create(max_sessions)) => {
                // An already expired session is not live: it makes no room.
                let evicted = match max_sessions {
                    Some(cap) if !session.is_expired(now) => evict_oldest(bucket, cap),
                    _ => Vec::new(),
                };
                let mut stored = session.clone();
                stored.lock_version = new_version;
                bucket.insert(stored.id.clone(), stored);
                Ok(Created::new(new_version, evicted))
            }
        };
        if bucket.is_empty() {
            remove_bucket(shard, session.user_id.as_str(), &session.session_type);
        }
        result
    }

    fn delete_sync(&self, key: SessionKey<'_>) -> bool {
        let mut shard = self.shard(key.user_id);
        let Some(bucket) = shard
            .users
            .get_mut(key.user_id)
            .and_then(|types| types.get_mut(key.session_type))
        else {
            return false;
        };
        let removed = bucket.remove(key.session_id);
        if bucket.is_empty() {
            remove_bucket(&mut shard, key.user_id, key.session_type);
        }
        removed.is_some_and(|s| s.matches(&key))
    }

    fn get_all_sync(
        &self,
        user_id: &str,
        session_type: &SessionType,
        now: UnixTime,
    ) -> Vec<Session> {
        let shard = self.shard(user_id);
        shard
            .users
            .get(user_id)
            .and_then(|types| types.get(session_type))
            .map(|bucket| {
                bucket
                    .values()
                    .filter(|s| {
                        !s.is_expired(now)
                            && s.user_id.as_str() == user_id
                            && &s.session_type == session_type
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn session_types_sync(&self, user_id: &str, now: UnixTime) -> Vec<SessionType> {
        let shard = self.shard(user_id);
        shard
            .users
            .get(user_id)
            .map(|types| {
                types
                    .iter()
                    .filter(|(_, bucket)| bucket.values().any(|s| !s.is_expired(now)))
                    .map(|(session_type, _)| session_type.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn delete_all_sync(&self, user_id: &str, session_type: &SessionType) {
        let mut shard = self.shard(user_id);
        remove_bucket(&mut shard, user_id, session_type);
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print sessions: they carry refresh token ids and application payload.
        f.debug_struct("MemoryStore")
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

impl SessionStore for MemoryStore {
    /// `memory`. Its [`ping`](SessionStore::ping) is the default: always `Ok`.
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move { Ok(self.get_sync(key, now)) })
    }

    fn create<'a>(
        &'a self,
        session: &'a Session,
        max_sessions: Option<NonZeroU32>,
        now: UnixTime,
    ) -> StoreFuture<'a, Created> {
        Box::pin(async move { self.write_sync(session, Mode::Create(max_sessions), now) })
    }

    fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.write_sync(session, Mode::Update, now)
                .map(|c| c.lock_version)
        })
    }

    fn delete<'a>(&'a self, key: SessionKey<'a>, _now: UnixTime) -> StoreFuture<'a, bool> {
        Box::pin(async move { Ok(self.delete_sync(key)) })
    }

    fn get_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(async move { Ok(self.get_all_sync(user_id, session_type, now)) })
    }

    fn delete_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.delete_all_sync(user_id, session_type);
            Ok(())
        })
    }

    /// Exactly the types with a session live at `now` (the user's buckets are the index).
    fn session_types<'a>(
        &'a self,
        user_id: &'a str,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<SessionType>> {
        Box::pin(async move { Ok(self.session_types_sync(user_id, now)) })
    }
}

/// Lock a shard. A panic while a shard was locked cannot leave it inconsistent (every
/// mutation is a single map operation), so a poisoned lock is simply taken over.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drop the (user, type) bucket, and the user's entry once it has no buckets left.
fn remove_bucket(shard: &mut Shard, user_id: &str, session_type: &SessionType) {
    if let Some(types) = shard.users.get_mut(user_id) {
        types.remove(session_type);
        if types.is_empty() {
            shard.users.remove(user_id);
        }
    }
}

/// Make room for one more session in a bucket of live sessions: remove the ones with the
/// lowest `refresh_expires_at` (ties: lowest id) until `cap - 1` are left; returns their
/// ids in that order.
fn evict_oldest(bucket: &mut Bucket, cap: NonZeroU32) -> Vec<String> {
    let keep = usize::try_from(cap.get() - 1).unwrap_or(usize::MAX);
    let Some(excess) = bucket.len().checked_sub(keep).filter(|&n| n > 0) else {
        return Vec::new();
    };
    let mut by_age: Vec<(UnixTime, &String)> = bucket
        .iter()
        .map(|(id, s)| (s.refresh_expires_at, id))
        .collect();
    by_age.sort_unstable();
    let evicted: Vec<String> = by_age
        .into_iter()
        .take(excess)
        .map(|(_, id)| id.clone())
        .collect();
    for id in &evicted {
        bucket.remove(id);
    }
    evicted
}

/// Remove every session expired at `now` from the shard; returns how many were removed.
fn prune_shard(shard: &mut Shard, now: UnixTime) -> usize {
    let mut removed = 0;
    shard.users.retain(|_, types| {
        types.retain(|_, bucket| {
            let before = bucket.len();
            bucket.retain(|_, s| !s.is_expired(now));
            removed += before - bucket.len();
            !bucket.is_empty()
        });
        !types.is_empty()
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;

    const NOW: UnixTime = 1_700_000_000;

    fn session(id: &str, user: &str, refresh_expires_at: UnixTime) -> Session {
        Session::new(
            id.into(),
            user.into(),
            SessionType::default(),
            NOW,
            None,
            refresh_expires_at,
            "rtid".into(),
        )
    }

    /// The memory store never waits: every future is ready on first poll.
    fn ready<T>(f: StoreFuture<'_, T>) -> Result<T, StoreError> {
        f.now_or_never().unwrap_or_else(|| {
            Err(StoreError::with_source(
                StoreErrorKind::Backend,
                "memory store future was pending",
            ))
        })
    }

    #[test]
    fn create_get_update_delete() {
        let store = MemoryStore::new();
        let s = session("a", "u", NOW + 100);
        assert_eq!(
            ready(store.create(&s, None, NOW)).ok(),
            Some(Created::new(1, Vec::new()))
        );
        let read = ready(store.get(s.key(), NOW)).ok().flatten();
        let mut expected = s.clone();
        expected.lock_version = 1;
        assert_eq!(read.as_ref(), Some(&expected));

        let Some(mut read) = read else { return };
        read.refresh_token_id = "new".into();
        assert_eq!(ready(store.update(&read, NOW)).ok(), Some(2));
        assert_eq!(
            ready(store.update(&read, NOW)).err().map(|e| e.kind()),
            Some(StoreErrorKind::Conflict)
        );
        assert_eq!(ready(store.delete(s.key(), NOW)).ok(), Some(true));
        assert_eq!(ready(store.delete(s.key(), NOW)).ok(), Some(false));
        assert_eq!(
            ready(store.update(&read, NOW)).err().map(|e| e.kind()),
            Some(StoreErrorKind::NotFound)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn writes_prune_their_bucket_and_empty_buckets_go_away() {
        let store = MemoryStore::with_shards(1);
        for i in 0..10 {
            let s = session(&format!("s{i}"), "u", NOW + i);
            assert!(ready(store.create(&s, None, NOW)).is_ok());
        }
        assert_eq!(store.len(), 10);
        // At NOW + 5, s0..s4 are expired; a write to the bucket drops them.
        let s = session("new", "u", NOW + 100);
        assert!(ready(store.create(&s, None, NOW + 5)).is_ok());
        assert_eq!(store.len(), 6);

        ready(store.delete_all("u", &SessionType::default())).ok();
        assert!(store.is_empty());
        let shard = lock(store.inner.shards.first().unwrap_or_else(|| unreachable!()));
        assert!(shard.users.is_empty());
    }

    #[test]
    fn failed_update_leaves_no_empty_bucket() {
        let store = MemoryStore::with_shards(1);
        let s = session("a", "u", NOW + 100);
        assert_eq!(
            ready(store.update(&s, NOW)).err().map(|e| e.kind()),
            Some(StoreErrorKind::NotFound)
        );
        // An update of an expired session prunes it and then fails.
        assert!(ready(store.create(&s, None, NOW)).is_ok());
        let mut read = s;
        read.lock_version = 1;
        assert_eq!(
            ready(store.update(&read, NOW + 101))
                .err()
                .map(|e| e.kind()),
            Some(StoreErrorKind::NotFound)
        );
        assert!(store.is_empty());
        let shard = lock(store.inner.shards.first().unwrap_or_else(|| unreachable!()));
        assert!(shard.users.is_empty());
    }

    #[test]
    fn shard_is_pruned_every_n_writes() {
        let store = MemoryStore::with_shards(1);
        // Expired sessions of other users, whose buckets are never written again.
        for i in 0..10 {
            let s = session("a", &format!("other{i}"), NOW + 1);
            assert!(ready(store.create(&s, None, NOW)).is_ok());
        }
        let mut s = session("a", "writer", NOW + 1_000_000);
        assert!(ready(store.create(&s, None, NOW)).is_ok());
        s.lock_version = 1;
        let mut writes = 11;
        while writes < PRUNE_EVERY {
            let v = ready(store.update(&s, NOW + 10));
            assert!(v.is_ok());
            s.lock_version = v.unwrap_or_default();
            writes += 1;
        }
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn prune_expired_removes_only_expired() {
        let store = MemoryStore::new();
        for i in 0..20 {
            let s = session("a", &format!("u{i}"), NOW + i);
            assert!(ready(store.create(&s, None, NOW)).is_ok());
        }
        assert_eq!(store.prune_expired(NOW + 10), 10);
        assert_eq!(store.len(), 10);
        assert_eq!(store.prune_expired(NOW + 10), 0);
    }

    #[test]
    fn delete_of_a_pruned_session_reports_false() {
        let store = MemoryStore::new();
        let s = session("a", "u", NOW + 10);
        assert!(ready(store.create(&s, None, NOW)).is_ok());
        // Expired but not pruned yet: delete has no `now` and removes it.
        let t = session("b", "u", NOW + 10);
        assert!(ready(store.create(&t, None, NOW)).is_ok());
        assert_eq!(ready(store.delete(t.key(), NOW)).ok(), Some(true));
        // Pruned: gone.
        assert_eq!(store.prune_expired(NOW + 20), 1);
        assert_eq!(ready(store.delete(s.key(), NOW)).ok(), Some(false));
        assert!(store.is_empty());
    }

    #[test]
    fn lock_version_overflow_is_an_error() {
        let store = MemoryStore::new();
        let mut s = session("a", "u", NOW + 10);
        s.lock_version = u64::MAX;
        assert_eq!(
            ready(store.create(&s, None, NOW)).err().map(|e| e.kind()),
            Some(StoreErrorKind::Encoding)
        );
        assert!(store.is_empty());
    }

    #[test]
    fn clones_share_state_and_debug_hides_sessions() {
        let store = MemoryStore::new();
        let clone = store.clone();
        let mut s = session("a", "u", NOW + 10);
        s.refresh_token_id = "secret-rtid".into();
        assert!(ready(clone.create(&s, None, NOW)).is_ok());
        assert_eq!(store.len(), 1);
        let debug = format!("{store:?}");
        assert!(debug.contains("MemoryStore"));
        assert!(!debug.contains("secret-rtid"));
    }

    #[test]
    #[allow(clippy::panic)] // Poisoning a lock takes a panic.
    fn poisoned_shard_keeps_working() {
        let store = MemoryStore::with_shards(1);
        let s = session("a", "u", NOW + 10);
        assert!(ready(store.create(&s, None, NOW)).is_ok());
        let clone = store.clone();
        let joined = std::thread::spawn(move || {
            let _guard = clone.shard("u");
            std::panic::panic_any("poison the shard");
        })
        .join();
        assert!(joined.is_err());
        assert!(store.inner.shards.iter().any(Mutex::is_poisoned));
        assert!(ready(store.get(s.key(), NOW)).ok().flatten().is_some());
        assert_eq!(ready(store.delete(s.key(), NOW)).ok(), Some(true));
    }
}
