//! [`MemoryTokenStore`]: token rows in a map, for tests, the demo and single-process apps.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use session_core::store::StoreError;
use session_core::UserId;

use super::{StoredGrant, TokenStore};

/// Token rows in process memory: gone on restart, not shared between processes.
///
/// ```
/// use session_auth::tokens::MemoryTokenStore;
/// let store = MemoryTokenStore::new();
/// # let _ = store;
/// ```
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    // Owner first, so `list` is one range; a tuple key keeps any separator in either part apart.
    rows: Mutex<BTreeMap<(String, String), StoredGrant>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryTokenStore::default()
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), StoredGrant>> {
        // A panic while holding the lock cannot leave a row half-written: every write is one
        // insert of a complete value.
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(owner: &UserId, provider: &str) -> (String, String) {
    (owner.as_str().to_owned(), provider.to_owned())
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError> {
        Ok(self.rows().get(&key(owner, provider)).cloned())
    }

    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError> {
        let mut rows = self.rows();
        let key = key(owner, provider);
        let version = rows.get(&key).map_or(0, |g| g.version) + 1;
        rows.insert(
            key,
            StoredGrant {
                version,
                ..grant.clone()
            },
        );
        Ok(version)
    }

    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError> {
        let mut rows = self.rows();
        match rows.get_mut(&key(owner, provider)) {
            Some(row) if row.version == expected => {
                *row = StoredGrant {
                    version: expected + 1,
                    ..grant.clone()
                };
                Ok(Some(expected + 1))
            }
            _ => Ok(None),
        }
    }

    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError> {
        Ok(self.rows().remove(&key(owner, provider)).is_some())
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError> {
        let owner = owner.as_str();
        Ok(self
            .rows()
            .range((owner.to_owned(), String::new())..)
            .take_while(|((o, _), _)| o == owner)
            .map(|((_, provider), grant)| (provider.clone(), grant.clone()))
            .collect())
    }
}
