//! Closing and reopening the database keeps sessions, the user index and the expiry index.

use std::time::Duration;

use crate::common::*;
use session_core::{SessionStore, UserId};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn sessions_and_indexes_survive_close_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let user = UserId::new("alice");
    let live = user_record_expiring_in(&user, HOUR);
    let short = user_record_expiring_in(&user, Duration::from_secs(10));
    let anonymous = record_expiring_in(HOUR);

    let store = open_store(&path);
    assert!(!store.was_recovered(), "a new database");
    for record in [&live, &short, &anonymous] {
        store.create(record).await.expect("create");
    }
    let mut saved = live.clone();
    saved.version = 2;
    saved.data.insert("cart".into(), 3.into());
    store.save(&saved, 1).await.expect("save");
    drop(store);

    let store = open_store(&path);
    assert!(store.was_recovered(), "an existing database");
    assert_eq!(
        store.load(&live.key, NOW).await.expect("load"),
        Some(saved.clone())
    );
    assert_eq!(
        store.load(&anonymous.key, NOW).await.expect("load"),
        Some(anonymous.clone())
    );
    assert_eq!(
        store.list_for_user(&user, NOW).await.expect("list").len(),
        2
    );

    let later = NOW + Duration::from_secs(60);
    assert_eq!(store.purge_expired(later).await.expect("purge"), 1);
    assert_eq!(store.load(&short.key, NOW).await.expect("load"), None);
    assert_eq!(
        store.list_for_user(&user, later).await.expect("list"),
        vec![saved]
    );
    assert_eq!(
        store.delete_for_user(&user).await.expect("delete_for_user"),
        1
    );
    drop(store);

    let db = open_raw(&path);
    assert_indexes_consistent(&db);
    assert_eq!(
        tree(&db, RECORDS).len(),
        1,
        "only the anonymous record is left"
    );
}

#[tokio::test]
async fn background_flushing_keeps_sessions_across_a_clean_close() {
    use session_store_sled::{FlushPolicy, SledStore, SledStoreConfig};
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SledStoreConfig::new(dir.path().join("db")).flush(FlushPolicy::Background);
    let record = record_expiring_in(HOUR);

    let store = SledStore::open(config.clone()).expect("open");
    store.create(&record).await.expect("create");
    drop(store);

    let store = reopen(config).expect("reopen");
    assert_eq!(
        store.load(&record.key, NOW).await.expect("load"),
        Some(record)
    );
}
