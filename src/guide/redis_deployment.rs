//! # Redis deployment
//!
//! The [`RedisStore`](crate::store::redis::RedisStore) works with Redis 6.2 or later and
//! Valkey: standalone (through `ConnectionManager`, which reconnects on its own), Cluster
//! (through the cluster-async client) or behind Sentinel (the store follows failovers).
//! Every operation is one round trip; every write is one Lua script run with `EVALSHA`
//! (re-loaded transparently after a restart, a failover or `SCRIPT FLUSH`).
//!
//! What follows is what to configure, and what each choice loses, as measured by the tests
//! named in each section (all against real `redis-server` 7.0 processes on loopback).
//!
//! ## Layout and memory
//!
//! Per (user, session type), under one hash tag so both keys live in one Cluster slot: a
//! hash `<prefix>{<user>:<type>}:s` holding `sid -> signed blob` and `l.sid -> lock
//! version`, and a sorted set `<prefix>{<user>:<type>}:e` holding `sid ->
//! refresh_expires_at`. The user id is percent-encoded so no id can collide with another or
//! escape the tag. Writes prune expired members and set both keys to expire with their
//! latest session: no key lives without a TTL and no cleanup job is needed. About 900 bytes
//! for a user's first session and 620 for each further one (`MEMORY USAGE`, Redis 7.0).
//!
//! Set **`maxmemory-policy noeviction`**: an evicting policy may silently drop a session or
//! a lock field; with `noeviction` a full Redis refuses writes (logins and refreshes answer
//! 503, reads and logouts keep working; `out_of_memory_refuses_writes_and_keeps_reads`).
//!
//! ## Persistence: what each setting loses
//!
//! | server setting | a crash of the process loses | an OS crash or power loss loses |
//! |---|---|---|
//! | no persistence | everything: everybody is logged out (safe, disruptive) | everything |
//! | `appendonly yes`, `appendfsync always` | nothing acknowledged (`acknowledged_writes_survive_a_crash`) | nothing acknowledged |
//! | `appendonly yes`, `appendfsync everysec` (Redis' default) | nothing (the OS still has the writes) | up to ~1 s of acknowledged writes |
//! | `appendonly yes`, `appendfsync no` | nothing | up to the OS flush interval (~30 s on Linux) |
//! | RDB snapshots only | the writes since the last snapshot | the same |
//!
//! A lost create or refresh is harmless: the user logs in again, or the client refreshes
//! with its previous token (accepted within its generation). **A lost logout is not**: the
//! whole session comes back, and every refresh token of the logged-out user works again.
//! The fault run's `crash-everysec` scenario (`./scripts/chaos.sh`, see
//! [the fault run](#the-fault-run)) loses the last second of an `everysec` AOF: 24
//! acknowledged logouts were undone, their refresh tokens answering 200 again, and 11
//! sessions whose login was acknowledged in that second were gone (a clean 401). Never
//! restore an old snapshot over a live deployment for the same reason.
//!
//! Deletes are made durable by the store itself with
//! [`DurableDeletes`](crate::store::redis::DurableDeletes): with
//! `DurableDeletes::replicas(0).local_fsync()` a logout succeeds only once `WAITAOF 1 0`
//! confirms the primary fsynced it (Redis ≥ 7.2, checked when connecting:
//! `local_fsync_needs_a_server_with_waitaof`). On Redis 7.0, use `appendfsync always`
//! where an OS crash must not undo logouts, or rely on replicas below.
//!
//! ## Replicas, failover and `WAIT`
//!
//! Replication is asynchronous: a primary acknowledges a write before its replicas have it,
//! and a failover promotes a replica that may lack the last writes. The same resurrection
//! follows: `without_wait_an_acknowledged_logout_is_undone_by_a_failover`
//! (`tests/redis_durability.rs`) acknowledges a logout, kills the primary before the write
//! reaches the replica, promotes the replica and finds the session back.
//!
//! With `DurableDeletes::replicas(1)` the store sends `WAIT 1 <timeout>` after every
//! delete, in the same round trip, on a connection of its own (a `WAIT` blocks its
//! connection). The logout succeeds only once a replica has the delete; otherwise it fails
//! with `StoreErrorKind::NotDurable` (the session API answers 503, the client retries,
//! the delete being idempotent): `with_wait_a_logout_that_did_not_replicate_is_not_acknowledged`,
//! `with_wait_an_acknowledged_logout_survives_a_failover`. Deletes are `delete`
//! (logout), `delete_all` (log out everywhere) and the revocation of a reused refresh
//! token, which is a `delete`.
//!
//! **Cost**, measured by `measure_round_trips` (`tests/redis_durability.rs`; debug build, a
//! shared 2-core machine, primary and replica on loopback, 2000–4000 distinct sessions):
//!
//! | | sequential, median (p99) | 16 concurrent tasks |
//! |---|---|---|
//! | delete | 0.43 ms (5.3 ms) | 12 600 deletes/s |
//! | delete + `WAIT 1` | 0.47 ms (45 ms) | 2 660 deletes/s |
//!
//! A durable delete costs one replica acknowledgement more than a plain one; the deletes of
//! one store share one durable connection, so they queue behind each other's `WAIT`:
//! plenty for logouts (they are rare next to refreshes), and reads and refreshes never wait
//! behind them. While the replica is missing every durable delete waits its full timeout
//! (default 100 ms) and fails with `NotDurable`, one after the other: keep the timeout
//! short, alert on `charon_store_errors_total{kind="not_durable"}`.
//!
//! `min-replicas-to-write 1` with a small `min-replicas-max-lag` on the primary narrows the
//! window for every write but does not close it; `WAIT` closes it for deletes.
//!
//! ## Sentinel
//!
//! [`connect_sentinel`](crate::store::redis::RedisStoreBuilder::connect_sentinel) takes the
//! sentinel addresses and the master name. The store asks the sentinels for the master,
//! checks its `ROLE`, and serves calls through a reconnecting connection to it; any failed
//! call makes it ask the sentinels again (in the background, one lookup at a time, at most
//! every 100 ms) and move to the master they name, without a restart.
//! `master_killed_under_load_the_store_follows_the_promoted_replica`
//! (`tests/redis_sentinel.rs`) kills the master under 8 concurrent tasks of
//! create/get/durable-delete with three sentinels (`down-after-milliseconds 500`,
//! `failover-timeout 3000`): calls fail with store errors (`backend`, `timeout`,
//! `unavailable`, `not_durable`) during the window, never a panic, then succeed on the
//! promoted replica; no durably acknowledged delete is lost. The window is the sentinels'
//! detection (`down-after-milliseconds`) plus the election and promotion; durable deletes
//! also need a replica again (the old master returning as one, or another replica).
//!
//! ## Cluster
//!
//! [`connect_cluster`](crate::store::redis::RedisStoreBuilder::connect_cluster) with seed
//! nodes. Both keys of a (user, type) share one slot, so every script runs on one shard;
//! the `WAIT` of a durable delete goes to the same shard in the same pipeline. The fault
//! run's `cluster-failover` (`cluster-node-timeout 2000`) saw a killed shard primary
//! replaced by its replica after 3.8 s and the last 503 at 4.0 s, with no restart; the
//! other shards answered throughout. Fail-fast is off by default on Cluster: one shard's failover would
//! otherwise fail the calls of every shard. The cluster client logs a warning per failed
//! node request during a failover (hundreds a second under load) under the `log` target
//! `redis::cluster_handling::async_connection`: quiet it with `RUST_LOG=warn,redis=error`
//! (see [the store's signals](crate::store::redis#signals)). The fault run's failover logged
//! 807 such warnings in 4 s and, at the time, no `charon::store` warning (the store's
//! warnings marked only the breaker's transitions). With fail-fast off, as on a Cluster, the
//! store now warns too: once when a call finds a node gone (connection lost, or timeouts in
//! a row) and once at the next success, at most one pair per
//! [`WARNING_INTERVAL`](crate::store::redis::WARNING_INTERVAL); on a Cluster the next
//! success may come from another shard, so alert on `charon_store_errors_total` for the
//! length of an outage.
//!
//! ## Outages: timeouts and fail-fast
//!
//! Defaults: connect timeout 500 ms, response timeout 250 ms, each operation bounded by
//! their sum. Measured on the same machine (`measure_round_trips`): a new connection with
//! its handshake took 0.7 ms median over TCP and 36 ms over TLS (p99 13 ms and 246 ms, the
//! TLS handshake of a debug build on a busy host); a store `get` 0.35 ms median (p99
//! 0.8 ms) over TCP and 0.41 ms (p99 2.5 ms) over TLS. The timeouts sit far above a
//! healthy answer and bound how long a request can wait before the store knows Redis is
//! down.
//!
//! From then on it fails fast ([`FailFast`](crate::store::redis::FailFast), on by default
//! for standalone and Sentinel): a lost connection, or 3 timeouts in a row, opens a breaker;
//! every call then fails at once with `StoreErrorKind::Unavailable` and a `retry_after`
//! hint (the probe interval, 500 ms), while a background `PING` every 500 ms waits for
//! Redis; its first answer closes the breaker
//! (`known_down_store_fails_fast_and_recovers_without_a_new_store`). Replies from a live
//! server (`OOM`, permission errors) never open it. An HTTP layer answers `Unavailable`
//! with 503 and `Retry-After`. Requests that need no store (access tokens) keep working
//! throughout.
//!
//! An operator sees one `WARN` under the target `charon::store` when the store finds Redis
//! down and one when it recovers (at most one per 10 s; outages in between are counted in
//! the next), and, with the `metrics` feature, `charon_store_errors_total{kind}`.
//!
//! ## TLS
//!
//! `rediss://` URLs (standalone, Cluster seeds, or sentinels) use rustls, with the system's
//! roots or a private CA
//! ([`tls_ca_pem`](crate::store::redis::RedisStoreBuilder::tls_ca_pem) /
//! [`tls_ca_file`](crate::store::redis::RedisStoreBuilder::tls_ca_file)), and a client
//! certificate for servers with `tls-auth-clients yes`
//! ([`tls_client_cert_pem`](crate::store::redis::RedisStoreBuilder::tls_client_cert_pem) /
//! [`tls_client_cert_files`](crate::store::redis::RedisStoreBuilder::tls_client_cert_files)).
//! The host name (or IP address) in the URL must match the server certificate. On Cluster
//! set `tls-cluster yes` (nodes announce their TLS ports) and `tls-replication yes`.
//! `tests/redis_tls.rs` runs the whole store contract over TLS standalone and a TLS Cluster,
//! both requiring client certificates, and checks that a missing client certificate, a
//! wrong CA, or TLS settings on a `redis://` URL fail with a `ConfigError`.
//!
//! ## ACLs
//!
//! The store sends `EVALSHA` (and `SCRIPT LOAD` after a `NOSCRIPT`), `HGET`, `HGETALL`,
//! `DEL` and `PING` (fail-fast probe, `ping()`); with durable deletes `WAIT` (and `WAITAOF`
//! with `local_fsync`, plus `COMMAND INFO` at connect time to detect it); its scripts call
//! `HSET`, `HDEL`, `ZADD`, `ZREM`, `ZSCORE`, `ZCOUNT`, `ZRANGE`, `ZRANGEBYSCORE` and `EXPIRE`. A
//! least-privilege user for the default prefix (tested in `tests/redis_faults.rs`):
//!
//! ```text
//! ACL SETUSER charon on >CHANGE-ME resetkeys ~charon:* resetchannels -@all +evalsha
//!   +script|load +hget +hgetall +del +hset +hdel +zadd +zrem +zscore +zrange
//!   +zrangebyscore +zcount +expire +ping
//! ```
//!
//! Add `+wait` for durable deletes (`+waitaof +command|info` with local fsync), and
//! `+cluster|slots` on Cluster. Sentinels need their own credentials if they require
//! authentication (not yet configurable in the store; see `SECURITY.md`).
//!
//! ## The fault run
//!
//! `./scripts/chaos.sh` starts the demo server (release build) on Redis processes of its
//! own, on loopback, drives 24 looping users (login, `/me`, three refreshes, `/sessions`,
//! logout, a new user id per cycle) and 4 access-only users (`/me`), injects one fault 3 s
//! into each scenario and watches 10 s more. After each run it refreshes every logged-out
//! session's last token (a 200 is a **resurrection**) and every live one (gone: a **lost
//! acknowledged write**, like the refreshes that answered `session_not_found` during the
//! run). Its table, from one run, is in the README's "Reliability" section. The scenarios,
//! and what each shows:
//!
//! - `restart-always`: SIGKILL, restart 2 s later, `appendfsync always`. A process crash:
//!   nothing acknowledged is lost, no resurrection; while Redis is down the store fails fast
//!   (503 answered in about a millisecond) and the breaker closes within one probe interval
//!   of the restart.
//! - `crash-everysec`: `appendfsync everysec` and an OS crash that loses the last second,
//!   simulated by restarting from a copy of the AOF taken 1 s before the kill. Logins of
//!   that second are lost (harmless) and logouts of that second are undone for sessions
//!   created before it (one per looping user, whose cycle straddles the copy):
//!   resurrections with durable deletes off.
//! - `crash-everysec-fsync`: the same with `DurableDeletes::replicas(0).local_fsync()`
//!   (`CHARON_REDIS_DURABLE_DELETES=fsync`): a logout is acknowledged only once `WAITAOF`
//!   confirms the fsync, so the lost second holds no acknowledged logout. Runs only on
//!   Redis ≥ 7.2 (the run records "not run" on 7.0).
//! - `client-pause`: `CLIENT PAUSE 3000 ALL`, a server alive but not answering (a long
//!   fork, a stuck disk): the first calls wait for the response timeout (250 ms), three
//!   timeouts open the breaker, the rest fail fast until the pause ends.
//! - `cluster-failover`: 3 masters with a replica each, one master SIGKILLed; its replica
//!   takes over. Fail-fast is off: calls to that shard wait their timeouts (the p99 during
//!   the fault is the 250 ms response timeout), the other shards answer.
//! - `sentinel-failover`: a master, a replica and three sentinels; the replication link
//!   stalls 1 s before the master is SIGKILLed (its last second never reaches the
//!   replica, what asynchronous replication allows), the sentinels promote the replica, the
//!   store follows, and the old master comes back as a replica of the new one. With durable
//!   deletes off the logouts the master acknowledged in its last second are undone by the
//!   failover: resurrections.
//! - `sentinel-failover-durable`: the same with `DurableDeletes::replicas(1)`
//!   (`CHARON_REDIS_DURABLE_DELETES=1`): no resurrection, because no logout of the stalled
//!   second was acknowledged (503, retried by the client after the failover). The price,
//!   measured: every delete and every capped login waits on the one durable connection
//!   for `WAIT`'s 100 ms timeout; the queue overruns the operation deadline, those
//!   timeouts open the fail-fast breaker although the master is alive, and after the
//!   promotion every durable call fails until a replica is back (the old master, 5.6 s
//!   after the promotion: Redis' default `repl-diskless-sync-delay 5` is most of it).
//!   Store routes answered 503 for 9 s in all. Run two replicas, so that one is left after
//!   a failover, or lower `repl-diskless-sync-delay`.
//! - `flushall`: `FLUSHALL`, data wiped (a wrong `FLUSHALL`, a failover to an empty
//!   replica). Every live session is gone (clean 401 on refresh; the users log in again);
//!   nothing can come back, and access tokens keep working until they expire.
//!
//! In every scenario the answers were 200, 204, 401 or 503: no other 5xx, no dropped
//! connection, and the access-only users never saw anything but 200.
//!
//! ## Defence in depth
//!
//! Blobs are HMAC-SHA256-signed with a key derived from the base secret (salt `RedisStore
//! HMAC`, as Charon). Someone who can write to Redis cannot forge or move a session: a bad
//! signature, or a blob that names another user, type or id, reads as "not found".
