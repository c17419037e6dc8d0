//! Helpers shared by the engine-specific tests: raw access to the session trees, a consistency
//! check of the indexes, and record builders.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use session_core::{SessionId, SessionKey, SessionRecord, UnixTime, UserId};
use session_store_sled::{FlushPolicy, SledOpenError, SledStore, SledStoreConfig};

pub(crate) const RECORDS: &str = "sessions.records";
pub(crate) const BY_USER: &str = "sessions.by_user";
pub(crate) const BY_EXPIRY: &str = "sessions.by_expiry";
pub(crate) const META: &str = "sessions.meta";

/// A fixed "now" for tests that do not depend on the real clock.
pub(crate) const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// Opens the raw sled database at `path` (no store on top).
pub(crate) fn open_raw(path: &Path) -> sled::Db {
    while_locked(
        || sled::Config::new().path(path).open(),
        |e| matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock")),
    )
    .expect("open raw sled db")
}

/// Runs `open` again while it fails because the database's file lock is still held, for up to
/// a second, then returns its last result.
///
/// sled 0.34 can release its file lock a moment after the last handle to a database is dropped:
/// a write-back job on its global thread pool may still hold the file (sled's own test suite
/// blocks on the lock for that reason). Seen about once in 300 drop-then-reopen cycles when
/// several databases are in use in the process, with or without this crate's background purge.
pub(crate) fn while_locked<T, E>(
    mut open: impl FnMut() -> Result<T, E>,
    locked: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        match open() {
            Err(e) if locked(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            result => return result,
        }
    }
}

/// A store over an already open database, so the test can inspect the trees while it runs.
pub(crate) fn store_over(db: &sled::Db) -> SledStore {
    SledStore::from_db(db.clone(), FlushPolicy::EveryWrite).expect("store over db")
}

/// Opens a store at `path` the way an application does (waiting, like [`open_raw`], for a
/// file lock that a just-dropped store's sled may still hold).
pub(crate) fn open_store(path: &Path) -> SledStore {
    reopen(SledStoreConfig::new(path)).expect("open store")
}

/// [`SledStore::open`], run again (see [`while_locked`]) while the file lock is still held.
pub(crate) fn reopen(config: SledStoreConfig) -> Result<SledStore, SledOpenError> {
    while_locked(
        || SledStore::open(config.clone()),
        |e| matches!(e, SledOpenError::InUse { .. }),
    )
}

pub(crate) fn tree(db: &sled::Db, name: &str) -> sled::Tree {
    db.open_tree(name).expect("open tree")
}

/// A record with a fresh random key, created at `NOW`, expiring `ttl` later.
pub(crate) fn record_expiring_in(ttl: Duration) -> SessionRecord {
    SessionRecord::new(SessionId::generate().key(), NOW, NOW + ttl)
}

/// Like [`record_expiring_in`], belonging to `user`.
pub(crate) fn user_record_expiring_in(user: &UserId, ttl: Duration) -> SessionRecord {
    let mut record = record_expiring_in(ttl);
    record.user_id = Some(user.clone());
    record
}

/// The user index entry the crate docs specify: `be_u64(len) ++ user ++ key`.
pub(crate) fn user_entry(user: &UserId, key: &SessionKey) -> Vec<u8> {
    let mut entry = (user.as_str().len() as u64).to_be_bytes().to_vec();
    entry.extend_from_slice(user.as_str().as_bytes());
    entry.extend_from_slice(key.as_bytes());
    entry
}

/// The expiry index entry the crate docs specify: `be_u64(effective expiry) ++ key`.
pub(crate) fn expiry_entry(record: &SessionRecord) -> Vec<u8> {
    let mut entry = record.effective_expiry().as_secs().to_be_bytes().to_vec();
    entry.extend_from_slice(record.key.as_bytes());
    entry
}

pub(crate) fn keys_of(tree: &sled::Tree) -> BTreeSet<Vec<u8>> {
    tree.iter()
        .keys()
        .map(|k| k.expect("read key").to_vec())
        .collect()
}

/// Asserts that the user and expiry indexes hold exactly the entries of the stored records: no
/// record without its entries, no dangling entry.
pub(crate) fn assert_indexes_consistent(db: &sled::Db) {
    let mut user_entries = BTreeSet::new();
    let mut expiry_entries = BTreeSet::new();
    for item in tree(db, RECORDS).iter() {
        let (key, bytes) = item.expect("read record");
        let record = SessionRecord::from_bytes(&bytes).expect("every record decodes");
        assert_eq!(&key[..], record.key.as_bytes(), "record under its own key");
        if let Some(user) = &record.user_id {
            user_entries.insert(user_entry(user, &record.key));
        }
        expiry_entries.insert(expiry_entry(&record));
    }
    assert_eq!(keys_of(&tree(db, BY_USER)), user_entries, "user index");
    assert_eq!(
        keys_of(&tree(db, BY_EXPIRY)),
        expiry_entries,
        "expiry index"
    );
}
