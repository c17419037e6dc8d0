//! A [`SessionStore`](session_core::SessionStore) backed by PostgreSQL (through
//! `tokio-postgres` and a `deadpool-postgres` pool, no TLS), for applications that run on
//! several nodes and share one database.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use session_core::{store::{SessionId, SessionRecord}, SessionStore, UnixTime};
//! use session_store_postgres::{PostgresStore, PostgresStoreConfig};
//!
//! // POSTGRES_URL, or postgres://postgres@127.0.0.1:5432/postgres
//! let config = PostgresStoreConfig::from_env()
//!     .schema("sessions")
//!     .pool_size(16)
//!     .statement_timeout(Duration::from_secs(5));
//! let store = PostgresStore::connect(config).await?;
//!
//! let now = UnixTime::now();
//! let id = SessionId::generate(); // the cookie's secret; the store only ever sees its hash
//! let record = SessionRecord::new(id.key(), now, now + Duration::from_secs(3600));
//! store.create(&record).await?;
//! assert_eq!(store.load(&id.key(), now).await?, Some(record));
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! Every table lives in the configured [schema](PostgresStoreConfig::schema) (default
//! `public`; created if missing). The sessions table:
//!
//! | column | holds |
//! |---|---|
//! | `key bytea PRIMARY KEY` | the [`SessionKey`](session_core::store::SessionKey): SHA-256 of the session id, never the id |
//! | `user_id text NULL` | the signed-in user, indexed (`(user_id, created_at)`) for "log out everywhere" and session lists |
//! | `created_at bigint` | Unix seconds; orders session lists |
//! | `expires_at bigint` | the record's effective expiry (sliding expiry capped by the absolute one), Unix seconds, indexed for purges |
//! | `version bigint` | the optimistic-concurrency version compared by `save` and `renew` |
//! | `record bytea` | the whole record in session-core's versioned format ([`SessionRecord::to_bytes`](session_core::store::SessionRecord::to_bytes)) |
//!
//! Times are integer Unix seconds bound from the `now` the caller passes (never the server's
//! `now()`), so the server's time zone and clock do not matter. `user_id` is `text`, which in
//! PostgreSQL cannot hold U+0000: a user id containing it is refused with `StoreError::Backend`.
//!
//! The versions of the tables are rows of `schema_versions (name text PRIMARY KEY, version
//! bigint)`: `sessions`, and with feature `auth` `oauth_tokens` and `api_tokens`, each migrating
//! by itself. A schema with a newer version than this build knows fails `connect` with
//! [`PostgresOpenError::NewerSchema`] and is left untouched; a `sessions` table this crate did
//! not create fails the connect instead of being used.
//!
//! # Several application nodes
//!
//! Any number of processes may share one database and schema. `connect` reads the version
//! first (a current schema needs no write, so a read-only standby can be connected to); if a
//! migration is needed it runs in one transaction under `pg_advisory_xact_lock` on a key
//! derived from the schema name, so nodes starting at once migrate one after the other and the
//! later ones find nothing to do. Every method below is atomic in the database, whichever node
//! calls it, and background purges of several nodes never wait for each other.
//!
//! # Concurrency model
//!
//! What each method does in SQL (READ COMMITTED, the default isolation):
//!
//! - `load`: `SELECT record WHERE key = $1`; the record is decoded and its expiry checked
//!   against `now`.
//! - `create`: `INSERT ... ON CONFLICT (key) DO NOTHING`; no row inserted is
//!   `StoreError::Collision`, and the stored row is never overwritten.
//! - `save`: one statement, `WITH cur AS (SELECT key, version ... FOR UPDATE), upd AS (UPDATE
//!   ... FROM cur WHERE cur.version = $expected RETURNING 1) SELECT (SELECT version FROM cur),
//!   EXISTS (SELECT 1 FROM upd)`: the row is locked (following a concurrent update to its newest
//!   version), the locked version compared and the row updated together, so of concurrent saves
//!   at one version exactly one wins (the rest are `Conflict`), and a deleted record is
//!   `NotFound`, never re-created.
//! - `renew`: one transaction: `SELECT version ... FOR UPDATE` of the old key (`NotFound`,
//!   `Conflict`), `INSERT ... ON CONFLICT DO NOTHING` of the new row (`Collision`), `DELETE` of
//!   the old key, `COMMIT`. Any failure rolls it all back. Concurrent renews, saves and deletes
//!   of the old key wait for its lock and then find it gone.
//! - `delete`: `DELETE WHERE key = $1`.
//! - `delete_for_user`: one transaction of two `DELETE WHERE user_id = $1` statements; the
//!   second (with a fresh snapshot) removes a session that a concurrent `renew` moved while the
//!   first waited for its lock, so "log out everywhere" leaves none behind. Returns the count.
//! - `list_for_user`: `SELECT key, record WHERE user_id = $1 AND expires_at > $now ORDER BY
//!   created_at, key`; records that do not decode are skipped with a warning.
//! - `purge_expired`: `DELETE ... WHERE key IN (SELECT key ... WHERE expires_at <= $now ORDER
//!   BY expires_at LIMIT $batch FOR UPDATE SKIP LOCKED)`, repeated until a batch is short
//!   ([`purge_batch`](PostgresStoreConfig::purge_batch), default 1000); each batch is its own
//!   statement, so no statement holds many locks.
//!
//! A serialization failure (`40001`) or deadlock (`40P01`) is retried once inside the store
//! (its transaction was rolled back, so nothing of it happened), then reported as `Backend`.
//!
//! Every statement prepared once per connection (`prepare_cached`). Each call waits at most the
//! [pool timeout](PostgresStoreConfig::pool_timeout) for a connection, each statement runs at
//! most the [statement timeout](PostgresStoreConfig::statement_timeout) (`SET statement_timeout`
//! on every connection), and each whole call is bounded by pool timeout + connect timeout + 2 ×
//! statement timeout + 1 s, so no call hangs on a server that stopped answering.
//!
//! # Background purge
//!
//! PostgreSQL has no TTL, so the store deletes expired rows itself: from `connect` until it is
//! dropped, a [`session_core::store::BackgroundPurge`] thread runs one purge batch every
//! [`PurgeSchedule::interval`](session_core::store::PurgeSchedule::interval) (default 60 s),
//! and goes on at once while batches are full, deleting rows whose expiry has passed by the
//! system clock. The batch runs as a task on the Tokio runtime `connect` was called on; the
//! thread holds only a weak reference to the store. Turn it off with
//! [`background_purge(None)`](PostgresStoreConfig::background_purge) if the application calls
//! [`purge_expired`](session_core::SessionStore::purge_expired) itself.
//!
//! # Failures
//!
//! Errors are classified by SQLSTATE, never by message text:
//!
//! | condition | [`StoreError`](session_core::store::StoreError) |
//! |---|---|
//! | connection refused or reset, connection closed, class `08`, `57P01` admin_shutdown, `57P02`, `57P03` cannot_connect_now, `53300` too_many_connections | `Unavailable` (transient: 503) |
//! | `57014` query_canceled (the statement timeout), `55P03` lock_not_available, no connection within the connect timeout, a call past its bound | `Timeout` (transient) |
//! | no free connection within the pool timeout | `Timeout`, its source saying "connection pool exhausted" (transient) |
//! | `25006` read_only_sql_transaction (a standby, `default_transaction_read_only`) | `ReadOnly` (transient; reads still work) |
//! | `53100` disk_full, `53200` out_of_memory, other class `53` | `Full` (transient) |
//! | `XX001` data_corrupted, `XX002` index_corrupted | `EngineCorrupt` (500, nothing deleted) |
//! | `40001`, `40P01` after one retry, anything else | `Backend` (500) |
//!
//! Only a record that cannot be decoded (garbage, another format version, a record naming
//! another key) is `Corrupt`, from `load`; its row is left in place for the manager to delete.
//!
//! No error or `Debug` output contains a session key, record bytes, a user id or the password:
//! a server error is kept as its SQLSTATE and a fixed condition name only (PostgreSQL's
//! `message` and `detail` quote values, e.g. `Key (key)=(...) already exists`), and the
//! connection target is shown as `host:port/database`. `connect` failures are
//! [`PostgresOpenError`]s.
//!
//! # Provider and API tokens
//!
//! With the feature `auth`, `PostgresTokenStore` keeps session-auth's provider tokens in a
//! table `oauth_tokens` and `PostgresApiTokenStore` its API bearer tokens in `api_tokens`, in
//! the same schema and on the same pool as the sessions (`from_store`), or on a pool of their
//! own (`connect`); their docs give the schema.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "auth")]
mod api_tokens;
mod config;
mod error;
mod schema;
mod store;
#[cfg(feature = "auth")]
mod tokens;

#[cfg(feature = "auth")]
pub use api_tokens::PostgresApiTokenStore;
pub use config::{PostgresStoreConfig, DEFAULT_POSTGRES_URL};
pub use error::PostgresOpenError;
pub use store::PostgresStore;
#[cfg(feature = "auth")]
pub use tokens::PostgresTokenStore;
