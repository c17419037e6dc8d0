//! Dropping the last clone of the store stops its background purge and closes the database at
//! once: the purge thread holds only a weak reference, and the drop waits for a batch in flight,
//! so the same path can be opened again right away (sled's file lock is gone).
//!
//! In a test binary of its own, so that the purge threads it counts are this test's only.

mod common;

use session_core::PurgeSchedule;
use std::time::Duration;

use common::*;
use session_core::{SessionId, SessionRecord, SessionStore, UnixTime};
use session_store_sled::{FlushPolicy, SledStoreConfig};

fn expired() -> SessionRecord {
    let now = UnixTime::now();
    SessionRecord::new(
        SessionId::generate().key(),
        now.saturating_sub(Duration::from_secs(7200)),
        now.saturating_sub(Duration::from_secs(3600)),
    )
}

/// The threads of this process whose name starts with `prefix` (Linux: `/proc/self/task`).
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("list this process's threads")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn dropping_the_last_clone_stops_the_purge_and_frees_the_path() {
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
            session_core::DEFAULT_PURGE_BATCH,
        )));
    let now = UnixTime::now();
    let live = SessionRecord::new(
        SessionId::generate().key(),
        now,
        now + Duration::from_secs(3600),
    );
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
            rt.block_on(store.create(&expired())).expect("create");
        }
        drop(store);
        assert_eq!(
            threads_named("sled-purge"),
            1,
            "a clone still holds the store"
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
