//! The [`SessionStore`] trait (**API boundary**), its typed [`StoreError`] and [`StoreCaps`].
//!
//! # Writing a store
//!
//! A store keeps [`SessionRecord`]s under their [`SessionKey`]s (the SHA-256 of session ids; a
//! store never sees an id) with an index by [`UserId`], and implements every method of
//! [`SessionStore`]. This one is complete and correct: it keeps records in memory the way an
//! engine keeps them (in their byte format, next to the user they are indexed under) and ends
//! with the conformance call its tests make, which checks every contract below on it.
//!
//! ```
//! use std::collections::{HashMap, HashSet};
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use session_core::{
//!     store::{SessionKey, SessionRecord, StoreCaps, StoreError},
//!     SessionStore, UnixTime, UserId,
//! };
//! use tokio::sync::Mutex;
//!
//! /// Sessions in memory, kept the way an engine keeps them: each record in its stored
//! /// byte format, next to the user it is indexed under, plus the keys of each user's
//! /// sessions. One lock around everything makes every method atomic.
//! #[derive(Debug, Default)]
//! pub struct MapStore {
//!     maps: Arc<Mutex<Maps>>,
//! }
//!
//! #[derive(Debug, Default)]
//! struct Maps {
//!     records: HashMap<SessionKey, Stored>,
//!     by_user: HashMap<UserId, HashSet<SessionKey>>,
//! }
//!
//! #[derive(Debug)]
//! struct Stored {
//!     /// `SessionRecord::to_bytes`: versioned, so a future format is `Corrupt`, never a guess.
//!     bytes: Vec<u8>,
//!     user: Option<UserId>,
//! }
//!
//! /// Reads a stored record back: bytes that are not a record of `key` are `Corrupt`.
//! fn decode(key: &SessionKey, stored: &Stored) -> Result<SessionRecord, StoreError> {
//!     let record = SessionRecord::from_bytes(&stored.bytes).map_err(StoreError::corrupt)?;
//!     if record.key != *key {
//!         return Err(StoreError::corrupt("the record names another session key"));
//!     }
//!     Ok(record)
//! }
//!
//! impl Maps {
//!     /// Checks that a record is stored under `key` with version `expected`.
//!     fn check_version(&self, key: &SessionKey, expected: u64) -> Result<(), StoreError> {
//!         let stored = self.records.get(key).ok_or(StoreError::NotFound)?;
//!         if decode(key, stored)?.version != expected {
//!             return Err(StoreError::Conflict);
//!         }
//!         Ok(())
//!     }
//!
//!     fn insert(&mut self, record: &SessionRecord) {
//!         if let Some(user) = &record.user_id {
//!             self.by_user
//!                 .entry(user.clone())
//!                 .or_default()
//!                 .insert(record.key);
//!         }
//!         let stored = Stored {
//!             bytes: record.to_bytes(),
//!             user: record.user_id.clone(),
//!         };
//!         self.records.insert(record.key, stored);
//!     }
//!
//!     /// Removes the record under `key` and its index entry; whether there was one.
//!     fn remove(&mut self, key: &SessionKey) -> bool {
//!         let Some(stored) = self.records.remove(key) else {
//!             return false;
//!         };
//!         if let Some(user) = stored.user {
//!             if let Some(keys) = self.by_user.get_mut(&user) {
//!                 keys.remove(key);
//!                 if keys.is_empty() {
//!                     self.by_user.remove(&user);
//!                 }
//!             }
//!         }
//!         true
//!     }
//! }
//!
//! #[async_trait]
//! impl SessionStore for MapStore {
//!     fn caps(&self) -> StoreCaps {
//!         StoreCaps::purged()
//!     }
//!
//!     async fn load(
//!         &self,
//!         key: &SessionKey,
//!         now: UnixTime,
//!     ) -> Result<Option<SessionRecord>, StoreError> {
//!         let maps = self.maps.lock().await;
//!         let Some(stored) = maps.records.get(key) else {
//!             return Ok(None);
//!         };
//!         let record = decode(key, stored)?;
//!         Ok((!record.is_expired(now)).then_some(record))
//!     }
//!
//!     async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
//!         let mut maps = self.maps.lock().await;
//!         if maps.records.contains_key(&record.key) {
//!             return Err(StoreError::Collision);
//!         }
//!         maps.insert(record);
//!         Ok(())
//!     }
//!
//!     async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
//!         let mut maps = self.maps.lock().await;
//!         maps.check_version(&record.key, expected_version)?;
//!         maps.remove(&record.key); // the user may have changed: index the record afresh
//!         maps.insert(record);
//!         Ok(())
//!     }
//!
//!     async fn renew(
//!         &self,
//!         old: &SessionKey,
//!         expected_version: u64,
//!         record: &SessionRecord,
//!     ) -> Result<(), StoreError> {
//!         let mut maps = self.maps.lock().await;
//!         maps.check_version(old, expected_version)?;
//!         if maps.records.contains_key(&record.key) {
//!             return Err(StoreError::Collision);
//!         }
//!         maps.remove(old);
//!         maps.insert(record);
//!         Ok(())
//!     }
//!
//!     async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
//!         self.maps.lock().await.remove(key);
//!         Ok(())
//!     }
//!
//!     async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
//!         let mut maps = self.maps.lock().await;
//!         let mut deleted = 0;
//!         for key in maps.by_user.remove(user).unwrap_or_default() {
//!             if maps.remove(&key) {
//!                 deleted += 1;
//!             }
//!         }
//!         Ok(deleted)
//!     }
//!
//!     async fn list_for_user(
//!         &self,
//!         user: &UserId,
//!         now: UnixTime,
//!     ) -> Result<Vec<SessionRecord>, StoreError> {
//!         let maps = self.maps.lock().await;
//!         let keys = maps.by_user.get(user).into_iter().flatten();
//!         let mut live: Vec<SessionRecord> = keys
//!             .filter_map(|key| decode(key, maps.records.get(key)?).ok()) // skips damaged records
//!             .filter(|record| !record.is_expired(now))
//!             .collect();
//!         live.sort_by_key(|record| record.created_at);
//!         Ok(live)
//!     }
//!
//!     async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
//!         let mut maps = self.maps.lock().await;
//!         let expired: Vec<SessionKey> = maps
//!             .records
//!             .iter()
//!             .filter(|(key, stored)| decode(key, stored).is_ok_and(|r| r.is_expired(now)))
//!             .map(|(key, _)| *key)
//!             .collect();
//!         for key in &expired {
//!             maps.remove(key);
//!         }
//!         Ok(expired.len() as u64)
//!     }
//! }
//!
//! // In the store's tests: the whole conformance suite (dev-dependencies: session-core with
//! // feature `testing`, tokio with `macros` and `rt-multi-thread`), with raw access to the
//! // maps, so the suite also checks what is at rest and how damaged records are handled.
//! #[cfg(test)]
//! mod tests {
//!     use super::*;
//!     use session_core::store::BoxError;
//!     use session_core::testing::{Fixture, RawAccess};
//!
//!     /// What the suite may read and damage behind the store's back.
//!     #[derive(Debug)]
//!     struct RawMaps(Arc<Mutex<Maps>>);
//!
//!     #[async_trait]
//!     impl RawAccess for RawMaps {
//!         async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
//!             let maps = self.0.lock().await;
//!             let mut all = Vec::new();
//!             for (key, stored) in &maps.records {
//!                 all.push(key.as_bytes().to_vec());
//!                 all.push(stored.bytes.clone());
//!                 all.extend(stored.user.iter().map(|u| u.as_str().as_bytes().to_vec()));
//!             }
//!             for (user, keys) in &maps.by_user {
//!                 all.push(user.as_str().as_bytes().to_vec());
//!                 all.extend(keys.iter().map(|key| key.as_bytes().to_vec()));
//!             }
//!             Ok(all)
//!         }
//!
//!         async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
//!             let mut maps = self.0.lock().await;
//!             let stored = maps
//!                 .records
//!                 .get_mut(key)
//!                 .ok_or("no record under this key")?;
//!             stored.bytes = bytes.to_vec();
//!             Ok(())
//!         }
//!     }
//!
//!     session_core::store_conformance!(
//!         || async {
//!             let store = MapStore::default();
//!             let raw = RawMaps(store.maps.clone());
//!             Fixture::new(store).raw_access(raw)
//!         },
//!         raw_access
//!     );
//! }
//! # fn main() {}
//! ```
//!
//! What every store must get right (the example does all of it):
//!
//! - **One atomic step per method.** Each method runs under one lock here; an engine uses a
//!   transaction or a script. A check and the write it guards must never be two steps another
//!   request can slip between.
//! - **`create` never overwrites**: a taken key is [`StoreError::Collision`] and the stored
//!   record stays (S-02).
//! - **`save` and `renew` are conditional** on the stored version: no record is
//!   [`StoreError::NotFound`] (and nothing is re-created), another version is
//!   [`StoreError::Conflict`] (C8); `renew` onto a taken key is [`StoreError::Collision`].
//!   Whenever they fail, nothing changed.
//! - **The user index follows every write**, including a `save` or `renew` that changes the
//!   user, and `delete_for_user` counts what it deleted.
//! - **Expiry is checked by the store** against the `now` it is given (never its own clock), in
//!   `load` and `list_for_user`, whatever an engine's TTL or purge has done.
//! - **Bytes that are not a record are [`StoreError::Corrupt`]** (another format version,
//!   garbage, a record stored under another key), and the store does not delete them: the
//!   manager does, and lists and purges skip them.
//! - **The conformance suite is the specification.** `session_core::store_conformance!(factory)`
//!   (feature `testing`) expands to one `#[tokio::test]` per contract; a store that holds bytes
//!   adds `raw_access` and a hook (`session_core::testing::RawAccess`) through which the suite
//!   checks that no session id is at rest and that damaged records are handled as above. The
//!   example is also run that way in `session-core/tests/custom_store.rs`, which checks that this
//!   page shows exactly its code.

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;

use crate::id::UserId;
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
/// `testing`) expands to one test per contract. The docs of this module (`src/store.rs`) open
/// with a complete custom store that passes it.
///
/// # Engine failures
///
/// Besides the outcomes each method documents, every method may fail because of the engine:
///
/// - [`StoreError::Unavailable`], [`StoreError::Timeout`]: the engine cannot be reached or did
///   not answer in time. Transient (503, the cookie is kept); nothing is known to have changed.
/// - [`StoreError::ReadOnly`], [`StoreError::Full`]: the engine refuses writes (reads still
///   work). Transient; the write did not happen.
/// - [`StoreError::EngineCorrupt`]: the engine's own storage is damaged. A 500; nothing is
///   deleted.
/// - [`StoreError::Backend`]: anything else the engine reports. A 500.
///
/// # Examples
///
/// Any store, here the [`MemoryStore`], behind the trait object the manager
/// holds:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), session_core::store::StoreError> {
/// let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
/// let now = UnixTime::now();
/// let in_a_minute = now + Duration::from_secs(60);
/// let record = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
/// store.create(&record).await?;
/// assert_eq!(store.load(&record.key, now).await?, Some(record));
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// What this store can and cannot do; the conformance suite adapts to it explicitly.
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::{store::StoreCaps, MemoryStore, SessionStore};
    ///
    /// assert_eq!(MemoryStore::new().caps(), StoreCaps::purged());
    /// ```
    fn caps(&self) -> StoreCaps;

    /// The record under `key`, or `None` if there is none or it has expired at `now` (checked
    /// against the record's own expiry, whatever the engine's TTL or purge did).
    ///
    /// # Errors
    ///
    /// - [`StoreError::Corrupt`]: the bytes under `key` are not a record this build reads
    ///   (garbage, another format version, a record stored under another key). The store leaves
    ///   them; the manager deletes that record and carries on without a session.
    /// - The [engine failures](SessionStore#engine-failures).
    ///
    /// A missing or expired record is `Ok(None)`, never an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), session_core::store::StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let in_a_minute = now + Duration::from_secs(60);
    /// let record = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
    /// store.create(&record).await?;
    ///
    /// assert!(store.load(&record.key, now).await?.is_some());
    /// assert_eq!(store.load(&record.key, in_a_minute).await?, None, "expired");
    /// assert_eq!(store.load(&SessionId::generate().key(), now).await?, None, "unknown");
    /// # Ok(())
    /// # }
    /// ```
    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Stores a new record, and indexes it under its user if it has one.
    ///
    /// # Errors
    ///
    /// - [`StoreError::Collision`]: a record is already stored under `record.key` (even a
    ///   corrupt one). It stays unchanged: `create` never overwrites (S-02).
    /// - The [engine failures](SessionStore#engine-failures).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord, StoreError}, MemoryStore, SessionStore};
    /// use session_core::UnixTime;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let in_a_minute = now + Duration::from_secs(60);
    /// let record = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
    /// store.create(&record).await?;
    /// assert!(matches!(store.create(&record).await, Err(StoreError::Collision)));
    /// # Ok(())
    /// # }
    /// ```
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// Replaces the record under `record.key` if its stored version is `expected_version`.
    ///
    /// The caller sets `record.version` (normally `expected_version + 1`). A change of `user_id`
    /// moves the record between per-user indexes atomically.
    ///
    /// # Errors
    ///
    /// - [`StoreError::Conflict`]: the stored version is not `expected_version` (a concurrent
    ///   request saved first, C8). Nothing changes.
    /// - [`StoreError::NotFound`]: no record under `record.key` (deleted meanwhile, e.g. by a
    ///   logout). Nothing is re-created.
    /// - [`StoreError::Corrupt`]: the stored bytes are not a record, so their version cannot be
    ///   checked. Nothing changes. (A store that checks a version kept beside the bytes may
    ///   instead replace the damaged record; both pass the conformance suite.)
    /// - The [engine failures](SessionStore#engine-failures).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord, StoreError}, MemoryStore, SessionStore};
    /// use session_core::UnixTime;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let in_a_minute = now + Duration::from_secs(60);
    /// let loaded = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
    /// store.create(&loaded).await?;
    ///
    /// let mut next = loaded.clone();
    /// next.version = loaded.version + 1;
    /// store.save(&next, loaded.version).await?;
    /// // A second writer that loaded the same version lost the race:
    /// assert!(matches!(store.save(&next, loaded.version).await, Err(StoreError::Conflict)));
    /// # Ok(())
    /// # }
    /// ```
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
    /// - [`StoreError::NotFound`]: no record under `old` (deleted or expired meanwhile). Nothing
    ///   is created.
    /// - [`StoreError::Conflict`]: another version under `old`. Nothing changes.
    /// - [`StoreError::Collision`]: a record is already stored under `record.key`. Nothing
    ///   changes.
    /// - [`StoreError::Corrupt`]: the bytes under `old` are not a record. Nothing changes (or,
    ///   as for [`save`](SessionStore::save), the damaged record is replaced entirely).
    /// - The [engine failures](SessionStore#engine-failures).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), session_core::store::StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let in_a_minute = now + Duration::from_secs(60);
    /// let old = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
    /// store.create(&old).await?;
    ///
    /// let mut new = old.clone();
    /// new.key = SessionId::generate().key();
    /// new.version = old.version + 1;
    /// store.renew(&old.key, old.version, &new).await?;
    /// assert_eq!(store.load(&old.key, now).await?, None);
    /// assert_eq!(store.load(&new.key, now).await?, Some(new));
    /// # Ok(())
    /// # }
    /// ```
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError>;

    /// Deletes the record under `key`, corrupt or not, with its index entries.
    ///
    /// # Errors
    ///
    /// Only the [engine failures](SessionStore#engine-failures): deleting a missing record is
    /// `Ok`, so a delete can be repeated.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Deletes every session of `user` ("log out everywhere"), corrupt ones included; returns
    /// how many were deleted (0 for a user without sessions).
    ///
    /// # Errors
    ///
    /// Only the [engine failures](SessionStore#engine-failures). After one, some of the user's
    /// sessions may already be gone; calling again finishes the job.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime, UserId};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), session_core::store::StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let alice = UserId::new("alice");
    /// for _ in 0..2 {
    ///     let in_a_minute = now + Duration::from_secs(60);
    ///     let mut record = SessionRecord::new(SessionId::generate().key(), now, in_a_minute);
    ///     record.user_id = Some(alice.clone());
    ///     store.create(&record).await?;
    /// }
    /// assert_eq!(store.list_for_user(&alice, now).await?.len(), 2);
    /// assert_eq!(store.delete_for_user(&alice).await?, 2);
    /// assert!(store.list_for_user(&alice, now).await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError>;

    /// Every live (unexpired at `now`) session of `user`. Records that do not decode are
    /// skipped, not reported: one damaged record does not hide the user's other sessions.
    ///
    /// # Errors
    ///
    /// Only the [engine failures](SessionStore#engine-failures).
    ///
    /// See [`delete_for_user`](SessionStore::delete_for_user) for an example.
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Removes records expired at `now` and returns how many. Stores whose engine expires keys
    /// by itself return `Ok(0)` (and say so in [`StoreCaps::expires_natively`]). A record that
    /// does not decode is removed or skipped, never a reason to fail (or to stop purging the
    /// others).
    ///
    /// # Errors
    ///
    /// Only the [engine failures](SessionStore#engine-failures). What was purged before one
    /// stays purged.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), session_core::store::StoreError> {
    /// let store = MemoryStore::new();
    /// let now = UnixTime::now();
    /// let soon = now + Duration::from_secs(1);
    /// store.create(&SessionRecord::new(SessionId::generate().key(), now, soon)).await?;
    /// assert_eq!(store.purge_expired(now).await?, 0);
    /// assert_eq!(store.purge_expired(soon).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
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
///
/// `#[non_exhaustive]`: build it with [`StoreCaps::purged`] or [`StoreCaps::native_ttl`].
///
/// # Examples
///
/// ```
/// use session_core::store::StoreCaps;
///
/// assert!(!StoreCaps::purged().expires_natively);
/// assert!(StoreCaps::native_ttl().expires_natively);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreCaps {
    /// The engine removes expired records on its own clock (e.g. Redis TTLs), so
    /// `purge_expired` returns 0 and expired records vanish by themselves.
    pub expires_natively: bool,
}

impl StoreCaps {
    /// A store that purges through [`SessionStore::purge_expired`] (SQL, sled, memory): the
    /// conformance suite requires its purge to count what it removed.
    pub const fn purged() -> Self {
        StoreCaps {
            expires_natively: false,
        }
    }

    /// A store whose engine expires records itself (Redis): its `purge_expired` may return 0.
    pub const fn native_ttl() -> Self {
        StoreCaps {
            expires_natively: true,
        }
    }
}

/// Why a store call failed. `Display` never contains an id, key, token or password.
///
/// Three kinds: outcomes of the contract that the manager answers itself ([`Collision`],
/// [`Conflict`], [`NotFound`]); transient engine trouble ([`is_transient`]: a 503, the cookie
/// is kept); and the rest, a 500 ([`Corrupt`] also makes the manager delete that one record).
/// Engines' own errors travel as the `source`, so logs keep them while `Display` stays fixed.
///
/// [`Collision`]: StoreError::Collision
/// [`Conflict`]: StoreError::Conflict
/// [`NotFound`]: StoreError::NotFound
/// [`is_transient`]: StoreError::is_transient
/// [`Corrupt`]: StoreError::Corrupt
///
/// # Examples
///
/// A store maps its engine's errors with the constructors:
///
/// ```
/// use std::io;
///
/// use session_core::store::StoreError;
///
/// fn from_io(error: io::Error) -> StoreError {
///     match error.kind() {
///         io::ErrorKind::TimedOut => StoreError::timeout(error),
///         io::ErrorKind::ConnectionRefused => StoreError::unavailable(error),
///         io::ErrorKind::StorageFull => StoreError::full(error),
///         _ => StoreError::backend(error),
///     }
/// }
///
/// let error = from_io(io::Error::from(io::ErrorKind::ConnectionRefused));
/// assert!(error.is_transient());
/// assert_eq!(error.to_string(), "session store unavailable");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `create` (or `renew`, for the new key) found a record under the same key (S-02).
    #[error("a session with this id already exists")]
    Collision,
    /// `save` or `renew` found another version than expected: a concurrent write won (C8).
    #[error("the session was changed by a concurrent request")]
    Conflict,
    /// `save` or `renew` found no record: it was deleted meanwhile and is not re-created.
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
    ///
    /// # Examples
    ///
    /// ```
    /// use session_core::store::StoreError;
    ///
    /// assert!(StoreError::timeout("no answer within 2 s").is_transient());
    /// assert!(!StoreError::Conflict.is_transient());
    /// assert!(!StoreError::corrupt("not a record").is_transient());
    /// ```
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

// Everything a store works with, in one place for store authors.
pub use crate::id::{SessionId, SessionKey, SESSION_ID_BYTES};
pub use crate::memory_store::MemoryStore;
pub use crate::purge::{
    BackgroundPurge, PurgeSchedule, DEFAULT_PURGE_BATCH, DEFAULT_PURGE_INTERVAL, MIN_PURGE_INTERVAL,
};
pub use crate::record::{
    RecordFormatError, SessionData, SessionMetadata, SessionRecord, RECORD_FORMAT_VERSION,
};
