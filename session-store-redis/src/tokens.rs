//! [`RedisTokenStore`]: session-auth's [`TokenStore`] in Redis hashes, one per (owner,
//! provider), with a per-owner index.

use std::fmt;
use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{RedisResult, Script};
use session_auth::tokens::{GrantState, SealedToken, StoredGrant, TokenStore};
use session_core::{store::StoreError, UnixTime, UserId};

use crate::config::RedisStoreConfig;
use crate::error;
use crate::server::Server;
use crate::store::RedisStore;

/// The provider tokens of [`session_auth`]'s vault in Redis (feature `auth`).
///
/// Made from a [`RedisStoreConfig`] ([`connect`](Self::connect)) or from a [`RedisStore`],
/// sharing its connection and key prefix ([`from_store`](Self::from_store)). Calls behave like
/// the session store's: one multiplexed connection that reconnects by itself, every call
/// bounded by the same deadline, and the same error kinds (a server down is
/// [`StoreError::Unavailable`] or [`StoreError::Timeout`], a replica is
/// [`StoreError::ReadOnly`], a full server [`StoreError::Full`]). Rows never expire.
///
/// ```no_run
/// # async fn run() -> Result<(), session_core::store::StoreError> {
/// use session_store_redis::{RedisStore, RedisStoreConfig, RedisTokenStore};
///
/// let sessions = RedisStore::connect(RedisStoreConfig::from_env()).await?;
/// let tokens = RedisTokenStore::from_store(&sessions);
/// # let _ = tokens; Ok(()) }
/// ```
///
/// # Key layout
///
/// With the default prefix `session:`, for owner `alice` (hex `616c696365`) and provider
/// `github` (hex `676974687562`):
///
/// | Key | Type | Content |
/// |---|---|---|
/// | `session:t:{o616c696365}:676974687562` | hash | one grant: `account`, `access_token`, `refresh_token`, `expires_at`, `obtained_at`, `scope`, `state`, `version` |
/// | `session:t:{o616c696365}` | set | the owner's provider names, as they are |
///
/// - Owner and provider are hex-encoded (UTF-8 bytes, lowercase) in key names, so any text is
///   safe in them and no two pairs share a key: the owner part ends at the first `}` (hex has
///   none), the provider part is everything after the `:` that follows it.
/// - The braces are a Redis Cluster hash tag: every key of one owner (its grants and its index)
///   is in one hash slot, so the scripts below can touch them together. The tag is never empty
///   (it starts with `o`, even for an empty owner). Keep braces out of the key prefix, or put a
///   whole non-empty `{tag}` in it (then every key shares that slot).
/// - In a grant hash, absent optional fields (`refresh_token`, `expires_at`, `scope`) are absent
///   fields, times are decimal Unix seconds, `state` is `active` or `disconnected`, and `version`
///   is decimal, written only by `HINCRBY`.
/// - Session keys under the same prefix (`{prefix}s:` and `{prefix}u:`) never collide with these
///   (`{prefix}t:`).
///
/// `get` is one `HMGET` and `list` one `SMEMBERS` then one pipeline of `HMGET`s (rows deleted in
/// between are left out), so both work on a read-only replica. `put`, `replace` and `delete` are
/// Lua scripts, atomic on the server, that touch only the keys they are given (the grant and, for
/// `put` and `delete`, the owner's index), as Redis Cluster requires; a key of another type fails
/// them before anything is written. So the store runs on a Redis Cluster as on one server
/// (feature `cluster`, [`RedisStoreConfig::cluster`]).
///
/// A grant hash that cannot be read back (a missing field, a number or state this build does
/// not know, a key of another type) is [`StoreError::Corrupt`], from `get` and `list`, and is
/// left for `delete`. No error, log event or `Debug` output contains a token.
#[derive(Clone)]
pub struct RedisTokenStore {
    server: Server,
    prefix: String,
}

impl RedisTokenStore {
    /// Connects to the server in `config` as [`RedisStore::connect`] does (eagerly, same
    /// errors), with keys under its [key prefix](RedisStoreConfig::key_prefix).
    ///
    /// # Errors
    /// As [`RedisStore::connect`]: [`StoreError::Unavailable`] or [`StoreError::Timeout`] when
    /// the server cannot be reached, [`StoreError::Backend`] for bad credentials or an invalid
    /// URL, never naming the password.
    pub async fn connect(config: RedisStoreConfig) -> Result<Self, StoreError> {
        Ok(RedisTokenStore {
            server: Server::connect(&config).await?,
            prefix: config.key_prefix,
        })
    }

    /// A token store on `store`'s connection (no new connection), under its key prefix.
    pub fn from_store(store: &RedisStore) -> Self {
        RedisTokenStore {
            server: store.server().clone(),
            prefix: store.prefix().to_owned(),
        }
    }

    /// `{prefix}t:{o<owner hex>}`: the owner's index, and the start of each of its grant keys.
    fn index_key(&self, owner: &UserId) -> String {
        format!("{}t:{{o{}}}", self.prefix, hex(owner.as_str()))
    }

    /// `{prefix}t:{o<owner hex>}:<provider hex>`.
    fn grant_key(&self, owner: &UserId, provider: &str) -> String {
        format!("{}:{}", self.index_key(owner), hex(provider))
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

/// The fields of a grant hash, in the order `HMGET` asks for them and [`decode`] reads them.
const FIELDS: [&str; 8] = [
    "account",
    "access_token",
    "refresh_token",
    "expires_at",
    "obtained_at",
    "scope",
    "state",
    "version",
];

/// The grant's fields and values for `HSET` (all but `version`; `None`s left out).
fn field_values(grant: &StoredGrant) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("account", grant.account.clone()),
        ("access_token", grant.access_token.as_str().to_owned()),
        ("obtained_at", grant.obtained_at.as_secs().to_string()),
        ("state", grant.state.as_str().to_owned()),
    ];
    if let Some(token) = &grant.refresh_token {
        fields.push(("refresh_token", token.as_str().to_owned()));
    }
    if let Some(at) = grant.expires_at {
        fields.push(("expires_at", at.as_secs().to_string()));
    }
    if let Some(scope) = &grant.scope {
        fields.push(("scope", scope.clone()));
    }
    fields
}

/// Why a stored grant could not be read back: the source of a [`StoreError::Corrupt`]. Names
/// the field, never its value.
#[derive(Debug, thiserror::Error)]
enum CorruptGrant {
    #[error("the stored token grant has no {0} field")]
    Missing(&'static str),
    #[error("the {0} field of the stored token grant is not what the store writes")]
    Invalid(&'static str),
}

/// A grant from the `HMGET` answer for [`FIELDS`]; `None` when the hash does not exist.
fn decode(values: Vec<Option<Vec<u8>>>) -> Result<Option<StoredGrant>, StoreError> {
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut values = values.into_iter();
    let mut field = |name: &'static str| -> Result<Option<String>, StoreError> {
        match values.next().flatten() {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::corrupt(CorruptGrant::Invalid(name))),
        }
    };
    let required = |name: &'static str, value: Option<String>| {
        value.ok_or_else(|| StoreError::corrupt(CorruptGrant::Missing(name)))
    };
    let number = |name: &'static str, value: String| {
        value
            .parse::<u64>()
            .map_err(|_| StoreError::corrupt(CorruptGrant::Invalid(name)))
    };
    // In the order of FIELDS.
    let account = required("account", field("account")?)?;
    let access_token = required("access_token", field("access_token")?)?;
    let refresh_token = field("refresh_token")?;
    let expires_at = field("expires_at")?;
    let obtained_at = required("obtained_at", field("obtained_at")?)?;
    let scope = field("scope")?;
    let state = required("state", field("state")?)?;
    let version = required("version", field("version")?)?;
    Ok(Some(StoredGrant {
        account,
        access_token: SealedToken::new(access_token),
        refresh_token: refresh_token.map(SealedToken::new),
        expires_at: expires_at
            .map(|at| number("expires_at", at).map(UnixTime::from_secs))
            .transpose()?,
        obtained_at: UnixTime::from_secs(number("obtained_at", obtained_at)?),
        scope,
        state: GrantState::parse(&state)
            .ok_or_else(|| StoreError::corrupt(CorruptGrant::Invalid("state")))?,
        version: number("version", version)?,
    }))
}

/// `put`. KEYS: grant, owner index. ARGV: provider, then the grant's field/value pairs (without
/// `version`). Returns the new version (as text, so no version is ever a Lua float).
///
/// `HGET` and `SADD` fail on a key of another type before anything is written. `HINCRBY` creates
/// a new row at version 1 (and fails on a stored version that is no integer, when the row
/// exists and its provider is already indexed). The hash is then rewritten whole, so no
/// optional field of the old grant survives.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HGET', KEYS[1], 'version')
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'version', 1)
local version = redis.call('HGET', KEYS[1], 'version')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', version, unpack(ARGV, 2))
return version
",
    )
});

/// `replace`. KEYS: grant. ARGV: expected version, then the grant's field/value pairs (without
/// `version`). Returns the new version (as text), or nil when the row is missing or has another
/// version (nothing written). Versions are compared as the decimal text `HINCRBY` writes.
static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  return false
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local version = redis.call('HGET', KEYS[1], 'version')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', version, unpack(ARGV, 2))
return version
",
    )
});

/// `delete`. KEYS: grant, owner index. ARGV: provider. Returns 1 when the grant existed, else 0.
/// `SREM` (which fails on an index of another type) runs first; a grant key of another type is
/// deleted too.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
",
    )
});

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl TokenStore for RedisTokenStore {
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError> {
        let mut conn = self.server.conn();
        let values: Vec<Option<Vec<u8>>> = self
            .server
            .run(
                "get_token",
                redis::cmd("HMGET")
                    .arg(self.grant_key(owner, provider))
                    .arg(&FIELDS[..])
                    .query_async(&mut conn),
            )
            .await?;
        decode(values)
    }

    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError> {
        let mut invocation = PUT.prepare_invoke();
        invocation
            .key(self.grant_key(owner, provider))
            .key(self.index_key(owner))
            .arg(provider);
        for (name, value) in field_values(grant) {
            invocation.arg(name).arg(value);
        }
        self.server.invoke("put_token", &invocation).await
    }

    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError> {
        let mut invocation = REPLACE.prepare_invoke();
        invocation
            .key(self.grant_key(owner, provider))
            .arg(expected.to_string());
        for (name, value) in field_values(grant) {
            invocation.arg(name).arg(value);
        }
        self.server.invoke("replace_token", &invocation).await
    }

    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError> {
        let mut invocation = DELETE.prepare_invoke();
        invocation
            .key(self.grant_key(owner, provider))
            .key(self.index_key(owner))
            .arg(provider);
        let deleted: i64 = self.server.invoke("delete_token", &invocation).await?;
        Ok(deleted > 0)
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError> {
        let mut conn = self.server.conn();
        let mut providers: Vec<String> = self
            .server
            .run(
                "list_tokens",
                redis::cmd("SMEMBERS")
                    .arg(self.index_key(owner))
                    .query_async(&mut conn),
            )
            .await?;
        if providers.is_empty() {
            return Ok(Vec::new());
        }
        // `String`'s order is byte order.
        providers.sort_unstable();
        let mut pipe = redis::pipe();
        // Per-command answers, so a key of another type maps like in `get` (`Corrupt`).
        pipe.ignore_errors();
        for provider in &providers {
            pipe.cmd("HMGET")
                .arg(self.grant_key(owner, provider))
                .arg(&FIELDS[..]);
        }
        let rows: Vec<RedisResult<Vec<Option<Vec<u8>>>>> = self
            .server
            .run("list_tokens", pipe.query_async(&mut conn))
            .await?;
        let mut listed = Vec::with_capacity(rows.len());
        for (provider, values) in providers.into_iter().zip(rows) {
            let values = values.map_err(|err| error::store_error("list_tokens", err))?;
            // A grant deleted since the SMEMBERS is simply not listed.
            if let Some(grant) = decode(values)? {
                listed.push((provider, grant));
            }
        }
        Ok(listed)
    }
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("server", &self.server.target)
            .field("key_prefix", &self.prefix)
            .field("deadline", &self.server.deadline)
            .finish_non_exhaustive()
    }
}
