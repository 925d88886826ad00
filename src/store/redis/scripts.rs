//! Lua scripts. Each one receives every key it touches in `KEYS` (both share one hash tag,
//! so they sit in one Cluster slot) and uses only commands available since Redis 6.2.
//! They run through [`redis::Script`], which sends `EVALSHA` and, on `NOSCRIPT` (after a
//! `SCRIPT FLUSH`, a restart or a failover), loads the script and retries.

use std::sync::LazyLock;

/// The Lua tail both write scripts share (with `hkey` and `zkey` in scope): set both keys to
/// expire with their newest member, or delete both when none is left. This is what keeps
/// every key's TTL at most its latest session's expiry.
macro_rules! expire_with_newest_member {
    () => {
        r"
local top = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
if #top == 0 then
  redis.call('DEL', hkey, zkey)
else
  local at = string.format('%d', tonumber(top[2]))
  redis.call('EXPIREAT', hkey, at)
  redis.call('EXPIREAT', zkey, at)
end
"
    };
}

/// Script reply: the write happened.
pub(crate) const UPSERT_OK: i64 = 0;
/// Script reply: the lock check failed (live session on create, other version on update).
pub(crate) const UPSERT_CONFLICT: i64 = 1;
/// Script reply: update of a session that is absent or expired.
pub(crate) const UPSERT_NOT_FOUND: i64 = 2;

/// Optimistic-locking upsert.
///
/// `KEYS`: `[hash, zset]`.
/// `ARGV`: `[sid, mode ("c" | "u"), expected lock, new lock, blob, refresh_expires_at, now]`.
///
/// 1. A session is live when its zset score is `>= now` and its lock field exists.
///    Create: a live session gives `1` (conflict). Update: an absent or expired session gives
///    `2` (not found), a lock field other than the expected version gives `1` (conflict).
/// 2. Writes the blob and the lock field (`HSET`), and the expiry (`ZADD`).
/// 3. Prunes up to 1000 expired members (score `< now`): `HDEL sid l.sid`, `ZREM`.
/// 4. Sets the expiry of both keys to the highest score left (`EXPIREAT`), so no key
///    outlives its newest session and no key is left without a TTL.
pub(crate) const UPSERT_LUA: &str = concat!(
    r"
local hkey = KEYS[1]
local zkey = KEYS[2]
local sid = ARGV[1]
local lfield = 'l.' .. sid
local now = tonumber(ARGV[7])

local score = redis.call('ZSCORE', zkey, sid)
local cur = redis.call('HGET', hkey, lfield)
local live = score and cur and tonumber(score) >= now
if ARGV[2] == 'c' then
  if live then return 1 end
else
  if not live then return 2 end
  if cur ~= ARGV[3] then return 1 end
end

redis.call('HSET', hkey, sid, ARGV[5], lfield, ARGV[4])
redis.call('ZADD', zkey, ARGV[6], sid)

local dead = redis.call('ZRANGEBYSCORE', zkey, '-inf', '(' .. ARGV[7], 'LIMIT', 0, 1000)
for _, m in ipairs(dead) do
  redis.call('HDEL', hkey, m, 'l.' .. m)
  redis.call('ZREM', zkey, m)
end

",
    expire_with_newest_member!(),
    r"
return 0
",
);

/// Delete one session.
///
/// `KEYS`: `[hash, zset]`. `ARGV`: `[sid]`.
///
/// `HDEL sid l.sid`, `ZREM sid`, then sets both keys' expiry to the highest score left, or
/// deletes both keys when no member is left. Returns the number of hash fields removed.
pub(crate) const DELETE_LUA: &str = concat!(
    r"
local hkey = KEYS[1]
local zkey = KEYS[2]
local sid = ARGV[1]
local n = redis.call('HDEL', hkey, sid, 'l.' .. sid)
redis.call('ZREM', zkey, sid)
",
    expire_with_newest_member!(),
    r"
return n
",
);

/// The scripts, hashed once.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) upsert: redis::Script,
    pub(crate) delete: redis::Script,
}

/// Process-wide script handles.
pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    upsert: redis::Script::new(UPSERT_LUA),
    delete: redis::Script::new(DELETE_LUA),
});
