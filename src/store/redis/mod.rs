//! Redis session store, standalone or Cluster (feature `redis`).
//!
//! [`RedisStore`] keeps the [`SessionStore`] contract on Redis >= 6.2 (and Valkey), with one
//! round trip per operation:
//!
//! | operation | Redis |
//! |---|---|
//! | `get` | `HGET hash sid` |
//! | `get_all` | `HGETALL hash` |
//! | `create`, `update` | one Lua script: lock check, evict over the cap (create), write, prune expired, set key expiry |
//! | `delete` | one Lua script: `HDEL sid l.sid`, `ZREM`, recompute key expiry |
//! | `delete_all` | `DEL hash zset` (both keys share one slot) |
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
//! # Blobs
//!
//! Values are versioned, serialized and HMAC-signed (see [`codec`]); a value that does not
//! verify, or that belongs to another session, user or type, reads as not found.
//!
//! # Failures
//!
//! Every Redis failure is a [`StoreError`] with the [`redis::RedisError`] (or, when the whole
//! operation overran its deadline, the [`tokio::time::error::Elapsed`]) as `source()`:
//! timeouts are [`StoreErrorKind::Timeout`], an `OOM` reply is
//! [`StoreErrorKind::OutOfMemory`], anything else [`StoreErrorKind::Backend`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use charon_auth::store::redis::RedisStore;
//!
//! let store = RedisStore::builder(b"a base secret of at least 32 bytes!!")
//!     .prefix("myapp:")
//!     .response_timeout(Duration::from_millis(250))
//!     .connect("redis://127.0.0.1:6379")
//!     .await?;
//! # let _ = store;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use redis::RedisError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;

use super::{Created, SessionStore, StoreFuture};
use crate::clock::UnixTime;
use crate::error::{ConfigError, ConfigErrorKind, StoreError, StoreErrorKind};
use crate::session::{Session, SessionKey, SessionType};

pub mod codec;
mod connection;
mod keys;
mod scripts;

pub use codec::SigningKey;
pub use keys::UserKeys;

use codec::{decode_blob, encode_blob};
use connection::Connection;
use keys::{DEFAULT_PREFIX, LOCK_FIELD_PREFIX, validate_prefix};
use scripts::{SCRIPTS, UPSERT_CONFLICT, UPSERT_NOT_FOUND, UPSERT_OK};

pub use crate::token::MIN_BASE_SECRET_LEN;

/// Latest accepted `refresh_expires_at` (9999-12-31T23:59:59Z). Later values are refused
/// with [`StoreErrorKind::Encoding`]: Redis scores are doubles and key expiries integers.
pub const MAX_EXPIRY: UnixTime = 253_402_300_799;

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Default response timeout.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

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
    inner: Arc<Inner>,
}

struct Inner {
    signing_key: SigningKey,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    deadline: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("mode", &self.conn.mode())
            .field("prefix", &self.inner.prefix)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("response_timeout", &self.inner.response_timeout)
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
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("secret", &"REDACTED")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
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

    /// Run one Redis call under the operation deadline, mapping failures.
    async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.inner.deadline, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(store_error(e)),
            Err(elapsed) => Err(StoreError::with_source(StoreErrorKind::Timeout, elapsed)),
        }
    }

    async fn get_impl(
        &self,
        key: SessionKey<'_>,
        now: UnixTime,
    ) -> Result<Option<Session>, StoreError> {
        let keys = self.keys(key.user_id, key.session_type);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(keys.sessions()).arg(key.session_id);
        let blob: Option<Vec<u8>> = self.run(cmd.query_async(&mut conn)).await?;
        Ok(blob
            .and_then(|b| decode_blob(&self.inner.signing_key, &b, key))
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
        let keys = self.keys(&session.user_id, &session.session_type);
        let (flag, cap) = match mode {
            Mode::Create(cap) => ("c", cap.map_or(0, NonZeroU32::get)),
            Mode::Update => ("u", 0),
        };
        let mut invocation = SCRIPTS.upsert.prepare_invoke();
        invocation
            .key(keys.sessions())
            .key(keys.expiries())
            .arg(&session.id)
            .arg(flag)
            .arg(session.lock_version)
            .arg(new_lock)
            .arg(blob)
            .arg(session.refresh_expires_at)
            .arg(now)
            .arg(cap);
        let mut conn = self.conn.clone();
        let (reply, evicted): (i64, Vec<Vec<u8>>) =
            self.run(invocation.invoke_async(&mut conn)).await?;
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

    async fn delete_impl(&self, key: SessionKey<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let keys = self.keys(key.user_id, key.session_type);
        let mut invocation = SCRIPTS.delete.prepare_invoke();
        invocation
            .key(keys.sessions())
            .key(keys.expiries())
            .arg(key.session_id)
            .arg(now);
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
        let mut cmd = redis::cmd("DEL");
        cmd.arg(keys.sessions()).arg(keys.expiries());
        let mut conn = self.conn.clone();
        let _: i64 = self.run(cmd.query_async(&mut conn)).await?;
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

    fn create<'a>(
        &'a self,
        session: &'a Session,
        max_sessions: Option<NonZeroU32>,
        now: UnixTime,
    ) -> StoreFuture<'a, Created> {
        Box::pin(self.write_impl(session, Mode::Create(max_sessions), now))
    }

    fn update<'a>(&'a self, session: &'a Session, now: UnixTime) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.write_impl(session, Mode::Update, now)
                .await
                .map(|c| c.lock_version)
        })
    }

    fn delete<'a>(&'a self, key: SessionKey<'a>, now: UnixTime) -> StoreFuture<'a, bool> {
        Box::pin(self.delete_impl(key, now))
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
        Box::pin(self.delete_all_impl(user_id, session_type))
    }
}

impl RedisStoreBuilder {
    fn new(secret: Secret) -> Self {
        Self {
            secret,
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
        }
    }

    /// Prefix of every key: 1 to 64 characters of `[A-Za-z0-9_.:-]`, checked when
    /// connecting ([`ConfigErrorKind::InvalidKeyPrefix`]). Defaults to `charon:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take. Defaults to 1 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long Redis may take to answer one command. Defaults to 500 ms.
    ///
    /// Every store operation is also bounded as a whole by connect timeout + response
    /// timeout (covering a reconnect), after which it fails with
    /// [`StoreErrorKind::Timeout`].
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
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
    /// timeout, and [`ConfigErrorKind::InvalidRedis`] (with the Redis error as `source()`)
    /// when the URL is invalid or the server cannot be reached.
    pub async fn connect(self, url: &str) -> Result<RedisStore, ConfigError> {
        let inner = self.validate()?;
        let client = redis::Client::open(url).map_err(|e| invalid_redis("invalid redis url", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(inner.connect_timeout))
            .set_response_timeout(Some(inner.response_timeout))
            .set_max_delay(Duration::from_secs(1));
        let manager = bounded(
            inner.deadline,
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        finish(Connection::Standalone(manager), inner).await
    }

    /// Connect to a Redis Cluster through the given seed nodes (`redis://host:port` URLs)
    /// with the cluster-async client.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_cluster<I, S>(self, urls: I) -> Result<RedisStore, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let inner = self.validate()?;
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        if urls.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidRedis,
                "no redis cluster node given",
            ));
        }
        let client = ClusterClientBuilder::new(urls)
            .connection_timeout(inner.connect_timeout)
            .response_timeout(inner.response_timeout)
            .build()
            .map_err(|e| invalid_redis("invalid redis cluster configuration", e))?;
        let conn = bounded(inner.deadline, client.get_async_connection()).await?;
        finish(Connection::Cluster(conn), inner).await
    }

    fn validate(self) -> Result<Inner, ConfigError> {
        validate_prefix(&self.prefix)?;
        if self.connect_timeout.is_zero() || self.response_timeout.is_zero() {
            return Err(ConfigError::new(
                ConfigErrorKind::Invalid,
                "redis timeouts must be greater than zero",
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
        Ok(Inner {
            signing_key,
            prefix: self.prefix,
            connect_timeout: self.connect_timeout,
            response_timeout: self.response_timeout,
            deadline: self.connect_timeout.saturating_add(self.response_timeout),
        })
    }
}

/// Load the scripts (so the first calls need no `NOSCRIPT` retry) and wrap up.
async fn finish(mut conn: Connection, inner: Inner) -> Result<RedisStore, ConfigError> {
    for script in [&SCRIPTS.upsert, &SCRIPTS.delete] {
        bounded(inner.deadline, script.load_async(&mut conn)).await?;
    }
    Ok(RedisStore {
        conn,
        inner: Arc::new(inner),
    })
}

async fn bounded<T>(
    deadline: Duration,
    call: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, ConfigError> {
    match tokio::time::timeout(deadline, call).await {
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

/// A script answered with a value it never returns.
#[derive(Debug)]
struct UnexpectedReply(i64);

impl fmt::Display for UnexpectedReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected reply {} from the upsert script", self.0)
    }
}

impl std::error::Error for UnexpectedReply {}

/// The lock version is at `u64::MAX`.
#[derive(Debug)]
struct LockOverflow;

impl fmt::Display for LockOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock version overflow")
    }
}

impl std::error::Error for LockOverflow {}

/// `refresh_expires_at` is after [`MAX_EXPIRY`].
#[derive(Debug)]
struct ExpiryOutOfRange(UnixTime);

impl fmt::Display for ExpiryOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refresh_expires_at {} is after the latest supported expiry",
            self.0
        )
    }
}

impl std::error::Error for ExpiryOutOfRange {}

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
