//! A damaged database file is the engine's problem, not one session's: `StoreError::EngineCorrupt`
//! (a 500, nothing deleted or written), never `StoreError::Corrupt`, which makes the manager
//! delete the session. One undecodable record stays `Corrupt` (see `persistence.rs`).

use std::path::{Path, PathBuf};

use crate::common::{now, open, raw, record, temp_db};
use session_core::{
    store::StoreError, CookieUpdate, RequestContext, Secret, SessionError, SessionManager,
    SessionStore,
};

/// Fills the root page of the `sessions` table of a closed database with garbage, leaving the
/// header and the schema (page 1) intact, so the store still opens but every read or write of a
/// session row meets a page SQLite reports as `SQLITE_CORRUPT`.
fn damage_the_sessions_table(path: &Path) {
    let (page_size, root_page): (u64, u64) = {
        let conn = raw(path);
        let page_size = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("page size");
        let root_page = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
                [],
                |row| row.get(0),
            )
            .expect("root page");
        (page_size, root_page)
    };
    assert!(root_page > 1, "the table does not live on the schema page");
    assert!(
        !wal(path).exists(),
        "the store checkpointed its WAL when it closed"
    );
    let mut bytes = std::fs::read(path).expect("read the database");
    let start = usize::try_from((root_page - 1) * page_size).expect("offset");
    let end = start + usize::try_from(page_size).expect("page size");
    assert!(bytes.len() >= end, "the page is in the file");
    bytes[start..end].fill(0xA5);
    std::fs::write(path, &bytes).expect("write the damaged database");
}

fn wal(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The bytes of the database file and its WAL (if any), to show that nothing was written.
fn snapshot(path: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
    (
        std::fs::read(path).expect("read the database"),
        std::fs::read(wal(path)).ok(),
    )
}

fn assert_engine_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    let err = result.expect_err("a damaged database cannot serve the call");
    assert!(
        matches!(err, StoreError::EngineCorrupt { .. }),
        "expected EngineCorrupt, got {err:?}"
    );
    assert!(!err.is_transient(), "a damaged file is not a 503");
}

#[tokio::test]
async fn a_damaged_database_file_is_an_engine_error_not_a_bad_record() {
    let (_dir, path) = temp_db();
    let r = record();
    {
        let store = open(&path);
        store.create(&r).await.expect("create");
    }
    damage_the_sessions_table(&path);

    let store = open(&path);
    assert_engine_corrupt(store.load(&r.key, now()).await);
    let mut next = r.clone();
    next.version = 2;
    assert_engine_corrupt(store.save(&next, 1).await);
    assert_engine_corrupt(store.delete(&r.key).await);
}

#[tokio::test]
async fn a_damaged_database_fails_the_request_with_500_and_writes_nothing() {
    let (_dir, path) = temp_db();
    let secret = Secret::from_bytes(vec![7u8; 32]).expect("secret");
    let cookie = {
        let manager = SessionManager::stateful(&secret, open(&path)).build();
        let session = manager
            .load(None, RequestContext::default())
            .await
            .expect("load without a cookie");
        session.insert("visits", 1).expect("insert");
        let CookieUpdate::Set(set_cookie) = manager.commit(&session).await.expect("commit") else {
            panic!("a new session sets its cookie");
        };
        set_cookie.split(';').next().expect("name=value").to_owned()
    };
    damage_the_sessions_table(&path);

    let manager = SessionManager::stateful(&secret, open(&path)).build();
    let before = snapshot(&path);
    let err = manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .expect_err("a damaged database is a failure, not an empty session");
    assert!(
        matches!(err, SessionError::Store(StoreError::EngineCorrupt { .. })),
        "got {err:?}"
    );
    assert_eq!(err.status_code(), 500);
    // Compared while the store is open: closing it checkpoints the WAL into the file.
    assert_eq!(snapshot(&path), before, "nothing was written to the file");
}
