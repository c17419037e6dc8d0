//! Dropping the store stops its background purge and closes the file at once: the purge thread
//! holds only a weak reference, and the drop waits for a batch in flight.
//!
//! In a process of its own ([`in_own_process`]), so that the purge threads it counts are this
//! test's only.

use std::time::Duration;

use session_core::testing::conformance::expired_record;
use session_core::testing::{eventually, threads_named};
use session_core::{store::PurgeSchedule, SessionStore, UnixTime, UserId};
use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

use crate::common::{now, open, raw, record, temp_db};
use session_core::testing::{in_own_process, test_path};

#[test]
fn dropping_the_store_stops_the_purge_and_closes_the_file() {
    let test = test_path(
        module_path!(),
        "dropping_the_store_stops_the_purge_and_closes_the_file",
    );
    in_own_process(&test, drop_rounds);
}

fn drop_rounds() {
    let (_dir, path) = temp_db();
    let wal = path.with_file_name("sessions.db-wal");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for round in 0..10 {
        // A short interval, so batches are often in flight when the store is dropped.
        let store = SqliteStore::open(SqliteStoreConfig::new(&path).background_purge(Some(
            PurgeSchedule::new(
                Duration::from_millis(1),
                session_core::store::DEFAULT_PURGE_BATCH,
            ),
        )))
        .expect("open");
        rt.block_on(store.create(&record())).expect("create");
        assert!(
            eventually(|| threads_named("sqlite-purge") == 1),
            "round {round}: the store runs one purge thread"
        );
        // A stream of expired rows for the purge to work on: a batch is likely in flight when
        // the store goes.
        for _ in 0..300 {
            rt.block_on(store.create(&expired_record(UnixTime::now())))
                .expect("create");
        }
        assert!(wal.exists(), "the store has the file open in WAL mode");

        drop(store);
        // The last connection to close checkpoints and deletes the WAL: no connection is left,
        // not even one the purge thread was using when the store went.
        assert!(!wal.exists(), "round {round}: every connection closed");
        assert!(
            eventually(|| threads_named("sqlite-purge") == 0),
            "round {round}: the purge thread ended"
        );
    }
    // The file is whole and free.
    let conn = raw(&path);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .expect("no other connection holds a lock");
    drop(conn);
    let store = open(&path);
    let count = rt
        .block_on(store.list_for_user(&UserId::new("nobody"), now()))
        .expect("the reopened store works");
    assert!(count.is_empty());
}
