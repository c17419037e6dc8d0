//! The session store on a Redis Cluster (feature `cluster`): the conformance suite and the
//! token-store suites on the shared 3-primary cluster `cargo xtask test` starts, and the cluster
//! layout's own promises (keys spread over the nodes; an extra index entry, the only thing a
//! failure between two steps can leave, is harmless).

use std::collections::HashSet;
use std::time::Duration;

use session_core::{store::StoreError, SessionStore, UnixTime, UserId};

use crate::cluster_common::{self, ClusterGuard, PrivateCluster};
use crate::common::record_lasting;

mod conformance {
    use session_core::testing::Fixture;

    use crate::cluster_common::{self, ClusterRaw};

    session_core::store_conformance!(
        || async {
            let (store, guard) = cluster_common::shared_store().await;
            Fixture::new(store)
                .raw_access(ClusterRaw::of(&guard))
                .keep(guard)
        },
        raw_access
    );
}

#[cfg(feature = "auth")]
mod token_conformance {
    use session_auth::testing::TokenFixture;
    use session_store_redis::RedisTokenStore;

    use crate::cluster_common;

    session_auth::token_store_conformance!(|| async {
        let (store, guard) = cluster_common::shared_store().await;
        TokenFixture::new(RedisTokenStore::from_store(&store)).keep(guard)
    });
}

#[cfg(feature = "auth")]
mod api_token_conformance {
    use session_auth::testing::ApiTokenFixture;
    use session_store_redis::RedisApiTokenStore;

    use crate::cluster_common;

    session_auth::api_token_store_conformance!(|| async {
        let (store, guard) = cluster_common::shared_store().await;
        ApiTokenFixture::new(RedisApiTokenStore::from_store(&store)).keep(guard)
    });
}

fn now() -> UnixTime {
    UnixTime::now()
}

/// One user's sessions land on every primary (their keys are in many slots), and the user's
/// index still finds and ends all of them.
#[tokio::test]
async fn one_users_sessions_spread_over_the_primaries_and_are_all_found() {
    let (store, guard) = cluster_common::shared_store().await;
    let user = UserId::new("spread");
    let mut keys = HashSet::new();
    for _ in 0..30 {
        let r = record_lasting(Some(&user), now(), Duration::from_secs(600));
        store.create(&r).await.unwrap();
        keys.insert(r.key);
    }
    let nodes: HashSet<String> = guard
        .keys()
        .into_iter()
        .filter(|(_, key)| key.starts_with(&format!("{}s:", guard.prefix)))
        .map(|(node, _)| node)
        .collect();
    assert_eq!(nodes.len(), guard.nodes.len(), "records on every primary");
    let listed = store.list_for_user(&user, now()).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.key).collect::<HashSet<_>>(), keys);
    assert_eq!(store.delete_for_user(&user).await.unwrap(), 30);
    assert!(store.list_for_user(&user, now()).await.unwrap().is_empty());
    for key in &keys {
        assert_eq!(store.load(key, now()).await.unwrap(), None);
    }
}

/// What a failure between two steps leaves: an index entry whose record never came (a
/// sign-in cut off after its entry) or belongs to another user. Lists skip it, "log out
/// everywhere" neither counts nor deletes through it, and it goes at its score.
#[tokio::test]
async fn an_extra_index_entry_is_harmless() {
    let (store, guard) = cluster_common::shared_store().await;
    let (alice, bob) = (UserId::new("alice"), UserId::new("bob"));
    let mine = record_lasting(Some(&alice), now(), Duration::from_secs(600));
    let bobs = record_lasting(Some(&bob), now(), Duration::from_secs(600));
    store.create(&mine).await.unwrap();
    store.create(&bobs).await.unwrap();
    let never_written = record_lasting(Some(&alice), now(), Duration::from_secs(600));

    let client = redis::cluster::ClusterClient::new(guard.nodes.clone()).unwrap();
    let mut raw = client.get_async_connection().await.unwrap();
    let index = format!("{}u:alice", guard.prefix);
    let in_an_hour = now().as_secs() + 3600;
    for extra in [never_written.key.to_hex(), bobs.key.to_hex()] {
        let _: i64 = redis::cmd("ZADD")
            .arg(&index)
            .arg(in_an_hour)
            .arg(extra)
            .query_async(&mut raw)
            .await
            .unwrap();
    }

    let listed = store.list_for_user(&alice, now()).await.unwrap();
    assert_eq!(listed, vec![mine.clone()]);
    assert_eq!(store.delete_for_user(&alice).await.unwrap(), 1);
    assert!(
        store.load(&bobs.key, now()).await.unwrap().is_some(),
        "bob's session stays"
    );
    assert_eq!(store.list_for_user(&bob, now()).await.unwrap(), vec![bobs]);
}

/// A renew that loses its race (the old record changed after the new one was written) takes
/// the new record away again: no orphan is left behind, the old record is untouched.
#[tokio::test]
async fn a_renew_that_loses_its_race_leaves_no_new_record() {
    let (store, _guard) = cluster_common::shared_store().await;
    let user = UserId::new("carol");
    let old = record_lasting(Some(&user), now(), Duration::from_secs(600));
    store.create(&old).await.unwrap();
    let mut saved = old.clone();
    saved.version = old.version + 1;
    store.save(&saved, old.version).await.unwrap();

    let mut renewed = record_lasting(Some(&user), now(), Duration::from_secs(600));
    renewed.version = old.version + 1;
    let lost = store.renew(&old.key, old.version, &renewed).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(store.load(&renewed.key, now()).await.unwrap(), None);
    assert_eq!(
        store.load(&old.key, now()).await.unwrap(),
        Some(saved.clone())
    );
    assert_eq!(
        store.list_for_user(&user, now()).await.unwrap(),
        vec![saved]
    );
}

/// A signed-in save that only slides the expiry is one call: the index entry, written with an
/// hour of headroom, needs no update. (Counted on the nodes: `EVALSHA` calls.)
#[tokio::test]
async fn a_sliding_save_of_a_signed_in_session_is_one_call() {
    // A private cluster: the shared one counts every other test's calls too.
    let cluster = PrivateCluster::start(3, 0);
    let guard = ClusterGuard {
        nodes: cluster.urls(),
        prefix: crate::common::random_prefix(),
    };
    let store = cluster_common::connect(&guard.nodes, &guard.prefix).await;
    let user = UserId::new("dora");
    let mut record = record_lasting(Some(&user), now(), Duration::from_secs(600));
    store.create(&record).await.unwrap();
    // One save first, so every node has the script (a first call is answered NOSCRIPT, then
    // loads it).
    let mut next = record.clone();
    next.version += 1;
    store.save(&next, record.version).await.unwrap();
    record = next;
    let before = evalsha_calls(&guard).await;
    for _ in 0..5 {
        let mut next = record.clone();
        next.version += 1;
        next.expires_at = record.expires_at + Duration::from_secs(60);
        store.save(&next, record.version).await.unwrap();
        record = next;
    }
    assert_eq!(evalsha_calls(&guard).await - before, 5);
    assert_eq!(
        store.list_for_user(&user, now()).await.unwrap(),
        vec![record]
    );
}

async fn evalsha_calls(guard: &ClusterGuard) -> u64 {
    let mut total = 0;
    for node in &guard.nodes {
        let mut conn = crate::common::raw(node).await;
        total += crate::common::command_calls(&mut conn)
            .await
            .into_iter()
            .filter(|(name, _)| name == "evalsha")
            .map(|(_, calls)| calls)
            .sum::<u64>();
    }
    total
}
