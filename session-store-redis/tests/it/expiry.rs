//! Redis expires records and user indexes at the records' own expiry.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use session_core::{store::SessionRecord, SessionStore, UnixTime, UserId};

use crate::common;

fn record_for(user: &UserId, now: UnixTime, lifetime: Duration) -> SessionRecord {
    common::record_lasting(Some(user), now, lifetime)
}

#[tokio::test]
async fn keys_expire_at_the_record_expiry() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let now = UnixTime::now();
    let user = UserId::new("expiring");
    let r = record_for(&user, now, Duration::from_secs(2));
    store.create(&r).await.expect("create");

    let record_key = format!("{}s:{}", guard.prefix, r.key.to_hex());
    let index_key = format!("{}u:expiring", guard.prefix);
    let expiry = i64::try_from(r.expires_at.as_secs()).expect("fits");
    assert_eq!(common::expire_time(&mut raw, &record_key).await, expiry);
    assert_eq!(common::expire_time(&mut raw, &index_key).await, expiry);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&record_key)
        .query_async(&mut raw)
        .await
        .expect("PTTL");
    assert!((1..=2000).contains(&pttl), "PTTL {pttl}");

    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(
        !common::exists(&mut raw, &record_key).await,
        "record still in Redis"
    );
    assert!(
        !common::exists(&mut raw, &index_key).await,
        "user index still in Redis"
    );
    assert_eq!(
        store.load(&r.key, UnixTime::now()).await.expect("load"),
        None
    );
}

#[tokio::test]
async fn the_absolute_cap_and_saves_set_the_expiry() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let now = UnixTime::now();
    let mut r = common::record_lasting(None, now, Duration::from_secs(3600));
    r.absolute_expires_at = Some(now + Duration::from_secs(60));
    store.create(&r).await.expect("create");
    let record_key = format!("{}s:{}", guard.prefix, r.key.to_hex());
    let at = |secs: u64| i64::try_from((now + Duration::from_secs(secs)).as_secs()).expect("fits");
    assert_eq!(common::expire_time(&mut raw, &record_key).await, at(60));

    let mut next = r.clone();
    next.version = 2;
    next.absolute_expires_at = None;
    next.expires_at = now + Duration::from_secs(7200);
    store.save(&next, 1).await.expect("save");
    assert_eq!(common::expire_time(&mut raw, &record_key).await, at(7200));
}

#[tokio::test]
async fn a_user_index_lasts_as_long_as_its_longest_record() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let now = UnixTime::now();
    let user = UserId::new("many");
    let index_key = format!("{}u:many", guard.prefix);
    let at = |secs: u64| i64::try_from((now + Duration::from_secs(secs)).as_secs()).expect("fits");

    let long = record_for(&user, now, Duration::from_secs(1000));
    store
        .create(&record_for(&user, now, Duration::from_secs(100)))
        .await
        .expect("create");
    assert_eq!(common::expire_time(&mut raw, &index_key).await, at(100));
    store.create(&long).await.expect("create");
    assert_eq!(common::expire_time(&mut raw, &index_key).await, at(1000));
    store
        .create(&record_for(&user, now, Duration::from_secs(50)))
        .await
        .expect("create");
    assert_eq!(
        common::expire_time(&mut raw, &index_key).await,
        at(1000),
        "never shortened"
    );

    // A record that is already expired when written vanishes at once and leaves the index of
    // the user's live sessions intact.
    let mut dead = record_for(&user, now, Duration::ZERO);
    dead.expires_at = now.saturating_sub(Duration::from_secs(10));
    store
        .create(&dead)
        .await
        .expect("create of an expired record");
    let dead_key = format!("{}s:{}", guard.prefix, dead.key.to_hex());
    assert!(!common::exists(&mut raw, &dead_key).await);
    assert_eq!(common::expire_time(&mut raw, &index_key).await, at(1000));
    assert_eq!(
        store.list_for_user(&user, now).await.expect("list").len(),
        3
    );

    // A save that moves the longest record's expiry later lengthens the index with it; one that
    // moves it earlier never shortens it below a live record's.
    let mut later = long.clone();
    later.version = 2;
    later.expires_at = now + Duration::from_secs(2000);
    store.save(&later, 1).await.expect("save");
    assert_eq!(common::expire_time(&mut raw, &index_key).await, at(2000));
    let mut earlier = later.clone();
    earlier.version = 3;
    earlier.expires_at = now + Duration::from_secs(500);
    store.save(&earlier, 2).await.expect("save");
    assert_eq!(common::expire_time(&mut raw, &index_key).await, at(2000));
}

#[tokio::test]
async fn absurd_expiries_are_clamped_not_rejected() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let now = UnixTime::now();
    let mut r = common::record_lasting(None, now, Duration::ZERO);
    r.expires_at = UnixTime::from_secs(u64::MAX);
    store.create(&r).await.expect("create");
    let record_key = format!("{}s:{}", guard.prefix, r.key.to_hex());
    assert!(common::expire_time(&mut raw, &record_key).await > 0);
    assert_eq!(store.load(&r.key, now).await.expect("load"), Some(r));
}

/// Entries in a user index (0 when it does not exist).
async fn index_len(conn: &mut MultiplexedConnection, key: &str) -> u64 {
    let kind: String = redis::cmd("TYPE")
        .arg(key)
        .query_async(conn)
        .await
        .expect("TYPE");
    match kind.as_str() {
        "none" => return 0,
        "zset" => {}
        other => panic!("a user index of type {other}"),
    }
    redis::cmd("ZCARD")
        .arg(key)
        .query_async(conn)
        .await
        .expect("cardinality")
}

/// Redis' own clock, in whole seconds.
async fn engine_secs(conn: &mut MultiplexedConnection) -> u64 {
    let (secs, _micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await.expect("TIME");
    secs
}

/// A user who keeps signing in while older sessions die by TTL, and who never lists or logs out
/// everywhere: the index must not keep the dead sessions' entries (they used to stay until a
/// `list_for_user` or `delete_for_user`, i.e. forever for most users).
#[tokio::test]
async fn a_busy_users_index_holds_only_live_sessions() {
    let (store, guard) = common::shared_store().await;
    let mut raw = common::raw(&guard.url).await;
    let user = UserId::new("busy");
    let index_key = format!("{}u:busy", guard.prefix);
    let now = UnixTime::now();

    // One long session keeps the index alive all along, as any active user's does.
    let mut long = record_for(&user, now, Duration::from_secs(3600));
    store.create(&long).await.expect("create");
    // Sessions that end by TTL: some within about a second, some already over by the engine's
    // clock when written (a slow request, a client clock ahead of Redis').
    let short: Vec<SessionRecord> = (0..20)
        .map(|_| record_for(&user, now, Duration::from_secs(1)))
        .collect();
    for r in &short {
        store.create(r).await.expect("create");
    }
    for _ in 0..20 {
        let mut dead = record_for(&user, now, Duration::ZERO);
        dead.expires_at = now.saturating_sub(Duration::from_secs(10));
        store.create(&dead).await.expect("create");
    }

    // Until Redis' clock is past the short sessions' expiry (at most about two seconds).
    let short_expiry = now.as_secs() + 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    while engine_secs(&mut raw).await <= short_expiry {
        assert!(
            std::time::Instant::now() < deadline,
            "Redis' clock stands still"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The user carries on: new sessions and saves, never a list or a delete.
    let mut live = vec![long.clone()];
    for round in 0..5 {
        let fresh = record_for(&user, UnixTime::now(), Duration::from_secs(3600));
        store.create(&fresh).await.expect("create");
        live.push(fresh);
        let mut next = long.clone();
        next.version += 1;
        store.save(&next, long.version).await.expect("save");
        long = next;
        let len = index_len(&mut raw, &index_key).await;
        assert!(
            len <= live.len() as u64,
            "round {round}: the index holds {len} entries for {} live sessions",
            live.len()
        );
    }

    // Nothing live was dropped, and the index lasts exactly as long as its latest session.
    let listed = store
        .list_for_user(&user, UnixTime::now())
        .await
        .expect("list");
    assert_eq!(listed.len(), live.len());
    let latest = live
        .iter()
        .map(|r| r.expires_at.as_secs())
        .max()
        .expect("live sessions");
    assert_eq!(
        common::expire_time(&mut raw, &index_key).await,
        i64::try_from(latest).expect("fits")
    );
}
