//! Engine faults on the machine's server, each isolated (its own schema, or its own database
//! for the read-only case): a read-only database, a statement timeout on a held row lock, an
//! exhausted pool, and a server that is down at connect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use session_core::store::StoreError;
use session_core::SessionStore;
use session_store_postgres::{PostgresOpenError, PostgresStore, PostgresStoreConfig};

use crate::common::{error_chain, kind, now, pg_url, random_schema, raw, record, TestSchema};
use crate::private_server::free_port;

/// The machine's URL with another database name.
fn url_with_db(db: &str) -> String {
    let url = pg_url();
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
    format!("{base}/{db}")
}

/// `ALTER DATABASE ... SET default_transaction_read_only = on` (on a database of this test):
/// once the store's connections are replaced, every write is `ReadOnly` (transient) and
/// changes nothing, reads work; with the setting reset, writes work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_refuses_writes_and_serves_reads() {
    let db = random_schema();
    let admin = raw(&pg_url()).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create database");
    let url = url_with_db(&db);
    let store = PostgresStore::connect(
        PostgresStoreConfig::new(&url)
            .schema("s")
            .pool_size(2)
            .background_purge(None),
    )
    .await
    .expect("connect");
    let kept = record();
    store.create(&kept).await.expect("create");

    // Turn the database read-only and make the store's connections reconnect.
    let set = |on: bool| {
        let sql = if on {
            format!("ALTER DATABASE {db} SET default_transaction_read_only = on")
        } else {
            format!("ALTER DATABASE {db} RESET default_transaction_read_only")
        };
        let terminate = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        );
        let admin = &admin;
        async move {
            admin.batch_execute(&sql).await.expect("alter database");
            admin.batch_execute(&terminate).await.expect("terminate");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    set(true).await;
    // The first call may still meet a terminated connection: reads come back by themselves.
    let mut loaded = store.load(&kept.key, now()).await;
    if loaded.is_err() {
        loaded = store.load(&kept.key, now()).await;
    }
    assert_eq!(loaded.expect("reads work"), Some(kept.clone()));

    let fresh = record();
    let mut next = kept.clone();
    next.version += 1;
    let mut renewed = kept.clone();
    renewed.key = record().key;
    let results: Vec<(&str, Result<(), StoreError>)> = vec![
        ("create", store.create(&fresh).await),
        ("save", store.save(&next, kept.version).await),
        (
            "renew",
            store.renew(&kept.key, kept.version, &renewed).await,
        ),
        ("delete", store.delete(&kept.key).await),
        (
            "delete_for_user",
            store
                .delete_for_user(&session_core::UserId::new("u"))
                .await
                .map(|_| ()),
        ),
        ("purge", store.purge_expired(now()).await.map(|_| ())),
    ];
    for (what, res) in results {
        let err = res.expect_err(what);
        assert!(
            matches!(err, StoreError::ReadOnly { .. }),
            "{what}: {err:?}"
        );
        assert!(err.is_transient(), "{what}");
        eprintln!("read-only: {what} -> {} ({err})", kind(&err));
    }
    assert_eq!(
        store.load(&kept.key, now()).await.unwrap(),
        Some(kept.clone()),
        "nothing changed"
    );
    assert_eq!(store.load(&fresh.key, now()).await.unwrap(), None);
    assert!(store
        .list_for_user(&session_core::UserId::new("u"), now())
        .await
        .is_ok());

    set(false).await;
    let mut saved = store.save(&next, kept.version).await;
    if matches!(saved, Err(StoreError::Unavailable { .. })) {
        saved = store.save(&next, kept.version).await;
    }
    saved.expect("writes work again");
    store.create(&fresh).await.expect("create works again");

    drop(store);
    let _ = admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await;
}

/// A row lock held by another connection: `save` on that row waits for the lock until the
/// server's statement timeout cancels it, and fails with `Timeout` after about that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_row_lock_gives_timeout_after_the_statement_timeout() {
    let schema = TestSchema::new();
    let timeout = Duration::from_millis(400);
    let store = PostgresStore::connect(schema.config().statement_timeout(timeout))
        .await
        .expect("connect");
    let r = record();
    store.create(&r).await.unwrap();

    let mut locker = raw(&schema.url).await;
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        &format!(
            "SELECT 1 FROM {} WHERE key = $1 FOR UPDATE",
            schema.table("sessions")
        ),
        &[&&r.key.as_bytes()[..]],
    )
    .await
    .unwrap();

    let mut next = r.clone();
    next.version += 1;
    let started = Instant::now();
    let err = store.save(&next, r.version).await.expect_err("locked");
    let waited = started.elapsed();
    eprintln!(
        "statement timeout: save -> {} after {waited:?}: {err}",
        kind(&err)
    );
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
    assert!(error_chain(&err).contains("57014"), "{}", error_chain(&err));
    assert!(waited >= timeout * 9 / 10, "gave up too early: {waited:?}");
    assert!(
        waited < timeout + Duration::from_secs(2),
        "waited too long: {waited:?}"
    );
    assert_eq!(
        store.load(&r.key, now()).await.unwrap(),
        Some(r.clone()),
        "reads do not wait for the row lock"
    );

    tx.rollback().await.unwrap();
    store
        .save(&next, r.version)
        .await
        .expect("works once the lock is gone");
}

/// `pool_size(1)`: while the only connection is busy (a call waiting on a row lock), a second
/// call fails after about the pool timeout with `Timeout`, saying the pool is exhausted; the
/// first completes once the lock goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_gives_a_typed_transient_error_after_the_pool_timeout() {
    let schema = TestSchema::new();
    let pool_timeout = Duration::from_millis(300);
    let store = Arc::new(
        PostgresStore::connect(
            schema
                .config()
                .pool_size(1)
                .pool_timeout(pool_timeout)
                .statement_timeout(Duration::from_secs(10)),
        )
        .await
        .expect("connect"),
    );
    let r = record();
    store.create(&r).await.unwrap();

    let mut locker = raw(&schema.url).await;
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        &format!(
            "SELECT 1 FROM {} WHERE key = $1 FOR UPDATE",
            schema.table("sessions")
        ),
        &[&&r.key.as_bytes()[..]],
    )
    .await
    .unwrap();

    let mut next = r.clone();
    next.version += 1;
    let blocked = {
        let (store, next, version) = (store.clone(), next.clone(), r.version);
        tokio::spawn(async move { store.save(&next, version).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let err = store
        .load(&r.key, now())
        .await
        .expect_err("no free connection");
    let waited = started.elapsed();
    eprintln!(
        "pool exhausted: load -> {} after {waited:?}: {err} / {}",
        kind(&err),
        error_chain(&err)
    );
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(
        error_chain(&err).contains("connection pool exhausted"),
        "{}",
        error_chain(&err)
    );
    assert!(
        waited >= pool_timeout * 9 / 10,
        "gave up too early: {waited:?}"
    );
    assert!(
        waited < pool_timeout + Duration::from_secs(1),
        "waited too long: {waited:?}"
    );

    tx.rollback().await.unwrap();
    blocked.await.unwrap().expect("the blocked save completes");
    assert_eq!(store.load(&r.key, now()).await.unwrap(), Some(next));
}

/// Nothing listens on the port: `connect` fails at once with the transient `Unavailable`,
/// naming host and port but not the password.
#[tokio::test]
async fn a_server_down_at_connect_is_unavailable_and_names_the_host_without_the_password() {
    let port = free_port();
    let url = format!("postgres://postgres:Pa55w0rd-Secret@127.0.0.1:{port}/postgres");
    let started = Instant::now();
    let err = PostgresStore::connect(
        PostgresStoreConfig::new(&url)
            .schema(random_schema())
            .connect_timeout(Duration::from_secs(2)),
    )
    .await
    .expect_err("nothing listens there");
    let shown = error_chain(&err);
    eprintln!(
        "server down at connect: after {:?}: {shown}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            PostgresOpenError::Unavailable { .. } | PostgresOpenError::TimedOut { .. }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(!shown.contains("Pa55w0rd"), "{shown}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A server that accepts the TCP connection but never answers the startup message (a listener
/// that never reads): `connect` gives up after the connect timeout with the typed `TimedOut`.
#[tokio::test]
async fn a_silent_server_at_connect_times_out_after_the_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://postgres:Pa55w0rd-Secret@127.0.0.1:{port}/postgres");
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let err = PostgresStore::connect(
        PostgresStoreConfig::new(url)
            .schema(random_schema())
            .connect_timeout(timeout),
    )
    .await
    .expect_err("nothing answers there");
    let waited = started.elapsed();
    let shown = error_chain(&err);
    eprintln!("silent server at connect: after {waited:?}: {shown}");
    assert!(matches!(err, PostgresOpenError::TimedOut { .. }), "{err:?}");
    assert!(err.is_transient(), "{err:?}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(!shown.contains("Pa55w0rd"), "{shown}");
    assert!(waited >= timeout * 9 / 10, "{waited:?}");
    assert!(waited < timeout + Duration::from_secs(2), "{waited:?}");
    drop(silent);
}
