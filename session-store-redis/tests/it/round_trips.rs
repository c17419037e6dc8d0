//! How many commands each store call sends, counted with `INFO commandstats` on a private server
//! (no other client talks to it).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use session_core::testing::conformance::renewed;
use session_core::{
    store::{SessionId, SessionRecord},
    SessionStore, UnixTime, UserId,
};

use crate::common;
use crate::common::PrivateServer;

fn record_for(user: &UserId) -> SessionRecord {
    common::record_lasting(Some(user), UnixTime::now(), Duration::from_secs(600))
}

async fn reset(admin: &mut MultiplexedConnection) {
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(admin)
        .await
        .expect("CONFIG RESETSTAT");
}

/// Calls since the last reset, leaving out our own CONFIG/INFO calls.
async fn calls(admin: &mut MultiplexedConnection) -> Vec<(String, u64)> {
    let mut calls: Vec<_> = common::command_calls(admin)
        .await
        .into_iter()
        .filter(|(name, _)| !name.starts_with("config") && name != "info")
        .collect();
    calls.sort();
    calls
}

fn named(calls: &[(&str, u64)]) -> Vec<(String, u64)> {
    calls.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[tokio::test]
async fn load_is_one_hget_and_writes_nothing() {
    let server = PrivateServer::start();
    let store = common::connect(server_config(&server)).await;
    let mut admin = common::raw(&server.url()).await;
    let r = record_for(&UserId::new("u"));
    store.create(&r).await.expect("create");

    reset(&mut admin).await;
    assert!(store
        .load(&r.key, UnixTime::now())
        .await
        .expect("load")
        .is_some());
    assert_eq!(calls(&mut admin).await, named(&[("hget", 1)]));

    reset(&mut admin).await;
    let missing = SessionId::generate().key();
    assert!(store
        .load(&missing, UnixTime::now())
        .await
        .expect("load")
        .is_none());
    let expired_now = r.expires_at + Duration::from_secs(1);
    assert!(store
        .load(&r.key, expired_now)
        .await
        .expect("load")
        .is_none());
    assert_eq!(calls(&mut admin).await, named(&[("hget", 2)]));
}

#[tokio::test]
async fn every_write_is_one_script_call() {
    let server = PrivateServer::start();
    let store = common::connect(server_config(&server)).await;
    let mut admin = common::raw(&server.url()).await;
    let user = UserId::new("u");
    // The first call of each script loads it (EVALSHA, SCRIPT LOAD, EVALSHA); later ones don't.
    let warm = record_for(&user);
    store.create(&warm).await.expect("create");
    let mut warm2 = warm.clone();
    warm2.version = 2;
    store.save(&warm2, 1).await.expect("save");
    store.delete(&warm.key).await.expect("delete");
    store.delete_for_user(&user).await.expect("delete_for_user");

    let r = record_for(&user);
    let mut next = r.clone();
    next.version = 2;
    let ops = [
        ("create", 1),
        ("save", 1),
        ("delete", 1),
        ("delete_for_user", 1),
    ];
    for (op, expected) in ops {
        if op == "delete_for_user" {
            store.create(&r).await.expect("create");
        }
        reset(&mut admin).await;
        match op {
            "create" => store.create(&r).await.expect("create"),
            "save" => store.save(&next, 1).await.expect("save"),
            "delete" => store.delete(&r.key).await.expect("delete"),
            _ => assert_eq!(
                store.delete_for_user(&user).await.expect("delete_for_user"),
                1
            ),
        }
        let seen = calls(&mut admin).await;
        let client_calls: Vec<_> = seen
            .iter()
            .filter(|(name, _)| name.starts_with("eval") || name.starts_with("script"))
            .cloned()
            .collect();
        assert_eq!(
            client_calls,
            named(&[("evalsha", expected)]),
            "{op}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn list_for_user_is_one_zrange_and_one_pipeline() {
    let server = PrivateServer::start();
    let store = common::connect(server_config(&server)).await;
    let mut admin = common::raw(&server.url()).await;
    let user = UserId::new("u");
    for _ in 0..5 {
        store.create(&record_for(&user)).await.expect("create");
    }
    reset(&mut admin).await;
    assert_eq!(
        store
            .list_for_user(&user, UnixTime::now())
            .await
            .expect("list")
            .len(),
        5
    );
    assert_eq!(
        calls(&mut admin).await,
        named(&[("hget", 5), ("zrange", 1)])
    );
}

/// A renew is one script call when the old record's user index is the new record's (or it has
/// none); a renew that drops or changes the user takes a second call naming the old user's index.
#[tokio::test]
async fn renew_is_one_script_call_unless_the_user_changes() {
    let server = PrivateServer::start();
    let store = common::connect(server_config(&server)).await;
    let mut admin = common::raw(&server.url()).await;
    let user = UserId::new("u");
    let renewed = |old: &SessionRecord, user: Option<&UserId>| {
        let mut new = renewed(old);
        new.user_id = user.cloned();
        new
    };
    // Loads the script (EVALSHA, SCRIPT LOAD, EVALSHA) before counting.
    let warm = record_for(&user);
    store.create(&warm).await.expect("create");
    store
        .renew(&warm.key, 1, &renewed(&warm, Some(&user)))
        .await
        .expect("renew");

    let mut anonymous = record_for(&user);
    anonymous.user_id = None;
    let signed_in = record_for(&user);
    let leaving = record_for(&user);
    let cases = [
        ("same user", &signed_in, Some(&user), 1),
        ("login", &anonymous, Some(&user), 1),
        ("logout", &leaving, None, 2),
    ];
    for (case, old, new_user, expected) in cases {
        store.create(old).await.expect("create");
        reset(&mut admin).await;
        store
            .renew(&old.key, 1, &renewed(old, new_user))
            .await
            .expect("renew");
        let seen = calls(&mut admin).await;
        let client_calls: Vec<_> = seen
            .iter()
            .filter(|(name, _)| name.starts_with("eval") || name.starts_with("script"))
            .cloned()
            .collect();
        assert_eq!(
            client_calls,
            named(&[("evalsha", expected)]),
            "{case}: {seen:?}"
        );
    }
}

fn server_config(server: &PrivateServer) -> session_store_redis::RedisStoreConfig {
    session_store_redis::RedisStoreConfig::new(server.url()).key_prefix(common::random_prefix())
}
