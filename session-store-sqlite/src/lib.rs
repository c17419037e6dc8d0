//! A [`SessionStore`](session_core::SessionStore) backed by SQLite (through `rusqlite`, with
//! SQLite bundled), for applications that run on one machine and want sessions to survive a
//! restart without a separate server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use session_core::{store::{SessionId, SessionRecord}, SessionStore, UnixTime};
//! use session_store_sqlite::{SqliteStore, SqliteStoreConfig};
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("sessions.db");
//! let store = SqliteStore::open(SqliteStoreConfig::new(&path))?;
//!
//! let now = UnixTime::now();
//! let id = SessionId::generate(); // the cookie's secret; the store only ever sees its hash
//! let record = SessionRecord::new(id.key(), now, now + std::time::Duration::from_secs(3600));
//! store.create(&record).await?;
//! assert_eq!(store.load(&id.key(), now).await?, Some(record));
//!
//! // Sessions survive closing and reopening the file.
//! drop(store);
//! let store = SqliteStore::open(SqliteStoreConfig::new(&path))?;
//! assert!(store.load(&id.key(), now).await?.is_some());
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! One table, created on first open and versioned with `PRAGMA user_version` (give the sessions
//! a database file of their own):
//!
//! | column | holds |
//! |---|---|
//! | `key BLOB PRIMARY KEY` | the [`SessionKey`](session_core::store::SessionKey): SHA-256 of the session id, never the id |
//! | `user_id TEXT NULL` | the signed-in user, indexed for "log out everywhere" and session lists |
//! | `created_at INTEGER` | orders session lists |
//! | `expires_at INTEGER` | the record's effective expiry (sliding expiry capped by the absolute one), indexed for purges |
//! | `version INTEGER` | the optimistic-concurrency version compared by `save` |
//! | `record BLOB` | the whole record in session-core's versioned format ([`SessionRecord::to_bytes`](session_core::store::SessionRecord::to_bytes)) |
//!
//! Opening a file with an older schema migrates it; a file with a newer (unknown) schema fails
//! with [`SqliteOpenError::NewerSchema`] and is left as it is. The store never creates missing
//! directories, and never deletes or recreates a file it cannot read
//! ([`SqliteOpenError::NotADatabase`]).
//!
//! # Concurrency and durability
//!
//! - WAL journal mode: readers never wait for the writer, and the writer never waits for readers.
//! - Every write runs in a `BEGIN IMMEDIATE` transaction on a single write connection, so
//!   `save`'s version check and update are atomic, concurrent saves of one version have exactly
//!   one winner (the rest get [`StoreError::Conflict`](session_core::store::StoreError::Conflict)), and
//!   SQLite's "busy" results never leak out as anything but
//!   [`StoreError::Timeout`](session_core::store::StoreError::Timeout) after the configured
//!   [busy timeout](SqliteStoreConfig::busy_timeout). Other processes may use the same file.
//! - Writes run on tokio's blocking thread pool, never on the async executor. A read of one
//!   session runs on the calling task when a read connection is free, with the busy handler off
//!   so it can never wait for a lock there; if a lock is held it is retried on the blocking pool.
//! - `synchronous = NORMAL` by default: a crash of the process loses nothing, but a power failure
//!   or OS crash may lose the last few commits (never corrupt the database). Choose
//!   [`Synchronous::Full`] if every acknowledged write must survive power loss.
//! - `load` and `list_for_user` never return an expired session, whether or not its row is still
//!   on disk.
//!
//! # Background purge
//!
//! SQLite has no TTL, so the store deletes expired rows itself: from `open` until it is dropped,
//! a [`session_core::store::BackgroundPurge`] thread deletes, every
//! [`PurgeSchedule::interval`](session_core::store::PurgeSchedule::interval) (default
//! [`DEFAULT_PURGE_INTERVAL`](session_core::store::DEFAULT_PURGE_INTERVAL), 60 s; set with
//! [`background_purge`](SqliteStoreConfig::background_purge)), up to
//! [`PurgeSchedule::batch`](session_core::store::PurgeSchedule::batch) (default
//! [`DEFAULT_PURGE_BATCH`](session_core::store::DEFAULT_PURGE_BATCH), 1000) rows whose expiry has passed by
//! the system clock, and goes on at once while it finds full batches. Each batch is one short
//! `BEGIN IMMEDIATE` transaction on the write connection (`DELETE ... WHERE key IN (SELECT key ...
//! WHERE expires_at <= now ORDER BY expires_at LIMIT batch)`), so requests wait for at most one
//! batch. The thread holds only a weak reference to the store: dropping the store stops it
//! (waiting for a batch in flight) and closes the file. Turn it off with
//! [`background_purge(None)`](SqliteStoreConfig::background_purge) if the application calls
//! [`purge_expired`](session_core::SessionStore::purge_expired) itself; read-only stores never
//! purge.
//!
//! # Errors
//!
//! SQLite result codes map to [`StoreError`](session_core::store::StoreError) kinds: `SQLITE_READONLY` →
//! `ReadOnly`, `SQLITE_FULL` (and out of memory) → `Full`, `SQLITE_BUSY`/`SQLITE_LOCKED` →
//! `Timeout`, `SQLITE_CANTOPEN`/`SQLITE_IOERR` → `Unavailable`, `SQLITE_CORRUPT`/`SQLITE_NOTADB` →
//! `EngineCorrupt` (the file itself is damaged: the request fails with a 500 and nothing is
//! deleted), anything else → `Backend`. Only a record that cannot be decoded is `Corrupt` (at
//! `load`), and its row is left in place for the caller to delete. No error message contains a
//! session id, key or record data.
//!
//! A database file deleted or replaced while the store runs makes every write `Unavailable`
//! (SQLite itself would go on writing to the unlinked file and lose it all at the next start);
//! reads go on answering from the file the store holds open. Reopen the store to start over.
//!
//! # Provider tokens
//!
//! With the feature `auth`, `SqliteTokenStore` keeps session-auth's provider tokens in a table
//! of the same file (its docs give the schema), and `SqliteApiTokenStore` session-auth's API
//! bearer tokens in another.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "auth")]
mod api_tokens;
mod config;
mod error;
mod file_identity;
mod schema;
mod store;
#[cfg(feature = "auth")]
mod tokens;

#[cfg(feature = "auth")]
pub use api_tokens::SqliteApiTokenStore;
pub use config::{SqliteStoreConfig, Synchronous};
pub use error::SqliteOpenError;
pub use store::SqliteStore;
#[cfg(feature = "auth")]
pub use tokens::SqliteTokenStore;
