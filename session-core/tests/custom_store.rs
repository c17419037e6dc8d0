//! The custom store that opens the docs of `session_core`'s store module (`src/store.rs`), run
//! through the whole conformance suite with its raw-access hook, and a check that those docs show
//! exactly this code, so the example and the tested store cannot drift apart.

// BEGIN EXAMPLE: exactly the code of the example in `src/store.rs` (hidden `# ` lines aside).
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use session_core::{
    store::{SessionKey, SessionRecord, StoreCaps, StoreError},
    SessionStore, UnixTime, UserId,
};
use tokio::sync::Mutex;

/// Sessions in memory, kept the way an engine keeps them: each record in its stored
/// byte format, next to the user it is indexed under, plus the keys of each user's
/// sessions. One lock around everything makes every method atomic.
#[derive(Debug, Default)]
pub struct MapStore {
    maps: Arc<Mutex<Maps>>,
}

#[derive(Debug, Default)]
struct Maps {
    records: HashMap<SessionKey, Stored>,
    by_user: HashMap<UserId, HashSet<SessionKey>>,
}

#[derive(Debug)]
struct Stored {
    /// `SessionRecord::to_bytes`: versioned, so a future format is `Corrupt`, never a guess.
    bytes: Vec<u8>,
    user: Option<UserId>,
}

/// Reads a stored record back: bytes that are not a record of `key` are `Corrupt`.
fn decode(key: &SessionKey, stored: &Stored) -> Result<SessionRecord, StoreError> {
    let record = SessionRecord::from_bytes(&stored.bytes).map_err(StoreError::corrupt)?;
    if record.key != *key {
        return Err(StoreError::corrupt("the record names another session key"));
    }
    Ok(record)
}

impl Maps {
    /// Checks that a record is stored under `key` with version `expected`.
    fn check_version(&self, key: &SessionKey, expected: u64) -> Result<(), StoreError> {
        let stored = self.records.get(key).ok_or(StoreError::NotFound)?;
        if decode(key, stored)?.version != expected {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    fn insert(&mut self, record: &SessionRecord) {
        if let Some(user) = &record.user_id {
            self.by_user
                .entry(user.clone())
                .or_default()
                .insert(record.key);
        }
        let stored = Stored {
            bytes: record.to_bytes(),
            user: record.user_id.clone(),
        };
        self.records.insert(record.key, stored);
    }

    /// Removes the record under `key` and its index entry; whether there was one.
    fn remove(&mut self, key: &SessionKey) -> bool {
        let Some(stored) = self.records.remove(key) else {
            return false;
        };
        if let Some(user) = stored.user {
            if let Some(keys) = self.by_user.get_mut(&user) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_user.remove(&user);
                }
            }
        }
        true
    }
}

#[async_trait]
impl SessionStore for MapStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::purged()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let maps = self.maps.lock().await;
        let Some(stored) = maps.records.get(key) else {
            return Ok(None);
        };
        let record = decode(key, stored)?;
        Ok((!record.is_expired(now)).then_some(record))
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut maps = self.maps.lock().await;
        if maps.records.contains_key(&record.key) {
            return Err(StoreError::Collision);
        }
        maps.insert(record);
        Ok(())
    }

    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        let mut maps = self.maps.lock().await;
        maps.check_version(&record.key, expected_version)?;
        maps.remove(&record.key); // the user may have changed: index the record afresh
        maps.insert(record);
        Ok(())
    }

    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        let mut maps = self.maps.lock().await;
        maps.check_version(old, expected_version)?;
        if maps.records.contains_key(&record.key) {
            return Err(StoreError::Collision);
        }
        maps.remove(old);
        maps.insert(record);
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.maps.lock().await.remove(key);
        Ok(())
    }

    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut maps = self.maps.lock().await;
        let mut deleted = 0;
        for key in maps.by_user.remove(user).unwrap_or_default() {
            if maps.remove(&key) {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let maps = self.maps.lock().await;
        let keys = maps.by_user.get(user).into_iter().flatten();
        let mut live: Vec<SessionRecord> = keys
            .filter_map(|key| decode(key, maps.records.get(key)?).ok()) // skips damaged records
            .filter(|record| !record.is_expired(now))
            .collect();
        live.sort_by_key(|record| record.created_at);
        Ok(live)
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut maps = self.maps.lock().await;
        let expired: Vec<SessionKey> = maps
            .records
            .iter()
            .filter(|(key, stored)| decode(key, stored).is_ok_and(|r| r.is_expired(now)))
            .map(|(key, _)| *key)
            .collect();
        for key in &expired {
            maps.remove(key);
        }
        Ok(expired.len() as u64)
    }
}

// In the store's tests: the whole conformance suite (dev-dependencies: session-core with
// feature `testing`, tokio with `macros` and `rt-multi-thread`), with raw access to the
// maps, so the suite also checks what is at rest and how damaged records are handled.
#[cfg(test)]
mod tests {
    use super::*;
    use session_core::store::BoxError;
    use session_core::testing::{Fixture, RawAccess};

    /// What the suite may read and damage behind the store's back.
    #[derive(Debug)]
    struct RawMaps(Arc<Mutex<Maps>>);

    #[async_trait]
    impl RawAccess for RawMaps {
        async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
            let maps = self.0.lock().await;
            let mut all = Vec::new();
            for (key, stored) in &maps.records {
                all.push(key.as_bytes().to_vec());
                all.push(stored.bytes.clone());
                all.extend(stored.user.iter().map(|u| u.as_str().as_bytes().to_vec()));
            }
            for (user, keys) in &maps.by_user {
                all.push(user.as_str().as_bytes().to_vec());
                all.extend(keys.iter().map(|key| key.as_bytes().to_vec()));
            }
            Ok(all)
        }

        async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
            let mut maps = self.0.lock().await;
            let stored = maps
                .records
                .get_mut(key)
                .ok_or("no record under this key")?;
            stored.bytes = bytes.to_vec();
            Ok(())
        }
    }

    session_core::store_conformance!(
        || async {
            let store = MapStore::default();
            let raw = RawMaps(store.maps.clone());
            Fixture::new(store).raw_access(raw)
        },
        raw_access
    );
}
// END EXAMPLE

/// The docs' example is the code between the markers above, line for line.
#[test]
fn the_store_docs_show_this_example() {
    let docs = include_str!("../src/store.rs");
    let mut in_block = false;
    let mut shown = Vec::new();
    for line in docs.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.starts_with("```") {
            if in_block {
                break;
            }
            in_block = true;
            continue;
        }
        let hidden = doc == "#" || doc.starts_with("# ");
        if in_block && !hidden {
            shown.push(doc);
        }
    }
    let this_file = include_str!("custom_store.rs");
    let tested: Vec<&str> = this_file
        .lines()
        .skip_while(|line| !line.starts_with("// BEGIN EXAMPLE"))
        .skip(1)
        .take_while(|line| !line.starts_with("// END EXAMPLE"))
        .collect();
    assert!(!tested.is_empty(), "the markers are in place");
    for (at, (doc, code)) in shown.iter().zip(&tested).enumerate() {
        assert_eq!(
            doc,
            code,
            "line {} of the example differs between src/store.rs and this file",
            at + 1
        );
    }
    assert_eq!(
        shown.len(),
        tested.len(),
        "the example in src/store.rs and the code in this file differ in length"
    );
}
