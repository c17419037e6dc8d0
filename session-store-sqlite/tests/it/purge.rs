//! The background purge: expired rows go by themselves (in bounded batches), live ones stay, and
//! turning it off keeps every row until the application purges.

use std::path::Path;
use std::time::Duration;

use session_core::testing::conformance::{expired_record, record_for};
use session_core::testing::eventually;
use session_core::{
    store::{PurgeSchedule, SessionRecord},
    SessionStore, UnixTime, UserId,
};
use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

use crate::common::{raw, temp_db};

/// How often the tests' purges run.
const INTERVAL: Duration = Duration::from_millis(50);
/// How long a test waits for a purge at most: many intervals, for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

/// A record that expired an hour ago, of `user` if there is one.
fn expired_of(user: Option<&UserId>) -> SessionRecord {
    let mut record = expired_record(UnixTime::now());
    record.user_id = user.cloned();
    record
}

/// Rows in the file, read past the store.
fn rows(path: &Path, filter: &str) -> i64 {
    raw(path)
        .query_row(
            &format!("SELECT count(*) FROM sessions {filter}"),
            [],
            |row| row.get(0),
        )
        .expect("count rows")
}

fn expired_rows(path: &Path) -> i64 {
    rows(
        path,
        &format!("WHERE expires_at <= {}", UnixTime::now().as_secs()),
    )
}

fn purging(path: &Path, batch: usize) -> SqliteStore {
    SqliteStore::open(
        SqliteStoreConfig::new(path).background_purge(Some(PurgeSchedule::new(INTERVAL, batch))),
    )
    .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_purged_in_the_background_and_live_ones_stay() {
    let (_dir, path) = temp_db();
    // A batch smaller than the backlog: the purge has to go on past a full batch.
    let store = purging(&path, 2);
    let user = UserId::new("alice");
    for i in 0..5 {
        let owner = (i % 2 == 0).then_some(&user);
        store.create(&expired_of(owner)).await.expect("create");
    }
    let live = record_for(&user, UnixTime::now());
    store.create(&live).await.expect("create");
    assert_eq!(expired_rows(&path), 5);

    assert!(
        eventually(|| expired_rows(&path) == 0),
        "the background purge deleted the expired rows"
    );
    assert_eq!(rows(&path, ""), 1, "only the live row is left");
    assert_eq!(
        store.load(&live.key, UnixTime::now()).await.expect("load"),
        Some(live.clone())
    );
    assert_eq!(
        store
            .list_for_user(&user, UnixTime::now())
            .await
            .expect("list"),
        vec![live]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_store_purges_in_the_background_too() {
    let store = SqliteStore::open(SqliteStoreConfig::in_memory().background_purge(Some(
        PurgeSchedule::new(INTERVAL, session_core::store::DEFAULT_PURGE_BATCH),
    )))
    .expect("open");
    let expired = expired_of(None);
    store.create(&expired).await.expect("create");
    // Loading never returns an expired record, so the witness is a create under its key, which
    // collides until the row is gone.
    let mut purged = false;
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        match store.create(&expired).await {
            Ok(()) => {
                purged = true;
                break;
            }
            Err(session_core::store::StoreError::Collision) => tokio::time::sleep(POLL).await,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(purged, "the expired row was purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_background_purge_off_expired_rows_stay() {
    let (_dir, path) = temp_db();
    let store =
        SqliteStore::open(SqliteStoreConfig::new(&path).background_purge(None)).expect("open");
    store.create(&expired_of(None)).await.expect("create");

    // A witness store with the same interval and its purge on: once it has purged, an enabled
    // purge would have had its turn in the other store too.
    let (_witness_dir, witness_path) = temp_db();
    let witness = purging(&witness_path, 10);
    witness.create(&expired_of(None)).await.expect("create");
    assert!(
        eventually(|| expired_rows(&witness_path) == 0),
        "the witness purged"
    );

    assert_eq!(expired_rows(&path), 1, "nothing purged the row");
    assert_eq!(
        store.purge_expired(UnixTime::now()).await.expect("purge"),
        1
    );
    assert_eq!(rows(&path, ""), 0);
}
