//! Helpers shared by the engine-specific tests: raw access to the session trees (also the
//! conformance suite's [`RawAccess`] hook), a consistency check of the indexes, record builders,
//! and a way to run a test in a process of its own.
//!
//! Each test module uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use session_core::testing::conformance::{record, record_for};
use session_core::testing::RawAccess;
use session_core::{
    store::{BoxError, SessionKey, SessionRecord},
    UnixTime, UserId,
};
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

/// The conformance suite's record (fresh random key, data, metadata), created at `NOW` and
/// expiring `ttl` later.
pub(crate) fn record_expiring_in(ttl: Duration) -> SessionRecord {
    let mut r = record(NOW);
    r.expires_at = NOW + ttl;
    r
}

/// Like [`record_expiring_in`], belonging to `user`.
pub(crate) fn user_record_expiring_in(user: &UserId, ttl: Duration) -> SessionRecord {
    let mut r = record_for(user, NOW);
    r.expires_at = NOW + ttl;
    r
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

/// Every file below `dir`, recursively.
pub(crate) fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The conformance suite's raw access to a store's database: every tree's entries and every
/// file of the database directory.
pub(crate) struct SledRaw {
    db: sled::Db,
    dir: PathBuf,
}

impl SledRaw {
    /// Raw access to `db`, whose files are in `dir`.
    pub(crate) fn new(db: &sled::Db, dir: &Path) -> Self {
        SledRaw {
            db: db.clone(),
            dir: dir.to_owned(),
        }
    }
}

impl fmt::Debug for SledRaw {
    // sled's own `Debug` prints the trees' contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledRaw").field("dir", &self.dir).finish()
    }
}

#[async_trait]
impl RawAccess for SledRaw {
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
        self.db.flush()?;
        let mut all = Vec::new();
        for name in self.db.tree_names() {
            for entry in self.db.open_tree(&name)?.iter() {
                let (key, value) = entry?;
                all.push(key.to_vec());
                all.push(value.to_vec());
            }
            all.push(name.to_vec());
        }
        for file in files_below(&self.dir) {
            all.push(std::fs::read(file)?);
        }
        Ok(all)
    }

    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
        let records = self.db.open_tree(RECORDS)?;
        if !records.contains_key(key.as_bytes())? {
            return Err("no record under this key".into());
        }
        records.insert(key.as_bytes(), bytes)?;
        self.db.flush()?;
        Ok(())
    }
}
