//! [`SqliteApiTokenStore`] (feature `auth`): session-auth's API-token-store conformance suite on
//! a file and in memory, then the engine's faults (read-only file, held lock), the table's own
//! schema version beside the sessions and the provider tokens, damaged rows, a leaked row that
//! is no token, tokens through `ApiTokens`, and the limit across two stores on one file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use session_auth::api_tokens::{ApiTokenRecord, ApiTokenStore, ApiTokens, Inserted, NewApiToken};
use session_auth::testing::api_token_conformance::{every_field_record, record as token, NOW};
use session_core::store::StoreError;
use session_core::{Secret, SessionStore, UserId};
use session_store_sqlite::{
    SqliteApiTokenStore, SqliteOpenError, SqliteStore, SqliteStoreConfig, SqliteTokenStore,
};

use crate::common::{error_chain, integrity_check, now, raw, record, temp_db};

mod conformance_file {
    use session_auth::testing::ApiTokenFixture;
    use session_store_sqlite::{SqliteApiTokenStore, SqliteStoreConfig};

    session_auth::api_token_store_conformance!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("api_tokens.db");
        let store = SqliteApiTokenStore::open(SqliteStoreConfig::new(&path)).expect("open");
        ApiTokenFixture::new(store).keep(dir)
    });
}

mod conformance_memory {
    use session_store_sqlite::{SqliteApiTokenStore, SqliteStoreConfig};

    session_auth::api_token_store_conformance!(|| async {
        SqliteApiTokenStore::open(SqliteStoreConfig::in_memory()).expect("open")
    });
}

fn open_api_tokens(path: &std::path::Path) -> SqliteApiTokenStore {
    SqliteApiTokenStore::open(SqliteStoreConfig::new(path)).expect("open the API token store")
}

fn alice() -> UserId {
    UserId::new("alice")
}

fn secret() -> Secret {
    Secret::from_bytes(vec![7; 32]).expect("a 32-byte secret")
}

fn later(secs: u64) -> session_core::UnixTime {
    NOW.saturating_add(Duration::from_secs(secs))
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

/// The API-token table's row in `schema_versions`; `None` without the row or the table.
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
        "SELECT version FROM schema_versions WHERE name = 'api_tokens'",
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
    let full = every_field_record("alice");
    let bare = token("alice", 1);
    {
        let rw = open_api_tokens(&path);
        for row in [&full, &bare] {
            assert_eq!(
                rw.insert(row, usize::MAX, NOW).await.unwrap(),
                Inserted::Stored
            );
        }
    }

    let ro = SqliteApiTokenStore::open(SqliteStoreConfig::new(&path).read_only(true)).unwrap();
    assert_kind(
        ro.insert(&token("alice", 2), usize::MAX, NOW).await,
        "ReadOnly",
        "insert",
    );
    assert_kind(ro.touch(&bare.id, later(100)).await, "ReadOnly", "touch");
    assert_kind(
        ro.revoke(&alice(), &bare.id, later(100)).await,
        "ReadOnly",
        "revoke",
    );
    assert_kind(
        ro.revoke_all(&alice(), later(100)).await,
        "ReadOnly",
        "revoke_all",
    );
    assert_eq!(
        ro.find(&bare.hash).await.unwrap(),
        Some(bare.clone()),
        "find works on a read-only store and the refused writes changed nothing"
    );
    assert_eq!(
        ro.list(&alice()).await.unwrap(),
        [bare.clone(), full],
        "list works on a read-only store"
    );
    drop(ro);

    let rw = open_api_tokens(&path);
    assert!(
        rw.revoke(&alice(), &bare.id, later(100)).await.unwrap(),
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
        SqliteApiTokenStore::open(SqliteStoreConfig::new(&path).busy_timeout(timeout)).unwrap();
    let row = token("alice", 1);
    assert_eq!(store.insert(&row, 5, NOW).await.unwrap(), Inserted::Stored);

    let locker = raw(&path);
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    assert_kind(
        store.insert(&token("alice", 2), 5, NOW).await,
        "Timeout",
        "insert",
    );
    let waited = started.elapsed();
    assert!(waited >= timeout / 2, "gave up too early: {waited:?}");
    assert!(
        waited < timeout * 10,
        "waited far past the timeout: {waited:?}"
    );
    assert_kind(store.touch(&row.id, later(5)).await, "Timeout", "touch");
    assert_kind(
        store.revoke(&alice(), &row.id, later(5)).await,
        "Timeout",
        "revoke",
    );
    assert_eq!(
        store.find(&row.hash).await.unwrap(),
        Some(row.clone()),
        "reads are not blocked by the writer's lock in WAL mode"
    );

    locker.execute_batch("COMMIT").unwrap();
    assert!(store.revoke(&alice(), &row.id, later(5)).await.unwrap());
}

/// The API-token table, the provider tokens and the sessions live in one file, each with its own
/// schema version, whichever store opens it first; rows survive reopening.
#[tokio::test]
async fn api_tokens_tokens_and_sessions_share_one_file_in_any_order() {
    for api_tokens_first in [true, false] {
        let (_dir, path) = temp_db();
        let config = SqliteStoreConfig::new(&path);
        let (api_tokens, sessions, tokens) = if api_tokens_first {
            let api_tokens = SqliteApiTokenStore::open(config.clone()).unwrap();
            assert_eq!(
                user_version(&path),
                0,
                "the API token store leaves user_version"
            );
            (
                api_tokens,
                SqliteStore::open(config.clone()).unwrap(),
                SqliteTokenStore::open(config).unwrap(),
            )
        } else {
            let sessions = SqliteStore::open(config.clone()).unwrap();
            let tokens = SqliteTokenStore::open(config.clone()).unwrap();
            (SqliteApiTokenStore::open(config).unwrap(), sessions, tokens)
        };
        assert_eq!(
            schema_row(&path),
            Some(1),
            "the API token table's version row"
        );
        assert_eq!(user_version(&path), 1, "the session schema's version");

        let r = record();
        sessions.create(&r).await.unwrap();
        let full = every_field_record("alice");
        assert_eq!(
            api_tokens.insert(&full, 1, NOW).await.unwrap(),
            Inserted::Stored
        );
        drop((api_tokens, sessions, tokens));

        let sessions = SqliteStore::open(SqliteStoreConfig::new(&path)).unwrap();
        let api_tokens = open_api_tokens(&path);
        drop(SqliteTokenStore::open(SqliteStoreConfig::new(&path)).expect("the token store opens"));
        assert_eq!(sessions.load(&r.key, now()).await.unwrap(), Some(r));
        assert_eq!(api_tokens.find(&full.hash).await.unwrap(), Some(full));
        assert_eq!(integrity_check(&path), "ok");
    }
}

#[test]
fn a_newer_api_token_schema_is_a_typed_open_error_and_the_file_is_untouched() {
    let (_dir, path) = temp_db();
    drop(open_api_tokens(&path));
    raw(&path)
        .execute(
            "UPDATE schema_versions SET version = 99 WHERE name = 'api_tokens'",
            [],
        )
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    for read_only in [false, true] {
        let err = SqliteApiTokenStore::open(SqliteStoreConfig::new(&path).read_only(read_only))
            .expect_err("a newer API token schema");
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
    // The other schemas are another matter: their stores still open the file.
    drop(SqliteStore::open(SqliteStoreConfig::new(&path)).expect("the session store opens"));
    drop(SqliteTokenStore::open(SqliteStoreConfig::new(&path)).expect("the token store opens"));
}

#[test]
fn a_read_only_store_needs_the_api_token_table() {
    let (_dir, path) = temp_db();
    drop(SqliteTokenStore::open(SqliteStoreConfig::new(&path)).unwrap());
    let err = SqliteApiTokenStore::open(SqliteStoreConfig::new(&path).read_only(true))
        .expect_err("no API token table yet");
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
    drop(open_api_tokens(&path));
    SqliteApiTokenStore::open(SqliteStoreConfig::new(&path).read_only(true))
        .expect("opens read-only once the table exists");
}

#[test]
fn an_unrelated_api_tokens_table_is_not_adopted() {
    let (_dir, path) = temp_db();
    raw(&path)
        .execute_batch(
            "CREATE TABLE api_tokens (token TEXT); INSERT INTO api_tokens VALUES ('theirs');",
        )
        .unwrap();
    let err = SqliteApiTokenStore::open(SqliteStoreConfig::new(&path)).expect_err("not ours");
    assert!(matches!(err, SqliteOpenError::Sqlite { .. }), "got {err:?}");
    assert_eq!(schema_row(&path), None, "the failed migration rolled back");
    let token: String = raw(&path)
        .query_row("SELECT token FROM api_tokens", [], |row| row.get(0))
        .unwrap();
    assert_eq!(token, "theirs");
}

/// A row with a hash that is not 64 hex digits, scopes that are not a JSON array of strings, a
/// negative time or a column of the wrong type is `Corrupt` (from `find`, when it is still
/// found by its hash, and from `list`), quotes nothing stored, and is left in place.
#[tokio::test]
async fn a_damaged_row_is_corrupt_and_left_in_place() {
    // (damage, whether `find` by the original hash still reaches the row)
    let damages = [
        (
            "UPDATE api_tokens SET hash = 'not-hex-' || substr(hash, 9)",
            false,
        ),
        ("UPDATE api_tokens SET hash = substr(hash, 2)", false),
        ("UPDATE api_tokens SET scopes = 'secret-scope-text'", true),
        ("UPDATE api_tokens SET scopes = '{\"secret\": 1}'", true),
        ("UPDATE api_tokens SET scopes = '[1, 2]'", true),
        ("UPDATE api_tokens SET created_at = -1", true),
        ("UPDATE api_tokens SET revoked_at = -5", true),
        ("UPDATE api_tokens SET expires_at = 'soon'", true),
        ("UPDATE api_tokens SET name = x'00ff'", true),
    ];
    for (damage, found_by_hash) in damages {
        let (_dir, path) = temp_db();
        let store = open_api_tokens(&path);
        let full = every_field_record("alice");
        assert_eq!(store.insert(&full, 5, NOW).await.unwrap(), Inserted::Stored);
        raw(&path).execute(damage, []).unwrap();

        let mut results = vec![("list", store.list(&alice()).await.map(|_| ()))];
        let found = store.find(&full.hash).await;
        if found_by_hash {
            results.push(("find", found.map(|_| ())));
        } else {
            assert_eq!(found.unwrap(), None, "{damage}: the hash no longer matches");
        }
        for (what, res) in results {
            let err = res.expect_err(damage);
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{damage}: {what} gave {err:?}"
            );
            let shown = error_chain(&err);
            for stored in ["secret", "soon", "scope:", &full.id, &full.display_prefix] {
                assert!(
                    !shown.contains(stored),
                    "{damage}: {what}'s error quotes {stored:?}: {shown}"
                );
            }
        }
        let left: i64 = raw(&path)
            .query_row("SELECT count(*) FROM api_tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(left, 1, "{damage}: the row is left in place");
    }
}

/// The table holds the keyed hash and display prefix `ApiTokens` made, and the token itself is
/// in no column and nowhere in the database's files (that the hash and the prefix are refused as
/// tokens is the suite's `a_leaked_row_is_not_a_token`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_holds_no_token() {
    let (_dir, path) = temp_db();
    let tokens = ApiTokens::builder(&secret(), open_api_tokens(&path)).build();
    let created = tokens
        .create(&alice(), NewApiToken::named("CI deploy"))
        .await
        .unwrap();
    let (hash, display_prefix): (String, String) = raw(&path)
        .query_row("SELECT hash, display_prefix FROM api_tokens", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(display_prefix, created.token.display_prefix);
    let stored = tokens.store().list(&alice()).await.unwrap();
    assert_eq!(hash, stored[0].hash.to_hex());

    let body = &created.secret.expose()["sat_".len()..];
    let conn = raw(&path);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut stmt = conn.prepare("SELECT * FROM api_tokens").unwrap();
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        for i in 0..columns {
            if let Ok(text) = row.get::<_, String>(i) {
                assert!(!text.contains(body), "column {i} holds the token");
            }
        }
    }
    for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
            "the token is in the database's files"
        );
    }
}

/// Two stores on one file (as two processes would): 32 inserts for one owner with a limit of 5,
/// exactly 5 land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_stop_at_the_limit_together() {
    let (_dir, path) = temp_db();
    let a: Arc<dyn ApiTokenStore> = Arc::new(open_api_tokens(&path));
    let b: Arc<dyn ApiTokenStore> = Arc::new(open_api_tokens(&path));
    let tasks: Vec<_> = (0..32u8)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.insert(&token("alice", n), 5, NOW).await })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Inserted::Stored) => stored += 1,
            Ok(Inserted::LimitReached) => {}
            Err(err) => panic!("unexpected error {err:?}"),
        }
    }
    assert_eq!(stored, 5);
    for store in [&a, &b] {
        let listed: Vec<ApiTokenRecord> = store.list(&alice()).await.unwrap();
        assert_eq!(listed.len(), 5, "both stores see the same 5 rows");
    }
}
