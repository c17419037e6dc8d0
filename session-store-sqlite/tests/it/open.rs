//! Opening: schema creation and versioning (Q10), missing directories (Q9), damaged files (Q7),
//! and what a read-only store needs.

use crate::common::{error_chain, now, open, raw, record, temp_db};
use session_core::SessionStore;
use session_store_sqlite::{SqliteOpenError, SqliteStore, SqliteStoreConfig};

fn user_version(path: &std::path::Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_new_file_gets_the_schema_in_wal_mode_and_reopens_cleanly() {
    let (_dir, path) = temp_db();
    let r = record();
    {
        let store = open(&path);
        store.create(&r).await.unwrap();
    }
    assert_eq!(user_version(&path), 1);
    let mode: String = raw(&path)
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let store = open(&path);
    assert!(store.load(&r.key, now()).await.unwrap().is_some());
    assert_eq!(user_version(&path), 1);
}

#[test]
fn a_newer_schema_is_a_typed_open_error_and_the_file_is_untouched() {
    let (_dir, path) = temp_db();
    drop(open(&path));
    raw(&path).pragma_update(None, "user_version", 99).unwrap();
    let before = std::fs::read(&path).unwrap();

    for read_only in [false, true] {
        let err =
            SqliteStore::open(SqliteStoreConfig::new(&path).read_only(read_only)).unwrap_err();
        assert!(
            matches!(
                err,
                SqliteOpenError::NewerSchema {
                    found: 99,
                    supported: 1
                }
            ),
            "got {err:?}"
        );
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn an_older_empty_database_is_migrated_and_its_other_tables_kept() {
    let (_dir, path) = temp_db();
    raw(&path)
        .execute_batch("CREATE TABLE unrelated (x INTEGER); INSERT INTO unrelated VALUES (42);")
        .unwrap();
    assert_eq!(user_version(&path), 0);
    drop(open(&path));
    assert_eq!(user_version(&path), 1);
    let x: i64 = raw(&path)
        .query_row("SELECT x FROM unrelated", [], |row| row.get(0))
        .unwrap();
    assert_eq!(x, 42);
}

#[test]
fn an_unrelated_sessions_table_is_not_adopted() {
    let (_dir, path) = temp_db();
    raw(&path)
        .execute_batch("CREATE TABLE sessions (id TEXT); INSERT INTO sessions VALUES ('theirs');")
        .unwrap();
    let err = SqliteStore::open(SqliteStoreConfig::new(&path)).unwrap_err();
    assert!(matches!(err, SqliteOpenError::Sqlite { .. }), "got {err:?}");
    assert_eq!(user_version(&path), 0, "the failed migration rolled back");
    let id: String = raw(&path)
        .query_row("SELECT id FROM sessions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(id, "theirs");
}

#[test]
fn a_missing_directory_is_a_typed_error_and_is_not_created() {
    let (dir, _) = temp_db();
    let missing = dir.path().join("not-there");
    let path = missing.join("sessions.db");
    for read_only in [false, true] {
        let err =
            SqliteStore::open(SqliteStoreConfig::new(&path).read_only(read_only)).unwrap_err();
        match &err {
            SqliteOpenError::MissingDirectory { dir } => assert_eq!(dir, &missing),
            other => panic!("got {other:?}"),
        }
        assert!(
            err.to_string().contains("session database directory"),
            "{err}"
        );
    }
    assert!(!missing.exists());
}

#[test]
fn a_damaged_header_fails_open_and_the_file_is_neither_deleted_nor_recreated() {
    let (_dir, path) = temp_db();
    {
        let store = open(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(store.create(&record())).unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..100].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();

    for read_only in [false, true] {
        let err =
            SqliteStore::open(SqliteStoreConfig::new(&path).read_only(read_only)).unwrap_err();
        match &err {
            SqliteOpenError::NotADatabase { path: named, .. } => assert_eq!(named, &path),
            other => panic!("got {other:?}"),
        }
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the file is unchanged"
        );
    }
}

#[test]
fn a_read_only_store_needs_an_existing_file_with_the_schema() {
    let (_dir, path) = temp_db();
    let err = SqliteStore::open(SqliteStoreConfig::new(&path).read_only(true)).unwrap_err();
    assert!(matches!(err, SqliteOpenError::Sqlite { .. }), "got {err:?}");
    assert!(!path.exists(), "a read-only open never creates the file");

    raw(&path).execute_batch("CREATE TABLE t (x)").unwrap();
    let err = SqliteStore::open(SqliteStoreConfig::new(&path).read_only(true)).unwrap_err();
    assert!(
        matches!(
            err,
            SqliteOpenError::SchemaNotReady {
                found: 0,
                supported: 1
            }
        ),
        "got {err:?}"
    );
}

#[test]
fn debug_output_is_short_and_safe() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let shown = format!("{store:?}");
    assert!(shown.starts_with("SqliteStore {"), "{shown}");
    assert!(shown.contains("read_connections: 4"), "{shown}");
}

/// Q9 at runtime: the database file deleted under a running store (a clean-up job, a redeploy
/// that wipes the data directory). SQLite notices on the next write transaction; every write
/// is then `Unavailable` (503) naming the cause, never a panic, and nothing is written to the
/// unlinked file. A store opened on the path again starts from an empty database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_deleted_at_runtime_makes_writes_unavailable() {
    let (_dir, path) = temp_db();
    let store = open(&path);
    let kept = record();
    store.create(&kept).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = path.with_file_name(format!("sessions.db{suffix}"));
        if file.exists() {
            std::fs::remove_file(&file).unwrap();
        }
    }

    let mut next = kept.clone();
    next.version = 2;
    let writes = [
        store.create(&record()).await.map(|_| ()),
        store.save(&next, 1).await,
        store.delete(&kept.key).await,
        store.purge_expired(now()).await.map(|_| ()),
    ];
    for result in writes {
        let err = result.expect_err("a write to a deleted database fails");
        assert!(
            matches!(err, session_core::store::StoreError::Unavailable { .. }),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert!(error_chain(&err).contains("deleted or moved"), "{err:?}");
    }
    drop(store);
    let reopened = open(&path);
    assert_eq!(reopened.load(&kept.key, now()).await.unwrap(), None);
    reopened.create(&record()).await.unwrap();
}
