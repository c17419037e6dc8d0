//! The server restarts under load: writers see only transient errors (which adapters answer
//! with 503) and no call hangs past its bound; the same store recovers by itself once the
//! server is back, and every write it acknowledged is there afterwards.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use session_core::store::{SessionKey, SessionRecord};
use session_core::SessionStore;
use session_store_postgres::{PostgresStore, PostgresStoreConfig};

use crate::common::{kind, now, record};
use crate::private_server::PrivateServer;

/// What the writers saw.
#[derive(Debug, Default)]
struct Seen {
    /// Per status ("Ok", "Unavailable", ...), per operation, how many.
    statuses: BTreeMap<String, u64>,
    /// For each created record: the last version a call acknowledged, and whether a later save
    /// failed (it may or may not have landed: its outcome is unknown).
    acked: HashMap<SessionKey, (SessionRecord, bool)>,
    /// When each Ok arrived.
    oks: Vec<Instant>,
    /// The slowest call.
    slowest: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_rides_out_a_server_restart_and_loses_no_acknowledged_write() {
    let server = tokio::task::spawn_blocking(PrivateServer::start)
        .await
        .expect("start the private server");
    let (pool_timeout, connect_timeout, statement_timeout) = (
        Duration::from_millis(500),
        Duration::from_millis(500),
        Duration::from_secs(1),
    );
    let bound = pool_timeout + connect_timeout + statement_timeout * 2 + Duration::from_secs(1);
    let config = PostgresStoreConfig::new(server.url())
        .schema("restart")
        .pool_size(4)
        .pool_timeout(pool_timeout)
        .connect_timeout(connect_timeout)
        .statement_timeout(statement_timeout)
        .background_purge(None);
    let store = Arc::new(PostgresStore::connect(config).await.expect("connect"));

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (store, seen, stop) = (store.clone(), seen.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let mut r = record();
                    let started = Instant::now();
                    let created = store.create(&r).await;
                    let took = started.elapsed();
                    let ok = created.is_ok();
                    {
                        let mut s = seen.lock().unwrap();
                        s.slowest = s.slowest.max(took);
                        let status = match &created {
                            Ok(()) => "Ok".to_owned(),
                            Err(e) => kind(e).to_owned(),
                        };
                        *s.statuses.entry(format!("create {status}")).or_default() += 1;
                        if ok {
                            s.oks.push(Instant::now());
                            s.acked.insert(r.key, (r.clone(), false));
                        }
                    }
                    if !ok {
                        // Its outcome is unknown; pause a little as a client would.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    let expected = r.version;
                    r.version += 1;
                    r.data.insert("n".into(), serde_json::json!(1));
                    let started = Instant::now();
                    let saved = store.save(&r, expected).await;
                    let took = started.elapsed();
                    let mut s = seen.lock().unwrap();
                    s.slowest = s.slowest.max(took);
                    let status = match &saved {
                        Ok(()) => "Ok".to_owned(),
                        Err(e) => kind(e).to_owned(),
                    };
                    *s.statuses.entry(format!("save {status}")).or_default() += 1;
                    match saved {
                        Ok(()) => {
                            s.oks.push(Instant::now());
                            s.acked.insert(r.key, (r.clone(), false));
                        }
                        Err(_) => {
                            if let Some(entry) = s.acked.get_mut(&r.key) {
                                entry.1 = true;
                            }
                        }
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(800)).await;
    let stopping = Instant::now();
    let srv = Arc::new(server);
    let s2 = srv.clone();
    tokio::task::spawn_blocking(move || s2.pg_ctl_stop("fast"))
        .await
        .unwrap();
    eprintln!("restart: server stopped (fast) in {:?}", stopping.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s2 = srv.clone();
    tokio::task::spawn_blocking(move || s2.pg_ctl_start())
        .await
        .unwrap();
    let back = Instant::now();
    eprintln!("restart: server back after {:?} down", back - stopping);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("writer task");
    }

    let seen = Arc::try_unwrap(seen).unwrap().into_inner().unwrap();
    let first_ok_after = seen.oks.iter().filter(|t| **t >= back).min().copied();
    eprintln!("restart: statuses seen: {:?}", seen.statuses);
    eprintln!("restart: slowest call {:?} (bound {bound:?})", seen.slowest);
    let recovery = first_ok_after.map(|t| t - back);
    eprintln!("restart: recovery time (server back -> first Ok): {recovery:?}");

    for status in seen.statuses.keys() {
        let kind = status.split(' ').nth(1).unwrap();
        assert!(
            matches!(kind, "Ok" | "Unavailable" | "Timeout"),
            "a non-transient status during the restart: {status} ({:?})",
            seen.statuses
        );
    }
    assert!(
        seen.statuses
            .keys()
            .any(|s| s.ends_with("Unavailable") || s.ends_with("Timeout")),
        "the writers noticed the server was down: {:?}",
        seen.statuses
    );
    assert!(
        seen.slowest <= bound + Duration::from_millis(500),
        "a call hung past its bound: {:?} > {bound:?}",
        seen.slowest
    );
    let recovery = recovery.expect("the same store recovered after the restart");
    assert!(
        recovery < Duration::from_secs(3),
        "slow recovery: {recovery:?}"
    );

    // Nothing acknowledged is lost: every create that returned Ok is there, with the last
    // acknowledged version (or the next one, if a later save's outcome was unknown).
    let mut checked = 0;
    for (key, (acked, unknown_after)) in &seen.acked {
        let stored = store
            .load(key, now())
            .await
            .expect("load after the restart")
            .unwrap_or_else(|| {
                panic!(
                    "an acknowledged record is missing (version {})",
                    acked.version
                )
            });
        if *unknown_after {
            assert!(
                stored.version == acked.version || stored.version == acked.version + 1,
                "version {} where {} was acknowledged",
                stored.version,
                acked.version
            );
        } else {
            assert_eq!(&stored, acked, "the acknowledged record as written");
        }
        checked += 1;
    }
    eprintln!("restart: {checked} acknowledged records all present afterwards");
    assert!(checked > 0);
}
