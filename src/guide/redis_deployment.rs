//! # Redis deployment
//!
//! The [`RedisStore`](crate::store::redis::RedisStore) works with Redis 6.2 or later and
//! Valkey, standalone (through `ConnectionManager`, which reconnects on its own) or Cluster
//! (through the cluster-async client). Every operation is one round trip; every write is
//! one Lua script loaded with `EVALSHA` (re-loaded transparently after a restart or
//! `SCRIPT FLUSH`).
//!
//! **Layout.** Per (user, session type), under one hash tag so both keys live in one
//! Cluster slot: a hash `<prefix>{<user>:<type>}:s` holding `sid -> signed blob` and
//! `l.sid -> lock version`, and a sorted set `<prefix>{<user>:<type>}:e` holding
//! `sid -> refresh_expires_at`. The user id is percent-encoded so no id can collide with
//! another or escape the tag. Writes prune expired members and set both keys to expire with
//! their latest session: no key lives without a TTL and no cleanup job is needed.
//!
//! **What to configure on the server:**
//! - `maxmemory-policy noeviction`. With an evicting policy Redis may silently drop a
//!   session (a logout) or a lock field. With `noeviction`, a full Redis refuses writes:
//!   logins and refreshes fail with 503, reads keep working.
//! - Persistence (`appendonly yes`, `appendfsync everysec` or `always`) if sessions must
//!   survive a restart. Without it a restart logs everyone out (safe, but rude).
//! - Replicas and failover: the store talks to the primary; the last writes before a
//!   failover may be lost, which at worst logs a user out or lets a just-rotated refresh
//!   token work once more within its generation.
//! - ACLs: the store sends `EVALSHA` (and `SCRIPT LOAD` after a `NOSCRIPT`), `HGET`,
//!   `HGETALL` and `DEL`; its scripts call `HSET`, `HDEL`, `ZADD`, `ZREM`, `ZSCORE`,
//!   `ZCOUNT`, `ZRANGE`, `ZRANGEBYSCORE` and `EXPIRE`. A least-privilege user for the default
//!   prefix (tested in `tests/redis_faults.rs`):
//!   `ACL SETUSER charon on >CHANGE-ME resetkeys ~charon:* resetchannels -@all +evalsha
//!   +script|load +hget +hgetall +del +hset +hdel +zadd +zrem +zscore +zrange
//!   +zrangebyscore +zcount +expire +ping` (on Cluster add `+cluster|slots`; see
//!   `SECURITY.md`).
//! - Timeouts: [`connect_timeout`](crate::store::redis::RedisStoreBuilder::connect_timeout)
//!   (default 1 s) and
//!   [`response_timeout`](crate::store::redis::RedisStoreBuilder::response_timeout)
//!   (default 500 ms) bound every operation. A request that needs the store answers 503
//!   within them when Redis is down; access-token routes do not touch Redis and keep
//!   working.
//!
//! **Defence in depth.** Blobs are HMAC-SHA256-signed with a key derived from the base
//! secret (salt `RedisStore HMAC`, as Charon). Someone who can write to Redis cannot forge
//! or move a session: a bad signature, or a blob that names another user, type or id,
//! reads as "not found".
//!
//! **Memory.** About 900 bytes for a user's first session and about 620 bytes for each
//! further one (Redis 7.0, `MEMORY USAGE` of both keys).
