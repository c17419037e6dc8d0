//! Records and databases this build cannot read: typed errors, no panics, nothing deleted behind
//! the caller's back (D4, D7).

mod common;

use std::error::Error as _;
use std::time::Duration;

use common::*;
use session_core::{SessionId, SessionRecord, SessionStore, StoreError, UserId};
use session_store_sled::{CorruptRecord, SledOpenError, SledStoreConfig};

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

fn assert_nothing_secret_shown(error: &StoreError, record: &SessionRecord) {
    let mut shown = vec![error.to_string(), format!("{error:?}")];
    let mut source = error.source();
    while let Some(s) = source {
        shown.push(s.to_string());
        source = s.source();
    }
    for text in shown {
        assert!(!text.contains(&record.key.to_hex()), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

fn secret_record(user: &UserId) -> SessionRecord {
    let mut record = user_record_expiring_in(user, HOUR);
    record.data.insert("password_hint".into(), "hunter2".into());
    record
}

#[tokio::test]
async fn a_record_in_another_format_version_is_corrupt_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let user = UserId::new("alice");
    let record = secret_record(&user);
    store.create(&record).await.expect("create");

    let text = String::from_utf8(record.to_bytes()).expect("utf-8");
    let v2 = text.replacen("\"fmt\":1", "\"fmt\":2", 1);
    assert_ne!(v2, text);
    tree(&db, RECORDS)
        .insert(record.key.as_bytes(), v2.as_bytes())
        .expect("overwrite");

    let error = store.load(&record.key, NOW).await.expect_err("corrupt");
    assert_eq!(
        corrupt_reason(&error),
        CorruptRecord::UnsupportedVersion { found: 2 }
    );
    assert_nothing_secret_shown(&error, &record);
    assert!(
        tree(&db, RECORDS)
            .contains_key(record.key.as_bytes())
            .expect("read"),
        "kept"
    );

    // Lists and purges skip it without failing; an explicit delete removes it.
    assert!(store
        .list_for_user(&user, NOW)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(store.purge_expired(NOW + HOUR * 2).await.expect("purge"), 0);
    assert!(
        tree(&db, RECORDS)
            .contains_key(record.key.as_bytes())
            .expect("read"),
        "kept"
    );
    store.delete(&record.key).await.expect("delete");
    assert_eq!(store.load(&record.key, NOW).await.expect("load"), None);
}

#[tokio::test]
async fn garbage_bytes_are_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let record = secret_record(&UserId::new("bob"));
    for garbage in [
        &b"\xff\x00 hunter2 garbage"[..],
        b"",
        b"{}",
        b"[1,2,3]",
        b"{\"fmt\":1}",
    ] {
        tree(&db, RECORDS)
            .insert(record.key.as_bytes(), garbage)
            .expect("write garbage");
        let error = store.load(&record.key, NOW).await.expect_err("corrupt");
        assert!(
            matches!(corrupt_reason(&error), CorruptRecord::Malformed { .. }),
            "{error:?}"
        );
        assert_nothing_secret_shown(&error, &record);
    }
}

#[tokio::test]
async fn a_record_under_another_key_is_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let record = record_expiring_in(HOUR);
    store.create(&record).await.expect("create");
    let elsewhere = SessionId::generate().key();
    tree(&db, RECORDS)
        .insert(elsewhere.as_bytes(), record.to_bytes())
        .expect("copy");
    let error = store.load(&elsewhere, NOW).await.expect_err("misplaced");
    assert_eq!(corrupt_reason(&error), CorruptRecord::MisplacedKey);
    assert!(store.load(&record.key, NOW).await.expect("load").is_some());
}

#[tokio::test]
async fn a_save_over_a_corrupt_record_is_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open_raw(dir.path());
    let store = store_over(&db);
    let record = record_expiring_in(HOUR);
    store.create(&record).await.expect("create");
    tree(&db, RECORDS)
        .insert(record.key.as_bytes(), &b"garbage"[..])
        .expect("write");
    let mut next = record.clone();
    next.version = 2;
    let error = store.save(&next, 1).await.expect_err("corrupt");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    let error = store.create(&record).await.expect_err("still there");
    assert!(matches!(error, StoreError::Collision), "{error:?}");
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
