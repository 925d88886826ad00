//! Lua scripts. Each one receives every key it touches in `KEYS` (both share one hash tag,
//! so they sit in one Cluster slot) and uses only commands available since Redis 6.2.
//! They run through [`redis::Script`], which sends `EVALSHA` and, on `NOSCRIPT` (after a
//! `SCRIPT FLUSH`, a restart or a failover), loads the script and retries.

use std::sync::LazyLock;

/// The Lua tail both write scripts share (with `hkey`, `zkey` and `now`, the caller's
/// time, in scope): make both keys expire with their newest member, or delete both when no
/// live member is left. This is what keeps every key's TTL at most its latest session's
/// expiry, and never less.
///
/// The TTL is relative (`EXPIRE`): `newest refresh_expires_at − now + 1` seconds, counted
/// by Redis from this write. Redis's own clock never enters the computation, so a Redis
/// clock ahead of or behind the application's changes nothing; the `+ 1` covers the
/// fraction of the second `now` already spent, so no key goes before its newest
/// session's last second (as the application counts it) has passed.
macro_rules! expire_with_newest_member {
    () => {
        r"
local top = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
local ttl = 0
if #top > 0 then ttl = tonumber(top[2]) - now + 1 end
if ttl < 1 then
  redis.call('DEL', hkey, zkey)
else
  local secs = string.format('%d', ttl)
  redis.call('EXPIRE', hkey, secs)
  redis.call('EXPIRE', zkey, secs)
end
"
    };
}

/// The Lua line that publishes the invalidation of the session hash `hkey` on the channel
/// `channel` (both in scope). See the [module docs](self#invalidation-messages).
macro_rules! publish_invalidation {
    () => {
        r"
redis.call('PUBLISH', channel, hkey)
"
    };
}

/// Script reply code: the write happened.
pub(crate) const UPSERT_OK: i64 = 0;
/// Script reply code: the lock check failed (live session on create, other version on
/// update).
pub(crate) const UPSERT_CONFLICT: i64 = 1;
/// Script reply code: update of a session that is absent or expired.
pub(crate) const UPSERT_NOT_FOUND: i64 = 2;
/// Script reply code: nothing written, the session would outlive the index horizon; raise
/// the user's type index ([`TYPE_INDEX_LUA`]) and call again with the new horizon.
pub(crate) const UPSERT_NEEDS_INDEX: i64 = 3;

/// Optimistic-locking upsert, with the session cap on create.
///
/// `KEYS`: `[hash, zset, index horizon]`.
/// `ARGV`: `[sid, mode ("c" | "u"), expected lock, new lock, blob, refresh_expires_at, now,
/// max sessions (0: no cap), raised horizon (0: none), invalidation channel]`.
///
/// Replies `{code, evicted}`: a reply code (`UPSERT_*`) and the ids evicted (empty but on a
/// successful capped create).
///
/// 1. A session is live when its zset score is `>= now` and its lock field exists.
///    Create: a live session gives `1` (conflict). Update: an absent or expired session gives
///    `2` (not found), a lock field other than the expected version gives `1` (conflict).
///    Then the type index: when `refresh_expires_at` lies after both the stored index
///    horizon and the raised one, gives `3` (needs index) and writes nothing; a raised
///    horizon above the stored one is stored with the write (`HSET until`, `EXPIRE` at it).
/// 2. Create with a cap: when the other live members (score `>= now`, the new id left out)
///    number `cap` or more, removes the lowest-scored ones
///    (`ZRANGEBYSCORE now +inf LIMIT 0 n`: lowest score first, ties in member byte order)
///    until `cap − 1` are left: `HDEL sid l.sid`, `ZREM`.
/// 3. Writes the blob and the lock field (`HSET`), and the expiry (`ZADD`).
/// 4. Prunes up to 1000 expired members (score `< now`): `HDEL sid l.sid`, `ZREM`.
/// 5. Sets both keys to expire with the highest score left (see
///    `expire_with_newest_member!`), so no key outlives its newest session and no key is
///    left without a TTL.
/// 6. Publishes the hash's name on the invalidation channel (`publish_invalidation!`) after
///    an update or a create that evicted. (A plain create needs none: no instance can
///    have cached a session under a new key, as only live sessions read back are cached.)
pub(crate) const UPSERT_LUA: &str = concat!(
    r"
local hkey = KEYS[1]
local zkey = KEYS[2]
local sid = ARGV[1]
local lfield = 'l.' .. sid
local now = tonumber(ARGV[7])
local cap = tonumber(ARGV[8])
local channel = ARGV[10]

local score = redis.call('ZSCORE', zkey, sid)
local cur = redis.call('HGET', hkey, lfield)
local live = score and cur and tonumber(score) >= now
if ARGV[2] == 'c' then
  if live then return {1, {}} end
else
  if not live then return {2, {}} end
  if cur ~= ARGV[3] then return {1, {}} end
end

-- Type index (TYPE_INDEX_LUA): no session may outlive its type's entry in the user's index.
local stored_horizon = tonumber(redis.call('HGET', KEYS[3], 'until') or '0') or 0
local raised = tonumber(ARGV[9])
if tonumber(ARGV[6]) > math.max(stored_horizon, raised) then return {3, {}} end

local evicted = {}
if ARGV[2] == 'c' and cap > 0 then
  -- A member under the new id without its lock field is no live session, but ZCOUNT sees
  -- it: leave it out of the count and of the eviction (the write below replaces it).
  local own = (score and tonumber(score) >= now) and 1 or 0
  local excess = redis.call('ZCOUNT', zkey, ARGV[7], '+inf') - own - (cap - 1)
  if excess > 0 then
    local oldest = redis.call('ZRANGEBYSCORE', zkey, ARGV[7], '+inf', 'LIMIT', 0, excess + own)
    for _, m in ipairs(oldest) do
      if m ~= sid and #evicted < excess then
        redis.call('HDEL', hkey, m, 'l.' .. m)
        redis.call('ZREM', zkey, m)
        evicted[#evicted + 1] = m
      end
    end
  end
end

redis.call('HSET', hkey, sid, ARGV[5], lfield, ARGV[4])
redis.call('ZADD', zkey, ARGV[6], sid)
if raised > stored_horizon then
  redis.call('HSET', KEYS[3], 'until', ARGV[9])
  redis.call('EXPIRE', KEYS[3], string.format('%d', raised - now + 1))
end

local dead = redis.call('ZRANGEBYSCORE', zkey, '-inf', '(' .. ARGV[7], 'LIMIT', 0, 1000)
for _, m in ipairs(dead) do
  redis.call('HDEL', hkey, m, 'l.' .. m)
  redis.call('ZREM', zkey, m)
end

",
    expire_with_newest_member!(),
    r"
if ARGV[2] ~= 'c' or #evicted > 0 then
",
    publish_invalidation!(),
    r"
end
return {0, evicted}
",
);

/// Delete one session.
///
/// `KEYS`: `[hash, zset]`. `ARGV`: `[sid, now, invalidation channel]`.
///
/// `HDEL sid l.sid`, `ZREM sid`, then sets both keys to expire with the highest score left
/// (relative to `now`), or deletes both keys when no live member is left, and publishes
/// the hash's name on the invalidation channel. Returns the number of hash fields removed.
pub(crate) const DELETE_LUA: &str = concat!(
    r"
local hkey = KEYS[1]
local zkey = KEYS[2]
local sid = ARGV[1]
local now = tonumber(ARGV[2])
local channel = ARGV[3]
local n = redis.call('HDEL', hkey, sid, 'l.' .. sid)
redis.call('ZREM', zkey, sid)
",
    expire_with_newest_member!(),
    publish_invalidation!(),
    r"
return n
",
);

/// Delete every session of one user and type.
///
/// `KEYS`: `[hash, zset]`. `ARGV`: `[invalidation channel]`.
///
/// `DEL hash zset`, and publishes the hash's name on the invalidation channel. Returns the
/// number of keys removed.
pub(crate) const DELETE_ALL_LUA: &str = concat!(
    r"
local hkey = KEYS[1]
local channel = ARGV[1]
local n = redis.call('DEL', hkey, KEYS[2])
",
    publish_invalidation!(),
    r"
return n
",
);

/// Raise the user's type index: the type `ARGV[1]` may have live sessions until `ARGV[2]`.
///
/// `KEYS`: `[type index]` (the per-user key, a slot of its own). `ARGV`: `[session type,
/// until, now]`.
///
/// Every (user, type) hash tag is a slot of its own, so no script can see all of a user's
/// types; this index lists them, in the user's slot. The invariant: while a session is
/// live, its type's score here is at least its `refresh_expires_at`. The upsert script
/// keeps it: it refuses (reply `3`) a write past the index horizon it stored, and the
/// store then runs this script, then the upsert again with the new horizon, which the
/// upsert stores with the write. Scores only grow (`ZADD GT`); members whose score has
/// passed (`< now`: every session of that type has ended) are removed; the key expires
/// with its highest score. Nothing else removes a member: a type whose sessions were
/// deleted stays listed until its score passes (deleting it here could race a login of
/// that type in the other slot). Returns 0.
pub(crate) const TYPE_INDEX_LUA: &str = r"
local ikey = KEYS[1]
local now = tonumber(ARGV[3])
redis.call('ZADD', ikey, 'GT', ARGV[2], ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', ikey, '-inf', '(' .. ARGV[3], 'LIMIT', 0, 1000)
for _, m in ipairs(dead) do redis.call('ZREM', ikey, m) end
local top = redis.call('ZRANGE', ikey, -1, -1, 'WITHSCORES')
local ttl = 0
if #top > 0 then ttl = tonumber(top[2]) - now + 1 end
if ttl < 1 then
  redis.call('DEL', ikey)
else
  redis.call('EXPIRE', ikey, string.format('%d', ttl))
end
return 0
";

/// The scripts, hashed once.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) upsert: redis::Script,
    pub(crate) delete: redis::Script,
    pub(crate) delete_all: redis::Script,
    pub(crate) type_index: redis::Script,
}

/// Process-wide script handles.
pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    upsert: redis::Script::new(UPSERT_LUA),
    delete: redis::Script::new(DELETE_LUA),
    delete_all: redis::Script::new(DELETE_ALL_LUA),
    type_index: redis::Script::new(TYPE_INDEX_LUA),
});
