//! The background purge: expired records go by themselves (in bounded batches, with their index
//! entries), live ones stay, and turning it off keeps every record until the application purges.

use std::time::Duration;

use session_core::testing::conformance::{expired_record, record_for};
use session_core::testing::eventually;
use session_core::{
    store::{PurgeSchedule, SessionRecord},
    SessionStore, UnixTime, UserId,
};
use session_store_sled::{SledStore, SledStoreConfig};

use crate::common::*;

/// How often the tests' purges run.
const INTERVAL: Duration = Duration::from_millis(50);

/// A record that expired an hour ago, of `user` if there is one.
fn expired_of(user: Option<&UserId>) -> SessionRecord {
    let mut record = expired_record(UnixTime::now());
    record.user_id = user.cloned();
    record
}

/// A store over `db` (which the test keeps, to read the trees directly) purging every
/// [`INTERVAL`] in batches of `batch`.
fn purging(db: &sled::Db, dir: &std::path::Path, batch: usize) -> SledStore {
    let config =
        SledStoreConfig::new(dir).background_purge(Some(PurgeSchedule::new(INTERVAL, batch)));
    SledStore::from_db_with_config(db.clone(), &config).expect("store over db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_are_purged_in_the_background_and_live_ones_stay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    // A batch smaller than the backlog: the purge has to go on past a full batch.
    let store = purging(&db, dir.path(), 2);
    let user = UserId::new("alice");
    for i in 0..5 {
        let owner = (i % 2 == 0).then_some(&user);
        store.create(&expired_of(owner)).await.expect("create");
    }
    let live = record_for(&user, UnixTime::now());
    store.create(&live).await.expect("create");
    let records = tree(&db, RECORDS);
    assert_eq!(records.len(), 6);

    assert!(
        eventually(|| records.len() == 1),
        "the background purge removed the expired records"
    );
    assert!(records.contains_key(live.key.as_bytes()).expect("read"));
    assert_indexes_consistent(&db);
    assert_eq!(
        store
            .list_for_user(&user, UnixTime::now())
            .await
            .expect("list"),
        vec![live]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_expired_record_does_not_stall_the_purge() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = purging(&db, dir.path(), 1);
    // The corrupt record expires first, so every batch meets it before the others.
    let mut corrupt = expired_of(None);
    corrupt.expires_at = corrupt.created_at;
    store.create(&corrupt).await.expect("create");
    let expired: Vec<_> = (0..3).map(|_| expired_of(None)).collect();
    for r in &expired {
        store.create(r).await.expect("create");
    }
    let records = tree(&db, RECORDS);
    records
        .insert(corrupt.key.as_bytes(), &b"garbage"[..])
        .expect("damage one record");

    assert!(
        eventually(|| records.len() == 1),
        "the records behind the corrupt one were purged"
    );
    assert!(
        records.contains_key(corrupt.key.as_bytes()).expect("read"),
        "the corrupt record is left for the application"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_background_purge_off_expired_records_stay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let config = SledStoreConfig::new(dir.path()).background_purge(None);
    let store = SledStore::from_db_with_config(db.clone(), &config).expect("store");
    let kept = expired_of(None);
    store.create(&kept).await.expect("create");

    // A witness store with the same interval and its purge on: once it has purged, an enabled
    // purge would have had its turn in the other store too.
    let witness_dir = tempfile::tempdir().expect("temp dir");
    let witness_db = open_raw(witness_dir.path());
    let witness = purging(&witness_db, witness_dir.path(), 10);
    witness.create(&expired_of(None)).await.expect("create");
    let witness_records = tree(&witness_db, RECORDS);
    assert!(
        eventually(|| witness_records.is_empty()),
        "the witness purged"
    );

    let records = tree(&db, RECORDS);
    assert!(
        records.contains_key(kept.key.as_bytes()).expect("read"),
        "nothing purged the record"
    );
    assert_eq!(
        store.purge_expired(UnixTime::now()).await.expect("purge"),
        1
    );
    assert!(records.is_empty());
    assert_indexes_consistent(&db);
}
