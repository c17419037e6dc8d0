//! What is on disk, beyond the conformance suite's `no_session_id_at_rest` and
//! `a_corrupt_record_is_a_typed_error` (which read and damage the file through
//! [`SqliteRaw`](crate::common::SqliteRaw)): sessions survive a reopen, a record in another
//! format version says so, and once the store is closed its files hold no session id (S-04).

use serde_json::json;
use session_core::testing::conformance::{assert_no_session_id, record_for, renewed};
use session_core::testing::RawAccess;
use session_core::{
    store::{SessionId, StoreError},
    SessionStore, UserId,
};

use crate::common::{error_chain, now, open, record, temp_db, SqliteRaw};

#[tokio::test]
async fn reopening_the_file_keeps_every_session() {
    let (_dir, path) = temp_db();
    let user = UserId::new("alice");
    let mut records = Vec::new();
    {
        let store = open(&path);
        for i in 0..5 {
            let mut r = record();
            if i % 2 == 0 {
                r.user_id = Some(user.clone());
            }
            store.create(&r).await.unwrap();
            records.push(r);
        }
        let mut changed = records[0].clone();
        changed.version = 2;
        changed.data.insert("n".into(), json!(7));
        store.save(&changed, 1).await.unwrap();
        records[0] = changed;
    }
    let store = open(&path);
    for r in &records {
        assert_eq!(store.load(&r.key, now()).await.unwrap().as_ref(), Some(r));
    }
    assert_eq!(store.list_for_user(&user, now()).await.unwrap().len(), 3);
}

#[tokio::test]
async fn another_record_format_version_is_named_in_the_error() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let r = record();
    store.create(&r).await.unwrap();
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(text.contains("\"fmt\":1"));
    SqliteRaw::new(&path)
        .overwrite_record(
            &r.key,
            text.replacen("\"fmt\":1", "\"fmt\":2", 1).as_bytes(),
        )
        .await
        .unwrap();

    let err = store.load(&r.key, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert!(
        error_chain(&err).contains("version 2"),
        "{}",
        error_chain(&err)
    );
}

/// The conformance suite scans the files while the store is open; closing it checkpoints the
/// WAL into the database file, which must not hold an id either.
#[tokio::test]
async fn a_closed_database_holds_no_session_id_in_its_files() {
    let (dir, path) = temp_db();
    let user = UserId::new("carol");
    let mut ids = Vec::new();
    {
        let store = open(&path);
        for i in 0..4 {
            let id = SessionId::generate();
            let mut r = record_for(&user, now());
            r.key = id.key();
            store.create(&r).await.unwrap();
            ids.push(id);
            if i % 2 == 0 {
                let new_id = SessionId::generate();
                let mut new = renewed(&r);
                new.key = new_id.key();
                store.renew(&r.key, 1, &new).await.unwrap();
                ids.push(new_id);
            }
        }
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let file = entry.unwrap().path();
        let bytes = std::fs::read(&file).unwrap();
        assert_no_session_id(&bytes, &ids, &format!("the file {}", file.display()));
    }
}
