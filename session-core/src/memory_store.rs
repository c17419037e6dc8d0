//! [`MemoryStore`]: an in-process, sharded [`SessionStore`] for tests, demos and single-instance
//! applications.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreCaps, StoreError};
use crate::time::UnixTime;

/// Record shards and user-index shards. Many small maps, so a shard's lock is held briefly, a
/// sweep scans a 64th of the records, and a map that grows rehashes a 64th of them: with a
/// million sessions, 16 shards and one user index made a create wait hundreds of milliseconds
/// now and then.
const SHARDS: usize = 64;
/// Every this many creates, one shard is swept for expired records, so an application that never
/// calls `purge_expired` still does not grow without bound, and no single call pays for a full scan.
const SWEEP_EVERY: u64 = 64;

type Index = HashMap<UserId, HashSet<SessionKey>>;

/// Sessions in memory: 64 independently locked shards keyed by the first byte of the session key,
/// plus a per-user index in 64 shards of its own. Lost when the process exits.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use session_core::{store::{SessionId, SessionRecord}, MemoryStore, SessionStore, UnixTime};
/// let store = MemoryStore::new();
/// let now = UnixTime::from_secs(1_000);
/// let record = SessionRecord::new(SessionId::generate().key(), now, UnixTime::from_secs(2_000));
/// store.create(&record).await?;
/// assert_eq!(store.load(&record.key, now).await?, Some(record));
/// # Ok::<(), session_core::store::StoreError>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shards: [RwLock<HashMap<SessionKey, SessionRecord>>; SHARDS],
    by_user: [Mutex<Index>; SHARDS],
    /// Picks a user's index shard.
    user_hasher: RandomState,
    creates: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore {
            shards: std::array::from_fn(|_| RwLock::default()),
            by_user: std::array::from_fn(|_| Mutex::default()),
            user_hasher: RandomState::new(),
            creates: AtomicU64::new(0),
        }
    }

    /// How many records are held, expired or not (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Whether the store holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard_index(&self, key: &SessionKey) -> usize {
        usize::from(key.as_bytes()[0]) % SHARDS
    }

    fn shard(&self, key: &SessionKey) -> &RwLock<HashMap<SessionKey, SessionRecord>> {
        &self.shards[self.shard_index(key)]
    }

    /// The index shard holding `user`'s keys.
    fn index(&self, user: &UserId) -> MutexGuard<'_, Index> {
        let shard = (self.user_hasher.hash_one(user) % SHARDS as u64) as usize;
        // A panic while holding the lock cannot leave the index half-updated in a way that matters
        // (every entry is re-checked against the shards), so a poisoned lock is still usable.
        self.by_user[shard]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn add_to_index(&self, user: &UserId, key: SessionKey) {
        self.index(user)
            .entry(user.clone())
            .or_default()
            .insert(key);
    }

    fn unindex(&self, user: &UserId, key: &SessionKey) {
        remove_from(&mut self.index(user), user, key);
    }

    fn sweep_shard(&self, shard: usize, now: UnixTime) -> u64 {
        let removed: Vec<SessionRecord> = {
            let mut map = write(&self.shards[shard]);
            let expired: Vec<SessionKey> = map
                .values()
                .filter(|r| r.is_expired(now))
                .map(|r| r.key)
                .collect();
            expired.iter().filter_map(|k| map.remove(k)).collect()
        };
        for record in &removed {
            if let Some(user) = &record.user_id {
                self.unindex(user, &record.key);
            }
        }
        removed.len() as u64
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

type Shard = HashMap<SessionKey, SessionRecord>;

/// Removes `key` from `user`'s entry of a locked index shard, and the entry once it is empty.
fn remove_from(index: &mut Index, user: &UserId, key: &SessionKey) {
    if let Some(keys) = index.get_mut(user) {
        keys.remove(key);
        if keys.is_empty() {
            index.remove(user);
        }
    }
}

/// The check-and-move of [`SessionStore::renew`] on locked shards (`new_shard` is `None` when
/// both keys live in `old_shard`). Returns the user the old record belonged to.
fn move_record(
    old_shard: &mut Shard,
    new_shard: Option<&mut Shard>,
    old: &SessionKey,
    expected_version: u64,
    record: &SessionRecord,
) -> Result<Option<UserId>, StoreError> {
    match old_shard.get(old) {
        None => return Err(StoreError::NotFound),
        Some(stored) if stored.version != expected_version => return Err(StoreError::Conflict),
        Some(_) => {}
    }
    let collides = match new_shard.as_deref() {
        Some(shard) => shard.contains_key(&record.key),
        None => old_shard.contains_key(&record.key),
    };
    if collides {
        return Err(StoreError::Collision);
    }
    let previous_user = old_shard.remove(old).and_then(|r| r.user_id);
    new_shard
        .unwrap_or(old_shard)
        .insert(record.key, record.clone());
    Ok(previous_user)
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for MemoryStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::purged()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(read(self.shard(key))
            .get(key)
            .filter(|r| !r.is_expired(now))
            .cloned())
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        {
            let mut map = write(self.shard(&record.key));
            if map.contains_key(&record.key) {
                return Err(StoreError::Collision);
            }
            map.insert(record.key, record.clone());
            if let Some(user) = &record.user_id {
                self.add_to_index(user, record.key);
            }
        }
        let n = self.creates.fetch_add(1, Ordering::Relaxed);
        if n % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let shard = ((n / SWEEP_EVERY) % SHARDS as u64) as usize;
            self.sweep_shard(shard, record.last_seen_at);
        }
        Ok(())
    }

    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        let mut map = write(self.shard(&record.key));
        let stored = map.get_mut(&record.key).ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::Conflict);
        }
        if stored.user_id != record.user_id {
            if let Some(old) = &stored.user_id {
                self.unindex(old, &record.key);
            }
            if let Some(new) = &record.user_id {
                self.add_to_index(new, record.key);
            }
        }
        *stored = record.clone();
        Ok(())
    }

    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        let (a, b) = (self.shard_index(old), self.shard_index(&record.key));
        // Both shards stay locked (in index order, so two renews cannot deadlock) through the
        // check, the move and the re-indexing: nobody sees the old record gone and the new one
        // missing, and `delete_for_user` finds the new key once the old one is gone.
        let mut low = write(&self.shards[a.min(b)]);
        let mut high = (a != b).then(|| write(&self.shards[a.max(b)]));
        let previous_user = match high.as_deref_mut() {
            None => move_record(&mut low, None, old, expected_version, record)?,
            Some(high) if a < b => {
                move_record(&mut low, Some(high), old, expected_version, record)?
            }
            Some(high) => move_record(high, Some(&mut low), old, expected_version, record)?,
        };
        match (&previous_user, &record.user_id) {
            // One index update for both keys of the same user: between two, a
            // `delete_for_user` would find the user without sessions and end nothing while the
            // renewed record is about to be indexed.
            (Some(before), Some(after)) if before == after => {
                let mut index = self.index(after);
                index.entry(after.clone()).or_default().insert(record.key);
                remove_from(&mut index, before, old);
            }
            (before, after) => {
                if let Some(user) = after {
                    self.add_to_index(user, record.key);
                }
                if let Some(user) = before {
                    self.unindex(user, old);
                }
            }
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let removed = write(self.shard(key)).remove(key);
        if let Some(user) = removed.and_then(|r| r.user_id) {
            self.unindex(&user, key);
        }
        Ok(())
    }

    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut deleted = 0;
        // A renew running meanwhile re-indexes its new key after the old one is gone (both under
        // the shard locks), so taking the index again until it is empty catches it. The index
        // lock is released before any shard is locked: `renew` takes them the other way round,
        // and holding both here (as a `while let` scrutinee's guard would) deadlocks with it.
        loop {
            let Some(keys) = self.index(user).remove(user) else {
                break;
            };
            for key in keys {
                let mut map = write(self.shard(&key));
                if map
                    .get(&key)
                    .is_some_and(|r| r.user_id.as_ref() == Some(user))
                {
                    map.remove(&key);
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let keys: Vec<SessionKey> = self
            .index(user)
            .get(user)
            .map(|keys| keys.iter().copied().collect())
            .unwrap_or_default();
        let mut out: Vec<SessionRecord> = keys
            .iter()
            .filter_map(|key| read(self.shard(key)).get(key).cloned())
            .filter(|r| r.user_id.as_ref() == Some(user) && !r.is_expired(now))
            .collect();
        out.sort_by_key(|r| r.created_at);
        Ok(out)
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        Ok((0..SHARDS).map(|shard| self.sweep_shard(shard, now)).sum())
    }
}

#[cfg(test)]
mod conformance {
    crate::store_conformance!(|| async { super::MemoryStore::new() });
}
