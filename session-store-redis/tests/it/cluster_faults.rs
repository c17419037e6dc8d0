//! Redis Cluster faults on private clusters (feature `cluster`): a primary killed with a replica
//! to promote, and a slot left without any primary until its node returns. In both the store
//! answers with transient errors (503 in the adapters) while the slot has no primary, never
//! anything else, and recovers by itself, without being recreated.

use std::time::{Duration, Instant};

use session_core::{
    store::{SessionRecord, StoreError},
    SessionStore, UnixTime, UserId,
};
use session_store_redis::RedisStore;

use crate::cluster_common::{self, PrivateCluster};
use crate::common::{random_prefix, record_key, record_lasting};

/// What calls answered while the cluster healed.
#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    unavailable: usize,
    timeout: usize,
    other: Vec<String>,
}

impl Outcomes {
    fn note<T>(&mut self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(StoreError::Unavailable { .. }) => self.unavailable += 1,
            Err(StoreError::Timeout { .. }) => self.timeout += 1,
            Err(err) => self.other.push(format!("{err:?}")),
        }
    }
}

/// Loads `record` until a load succeeds, noting every outcome; how long it took.
async fn load_until_ok(
    store: &RedisStore,
    record: &SessionRecord,
    outcomes: &mut Outcomes,
    within: Duration,
) -> (Duration, Option<SessionRecord>) {
    let start = Instant::now();
    loop {
        let result = store.load(&record.key, UnixTime::now()).await;
        outcomes.note(&result);
        if let Ok(found) = result {
            return (start.elapsed(), found);
        }
        assert!(
            start.elapsed() < within,
            "no recovery within {within:?}: {outcomes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_is_replaced_by_its_replica_and_the_store_follows() {
    let mut cluster = PrivateCluster::start(3, 1);
    let prefix = random_prefix();
    let store = cluster_common::connect(&cluster.urls(), &prefix).await;
    let user = UserId::new("erin");
    let record = record_lasting(Some(&user), UnixTime::now(), Duration::from_secs(600));
    store.create(&record).await.unwrap();
    let primary = cluster.primary_of(&record_key(&prefix, &record.key));
    // Replication is asynchronous: give the replica the write before its primary dies.
    let mut conn = crate::common::raw(&format!("redis://127.0.0.1:{primary}")).await;
    // (The replica may still be in its first full sync after the cluster was made.)
    let synced_by = Instant::now() + Duration::from_secs(15);
    loop {
        let replicas: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(200)
            .query_async(&mut conn)
            .await
            .unwrap();
        if replicas == 1 {
            break;
        }
        assert!(
            Instant::now() < synced_by,
            "the replica never acknowledged the write"
        );
    }

    cluster.kill(primary);
    let killed = Instant::now();
    let mut outcomes = Outcomes::default();
    let (_, found) = load_until_ok(&store, &record, &mut outcomes, Duration::from_secs(30)).await;
    let recovered = killed.elapsed();
    eprintln!(
        "cluster failover: primary on {primary} killed; first successful load after {recovered:?}; \
         outcomes {outcomes:?}"
    );
    assert!(
        outcomes.other.is_empty(),
        "only transient errors: {outcomes:?}"
    );
    assert_eq!(found, Some(record.clone()), "the replica had the record");

    // Writes and lists work on the promoted replica, through the same store.
    let mut next = record.clone();
    next.version += 1;
    store.save(&next, record.version).await.unwrap();
    assert_eq!(
        store.list_for_user(&user, UnixTime::now()).await.unwrap(),
        vec![next]
    );
    assert_eq!(store.delete_for_user(&user).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_without_a_primary_is_unavailable_until_its_node_returns() {
    let mut cluster = PrivateCluster::start(3, 0);
    let prefix = random_prefix();
    let store = cluster_common::connect(&cluster.urls(), &prefix).await;
    let record = record_lasting(None, UnixTime::now(), Duration::from_secs(600));
    store.create(&record).await.unwrap();
    let primary = cluster.primary_of(&record_key(&prefix, &record.key));

    cluster.kill(primary);
    // Calls on the dead node's slots fail (and, once the others mark it failed, every call:
    // `cluster-require-full-coverage`), all of them transient, each within the deadline.
    let mut outcomes = Outcomes::default();
    let down_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < down_until {
        let started = Instant::now();
        let result = store.load(&record.key, UnixTime::now()).await;
        assert!(started.elapsed() < Duration::from_secs(3), "a call hung");
        outcomes.note(&result);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        outcomes.other.is_empty(),
        "only transient errors: {outcomes:?}"
    );
    assert!(
        outcomes.unavailable + outcomes.timeout > 0,
        "the dead slot answered: {outcomes:?}"
    );
    let during = format!("{outcomes:?}");

    cluster.restart(primary);
    let restarted = Instant::now();
    let mut outcomes = Outcomes::default();
    // Without persistence the node comes back empty: the session is gone (no session, never
    // an error), and new sessions in its slots work, on the same store.
    let (_, found) = load_until_ok(&store, &record, &mut outcomes, Duration::from_secs(30)).await;
    let recovered = restarted.elapsed();
    eprintln!(
        "cluster slot down: node {primary} killed: {during}; restarted: first successful load \
         after {recovered:?}, outcomes {outcomes:?}"
    );
    assert_eq!(found, None);
    assert!(
        outcomes.other.is_empty(),
        "only transient errors: {outcomes:?}"
    );
    let again = record_lasting(None, UnixTime::now(), Duration::from_secs(600));
    let mut created = Err(StoreError::NotFound);
    for _ in 0..50 {
        created = store.create(&again).await;
        if created.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    created.unwrap();
}
