//! Damaged sled files are the engine's problem, not one session's (D4): an open that finds them
//! fails with `SledOpenError::Corrupt`, and a read that finds them later is
//! `StoreError::EngineCorrupt` (a 500; the manager deletes nothing), never `StoreError::Corrupt`,
//! which means one record that does not decode (see `corruption.rs`).

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use session_core::{
    store::{SessionRecord, StoreError},
    SessionStore,
};
use session_store_sled::{FlushPolicy, SledOpenError, SledStore, SledStoreConfig};

/// Enough records for several log segments (sled's are 512 KiB), so that most of the log lies
/// before the point recovery resumes from and is only read again when a page is pulled in.
const RECORDS: usize = 800;

/// Fills a database with records whose data starts with a marker unique to each, closes it, and
/// reopens and closes it once more, so that sled writes a snapshot of the log: the next open
/// recovers from that snapshot and reads the pages of the records lazily, at their first load.
async fn a_database_with_a_snapshot(path: &Path) -> Vec<SessionRecord> {
    let mut records = Vec::with_capacity(RECORDS);
    {
        let config = SledStoreConfig::new(path).flush(FlushPolicy::Background);
        let store = SledStore::open(config).expect("open");
        for i in 0..RECORDS {
            let mut record = record_expiring_in(Duration::from_secs(3600));
            let blob = format!("{}{}", marker(i), "x".repeat(3000));
            record.data.insert("blob".into(), blob.into());
            store.create(&record).await.expect("create");
            records.push(record);
        }
    }
    drop(open_store(path));
    assert!(
        snapshot_files(path).next().is_some(),
        "sled wrote a snapshot"
    );
    records
}

fn marker(i: usize) -> String {
    format!("MARKER-{i:05}-")
}

fn snapshot_files(path: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    std::fs::read_dir(path)
        .expect("list the database directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("snap."))
        })
}

/// Flips one byte inside every stored copy of record `i`'s data in sled's log file, so every
/// version of the page holding it fails its checksum. Returns how many copies it found.
fn damage_every_copy_of(path: &Path, i: usize) -> usize {
    let log = path.join("db");
    let mut bytes = std::fs::read(&log).expect("read the log");
    let needle = marker(i).into_bytes();
    let hits: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == &needle[..])
        .map(|(at, _)| at)
        .collect();
    for &at in &hits {
        bytes[at + needle.len() + 100] ^= 0xFF;
    }
    std::fs::write(&log, &bytes).expect("write the damaged log");
    hits.len()
}

/// sled finds the damage either while recovering (when it lies in the part of the log recovery
/// reads) or when the damaged page is first pulled in by a load. The first is an open error; the
/// second must be `EngineCorrupt`. The layout of the log depends on the random keys, so the
/// scenario is repeated (a bounded number of times) until a load has met the damage.
#[tokio::test]
async fn a_damaged_log_page_is_an_engine_error_not_a_bad_record() {
    let mut loads_that_met_the_damage = 0;
    for _attempt in 0..5 {
        let dir = tempfile::tempdir().expect("temp dir");
        let records = a_database_with_a_snapshot(dir.path()).await;
        assert!(
            damage_every_copy_of(dir.path(), 0) > 0,
            "the record is on disk"
        );

        let store = match reopen(SledStoreConfig::new(dir.path())) {
            Err(SledOpenError::Corrupt { .. }) => continue, // found during recovery
            Err(other) => panic!("expected a corrupt database, got {other:?}"),
            Ok(store) => store,
        };
        let error = store
            .load(&records[0].key, NOW)
            .await
            .expect_err("the damaged page cannot be read");
        assert!(
            matches!(error, StoreError::EngineCorrupt { .. }),
            "expected EngineCorrupt, got {error:?}"
        );
        assert!(!error.is_transient(), "a damaged file is not a 503");
        loads_that_met_the_damage += 1;
        break;
    }
    assert_eq!(
        loads_that_met_the_damage, 1,
        "in five attempts sled always found the damage at open; the load path was not exercised"
    );
}

#[test]
fn a_damaged_snapshot_fails_open_as_corrupt_and_is_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    {
        let store = open_store(dir.path());
        rt.block_on(store.create(&record_expiring_in(Duration::from_secs(60))))
            .expect("create");
    }
    drop(open_store(dir.path())); // writes a snapshot
    let snapshot = snapshot_files(dir.path()).next().expect("a snapshot file");
    let mut bytes = std::fs::read(&snapshot).expect("read the snapshot");
    bytes[0] ^= 0xFF;
    std::fs::write(&snapshot, &bytes).expect("damage the snapshot");
    let log = std::fs::read(dir.path().join("db")).expect("read the log");

    let error = reopen(SledStoreConfig::new(dir.path())).expect_err("corrupt");
    assert!(matches!(error, SledOpenError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("left untouched"), "{error}");
    assert_eq!(
        std::fs::read(&snapshot).expect("read"),
        bytes,
        "snapshot kept"
    );
    assert_eq!(
        std::fs::read(dir.path().join("db")).expect("read"),
        log,
        "log kept"
    );
}
