//! D8: sled's blocking work runs on Tokio's blocking pool, so a long store call leaves the async
//! executor free. Runs on a single-threaded runtime, where a call blocking the executor would
//! stop every other task until it returned.

use std::time::{Duration, Instant};

use crate::common::*;
use session_core::SessionStore;
use session_store_sled::{FlushPolicy, SledStore};

const RECORDS_TO_PURGE: u64 = 3_000;

#[tokio::test(flavor = "current_thread")]
async fn the_runtime_keeps_answering_during_a_long_purge() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = SledStore::from_db(db.clone(), FlushPolicy::Background).expect("store");
    for _ in 0..RECORDS_TO_PURGE {
        store
            .create(&record_expiring_in(Duration::from_secs(1)))
            .await
            .expect("create");
    }

    let purging = {
        let store = store.clone();
        tokio::spawn(async move { store.purge_expired(NOW + Duration::from_secs(2)).await })
    };
    let mut ticks_while_purging = 0;
    let mut slowest_tick = Duration::ZERO;
    while !purging.is_finished() {
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(1)).await;
        if !purging.is_finished() {
            ticks_while_purging += 1;
            slowest_tick = slowest_tick.max(started.elapsed());
        }
    }
    let purged = purging.await.expect("task").expect("purge");
    assert_eq!(purged, RECORDS_TO_PURGE);
    assert!(
        ticks_while_purging > 0,
        "the executor was blocked by the purge"
    );
    assert!(
        slowest_tick < Duration::from_millis(500),
        "slowest tick {slowest_tick:?}"
    );
}
