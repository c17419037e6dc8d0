//! The [`SessionStore`] trait (**API boundary**) and its typed [`StoreError`].

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;

use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::time::UnixTime;

/// A boxed error from an engine, kept as the `source` of a [`StoreError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Where stateful sessions live.
///
/// Object safe (the manager holds an `Arc<dyn SessionStore>`), asynchronous through
/// `#[async_trait]` (one allocation per call is noise beside an engine round trip; see
/// ARCHITECTURE.md). Every method is required: there are no defaults that could quietly weaken a
/// contract. Stores only ever see [`SessionKey`]s, the SHA-256 of session ids.
///
/// Prove an implementation with the conformance suite: `session_core::store_conformance!` (feature
/// `testing`) expands to one test per contract.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// What this store can and cannot do; the conformance suite adapts to it explicitly.
    fn caps(&self) -> StoreCaps;

    /// The record under `key`, or `None` if there is none or it has expired at `now` (checked
    /// against the record's own expiry, whatever the engine's TTL or purge did).
    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Stores a new record. A record already under the same key is [`StoreError::Collision`] and
    /// stays unchanged: never an overwrite (S-02).
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// Replaces the record under `record.key` if its stored version is `expected_version`.
    ///
    /// The caller sets `record.version` (normally `expected_version + 1`). A stored version that
    /// differs is [`StoreError::Conflict`]; no record at all (deleted meanwhile) is
    /// [`StoreError::NotFound`] and nothing is re-created. A change of `user_id` moves the record
    /// between per-user indexes atomically.
    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError>;

    /// Moves the record stored under `old` to `record.key` (a new session id) if the stored
    /// version of `old` is `expected_version`, atomically: afterwards either `old` is gone and
    /// `record` is stored under its key (and in its user's index), or nothing changed.
    ///
    /// This is how the manager renews an id (C6): conditional, so a logout, a "log out
    /// everywhere" or a concurrent save that lands while the request runs is never undone under
    /// the new id.
    ///
    /// # Errors
    ///
    /// No record under `old` (deleted or expired meanwhile): [`StoreError::NotFound`], and nothing
    /// is created. Another version under `old`: [`StoreError::Conflict`], nothing changes. A
    /// record already under `record.key`: [`StoreError::Collision`], nothing changes.
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError>;

    /// Deletes the record under `key`. Deleting a missing record is not an error.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Deletes every session of `user` ("log out everywhere"); returns how many were deleted.
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Every live (unexpired at `now`) session of `user`.
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Removes records expired at `now` and returns how many. Stores whose engine expires keys
    /// by itself return `Ok(0)` (and say so in [`StoreCaps::expires_natively`]).
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// A shared store is a store: `Arc<MyStore>` or `Arc<dyn SessionStore>` can be handed to a
/// manager while other code (an admin page, a test) keeps a handle on the same store.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn caps(&self) -> StoreCaps {
        (**self).caps()
    }
    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        (**self).load(key, now).await
    }
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        (**self).create(record).await
    }
    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        (**self).save(record, expected_version).await
    }
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        (**self).renew(old, expected_version, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        (**self).delete_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        (**self).list_for_user(user, now).await
    }
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        (**self).purge_expired(now).await
    }
}

/// What a store legitimately cannot do, stated instead of silently skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreCaps {
    /// The engine removes expired records on its own clock (e.g. Redis TTLs), so
    /// `purge_expired` returns 0 and expired records vanish by themselves.
    pub expires_natively: bool,
}

impl StoreCaps {
    /// A store that purges through [`SessionStore::purge_expired`].
    pub const fn purged() -> Self {
        StoreCaps {
            expires_natively: false,
        }
    }

    /// A store whose engine expires records itself.
    pub const fn native_ttl() -> Self {
        StoreCaps {
            expires_natively: true,
        }
    }
}

/// Why a store call failed. `Display` never contains an id, key, token or password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `create` found a record under the same key (S-02).
    #[error("a session with this id already exists")]
    Collision,
    /// `save` found another version than expected: a concurrent write won (C8).
    #[error("the session was changed by a concurrent request")]
    Conflict,
    /// `save` found no record: it was deleted meanwhile and is not re-created.
    #[error("the session no longer exists")]
    NotFound,
    /// The engine cannot be reached (connection refused or dropped).
    #[error("session store unavailable")]
    Unavailable {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
    /// The engine did not answer in time.
    #[error("session store timed out")]
    Timeout {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
    /// The engine refuses writes (read-only file or replica).
    #[error("session store is read-only")]
    ReadOnly {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
    /// The engine is out of space or memory.
    #[error("session store is full")]
    Full {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
    /// One stored record cannot be read (garbage bytes, unknown format version). The manager
    /// deletes that record and carries on without a session; the rest of the store is fine.
    #[error("a stored session record is corrupt")]
    Corrupt {
        /// What was wrong with it.
        #[source]
        source: BoxError,
    },
    /// The engine's own storage is damaged (a corrupt database file or tree, not one bad
    /// record). Nothing is deleted or written: the request fails with a 500 and an operator has
    /// to look at the engine.
    #[error("the session store's storage is damaged")]
    EngineCorrupt {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
    /// Any other engine failure.
    #[error("session store failed")]
    Backend {
        /// The engine's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Whether retrying later may succeed: the engine is down, slow, read-only or full. Adapters
    /// answer these with 503 and keep the client's cookie (C14).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. }
                | StoreError::Timeout { .. }
                | StoreError::ReadOnly { .. }
                | StoreError::Full { .. }
        )
    }

    /// [`StoreError::Unavailable`] with `source`.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable {
            source: source.into(),
        }
    }

    /// [`StoreError::Timeout`] with `source`.
    pub fn timeout(source: impl Into<BoxError>) -> Self {
        StoreError::Timeout {
            source: source.into(),
        }
    }

    /// [`StoreError::ReadOnly`] with `source`.
    pub fn read_only(source: impl Into<BoxError>) -> Self {
        StoreError::ReadOnly {
            source: source.into(),
        }
    }

    /// [`StoreError::Full`] with `source`.
    pub fn full(source: impl Into<BoxError>) -> Self {
        StoreError::Full {
            source: source.into(),
        }
    }

    /// [`StoreError::Corrupt`] with `source`.
    pub fn corrupt(source: impl Into<BoxError>) -> Self {
        StoreError::Corrupt {
            source: source.into(),
        }
    }

    /// [`StoreError::EngineCorrupt`] with `source`.
    pub fn engine_corrupt(source: impl Into<BoxError>) -> Self {
        StoreError::EngineCorrupt {
            source: source.into(),
        }
    }

    /// [`StoreError::Backend`] with `source`.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        StoreError::Backend {
            source: source.into(),
        }
    }
}
