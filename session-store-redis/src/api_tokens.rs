//! [`RedisApiTokenStore`]: session-auth's [`ApiTokenStore`] in Redis: one hash per token under
//! its token hash, a pointer from its id, and a per-owner index.

use std::fmt;
use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{RedisResult, Script};
use session_auth::api_tokens::{ApiTokenRecord, ApiTokenStore, Inserted, TokenHash};
use session_core::{store::StoreError, UnixTime, UserId};

use crate::config::RedisStoreConfig;
use crate::error::{self, UnexpectedReply};
use crate::server::Server;
use crate::store::RedisStore;

/// The API tokens of [`session_auth`]'s [`ApiTokens`](session_auth::api_tokens::ApiTokens) in
/// Redis (feature `auth`).
///
/// Made from a [`RedisStoreConfig`] ([`connect`](Self::connect)) or from a [`RedisStore`],
/// sharing its connection and key prefix ([`from_store`](Self::from_store)). Calls behave like
/// the session store's: one multiplexed connection that reconnects by itself, every call
/// bounded by the same deadline, and the same error kinds (a server down is
/// [`StoreError::Unavailable`] or [`StoreError::Timeout`], a replica is
/// [`StoreError::ReadOnly`], a full server [`StoreError::Full`]). Keys never expire: a revoked
/// or expired token is kept (with its `revoked_at`, or past its `expires_at`) so lists can
/// show it, and nothing here sets a TTL.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use session_auth::api_tokens::{ApiTokens, NewApiToken};
/// use session_core::{Secret, UserId};
/// use session_store_redis::{RedisApiTokenStore, RedisStore, RedisStoreConfig};
///
/// let sessions = RedisStore::connect(RedisStoreConfig::from_env()).await?;
/// let secret = Secret::from_default_env()?;
/// let tokens = ApiTokens::builder(&secret, RedisApiTokenStore::from_store(&sessions)).build();
///
/// let alice = UserId::new("alice");
/// let created = tokens.create(&alice, NewApiToken::named("CI deploy")).await?;
/// assert_eq!(tokens.authenticate(created.secret.expose()).await?.owner, alice);
/// # Ok(()) }
/// ```
///
/// # Key layout
///
/// With the default prefix `session:`, for a token of owner `alice` (hex `616c696365`) whose
/// keyed hash is `{hash_hex}` (64 lowercase hex digits, [`TokenHash::to_hex`]) and whose id is
/// `{id}`:
///
/// | Key | Type | Content |
/// |---|---|---|
/// | `session:{a}h:{hash_hex}` | hash | one token: `id`, `owner`, `name`, `scopes`, `display_prefix`, `created_at`, `last_used_at`, `expires_at`, `revoked_at` |
/// | `session:{a}i:{id}` | string | the token's `{hash_hex}` |
/// | `session:{a}o:616c696365` | set | the `{hash_hex}` of each of the owner's tokens |
///
/// - A token is found by its hash, so `find` (every authenticated request) is one `HMGET`.
///   The hash is the keyed HMAC of the token, never the token: a leaked key name is no token.
/// - The owner is hex-encoded (UTF-8 bytes, lowercase) in its index's name, so any text is
///   safe there; the id is the last part of its key's name, as is. In a token hash the owner
///   and the other text fields are as they are, `scopes` is a JSON array of strings, times are
///   decimal Unix seconds, and absent optional fields (`last_used_at`, `expires_at`,
///   `revoked_at`) are absent fields.
/// - `{a}` is a Redis Cluster hash tag: every API-token key is in one hash slot, so the
///   scripts below, which reach token hashes they learn inside Redis (from an owner's index or
///   an id's pointer), run on a cluster as on one server. API tokens are few (a handful per
///   user) and `find` is one `HMGET`, so one slot (one primary and its replicas) carries them;
///   the sessions, the hot path, spread over every slot. Keep braces out of the key prefix.
/// - Session keys (`{prefix}s:`, `{prefix}u:`) and provider tokens (`{prefix}t:`) under the
///   same prefix never collide with these (`{prefix}{a}`).
///
/// `find` is one `HMGET` and `list` one `SMEMBERS` then one pipeline of `HMGET`s, so both work
/// on a read-only replica. `insert`, `touch`, `revoke` and `revoke_all` are Lua scripts, atomic
/// on the server:
///
/// - `insert` refuses a taken hash or id ([`StoreError::Collision`]), then counts the owner's
///   tokens active at `now` (no `revoked_at`, no `expires_at` or a later one) from its index,
///   and writes the three keys only under the limit, so concurrent inserts, from any number of
///   processes, cannot pass it together.
/// - `touch` follows the id's pointer and writes `last_used_at` only if it moves forward;
///   `revoke` writes `revoked_at` only on the owner's token without one; `revoke_all` reads
///   every token of the owner's index before writing any.
///
/// Every command that can fail on a damaged key (a key of another type) runs before the
/// script's first write, so a failing script writes nothing.
///
/// A token that cannot be read back (a missing field, a number or scopes this store does not
/// write, an index entry that is not a hash, a key of another type) is
/// [`StoreError::Corrupt`], from `find` and `list`, and is left in place. No error, log event or
/// `Debug` output contains a stored value.
#[derive(Clone)]
pub struct RedisApiTokenStore {
    server: Server,
    prefix: String,
}

impl RedisApiTokenStore {
    /// Connects to the server in `config` as [`RedisStore::connect`] does (eagerly, same
    /// errors), with keys under its [key prefix](RedisStoreConfig::key_prefix).
    ///
    /// # Errors
    /// As [`RedisStore::connect`]: [`StoreError::Unavailable`] or [`StoreError::Timeout`] when
    /// the server cannot be reached, [`StoreError::Backend`] for bad credentials or an invalid
    /// URL, never naming the password.
    pub async fn connect(config: RedisStoreConfig) -> Result<Self, StoreError> {
        Ok(RedisApiTokenStore {
            server: Server::connect(&config).await?,
            prefix: config.key_prefix,
        })
    }

    /// An API-token store on `store`'s connection (no new connection), under its key prefix.
    pub fn from_store(store: &RedisStore) -> Self {
        RedisApiTokenStore {
            server: store.server().clone(),
            prefix: store.prefix().to_owned(),
        }
    }

    /// `{prefix}{a}h:`: the start of every token hash's key, followed by the hash's hex.
    fn token_key_prefix(&self) -> String {
        format!("{}{{a}}h:", self.prefix)
    }

    /// `{prefix}{a}h:<hash hex>`.
    fn token_key(&self, hash_hex: &str) -> String {
        format!("{}{{a}}h:{hash_hex}", self.prefix)
    }

    /// `{prefix}{a}i:<id>`.
    fn id_key(&self, id: &str) -> String {
        format!("{}{{a}}i:{id}", self.prefix)
    }

    /// `{prefix}{a}o:<owner hex>`.
    fn owner_key(&self, owner: &UserId) -> String {
        format!("{}{{a}}o:{}", self.prefix, hex(owner.as_str()))
    }
}

/// The lowercase hex of `text`'s UTF-8 bytes.
fn hex(text: &str) -> String {
    use fmt::Write;
    text.bytes()
        .fold(String::with_capacity(text.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The fields of a token hash, in the order `HMGET` asks for them and [`decode`] reads them.
const FIELDS: [&str; 9] = [
    "id",
    "owner",
    "name",
    "scopes",
    "display_prefix",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
];

/// The record's fields and values for `HSET` (`None`s left out).
fn field_values(record: &ApiTokenRecord) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut fields = vec![
        ("id", record.id.clone()),
        ("owner", record.owner.as_str().to_owned()),
        ("name", record.name.clone()),
        (
            "scopes",
            serde_json::to_string(&record.scopes).map_err(StoreError::backend)?,
        ),
        ("display_prefix", record.display_prefix.clone()),
        ("created_at", record.created_at.as_secs().to_string()),
    ];
    let optional = [
        ("last_used_at", record.last_used_at),
        ("expires_at", record.expires_at),
        ("revoked_at", record.revoked_at),
    ];
    for (name, at) in optional {
        if let Some(at) = at {
            fields.push((name, at.as_secs().to_string()));
        }
    }
    Ok(fields)
}

/// Why a stored token could not be read back: the source of a [`StoreError::Corrupt`]. Names
/// the field, never its value.
#[derive(Debug, thiserror::Error)]
enum CorruptApiToken {
    #[error("the stored API token has no {0} field")]
    Missing(&'static str),
    #[error("the {0} field of the stored API token is not what the store writes")]
    Invalid(&'static str),
    #[error("an owner's API token index names something that is not a token hash")]
    IndexEntry,
    #[error("an owner's API token index names another owner's token")]
    OtherOwner,
    #[error("a stored API token does not fit the limit check (not what the store writes)")]
    Uncountable,
}

/// A decimal number as the store writes it: digits only, no leading zero (the scripts compare
/// them as text, by length first).
fn number(name: &'static str, value: String) -> Result<u64, StoreError> {
    let canonical = value.bytes().all(|b| b.is_ascii_digit())
        && !value.is_empty()
        && (value == "0" || !value.starts_with('0'));
    canonical
        .then(|| value.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| StoreError::corrupt(CorruptApiToken::Invalid(name)))
}

/// The token hashed `hash` from the `HMGET` answer for [`FIELDS`]; `None` when the hash does not
/// exist.
fn decode(
    hash: TokenHash,
    values: Vec<Option<Vec<u8>>>,
) -> Result<Option<ApiTokenRecord>, StoreError> {
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut values = values.into_iter();
    let mut field = |name: &'static str| -> Result<Option<String>, StoreError> {
        match values.next().flatten() {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::corrupt(CorruptApiToken::Invalid(name))),
        }
    };
    let required = |name: &'static str, value: Option<String>| {
        value.ok_or_else(|| StoreError::corrupt(CorruptApiToken::Missing(name)))
    };
    let time = |name: &'static str, value: Option<String>| {
        value
            .map(|v| number(name, v).map(UnixTime::from_secs))
            .transpose()
    };
    // In the order of FIELDS.
    let id = required("id", field("id")?)?;
    let owner = required("owner", field("owner")?)?;
    let name = required("name", field("name")?)?;
    let scopes = required("scopes", field("scopes")?)?;
    let display_prefix = required("display_prefix", field("display_prefix")?)?;
    let created_at = required("created_at", field("created_at")?)?;
    let last_used_at = field("last_used_at")?;
    let expires_at = field("expires_at")?;
    let revoked_at = field("revoked_at")?;
    Ok(Some(ApiTokenRecord {
        id,
        owner: UserId::new(owner),
        name,
        // The serde error is not kept: it may quote the stored text.
        scopes: serde_json::from_str(&scopes)
            .map_err(|_| StoreError::corrupt(CorruptApiToken::Invalid("scopes")))?,
        display_prefix,
        hash,
        created_at: UnixTime::from_secs(number("created_at", created_at)?),
        last_used_at: time("last_used_at", last_used_at)?,
        expires_at: time("expires_at", expires_at)?,
        revoked_at: time("revoked_at", revoked_at)?,
    }))
}

/// Shared by the scripts: `later(a, b)`, whether the decimal `a` is a later time than `b`,
/// exactly (compared as text, by length first: Lua numbers are doubles), and
/// `is_number(a)`, whether `a` is a decimal as the store writes it.
macro_rules! with_time {
    ($body:literal) => {
        concat!(
            r"
local function is_number(a)
  return a == '0' or string.match(a, '^[1-9][0-9]*$') ~= nil
end
local function later(a, b)
  if #a ~= #b then
    return #a > #b
  end
  return a > b
end
",
            $body
        )
    };
}

/// `insert`'s replies (besides `1`, stored).
const LIMIT_REACHED: i64 = 0;
const COLLISION: i64 = -1;
const UNCOUNTABLE: i64 = -2;

/// `insert`. KEYS: token hash, id pointer, owner index. ARGV: limit, now, token-key prefix,
/// hash hex, then the token's field/value pairs. Returns 1 when stored, 0 at the limit, -1 when
/// the hash or the id is taken, -2 when one of the owner's tokens has an `expires_at` the store
/// did not write (nothing written in all three cases).
///
/// `EXISTS`, `SMEMBERS` and the `HMGET`s (which fail on keys of another type) run before any
/// write. An index entry whose hash does not exist (never the case for rows this store wrote)
/// counts as nothing.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_time!(
        r"
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return -1
end
local limit = tonumber(ARGV[1])
local active = 0
if active >= limit then
  return 0
end
for _, hex in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local token = redis.call('HMGET', ARGV[3] .. hex, 'id', 'revoked_at', 'expires_at')
  if token[1] and not token[2] then
    if not token[3] then
      active = active + 1
    elseif not is_number(token[3]) then
      return -2
    elseif later(token[3], ARGV[2]) then
      active = active + 1
    end
    if active >= limit then
      return 0
    end
  end
end
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
return 1
"
    ))
});

/// `touch`. KEYS: id pointer. ARGV: token-key prefix, id, time. Returns 1 when `last_used_at`
/// was written, 0 when there is no such token or it is already as late.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(with_time!(
        r"
local hex = redis.call('GET', KEYS[1])
if not hex then
  return 0
end
local token = ARGV[1] .. hex
local fields = redis.call('HMGET', token, 'id', 'last_used_at')
if fields[1] ~= ARGV[2] then
  return 0
end
if fields[2] and is_number(fields[2]) and not later(ARGV[3], fields[2]) then
  return 0
end
redis.call('HSET', token, 'last_used_at', ARGV[3])
return 1
"
    ))
});

/// `revoke`. KEYS: id pointer. ARGV: token-key prefix, id, owner, time. Returns 1 when revoked,
/// 0 when there is no such token, it is another owner's, or it is already revoked.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local hex = redis.call('GET', KEYS[1])
if not hex then
  return 0
end
local token = ARGV[1] .. hex
local fields = redis.call('HMGET', token, 'id', 'owner', 'revoked_at')
if fields[1] ~= ARGV[2] or fields[2] ~= ARGV[3] or fields[3] then
  return 0
end
redis.call('HSET', token, 'revoked_at', ARGV[4])
return 1
",
    )
});

/// `revoke_all`. KEYS: owner index. ARGV: token-key prefix, owner, time. Returns how many
/// tokens it revoked: every indexed token of the owner without `revoked_at`, all read before
/// the first is written.
static REVOKE_ALL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local revoke = {}
for _, hex in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local token = ARGV[1] .. hex
  local fields = redis.call('HMGET', token, 'owner', 'revoked_at')
  if fields[1] == ARGV[2] and not fields[2] then
    revoke[#revoke + 1] = token
  end
end
for _, token in ipairs(revoke) do
  redis.call('HSET', token, 'revoked_at', ARGV[3])
end
return #revoke
",
    )
});

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ApiTokenStore for RedisApiTokenStore {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        let hash_hex = record.hash.to_hex();
        let mut invocation = INSERT.prepare_invoke();
        invocation
            .key(self.token_key(&hash_hex))
            .key(self.id_key(&record.id))
            .key(self.owner_key(&record.owner))
            .arg(limit.to_string())
            .arg(now.as_secs().to_string())
            .arg(self.token_key_prefix())
            .arg(&hash_hex);
        for (name, value) in field_values(record)? {
            invocation.arg(name).arg(value);
        }
        let reply: i64 = self.server.invoke("insert_api_token", &invocation).await?;
        match reply {
            1 => Ok(Inserted::Stored),
            LIMIT_REACHED => Ok(Inserted::LimitReached),
            COLLISION => Err(StoreError::Collision),
            UNCOUNTABLE => Err(StoreError::corrupt(CorruptApiToken::Uncountable)),
            reply => Err(StoreError::backend(UnexpectedReply {
                op: "insert_api_token",
                reply,
            })),
        }
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        let mut conn = self.server.conn();
        let values: Vec<Option<Vec<u8>>> = self
            .server
            .run(
                "find_api_token",
                redis::cmd("HMGET")
                    .arg(self.token_key(&hash.to_hex()))
                    .arg(&FIELDS[..])
                    .query_async(&mut conn),
            )
            .await?;
        decode(*hash, values)
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let mut conn = self.server.conn();
        let members: Vec<Vec<u8>> = self
            .server
            .run(
                "list_api_tokens",
                redis::cmd("SMEMBERS")
                    .arg(self.owner_key(owner))
                    .query_async(&mut conn),
            )
            .await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = members
            .iter()
            .map(|member| {
                std::str::from_utf8(member)
                    .ok()
                    .filter(|hex| hex.bytes().all(|b| !b.is_ascii_uppercase()))
                    .and_then(TokenHash::from_hex)
                    .ok_or_else(|| StoreError::corrupt(CorruptApiToken::IndexEntry))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pipe = redis::pipe();
        // Per-command answers, so a key of another type maps like in `find` (`Corrupt`).
        pipe.ignore_errors();
        for hash in &hashes {
            pipe.cmd("HMGET")
                .arg(self.token_key(&hash.to_hex()))
                .arg(&FIELDS[..]);
        }
        let rows: Vec<RedisResult<Vec<Option<Vec<u8>>>>> = self
            .server
            .run("list_api_tokens", pipe.query_async(&mut conn))
            .await?;
        let mut listed = Vec::with_capacity(rows.len());
        for (hash, values) in hashes.into_iter().zip(rows) {
            let values = values.map_err(|err| error::store_error("list_api_tokens", err))?;
            // Tokens are never deleted; an index entry without its hash is simply not listed.
            if let Some(record) = decode(hash, values)? {
                if record.owner != *owner {
                    return Err(StoreError::corrupt(CorruptApiToken::OtherOwner));
                }
                listed.push(record);
            }
        }
        listed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(listed)
    }

    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        let mut invocation = TOUCH.prepare_invoke();
        invocation
            .key(self.id_key(id))
            .arg(self.token_key_prefix())
            .arg(id)
            .arg(at.as_secs().to_string());
        let _touched: i64 = self.server.invoke("touch_api_token", &invocation).await?;
        Ok(())
    }

    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        let mut invocation = REVOKE.prepare_invoke();
        invocation
            .key(self.id_key(id))
            .arg(self.token_key_prefix())
            .arg(id)
            .arg(owner.as_str())
            .arg(at.as_secs().to_string());
        let revoked: i64 = self.server.invoke("revoke_api_token", &invocation).await?;
        Ok(revoked > 0)
    }

    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        let mut invocation = REVOKE_ALL.prepare_invoke();
        invocation
            .key(self.owner_key(owner))
            .arg(self.token_key_prefix())
            .arg(owner.as_str())
            .arg(at.as_secs().to_string());
        let revoked: i64 = self
            .server
            .invoke("revoke_all_api_tokens", &invocation)
            .await?;
        u64::try_from(revoked).map_err(|_| {
            StoreError::backend(UnexpectedReply {
                op: "revoke_all_api_tokens",
                reply: revoked,
            })
        })
    }
}

impl fmt::Debug for RedisApiTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisApiTokenStore")
            .field("server", &self.server.target)
            .field("key_prefix", &self.prefix)
            .field("deadline", &self.server.deadline)
            .finish_non_exhaustive()
    }
}
