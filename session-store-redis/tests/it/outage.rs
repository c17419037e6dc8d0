//! Server faults on private `redis-server` processes: down at startup (R1), gone and back (R2,
//! R4), hanging (R3), out of memory (R6), read-only (R7), wrong credentials (R11).

use std::time::{Duration, Instant};

use session_core::{
    store::{SessionId, SessionRecord, StoreError},
    SessionStore, UnixTime, UserId,
};
use session_store_redis::{RedisStore, RedisStoreConfig};

use crate::common;
use crate::common::PrivateServer;

fn record() -> SessionRecord {
    common::record_lasting(
        Some(&UserId::new("outage")),
        UnixTime::now(),
        Duration::from_secs(600),
    )
}

fn fast_config(url: String) -> RedisStoreConfig {
    RedisStoreConfig::new(url)
        .key_prefix(common::random_prefix())
        .response_timeout(Duration::from_millis(500))
        .connection_timeout(Duration::from_millis(500))
}

async fn command(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd.query_async(conn).await.expect("admin command");
}

fn assert_transient(err: &StoreError, what: &str) {
    assert!(
        matches!(
            err,
            StoreError::Unavailable { .. } | StoreError::Timeout { .. }
        ),
        "{what}: got {err:?}"
    );
    assert!(err.is_transient(), "{what}");
}

#[tokio::test]
async fn a_closed_port_at_startup_is_unavailable_quickly() {
    let port = common::free_port();
    let started = Instant::now();
    let err = RedisStore::connect(fast_config(format!(
        "redis://:pw-never-shown@127.0.0.1:{port}"
    )))
    .await
    .expect_err("nothing listens there");
    assert!(matches!(err, StoreError::Unavailable { .. }), "got {err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let shown = common::chain(&err);
    assert!(
        shown.contains(&format!("127.0.0.1:{port}")),
        "names the server: {shown}"
    );
    assert!(!shown.contains("pw-never-shown"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_store_recovers_after_the_server_returns() {
    let mut server = PrivateServer::start();
    let store = common::connect(fast_config(server.url())).await;
    let r = record();
    store.create(&r).await.expect("create");

    server.kill();
    let user = UserId::new("outage");
    for attempt in 0..3 {
        let started = Instant::now();
        let results = [
            store.load(&r.key, UnixTime::now()).await.map(|_| ()),
            store.create(&record()).await,
            store.save(&r, 1).await,
            store.renew(&r.key, 1, &record()).await,
            store.delete(&r.key).await,
            store
                .list_for_user(&user, UnixTime::now())
                .await
                .map(|_| ()),
            store.delete_for_user(&user).await.map(|_| ()),
        ];
        for result in results {
            let err = result.expect_err("the server is down");
            assert_transient(&err, &format!("attempt {attempt}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "calls must be bounded"
        );
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let loaded = loop {
        match store.load(&r.key, UnixTime::now()).await {
            Ok(loaded) => break loaded,
            Err(err) => {
                assert_transient(&err, "while reconnecting");
                assert!(
                    Instant::now() < deadline,
                    "no recovery within 10 s: {err:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Without persistence the session is gone: "no session", not an error (R4).
    assert_eq!(loaded, None);
    let again = record();
    store.create(&again).await.expect("create after recovery");
    assert_eq!(
        store.load(&again.key, UnixTime::now()).await.expect("load"),
        Some(again)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out() {
    let server = PrivateServer::start();
    let store = common::connect(fast_config(server.url())).await;
    let r = record();
    store.create(&r).await.expect("create");

    let mut admin = common::raw(&server.url()).await;
    command(&mut admin, &["CLIENT", "PAUSE", "2500", "ALL"]).await;
    let started = Instant::now();
    let err = store
        .load(&r.key, UnixTime::now())
        .await
        .expect_err("the server is paused");
    assert!(matches!(err, StoreError::Timeout { .. }), "got {err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.load(&r.key, UnixTime::now()).await.is_err() {
        assert!(Instant::now() < deadline, "no recovery after the pause");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_full_server_refuses_writes_but_serves_reads() {
    let server = PrivateServer::start();
    let store = common::connect(fast_config(server.url())).await;
    let r = record();
    store.create(&r).await.expect("create");

    let mut admin = common::raw(&server.url()).await;
    command(
        &mut admin,
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    )
    .await;
    command(&mut admin, &["CONFIG", "SET", "maxmemory", "1"]).await;
    let err = store.create(&record()).await.expect_err("no memory left");
    assert!(matches!(err, StoreError::Full { .. }), "got {err:?}");
    assert!(err.is_transient());
    let mut next = r.clone();
    next.version = 2;
    let err = store.save(&next, 1).await.expect_err("no memory left");
    assert!(matches!(err, StoreError::Full { .. }), "got {err:?}");
    let mut renewed = next.clone();
    renewed.key = SessionId::generate().key();
    let err = store
        .renew(&r.key, 1, &renewed)
        .await
        .expect_err("no memory left");
    assert!(matches!(err, StoreError::Full { .. }), "got {err:?}");
    assert_eq!(
        store
            .load(&r.key, UnixTime::now())
            .await
            .expect("reads work"),
        Some(r.clone())
    );

    command(&mut admin, &["CONFIG", "SET", "maxmemory", "0"]).await;
    store.save(&next, 1).await.expect("writes work again");
}

#[tokio::test]
async fn a_read_only_replica_refuses_writes_but_serves_reads() {
    let server = PrivateServer::start();
    let store = common::connect(fast_config(server.url())).await;
    let r = record();
    store.create(&r).await.expect("create");

    let mut admin = common::raw(&server.url()).await;
    let no_master = common::free_port().to_string();
    command(&mut admin, &["REPLICAOF", "127.0.0.1", &no_master]).await;
    let mut next = r.clone();
    next.version = 2;
    let err = store
        .save(&next, 1)
        .await
        .expect_err("a replica is read-only");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "got {err:?}");
    assert!(err.is_transient());
    let err = store
        .create(&record())
        .await
        .expect_err("a replica is read-only");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "got {err:?}");
    let mut renewed = next.clone();
    renewed.key = SessionId::generate().key();
    let err = store
        .renew(&r.key, 1, &renewed)
        .await
        .expect_err("a replica is read-only");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "got {err:?}");
    assert_eq!(
        store
            .load(&r.key, UnixTime::now())
            .await
            .expect("reads work"),
        Some(r.clone())
    );

    command(&mut admin, &["REPLICAOF", "NO", "ONE"]).await;
    store
        .save(&next, 1)
        .await
        .expect("writes work after promotion");
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_startup_error_without_the_password() {
    let server = PrivateServer::start_with(&["--requirepass", "right-pw-1234"]);
    let url = |userinfo: &str| format!("redis://{userinfo}127.0.0.1:{}", server.port);

    for userinfo in [":wrong-pw-5678@", ""] {
        let config = fast_config(url(userinfo));
        let err = RedisStore::connect(config)
            .await
            .expect_err("bad credentials");
        assert!(matches!(err, StoreError::Backend { .. }), "got {err:?}");
        let shown = common::chain(&err);
        assert!(shown.contains("authentication"), "says why: {shown}");
        assert!(!shown.contains("wrong-pw-5678"), "{shown}");
        assert!(!shown.contains("right-pw-1234"), "{shown}");
    }

    let config = fast_config(url(":right-pw-1234@"));
    assert!(!format!("{config:?}").contains("right-pw-1234"));
    let store = common::connect(config).await;
    assert!(!format!("{store:?}").contains("right-pw-1234"));
    store
        .create(&record())
        .await
        .expect("authenticated writes work");
}
