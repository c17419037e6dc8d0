//! The session store's writes on a Redis Cluster (feature `cluster`).
//!
//! A record and its user's index live in different hash slots, often on different nodes, and
//! Redis Cluster runs a script only on keys of one slot. So here every script touches exactly
//! one key, and the steps of a write that spans two keys run in an order that keeps one
//! invariant, whatever fails between them:
//!
//! > **Every live record that names a user is listed in that user's index, with a score no
//! > earlier than the record's expiry.**
//!
//! An index entry is therefore always written *before* the record that needs it, and removed
//! only *after* the record stopped needing it. A failure between two steps can only leave an
//! extra entry (one whose record is gone or belongs to someone else), never a missing one.
//! Extra entries are harmless: `list_for_user` and `delete_for_user` check each record's own
//! user, and each index drops its entries once their score is past (`tidy`, on every write to
//! it), so an extra entry lasts at most until the expiry it was written with.
//!
//! | call | steps, in order |
//! |---|---|
//! | `create` | index entry (if signed in); the record, unless its key is taken |
//! | `save` | the record, compare-and-set on its version; when the user changed or the index entry's score is behind the new expiry, the script changes nothing and asks for the entry first, then runs again; the old user's entry removed after a user change |
//! | `renew` | the new record's index entry; the new record, unless its key is taken; the old record taken (deleted) compare-and-set on its version, else the new record is deleted again (no one holds its id yet); the old entry removed |
//! | `delete` | the record; then its index entry |
//! | `delete_for_user` | the index read; each listed record deleted if it still names the user; only those entries removed (an entry written meanwhile by a sign-in stays) |
//!
//! Index entries are written with a headroom ([`INDEX_HEADROOM`]) past the record's expiry,
//! and the record remembers the score its entry has (field `x`): a save that slides the expiry
//! forward within the headroom needs no index write, so a signed-in save is one script call,
//! and only about one save an hour pays a second call for the index.
//!
//! A crash between two steps is covered too: a record created for a renew whose old record was
//! then not taken is an orphan nobody holds the id of, and expires at its own expiry.

use std::collections::HashSet;

use futures_util::future::join_all;
use redis::{RedisResult, Script};
use session_core::{
    store::{SessionKey, SessionRecord, StoreError},
    UnixTime, UserId,
};
use std::sync::LazyLock;

use crate::error;
use crate::store::{expire_at, live_records, unexpected, RedisStore};

/// How far past a record's expiry its index entry is scored.
pub(crate) const INDEX_HEADROOM: u64 = 3600;

/// The index score written for `record`.
fn indexed_until(record: &SessionRecord) -> u64 {
    expire_at(record).saturating_add(INDEX_HEADROOM)
}

/// `tidy(index)` as in [`crate::scripts`]: drop the entries whose score is past by Redis'
/// clock, and expire the index with its latest entry.
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

/// KEYS: user index. ARGV: score, key hex. Adds the entry, or raises its score (never lowers
/// it: `GT`), then tidies the index.
static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
tidy(KEYS[1])
return 1
"
    ))
});

/// KEYS: user index. ARGV: key hex. Removes the entry and tidies the index.
static INDEX_REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_tidy!(
        r"
redis.call('ZREM', KEYS[1], ARGV[1])
tidy(KEYS[1])
return 1
"
    ))
});

/// KEYS: record. ARGV: version, bytes, expire-at, user id or empty, the index entry's score
/// (with a user), the key hex of the record a renew replaces, or empty.
/// Returns 1 when created, 0 when the key is taken (nothing changed).
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2], 'u', ARGV[4], 'x', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'p', ARGV[6])
end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
",
    )
});

/// KEYS: record. ARGV: expected version, new version, bytes, expire-at, user id or empty, the
/// index entry's score just written, or empty.
///
/// Returns `{code, old user}`: 1 saved, 0 version conflict, -1 no record (nothing changed in
/// both), -4 when the record names a user whose index entry must be written (or raised) first:
/// nothing changed, call again with that entry's score.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('HMGET', KEYS[1], 'v', 'u', 'x')
if not current[1] then
  return {-1, false}
end
if current[1] ~= ARGV[1] then
  return {0, false}
end
local user = ARGV[5]
if user ~= '' then
  if ARGV[6] == '' then
    if current[2] ~= user or not current[3] or tonumber(current[3]) < tonumber(ARGV[4]) then
      return {-4, false}
    end
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'u', user)
  else
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'u', user, 'x', ARGV[6])
  end
else
  redis.call('HDEL', KEYS[1], 'u', 'x')
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
end
redis.call('EXPIREAT', KEYS[1], ARGV[4])
return {1, current[2] or false}
",
    )
});

/// KEYS: record. ARGV: expected version. Deletes the record if it has that version.
/// Returns `{code, user}`: 1 taken, 0 version conflict, -1 no record.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('HMGET', KEYS[1], 'v', 'u')
if not current[1] then
  return {-1, false}
end
if current[1] ~= ARGV[1] then
  return {0, false}
end
redis.call('DEL', KEYS[1])
return {1, current[2] or false}
",
    )
});

/// KEYS: record. Deletes it, whatever it holds; returns the user it named, if any.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local user = false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  user = redis.call('HGET', KEYS[1], 'u')
end
redis.call('DEL', KEYS[1])
return user
",
    )
});

/// KEYS: record. ARGV: user id. Deletes the record if it names that user.
/// Returns `{1, the key hex it was renewed from, if any}` when it did, else `{0, false}`.
static DELETE_IF_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  local current = redis.call('HMGET', KEYS[1], 'u', 'p')
  if current[1] == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return {1, current[2] or false}
  end
end
return {0, false}
",
    )
});

/// Writes (or raises) `user`'s index entry for `key_hex`.
async fn index_add(
    store: &RedisStore,
    op: &'static str,
    user: &UserId,
    key_hex: &str,
    score: u64,
) -> Result<(), StoreError> {
    let mut invocation = INDEX_ADD.prepare_invoke();
    invocation
        .key(store.index_key(user))
        .arg(score)
        .arg(key_hex);
    store.server().invoke::<i64>(op, &invocation).await?;
    Ok(())
}

/// Removes `user`'s index entry for `key_hex` after the record stopped needing it. Only
/// tidying (the invariant holds without it, and the entry goes at its score anyway), so a
/// failure is logged, not returned.
async fn index_remove(store: &RedisStore, op: &'static str, user: &UserId, key_hex: &str) {
    let mut invocation = INDEX_REMOVE.prepare_invoke();
    invocation.key(store.index_key(user)).arg(key_hex);
    if let Err(err) = store.server().invoke::<i64>(op, &invocation).await {
        tracing::debug!(error = %err, "could not remove an entry from a user index; it goes at its expiry");
    }
}

fn create_invocation(
    store: &RedisStore,
    record: &SessionRecord,
    key_hex: &str,
    renewed_from: Option<&str>,
) -> redis::ScriptInvocation<'static> {
    let mut invocation = CREATE.prepare_invoke();
    invocation
        .key(store.record_key_hex(key_hex))
        .arg(record.version)
        .arg(record.to_bytes())
        .arg(expire_at(record));
    match &record.user_id {
        Some(user) => invocation.arg(user.as_str()).arg(indexed_until(record)),
        None => invocation.arg("").arg(""),
    };
    invocation.arg(renewed_from.unwrap_or(""));
    invocation
}

pub(crate) async fn create(store: &RedisStore, record: &SessionRecord) -> Result<(), StoreError> {
    let key_hex = record.key.to_hex();
    if let Some(user) = &record.user_id {
        index_add(store, "create", user, &key_hex, indexed_until(record)).await?;
    }
    let invocation = create_invocation(store, record, &key_hex, None);
    match store.server().invoke::<i64>("create", &invocation).await? {
        1 => Ok(()),
        // The entry just written stays: the stored record may be this user's and need it.
        0 => Err(StoreError::Collision),
        other => Err(unexpected("create", other)),
    }
}

pub(crate) async fn save(
    store: &RedisStore,
    record: &SessionRecord,
    expected_version: u64,
) -> Result<(), StoreError> {
    let key_hex = record.key.to_hex();
    let invocation = |indexed: Option<u64>| {
        let mut invocation = SAVE.prepare_invoke();
        invocation
            .key(store.record_key_hex(&key_hex))
            .arg(expected_version)
            .arg(record.version)
            .arg(record.to_bytes())
            .arg(expire_at(record))
            .arg(record.user_id.as_ref().map_or("", UserId::as_str));
        match indexed {
            Some(score) => invocation.arg(score),
            None => invocation.arg(""),
        };
        invocation
    };
    let mut reply: (i64, Option<String>) = store.server().invoke("save", &invocation(None)).await?;
    if let (-4, Some(user)) = (reply.0, &record.user_id) {
        let score = indexed_until(record);
        index_add(store, "save", user, &key_hex, score).await?;
        reply = store
            .server()
            .invoke("save", &invocation(Some(score)))
            .await?;
    }
    match reply {
        (1, old_user) => {
            let old_user = old_user.map(UserId::new);
            if let Some(old) = old_user.filter(|old| record.user_id.as_ref() != Some(old)) {
                index_remove(store, "save", &old, &key_hex).await;
            }
            Ok(())
        }
        (0, _) => Err(StoreError::Conflict),
        (-1, _) => Err(StoreError::NotFound),
        (other, _) => Err(unexpected("save", other)),
    }
}

pub(crate) async fn renew(
    store: &RedisStore,
    old: &SessionKey,
    expected_version: u64,
    record: &SessionRecord,
) -> Result<(), StoreError> {
    let new_hex = record.key.to_hex();
    if let Some(user) = &record.user_id {
        index_add(store, "renew", user, &new_hex, indexed_until(record)).await?;
    }
    let old_hex = old.to_hex();
    let create = create_invocation(store, record, &new_hex, Some(&old_hex));
    match store.server().invoke::<i64>("renew", &create).await? {
        1 => {}
        0 => return Err(StoreError::Collision),
        other => return Err(unexpected("renew", other)),
    }
    let mut take = TAKE.prepare_invoke();
    take.key(store.record_key(old)).arg(expected_version);
    let taken = store
        .server()
        .invoke::<(i64, Option<String>)>("renew", &take)
        .await;
    let (code, old_user) = match taken {
        Ok(reply) => reply,
        Err(err) => {
            // Unknown whether the old record was taken: the new one stays (if it was, it is the
            // session now; if not, it is an orphan no one holds the id of, gone at its expiry).
            return Err(err);
        }
    };
    if code != 1 {
        // The old record changed or went: undo the new one, which no one holds the id of yet.
        let mut undo = DELETE.prepare_invoke();
        undo.key(store.record_key_hex(&new_hex));
        if let Err(err) = store
            .server()
            .invoke::<Option<String>>("renew", &undo)
            .await
        {
            tracing::debug!(error = %err, "could not delete a renewed record that lost its race; it goes at its expiry");
        }
        if let Some(user) = &record.user_id {
            index_remove(store, "renew", user, &new_hex).await;
        }
        return Err(match code {
            0 => StoreError::Conflict,
            -1 => StoreError::NotFound,
            other => unexpected("renew", other),
        });
    }
    if let Some(old_user) = old_user {
        index_remove(store, "renew", &UserId::new(old_user), &old_hex).await;
    }
    Ok(())
}

pub(crate) async fn delete(store: &RedisStore, key: &SessionKey) -> Result<(), StoreError> {
    let mut invocation = DELETE.prepare_invoke();
    invocation.key(store.record_key(key));
    let user: Option<String> = store.server().invoke("delete", &invocation).await?;
    if let Some(user) = user {
        index_remove(store, "delete", &UserId::new(user), &key.to_hex()).await;
    }
    Ok(())
}

/// At most this many reads of the index in one `delete_for_user`.
const MAX_DELETE_PASSES: usize = 8;

/// Reads the index and deletes what it names, then reads it again for entries it did not have
/// before, until there are none: a renew running meanwhile may have taken a listed record
/// (found gone) after writing its new record's entry, which the next read then finds. A record
/// made by a renew (it names the record it replaced) is not counted when the record it
/// replaced was deleted here too: that was one session.
pub(crate) async fn delete_for_user(store: &RedisStore, user: &UserId) -> Result<u64, StoreError> {
    let mut seen = HashSet::new();
    // (key hex, the key hex it was renewed from)
    let mut deleted: Vec<(String, Option<String>)> = Vec::new();
    let mut failure = None;
    for _ in 0..MAX_DELETE_PASSES {
        let members = index_members(store, "delete_for_user", user).await?;
        let fresh: Vec<String> = members
            .into_iter()
            .filter(|member| seen.insert(member.clone()))
            .collect();
        if fresh.is_empty() {
            break;
        }
        let calls = fresh.iter().map(|key_hex| {
            let mut invocation = DELETE_IF_USER.prepare_invoke();
            invocation
                .key(store.record_key_hex(key_hex))
                .arg(user.as_str());
            async move {
                let mut conn = store.server().conn();
                invocation
                    .invoke_async::<(i64, Option<String>)>(&mut conn)
                    .await
            }
        });
        let replies: Vec<RedisResult<(i64, Option<String>)>> = store
            .server()
            .run("delete_for_user", async { Ok(join_all(calls).await) })
            .await?;
        for (key_hex, reply) in fresh.into_iter().zip(replies) {
            match reply {
                Ok((1, renewed_from)) => deleted.push((key_hex, renewed_from)),
                Ok(_) => {}
                Err(err) if error::is_wrong_type(&err) => {}
                Err(err) => failure = Some(error::store_error("delete_for_user", err)),
            }
        }
    }
    // Only the entries whose records were deleted here: an entry without its record may be a
    // sign-in whose record is being written right now.
    if !deleted.is_empty() {
        let hexes: Vec<&String> = deleted.iter().map(|(hex, _)| hex).collect();
        let mut conn = store.server().conn();
        let removed: Result<i64, _> = store
            .server()
            .run(
                "delete_for_user",
                redis::cmd("ZREM")
                    .arg(store.index_key(user))
                    .arg(&hexes)
                    .query_async(&mut conn),
            )
            .await;
        if let Err(err) = removed {
            tracing::debug!(error = %err, "could not remove entries from a user index; they go at their expiry");
        }
    }
    if let Some(err) = failure {
        // Some records may remain: the caller is told, and calls again.
        return Err(err);
    }
    let gone: HashSet<&String> = deleted.iter().map(|(hex, _)| hex).collect();
    let sessions = deleted
        .iter()
        .filter(|(_, from)| from.as_ref().is_none_or(|from| !gone.contains(from)))
        .count();
    Ok(sessions as u64)
}

pub(crate) async fn list_for_user(
    store: &RedisStore,
    user: &UserId,
    now: UnixTime,
) -> Result<Vec<SessionRecord>, StoreError> {
    let members = index_members(store, "list_for_user", user).await?;
    let reads = members.iter().map(|key_hex| {
        let key = store.record_key_hex(key_hex);
        async move {
            let mut conn = store.server().conn();
            redis::cmd("HGET")
                .arg(key)
                .arg("r")
                .query_async::<Option<Vec<u8>>>(&mut conn)
                .await
        }
    });
    let replies = store
        .server()
        .run("list_for_user", async { Ok(join_all(reads).await) })
        .await?;
    // Entries without a record are left for `tidy`: one may be a sign-in being written.
    let (live, _gone) = live_records(user, now, &members, replies)?;
    Ok(live)
}

async fn index_members(
    store: &RedisStore,
    op: &'static str,
    user: &UserId,
) -> Result<Vec<String>, StoreError> {
    let mut conn = store.server().conn();
    store
        .server()
        .run(
            op,
            redis::cmd("ZRANGE")
                .arg(store.index_key(user))
                .arg(0)
                .arg(-1)
                .query_async(&mut conn),
        )
        .await
}
