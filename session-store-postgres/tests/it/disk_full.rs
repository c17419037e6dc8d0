//! A full disk: the sessions table moved to a tablespace on a 2 MiB tmpfs (of a private server),
//! then filled. Writes fail with the transient `Full` (SQLSTATE 53100) and leave nothing behind;
//! reads go on working.
//!
//! Needs root (to mount the tmpfs), as the tests run here; without it the test fails saying so.

use std::time::Duration;

use session_core::store::StoreError;
use session_core::testing::{incompressible_text, SmallDisk};
use session_core::SessionStore;
use session_store_postgres::{PostgresStore, PostgresStoreConfig};

use crate::common::{error_chain, kind, now, raw, record};
use crate::private_server::PrivateServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_full_and_reads_go_on() {
    // Declared before the server, so dropped after it: the server stops before the unmount.
    let disk = SmallDisk::mount("2m");
    disk.give_to("postgres");
    let server = tokio::task::spawn_blocking(PrivateServer::start)
        .await
        .expect("start the private server");
    let store = PostgresStore::connect(
        PostgresStoreConfig::new(server.url())
            .schema("full")
            .background_purge(None),
    )
    .await
    .expect("connect");
    let admin = raw(&server.url()).await;
    admin
        .batch_execute(&format!(
            "CREATE TABLESPACE small LOCATION '{}'",
            disk.path().display()
        ))
        .await
        .expect("create the tablespace on the small disk");
    admin
        .batch_execute("ALTER TABLE \"full\".sessions SET TABLESPACE small")
        .await
        .expect("move the table to the small disk");

    let first = record();
    store.create(&first).await.expect("the first record fits");
    let payload = incompressible_text(100 * 1024);
    let mut failed = None;
    let mut stored = 1;
    for _ in 0..200 {
        let mut r = record();
        r.data.insert("payload".into(), serde_json::json!(payload));
        match store.create(&r).await {
            Ok(()) => stored += 1,
            Err(err) => {
                failed = Some((r, err));
                break;
            }
        }
    }
    let (lost, err) = failed.expect("the 2 MiB disk filled up");
    eprintln!(
        "disk full: after {stored} records, create -> {} ({})",
        kind(&err),
        error_chain(&err)
    );
    assert!(matches!(err, StoreError::Full { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(error_chain(&err).contains("53100"), "{}", error_chain(&err));
    assert_eq!(
        store.load(&first.key, now()).await.unwrap(),
        Some(first.clone()),
        "reads work"
    );
    assert_eq!(
        store.load(&lost.key, now()).await.unwrap(),
        None,
        "nothing half-written"
    );
    // Deleting frees space for small writes again.
    store.delete(&first.key).await.expect("delete works");

    drop(store);
    drop(admin);
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(server);
    drop(disk);
}
