//! What is on disk: sessions survive a reopen, damaged rows are reported as `Corrupt` without a
//! panic, and nothing stored reveals a session id (S-04).

mod common;

use common::{error_chain, now, open, raw, record, temp_db};
use serde_json::json;
use session_core::{SessionId, SessionStore, StoreError, UserId};

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

/// Replaces the stored bytes of `key` behind the store's back.
fn overwrite_record(path: &std::path::Path, key: &session_core::SessionKey, bytes: &[u8]) {
    let changed = raw(path)
        .execute(
            "UPDATE sessions SET record = ?1 WHERE key = ?2",
            rusqlite::params![bytes, &key.as_bytes()[..]],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

fn row_count(path: &std::path::Path) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn another_record_format_version_is_corrupt_and_the_row_stays() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let bad = record();
    let good = record();
    store.create(&bad).await.unwrap();
    store.create(&good).await.unwrap();
    let text = String::from_utf8(bad.to_bytes()).unwrap();
    assert!(text.contains("\"fmt\":1"));
    overwrite_record(
        &path,
        &bad.key,
        text.replacen("\"fmt\":1", "\"fmt\":2", 1).as_bytes(),
    );

    let err = store.load(&bad.key, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert!(!err.is_transient());
    assert!(
        error_chain(&err).contains("version 2"),
        "{}",
        error_chain(&err)
    );
    assert_eq!(
        row_count(&path),
        2,
        "the store does not delete the row by itself"
    );
    assert_eq!(store.load(&good.key, now()).await.unwrap(), Some(good));
    // The caller may delete it.
    store.delete(&bad.key).await.unwrap();
    assert_eq!(store.load(&bad.key, now()).await.unwrap(), None);
}

#[tokio::test]
async fn garbage_bytes_are_corrupt_without_echoing_them() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let r = record();
    store.create(&r).await.unwrap();
    for garbage in [
        &b"\xff\x00 garbage"[..],
        b"",
        b"{\"fmt\":1,\"key\":\"hunter2-secret\"}",
        b"{\"fmt\":1,\"version\":\"hunter2-secret\"}",
    ] {
        overwrite_record(&path, &r.key, garbage);
        let err = store.load(&r.key, now()).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
        let text = error_chain(&err);
        assert!(
            !text.contains("hunter2"),
            "error echoes stored bytes: {text}"
        );
        assert!(
            !text.contains(&r.key.to_hex()),
            "error shows the key: {text}"
        );
    }
}

#[tokio::test]
async fn a_record_stored_under_another_key_is_corrupt() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let victim = record();
    let other = record();
    store.create(&victim).await.unwrap();
    store.create(&other).await.unwrap();
    overwrite_record(&path, &victim.key, &other.to_bytes());
    let err = store.load(&victim.key, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
}

#[tokio::test]
async fn a_corrupt_record_does_not_hide_the_users_other_sessions() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let user = UserId::new("bob");
    let mut damaged = record();
    damaged.user_id = Some(user.clone());
    let mut intact = record();
    intact.user_id = Some(user.clone());
    store.create(&damaged).await.unwrap();
    store.create(&intact).await.unwrap();
    overwrite_record(&path, &damaged.key, b"not json");

    let listed = store.list_for_user(&user, now()).await.unwrap();
    assert_eq!(listed, vec![intact]);
    assert_eq!(store.delete_for_user(&user).await.unwrap(), 2);
    assert_eq!(row_count(&path), 0);
}

/// S-04: neither the id's text nor its raw bytes appear in any column, nor anywhere in the files.
#[tokio::test]
async fn nothing_stored_contains_the_session_id() {
    let (dir, path) = temp_db();
    let store = open(&path);
    let id = SessionId::generate();
    let mut r = record();
    r.key = id.key();
    r.user_id = Some(UserId::new("carol"));
    store.create(&r).await.unwrap();

    let text = id.expose().as_bytes();
    let bytes = &id.as_bytes()[..];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);

    let conn = raw(&path);
    let mut stmt = conn.prepare("SELECT * FROM sessions").unwrap();
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut seen = 0;
    while let Some(row) = rows.next().unwrap() {
        seen += 1;
        for i in 0..columns {
            let value: Vec<u8> = match row.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => Vec::new(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string().into_bytes(),
                rusqlite::types::ValueRef::Real(f) => f.to_string().into_bytes(),
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    t.to_vec()
                }
            };
            assert!(!contains(&value, text), "column {i} holds the id text");
            assert!(!contains(&value, bytes), "column {i} holds the id bytes");
        }
    }
    assert_eq!(seen, 1);
    drop(rows);
    drop(stmt);
    drop(conn);

    // The files themselves (database, WAL), while the store is open and after it is closed.
    let scan_files = || {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!contains(&data, text) && !contains(&data, bytes));
        }
    };
    scan_files();
    drop(store);
    scan_files();
}
