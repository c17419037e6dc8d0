//! [`RedisTokenStore`] (feature `auth`): session-auth's token-store conformance suite on the
//! shared server (a random prefix per test), the key layout and its hash slots, damaged keys,
//! and server faults on private `redis-server` processes.

use std::time::{Duration, Instant};

use session_auth::testing::token_conformance::{every_field_grant, grant};
use session_auth::tokens::{StoredGrant, TokenStore};
use session_core::store::StoreError;
use session_core::UserId;
use session_store_redis::{RedisStoreConfig, RedisTokenStore};

use crate::common::{self, PrefixGuard, PrivateServer};

mod conformance {
    use session_auth::testing::TokenFixture;

    session_auth::token_store_conformance!(|| async {
        let (store, guard) = super::shared_token_store().await;
        TokenFixture::new(store).keep(guard)
    });
}

/// A token store on the shared server under its own prefix, and the guard that removes the
/// prefix's keys when dropped.
async fn shared_token_store() -> (RedisTokenStore, PrefixGuard) {
    let prefix = common::random_prefix();
    let config = RedisStoreConfig::new(common::redis_url()).key_prefix(prefix.clone());
    let target = config.redacted_url();
    let store = RedisTokenStore::connect(config)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "Redis not reachable at {target}: start redis-server or set REDIS_URL ({})",
                common::chain(&err)
            )
        });
    let guard = PrefixGuard {
        url: common::redis_url(),
        prefix,
    };
    (store, guard)
}

fn fast_config(url: String) -> RedisStoreConfig {
    RedisStoreConfig::new(url)
        .key_prefix(common::random_prefix())
        .response_timeout(Duration::from_millis(500))
        .connection_timeout(Duration::from_millis(500))
}

fn alice() -> UserId {
    UserId::new("alice")
}

fn stored(grant: &StoredGrant, version: u64) -> StoredGrant {
    StoredGrant {
        version,
        ..grant.clone()
    }
}

/// Redis Cluster's hash slot of `key`: CRC16 (XMODEM) of its hash tag (the text between the
/// first `{` and the first `}` after it, when not empty) or of the whole key, modulo 16384.
fn key_slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    let mut crc: u16 = 0;
    for &byte in hashed {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

#[test]
fn the_slot_computation_matches_redis() {
    // Values from `CLUSTER KEYSLOT` on a Redis Cluster.
    assert_eq!(key_slot("somekey"), 11058);
    assert_eq!(key_slot("foo"), 12182);
    assert_eq!(key_slot("{user1000}.following"), key_slot("user1000"));
    assert_eq!(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
    assert_ne!(
        key_slot("foo{}{bar}"),
        key_slot("bar"),
        "an empty tag hashes the key"
    );
}

/// The documented layout: one hash per (owner, provider) under `{prefix}t:{o<owner hex>}:<provider
/// hex>`, one set per owner `{prefix}t:{o<owner hex>}` naming its providers; every key of one
/// owner in one hash slot, with the owner's tag, whatever characters owner and provider hold.
#[tokio::test]
async fn every_key_of_one_owner_is_in_one_hash_slot_under_the_documented_names() {
    let (store, guard) = shared_token_store().await;
    let owners = ["alice", "", "{a}", "a}b{c", "ünï 😀", "a:b"];
    let providers = ["github", "", "{x}", "vercel", "b:c", "プロバイダ"];
    for owner in owners {
        for provider in providers {
            store
                .put(&UserId::new(owner), provider, &grant("a"))
                .await
                .expect("put");
        }
    }
    let mut keys = guard.keys();
    keys.sort();
    assert_eq!(
        keys.len(),
        owners.len() * (providers.len() + 1),
        "one hash per pair and one index per owner: {keys:?}"
    );
    let prefix = &guard.prefix;
    for owner in owners {
        let tag: String = owner.bytes().map(|b| format!("{b:02x}")).collect();
        let index = format!("{prefix}t:{{o{tag}}}");
        assert!(keys.contains(&index), "the index {index} exists");
        let mine: Vec<&String> = keys.iter().filter(|k| k.starts_with(&index)).collect();
        assert_eq!(
            mine.len(),
            providers.len() + 1,
            "{owner:?}'s keys: {mine:?}"
        );
        for provider in providers {
            let hex: String = provider.bytes().map(|b| format!("{b:02x}")).collect();
            let grant_key = format!("{index}:{hex}");
            assert!(keys.contains(&grant_key), "the grant {grant_key} exists");
        }
        let slot = key_slot(&index);
        for key in &mine {
            assert_eq!(key_slot(key), slot, "{key} is in {owner:?}'s slot");
        }
    }

    let mut raw = common::raw(&guard.url).await;
    let index = format!("{prefix}t:{{o616c696365}}");
    let mut members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(&index)
        .query_async(&mut raw)
        .await
        .expect("SMEMBERS");
    members.sort();
    let mut expected = providers.to_vec();
    expected.sort();
    assert_eq!(
        members, expected,
        "the index names the providers as they are"
    );
}

/// A grant hash holds exactly the grant's fields: absent optional fields are absent, and an
/// overwrite leaves none of the old grant's.
#[tokio::test]
async fn a_grant_hash_holds_exactly_the_documented_fields() {
    let (store, guard) = shared_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let key = format!("{}t:{{o616c696365}}:676974687562", guard.prefix);
    let fields = |mut raw: redis::aio::MultiplexedConnection, key: String| async move {
        let mut fields: Vec<String> = redis::cmd("HKEYS")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .expect("HKEYS");
        fields.sort();
        fields
    };

    store
        .put(&alice(), "github", &every_field_grant("a"))
        .await
        .unwrap();
    assert_eq!(
        fields(raw.clone(), key.clone()).await,
        [
            "access_token",
            "account",
            "expires_at",
            "obtained_at",
            "refresh_token",
            "scope",
            "state",
            "version"
        ]
    );
    store.put(&alice(), "github", &grant("a")).await.unwrap();
    assert_eq!(
        fields(raw.clone(), key.clone()).await,
        ["access_token", "account", "obtained_at", "state", "version"]
    );
    let (state, version): (String, String) = redis::cmd("HMGET")
        .arg(&key)
        .arg("state")
        .arg("version")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!((state.as_str(), version.as_str()), ("active", "2"));
}

/// A grant that cannot be read back is `Corrupt` from `get` and `list`, names no token, and can
/// be deleted; a key of another type too.
#[tokio::test]
async fn a_damaged_grant_is_corrupt_and_can_be_deleted() {
    fn hset(key: &str, field: &str, value: &[u8]) -> redis::Cmd {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key).arg(field).arg(value);
        cmd
    }
    let damages = |key: &str| {
        let mut hdel = redis::cmd("HDEL");
        hdel.arg(key).arg("account");
        [
            ("an unknown state", hset(key, "state", b"revoked")),
            ("a version that is no number", hset(key, "version", b"two")),
            ("a negative time", hset(key, "obtained_at", b"-1")),
            ("a missing account", hdel),
            (
                "an account that is not UTF-8",
                hset(key, "account", &[0xff, 0xfe]),
            ),
        ]
    };
    for case in 0..damages("").len() {
        let (store, guard) = shared_token_store().await;
        let mut raw = common::raw(&guard.url).await;
        let key = format!("{}t:{{o616c696365}}:676974687562", guard.prefix);
        let full = every_field_grant("583231");
        store.put(&alice(), "github", &full).await.unwrap();
        let (what, damage) = damages(&key).into_iter().nth(case).expect("a case");
        let _: redis::Value = damage.query_async(&mut raw).await.unwrap();
        assert_corrupt(&store, &full, what).await;
        assert!(store.delete(&alice(), "github").await.unwrap(), "{what}");
        assert!(store.list(&alice()).await.unwrap().is_empty(), "{what}");
    }

    let (store, guard) = shared_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let key = format!("{}t:{{o616c696365}}:676974687562", guard.prefix);
    let full = every_field_grant("583231");
    store.put(&alice(), "github", &full).await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("garbage")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_corrupt(&store, &full, "a string key").await;
    let err = store
        .replace(&alice(), "github", 1, &full)
        .await
        .expect_err("replace onto a string key");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    let err = store
        .put(&alice(), "github", &full)
        .await
        .expect_err("put onto a string key");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert!(store.delete(&alice(), "github").await.unwrap());
    assert_eq!(store.put(&alice(), "github", &full).await.unwrap(), 1);

    // An index of another type: put and delete fail before writing the grant.
    let index = format!("{}t:{{o616c696365}}", guard.prefix);
    let _: () = redis::cmd("DEL")
        .arg(&index)
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&index)
        .arg("garbage")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = store
        .put(&alice(), "vercel", &full)
        .await
        .expect_err("put with a string index");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    let err = store
        .delete(&alice(), "github")
        .await
        .expect_err("delete with a string index");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert!(
        !common::exists(&mut raw, &format!("{index}:76657263656c")).await,
        "no grant written without its index entry"
    );
    assert_eq!(
        store.get(&alice(), "github").await.unwrap(),
        Some(stored(&full, 1)),
        "the failed delete left the grant"
    );
}

async fn assert_corrupt(store: &RedisTokenStore, full: &StoredGrant, what: &str) {
    for (op, res) in [
        ("get", store.get(&alice(), "github").await.map(|_| ())),
        ("list", store.list(&alice()).await.map(|_| ())),
    ] {
        let err = res.expect_err(what);
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "{what}: {op} gave {err:?}"
        );
        let shown = common::chain(&err);
        assert!(
            !shown.contains(&full.access_token.as_str()[..40]),
            "{what}: {op}'s error names the token: {shown}"
        );
    }
}

/// The token store on a session store's connection uses its prefix, beside its sessions.
#[tokio::test]
async fn from_store_shares_the_session_stores_connection_and_prefix() {
    let (sessions, guard) = common::shared_store().await;
    let tokens = RedisTokenStore::from_store(&sessions);
    assert_eq!(
        tokens.put(&alice(), "github", &grant("a")).await.unwrap(),
        1
    );
    assert_eq!(
        tokens.get(&alice(), "github").await.unwrap(),
        Some(stored(&grant("a"), 1))
    );
    let keys = guard.keys();
    assert_eq!(keys.len(), 2, "a grant and an index: {keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with(&format!("{}t:", guard.prefix))),
        "{keys:?}"
    );
    let shown = format!("{tokens:?}");
    assert!(shown.contains(&guard.prefix), "{shown}");
}

#[tokio::test]
async fn a_closed_port_is_unavailable_quickly_without_the_password() {
    let port = common::free_port();
    let started = Instant::now();
    let err = RedisTokenStore::connect(fast_config(format!(
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
    assert!(!common::chain(&err).contains("pw-never-shown"));
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

/// A server that goes away: every call fails with `Unavailable` or `Timeout` within the
/// configured timeouts, never a panic or a hang; once it is back the same store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_gives_transient_errors_then_the_store_recovers() {
    let mut server = PrivateServer::start();
    let store = RedisTokenStore::connect(fast_config(server.url()))
        .await
        .expect("connect");
    store.put(&alice(), "github", &grant("a")).await.unwrap();

    server.kill();
    for attempt in 0..3 {
        let started = Instant::now();
        let results = [
            store.get(&alice(), "github").await.map(|_| ()),
            store.put(&alice(), "github", &grant("b")).await.map(|_| ()),
            store
                .replace(&alice(), "github", 1, &grant("b"))
                .await
                .map(|_| ()),
            store.delete(&alice(), "github").await.map(|_| ()),
            store.list(&alice()).await.map(|_| ()),
        ];
        for (op, result) in ["get", "put", "replace", "delete", "list"]
            .iter()
            .zip(results)
        {
            let err = result.expect_err("the server is down");
            assert_transient(&err, &format!("attempt {attempt}, {op}"));
        }
        // Each call is bounded by 2 × connection_timeout + reconnect delay + response_timeout
        // (about 1.7 s here).
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "five calls took {:?}",
            started.elapsed()
        );
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        match store.get(&alice(), "github").await {
            Ok(got) => break got,
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
    assert_eq!(got, None, "without persistence the row is gone");
    assert_eq!(store.put(&alice(), "github", &grant("c")).await.unwrap(), 1);
}

/// A replica refuses writes with `ReadOnly` and serves reads.
#[tokio::test]
async fn a_read_only_replica_refuses_writes_but_serves_reads() {
    let server = PrivateServer::start();
    let store = RedisTokenStore::connect(fast_config(server.url()))
        .await
        .expect("connect");
    store.put(&alice(), "github", &grant("a")).await.unwrap();

    let mut admin = common::raw(&server.url()).await;
    let no_master = common::free_port().to_string();
    let _: redis::Value = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(&no_master)
        .query_async(&mut admin)
        .await
        .unwrap();
    for (op, res) in [
        (
            "put",
            store.put(&alice(), "github", &grant("b")).await.map(|_| ()),
        ),
        (
            "replace",
            store
                .replace(&alice(), "github", 1, &grant("b"))
                .await
                .map(|_| ()),
        ),
        ("delete", store.delete(&alice(), "github").await.map(|_| ())),
    ] {
        let err = res.expect_err("a replica is read-only");
        assert!(
            matches!(err, StoreError::ReadOnly { .. }),
            "{op}: got {err:?}"
        );
    }
    assert_eq!(
        store.get(&alice(), "github").await.unwrap(),
        Some(stored(&grant("a"), 1))
    );
    assert_eq!(store.list(&alice()).await.unwrap().len(), 1);
}

/// A server that stops answering: reads and writes give `Timeout` within the configured
/// response timeout (plus slack), not a hang; afterwards the store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out_within_the_configured_timeouts() {
    let server = PrivateServer::start();
    let store = RedisTokenStore::connect(fast_config(server.url()))
        .await
        .expect("connect");
    store.put(&alice(), "github", &grant("a")).await.unwrap();

    let mut admin = common::raw(&server.url()).await;
    let _: redis::Value = redis::cmd("CLIENT")
        .arg(&["PAUSE", "2500", "ALL"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    let started = Instant::now();
    let err = store
        .get(&alice(), "github")
        .await
        .expect_err("the server is paused");
    assert!(
        matches!(err, StoreError::Timeout { .. }),
        "get: got {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "get took {:?}",
        started.elapsed()
    );

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get(&alice(), "github").await.is_err() {
        assert!(Instant::now() < deadline, "no recovery after the pause");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.put(&alice(), "github", &grant("b")).await.unwrap(), 2);
}
