//! The background sweeper purges expired records and stops by itself once the store is dropped.

use std::time::Duration;

use session_core::testing::conformance::{expired_record, record};
use session_core::{SessionStore, UnixTime};

use crate::common::*;

const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_sweeper_purges_expired_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let now = UnixTime::now();
    let expired = expired_record(now);
    let live = record(now);
    store.create(&expired).await.expect("create");
    store.create(&live).await.expect("create");

    let sweeper = store.spawn_sweeper(Duration::from_millis(20));
    let records = tree(&db, RECORDS);
    tokio::time::timeout(PATIENCE, async {
        while records.contains_key(expired.key.as_bytes()).expect("read") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the sweeper purged the expired record");
    assert!(records.contains_key(live.key.as_bytes()).expect("read"));
    assert_indexes_consistent(&db);
    assert!(
        !sweeper.is_finished(),
        "still running while the store lives"
    );
}

#[tokio::test]
async fn the_sweeper_stops_when_the_last_store_clone_is_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_store(dir.path());
    let clone = store.clone();
    // An hour between runs: stopping must not wait for the next one.
    let sweeper = store.spawn_sweeper(Duration::from_secs(3600));

    drop(store);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!sweeper.is_finished(), "a clone still holds the store");

    drop(clone);
    tokio::time::timeout(PATIENCE, sweeper)
        .await
        .expect("the sweeper stopped")
        .expect("the sweeper did not panic");
    // Its weak reference did not keep the database open.
    drop(open_store(dir.path()));
}
