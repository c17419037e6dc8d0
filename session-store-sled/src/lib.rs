//! A [`SessionStore`](session_core::SessionStore) in an embedded [sled](https://docs.rs/sled/0.34.7)
//! database: durable sessions for a single-process application, with no server to run.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use session_core::{store::{SessionId, SessionRecord}, SessionStore, UnixTime, UserId};
//! use session_store_sled::{SledStore, SledStoreConfig};
//!
//! let dir = tempfile::tempdir()?;
//! // Expired sessions are purged in the background (every 60 s by default) until `store` is dropped.
//! let store = SledStore::open(SledStoreConfig::new(dir.path().join("sessions")))?;
//!
//! let now = UnixTime::now();
//! let mut record = SessionRecord::new(SessionId::generate().key(), now, now + Duration::from_secs(3600));
//! record.user_id = Some(UserId::new("alice"));
//! store.create(&record).await?; // on disk (flushed) when this returns
//!
//! assert_eq!(store.load(&record.key, now).await?, Some(record.clone()));
//! assert_eq!(store.list_for_user(&UserId::new("alice"), now).await?.len(), 1);
//! assert_eq!(store.delete_for_user(&UserId::new("alice")).await?, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! This crate has no cargo features. It pins sled 0.34 (sled is beta and its file format may
//! change before 1.0); the store's own layout carries a format version (see below).
//!
//! # Durability
//!
//! [`FlushPolicy::EveryWrite`] (the default) makes every write await sled's `flush_async` (write
//! and fsync) before it returns, so a session the application was told exists survives a crash
//! or power loss, and so does a logout. [`FlushPolicy::Background`] returns as soon as the write
//! is in memory and relies on sled's flusher thread, which runs every [`BACKGROUND_FLUSH_MS`]
//! (500) ms: a crash can lose the writes of that last window, never half a write (a record and
//! its index entries are one transaction). If a flush fails after the write was accepted in
//! memory, the call returns the error (typically `ReadOnly` or `Full`) although the write may
//! still reach the disk later.
//!
//! # Layout
//!
//! Four trees, named `sessions.*` so the store can share a [`sled::Db`] with other data
//! ([`SledStore::from_db`]):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `sessions.records` | the 32 bytes of the [`SessionKey`](session_core::store::SessionKey) (SHA-256 of the id) | [`SessionRecord::to_bytes`](session_core::store::SessionRecord::to_bytes) (versioned JSON) |
//! | `sessions.by_user` | `be_u64(len(user id)) ++ user id ++ key` | empty |
//! | `sessions.by_expiry` | `be_u64(effective expiry in Unix seconds) ++ key` | empty |
//! | `sessions.meta` | `format` | [`STORE_FORMAT_VERSION`] as a big-endian `u32` |
//!
//! The length prefix keeps user `"a"`'s entries apart from user `"ab"`'s under a prefix scan.
//! The big-endian expiry orders the expiry tree by time, so `purge_expired` reads only the
//! expired front of it. Every write (`create`, `save`, `renew`, `delete`, and the per-record
//! steps of `delete_for_user` and `purge_expired`) is one serializable transaction over the three data
//! trees: records and indexes never disagree. The session id itself is never stored.
//!
//! # Expiry
//!
//! sled has no TTL (D6). `load` and `list_for_user` check each record's own expiry, so an expired
//! record still on disk is never returned; `purge_expired` deletes them.
//!
//! The store also deletes them itself: from the moment it is opened until its last clone is
//! dropped, a [`session_core::store::BackgroundPurge`] thread walks the expiry index every
//! [`PurgeSchedule::interval`](session_core::store::PurgeSchedule::interval) (default
//! [`DEFAULT_PURGE_INTERVAL`](session_core::store::DEFAULT_PURGE_INTERVAL), 60 s; set with
//! [`background_purge`](SledStoreConfig::background_purge)) and removes up to
//! [`PurgeSchedule::batch`](session_core::store::PurgeSchedule::batch) (default
//! [`DEFAULT_PURGE_BATCH`](session_core::store::DEFAULT_PURGE_BATCH), 1000) records expired by the system
//! clock, each with its index entries in one transaction, going on at once while batches are
//! full. A corrupt record is skipped and kept. The thread holds only a weak reference to the
//! store: dropping the last clone stops it (waiting for a batch in flight) and closes the
//! database, so the path can be opened again at once. Turn it off with
//! [`background_purge(None)`](SledStoreConfig::background_purge); [`SledStore::from_db`] uses
//! the defaults and [`SledStore::from_db_with_config`] the config's settings.
//! [`SledStore::spawn_sweeper`] is the older alternative: a purge task on the application's
//! Tokio runtime.
//!
//! # Errors and faults
//!
//! | fault | behaviour | tested by |
//! |---|---|---|
//! | D1: the database is open elsewhere | [`SledOpenError::InUse`] (sled's file lock) | `tests/it/faults.rs` |
//! | unusable path (e.g. below a regular file) | [`SledOpenError::Io`] | `tests/it/faults.rs` |
//! | D2: read-only file system, permission denied | `StoreError::ReadOnly` (transient: 503) | mapping unit-tested only |
//! | D2: disk full (`ENOSPC`) | `StoreError::Full` (transient: 503) | mapping unit-tested only |
//! | other I/O errors | `StoreError::Unavailable` | mapping unit-tested only |
//! | D3: process killed mid-write | every acknowledged write is present, indexes consistent | `tests/it/crash.rs` |
//! | D4: corruption found by sled (a page, snapshot or config that fails its check) | [`SledOpenError::Corrupt`] at open, `StoreError::EngineCorrupt` later (a 500; the manager deletes nothing); never wiped | `tests/it/engine_corruption.rs` |
//! | one record that does not decode | `StoreError::Corrupt` from `load`/`save` with a [`CorruptRecord`] source; the record is kept, skipped by lists and purges, removed by `delete` | the conformance suite's `a_corrupt_record_is_a_typed_error`, `tests/it/corruption.rs` |
//! | D5: concurrent writers | one transaction wins, the others get `Conflict` | conformance suite |
//! | D7: unknown store format | [`SledOpenError::UnsupportedFormat`] | `tests/it/corruption.rs` |
//! | D8: blocking I/O | flushes and scans (a user's sessions, the purge) run on Tokio's blocking pool | `tests/it/blocking.rs` |
//!
//! Faults not induced by the tests: a read-only or full file system (the tests run as root, which
//! ignores permission bits, and cannot mount a small file system); their error mapping is covered
//! by unit tests. Corruption is induced, with a caveat: sled 0.34 silently truncates a damaged
//! log *tail* during recovery (a torn write looks the same), so only damage before the point
//! recovery resumes from (its last snapshot) is reported, at open or at the first load of the
//! damaged page.
//!
//! No error message, `Debug` output or log line of this crate contains a session id, a whole
//! session key (logs use the 8-digit fingerprint) or record data.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod config;
mod error;
mod keys;
mod store;

pub use config::{
    FlushPolicy, SledStoreConfig, BACKGROUND_FLUSH_MS, DEFAULT_CACHE_CAPACITY,
    DEFAULT_FLUSH_TIMEOUT,
};
pub use error::{CorruptRecord, SledOpenError, STORE_FORMAT_VERSION};
pub use store::SledStore;
