//! The coherent local cache of sessions ([`SessionCache`]): what
//! [`Revocation::Cached`](crate::layer::Revocation::Cached) reads through
//! ([`SessionStore::get_cached`](crate::store::SessionStore::get_cached)). See [`SessionCache`] for the protocol.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, UnitWeighter};

use crate::clock::UnixTime;
use crate::hit_counters::HitCounters;
use crate::session::{Memo, ReadToken, Session, SessionKey, SessionMemo};

/// Default [`SessionCache::max_age`]: 30 s.
///
/// The bound on what the invalidation messages cannot see (a key deleted by hand, a
/// `maxmemory` eviction); every library write is invalidated by its message whatever the
/// maximum age. An entry older than this is read again, so a session is a round trip at
/// least once per period: a user who makes a request every 10 s is served from the cache
/// two times in three with 30 s, never with 10 s or less. (At 5 s, the load harness's
/// 20 000 sessions, each requested about twice a second, were 90 % hits; at 30 s, 98 %.)
/// 30 s also stays far inside the access token's lifetime (15 min by default), which
/// bounds an out-of-band deletion with no session check at all.
pub const DEFAULT_SESSION_CACHE_MAX_AGE: Duration = Duration::from_secs(30);

/// Default heartbeat interval of a [`SessionCache`]: 250 ms (4 small `PUBLISH`es a second
/// per instance).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(250);

/// Default heartbeat timeout of a [`SessionCache`]: 1 s. A heartbeat that has not come
/// back this long after the next one was due stops the cache (it is emptied and reads go
/// to Redis until the subscription is confirmed again).
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(1);

/// Default [`SessionCache`] capacity: 32 768 sessions (the verified-token cache's default,
/// so every token that stays cached finds its session cached too).
pub const DEFAULT_SESSION_CACHE_CAPACITY: usize = 32_768;

/// Settings of a Redis store's coherent local cache of sessions, given to
/// [`RedisStoreBuilder::session_cache`](super::RedisStoreBuilder::session_cache), and how
/// that cache works.
///
/// # How it stays coherent
///
/// Every Redis write script that ends or changes a session (create, update/refresh,
/// delete, delete all, the evictions of `max_sessions`) also `PUBLISH`es the name of the
/// session hash it wrote (`<prefix>{<user>:<type>}:s`) on the store's invalidation channel
/// (`<prefix>invalidations`), in the same atomic step as the write. Each store with a cache
/// subscribes to that channel on a connection of its own (see `invalidation.rs`); a message
/// invalidates every cached session of that user and type. A Cluster broadcasts classic
/// pub/sub to every node, so one subscription on any node hears the writes of all of them;
/// the cache subscribes to every seed node all the same, so that a write's message comes
/// straight from the node that ran it rather than over the cluster bus, whose forwarding
/// now and then waits about 40 ms (a message then arrives more than once: harmless).
/// The store's own writes invalidate locally as well, as soon as Redis answers them, so
/// an instance never serves its own stale entry.
///
/// # The read/invalidation race: generations
///
/// A read that misses sends `HGET`; while it is in flight a write may run and its message
/// may arrive before the (stale) answer does. Inserting that answer after the invalidation
/// would keep a deleted session alive. So invalidation works on *generations*, not on
/// entries:
///
/// - Session hashes map onto a fixed set of stripes (a randomly seeded hash of the hash
///   key name); each stripe has a generation counter. An invalidation increments the
///   stripe's counter (it removes nothing).
/// - A read loads its stripe's generation (and the cache epoch, below) *before* it sends
///   `HGET`, and stores its answer tagged with them.
/// - A hit is served only when the entry's generation still equals the stripe's current
///   one. An answer whose read began before an invalidation carries the old generation: it
///   may be inserted, but it is never served.
///
/// Why that is enough: if the invalidation was processed *before* the read loaded the
/// generation, the read's `HGET` was sent after the message arrived, hence after Redis
/// ran the write (the message is published by the write itself, and Redis runs a node's
/// commands one at a time), so it reads the new state. If it was processed *after*, the
/// generations differ. Nothing is ever compared under a lock; a stripe shared by several
/// users only costs them extra misses.
///
/// # Fail safe: epochs and heartbeats
///
/// The cache is in use only while the subscription is confirmed and live. An epoch counter
/// is odd while it is, even while it is not (start-up, dropped, reconnecting, lagging):
/// every entry carries the epoch of its read, and is served only in that same epoch. When
/// the subscriber loses its connection, or its heartbeat does not come back in time, the
/// epoch moves to even (nothing is served from the cache, every read is a round trip, no
/// answer is kept) and the map is cleared; once a new `SUBSCRIBE` is confirmed, the epoch
/// moves to the next odd value, and the cache fills again from fresh reads.
///
/// The heartbeat: every `interval` the store publishes a message of its own on the channel
/// (through its normal connection); the cache is used only while the latest heartbeat seen
/// back was sent at most `interval + timeout` ago. This is checked on every read, so a
/// silently stalled subscription (a half-open TCP connection, a stuck node) stops the
/// cache within that bound even before the subscriber notices. (In a Cluster the
/// heartbeat goes through the node the client picks for it, so it proves that node's
/// messages reach the subscribed node; the cluster bus forwards every node's alike.)
///
/// # What it does not see
///
/// Writes that bypass the scripts: a key deleted with `redis-cli`, a key evicted by
/// `maxmemory` (a session store should run `noeviction`), a restore from a snapshot. For
/// those every entry has a maximum age ([`SessionCache::max_age`]), after which it is read
/// again. Expiry needs no message: a cached session is never served after its
/// `refresh_expires_at` by the caller's `now`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use charon_auth::store::redis::SessionCache;
///
/// let cache = SessionCache::new(50_000).max_age(Duration::from_secs(2));
/// assert_eq!(cache.capacity(), 50_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionCache {
    capacity: usize,
    max_age: Duration,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
}

impl Default for SessionCache {
    /// [`SessionCache::new`] with [`DEFAULT_SESSION_CACHE_CAPACITY`].
    fn default() -> Self {
        Self::new(DEFAULT_SESSION_CACHE_CAPACITY)
    }
}

impl SessionCache {
    /// A cache of at most `capacity` sessions (checked when connecting: at least 1), with
    /// the default maximum age and heartbeat. An entry holds the decoded session: a few
    /// hundred bytes for a typical one, about 3 KiB with the largest metadata allowed
    /// (estimated from the field sizes, not measured).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            max_age: DEFAULT_SESSION_CACHE_MAX_AGE,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
        }
    }

    /// How long an entry may be served before it is read from Redis again, whatever the
    /// invalidations say: the bound on writes that bypass the store's scripts (see the
    /// [type docs](Self#what-it-does-not-see)). Checked when connecting: greater than
    /// zero. Defaults to [`DEFAULT_SESSION_CACHE_MAX_AGE`] (30 s).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Publish a heartbeat every `interval`, and stop using the cache when the latest one
    /// seen back was sent more than `interval + timeout` ago. Checked when connecting:
    /// both greater than zero. Defaults to [`DEFAULT_HEARTBEAT_INTERVAL`] (250 ms) and
    /// [`DEFAULT_HEARTBEAT_TIMEOUT`] (1 s): a subscription that stalls silently is given
    /// up within 1.25 s.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// The capacity, in sessions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The maximum age of an entry.
    pub fn get_max_age(&self) -> Duration {
        self.max_age
    }

    /// The heartbeat interval and timeout.
    pub fn get_heartbeat(&self) -> (Duration, Duration) {
        (self.heartbeat_interval, self.heartbeat_timeout)
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.capacity > 0
            && !self.max_age.is_zero()
            && !self.heartbeat_interval.is_zero()
            && !self.heartbeat_timeout.is_zero()
    }
}

/// What a store's session cache has done since it was created
/// ([`RedisStore::session_cache_stats`](super::RedisStore::session_cache_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCacheStats {
    /// `get_cached` calls answered from the cache (no round trip).
    pub hits: u64,
    /// `get_cached` calls that asked Redis (not cached, invalidated, too old, or the cache
    /// was not in use).
    pub misses: u64,
    /// Invalidations applied: messages from the channel and the store's own writes.
    pub invalidations: u64,
    /// Times the cache was emptied and stopped because the subscription dropped or its
    /// heartbeat did not come back in time.
    pub resets: u64,
    /// Whether the cache is in use now (subscription confirmed, heartbeat fresh).
    pub active: bool,
}

/// The cache key: a seeded hash of the session's key (user, type, id), inline in the map
/// (no allocation, nothing to follow on a lookup). Two sessions whose hashes collide share
/// one slot: the later read evicts the other, a miss, never a wrong answer, because a hit is
/// served only when the cached session [matches](Session::matches) the key asked for.
type EntryKey = u64;

/// A cached session, held in the map itself (no allocation of its own).
#[derive(Debug, Clone)]
struct Entry {
    session: Arc<Session>,
    /// The token of the read that loaded it. A hit reads the current generation of its
    /// stripe, with no need to name the session's hash (the session matches the key, so
    /// its hash is the key's).
    read: ReadToken,
}

/// The outcome of [`SessionCacheState::lookup`].
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Served from the cache (the cached entry itself, shared).
    Hit(Arc<Session>),
    /// Ask Redis; with a token, the answer may be inserted (the cache is in use).
    Miss(Option<ReadToken>),
}

/// The id of the next [`SessionCacheState`], for the memos it makes.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// The cache, shared by a store's clones and its subscriber.
pub(crate) struct SessionCacheState {
    /// Unique in the process: a [`Memo`] names the cache that made it.
    id: u64,
    config: SessionCache,
    map: Cache<EntryKey, Entry, UnitWeighter, DefaultHashBuilder>,
    stripes: Box<[AtomicU64]>,
    stripe_hasher: DefaultHashBuilder,
    /// Makes the [`EntryKey`] of a session key.
    key_hasher: DefaultHashBuilder,
    /// Odd while the cache is in use.
    epoch: AtomicU64,
    base: Instant,
    /// Send time (ms since `base`) of the latest heartbeat of ours seen back, or of the
    /// subscription's confirmation.
    fresh_at_ms: AtomicU64,
    /// `interval + timeout`, in ms.
    silence_ms: u64,
    max_age_ms: u64,
    counters: HitCounters,
    invalidations: AtomicU64,
    resets: AtomicU64,
}

/// Whether `epoch` is one in which the cache is in use (odd).
fn in_use_epoch(epoch: u64) -> bool {
    !epoch.is_multiple_of(2)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SessionCacheState {
    /// An empty cache, not in use until [`mark_up`](Self::mark_up).
    pub(crate) fn new(config: SessionCache) -> Self {
        let stripes = config.capacity.clamp(1024, 1 << 16).next_power_of_two();
        Self {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            config,
            map: Cache::with(
                config.capacity,
                u64::try_from(config.capacity).unwrap_or(u64::MAX),
                UnitWeighter,
                DefaultHashBuilder::default(),
                Default::default(),
            ),
            stripes: (0..stripes).map(|_| AtomicU64::new(0)).collect(),
            stripe_hasher: DefaultHashBuilder::default(),
            key_hasher: DefaultHashBuilder::default(),
            epoch: AtomicU64::new(0),
            base: Instant::now(),
            fresh_at_ms: AtomicU64::new(0),
            silence_ms: millis(
                config
                    .heartbeat_interval
                    .saturating_add(config.heartbeat_timeout),
            ),
            max_age_ms: millis(config.max_age),
            counters: HitCounters::default(),
            invalidations: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &SessionCache {
        &self.config
    }

    /// Milliseconds since the cache's base instant (monotonic).
    pub(crate) fn now_ms(&self) -> u64 {
        millis(self.base.elapsed())
    }

    /// The instant `ms` after the base.
    pub(crate) fn instant_at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    fn stripe_of(&self, hash_key: &[u8]) -> usize {
        let h = self.stripe_hasher.hash_one(hash_key);
        // The stripe count is a power of two: the low bits pick one.
        usize::try_from(h & (self.stripes.len() as u64 - 1)).unwrap_or(0)
    }

    fn generation(&self, stripe: usize) -> u64 {
        self.stripes
            .get(stripe)
            .map_or(u64::MAX, |g| g.load(Ordering::SeqCst))
    }

    /// The current epoch when the cache is in use at `now_ms` (odd epoch, fresh heartbeat).
    fn in_use(&self, now_ms: u64) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let fresh =
            now_ms.saturating_sub(self.fresh_at_ms.load(Ordering::SeqCst)) <= self.silence_ms;
        (in_use_epoch(epoch) && fresh).then_some(epoch)
    }

    /// Whether the latest heartbeat is recent enough for the cache to be used.
    pub(crate) fn heartbeat_fresh(&self) -> bool {
        let now = self.now_ms();
        now.saturating_sub(self.fresh_at_ms.load(Ordering::SeqCst)) <= self.silence_ms
    }

    /// When the heartbeat goes stale if none comes back before.
    pub(crate) fn stale_at(&self) -> Instant {
        self.instant_at(
            self.fresh_at_ms
                .load(Ordering::SeqCst)
                .saturating_add(self.silence_ms)
                .saturating_add(1),
        )
    }

    fn entry_key(&self, key: &SessionKey<'_>) -> EntryKey {
        self.key_hasher
            .hash_one((key.user_id, key.session_type.as_str(), key.session_id))
    }

    /// Look `key` (a session of the hash `hash_key`) up; on a miss, the token to tag the
    /// answer of the round trip with. Must be called before the round trip is sent.
    pub(crate) fn lookup(&self, hash_key: &str, key: SessionKey<'_>, now: UnixTime) -> Lookup {
        let now_ms = self.now_ms();
        let Some(epoch) = self.in_use(now_ms) else {
            self.counters.miss();
            return Lookup::Miss(None);
        };
        if let Some((session, _)) = self.servable(&key, now, now_ms, epoch) {
            self.counters.hit();
            return Lookup::Hit(session);
        }
        self.counters.miss();
        let stripe = self.stripe_of(hash_key.as_bytes());
        Lookup::Miss(Some(ReadToken {
            epoch,
            stripe,
            generation: self.generation(stripe),
            read_at_ms: now_ms,
        }))
    }

    /// A hit of [`lookup`](Self::lookup), or `None` without counting a miss (the caller
    /// then looks up, and counts, the usual way): the synchronous first try of the access
    /// layer's check. Needs no hash name: nothing is built or allocated.
    ///
    /// `memo` is the memo of the token that names `key`: when it remembers an entry of this
    /// cache that is still servable, that entry is served without a lookup; otherwise a hit
    /// is remembered there for the token's next request.
    pub(crate) fn peek(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
        memo: &SessionMemo,
    ) -> Option<Arc<Session>> {
        let now_ms = self.now_ms();
        let epoch = self.in_use(now_ms)?;
        let session = match memo.read(|m| self.remembered(m, now, now_ms, epoch)) {
            Some(session) => session,
            None => {
                let (session, read) = self.servable(&key, now, now_ms, epoch)?;
                memo.remember(Memo {
                    cache: self.id,
                    session: Arc::downgrade(&session),
                    read,
                });
                session
            }
        };
        self.counters.hit();
        Some(session)
    }

    /// The session `memo` remembers if it is one of this cache's and would be served by a
    /// lookup of its key now (the key itself needs no comparing: see [`SessionMemo`]).
    fn remembered(
        &self,
        memo: &Memo,
        now: UnixTime,
        now_ms: u64,
        epoch: u64,
    ) -> Option<Arc<Session>> {
        if memo.cache != self.id || !self.fresh(&memo.read, now_ms, epoch) {
            return None;
        }
        let session = memo.session.upgrade()?;
        (!session.is_expired(now)).then_some(session)
    }

    /// Whether an entry loaded by `read` may be served at `now_ms` in `epoch`: read in that
    /// epoch, at its stripe's current generation, less than the maximum age ago.
    fn fresh(&self, read: &ReadToken, now_ms: u64, epoch: u64) -> bool {
        read.epoch == epoch
            && read.generation == self.generation(read.stripe)
            && now_ms.saturating_sub(read.read_at_ms) < self.max_age_ms
    }

    /// The cached session of `key`, with the read that loaded it, if it is that session,
    /// its entry is [fresh](Self::fresh) and the session is live at `now`.
    fn servable(
        &self,
        key: &SessionKey<'_>,
        now: UnixTime,
        now_ms: u64,
        epoch: u64,
    ) -> Option<(Arc<Session>, ReadToken)> {
        let entry = self.map.get(&self.entry_key(key))?;
        (self.fresh(&entry.read, now_ms, epoch)
            && entry.session.matches(key)
            && !entry.session.is_expired(now))
        .then_some((entry.session, entry.read))
    }

    /// Keep the answer of a read of `key` that looked up with `token` (only a live session
    /// is kept). An answer that an invalidation or a reset overtook is not kept; even if it
    /// were, it would never be served (its generation or epoch is past).
    pub(crate) fn insert(&self, token: ReadToken, key: SessionKey<'_>, session: &Arc<Session>) {
        if self.epoch.load(Ordering::SeqCst) != token.epoch
            || self.generation(token.stripe) != token.generation
        {
            return;
        }
        self.map.insert(
            self.entry_key(&key),
            Entry {
                session: Arc::clone(session),
                read: token,
            },
        );
    }

    /// Invalidate every cached session of the session hash `hash_key`.
    pub(crate) fn invalidate(&self, hash_key: &[u8]) {
        let stripe = self.stripe_of(hash_key);
        if let Some(g) = self.stripes.get(stripe) {
            g.fetch_add(1, Ordering::SeqCst);
        }
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Stop using the cache and empty it (the subscription dropped, lags or is not yet
    /// confirmed). Returns whether it was in use.
    pub(crate) fn mark_down(&self) -> bool {
        let mut epoch = self.epoch.load(Ordering::SeqCst);
        let was_up = loop {
            if !in_use_epoch(epoch) {
                break false;
            }
            match self
                .epoch
                .compare_exchange(epoch, epoch + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break true,
                Err(now) => epoch = now,
            }
        };
        if was_up {
            self.resets.fetch_add(1, Ordering::Relaxed);
        }
        self.map.clear();
        was_up
    }

    /// Use the cache again: `SUBSCRIBE` is confirmed. Counts as a fresh heartbeat (every
    /// write from now on is heard; the cache is empty).
    pub(crate) fn mark_up(&self) {
        self.fresh_at_ms.fetch_max(self.now_ms(), Ordering::SeqCst);
        let epoch = self.epoch.load(Ordering::SeqCst);
        if !in_use_epoch(epoch) {
            // Only the subscriber moves the epoch up, so no race with another `mark_up`.
            let _ =
                self.epoch
                    .compare_exchange(epoch, epoch + 1, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// One of our heartbeats, sent at `sent_ms`, came back.
    pub(crate) fn heartbeat_seen(&self, sent_ms: u64) {
        self.fresh_at_ms.fetch_max(sent_ms, Ordering::SeqCst);
    }

    /// Whether the subscription is confirmed (the epoch is odd), fresh or not.
    pub(crate) fn is_subscribed(&self) -> bool {
        in_use_epoch(self.epoch.load(Ordering::SeqCst))
    }

    pub(crate) fn stats(&self) -> SessionCacheStats {
        let (hits, misses) = self.counters.get();
        SessionCacheStats {
            hits,
            misses,
            invalidations: self.invalidations.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            active: self.in_use(self.now_ms()).is_some(),
        }
    }
}

impl std::fmt::Debug for SessionCacheState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::sync::LazyLock;

    use super::*;
    use crate::session::SessionType;

    const NOW: UnixTime = 1_000_000;
    static FULL: LazyLock<SessionType> = LazyLock::new(SessionType::default);

    /// The session `sid` of `user` (type `full`).
    fn session(user: &str, sid: &str) -> Arc<Session> {
        Arc::new(Session::new(
            sid.into(),
            user.into(),
            SessionType::default(),
            NOW,
            None,
            NOW + 3600,
            "rtid".into(),
        ))
    }

    fn key<'a>(user: &'a str, sid: &'a str) -> SessionKey<'a> {
        SessionKey::new(sid, user, &FULL)
    }

    /// The session hash of `user`'s `full` sessions.
    fn hash(user: &str) -> String {
        super::super::keys::sessions_key("charon:", user, &FULL)
    }

    fn up(config: SessionCache) -> SessionCacheState {
        let cache = SessionCacheState::new(config);
        cache.mark_up();
        cache
    }

    /// A read of `user`'s `sid` that missed: its token.
    fn read(cache: &SessionCacheState, user: &str, sid: &str) -> ReadToken {
        match cache.lookup(&hash(user), key(user, sid), NOW) {
            Lookup::Miss(Some(t)) => t,
            other => panic!("expected a miss with a token, got {other:?}"),
        }
    }

    /// A read of `user`'s `sid` that missed, its answer kept.
    fn keep(cache: &SessionCacheState, user: &str, sid: &str) {
        let t = read(cache, user, sid);
        cache.insert(t, key(user, sid), &session(user, sid));
    }

    /// `entry` put in the map behind `insert`'s checks (as when an invalidation lands
    /// between the check and the write).
    fn force(cache: &SessionCacheState, key: SessionKey<'_>, t: ReadToken, session: Arc<Session>) {
        cache
            .map
            .insert(cache.entry_key(&key), Entry { session, read: t });
    }

    /// Whether `lookup` serves `user`'s `sid`; `peek` must agree (it is tried first, and
    /// counts only its hits).
    fn served(cache: &SessionCacheState, user: &str, sid: &str, now: UnixTime) -> bool {
        let misses = cache.stats().misses;
        let peeked = cache
            .peek(key(user, sid), now, &SessionMemo::default())
            .is_some();
        assert_eq!(cache.stats().misses, misses, "peek counts no miss");
        let hit = matches!(
            cache.lookup(&hash(user), key(user, sid), now),
            Lookup::Hit(_)
        );
        assert_eq!(peeked, hit, "peek and lookup disagree on {user} {sid}");
        hit
    }

    fn invalidate(cache: &SessionCacheState, user: &str) {
        cache.invalidate(hash(user).as_bytes());
    }

    #[test]
    fn a_kept_answer_is_served_until_invalidated() {
        let cache = up(SessionCache::new(16));
        keep(&cache, "ann", "s1");
        assert!(served(&cache, "ann", "s1", NOW));
        assert!(!served(&cache, "ann", "s2", NOW));
        invalidate(&cache, "ann");
        assert!(!served(&cache, "ann", "s1", NOW));
        let s = cache.stats();
        // One hit served, counted by peek and by lookup.
        assert_eq!((s.hits, s.invalidations, s.active), (2, 1, true));
    }

    #[test]
    fn an_answer_read_before_an_invalidation_is_never_served_after_it() {
        // The race: the read loads its generation, the write's invalidation arrives, then
        // the (stale) answer is inserted.
        let cache = up(SessionCache::new(16));
        let t = read(&cache, "ann", "s1");
        invalidate(&cache, "ann");
        cache.insert(t, key("ann", "s1"), &session("ann", "s1"));
        assert!(!served(&cache, "ann", "s1", NOW));
        // Even inserted behind the check, the entry's generation is past: not served.
        let t = read(&cache, "ann", "s1");
        force(&cache, key("ann", "s1"), t, session("ann", "s1"));
        assert!(served(&cache, "ann", "s1", NOW));
        invalidate(&cache, "ann");
        assert!(!served(&cache, "ann", "s1", NOW));
        // A read that began after the invalidation is kept and served.
        keep(&cache, "ann", "s1");
        assert!(served(&cache, "ann", "s1", NOW));
    }

    #[test]
    fn not_in_use_until_subscribed_and_emptied_when_down() {
        let cache = SessionCacheState::new(SessionCache::new(16));
        assert!(matches!(
            cache.lookup(&hash("ann"), key("ann", "s1"), NOW),
            Lookup::Miss(None)
        ));
        assert!(!cache.stats().active);
        cache.mark_up();
        keep(&cache, "ann", "s1");
        assert!(served(&cache, "ann", "s1", NOW));
        // A read in flight when the subscription drops.
        let in_flight = read(&cache, "ann", "s2");
        assert!(cache.mark_down());
        assert!(matches!(
            cache.lookup(&hash("ann"), key("ann", "s1"), NOW),
            Lookup::Miss(None)
        ));
        cache.insert(in_flight, key("ann", "s2"), &session("ann", "s2"));
        cache.mark_up();
        // Back up: the old entries are gone and the in-flight answer was not kept.
        assert!(!served(&cache, "ann", "s1", NOW));
        assert!(!served(&cache, "ann", "s2", NOW));
        // An answer of the old epoch inserted after the return is never served either.
        force(&cache, key("ann", "s2"), in_flight, session("ann", "s2"));
        assert!(!served(&cache, "ann", "s2", NOW));
        assert_eq!(cache.stats().resets, 1);
        assert!(!cache.mark_down() || cache.stats().resets == 2);
    }

    #[test]
    fn a_stale_heartbeat_stops_the_cache() {
        let cache =
            up(SessionCache::new(16)
                .heartbeat(Duration::from_millis(50), Duration::from_millis(50)));
        keep(&cache, "ann", "s1");
        std::thread::sleep(Duration::from_millis(200));
        assert!(matches!(
            cache.lookup(&hash("ann"), key("ann", "s1"), NOW),
            Lookup::Miss(None)
        ));
        assert!(!cache.stats().active);
        cache.heartbeat_seen(cache.now_ms());
        assert!(served(&cache, "ann", "s1", NOW));
    }

    #[test]
    fn entries_age_out_and_expired_sessions_are_never_served() {
        let cache = up(SessionCache::new(16).max_age(Duration::from_millis(100)));
        keep(&cache, "ann", "s1");
        assert!(served(&cache, "ann", "s1", NOW));
        assert!(
            !served(&cache, "ann", "s1", NOW + 3601),
            "expired by the caller's now"
        );
        std::thread::sleep(Duration::from_millis(200));
        assert!(!served(&cache, "ann", "s1", NOW), "older than max_age");
    }

    #[test]
    fn invalidating_a_hash_covers_all_its_sessions_and_not_others() {
        let cache = up(SessionCache::new(4096));
        for (user, sid) in [("ann", "s1"), ("ann", "s2"), ("bob", "s3")] {
            keep(&cache, user, sid);
        }
        invalidate(&cache, "ann");
        assert!(!served(&cache, "ann", "s1", NOW));
        assert!(!served(&cache, "ann", "s2", NOW));
        // Bob's hash sits on another stripe unless the random seed put both on one.
        if cache.stripe_of(hash("bob").as_bytes()) != cache.stripe_of(hash("ann").as_bytes()) {
            assert!(served(&cache, "bob", "s3", NOW));
        }
    }

    #[test]
    fn an_entry_is_served_only_for_the_session_it_holds() {
        // What a collision of two keys' hashes would leave in a slot: another session.
        let cache = up(SessionCache::new(16));
        for (user, sid) in [("ann", "s2"), ("bob", "s1")] {
            let t = read(&cache, "ann", "s1");
            force(&cache, key("ann", "s1"), t, session(user, sid));
            assert!(!served(&cache, "ann", "s1", NOW), "{user}'s {sid} served");
        }
        // Another type of the same user and id.
        let t = read(&cache, "ann", "s1");
        let mut other = Session::clone(&session("ann", "s1"));
        other.session_type = SessionType::new("oauth").unwrap();
        force(&cache, key("ann", "s1"), t, Arc::new(other));
        assert!(!served(&cache, "ann", "s1", NOW));
        // The session itself is.
        let t = read(&cache, "ann", "s1");
        force(&cache, key("ann", "s1"), t, session("ann", "s1"));
        assert!(served(&cache, "ann", "s1", NOW));
    }

    /// Whether `peek` serves `user`'s `sid` through `memo`.
    fn served_with(
        cache: &SessionCacheState,
        user: &str,
        sid: &str,
        now: UnixTime,
        memo: &SessionMemo,
    ) -> bool {
        cache.peek(key(user, sid), now, memo).is_some()
    }

    /// Take `user`'s `sid` out of the map (as an eviction does), so that only a memo can
    /// serve it; the returned session keeps it allocated.
    fn evict(cache: &SessionCacheState, user: &str, sid: &str) -> Arc<Session> {
        let entry = cache.map.get(&cache.entry_key(&key(user, sid))).unwrap();
        cache.map.remove(&cache.entry_key(&key(user, sid)));
        entry.session
    }

    #[test]
    fn a_hit_is_remembered_and_served_from_the_memo_until_invalidated() {
        let cache = up(SessionCache::new(16));
        keep(&cache, "ann", "s1");
        let memo = SessionMemo::default();
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        let _held = evict(&cache, "ann", "s1");
        assert!(
            !served(&cache, "ann", "s1", NOW),
            "the map no longer has it"
        );
        assert!(
            served_with(&cache, "ann", "s1", NOW, &memo),
            "the memo serves it without a lookup"
        );
        let hits = cache.stats().hits;
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        assert_eq!(cache.stats().hits, hits + 1, "a memo hit is counted");
        invalidate(&cache, "ann");
        assert!(!served_with(&cache, "ann", "s1", NOW, &memo));
        // Read again after the invalidation: the new hit replaces the memo.
        keep(&cache, "ann", "s1");
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        let _held = evict(&cache, "ann", "s1");
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
    }

    #[test]
    fn a_memo_is_not_served_across_a_reset_an_expiry_an_age_or_another_cache() {
        let cache = up(SessionCache::new(16).max_age(Duration::from_millis(100)));
        keep(&cache, "ann", "s1");
        let memo = SessionMemo::default();
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        let held = evict(&cache, "ann", "s1");
        // The session's own expiry, by the caller's time.
        assert!(!served_with(&cache, "ann", "s1", NOW + 3601, &memo));
        // Another cache: its ids differ, and it holds nothing.
        let other = up(SessionCache::new(16));
        assert!(!served_with(&other, "ann", "s1", NOW, &memo));
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        // A reset (the subscription dropped and came back): another epoch.
        assert!(cache.mark_down());
        assert!(!served_with(&cache, "ann", "s1", NOW, &memo));
        cache.mark_up();
        assert!(!served_with(&cache, "ann", "s1", NOW, &memo));
        // The maximum age.
        keep(&cache, "ann", "s1");
        assert!(served_with(&cache, "ann", "s1", NOW, &memo));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !served_with(&cache, "ann", "s1", NOW, &memo),
            "older than max_age"
        );
        drop(held);
    }

    #[test]
    fn a_memo_keeps_no_evicted_session_alive() {
        let cache = up(SessionCache::new(16));
        keep(&cache, "ann", "s1");
        let memo = SessionMemo::default();
        let served = cache.peek(key("ann", "s1"), NOW, &memo).unwrap();
        drop(served);
        drop(evict(&cache, "ann", "s1"));
        assert!(!served_with(&cache, "ann", "s1", NOW, &memo));
        assert!(memo.read(|m| m.session.upgrade()).is_none());
    }

    #[test]
    fn settings_are_validated() {
        assert!(SessionCache::default().is_valid());
        assert!(!SessionCache::new(0).is_valid());
        assert!(!SessionCache::new(1).max_age(Duration::ZERO).is_valid());
        assert!(
            !SessionCache::new(1)
                .heartbeat(Duration::ZERO, Duration::from_secs(1))
                .is_valid()
        );
        assert!(
            !SessionCache::new(1)
                .heartbeat(Duration::from_secs(1), Duration::ZERO)
                .is_valid()
        );
    }
}
