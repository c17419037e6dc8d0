//! [`MemoryStore`]: an in-process, sharded [`SessionStore`] for tests, demos and single-instance
//! applications.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::id::{SessionKey, UserId};
use crate::record::SessionRecord;
use crate::store::{SessionStore, StoreCaps, StoreError};
use crate::time::UnixTime;

const SHARDS: usize = 16;
/// Every this many creates, one shard is swept for expired records, so an application that never
/// calls `purge_expired` still does not grow without bound, and no single call pays for a full scan.
const SWEEP_EVERY: u64 = 256;

/// Sessions in memory: 16 independently locked shards keyed by the first byte of the session key,
/// plus a per-user index. Lost when the process exits.
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
#[derive(Debug, Default)]
pub struct MemoryStore {
    shards: [RwLock<HashMap<SessionKey, SessionRecord>>; SHARDS],
    by_user: Mutex<HashMap<UserId, HashSet<SessionKey>>>,
    creates: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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

    fn index(&self) -> MutexGuard<'_, HashMap<UserId, HashSet<SessionKey>>> {
        // A panic while holding the lock cannot leave the index half-updated in a way that matters
        // (every entry is re-checked against the shards), so a poisoned lock is still usable.
        self.by_user.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unindex(&self, user: &UserId, key: &SessionKey) {
        let mut index = self.index();
        if let Some(keys) = index.get_mut(user) {
            keys.remove(key);
            if keys.is_empty() {
                index.remove(user);
            }
        }
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

type Shard = HashMap<SessionKey, SessionRecord>;

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
                self.index()
                    .entry(user.clone())
                    .or_default()
                    .insert(record.key);
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
            let mut index = self.index();
            if let Some(old) = &stored.user_id {
                if let Some(keys) = index.get_mut(old) {
                    keys.remove(&record.key);
                    if keys.is_empty() {
                        index.remove(old);
                    }
                }
            }
            if let Some(new) = &record.user_id {
                index.entry(new.clone()).or_default().insert(record.key);
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
        // One index update for both keys: between two, a `delete_for_user` would find the user
        // without sessions and end nothing while the renewed record is about to be indexed.
        let mut index = self.index();
        if let Some(user) = &record.user_id {
            index.entry(user.clone()).or_default().insert(record.key);
        }
        if let Some(user) = &previous_user {
            if let Some(keys) = index.get_mut(user) {
                keys.remove(old);
                if keys.is_empty() {
                    index.remove(user);
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
            let Some(keys) = self.index().remove(user) else {
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
            .index()
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
