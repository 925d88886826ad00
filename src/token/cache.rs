//! A bounded cache of verified tokens (as Envoy's `jwt_authn` keeps one).
//!
//! Verifying a token is a pure function of its bytes and the (immutable) keyset, so the
//! claims of a token that verified once can be reused: a hit skips the signature check and
//! the claims parsing. What depends on the request is NOT cached: `exp`/`nbf`/`iat`
//! against the request's `now`, `iss`, `type`, the layer's claim checks and the session
//! load all run on every request.
//!
//! See [`VerifiedTokenCache`] for the eviction policy, keys, weight and expiry.

use std::fmt;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Weighter};

use super::Claims;
use crate::clock::{Clock as _, SystemClock, UnixTime};
use crate::error::AuthError;
use crate::hit_counters::HitCounters;

/// Default number of cached tokens: 32 768.
///
/// Chosen so that a working set of 20 000 active tokens (the load harness's realistic mix)
/// stays cached with room to spare. A cached token of about 350 bytes (a Charon access
/// token) costs about 0.8 KiB with its claims and the table, so a full cache of the
/// default size takes about 25 MiB (measured as resident memory growth by
/// `cargo bench --bench cache`, which prints it first); 4 096 tokens take about 3 MiB.
pub const DEFAULT_TOKEN_CACHE_CAPACITY: usize = 32_768;

/// Token length, in bytes, that counts as one entry towards the capacity; a token of
/// `n` bytes counts as `ceil(n / TOKEN_WEIGHT_UNIT)` entries.
pub const TOKEN_WEIGHT_UNIT: usize = 512;

/// Hits and misses of a [`VerifiedTokenCache`] since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheStats {
    /// Calls answered from the cache (no signature check, no claims parsing).
    pub hits: u64,
    /// Calls that ran the verification (the token was not cached, had expired, or the
    /// cache is disabled), whatever its outcome.
    pub misses: u64,
}

/// Weighs an entry by its token's length, in started [`TOKEN_WEIGHT_UNIT`]s.
#[derive(Debug, Clone, Copy)]
struct TokenWeighter;

impl Weighter<Box<str>, Arc<Claims>> for TokenWeighter {
    fn weight(&self, token: &Box<str>, _claims: &Arc<Claims>) -> u64 {
        weight(token)
    }
}

fn weight(token: &str) -> u64 {
    u64::try_from(token.len().div_ceil(TOKEN_WEIGHT_UNIT).max(1)).unwrap_or(u64::MAX)
}

/// Verified tokens and their claims, bounded. Shared by clones of the handle.
///
/// # Policy
///
/// The cache is a [`quick_cache`](https://docs.rs/quick_cache) sync cache: sharded, read-locked on hits, with an
/// S3-FIFO-like eviction policy (Clock-PRO). A token seen once enters a small probation
/// queue and leaves it first; a token seen again is promoted. So a scan of many distinct
/// tokens (a crawler, a burst of new users, an attacker replaying valid tokens) evicts
/// other scan tokens, not the hot working set, where a least-recently-used list or the
/// emptied-when-full map this replaces would lose everything.
///
/// # Keys, weight and expiry
///
/// The key is the whole token, compared byte for byte after a lookup with a randomly
/// seeded `foldhash`, so only a byte-identical token hits. Only tokens that verified are
/// stored, so an attacker cannot fill the cache without valid tokens. (Keying by a SHA-256
/// of the token instead would keep no token in memory and save about 290 bytes an entry,
/// but costs a hash of the whole token on every request, hits included: 0.3–0.6 µs
/// measured on a shared 2-core machine, two to four times a whole hit; see
/// `benches/cache.rs`. Tried in the load server too, where a profile charges the byte
/// comparison 0.47 µs a request for its cold reads of the stored key: with 20 000 tokens
/// the digest key still cost more, 7.8–8.0 µs of server CPU a request against 7.2–7.6 µs.)
///
/// Capacity counts tokens of up to [`TOKEN_WEIGHT_UNIT`] bytes; a longer token counts as
/// one per started unit, so memory stays bounded by the capacity whatever the tokens
/// carry. An entry never outlives its token: a token whose `exp` has passed is never
/// stored and, when found, is removed and verified again (and then rejected by the
/// per-request time check).
///
/// # Counters
///
/// [`stats`](VerifiedTokenCache::stats) gives the hits and misses so far (a miss is a call
/// that ran `verify`, whether or not it succeeded). With the `metrics` feature each is
/// also a counter, `charon_token_cache_hits_total` and `charon_token_cache_misses_total`,
/// without labels (see [`telemetry`](crate::telemetry)).
pub struct VerifiedTokenCache {
    capacity: usize,
    /// `None` when disabled (capacity 0).
    cache: Option<Cache<Box<str>, Arc<Claims>, TokenWeighter, DefaultHashBuilder>>,
    counters: HitCounters,
}

impl VerifiedTokenCache {
    /// A cache of at most `capacity` tokens (of up to [`TOKEN_WEIGHT_UNIT`] bytes each;
    /// see [the type docs](Self)); 0 disables caching.
    pub fn new(capacity: usize) -> Self {
        let cache = (capacity > 0).then(|| {
            Cache::with(
                capacity,
                u64::try_from(capacity).unwrap_or(u64::MAX),
                TokenWeighter,
                DefaultHashBuilder::default(),
                Default::default(),
            )
        });
        Self {
            capacity,
            cache,
            counters: HitCounters::default(),
        }
    }

    /// The claims of `token`: from the cache, or from `verify` (cached when it succeeds).
    /// Expiry is judged against the system clock; see
    /// [`get_or_verify_at`](Self::get_or_verify_at).
    ///
    /// # Errors
    ///
    /// Whatever `verify` returns; failures are never cached.
    pub fn get_or_verify(
        &self,
        token: &str,
        verify: impl FnOnce() -> Result<Claims, AuthError>,
    ) -> Result<Arc<Claims>, AuthError> {
        self.get_or_verify_at(token, SystemClock.now(), verify)
    }

    /// The claims of `token` at time `now` (the application's clock): from the cache,
    /// or from `verify`, cached when it succeeds and the token has not expired at `now`.
    /// A cached token whose `exp` is not after `now` is removed and verified again.
    ///
    /// # Errors
    ///
    /// Whatever `verify` returns; failures are never cached.
    pub fn get_or_verify_at(
        &self,
        token: &str,
        now: UnixTime,
        verify: impl FnOnce() -> Result<Claims, AuthError>,
    ) -> Result<Arc<Claims>, AuthError> {
        let Some(cache) = &self.cache else {
            self.count_miss();
            return verify().map(Arc::new);
        };
        if let Some(claims) = cache.get(token) {
            if claims.exp > now {
                self.count_hit();
                return Ok(claims);
            }
            cache.remove_if(token, |claims| claims.exp <= now);
        }
        self.count_miss();
        let claims = Arc::new(verify()?);
        if claims.exp > now {
            cache.insert(token.into(), Arc::clone(&claims));
        }
        Ok(claims)
    }

    /// Forgets every cached token (for instance when the verification keys change).
    /// The counters are kept.
    pub fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Hits and misses since the cache was created.
    pub fn stats(&self) -> TokenCacheStats {
        let (hits, misses) = self.counters.get();
        TokenCacheStats { hits, misses }
    }

    /// Number of cached tokens.
    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most tokens kept (0: disabled).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn count_hit(&self) {
        self.counters.hit();
        #[cfg(feature = "metrics")]
        metrics::counter!(HITS_COUNTER).increment(1);
    }

    fn count_miss(&self) {
        self.counters.miss();
        #[cfg(feature = "metrics")]
        metrics::counter!(MISSES_COUNTER).increment(1);
    }
}

/// The `metrics` counter of cache hits.
#[cfg(feature = "metrics")]
pub(crate) const HITS_COUNTER: &str = "charon_token_cache_hits_total";
/// The `metrics` counter of cache misses.
#[cfg(feature = "metrics")]
pub(crate) const MISSES_COUNTER: &str = "charon_token_cache_misses_total";

impl fmt::Debug for VerifiedTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens themselves.
        f.debug_struct("VerifiedTokenCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenType;
    use std::cell::Cell;

    const NOW: UnixTime = 1_000_000;

    fn claims(sub: &str) -> Claims {
        Claims::new(TokenType::Access, "iss", sub, "sid", "full", "jti")
            .with_validity(NOW, NOW + 900)
    }

    fn invalid() -> Result<Claims, AuthError> {
        Err(AuthError::new(crate::AuthErrorKind::SignatureInvalid))
    }

    /// Looks `token` up at `NOW`; whether `verify` ran.
    fn verified(cache: &VerifiedTokenCache, token: &str) -> bool {
        let ran = Cell::new(false);
        cache
            .get_or_verify_at(token, NOW, || {
                ran.set(true);
                Ok(claims(token))
            })
            .unwrap();
        ran.get()
    }

    #[test]
    fn hits_skip_verification_and_failures_are_not_cached() {
        let cache = VerifiedTokenCache::new(8);
        let calls = Cell::new(0);
        let verify = || {
            calls.set(calls.get() + 1);
            Ok(claims("u"))
        };
        assert_eq!(
            cache.get_or_verify_at("a.b.c", NOW, verify).unwrap().sub,
            "u".into()
        );
        assert_eq!(
            cache.get_or_verify_at("a.b.c", NOW, verify).unwrap().sub,
            "u".into()
        );
        assert_eq!(calls.get(), 1);
        // A different token (one byte changed) is verified on its own.
        assert!(cache.get_or_verify_at("a.b.d", NOW, invalid).is_err());
        let ran = Cell::new(false);
        let again = cache.get_or_verify_at("a.b.d", NOW, || {
            ran.set(true);
            invalid()
        });
        assert!(again.is_err() && ran.get(), "failures are not cached");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_and_can_be_disabled() {
        let cache = VerifiedTokenCache::new(100);
        for i in 0..1000 {
            assert!(verified(&cache, &format!("t{i}")));
            assert!(cache.len() <= 100, "{} entries", cache.len());
        }
        assert!(cache.len() > 50, "a full cache keeps most of its capacity");
        let off = VerifiedTokenCache::new(0);
        assert!(verified(&off, "t"));
        assert!(verified(&off, "t"), "disabled: every call verifies");
        assert!(off.is_empty());
        assert_eq!(off.capacity(), 0);
        assert_eq!(off.stats().misses, 2);
        assert!(!format!("{cache:?}").contains("t1"));
    }

    #[test]
    fn long_tokens_weigh_more() {
        let cache = VerifiedTokenCache::new(100);
        let long = "x".repeat(TOKEN_WEIGHT_UNIT * 10);
        for i in 0..100 {
            verified(&cache, &format!("{long}{i}"));
        }
        // Each token weighs 11 units: at most 100 / 11 fit.
        assert!(cache.len() <= 9, "{} long tokens cached", cache.len());
        assert!(!cache.is_empty());
    }

    #[test]
    fn a_hot_set_survives_a_scan_of_cold_tokens() {
        // What the emptied-when-full map failed at: one pass of new tokens, more than the
        // capacity, used to drop the whole working set.
        let cache = VerifiedTokenCache::new(1000);
        let hot: Vec<String> = (0..200).map(|i| format!("hot{i}")).collect();
        for _ in 0..3 {
            for token in &hot {
                verified(&cache, token);
            }
        }
        for i in 0..5000 {
            assert!(verified(&cache, &format!("cold{i}")), "cold tokens are new");
            if i % 10 == 0 {
                // The hot set is still being used during the scan.
                verified(&cache, &hot[(i / 10) % hot.len()]);
            }
        }
        let lost = hot.iter().filter(|t| verified(&cache, t)).count();
        assert!(
            lost <= hot.len() / 20,
            "{lost} of {} hot tokens lost",
            hot.len()
        );
    }

    #[test]
    fn clear_forgets_everything() {
        let cache = VerifiedTokenCache::new(10);
        assert!(verified(&cache, "a"));
        assert!(!verified(&cache, "a"));
        cache.clear();
        assert!(cache.is_empty());
        assert!(verified(&cache, "a"), "verified again after clear");
        let off = VerifiedTokenCache::new(0);
        off.clear();
        assert!(off.is_empty());
    }

    #[test]
    fn stats_count_hits_and_misses() {
        let cache = VerifiedTokenCache::new(10);
        assert_eq!(cache.stats(), TokenCacheStats::default());
        verified(&cache, "a");
        verified(&cache, "a");
        verified(&cache, "a");
        verified(&cache, "b");
        assert!(cache.get_or_verify_at("c", NOW, invalid).is_err());
        assert_eq!(cache.stats(), TokenCacheStats { hits: 2, misses: 3 });
        cache.clear();
        assert_eq!(cache.stats().hits, 2, "clear keeps the counters");
    }

    #[test]
    fn expired_entries_are_not_hits() {
        let cache = VerifiedTokenCache::new(10);
        let calls = Cell::new(0);
        let verify = || {
            calls.set(calls.get() + 1);
            Ok(claims("u"))
        };
        let exp = NOW + 900;
        cache.get_or_verify_at("t", NOW, verify).unwrap();
        cache.get_or_verify_at("t", exp - 1, verify).unwrap();
        assert_eq!(calls.get(), 1, "a hit until exp");
        let at_exp = cache.get_or_verify_at("t", exp, verify).unwrap();
        assert_eq!(at_exp.exp, exp, "verify's answer is returned");
        assert_eq!(calls.get(), 2, "at exp the token is verified again");
        assert!(cache.is_empty(), "and forgotten, not stored again");
        cache.get_or_verify_at("t", exp + 1, verify).unwrap();
        assert_eq!(calls.get(), 3);
        assert!(cache.is_empty(), "an expired token is never stored");
        assert_eq!(cache.stats(), TokenCacheStats { hits: 1, misses: 3 });
    }

    #[test]
    fn system_clock_variant_caches_live_tokens() {
        let cache = VerifiedTokenCache::new(10);
        let now = SystemClock.now();
        let live = || {
            Ok(
                Claims::new(TokenType::Access, "iss", "u", "sid", "full", "jti")
                    .with_validity(now, now + 900),
            )
        };
        cache.get_or_verify("t", live).unwrap();
        cache.get_or_verify("t", live).unwrap();
        assert_eq!(cache.stats(), TokenCacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn shared_between_threads() {
        let cache = VerifiedTokenCache::new(1000);
        std::thread::scope(|s| {
            for t in 0..2 {
                let cache = &cache;
                s.spawn(move || {
                    for i in 0..500 {
                        verified(cache, &format!("t{}", (i + t * 250) % 500));
                    }
                });
            }
        });
        let stats = cache.stats();
        assert_eq!(stats.hits + stats.misses, 1000);
        assert!(stats.misses >= 500, "each token verified at least once");
        assert_eq!(cache.len(), 500);
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn hits_and_misses_are_metrics_counters() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};

        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let cache = VerifiedTokenCache::new(10);
            verified(&cache, "a");
            verified(&cache, "a");
            verified(&cache, "a");
            assert!(cache.get_or_verify_at("b", NOW, invalid).is_err());
            verified(&VerifiedTokenCache::new(0), "a");
        });
        let mut counters: Vec<(String, usize, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let DebugValue::Counter(count) = value else {
                    unreachable!("only counters are recorded")
                };
                let labels = key.key().labels().count();
                (key.key().name().to_owned(), labels, count)
            })
            .collect();
        counters.sort();
        assert_eq!(
            counters,
            [
                (HITS_COUNTER.to_owned(), 0, 2),
                (MISSES_COUNTER.to_owned(), 0, 3)
            ]
        );
    }
}
