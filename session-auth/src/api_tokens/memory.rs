//! [`MemoryApiTokenStore`]: API tokens in a map, for tests, the demo and single-process apps.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use session_core::store::StoreError;
use session_core::{UnixTime, UserId};

use super::secret::TokenHash;
use super::store::{ApiTokenRecord, ApiTokenStore, Inserted};

/// API tokens in process memory: gone on restart, not shared between processes.
///
/// ```
/// use session_auth::api_tokens::MemoryApiTokenStore;
/// let store = MemoryApiTokenStore::new();
/// # let _ = store;
/// ```
#[derive(Debug, Default)]
pub struct MemoryApiTokenStore {
    rows: Mutex<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    by_id: BTreeMap<String, ApiTokenRecord>,
    by_hash: BTreeMap<TokenHash, String>,
}

impl MemoryApiTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryApiTokenStore::default()
    }

    fn rows(&self) -> MutexGuard<'_, Rows> {
        // Every write below completes before the guard drops, so a poisoned lock holds whole
        // rows.
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Rows {
    fn of<'a>(&'a self, owner: &'a UserId) -> impl Iterator<Item = &'a ApiTokenRecord> + 'a {
        self.by_id.values().filter(move |r| &r.owner == owner)
    }
}

#[async_trait]
impl ApiTokenStore for MemoryApiTokenStore {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        let mut rows = self.rows();
        if rows.by_id.contains_key(&record.id) || rows.by_hash.contains_key(&record.hash) {
            return Err(StoreError::Collision);
        }
        if rows.of(&record.owner).filter(|r| r.is_active(now)).count() >= limit {
            return Ok(Inserted::LimitReached);
        }
        rows.by_hash.insert(record.hash, record.id.clone());
        rows.by_id.insert(record.id.clone(), record.clone());
        Ok(Inserted::Stored)
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        let rows = self.rows();
        Ok(rows
            .by_hash
            .get(hash)
            .and_then(|id| rows.by_id.get(id))
            .cloned())
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let mut list: Vec<ApiTokenRecord> = self.rows().of(owner).cloned().collect();
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(list)
    }

    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        if let Some(row) = self.rows().by_id.get_mut(id) {
            row.last_used_at = Some(row.last_used_at.map_or(at, |was| was.max(at)));
        }
        Ok(())
    }

    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        match self.rows().by_id.get_mut(id) {
            Some(row) if &row.owner == owner && row.revoked_at.is_none() => {
                row.revoked_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        let mut rows = self.rows();
        let mut count = 0;
        for row in rows.by_id.values_mut() {
            if &row.owner == owner && row.revoked_at.is_none() {
                row.revoked_at = Some(at);
                count += 1;
            }
        }
        Ok(count)
    }
}
