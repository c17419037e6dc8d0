//! Dropping the last clone of the store stops its background purge and closes the database at
//! once: the purge thread holds only a weak reference, and the drop waits for a batch in flight,
//! so the same path can be opened again right away (sled's file lock is gone).
//!
//! In a process of its own ([`in_own_process`]), so that the purge threads it counts are this
//! test's only.

use std::time::Duration;

use session_core::testing::conformance::{expired_record, record};
use session_core::testing::{eventually, in_own_process, test_path, threads_named};
use session_core::{store::PurgeSchedule, SessionStore, UnixTime};
use session_store_sled::{FlushPolicy, SledStoreConfig};

use crate::common::*;

#[test]
fn dropping_the_last_clone_stops_the_purge_and_frees_the_path() {
    let test = test_path(
        module_path!(),
        "dropping_the_last_clone_stops_the_purge_and_frees_the_path",
    );
    in_own_process(&test, drop_rounds);
}

fn drop_rounds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // A short interval, so batches are often in flight when the store is dropped.
    let config = SledStoreConfig::new(dir.path())
        .flush(FlushPolicy::Background)
        .background_purge(Some(PurgeSchedule::new(
            Duration::from_millis(1),
            session_core::store::DEFAULT_PURGE_BATCH,
        )));
    let now = UnixTime::now();
    let live = record(now);
    for round in 0..10 {
        let store = reopen(config.clone()).expect("open");
        if round == 0 {
            rt.block_on(store.create(&live)).expect("create");
        }
        let clone = store.clone();
        assert!(
            eventually(|| threads_named("sled-purge") == 1),
            "round {round}: the store runs one purge thread"
        );
        // A stream of expired records for the purge to work on: a batch is likely in flight
        // when the last clone goes.
        for _ in 0..300 {
            rt.block_on(store.create(&expired_record(UnixTime::now())))
                .expect("create");
        }
        drop(store);
        // Polled, not read once: a thread the purge thread has just started (sled's I/O pool
        // grows on demand) carries the name "sled-purge" until it names itself, so a single
        // read sometimes counted two (about one run in ten before).
        assert!(
            eventually(|| threads_named("sled-purge") == 1),
            "round {round}: a clone still holds the store, so its purge thread runs"
        );

        drop(clone);
        // The path is free once the last clone is gone. (`reopen` allows sled's own thread pool
        // a moment to let go of the file, see `common::while_locked`; without the purge's gate
        // the purge thread would keep the database open for a whole batch instead.)
        let reopened =
            reopen(config.clone().background_purge(None)).expect("the same path opens again");
        drop(reopened);
        assert!(
            eventually(|| threads_named("sled-purge") == 0),
            "round {round}: the purge thread ended"
        );
    }
    // The database is intact: the live record survived every purge and every drop.
    let store = open_store(dir.path());
    let loaded = rt.block_on(store.load(&live.key, now)).expect("load");
    assert_eq!(loaded, Some(live));
}
