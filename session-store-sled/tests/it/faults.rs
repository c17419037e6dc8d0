//! Faults that can really be induced here (the tests run as root, so permission bits do not stop
//! writes): a database already in use (D1) and a path that cannot be a database. A full disk
//! under a running store (D2) is in `disk_full.rs`.

use std::time::Duration;

use crate::common::*;
use session_core::SessionStore;
use session_store_sled::{SledOpenError, SledStore, SledStoreConfig};

#[tokio::test]
async fn a_second_open_of_the_same_path_is_in_use_until_the_first_closes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SledStoreConfig::new(dir.path().join("db"));
    let first = SledStore::open(config.clone()).expect("first open");
    let record = record_expiring_in(Duration::from_secs(60));
    first.create(&record).await.expect("create");

    let error = SledStore::open(config.clone()).expect_err("the file lock is held");
    assert!(matches!(error, SledOpenError::InUse { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the session database is already in use by another process"
    );
    // The failed open did not disturb the running store.
    assert!(first.load(&record.key, NOW).await.expect("load").is_some());

    drop(first);
    let second = reopen(config).expect("open after the first closed");
    assert!(second.load(&record.key, NOW).await.expect("load").is_some());
}

#[test]
fn a_path_below_a_regular_file_is_an_io_open_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").expect("write file");
    let error = SledStore::open(SledStoreConfig::new(file.join("db"))).expect_err("cannot open");
    assert!(matches!(error, SledOpenError::Io { .. }), "{error:?}");
}
