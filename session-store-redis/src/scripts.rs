//! The Lua scripts that make every write atomic: a record and its user-index entry change together
//! or not at all.
//!
//! Key layout (see the crate docs): a record is the hash `{prefix}s:{key_hex}` with fields `v`
//! (version, decimal), `r` (the record's bytes) and `u` (user id, absent for anonymous
//! sessions); the user index is the sorted set `{prefix}u:{user_id}` of key hexes, each scored
//! by its record's expiry (Unix seconds, the same value as the record's `EXPIREAT`).
//!
//! `create` and `renew` touch only the keys they are given in `KEYS`. `save`, `delete` and
//! `delete_for_user` also reach keys they only learn inside the script (the stored user's index,
//! the records of a user). That is fine on a standalone server or a replicated primary; on a
//! Redis Cluster the store runs the one-key scripts of `cluster.rs` instead.
//!
//! Commands that can fail on a damaged key (`ZADD` on a user index of another type) run before
//! the record is written, so a failing script leaves no record without its index entry.
//!
//! Expiry arguments are Unix seconds for `EXPIREAT`. Every script that adds an entry to a user
//! index ends with `tidy` (a save that only moves an existing entry's score lengthens the index's
//! lifetime with `EXPIREAT ... GT` instead): it drops the entries whose record Redis has already expired (score before the
//! current second of Redis' own clock, the clock that expires the records) and sets the index's
//! `EXPIREAT` to its latest entry's score, so the index holds the user's live sessions only,
//! however rarely `list_for_user` runs, and disappears with the last of them.

use std::sync::LazyLock;

use redis::Script;

/// Shared by the scripts that write a user index: `tidy(index)`, as described in the module
/// docs. Redis' `TIME` is safe in scripts (Redis 7 replicates a script's effects, not the
/// script). Scores are whole seconds, so a record whose `EXPIREAT` is `s` is gone (Redis expires
/// it after `s`) before its entry goes (once `TIME` reaches `s + 1`): an entry of a live record
/// is never dropped.
macro_rules! with_tidy {
    ($body:literal) => {
        concat!(
            r"
local function tidy(index)
  local now = redis.call('TIME')[1]
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. now)
  local latest = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if latest then
    redis.call('EXPIREAT', index, latest)
  end
end
",
            $body
        )
    };
}

/// `create`. KEYS: record, [user index]. ARGV: version, bytes, expire-at, key hex, [user id].
/// Returns 1 when created, 0 when the key exists (collision; nothing changed).
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if KEYS[2] then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2], 'u', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2])
end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
if KEYS[2] then
  tidy(KEYS[2])
end
return 1
"
    ))
});

/// `save`. KEYS: record, [new user index]. ARGV: expected version, new version, bytes,
/// expire-at, key hex, user-index key prefix, [new user id].
/// Returns 1 when saved, 0 on a version conflict, -1 when the record does not exist (it is not
/// re-created).
///
/// The common save (the same user, a later expiry) is `HMGET`, `ZADD`, `HSET`, `EXPIREAT` and
/// the index's `EXPIREAT ... GT`: `tidy` runs only when the entry is new to the index (a sign-in
/// or a switch of user), since an existing entry's new score can only need a longer index
/// lifetime, which `GT` gives without reading the index.
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
local current = redis.call('HMGET', KEYS[1], 'v', 'u')
if not current[1] then
  return -1
end
if current[1] ~= ARGV[1] then
  return 0
end
local added = 0
if KEYS[2] then
  added = redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
end
local old_user = current[2]
if old_user and old_user ~= ARGV[7] then
  local old_index = ARGV[6] .. old_user
  redis.call('ZREM', old_index, ARGV[5])
  tidy(old_index)
end
if KEYS[2] then
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'u', ARGV[7])
else
  if old_user then
    redis.call('HDEL', KEYS[1], 'u')
  end
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
end
redis.call('EXPIREAT', KEYS[1], ARGV[4])
if KEYS[2] then
  if added == 1 then
    tidy(KEYS[2])
  else
    redis.call('EXPIREAT', KEYS[2], ARGV[4], 'GT')
  end
end
return 1
"
    ))
});

/// `renew`. KEYS: old record, new record, then user indexes. ARGV: expected version, new
/// version, bytes, expire-at, old key hex, new key hex, `1` if the new record has a user (else
/// `0`), then the user id of each index in KEYS, in the same order (the new record's user
/// first, when it has one).
///
/// Returns `{code, user}`: 1 when renewed, 0 on a version conflict, -1 when the old record does
/// not exist, -2 when the new key is taken (nothing changed in all three cases), and -3 with the
/// old record's user when that user's index is not among KEYS (nothing changed: call again with
/// it).
///
/// Why the -3 round trip: the old record's user is only known inside Redis, and the script
/// touches no key it is not given (what Redis Cluster will require). Rust passes the new
/// record's user index, which is also the old record's in the common cases (a renew of a
/// signed-in session, a login from an anonymous one, whose old record has no index); only a
/// renew that changes or drops the user (a logout, a switch of user) pays a second call, which
/// then names both indexes. Leaving the old entry behind instead would also be harmless (the
/// entry's record is gone and `tidy` drops it at its expiry), but an index that names a deleted
/// session for hours is a trap for the next reader of the layout.
pub(crate) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, false}
end
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then
  return {0, false}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {-2, false}
end
local index_of = {}
for i = 3, #KEYS do
  index_of[ARGV[i + 5]] = KEYS[i]
end
local old_user = redis.call('HGET', KEYS[1], 'u')
local old_index = nil
if old_user then
  old_index = index_of[old_user]
  if not old_index then
    return {-3, old_user}
  end
end
local new_index = nil
if ARGV[7] == '1' then
  new_index = KEYS[3]
  redis.call('ZADD', new_index, ARGV[4], ARGV[6])
end
if old_index then
  redis.call('ZREM', old_index, ARGV[5])
end
if new_index then
  redis.call('HSET', KEYS[2], 'u', ARGV[8])
end
redis.call('HSET', KEYS[2], 'v', ARGV[2], 'r', ARGV[3])
redis.call('EXPIREAT', KEYS[2], ARGV[4])
redis.call('DEL', KEYS[1])
if new_index then
  tidy(new_index)
end
if old_index and old_index ~= new_index then
  tidy(old_index)
end
return {1, false}
"
    ))
});

/// `delete`. KEYS: record. ARGV: user-index key prefix, key hex.
/// Deletes the record and its user-index entry; a key of another type (corrupt) is deleted too.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local user = redis.call('HGET', KEYS[1], 'u')
  if user then
    local index = ARGV[1] .. user
    redis.call('ZREM', index, ARGV[2])
    tidy(index)
  end
end
return redis.call('DEL', KEYS[1])
"
    ))
});

/// `delete_for_user`. KEYS: user index. ARGV: record key prefix, user id.
/// Deletes every indexed record that still exists and still belongs to the user, then the
/// index; returns how many records were deleted.
pub(crate) static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local deleted = 0
for _, hex in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local record = ARGV[1] .. hex
  if redis.call('TYPE', record).ok == 'hash' and redis.call('HGET', record, 'u') == ARGV[2] then
    redis.call('DEL', record)
    deleted = deleted + 1
  end
end
redis.call('DEL', KEYS[1])
return deleted
",
    )
});
