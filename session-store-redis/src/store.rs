//! [`RedisStore`]: the [`SessionStore`] implementation on a Redis [`ConnectionManager`].

use std::fmt;

use async_trait::async_trait;
use redis::{RedisResult, ScriptInvocation};
use session_core::{
    store::{SessionKey, SessionRecord, StoreCaps, StoreError},
    SessionStore, UnixTime, UserId,
};

use crate::config::RedisStoreConfig;
use crate::error::{self, CorruptRecord, UnexpectedReply};
use crate::scripts;
use crate::server::Server;
/// The latest expiry Redis is asked for (the end of year 9999): `EXPIREAT` rejects absurd times,
/// and a saturated `UnixTime` must not turn a write into an error.
const MAX_EXPIRE_AT: u64 = 253_402_300_799;

/// Sessions in Redis, shared by every instance of an application.
///
/// Each record is a hash `{prefix}s:{key_hex}` (fields `v` version, `r` the record's bytes, `u`
/// user id) that Redis expires at the record's effective expiry; each user's sessions are indexed
/// in a sorted set `{prefix}u:{user_id}` of key hexes scored by their expiry, pruned of expired
/// entries on every write to it. Writes are Lua scripts, so a record and its index entry always
/// change together, `save` and `renew` compare versions atomically (one winner among concurrent
/// writers) and `renew` moves a record to its new key in one step. `load` is a single `HGET` and
/// never writes, so it also works on a read-only replica.
///
/// Calls go through one multiplexed connection that reconnects by itself: when the server is
/// down, calls fail with [`StoreError::Unavailable`] or [`StoreError::Timeout`] (both
/// [`is_transient`](StoreError::is_transient)) and succeed again once it is back, without a
/// restart. Every call finishes within about `2 × connection_timeout + response_timeout`.
///
/// Needs Redis 7+: a standalone server, a primary with replicas, or (feature `cluster`) a Redis
/// Cluster, where writes run as described in the crate docs. Use
/// the `noeviction` memory policy (writes then fail with [`StoreError::Full`] when memory is
/// full); an `allkeys-*` policy would silently log users out. Without persistence (RDB/AOF) a
/// restart ends every session: users simply have no session, never an error.
#[derive(Clone)]
pub struct RedisStore {
    server: Server,
    prefix: String,
}

impl RedisStore {
    /// Connects to the server in `config`, eagerly: the first connection (and a `PING`) must
    /// succeed before this returns.
    ///
    /// # Errors
    /// Server down or unreachable: [`StoreError::Unavailable`] (or [`StoreError::Timeout`] if
    /// it does not answer), naming the server's address with any password redacted. Wrong or
    /// missing credentials, or an invalid URL: [`StoreError::Backend`] saying so, again without
    /// the password.
    pub async fn connect(config: RedisStoreConfig) -> Result<Self, StoreError> {
        Ok(RedisStore {
            server: Server::connect(&config).await?,
            prefix: config.key_prefix,
        })
    }

    /// The connection, for another store of this crate to share.
    #[cfg(any(feature = "auth", feature = "cluster"))]
    pub(crate) fn server(&self) -> &Server {
        &self.server
    }

    /// The key prefix.
    #[cfg(feature = "auth")]
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn record_key(&self, key: &SessionKey) -> String {
        self.record_key_hex(&key.to_hex())
    }

    pub(crate) fn record_key_hex(&self, key_hex: &str) -> String {
        format!("{}s:{key_hex}", self.prefix)
    }

    pub(crate) fn index_key(&self, user: &UserId) -> String {
        format!("{}u:{}", self.prefix, user.as_str())
    }

    /// The `RENEW` script call: KEYS old record, new record, the new record's user index (if it
    /// has a user), then `old_user`'s index when the first call named another user than the new
    /// record's.
    fn renew_invocation(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
        old_user: Option<&UserId>,
    ) -> ScriptInvocation<'static> {
        let new_hex = record.key.to_hex();
        let mut invocation = scripts::RENEW.prepare_invoke();
        invocation
            .key(self.record_key(old))
            .key(self.record_key_hex(&new_hex))
            .arg(expected_version)
            .arg(record.version)
            .arg(record.to_bytes())
            .arg(expire_at(record))
            .arg(old.to_hex())
            .arg(new_hex)
            .arg(if record.user_id.is_some() { "1" } else { "0" });
        let old_user = old_user.filter(|user| record.user_id.as_ref() != Some(*user));
        for user in record.user_id.iter().chain(old_user) {
            invocation.key(self.index_key(user)).arg(user.as_str());
        }
        invocation
    }
}

/// The record's effective expiry in Unix seconds, as Redis accepts it.
pub(crate) fn expire_at(record: &SessionRecord) -> u64 {
    record.effective_expiry().as_secs().min(MAX_EXPIRE_AT)
}

/// Reads stored bytes back as the record under `key`.
pub(crate) fn decode(key: &SessionKey, bytes: &[u8]) -> Result<SessionRecord, CorruptRecord> {
    let record = SessionRecord::from_bytes(bytes)?;
    if record.key != *key {
        return Err(CorruptRecord::KeyMismatch);
    }
    Ok(record)
}

/// The live records of `user` among the index `members` and their `HGET ... r` replies, in
/// creation order, and the members whose record is gone (or whose name is not a key hex). A key
/// of another type, a corrupt record or a record of another user is skipped.
pub(crate) fn live_records<'m>(
    user: &UserId,
    now: UnixTime,
    members: &'m [String],
    replies: Vec<RedisResult<Option<Vec<u8>>>>,
) -> Result<(Vec<SessionRecord>, Vec<&'m String>), StoreError> {
    let mut live = Vec::new();
    let mut gone = Vec::new();
    for (key_hex, reply) in members.iter().zip(replies) {
        let Some(key) = SessionKey::from_hex(key_hex) else {
            gone.push(key_hex);
            continue;
        };
        let bytes = match reply {
            Ok(Some(bytes)) => bytes,
            // Expired or deleted without its index entry (R9).
            Ok(None) => {
                gone.push(key_hex);
                continue;
            }
            Err(err) if error::is_wrong_type(&err) => {
                tracing::warn!(session = %key.fingerprint(), "session key in Redis holds another type than a hash");
                continue;
            }
            Err(err) => return Err(error::store_error("list_for_user", err)),
        };
        match decode(&key, &bytes) {
            Ok(record) if record.user_id.as_ref() == Some(user) && !record.is_expired(now) => {
                live.push(record);
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(session = %key.fingerprint(), error = %err, "corrupt session record in Redis skipped");
            }
        }
    }
    live.sort_by_key(|r| r.created_at);
    Ok((live, gone))
}

/// The `RENEW` reply asking for a second call with the old record's user index.
const RENEW_OTHER_USER: i64 = -3;

pub(crate) fn unexpected(op: &'static str, reply: i64) -> StoreError {
    StoreError::backend(UnexpectedReply { op, reply })
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for RedisStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::native_ttl()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.server.conn();
        let bytes: Option<Vec<u8>> = self
            .server
            .run(
                "load",
                redis::cmd("HGET")
                    .arg(self.record_key(key))
                    .arg("r")
                    .query_async(&mut conn),
            )
            .await?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        match decode(key, &bytes) {
            Ok(record) => Ok((!record.is_expired(now)).then_some(record)),
            Err(err) => {
                tracing::warn!(session = %key.fingerprint(), error = %err, "corrupt session record in Redis");
                Err(StoreError::corrupt(err))
            }
        }
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::create(self, record).await;
        }
        let key_hex = record.key.to_hex();
        let mut invocation = scripts::CREATE.prepare_invoke();
        invocation.key(self.record_key_hex(&key_hex));
        if let Some(user) = &record.user_id {
            invocation.key(self.index_key(user));
        }
        invocation
            .arg(record.version)
            .arg(record.to_bytes())
            .arg(expire_at(record))
            .arg(&key_hex);
        if let Some(user) = &record.user_id {
            invocation.arg(user.as_str());
        }
        match self.server.invoke::<i64>("create", &invocation).await? {
            1 => Ok(()),
            0 => Err(StoreError::Collision),
            other => Err(unexpected("create", other)),
        }
    }

    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::save(self, record, expected_version).await;
        }
        let key_hex = record.key.to_hex();
        let mut invocation = scripts::SAVE.prepare_invoke();
        invocation.key(self.record_key_hex(&key_hex));
        if let Some(user) = &record.user_id {
            invocation.key(self.index_key(user));
        }
        invocation
            .arg(expected_version)
            .arg(record.version)
            .arg(record.to_bytes())
            .arg(expire_at(record))
            .arg(&key_hex)
            .arg(format!("{}u:", self.prefix));
        if let Some(user) = &record.user_id {
            invocation.arg(user.as_str());
        }
        match self.server.invoke::<i64>("save", &invocation).await? {
            1 => Ok(()),
            0 => Err(StoreError::Conflict),
            -1 => Err(StoreError::NotFound),
            other => Err(unexpected("save", other)),
        }
    }

    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::renew(self, old, expected_version, record).await;
        }
        let mut conn = self.server.conn();
        // At most two calls, under one deadline: the first names the new record's user index
        // only; if the old record belongs to another user, the script changes nothing and names
        // that user, and the second call passes both indexes (see `scripts::RENEW`).
        let renewing = async {
            let mut reply = self
                .renew_invocation(old, expected_version, record, None)
                .invoke_async::<(i64, Option<String>)>(&mut conn)
                .await?;
            if let (RENEW_OTHER_USER, Some(user)) = &reply {
                let old_user = UserId::new(user.as_str());
                reply = self
                    .renew_invocation(old, expected_version, record, Some(&old_user))
                    .invoke_async(&mut conn)
                    .await?;
            }
            Ok(reply.0)
        };
        match self.server.run("renew", renewing).await? {
            1 => Ok(()),
            0 => Err(StoreError::Conflict),
            -1 => Err(StoreError::NotFound),
            -2 => Err(StoreError::Collision),
            // The old record's user changed between the two calls, at the same version: another
            // writer got there first.
            RENEW_OTHER_USER => Err(StoreError::Conflict),
            other => Err(unexpected("renew", other)),
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::delete(self, key).await;
        }
        let key_hex = key.to_hex();
        let mut invocation = scripts::DELETE.prepare_invoke();
        invocation
            .key(self.record_key_hex(&key_hex))
            .arg(format!("{}u:", self.prefix))
            .arg(&key_hex);
        self.server.invoke::<i64>("delete", &invocation).await?;
        Ok(())
    }

    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::delete_for_user(self, user).await;
        }
        let mut invocation = scripts::DELETE_FOR_USER.prepare_invoke();
        invocation
            .key(self.index_key(user))
            .arg(format!("{}s:", self.prefix))
            .arg(user.as_str());
        let deleted: i64 = self.server.invoke("delete_for_user", &invocation).await?;
        u64::try_from(deleted).map_err(|_| unexpected("delete_for_user", deleted))
    }

    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        #[cfg(feature = "cluster")]
        if self.server.is_cluster() {
            return crate::cluster::list_for_user(self, user, now).await;
        }
        let mut conn = self.server.conn();
        let index = self.index_key(user);
        let members: Vec<String> = self
            .server
            .run(
                "list_for_user",
                redis::cmd("ZRANGE")
                    .arg(&index)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn),
            )
            .await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }

        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for key_hex in &members {
            pipe.cmd("HGET").arg(self.record_key_hex(key_hex)).arg("r");
        }
        let replies: Vec<RedisResult<Option<Vec<u8>>>> = self
            .server
            .run("list_for_user", pipe.query_async(&mut conn))
            .await?;

        let (live, gone) = live_records(user, now, &members, replies)?;

        if !gone.is_empty() {
            // Only tidying: the answer is right without it, so a failure (a read-only replica,
            // a full server) is logged, not returned.
            let removed: Result<i64, _> = self
                .server
                .run(
                    "list_for_user",
                    redis::cmd("ZREM")
                        .arg(&index)
                        .arg(&gone)
                        .query_async(&mut conn),
                )
                .await;
            if let Err(err) = removed {
                tracing::debug!(error = %err, "could not remove stale entries from a user index");
            }
        }
        Ok(live)
    }

    async fn purge_expired(&self, _now: UnixTime) -> Result<u64, StoreError> {
        // Redis expires every record (and user index) at its own expiry.
        Ok(0)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server.target)
            .field("key_prefix", &self.prefix)
            .field("deadline", &self.server.deadline)
            .finish_non_exhaustive()
    }
}
