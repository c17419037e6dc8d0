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
