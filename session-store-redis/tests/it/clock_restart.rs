//! R5 and the clock-jump cases of section 3.5: Redis's own expiry is an optimisation, the
//! caller's `now` is the security boundary. A record whose expiry has passed by the caller's
//! clock is no session even while Redis still holds its key, and records that survive a
//! restart (AOF persistence) are judged by the caller's clock, not by what the server kept.

use std::time::Duration;

use session_core::{store::SessionRecord, SessionStore, UnixTime, UserId};
use session_store_redis::{RedisStore, RedisStoreConfig};

use crate::common;
use crate::common::PrivateServer;

const SHORT: Duration = Duration::from_secs(600);
const LONG: Duration = Duration::from_secs(3 * 24 * 3600);

async fn store(url: String, prefix: &str) -> RedisStore {
    common::connect(
        RedisStoreConfig::new(url)
            .key_prefix(prefix.to_owned())
            .response_timeout(Duration::from_secs(2))
            .connection_timeout(Duration::from_secs(2)),
    )
    .await
}

async fn exists(url: &str, prefix: &str, record: &SessionRecord) -> bool {
    let mut raw = common::raw(url).await;
    common::exists(&mut raw, &common::record_key(prefix, &record.key)).await
}

/// Loads `record` at `now`, retrying while a restarted server is still loading its AOF.
async fn load_at(
    store: &RedisStore,
    record: &SessionRecord,
    now: UnixTime,
) -> Option<SessionRecord> {
    let mut tries = 0;
    loop {
        match store.load(&record.key, now).await {
            Ok(found) => return found,
            Err(err) if err.is_transient() && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("load: {}", common::chain(&err)),
        }
    }
}

/// Asserts what a load at each of the caller's clocks gives: the short record lives until
/// `now + SHORT`, the long one until `now + LONG`, whatever Redis holds.
async fn assert_judged_by_the_callers_clock(
    store: &RedisStore,
    url: &str,
    prefix: &str,
    now: UnixTime,
    short: &SessionRecord,
    long: &SessionRecord,
    when: &str,
) {
    let loaded = load_at(store, short, now).await;
    let loaded = loaded.unwrap_or_else(|| panic!("{when}: the short record at now"));
    assert_eq!(loaded.data, short.data, "{when}");
    assert_eq!(loaded.expires_at, short.expires_at, "{when}");
    assert!(
        load_at(store, long, now).await.is_some(),
        "{when}: long at now"
    );

    // The caller's clock is past the short record's expiry; the server's is not, and it still
    // holds the key: the record is no session.
    let later = now + SHORT + Duration::from_secs(1);
    assert!(
        exists(url, prefix, short).await,
        "{when}: Redis still holds the short record's key"
    );
    assert_eq!(
        load_at(store, short, later).await,
        None,
        "{when}: the short record at now + SHORT + 1 s"
    );
    assert!(
        load_at(store, long, later).await.is_some(),
        "{when}: the long record at now + SHORT + 1 s"
    );
    let user = long.user_id.clone().expect("the long record has a user");
    let listed = store.list_for_user(&user, later).await.expect("list");
    assert_eq!(
        listed.len(),
        1,
        "{when}: only the long record is listed at now + SHORT + 1 s"
    );

    // Far ahead (a clock jumped by more than the longest lifetime): nothing is valid.
    let far = now + LONG + Duration::from_secs(1);
    assert_eq!(load_at(store, long, far).await, None, "{when}: long at far");
    assert_eq!(
        load_at(store, short, far).await,
        None,
        "{when}: short at far"
    );
    assert!(
        store
            .list_for_user(&user, far)
            .await
            .expect("list")
            .is_empty(),
        "{when}: nothing listed at now + LONG + 1 s"
    );

    // A clock that went back a day revives nothing that was deleted, and reports no more
    // than a lifetime left (the record's own expiry, unchanged).
    let back = UnixTime::from_secs(now.as_secs() - 24 * 3600);
    let loaded = load_at(store, short, back).await.expect("short at back");
    assert_eq!(loaded.expires_at, short.expires_at, "{when}: back a day");
}

#[tokio::test]
async fn r5_after_a_persistent_restart_the_callers_clock_governs_expiry() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let dir_arg = dir.path().to_str().expect("a UTF-8 temp path").to_owned();
    let mut server = PrivateServer::start_with(&[
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir_arg,
    ]);
    let url = server.url();
    let prefix = common::random_prefix();
    let now = UnixTime::now();
    let user = UserId::new("r5");
    let short = common::record_lasting(Some(&user), now, SHORT);
    let long = common::record_lasting(Some(&user), now, LONG);
    let gone = common::record_lasting(Some(&user), now, LONG);

    let first = store(url.clone(), &prefix).await;
    for r in [&short, &long, &gone] {
        first.create(r).await.expect("create");
    }
    first.delete(&gone.key).await.expect("delete");
    assert_judged_by_the_callers_clock(&first, &url, &prefix, now, &short, &long, "before").await;
    drop(first);

    server.restart();
    let second = store(url.clone(), &prefix).await;
    assert!(
        exists(&url, &prefix, &short).await && exists(&url, &prefix, &long).await,
        "the records survive the restart (AOF)"
    );
    assert_eq!(
        load_at(&second, &gone, now).await,
        None,
        "a deleted record stays deleted after the restart"
    );
    assert_judged_by_the_callers_clock(&second, &url, &prefix, now, &short, &long, "after").await;
}
