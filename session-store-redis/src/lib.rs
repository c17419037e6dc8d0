//! A Redis-backed [`SessionStore`](session_core::SessionStore) for `session-core`.
//!
//! [`RedisStore`] keeps each session as a Redis hash that Redis itself expires at the session's
//! expiry, plus a per-user sorted set for "log out everywhere" and session lists. Every write is
//! one atomic Lua script; a load is one `HGET`.
//!
//! ```no_run
//! # async fn run() -> Result<(), session_core::store::StoreError> {
//! use std::time::Duration;
//! use session_core::{store::{SessionId, SessionRecord}, SessionStore, UnixTime};
//! use session_store_redis::{RedisStore, RedisStoreConfig};
//!
//! // REDIS_URL, or redis://127.0.0.1:6379 when it is unset.
//! let config = RedisStoreConfig::from_env()
//!     .key_prefix("myapp:session:")
//!     .response_timeout(Duration::from_secs(1));
//! let store = RedisStore::connect(config).await?;
//!
//! let now = UnixTime::now();
//! let record = SessionRecord::new(SessionId::generate().key(), now, now + Duration::from_secs(3600));
//! store.create(&record).await?;
//! assert_eq!(store.load(&record.key, now).await?, Some(record));
//! # Ok(()) }
//! ```
//!
//! # Key layout
//!
//! With the default prefix `session:`:
//!
//! | Key | Type | Content | Expires |
//! |---|---|---|---|
//! | `session:s:{key_hex}` | hash | `v` version, `r` record bytes ([`SessionRecord::to_bytes`](session_core::store::SessionRecord::to_bytes)), `u` user id | at the record's effective expiry |
//! | `session:u:{user_id}` | sorted set | key hexes of the user's sessions, each scored by its record's expiry (Unix seconds) | at its latest score |
//!
//! Every script that writes a user index (`create`, `save`, `renew`, `delete`) also drops the
//! index's entries whose score is past by Redis' own clock (their records are already expired)
//! and resets its `EXPIREAT` to the latest remaining score, so an index holds about as many
//! entries as the user has live sessions, even if the application never lists them, and an idle
//! user's index disappears with their last session.
//!
//! `{key_hex}` is the SHA-256 of the session id ([`SessionKey`](session_core::store::SessionKey)): the
//! id itself never reaches Redis. The store never uses `KEYS` or `FLUSH*`.
//!
//! # Redis Cluster
//!
//! With the feature `cluster`, [`RedisStoreConfig::cluster`] (or
//! [`RedisStoreConfig::cluster_from_env`], `REDIS_CLUSTER_NODES`) puts the store on a Redis
//! Cluster. The key names are the same; what changes is how a write that spans a record and a
//! user index is done, since the two are in different hash slots (often on different nodes) and
//! a script may only touch keys of one slot:
//!
//! - Every script touches exactly one key. The steps of a write run in an order that keeps one
//!   invariant whatever fails between them: *every live record that names a user is in that
//!   user's index, scored no earlier than its expiry*. An index entry is written before the
//!   record that needs it and removed only after the record stopped needing it, so a failure
//!   can leave an extra entry, never a missing one; lists and "log out everywhere" check each
//!   record's own user, and the index drops an entry once its score is past.
//! - `renew` writes the new record first (nobody holds its id yet), then takes the old record
//!   with a compare-and-set on its version; if that fails it deletes the new record again. A
//!   concurrent renew, save or delete of the old record therefore has one winner, as on one
//!   server.
//! - `delete_for_user` reads the index again after deleting what it listed, for entries a
//!   renew running meanwhile wrote, until nothing new appears, and counts a renewed pair once.
//! - Index entries are scored an hour past the record's expiry and the record remembers that
//!   score, so a save that slides the expiry forward is one script call; about once an hour a
//!   signed-in session's save also raises its entry.
//! - The provider-token keys are hash-tagged by owner and the API-token keys by `{a}`, so their
//!   scripts, which touch several keys, stay in one slot.
//!
//! The client follows `MOVED` and `ASK` and refreshes its slot map after a failover. While a
//! slot has no primary (its node is down and no replica has taken over yet), calls on its keys
//! fail with [`StoreError::Unavailable`](session_core::store::StoreError::Unavailable) or
//! `Timeout` (503 in the adapters) within the deadline, and succeed again once a replica is
//! promoted or the node is back, without recreating the store. Replication is asynchronous:
//! a write acknowledged just before its primary dies can be lost in a failover (the user then
//! has an older session, or none), as with any Redis replica.
//!
//! # Failures
//!
//! A server that is down, slow, read-only (a replica) or out of memory gives
//! [`StoreError::Unavailable`](session_core::store::StoreError::Unavailable), `Timeout`, `ReadOnly` or
//! `Full`, all transient: the store reconnects by itself. A record that cannot be decoded is
//! `Corrupt` and left in place for the caller to delete. No error, log event or `Debug` output
//! contains a session key, record data or the password from the URL.
//!
//! # Provider tokens
//!
//! With the feature `auth`, `RedisTokenStore` keeps session-auth's provider tokens and
//! `RedisApiTokenStore` its API bearer tokens under the same prefix, on the same connection if
//! wanted (their docs give the key layouts).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "auth")]
mod api_tokens;
#[cfg(feature = "cluster")]
mod cluster;
mod config;
mod error;
mod scripts;
mod server;
mod store;
#[cfg(feature = "auth")]
mod tokens;

#[cfg(feature = "auth")]
pub use api_tokens::RedisApiTokenStore;
pub use config::{RedisStoreConfig, DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL};
pub use store::RedisStore;
#[cfg(feature = "auth")]
pub use tokens::RedisTokenStore;
