//! The Lua scripts that make every write atomic: a record and its user-index entry change together
//! or not at all.
//!
//! Key layout (see the crate docs): a record is the hash `{prefix}s:{key_hex}` with fields `v`
//! (version, decimal), `r` (the record's bytes) and `u` (user id, absent for anonymous
//! sessions); the user index is the set `{prefix}u:{user_id}` of key hexes.
//!
//! Each script declares the keys it is given, but `save`, `delete` and `delete_for_user` also
//! reach keys they only learn inside the script (the stored user's index, the records of a
//! user). That is fine on a standalone server or a replicated primary; Redis Cluster is not
//! supported.
//!
//! Commands that can fail on a damaged key (`SADD` on a user index of another type) run before
//! the record is written, so a failing script leaves no record without its index entry.
//!
//! Expiry arguments are Unix seconds for `EXPIREAT`. A user index is only ever extended
//! (`extend`), to the latest expiry of any record added to it, so it never outlives all of its
//! records; entries of records that expired meanwhile are removed by `list_for_user`.

use std::sync::LazyLock;

use redis::Script;

/// Shared by the scripts that add a record to a user index: extends the index's expiry to `at`
/// unless it already lasts longer (`EXPIRETIME` is -1 for a set just created by `SADD`).
macro_rules! with_extend {
    ($body:literal) => {
        concat!(
            r"
local function extend(index, at)
  local current = redis.call('EXPIRETIME', index)
  if current == -1 or current < tonumber(at) then
    redis.call('EXPIREAT', index, at)
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
    Script::new(with_extend!(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[4])
  extend(KEYS[2], ARGV[3])
  redis.call('HSET', KEYS[1], 'u', ARGV[5])
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
"
    ))
});

/// `save`. KEYS: record, [new user index]. ARGV: expected version, new version, bytes,
/// expire-at, key hex, user-index key prefix, [new user id].
/// Returns 1 when saved, 0 on a version conflict, -1 when the record does not exist (it is not
/// re-created).
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_extend!(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then
  return 0
end
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[5])
  extend(KEYS[2], ARGV[4])
end
local old_user = redis.call('HGET', KEYS[1], 'u')
if old_user and old_user ~= ARGV[7] then
  redis.call('SREM', ARGV[6] .. old_user, ARGV[5])
end
if KEYS[2] then
  redis.call('HSET', KEYS[1], 'u', ARGV[7])
else
  redis.call('HDEL', KEYS[1], 'u')
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
return 1
"
    ))
});

/// `delete`. KEYS: record. ARGV: user-index key prefix, key hex.
/// Deletes the record and its user-index entry; a key of another type (corrupt) is deleted too.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local user = redis.call('HGET', KEYS[1], 'u')
  if user then
    redis.call('SREM', ARGV[1] .. user, ARGV[2])
  end
end
return redis.call('DEL', KEYS[1])
",
    )
});

/// `delete_for_user`. KEYS: user index. ARGV: record key prefix, user id.
/// Deletes every indexed record that still exists and still belongs to the user, then the
/// index; returns how many records were deleted.
pub(crate) static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local deleted = 0
for _, hex in ipairs(redis.call('SMEMBERS', KEYS[1])) do
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
