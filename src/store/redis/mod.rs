//! Redis session store, standalone or Cluster (feature `redis`).
//!
//! [`RedisStore`] keeps the [`SessionStore`] contract on Redis >= 6.2 (and Valkey), with one
//! round trip per operation (three for a write that must first raise the user's type index,
//! see [Every type of a user](#every-type-of-a-user)):
//!
//! | operation | Redis |
//! |---|---|
//! | `get` | `HGET hash sid` |
//! | `get_cached` | with a [session cache](RedisStoreBuilder::session_cache): nothing on a hit, else `HGET hash sid`; without one, `get` |
//! | `peek_cached` | nothing: a hit of the session cache (checked through the token's memo of the entry that served it last, else looked up), or `None` |
//! | `get_all` | `HGETALL hash` |
//! | `create`, `update` | one Lua script: lock check, index horizon check, evict over the cap (create), write, prune expired, set key expiry, `PUBLISH` the invalidation |
//! | `delete` | one Lua script: `HDEL sid l.sid`, `ZREM`, recompute key expiry, `PUBLISH` |
//! | `delete_all` | one Lua script: `DEL hash zset` (both keys share one slot), `PUBLISH` |
//! | `session_types` | `ZRANGEBYSCORE index now +inf` (the user's type index) |
//!
//! # Key layout
//!
//! Per (user, type) one hash `<prefix>{<enc_user>:<type>}:s` holding `sid -> signed blob`
//! and `l.sid -> lock version`, and one sorted set `<prefix>{<enc_user>:<type>}:e` holding
//! `sid -> refresh_expires_at`. `enc_user` is the percent-encoded user id (every byte outside
//! `[A-Za-z0-9_.~-]` becomes `%XX`): injective, and it never contains `{`, `}` or `:`, so
//! the hash tag cannot escape and two users never share keys. The prefix defaults to
//! `charon:`.
//!
//! # Every type of a user
//!
//! Each (user, type) has a hash tag, and so a Cluster slot, of its own; no script can see
//! every type of one user, and the store never scans keys (no `SCAN`, no `KEYS`). So that
//! [`session_types`](SessionStore::session_types) (and with it
//! [`Charon::revoke_all_sessions_of_user`](crate::Charon::revoke_all_sessions_of_user))
//! finds every type, each user has a **type index** in a slot of its own,
//! `<prefix>{<enc_user>}:t` ([`RedisStore::type_index_key`]): a sorted set
//! `type -> a time up to which it may have live sessions`. Its invariant: while a session
//! is live, its type's score is at least the session's `refresh_expires_at`.
//!
//! The write script keeps it without a second round trip on most writes: each (user,
//! type) also holds its **index horizon** (`<prefix>{<enc_user>:<type>}:i`, the score the
//! index is known to have reached), and a create or update whose `refresh_expires_at`
//! lies past it writes nothing and answers "needs index". The store then raises the
//! index entry (`ZADD GT`, one script on the user's slot) to `2 · refresh_expires_at −
//! now`, and runs the write again, which stores the new horizon with it: three round
//! trips instead of one, on the first write of a (user, type) and then about once per
//! refresh TTL (a refresh that keeps the same TTL stays within the horizon until the TTL
//! has passed once more). The index is raised before the session is written, so a failed
//! raise writes nothing, and a login never ends up unlisted.
//!
//! Index entries are never removed by deletes (a delete in one slot cannot check, in the
//! same atomic step, that no login of that type is under way in the other); an entry goes
//! once its score has passed, when every session of its type has ended, and the key
//! expires with its highest score. So `session_types` may list a type whose sessions were
//! all deleted, never miss one with a live session.
//!
//! **Data written before the index existed** has no horizon: its first write after the
//! upgrade (a refresh) needs the index and so indexes it. Until then its type is listed
//! only if another session of it was written since; `revoke_all_sessions_of_user` always
//! adds the default type, and [`delete_all`](SessionStore::delete_all) per type covers
//! the rest. After one refresh TTL every live session has been refreshed (or has ended),
//! so every one is indexed.
//!
//! # Expiry without a cleanup job
//!
//! Every write prunes expired members and sets the expiry of both keys to the newest
//! `refresh_expires_at` left, and `delete` recomputes it; no key is ever left without a
//! TTL. A session is live while `refresh_expires_at >= now`, and reads check that
//! themselves, against the caller's `now`.
//!
//! Key expiry is relative: `EXPIRE key (newest refresh_expires_at − now + 1)`, with the
//! application's `now` passed to the script (`delete` takes a `now` for this). What clock
//! skew does, exactly:
//! - **Redis's clock against the application's: nothing.** Redis counts the TTL from the
//!   write on its own clock, so a Redis clock hours ahead of or behind the application's
//!   neither ends sessions early nor keeps keys longer (`tests/redis_store.rs`,
//!   `key_expiry_ignores_redis_clock_skew`). With the absolute `EXPIREAT` times from the
//!   application's clock that this store once set, a Redis clock ahead by `d` ended
//!   sessions `d` early, and deleted keys on write once `d` exceeded the refresh TTL. The
//!   `+ 1` covers the part of the second `now` already spent: a key goes between 0 and
//!   about 1 s (plus the round trip) after its newest session's last live second, never
//!   before.
//! - **Application instances against each other: at most their offset.** A key lives
//!   `newest − now + 1` seconds from the write of the instance that wrote it last. Another
//!   instance whose clock is behind that one's by `d` still sees the session live for up to
//!   `d` seconds after the key is gone (it then reads as missing, not as live: the session
//!   ends up to `d` early for that instance). Reads never return a session after its end by
//!   the reader's own clock, whatever the keys hold.
//! - **A jump of Redis's clock after a write** (or a failover to a replica whose clock
//!   differs) moves that key's expiry by the jump, until the key's next write: Redis keeps
//!   expiries as absolute times on its own clock once set.
//!
//! # Session cap
//!
//! `create` with `max_sessions` evicts inside the same script, before the write: when the
//! other live members (zset score `>= now`) number `max_sessions` or more, the
//! lowest-scored ones go (`ZRANGEBYSCORE` order: lowest `refresh_expires_at` first, ties
//! in member byte order), and the script returns their ids. A Cluster runs it on the
//! user's slot like every other write, so concurrent creates can never leave more than the
//! cap.
//!
//! # Session cache
//!
//! Every write script publishes the name of the session hash it wrote on
//! `<prefix>invalidations`, in the same atomic step. A store built with
//! [`session_cache`](RedisStoreBuilder::session_cache) subscribes to that channel and keeps
//! a bounded local cache of the sessions it read, which `get_cached` serves; a message
//! invalidates the cached sessions of that user and type on every instance. It fails
//! safe: while the subscription is not confirmed, has dropped, or its heartbeat has not
//! come back in time, the cache is empty and every read is a round trip. See
//! [`SessionCache`] for the protocol, the read/invalidation race and the limits.
//!
//! # Blobs
//!
//! Values are versioned, serialized and HMAC-signed: `c1.` ‖ HMAC-SHA256(signing key,
//! payload) (32 raw bytes) ‖ payload, the payload being the session as JSON with its schema
//! version `"v"`; the signing key is derived from the base secret with the salt
//! [`SIGNING_KEY_SALT`] (as Charon does). A value that does not verify, has an unknown
//! layout or version, or belongs to another session, user or type, reads as not found.
//!
//! # Failures
//!
//! Every Redis failure is a [`StoreError`] with the [`redis::RedisError`] (or, when the whole
//! operation overran its deadline, the [`tokio::time::error::Elapsed`]) as `source()`:
//! timeouts are [`StoreErrorKind::Timeout`], an `OOM` reply is
//! [`StoreErrorKind::OutOfMemory`], anything else [`StoreErrorKind::Backend`]. Two kinds
//! come from this store's own policies:
//!
//! - [`StoreErrorKind::Unavailable`]: Redis is known down and the call failed at once
//!   ([`FailFast`]); [`StoreError::retry_after`] gives the probe interval.
//! - [`StoreErrorKind::NotDurable`]: a delete was applied but not confirmed durable
//!   ([`DurableDeletes`]); [`StoreError::retry_after`] is 1 s.
//!
//! # Signals
//!
//! With the `tracing` feature the store emits, under the target `charon::store`, one
//! `WARN` event when it finds Redis down (fields `reason`, `cause`, `suppressed_outages`)
//! and one when a probe reaches it again (`down_ms`, `failed_fast`): at most one warning
//! per [`WARNING_INTERVAL`] (10 s); outages in between are counted in the next one. A
//! Sentinel failover followed adds one `WARN` naming the new master.
//!
//! With the `metrics` feature every failed call increments the counter
//! `charon_store_errors_total` with the label `kind` ([`StoreErrorKind::as_str`]:
//! `timeout`, `backend`, `out_of_memory`, `encoding`, `unavailable`, `not_durable`);
//! lock outcomes (`conflict`, `not_found`) are answers, not failures, and are not counted.
//!
//! The Redis client logs through the `log` crate under targets starting with `redis::`
//! (a Cluster failover logs a warning per failed node request, hundreds a second under
//! load: `redis::cluster_handling::async_connection`). With `tracing-subscriber` (whose
//! default `tracing-log` feature forwards `log` records) quiet it with a directive such as
//! `RUST_LOG=warn,redis=error`; the store's own two warnings keep the operator informed.
//!
//! # Connecting
//!
//! - [`connect`](RedisStoreBuilder::connect): one server, `redis://` or `rediss://` (TLS).
//! - [`connect_cluster`](RedisStoreBuilder::connect_cluster): Cluster seed nodes.
//! - [`connect_sentinel`](RedisStoreBuilder::connect_sentinel): sentinel addresses and a
//!   master name; the store follows failovers without a restart.
//!
//! TLS is rustls (no OpenSSL): the system's roots by default, or a private CA
//! ([`tls_ca_pem`](RedisStoreBuilder::tls_ca_pem), [`tls_ca_file`](RedisStoreBuilder::tls_ca_file)),
//! and a client certificate for servers that require one
//! ([`tls_client_cert_pem`](RedisStoreBuilder::tls_client_cert_pem),
//! [`tls_client_cert_files`](RedisStoreBuilder::tls_client_cert_files)). The server name
//! (host name or IP address of the URL) is always verified.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use charon_auth::store::redis::{DurableDeletes, RedisStore};
//!
//! let store = RedisStore::builder(b"a base secret of at least 32 bytes!!")
//!     .prefix("myapp:")
//!     .tls_ca_file("/etc/charon/redis-ca.pem")
//!     .durable_deletes(DurableDeletes::replicas(1))
//!     .connect_sentinel(["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"], "mymaster")
//!     .await?;
//! # let _ = store;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, RedisError, TlsMode, Value};

use super::{Created, SessionStore, StoreFuture};
use crate::clock::UnixTime;
use crate::error::{ConfigError, ConfigErrorKind, StoreError, StoreErrorKind};
use crate::session::{Session, SessionKey, SessionMemo, SessionType};

pub(crate) mod codec;
mod connection;
mod durable;
mod health;
mod invalidation;
mod keys;
mod scripts;
mod sentinel;
mod session_cache;
mod tls;
mod verified_blobs;

pub use codec::{SIGNING_KEY_SALT, SigningKey};
pub use durable::{DEFAULT_DURABLE_TIMEOUT, DurableDeletes};
pub use health::{DEFAULT_FAILURES, DEFAULT_PROBE_INTERVAL, FailFast, WARNING_INTERVAL};
pub use keys::UserKeys;
pub use session_cache::{
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_SESSION_CACHE_CAPACITY,
    DEFAULT_SESSION_CACHE_MAX_AGE, SessionCache, SessionCacheStats,
};
pub use verified_blobs::DEFAULT_VERIFIED_BLOBS;

use health::{Failure, Health};
use invalidation::{Source, Subscriber};
use sentinel::SentinelConnection;
use session_cache::{Lookup, SessionCacheState};
use tls::{Pem, TlsSettings};
use verified_blobs::VerifiedBlobs;

use codec::{decode_blob, encode_blob};
use connection::Connection;
use keys::{DEFAULT_PREFIX, LOCK_FIELD_PREFIX, type_index_key, validate_prefix};
use scripts::{SCRIPTS, UPSERT_CONFLICT, UPSERT_NEEDS_INDEX, UPSERT_NOT_FOUND, UPSERT_OK};

pub use crate::token::MIN_BASE_SECRET_LEN;

/// Latest accepted `refresh_expires_at` (9999-12-31T23:59:59Z). Later values are refused
/// with [`StoreErrorKind::Encoding`]: Redis scores are doubles and key expiries integers.
pub const MAX_EXPIRY: UnixTime = 253_402_300_799;

/// Default connect timeout (TCP and, for `rediss://`, the TLS handshake). See
/// [`RedisStoreBuilder::connect_timeout`] for how it was chosen.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Default response timeout. See [`RedisStoreBuilder::response_timeout`] for how it was
/// chosen.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// The least time [`RedisStoreBuilder`]'s `connect*` methods allow for the initial
/// connection, script loading and checks (more when connect + response timeout is more):
/// start-up is not on a request's path, and a loaded host may need several attempts.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The `retry_after` hint of [`StoreErrorKind::NotDurable`].
pub const NOT_DURABLE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The write a caller asked for.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Create, keeping at most this many live sessions of the (user, type).
    Create(Option<NonZeroU32>),
    /// Update at the version read.
    Update,
}

/// A [`SessionStore`] in Redis (standalone or Cluster). Cheap to clone: clones share the
/// connection.
///
/// Build one with [`RedisStore::builder`]. See the [module docs](self) for the layout.
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
    /// The connection of durable deletes (their `WAIT` blocks it), when they are on.
    durable_conn: Option<Connection>,
    inner: Arc<Inner>,
}

struct Inner {
    signing_key: SigningKey,
    /// Decodes what reads answer (with the signing key), skipping blobs decoded before.
    blobs: VerifiedBlobs,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    deadline: Duration,
    durable: DurableDeletes,
    /// `deadline` plus the durability timeout.
    durable_deadline: Duration,
    fail_fast: Option<FailFast>,
    health: Arc<Health>,
    /// The invalidation channel the write scripts publish on (always, cache or not).
    channel: String,
    /// The session cache's settings, when one was asked for.
    cache_config: Option<SessionCache>,
    /// The session cache and its subscriber, once connected.
    cache: Option<(Arc<SessionCacheState>, Subscriber)>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("conn", &self.conn)
            .field("prefix", &self.inner.prefix)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("response_timeout", &self.inner.response_timeout)
            .field("durable_deletes", &self.inner.durable)
            .field("available", &self.inner.health.is_available())
            .field("session_cache", &self.inner.cache.as_ref().map(|(c, _)| c))
            .field("signing_key", &"REDACTED")
            .finish()
    }
}

enum Secret {
    Base(Vec<u8>),
    Key(SigningKey),
}

/// Builds a [`RedisStore`]: settings, then [`connect`](Self::connect) or
/// [`connect_cluster`](Self::connect_cluster). `Debug` never prints the secret.
#[must_use = "a builder does nothing until connected"]
pub struct RedisStoreBuilder {
    secret: Secret,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    tls: TlsSettings,
    durable: DurableDeletes,
    fail_fast: Option<FailFast>,
    session_cache: Option<SessionCache>,
    verified_blobs: usize,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("secret", &"REDACTED")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("tls", &self.tls)
            .field("durable_deletes", &self.durable)
            .field("fail_fast", &self.fail_fast)
            .field("session_cache", &self.session_cache)
            .field("verified_blobs", &self.verified_blobs)
            .finish()
    }
}

impl RedisStore {
    /// A builder whose blob signing key is derived from `base_secret` (at least
    /// [`MIN_BASE_SECRET_LEN`] bytes) with PBKDF2 when connecting, as Charon does.
    pub fn builder(base_secret: impl AsRef<[u8]>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Secret::Base(base_secret.as_ref().to_vec()))
    }

    /// A builder that signs blobs with `signing_key` as is (no derivation at connect time;
    /// useful to share one derived key between stores, or to rotate keys).
    pub fn builder_with_key(signing_key: SigningKey) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Secret::Key(signing_key))
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The Redis keys holding the sessions of `(user_id, session_type)`.
    pub fn keys(&self, user_id: &str, session_type: &SessionType) -> UserKeys {
        UserKeys::new(&self.inner.prefix, user_id, session_type)
    }

    /// The Redis key of `user_id`'s type index, `<prefix>{<enc_user>}:t`: a sorted set
    /// `session type -> a time up to which it may have live sessions` (see
    /// [Every type of a user](self#every-type-of-a-user)).
    pub fn type_index_key(&self, user_id: &str) -> String {
        type_index_key(&self.inner.prefix, user_id)
    }

    /// Whether calls go to Redis: `false` while the store is known down and fails fast
    /// (see [`FailFast`]). A readiness check can report it; [`ping`](Self::ping) asks Redis.
    pub fn is_available(&self) -> bool {
        self.inner.health.is_available()
    }

    /// Send `PING` under the operation deadline: `Ok` when Redis answers (see also
    /// [`SessionStore::ping`], which takes the health check's deadline). Fails at once with
    /// [`StoreErrorKind::Unavailable`] while the store is known down, and feeds fail-fast
    /// like any call. For readiness checks.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] as for any store call.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.ping_within(self.inner.deadline).await
    }

    /// `PING` under `deadline` (the health check's, [`SessionStore::ping`]).
    async fn ping_within(&self, deadline: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: Value = self
            .run_within(deadline, redis::cmd("PING").query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// What the session cache has done so far, or `None` when the store has none (see
    /// [`RedisStoreBuilder::session_cache`]).
    pub fn session_cache_stats(&self) -> Option<SessionCacheStats> {
        self.inner.cache.as_ref().map(|(cache, _)| cache.stats())
    }

    /// The durable-deletes setting in force.
    pub fn durable_deletes(&self) -> DurableDeletes {
        self.inner.durable
    }

    /// The fail-fast setting in force (which depends on the connection mode when none was
    /// set on the builder).
    pub fn fail_fast(&self) -> FailFast {
        self.inner.fail_fast.unwrap_or(FailFast::off())
    }

    /// `host:port` of the master in use, for a store connected through Sentinel (`None`
    /// otherwise). Changes when the store follows a failover.
    pub fn sentinel_master(&self) -> Option<String> {
        match &self.conn {
            Connection::Sentinel(c) => Some(c.master_addr()),
            _ => None,
        }
    }

    /// Run one Redis call under the operation deadline, mapping failures.
    async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        self.run_within(self.inner.deadline, call).await
    }

    /// Run one Redis call under `deadline`: fail at once while the store is known down,
    /// feed the breaker, count failures.
    async fn run_within<T>(
        &self,
        deadline: Duration,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        if let Some(e) = self.inner.health.check() {
            health::count(e.kind());
            return Err(e);
        }
        let e = match tokio::time::timeout(deadline, call).await {
            Ok(Ok(v)) => {
                self.inner.health.success();
                return Ok(v);
            }
            Ok(Err(e)) => {
                self.inner.health.failure(Failure::of(&e), &e, &self.conn);
                store_error(e)
            }
            Err(elapsed) => {
                self.inner
                    .health
                    .failure(Failure::Timeout, &elapsed, &self.conn);
                StoreError::with_source(StoreErrorKind::Timeout, elapsed)
            }
        };
        health::count(e.kind());
        Err(e)
    }

    /// Run `build`'s write then the durability waits in one pipeline (one round trip) on
    /// the durable connection; returns the write's reply. `script` is the script the write
    /// invokes, loaded and the pipeline retried once on `NOSCRIPT`.
    async fn run_durable(
        &self,
        conn: &Connection,
        build: impl Fn(&mut redis::Pipeline),
        script: Option<&redis::Script>,
    ) -> Result<Value, StoreError> {
        let durable = self.inner.durable;
        let mut pipe = redis::pipe();
        build(&mut pipe);
        durable.append_waits(&mut pipe);
        pipe.ignore_errors();
        let mut conn = conn.clone();
        let call = async {
            let mut replies: Vec<redis::RedisResult<Value>> = pipe.query_async(&mut conn).await?;
            let noscript = matches!(replies.first(), Some(Err(e))
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript));
            if let (true, Some(script)) = (noscript, script) {
                script.load_async(&mut conn).await?;
                replies = pipe.query_async(&mut conn).await?;
            }
            Ok(replies)
        };
        let replies = self.run_within(self.inner.durable_deadline, call).await?;
        let mut replies = replies.into_iter();
        let fail = |e: RedisError| {
            let e = store_error(e);
            health::count(e.kind());
            e
        };
        let write = match replies.next() {
            Some(reply) => reply.map_err(fail)?,
            None => return Err(fail(short_reply())),
        };
        let waits = replies
            .collect::<Result<Vec<Value>, RedisError>>()
            .map_err(fail)?;
        if waits.len() != durable.wait_count() {
            return Err(fail(short_reply()));
        }
        durable.check(&waits).map_err(|nd| {
            health::count(StoreErrorKind::NotDurable);
            StoreError::with_source(StoreErrorKind::NotDurable, nd)
                .with_retry_after(NOT_DURABLE_RETRY_AFTER)
        })?;
        Ok(write)
    }

    async fn get_impl(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .get_shared_impl(key, now)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    async fn get_shared_impl(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        let hash = keys::sessions_key(&self.inner.prefix, key.user_id, key.session_type);
        self.get_at(&hash, key, now).await
    }

    /// `get` through the session cache: a hit answers without a round trip; a miss reads
    /// Redis and keeps a live answer unless an invalidation overtook the read (see
    /// [`SessionCache`]).
    async fn get_cached_impl(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        let Some((cache, _)) = &self.inner.cache else {
            return self.get_shared_impl(key, now).await;
        };
        let hash = keys::sessions_key(&self.inner.prefix, key.user_id, key.session_type);
        // The lookup takes the read's generation before the round trip is sent.
        let token = match cache.lookup(&hash, key, now) {
            Lookup::Hit(session) => return Ok(Some(session)),
            Lookup::Miss(token) => token,
        };
        let found = self.get_at(&hash, key, now).await?;
        if let (Some(token), Some(session)) = (token, &found) {
            cache.insert(token, key, session);
        }
        Ok(found)
    }

    /// Invalidate this instance's cached sessions of `(user_id, session_type)` after a
    /// write of its own (whatever its outcome: a write that failed may still have run).
    fn invalidate_local(&self, user_id: &str, session_type: &SessionType) {
        if let Some((cache, _)) = &self.inner.cache {
            let hash = keys::sessions_key(&self.inner.prefix, user_id, session_type);
            cache.invalidate(hash.as_bytes());
        }
    }

    /// `HGET hash sid`, decoded and checked against `key` and `now`.
    async fn get_at(
        &self,
        hash: &str,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Arc<Session>>, StoreError> {
        let mut conn = self.conn.clone();
        // Sized up front: the hot path of every session check.
        let mut cmd = redis::Cmd::with_capacity(3, 4 + hash.len() + key.session_id.len());
        cmd.arg("HGET").arg(hash).arg(key.session_id);
        let blob: Option<Vec<u8>> = self.run(cmd.query_async(&mut conn)).await?;
        Ok(blob
            .and_then(|b| self.inner.blobs.decode(&b, key))
            .filter(|s| !s.is_expired(now)))
    }

    async fn get_all_impl(
        &self,
        user_id: &str,
        session_type: &SessionType,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        let keys = self.keys(user_id, session_type);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(keys.sessions());
        let fields: HashMap<Vec<u8>, Vec<u8>> = self.run(cmd.query_async(&mut conn)).await?;
        let mut sessions: Vec<Session> = fields
            .iter()
            .filter(|(field, _)| !field.starts_with(LOCK_FIELD_PREFIX.as_bytes()))
            .filter_map(|(field, blob)| {
                let sid = std::str::from_utf8(field).ok()?;
                let key = SessionKey::new(sid, user_id, session_type);
                decode_blob(&self.inner.signing_key, blob, key)
            })
            .filter(|s| !s.is_expired(now))
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    async fn write_impl(
        &self,
        session: &Session,
        mode: Mode,
        now: UnixTime,
    ) -> Result<Created, StoreError> {
        let new_lock = session
            .lock_version
            .checked_add(1)
            .ok_or_else(|| StoreError::with_source(StoreErrorKind::Encoding, LockOverflow))?;
        if session.refresh_expires_at > MAX_EXPIRY {
            return Err(StoreError::with_source(
                StoreErrorKind::Encoding,
                ExpiryOutOfRange(session.refresh_expires_at),
            ));
        }
        if session.is_expired(now) {
            // An already expired session is never written (it could never be read back).
            // An update of one is "not found"; a create is a successful no-op, as in Charon.
            return match mode {
                Mode::Create(_) => Ok(Created::new(new_lock, Vec::new())),
                Mode::Update => Err(StoreError::not_found()),
            };
        }
        let mut stored = session.clone();
        stored.lock_version = new_lock;
        let blob = encode_blob(&self.inner.signing_key, &stored);
        let keys = self.keys(session.user_id.as_str(), &session.session_type);
        let (flag, cap) = match mode {
            Mode::Create(cap) => ("c", cap.map_or(0, NonZeroU32::get)),
            Mode::Update => ("u", 0),
        };
        let upsert = |raised_horizon: UnixTime| {
            let mut invocation = SCRIPTS.upsert.prepare_invoke();
            invocation
                .key(keys.sessions())
                .key(keys.expiries())
                .key(keys.index_horizon())
                .arg(&session.id)
                .arg(flag)
                .arg(session.lock_version)
                .arg(new_lock)
                .arg(&blob)
                .arg(session.refresh_expires_at)
                .arg(now)
                .arg(cap)
                .arg(raised_horizon)
                .arg(&self.inner.channel);
            self.run_upsert(invocation, cap)
        };
        let (mut reply, mut evicted) = upsert(0).await?;
        if reply == UPSERT_NEEDS_INDEX {
            // The session would outlive its type's entry in the user's type index: raise
            // the entry first, then write (see "Every type of a user").
            let horizon = index_horizon(session.refresh_expires_at, now);
            self.raise_type_index(session, horizon, now).await?;
            (reply, evicted) = upsert(horizon).await?;
        }
        match reply {
            UPSERT_OK => Ok(Created::new(
                new_lock,
                evicted
                    .into_iter()
                    .map(|id| String::from_utf8_lossy(&id).into_owned())
                    .collect(),
            )),
            UPSERT_CONFLICT => Err(StoreError::conflict()),
            UPSERT_NOT_FOUND => Err(StoreError::not_found()),
            other => Err(StoreError::with_source(
                StoreErrorKind::Backend,
                UnexpectedReply(other),
            )),
        }
    }

    /// Run one upsert invocation; returns the script's reply code and evicted ids.
    async fn run_upsert(
        &self,
        invocation: redis::ScriptInvocation<'_>,
        cap: u32,
    ) -> Result<(i64, Vec<Vec<u8>>), StoreError> {
        match (&self.durable_conn, cap) {
            // A capped create may evict sessions: with durable deletes those evictions must
            // be durable too, so the create runs with the waits (`WAIT` only covers the
            // writes of its own connection).
            (Some(durable), 1..) => {
                let reply = self
                    .run_durable(
                        durable,
                        |pipe| {
                            pipe.invoke_script(&invocation);
                        },
                        Some(&SCRIPTS.upsert),
                    )
                    .await?;
                redis::from_redis_value(reply)
                    .map_err(|e| StoreError::with_source(StoreErrorKind::Backend, e))
            }
            _ => {
                let mut conn = self.conn.clone();
                self.run(invocation.invoke_async(&mut conn)).await
            }
        }
    }

    /// Raise `session`'s type in its user's type index to `horizon` (one script on the
    /// user's slot).
    async fn raise_type_index(
        &self,
        session: &Session,
        horizon: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut invocation = SCRIPTS.type_index.prepare_invoke();
        invocation
            .key(self.type_index_key(session.user_id.as_str()))
            .arg(session.session_type.as_str())
            .arg(horizon)
            .arg(now);
        let mut conn = self.conn.clone();
        let _: i64 = self.run(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn session_types_impl(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> Result<Vec<SessionType>, StoreError> {
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(self.type_index_key(user_id)).arg(now).arg("+inf");
        let mut conn = self.conn.clone();
        let names: Vec<String> = self.run(cmd.query_async(&mut conn)).await?;
        // A member that is no valid type name was not written by this store: skip it.
        Ok(names
            .into_iter()
            .filter_map(|name| SessionType::new(name).ok())
            .collect())
    }

    async fn delete_impl(&self, key: SessionKey<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let keys = self.keys(key.user_id, key.session_type);
        let mut invocation = SCRIPTS.delete.prepare_invoke();
        invocation
            .key(keys.sessions())
            .key(keys.expiries())
            .arg(key.session_id)
            .arg(now)
            .arg(&self.inner.channel);
        if let Some(durable) = &self.durable_conn {
            let reply = self
                .run_durable(
                    durable,
                    |pipe| {
                        pipe.invoke_script(&invocation);
                    },
                    Some(&SCRIPTS.delete),
                )
                .await?;
            return match reply {
                Value::Int(removed) => Ok(removed > 0),
                _ => Err(StoreError::with_source(
                    StoreErrorKind::Backend,
                    UnexpectedReply(-1),
                )),
            };
        }
        let mut conn = self.conn.clone();
        let removed: i64 = self.run(invocation.invoke_async(&mut conn)).await?;
        Ok(removed > 0)
    }

    async fn delete_all_impl(
        &self,
        user_id: &str,
        session_type: &SessionType,
    ) -> Result<(), StoreError> {
        let keys = self.keys(user_id, session_type);
        let mut invocation = SCRIPTS.delete_all.prepare_invoke();
        invocation
            .key(keys.sessions())
            .key(keys.expiries())
            .arg(&self.inner.channel);
        if let Some(durable) = &self.durable_conn {
            self.run_durable(
                durable,
                |pipe| {
                    pipe.invoke_script(&invocation);
                },
                Some(&SCRIPTS.delete_all),
            )
            .await?;
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let _: i64 = self.run(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }
}

/// The contract of [`SessionStore`], with these Redis specifics:
///
/// - `create` or `update` of a session whose `refresh_expires_at` is already before `now`
///   writes nothing: an update fails with `NotFound`, a create returns the new lock version
///   as if it had been written (it could never be read back anyway), as Charon does, and
///   evicts nothing. A
///   `refresh_expires_at` after [`MAX_EXPIRY`] fails with `Encoding`.
/// - `delete` returns whether the session's entry was there, including an expired entry
///   that no write has pruned yet (the call has no `now` to tell them apart).
/// - `get_all` returns sessions ordered by creation time, then id.
impl SessionStore for RedisStore {
    fn get<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, Option<Session>> {
        Box::pin(self.get_impl(key, now))
    }

    /// `get`, with the session shared with the store's memo of verified blobs
    /// ([`RedisStoreBuilder::verified_blobs`]): one round trip, and no decode when the
    /// answer is a blob decoded before.
    fn get_shared<'a>(
        &'a self,
        key: SessionKey<'a>,
        now: UnixTime,
    ) -> StoreFuture<'a, Option<Arc<Session>>> {
        Box::pin(self.get_shared_impl(key, now))
    }

    /// With a [session cache](RedisStoreBuilder::session_cache): from the cache while it
    /// is in use and holds a live, uninvalidated entry younger than its maximum age,
    /// otherwise as `get` (and the answer kept). Without one: `get`.
    fn get_cached<'a>(
        &'a self,
        key: SessionKey<'a>,
        now: UnixTime,
    ) -> StoreFuture<'a, Option<Arc<Session>>> {
        Box::pin(self.get_cached_impl(key, now))
    }

    /// With a [session cache](RedisStoreBuilder::session_cache): what `get_cached` would
    /// serve from it now, looked up without allocating; otherwise (and on a miss) `None`.
    /// A hit is remembered in `memo`, and the token's next request checks the remembered
    /// entry (its epoch, generation and age, as any hit) instead of looking the key up.
    fn peek_cached(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
        memo: &SessionMemo,
    ) -> Option<Arc<Session>> {
        let (cache, _) = self.inner.cache.as_ref()?;
        cache.peek(key, now, memo)
    }

    fn create<'a>(
        &'a self,
        session: &'a Session,
        max_sessions: Option<NonZeroU32>,
        now: UnixTime,
    ) -> StoreFuture<'a, Created> {
        Box::pin(async move {
            let created = self
                .write_impl(session, Mode::Create(max_sessions), now)
                .await;
            // A capped create may have evicted sessions of this user and type (or, when
            // it failed, may still do so).
            if created.as_ref().map_or(true, |c| !c.evicted.is_empty()) {
                self.invalidate_local(session.user_id.as_str(), &session.session_type);
            }
            created
        })
    }

    fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let updated = self.write_impl(session, Mode::Update, now).await;
            self.invalidate_local(session.user_id.as_str(), &session.session_type);
            updated.map(|c| c.lock_version)
        })
    }

    fn delete<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let deleted = self.delete_impl(key, now).await;
            self.invalidate_local(key.user_id, key.session_type);
            deleted
        })
    }

    fn get_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(self.get_all_impl(user_id, session_type, now))
    }

    fn delete_all<'a>(
        &'a self,
        user_id: &'a str,
        session_type: &'a SessionType,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let deleted = self.delete_all_impl(user_id, session_type).await;
            self.invalidate_local(user_id, session_type);
            deleted
        })
    }

    /// The user's type index: `ZRANGEBYSCORE <prefix>{<enc_user>}:t now +inf`. See
    /// [Every type of a user](self#every-type-of-a-user) for what it lists.
    fn session_types<'a>(
        &'a self,
        user_id: &'a str,
        now: UnixTime,
    ) -> StoreFuture<'a, Vec<SessionType>> {
        Box::pin(self.session_types_impl(user_id, now))
    }

    /// `PING` within `deadline` (on a Cluster, every node must answer). While the store
    /// is known down (see [`FailFast`]) it fails at once with
    /// [`StoreErrorKind::Unavailable`]; a timeout is [`StoreErrorKind::Timeout`]; like any
    /// call it feeds fail-fast.
    fn ping(&self, deadline: Duration) -> StoreFuture<'_, ()> {
        Box::pin(self.ping_within(deadline))
    }

    /// `redis`.
    fn backend_name(&self) -> &'static str {
        "redis"
    }
}

impl RedisStoreBuilder {
    fn new(secret: Secret) -> Self {
        Self {
            secret,
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            tls: TlsSettings::default(),
            durable: DurableDeletes::off(),
            fail_fast: None,
            session_cache: None,
            verified_blobs: DEFAULT_VERIFIED_BLOBS,
        }
    }

    /// Prefix of every key: 1 to 64 characters of `[A-Za-z0-9_.:-]`, checked when
    /// connecting ([`ConfigErrorKind::InvalidKeyPrefix`]). Defaults to `charon:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take (TCP connect, TLS handshake, `HELLO`).
    /// Defaults to 500 ms.
    ///
    /// Measured on loopback (Redis 7.0, `tests/redis_durability.rs`, `measure_round_trips`):
    /// a new connection with its handshake costs about 0.3 ms over TCP and about 2 ms over
    /// TLS; 250 ms leaves room for a cross-zone network and a busy server while bounding
    /// what a request waits before the store is known down (after which it fails at once,
    /// see [`FailFast`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long Redis may take to answer one command. Defaults to 250 ms.
    ///
    /// Every store operation is also bounded as a whole by connect timeout + response
    /// timeout (covering a reconnect), after which it fails with
    /// [`StoreErrorKind::Timeout`]. A healthy round trip costs about 0.05–0.1 ms on loopback
    /// (measured as for [`connect_timeout`](Self::connect_timeout)); 250 ms is far above any
    /// healthy answer, including a fork for persistence on a large dataset, yet short
    /// enough that three timeouts in a row (which open the breaker) take under a second.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Trust this CA (PEM, one or more certificates) for `rediss://` instead of the
    /// system's roots: for a private CA or a self-signed server. Checked when connecting
    /// ([`ConfigErrorKind::InvalidKey`] when it holds no certificate). Defaults to the
    /// system's roots.
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca = Some(Pem::Bytes(pem.into()));
        self
    }

    /// As [`tls_ca_pem`](Self::tls_ca_pem), read from a file when connecting
    /// ([`ConfigErrorKind::InvalidKey`] when it cannot be read).
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca = Some(Pem::File(path.into()));
        self
    }

    /// Present this client certificate chain and private key (PEM, PKCS#8, PKCS#1 or
    /// SEC1) to servers that require one (`tls-auth-clients yes`): mutual TLS. Checked
    /// when connecting ([`ConfigErrorKind::InvalidKey`]). Defaults to none. The key is
    /// never printed.
    pub fn tls_client_cert_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client = Some((Pem::Bytes(cert_chain.into()), Pem::Bytes(key.into())));
        self
    }

    /// As [`tls_client_cert_pem`](Self::tls_client_cert_pem), read from files when
    /// connecting.
    pub fn tls_client_cert_files(
        mut self,
        cert_chain: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client = Some((Pem::File(cert_chain.into()), Pem::File(key.into())));
        self
    }

    /// Whether deletes wait until durable (`WAIT`, `WAITAOF`) before they succeed. See
    /// [`DurableDeletes`]. Defaults to [`DurableDeletes::off`].
    pub fn durable_deletes(mut self, durable: DurableDeletes) -> Self {
        self.durable = durable;
        self
    }

    /// When the store stops waiting for a Redis that is down. See [`FailFast`]. Defaults
    /// to [`FailFast::new`] for a standalone server and Sentinel, [`FailFast::off`] for a
    /// Cluster.
    pub fn fail_fast(mut self, fail_fast: FailFast) -> Self {
        self.fail_fast = Some(fail_fast);
        self
    }

    /// Keep a coherent local cache of sessions, read by
    /// [`SessionStore::get_cached`] (what the access layer's
    /// [`Revocation::Cached`](crate::layer::Revocation::Cached) calls): a session check
    /// then costs no round trip while its session is cached, and a logout, a refresh or a
    /// revocation on any instance reaches this one through Redis pub/sub (typically well
    /// under a millisecond on loopback; see SECURITY.md). While the invalidation channel
    /// is down, lagging or reconnecting, the cache is emptied and every read is a round
    /// trip. See [`SessionCache`] for the settings, the protocol and its limits.
    ///
    /// Costs one more connection (the subscriber; on a Cluster one per seed node given to
    /// [`connect_cluster`](Self::connect_cluster), so give every primary as a seed for the
    /// shortest delay) and a heartbeat `PUBLISH` per heartbeat interval. Settings are checked when connecting
    /// ([`ConfigErrorKind::Invalid`]); connecting also waits for the first subscription
    /// ([`ConfigErrorKind::InvalidRedis`] when it fails, e.g. an ACL without
    /// `SUBSCRIBE`). Defaults to none: no cache, and `get_cached` is `get`.
    ///
    /// Every store publishes its writes' invalidations, cache or not, so instances with
    /// and without a cache can share a Redis.
    pub fn session_cache(mut self, cache: SessionCache) -> Self {
        self.session_cache = Some(cache);
        self
    }

    /// How many decoded sessions to remember with the bytes they were decoded from, so
    /// that a read whose answer is byte for byte a blob already checked skips the HMAC
    /// check and the JSON decode. The same bytes decode to the same session, so the
    /// answers are the ones a full decode gives; every read still asks Redis, so this is
    /// no cache of sessions (that is [`session_cache`](Self::session_cache)). It saves
    /// about 2 µs of CPU a read when most reads are of sessions read before (the
    /// `access-strict` load runs in the README), for about 1 KiB a session held.
    ///
    /// Defaults to [`DEFAULT_VERIFIED_BLOBS`]; 0 remembers none.
    pub fn verified_blobs(mut self, capacity: usize) -> Self {
        self.verified_blobs = capacity;
        self
    }

    /// Connect to a standalone Redis (`redis://`, `rediss://` or `unix://` URL) through a
    /// self-reconnecting [`ConnectionManager`].
    ///
    /// Validates the settings, derives the signing key (250 000 PBKDF2 rounds, done inline),
    /// connects and loads the scripts.
    ///
    /// # Errors
    ///
    /// [`ConfigErrorKind::InvalidKeyPrefix`], [`ConfigErrorKind::KeyTooShort`] for a base
    /// secret under [`MIN_BASE_SECRET_LEN`] bytes, [`ConfigErrorKind::Invalid`] for a zero
    /// timeout or an invalid [`FailFast`] or [`DurableDeletes`],
    /// [`ConfigErrorKind::InvalidKey`] for TLS material that cannot be read or parsed, and
    /// [`ConfigErrorKind::InvalidRedis`] (with the Redis error as `source()`) when the URL
    /// is invalid, TLS settings are given for a non-`rediss://` URL, the server cannot be
    /// reached or the TLS handshake fails (unknown CA, missing client certificate), or
    /// [`DurableDeletes::local_fsync`] is asked of a server without `WAITAOF`.
    pub async fn connect(self, url: &str) -> Result<RedisStore, ConfigError> {
        let fail_fast = self.fail_fast.unwrap_or_default();
        let (inner, tls) = self.validate(fail_fast)?;
        let is_tls = tls::all_tls(&[url.to_owned()])?;
        let client = match (is_tls, tls.is_set()) {
            (false, true) => return Err(tls::tls_without_rediss()),
            (true, true) => redis::Client::build_with_tls(url, tls.load()?),
            _ => redis::Client::open(url),
        }
        .map_err(|e| invalid_redis("invalid redis url", e))?;
        let main = bounded(
            inner.deadline,
            ConnectionManager::new_with_config(client.clone(), manager_config(&inner, false)),
        )
        .await?;
        let source = Source::Clients(vec![client.clone()]);
        let durable = if inner.durable.is_enabled() {
            let manager = bounded(
                inner.durable_deadline,
                ConnectionManager::new_with_config(client, manager_config(&inner, true)),
            )
            .await?;
            Some(Connection::Standalone(manager))
        } else {
            None
        };
        finish(Connection::Standalone(main), durable, inner, source).await
    }

    /// Connect to a Redis Cluster through the given seed nodes (`redis://host:port` or,
    /// for TLS, `rediss://host:port` URLs; one scheme for all) with the cluster-async client.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_cluster<I, S>(self, urls: I) -> Result<RedisStore, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fail_fast = self.fail_fast.unwrap_or(FailFast::off());
        let (inner, tls) = self.validate(fail_fast)?;
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        if urls.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRedis,
                "no redis cluster node given",
            ));
        }
        let is_tls = tls::all_tls(&urls)?;
        if tls.is_set() && !is_tls {
            return Err(tls::tls_without_rediss());
        }
        let certs = if tls.is_set() {
            Some(tls.load()?)
        } else {
            None
        };
        let build = |response_timeout: Duration| {
            let mut builder = ClusterClientBuilder::new(urls.clone())
                .connection_timeout(inner.connect_timeout)
                .response_timeout(response_timeout);
            if is_tls {
                builder = builder.tls(TlsMode::Secure);
            }
            if let Some(certs) = &certs {
                builder = builder.certs(certs.clone());
            }
            builder
                .build()
                .map_err(|e| invalid_redis("invalid redis cluster configuration", e))
        };
        let client = build(inner.response_timeout)?;
        let conn = bounded(inner.deadline, client.get_async_connection()).await?;
        // The session cache's subscriber: one plain connection to each seed node (classic
        // pub/sub reaches every node of a Cluster; each seed's own writes reach us without
        // the bus hop).
        let source = Source::Clients(
            urls.iter()
                .map(|url| match &certs {
                    Some(certs) => redis::Client::build_with_tls(url.as_str(), certs.clone()),
                    None => redis::Client::open(url.as_str()),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| invalid_redis("invalid redis cluster node url", e))?,
        );
        let durable = if inner.durable.is_enabled() {
            let client = build(inner.response_timeout + inner.durable.wait_timeout())?;
            let conn = bounded(inner.durable_deadline, client.get_async_connection()).await?;
            Some(Connection::Cluster(conn))
        } else {
            None
        };
        finish(Connection::Cluster(conn), durable, inner, source).await
    }

    /// Connect to the master that the given Sentinels name `master_name`, and follow it:
    /// when a call fails, the store asks the sentinels again (in the background) and moves
    /// to the master they name, without a restart.
    ///
    /// `sentinels` are `host:port` addresses or `redis://host:port` URLs; with
    /// `rediss://host:port` URLs (one scheme for all) both the sentinels and the masters
    /// are reached over TLS with this builder's TLS settings. The sentinels must name
    /// masters by addresses this process can reach.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); [`ConfigErrorKind::InvalidRedis`] as well when no
    /// sentinel is given, an address does not parse, or no sentinel names a reachable
    /// master.
    pub async fn connect_sentinel<I, S>(
        self,
        sentinels: I,
        master_name: &str,
    ) -> Result<RedisStore, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fail_fast = self.fail_fast.unwrap_or_default();
        let (inner, tls) = self.validate(fail_fast)?;
        let urls: Vec<String> = sentinels
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                if s.contains("://") {
                    s.to_owned()
                } else {
                    format!("redis://{s}")
                }
            })
            .collect();
        if urls.is_empty() || master_name.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRedis,
                "connect_sentinel needs at least one sentinel and a master name",
            ));
        }
        let is_tls = tls::all_tls(&urls)?;
        if tls.is_set() && !is_tls {
            return Err(tls::tls_without_rediss());
        }
        let addrs = urls
            .iter()
            .map(|u| sentinel_addr(u, is_tls))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder =
            SentinelClientBuilder::new(addrs, master_name, SentinelServerType::Master)
                .map_err(|e| invalid_redis("invalid sentinel configuration", e))?;
        if is_tls {
            builder = builder
                .set_client_to_sentinel_tls_mode(TlsMode::Secure)
                .set_client_to_redis_tls_mode(TlsMode::Secure);
            if tls.is_set() {
                let certs = tls.load()?;
                builder = builder
                    .set_client_to_sentinel_certificates(certs.clone())
                    .set_client_to_redis_certificates(certs);
            }
        }
        let client = builder
            .build()
            .map_err(|e| invalid_redis("invalid sentinel configuration", e))?;
        let durable_config = inner
            .durable
            .is_enabled()
            .then(|| manager_config(&inner, true));
        let conn = bounded(
            inner.durable_deadline.saturating_add(inner.deadline),
            SentinelConnection::connect(
                client,
                manager_config(&inner, false),
                durable_config,
                inner.durable_deadline.saturating_add(inner.deadline),
            ),
        )
        .await?;
        let durable = inner
            .durable
            .is_enabled()
            .then(|| Connection::Sentinel(conn.durable()));
        let source = Source::Sentinel(conn.clone());
        finish(Connection::Sentinel(conn), durable, inner, source).await
    }

    fn validate(self, fail_fast: FailFast) -> Result<(Inner, TlsSettings), ConfigError> {
        validate_prefix(&self.prefix)?;
        if self.connect_timeout.is_zero() || self.response_timeout.is_zero() {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "redis timeouts must be greater than zero",
            ));
        }
        if !fail_fast.is_valid() {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "fail-fast needs at least one failure and a probe interval greater than zero",
            ));
        }
        if self.session_cache.is_some_and(|c| !c.is_valid()) {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "the session cache needs a capacity of at least 1, and a maximum age, \
                 heartbeat interval and heartbeat timeout greater than zero",
            ));
        }
        if self.durable.is_enabled() && self.durable.wait_timeout().is_zero() {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "the durable-deletes timeout must be greater than zero",
            ));
        }
        let signing_key = match self.secret {
            Secret::Key(key) => key,
            Secret::Base(secret) if secret.len() < MIN_BASE_SECRET_LEN => {
                return Err(ConfigError::new(
                    ConfigErrorKind::KeyTooShort,
                    "the base secret must be at least 32 bytes",
                ));
            }
            Secret::Base(secret) => SigningKey::derive(&secret),
        };
        tls::ensure_crypto_provider();
        let deadline = self.connect_timeout.saturating_add(self.response_timeout);
        Ok((
            Inner {
                blobs: VerifiedBlobs::new(signing_key.clone(), self.verified_blobs),
                signing_key,
                channel: invalidation::channel(&self.prefix),
                cache_config: self.session_cache,
                cache: None,
                prefix: self.prefix,
                connect_timeout: self.connect_timeout,
                response_timeout: self.response_timeout,
                deadline,
                durable: self.durable,
                durable_deadline: deadline.saturating_add(self.durable.wait_timeout()),
                fail_fast: Some(fail_fast),
                health: Arc::new(Health::new(fail_fast)),
            },
            self.tls,
        ))
    }
}

/// The `ConnectionManager` settings: the store's timeouts (plus the durability timeout for
/// the durable connection), and one quick retry per reconnect: while Redis is down the
/// fail-fast probe is what keeps trying, not every request.
fn manager_config(inner: &Inner, durable: bool) -> ConnectionManagerConfig {
    let response = if durable {
        inner.response_timeout + inner.durable.wait_timeout()
    } else {
        inner.response_timeout
    };
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(inner.connect_timeout))
        .set_response_timeout(Some(response))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(100))
}

/// A sentinel address from `redis://host:port` or `rediss://host:port`.
fn sentinel_addr(url: &str, tls: bool) -> Result<ConnectionAddr, ConfigError> {
    let invalid = || {
        ConfigError::new(
            ConfigErrorKind::InvalidRedis,
            "a sentinel address must be host:port",
        )
    };
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(invalid)?;
    let port: u16 = port.parse().map_err(|_| invalid())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('@') || host.contains('/') {
        return Err(invalid());
    }
    Ok(if tls {
        ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_owned(), port)
    })
}

/// Check `WAITAOF` where it is needed, load the scripts (so the first calls need no
/// `NOSCRIPT` retry) and wrap up.
async fn finish(
    mut conn: Connection,
    durable_conn: Option<Connection>,
    mut inner: Inner,
    source: Source,
) -> Result<RedisStore, ConfigError> {
    if inner.durable.waits_for_local_fsync() && !has_command(&mut conn, "WAITAOF", &inner).await? {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidRedis,
            "durable deletes with local fsync need WAITAOF (Redis >= 7.2); this server lacks it",
        ));
    }
    for script in [
        &SCRIPTS.upsert,
        &SCRIPTS.delete,
        &SCRIPTS.delete_all,
        &SCRIPTS.type_index,
    ] {
        bounded(inner.deadline, script.load_async(&mut conn)).await?;
    }
    if let Some(config) = inner.cache_config {
        let cache = Arc::new(SessionCacheState::new(config));
        let subscriber = invalidation::start(
            Arc::clone(&cache),
            source,
            conn.clone(),
            invalidation::Settings {
                channel: inner.channel.clone(),
                deadline: inner.deadline,
            },
        );
        // Wait for the first confirmed subscription, so that a store that cannot subscribe
        // (an ACL, a proxy without pub/sub) is a configuration error, not a silent
        // round trip per read.
        let started = tokio::time::Instant::now();
        while !cache.is_subscribed() {
            if started.elapsed() > inner.deadline.max(STARTUP_TIMEOUT) {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidRedis,
                    "the session cache could not subscribe to its invalidation channel",
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        inner.cache = Some((cache, subscriber));
    }
    Ok(RedisStore {
        conn,
        durable_conn,
        inner: Arc::new(inner),
    })
}

/// Whether the server knows `command` (`COMMAND INFO` answers nil for an unknown one).
async fn has_command(
    conn: &mut Connection,
    command: &str,
    inner: &Inner,
) -> Result<bool, ConfigError> {
    let mut cmd = redis::cmd("COMMAND");
    cmd.arg("INFO").arg(command);
    let reply: Value = bounded(inner.deadline, cmd.query_async(conn)).await?;
    Ok(command_info_knows(&reply))
}

/// Whether a `COMMAND INFO <one command>` reply describes a command.
fn command_info_knows(reply: &Value) -> bool {
    match reply {
        Value::Array(items) => items.first().is_some_and(|i| !matches!(i, Value::Nil)),
        Value::Map(items) => !items.is_empty(),
        _ => false,
    }
}

/// The durable pipeline answered with fewer replies than it sent.
fn short_reply() -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "the durable-delete pipeline answered with fewer replies than commands",
    ))
}

/// Run a start-up call under `deadline`, or [`STARTUP_TIMEOUT`] if that is longer.
async fn bounded<T>(
    deadline: Duration,
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, ConfigError> {
    match tokio::time::timeout(deadline.max(STARTUP_TIMEOUT), call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(invalid_redis("could not connect to redis", e)),
        Err(elapsed) => Err(invalid_redis("timed out connecting to redis", elapsed)),
    }
}

fn invalid_redis(
    message: &'static str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidRedis, message).with_source(source)
}

/// Classify a Redis error, keeping it as the source.
fn store_error(e: RedisError) -> StoreError {
    let kind = if e.is_timeout() {
        StoreErrorKind::Timeout
    } else if e.code() == Some("OOM")
        || e.detail()
            .is_some_and(|d| d.contains("OOM command not allowed"))
    {
        StoreErrorKind::OutOfMemory
    } else {
        StoreErrorKind::Backend
    };
    StoreError::with_source(kind, e)
}

/// The index horizon a write that needs one raises its type's entry to: twice the
/// session's remaining refresh lifetime from `now` (`2 · refresh_expires_at − now`, at most
/// [`MAX_EXPIRY`]). The surplus over `refresh_expires_at` is what spares most later writes
/// the extra round trips: a session refreshed with the same refresh TTL raises it again
/// once per TTL, not on every refresh. It is also a margin for clock skew between
/// instances (an index entry is pruned, or its key expires, by the writer's clock): as
/// long as two clocks differ by less than a refresh TTL, no entry goes before its sessions.
fn index_horizon(refresh_expires_at: UnixTime, now: UnixTime) -> UnixTime {
    let remaining = refresh_expires_at.saturating_sub(now).max(0);
    refresh_expires_at.saturating_add(remaining).min(MAX_EXPIRY)
}

/// A script answered with a value it never returns.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply {0} from the upsert script")]
struct UnexpectedReply(i64);

/// The lock version is at `u64::MAX`.
#[derive(Debug, thiserror::Error)]
#[error("lock version overflow")]
struct LockOverflow;

/// `refresh_expires_at` is after [`MAX_EXPIRY`].
#[derive(Debug, thiserror::Error)]
#[error("refresh_expires_at {0} is after the latest supported expiry")]
struct ExpiryOutOfRange(UnixTime);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn classifies_errors() {
        let timeout: RedisError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert_eq!(store_error(timeout).kind(), StoreErrorKind::Timeout);
        let io: RedisError = std::io::Error::from(std::io::ErrorKind::ConnectionReset).into();
        let e = store_error(io);
        assert_eq!(e.kind(), StoreErrorKind::Backend);
        assert!(std::error::Error::source(&e).unwrap().is::<RedisError>());
    }

    #[tokio::test]
    async fn builder_validates_before_connecting() {
        let key = || SigningKey::from_bytes([1; 32]);
        let err = RedisStore::builder_with_key(key())
            .prefix("{bad}")
            .connect("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::InvalidKeyPrefix);
        let err = RedisStore::builder(b"short")
            .connect("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::KeyTooShort);
        let err = RedisStore::builder_with_key(key())
            .connect("not a url")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis);
        assert!(std::error::Error::source(&err).is_some());
        let builder = RedisStore::builder(b"super secret value that must not leak");
        assert!(!format!("{builder:?}").contains("super secret"));
    }

    #[tokio::test]
    async fn unreachable_server_is_invalid_redis() {
        // Port 1 on loopback: nothing listens there.
        let err = RedisStore::builder_with_key(SigningKey::from_bytes([1; 32]))
            .connect_timeout(Duration::from_millis(200))
            .response_timeout(Duration::from_millis(200))
            .connect("redis://127.0.0.1:1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis);
        assert!(std::error::Error::source(&err).is_some());
    }
}
