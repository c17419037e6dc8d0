//! Contention on one record, beyond the conformance suite's races: many writers at one
//! version, many renews of one record.

use std::sync::Arc;

use session_core::store::StoreError;
use session_core::SessionStore;

use crate::common::{kind, now, record, TestSchema};

/// 64 saves of the same record at the same version (S-32): exactly one `Ok`, 63 `Conflict`, and
/// the stored record is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_at_one_version_have_exactly_one_winner() {
    let schema = TestSchema::new();
    let store = Arc::new(schema.store().await);
    for _round in 0..5 {
        let r = record();
        store.create(&r).await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let store = store.clone();
                let mut next = r.clone();
                next.version += 1;
                next.data.insert("writer".into(), serde_json::json!(n));
                tokio::spawn(async move { (next.clone(), store.save(&next, 1).await) })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (next, Ok(())) => winners.push(next),
                (_, Err(StoreError::Conflict)) => {}
                (_, Err(other)) => panic!("unexpected {} {other:?}", kind(&other)),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one save wins");
        assert_eq!(
            store.load(&r.key, now()).await.unwrap(),
            Some(winners.remove(0))
        );
    }
}

/// 8 renews of one record to 8 new keys: exactly one wins; the others find the old key gone
/// (`NotFound`); only the winner's key holds the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_renews_of_one_record_have_exactly_one_winner() {
    let schema = TestSchema::new();
    let store = Arc::new(schema.store().await);
    for _round in 0..5 {
        let old = record();
        store.create(&old).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let mut new = old.clone();
                new.key = record().key;
                new.version += 1;
                let old_key = old.key;
                tokio::spawn(async move { (new.clone(), store.renew(&old_key, 1, &new).await) })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (new, Ok(())) => winners.push(new),
                (new, Err(StoreError::NotFound | StoreError::Conflict)) => losers.push(new),
                (_, Err(other)) => panic!("unexpected {} {other:?}", kind(&other)),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one renew wins");
        assert_eq!(store.load(&old.key, now()).await.unwrap(), None);
        assert_eq!(
            store.load(&winners[0].key, now()).await.unwrap(),
            Some(winners[0].clone())
        );
        for loser in losers {
            assert_eq!(store.load(&loser.key, now()).await.unwrap(), None);
        }
    }
}
