//! Records and databases this build cannot read, beyond the conformance suite's
//! `a_corrupt_record_is_a_typed_error` (typed `Corrupt`, nothing secret shown, the record kept,
//! lists and deletes unaffected): the typed reason sled gives, what sled's own writes and purge
//! do with a damaged record, and the store format of the database itself (D4, D7).

use std::error::Error as _;
use std::time::Duration;

use session_core::{
    store::{SessionId, StoreError},
    SessionStore, UserId,
};
use session_store_sled::{CorruptRecord, SledOpenError, SledStoreConfig};

use crate::common::*;

const HOUR: Duration = Duration::from_secs(3600);

/// The `CorruptRecord` behind a `StoreError::Corrupt`.
fn corrupt_reason(error: &StoreError) -> CorruptRecord {
    assert!(matches!(error, StoreError::Corrupt { .. }), "got {error:?}");
    error
        .source()
        .and_then(|s| s.downcast_ref::<CorruptRecord>())
        .cloned()
        .expect("a CorruptRecord source")
}

#[tokio::test]
async fn a_corrupt_record_carries_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let record = record_expiring_in(HOUR);
    store.create(&record).await.expect("create");
    let records = tree(&db, RECORDS);

    let text = String::from_utf8(record.to_bytes()).expect("utf-8");
    let v2 = text.replacen("\"fmt\":1", "\"fmt\":2", 1);
    assert_ne!(v2, text);
    records
        .insert(record.key.as_bytes(), v2.as_bytes())
        .expect("overwrite");
    let error = store.load(&record.key, NOW).await.expect_err("corrupt");
    assert_eq!(
        corrupt_reason(&error),
        CorruptRecord::UnsupportedVersion { found: 2 }
    );

    for garbage in [
        &b"\xff\x00 garbage"[..],
        b"",
        b"{}",
        b"[1,2,3]",
        b"{\"fmt\":1}",
    ] {
        records
            .insert(record.key.as_bytes(), garbage)
            .expect("write garbage");
        let error = store.load(&record.key, NOW).await.expect_err("corrupt");
        assert!(
            matches!(corrupt_reason(&error), CorruptRecord::Malformed { .. }),
            "{error:?}"
        );
    }

    let elsewhere = SessionId::generate().key();
    records
        .insert(elsewhere.as_bytes(), record.to_bytes())
        .expect("copy");
    let error = store.load(&elsewhere, NOW).await.expect_err("misplaced");
    assert_eq!(corrupt_reason(&error), CorruptRecord::MisplacedKey);
}

/// The conformance suite lets a store either replace a damaged record on `save` or refuse; sled
/// checks the version inside the record, so it refuses, and its purge leaves an expired damaged
/// record for the application to delete (a "log out everywhere" deletes it too).
#[tokio::test]
async fn sled_leaves_a_corrupt_record_to_the_caller() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let user = UserId::new("alice");
    let record = user_record_expiring_in(&user, HOUR);
    store.create(&record).await.expect("create");
    tree(&db, RECORDS)
        .insert(record.key.as_bytes(), &b"garbage"[..])
        .expect("write");

    let mut next = record.clone();
    next.version = 2;
    let error = store.save(&next, 1).await.expect_err("corrupt");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert_eq!(store.purge_expired(NOW + HOUR * 2).await.expect("purge"), 0);
    assert!(
        tree(&db, RECORDS)
            .contains_key(record.key.as_bytes())
            .expect("read"),
        "kept"
    );
    assert_eq!(store.delete_for_user(&user).await.expect("delete"), 1);
    // Without a readable record, its expiry entry is left dangling; the next purge drops it.
    assert_eq!(store.purge_expired(NOW + HOUR * 2).await.expect("purge"), 0);
    assert_indexes_consistent(&db);
}

#[test]
fn a_new_database_records_the_store_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(open_store(dir.path()));
    let db = open_raw(dir.path());
    let tag = tree(&db, META)
        .get(b"format")
        .expect("read")
        .expect("format tag");
    assert_eq!(&tag[..], &1u32.to_be_bytes()[..]);
}

#[test]
fn an_unknown_store_format_is_a_typed_open_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(open_store(dir.path()));
    for (tag, expected) in [(&2u32.to_be_bytes()[..], Some(2)), (&b"v1"[..], None)] {
        let db = open_raw(dir.path());
        tree(&db, META).insert(b"format", tag).expect("write tag");
        db.flush().expect("flush");
        drop(db);
        match reopen(SledStoreConfig::new(dir.path())) {
            Err(SledOpenError::UnsupportedFormat { found }) => assert_eq!(found, expected),
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }
}
