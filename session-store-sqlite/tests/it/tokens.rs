//! [`SqliteTokenStore`] (feature `auth`): session-auth's token-store conformance suite on a file
//! and in memory, then the engine's faults (read-only file, held lock), persistence beside the
//! sessions, the token table's own schema version, damaged rows, and two stores on one file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use session_auth::testing::token_conformance::{every_field_grant, grant};
use session_auth::tokens::{StoredGrant, TokenStore};
use session_core::store::StoreError;
use session_core::{SessionStore, UserId};
use session_store_sqlite::{SqliteOpenError, SqliteStore, SqliteStoreConfig, SqliteTokenStore};

use crate::common::{error_chain, integrity_check, now, raw, record, temp_db};

mod conformance_file {
    use session_auth::testing::TokenFixture;
    use session_store_sqlite::{SqliteStoreConfig, SqliteTokenStore};

    session_auth::token_store_conformance!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tokens.db");
        let store = SqliteTokenStore::open(SqliteStoreConfig::new(&path)).expect("open");
        TokenFixture::new(store).keep(dir)
    });
}

mod conformance_memory {
    use session_store_sqlite::{SqliteStoreConfig, SqliteTokenStore};

    session_auth::token_store_conformance!(|| async {
        SqliteTokenStore::open(SqliteStoreConfig::in_memory()).expect("open")
    });
}

fn open_tokens(path: &std::path::Path) -> SqliteTokenStore {
    SqliteTokenStore::open(SqliteStoreConfig::new(path)).expect("open the token store")
}

fn alice() -> UserId {
    UserId::new("alice")
}

fn stored(grant: &StoredGrant, version: u64) -> StoredGrant {
    StoredGrant {
        version,
        ..grant.clone()
    }
}

fn assert_kind<T: std::fmt::Debug>(res: Result<T, StoreError>, kind: &str, what: &str) {
    let err = res.expect_err(what);
    let ok = match kind {
        "ReadOnly" => matches!(err, StoreError::ReadOnly { .. }),
        "Timeout" => matches!(err, StoreError::Timeout { .. }),
        _ => unreachable!(),
    };
    assert!(ok, "{what}: expected {kind}, got {err:?}");
    assert!(err.is_transient(), "{what}: {kind} is transient (503)");
}

/// The token table's row in `schema_versions`; `None` without the row or the table.
fn schema_row(path: &std::path::Path) -> Option<i64> {
    use rusqlite::OptionalExtension;
    let conn = raw(path);
    let has_table = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_versions'")
        .and_then(|mut stmt| stmt.exists([]))
        .expect("sqlite_master");
    if !has_table {
        return None;
    }
    conn.query_row(
        "SELECT version FROM schema_versions WHERE name = 'oauth_tokens'",
        [],
        |row| row.get(0),
    )
    .optional()
    .expect("schema_versions")
}

fn user_version(path: &std::path::Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version")
}

/// Tests run as root, where `chmod 0444` does not stop writes, so the file is opened with
/// `SQLITE_OPEN_READONLY` (`read_only(true)`), as the session store's fault test does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_refuses_writes_and_serves_reads() {
    let (_dir, path) = temp_db();
    let full = every_field_grant("583231");
    {
        let rw = open_tokens(&path);
        assert_eq!(rw.put(&alice(), "github", &full).await.unwrap(), 1);
        assert_eq!(rw.put(&alice(), "vercel", &grant("v")).await.unwrap(), 1);
    }

    let ro = SqliteTokenStore::open(SqliteStoreConfig::new(&path).read_only(true)).unwrap();
    assert_kind(
        ro.put(&alice(), "github", &grant("new")).await,
        "ReadOnly",
        "put",
    );
    assert_kind(
        ro.put(&alice(), "gitlab", &grant("new")).await,
        "ReadOnly",
        "put of a new row",
    );
    assert_kind(
        ro.replace(&alice(), "github", 1, &grant("new")).await,
        "ReadOnly",
        "replace",
    );
    assert_kind(ro.delete(&alice(), "github").await, "ReadOnly", "delete");
    assert_eq!(
        ro.get(&alice(), "github").await.unwrap(),
        Some(stored(&full, 1)),
        "get works on a read-only store and the refused writes changed nothing"
    );
    assert_eq!(
        ro.list(&alice()).await.unwrap().len(),
        2,
        "list works on a read-only store"
    );
    drop(ro);

    let rw = open_tokens(&path);
    assert_eq!(
        rw.replace(&alice(), "github", 1, &grant("new"))
            .await
            .unwrap(),
        Some(2),
        "writes work again read-write"
    );
    assert_eq!(integrity_check(&path), "ok");
}

/// Another connection (as another process would) holds the write lock: writes wait the busy
/// timeout, then `Timeout`; reads still work (WAL); after the lock goes, writes work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_lock_gives_timeout_after_the_busy_timeout() {
    let (_dir, path) = temp_db();
    let timeout = Duration::from_millis(300);
    let store =
        SqliteTokenStore::open(SqliteStoreConfig::new(&path).busy_timeout(timeout)).unwrap();
    let v1 = store.put(&alice(), "github", &grant("a")).await.unwrap();

    let locker = raw(&path);
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    assert_kind(
        store.put(&alice(), "vercel", &grant("b")).await,
        "Timeout",
        "put",
    );
    let waited = started.elapsed();
    assert!(waited >= timeout / 2, "gave up too early: {waited:?}");
    assert!(
        waited < timeout * 10,
        "waited far past the timeout: {waited:?}"
    );
    assert_kind(
        store.replace(&alice(), "github", v1, &grant("b")).await,
        "Timeout",
        "replace",
    );
    assert_kind(store.delete(&alice(), "github").await, "Timeout", "delete");
    assert_eq!(
        store.get(&alice(), "github").await.unwrap(),
        Some(stored(&grant("a"), 1)),
        "reads are not blocked by the writer's lock in WAL mode"
    );

    locker.execute_batch("COMMIT").unwrap();
    assert_eq!(
        store
            .replace(&alice(), "github", v1, &grant("b"))
            .await
            .unwrap(),
        Some(v1 + 1)
    );
    assert_eq!(store.put(&alice(), "vercel", &grant("b")).await.unwrap(), 1);
}

#[tokio::test]
async fn rows_survive_reopening() {
    let (_dir, path) = temp_db();
    let full = every_field_grant("583231");
    {
        let store = open_tokens(&path);
        store.put(&alice(), "github", &full).await.unwrap();
        store.put(&alice(), "github", &full).await.unwrap();
        store.put(&alice(), "vercel", &grant("v")).await.unwrap();
    }
    let store = open_tokens(&path);
    assert_eq!(
        store.list(&alice()).await.unwrap(),
        [
            ("github".to_owned(), stored(&full, 2)),
            ("vercel".to_owned(), stored(&grant("v"), 1)),
        ]
    );
    assert_eq!(
        store.put(&alice(), "github", &full).await.unwrap(),
        3,
        "versions go on after a reopen"
    );
}

/// The token table and the sessions live in one file, each with its own schema version,
/// whichever store opens it first.
#[tokio::test]
async fn tokens_and_sessions_share_one_file_in_either_order() {
    for tokens_first in [true, false] {
        let (_dir, path) = temp_db();
        let config = SqliteStoreConfig::new(&path);
        let (tokens, sessions) = if tokens_first {
            let tokens = SqliteTokenStore::open(config.clone()).unwrap();
            assert_eq!(
                user_version(&path),
                0,
                "the token store leaves user_version"
            );
            (tokens, SqliteStore::open(config).unwrap())
        } else {
            let sessions = SqliteStore::open(config.clone()).unwrap();
            (SqliteTokenStore::open(config).unwrap(), sessions)
        };
        assert_eq!(schema_row(&path), Some(1), "the token table's version row");
        assert_eq!(user_version(&path), 1, "the session schema's version");

        let r = record();
        sessions.create(&r).await.unwrap();
        tokens.put(&alice(), "github", &grant("a")).await.unwrap();
        drop((tokens, sessions));

        let sessions = SqliteStore::open(SqliteStoreConfig::new(&path)).unwrap();
        let tokens = open_tokens(&path);
        assert_eq!(sessions.load(&r.key, now()).await.unwrap(), Some(r));
        assert_eq!(
            tokens.get(&alice(), "github").await.unwrap(),
            Some(stored(&grant("a"), 1))
        );
        assert_eq!(integrity_check(&path), "ok");
    }
}

#[test]
fn a_newer_token_schema_is_a_typed_open_error_and_the_file_is_untouched() {
    let (_dir, path) = temp_db();
    drop(open_tokens(&path));
    raw(&path)
        .execute(
            "UPDATE schema_versions SET version = 99 WHERE name = 'oauth_tokens'",
            [],
        )
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    for read_only in [false, true] {
        let err = SqliteTokenStore::open(SqliteStoreConfig::new(&path).read_only(read_only))
            .expect_err("a newer token schema");
        assert!(
            matches!(
                err,
                SqliteOpenError::NewerSchema {
                    found: 99,
                    supported: 1
                }
            ),
            "read_only {read_only}: got {err:?}"
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // The session schema is another matter: the session store still opens the file.
    drop(SqliteStore::open(SqliteStoreConfig::new(&path)).expect("the session store opens"));
}

#[test]
fn a_read_only_store_needs_the_token_table() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(SqliteStoreConfig::new(&path)).unwrap());
    let err = SqliteTokenStore::open(SqliteStoreConfig::new(&path).read_only(true))
        .expect_err("no token table yet");
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
    drop(open_tokens(&path));
    SqliteTokenStore::open(SqliteStoreConfig::new(&path).read_only(true))
        .expect("opens read-only once the table exists");
}

#[test]
fn an_unrelated_oauth_tokens_table_is_not_adopted() {
    let (_dir, path) = temp_db();
    raw(&path)
        .execute_batch(
            "CREATE TABLE oauth_tokens (id TEXT); INSERT INTO oauth_tokens VALUES ('theirs');",
        )
        .unwrap();
    let err = SqliteTokenStore::open(SqliteStoreConfig::new(&path)).expect_err("not ours");
    assert!(matches!(err, SqliteOpenError::Sqlite { .. }), "got {err:?}");
    assert_eq!(schema_row(&path), None, "the failed migration rolled back");
    let id: String = raw(&path)
        .query_row("SELECT id FROM oauth_tokens", [], |row| row.get(0))
        .unwrap();
    assert_eq!(id, "theirs");
}

/// A row whose `state` this build does not know, or with a negative time or a column of the
/// wrong type, is `Corrupt` from `get` and `list`, names no token, and is left in place.
#[tokio::test]
async fn a_damaged_row_is_corrupt_and_left_in_place() {
    let damages = [
        "UPDATE oauth_tokens SET state = 'revoked'",
        "UPDATE oauth_tokens SET obtained_at = -1",
        "UPDATE oauth_tokens SET expires_at = 'soon'",
        "UPDATE oauth_tokens SET access_token = x'00ff'",
    ];
    for damage in damages {
        let (_dir, path) = temp_db();
        let store = open_tokens(&path);
        let full = every_field_grant("583231");
        store.put(&alice(), "github", &full).await.unwrap();
        raw(&path).execute(damage, []).unwrap();

        for (what, res) in [
            ("get", store.get(&alice(), "github").await.map(|_| ())),
            ("list", store.list(&alice()).await.map(|_| ())),
        ] {
            let err = res.expect_err(damage);
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{damage}: {what} gave {err:?}"
            );
            let shown = error_chain(&err);
            assert!(
                !shown.contains(full.access_token.as_str())
                    && !shown.contains(&full.access_token.as_str()[..40]),
                "{damage}: {what}'s error names the token: {shown}"
            );
        }
        let left: i64 = raw(&path)
            .query_row("SELECT count(*) FROM oauth_tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(left, 1, "{damage}: the row is left in place");
        assert!(
            store.delete(&alice(), "github").await.unwrap(),
            "{damage}: the damaged row can be deleted"
        );
    }
}

/// Two stores on one file (as two processes would): 32 replaces of one version, exactly one
/// winner, whose grant the other store reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_have_one_replace_winner() {
    let (_dir, path) = temp_db();
    let a: Arc<dyn TokenStore> = Arc::new(open_tokens(&path));
    let b: Arc<dyn TokenStore> = Arc::new(open_tokens(&path));
    let v1 = a.put(&alice(), "github", &grant("start")).await.unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|writer| {
            let store = if writer % 2 == 0 {
                a.clone()
            } else {
                b.clone()
            };
            tokio::spawn(async move {
                let mine = grant(&format!("writer-{writer}"));
                (writer, store.replace(&alice(), "github", v1, &mine).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (writer, Ok(Some(version))) => {
                assert_eq!(version, v1 + 1);
                winners.push(writer);
            }
            (_, Ok(None)) => {}
            (writer, Err(err)) => panic!("writer {writer}: unexpected error {err:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner, got {winners:?}");
    for store in [&a, &b] {
        assert_eq!(
            store.get(&alice(), "github").await.unwrap(),
            Some(stored(&grant(&format!("writer-{}", winners[0])), v1 + 1)),
            "both stores read the winner's grant"
        );
    }
}
