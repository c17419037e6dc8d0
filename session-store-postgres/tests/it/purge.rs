//! `purge_expired` in batches, and the background purge.

use std::time::Duration;

use session_core::store::{PurgeSchedule, SessionId, SessionRecord};
use session_core::{SessionStore, UnixTime};
use session_store_postgres::PostgresStore;

use crate::common::{now, raw, record, TestSchema};

fn expired_at(t: UnixTime) -> SessionRecord {
    let created = UnixTime::from_secs(t.as_secs() - 100);
    SessionRecord::new(SessionId::generate().key(), created, t)
}

/// 7 expired rows with batches of 2: four statements, 7 purged, the live ones stay.
#[tokio::test]
async fn purge_expired_removes_every_expired_row_in_batches() {
    let schema = TestSchema::new();
    let store = PostgresStore::connect(schema.config().purge_batch(2))
        .await
        .unwrap();
    for _ in 0..7 {
        store.create(&expired_at(now())).await.unwrap();
    }
    let live = record();
    store.create(&live).await.unwrap();
    assert_eq!(store.purge_expired(now()).await.unwrap(), 7);
    assert_eq!(store.purge_expired(now()).await.unwrap(), 0);
    assert!(store.load(&live.key, now()).await.unwrap().is_some());
}

/// With a background purge every 50 ms, a row expired by the system clock disappears by
/// itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_purge_deletes_expired_rows() {
    let schema = TestSchema::new();
    let store = PostgresStore::connect(
        schema
            .config()
            .background_purge(Some(PurgeSchedule::new(Duration::from_millis(50), 10))),
    )
    .await
    .unwrap();
    let dead = expired_at(UnixTime::now());
    store.create(&dead).await.unwrap();
    let live = record();
    store.create(&live).await.unwrap();
    let client = raw(&schema.url).await;
    let count = format!("SELECT count(*) FROM {}", schema.table("sessions"));
    let mut left = 2;
    for _ in 0..100 {
        left = client
            .query_one(&count, &[])
            .await
            .unwrap()
            .get::<_, i64>(0);
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 1, "the expired row was purged, the live one kept");
    drop(store);
}
