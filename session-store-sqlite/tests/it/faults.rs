//! Engine faults: a read-only database (Q1), a full database and a full disk (Q2), lock
//! contention (Q3), several writers on one file (Q4), and an executor that stays free while
//! SQLite waits (Q5).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{integrity_check, now, open, raw, record, temp_db};
use serde_json::json;
use session_core::testing::{incompressible_text, SmallDisk};
use session_core::{
    store::{SessionRecord, StoreError},
    SessionStore, UserId,
};
use session_store_sqlite::{SqliteStore, SqliteStoreConfig};

fn assert_kind(res: Result<impl std::fmt::Debug, StoreError>, kind: &str) {
    let err = res.expect_err("the call must fail");
    let ok = match kind {
        "ReadOnly" => matches!(err, StoreError::ReadOnly { .. }),
        "Full" => matches!(err, StoreError::Full { .. }),
        "Timeout" => matches!(err, StoreError::Timeout { .. }),
        _ => unreachable!(),
    };
    assert!(ok, "expected {kind}, got {err:?}");
    assert!(err.is_transient(), "{kind} is transient (503)");
}

/// Q1. Tests run as root, where `chmod` does not stop writes, so the file is opened with
/// `SQLITE_OPEN_READONLY` instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_refuses_writes_serves_reads_and_loses_nothing() {
    let (_dir, path) = temp_db();
    let user = UserId::new("dana");
    let mut stored = Vec::new();
    {
        let store = open(&path);
        for _ in 0..3 {
            let mut r = record();
            r.user_id = Some(user.clone());
            store.create(&r).await.unwrap();
            stored.push(r);
        }
    }

    let ro = SqliteStore::open(SqliteStoreConfig::new(&path).read_only(true)).unwrap();
    let first = &stored[0];
    let mut next = first.clone();
    next.version = 2;
    assert_kind(ro.create(&record()).await, "ReadOnly");
    assert_kind(ro.save(&next, 1).await, "ReadOnly");
    assert_kind(ro.delete(&first.key).await, "ReadOnly");
    assert_kind(ro.delete_for_user(&user).await, "ReadOnly");
    assert_kind(ro.purge_expired(now()).await, "ReadOnly");
    for r in &stored {
        assert_eq!(ro.load(&r.key, now()).await.unwrap().as_ref(), Some(r));
    }
    assert_eq!(ro.list_for_user(&user, now()).await.unwrap().len(), 3);
    drop(ro);

    // Back to read-write ("permissions return"): everything is there and writes work again.
    let rw = open(&path);
    for r in &stored {
        assert_eq!(rw.load(&r.key, now()).await.unwrap().as_ref(), Some(r));
    }
    rw.save(&next, 1).await.unwrap();
    rw.create(&record()).await.unwrap();
    assert_eq!(integrity_check(&path), "ok");
}

/// Q2, with `PRAGMA max_page_count` standing in for a full disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_is_full_and_keeps_existing_rows() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(SqliteStoreConfig::new(&path).max_page_count(40)).unwrap();
    let big = |r: &mut SessionRecord| {
        r.data.insert("blob".into(), json!("x".repeat(16 * 1024)));
    };
    let mut kept = Vec::new();
    let err = loop {
        let mut r = record();
        big(&mut r);
        match store.create(&r).await {
            Ok(()) => kept.push(r),
            Err(err) => break err,
        }
        assert!(kept.len() < 100, "the page limit never hit");
    };
    assert!(matches!(err, StoreError::Full { .. }), "got {err:?}");
    assert!(err.is_transient());
    assert!(!kept.is_empty());

    // A save that grows a record fails the same way and leaves the old version.
    let mut grown = kept[0].clone();
    grown.version = 2;
    grown
        .data
        .insert("more".into(), json!("y".repeat(64 * 1024)));
    assert_kind(store.save(&grown, 1).await, "Full");

    for r in &kept {
        assert_eq!(store.load(&r.key, now()).await.unwrap().as_ref(), Some(r));
    }
    // Deleting frees space for new sessions.
    store.delete(&kept[0].key).await.unwrap();
    let mut r = record();
    big(&mut r);
    store.create(&r).await.unwrap();
    drop(store);
    assert_eq!(integrity_check(&path), "ok");
}

/// Q2 on a real full disk: a running store on a 2 MiB tmpfs of its own (needs root to mount
/// it). The write that does not fit is `Full` (503) and leaves nothing half-written; reads go
/// on; once there is space again the same store writes again, and every acknowledged write is
/// in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_a_running_store_is_full_and_recovers_when_space_returns() {
    let disk = SmallDisk::mount("2m");
    let path = disk.path().join("sessions.db");
    let store = SqliteStore::open(SqliteStoreConfig::new(&path).background_purge(None)).unwrap();
    let mut kept = Vec::new();
    let (lost, err) = loop {
        let mut r = record();
        r.data
            .insert("blob".into(), json!(incompressible_text(32 * 1024)));
        match store.create(&r).await {
            Ok(()) => kept.push(r),
            Err(err) => break (r, err),
        }
        assert!(kept.len() < 200, "the 2 MiB disk never filled");
    };
    eprintln!("disk full after {} records: {err:?}", kept.len());
    assert!(matches!(err, StoreError::Full { .. }), "got {err:?}");
    assert!(err.is_transient());
    assert!(!kept.is_empty());
    assert_eq!(
        store.load(&lost.key, now()).await.unwrap(),
        None,
        "nothing half-written"
    );
    assert_eq!(
        store.load(&kept[0].key, now()).await.unwrap().as_ref(),
        Some(&kept[0]),
        "reads go on"
    );

    disk.resize("64m");
    store
        .create(&lost)
        .await
        .expect("writes work again once there is space");
    kept.push(lost);
    drop(store);
    assert_eq!(integrity_check(&path), "ok");
    let reopened = open(&path);
    for r in &kept {
        assert_eq!(
            reopened.load(&r.key, now()).await.unwrap().as_ref(),
            Some(r)
        );
    }
    drop(reopened);
    drop(disk);
}

/// Q3: another connection holds the write lock; writes wait the busy timeout, then `Timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_gives_timeout_after_the_busy_timeout_then_recovers() {
    let (_dir, path) = temp_db();
    let timeout = Duration::from_millis(300);
    let store = SqliteStore::open(SqliteStoreConfig::new(&path).busy_timeout(timeout)).unwrap();
    let existing = record();
    store.create(&existing).await.unwrap();

    let locker = raw(&path);
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    assert_kind(store.create(&record()).await, "Timeout");
    let waited = started.elapsed();
    assert!(waited >= timeout / 2, "gave up too early: {waited:?}");
    assert!(
        waited < timeout * 10,
        "waited far past the timeout: {waited:?}"
    );
    let mut next = existing.clone();
    next.version = 2;
    assert_kind(store.save(&next, 1).await, "Timeout");
    // In WAL mode readers are not blocked by the writer's lock.
    assert!(store.load(&existing.key, now()).await.unwrap().is_some());

    locker.execute_batch("COMMIT").unwrap();
    store.save(&next, 1).await.unwrap();
    store.create(&record()).await.unwrap();
}

/// Q4 across connections: two stores (as two processes would) race to save one version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_have_one_winner_per_version() {
    let (_dir, path) = temp_db();
    let a: Arc<dyn SessionStore> = Arc::new(open(&path));
    let b: Arc<dyn SessionStore> = Arc::new(open(&path));
    let base = record();
    a.create(&base).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..32 {
        let store = if writer % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let mut next = base.clone();
        next.version = 2;
        next.data.insert("writer".into(), json!(writer));
        tasks.push(tokio::spawn(
            async move { (writer, store.save(&next, 1).await) },
        ));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (w, Ok(())) => winners.push(w),
            (_, Err(StoreError::Conflict)) => {}
            (_, Err(other)) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let stored = b.load(&base.key, now()).await.unwrap().unwrap();
    assert_eq!(stored.data["writer"], json!(winners[0]));
}

/// Q5, on a single-threaded runtime: while a store call waits two seconds on a lock, another task
/// still runs (it finishes first), so SQLite never blocks the executor thread.
#[tokio::test(flavor = "current_thread")]
async fn waiting_on_a_lock_does_not_block_the_executor() {
    let (_dir, path) = temp_db();
    let config = SqliteStoreConfig::new(&path).busy_timeout(Duration::from_secs(2));
    let store = Arc::new(SqliteStore::open(config).unwrap());
    let locker = raw(&path);
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let order = Arc::new(Mutex::new(Vec::new()));
    let write = tokio::spawn({
        let (store, order) = (store.clone(), order.clone());
        async move {
            let res = store.create(&record()).await;
            order.lock().unwrap().push("store");
            res
        }
    });
    let health = tokio::spawn({
        let order = order.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            order.lock().unwrap().push("health");
        }
    });
    health.await.unwrap();
    assert_kind(write.await.unwrap(), "Timeout");
    assert_eq!(*order.lock().unwrap(), ["health", "store"]);
    drop(locker);
}
