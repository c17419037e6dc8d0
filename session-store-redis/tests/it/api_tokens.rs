//! [`RedisApiTokenStore`] (feature `auth`): session-auth's API-token-store conformance suite on
//! the shared server (a random prefix per test), the key layout, damaged keys, a leaked row
//! that is no token, tokens through `ApiTokens`, and server faults on private `redis-server`
//! processes.

use std::time::{Duration, Instant};

use session_auth::api_tokens::{ApiTokenRecord, ApiTokenStore, ApiTokens, Inserted, NewApiToken};
use session_auth::testing::api_token_conformance::{every_field_record, record as token, NOW};
use session_core::store::StoreError;
use session_core::testing::RawAccess;
use session_core::{Secret, UnixTime, UserId};
use session_store_redis::{RedisApiTokenStore, RedisStoreConfig};

use crate::common::{self, PrefixGuard, PrivateServer, RedisRaw};

mod conformance {
    use session_auth::testing::ApiTokenFixture;

    session_auth::api_token_store_conformance!(|| async {
        let (store, guard) = super::shared_api_token_store().await;
        ApiTokenFixture::new(store).keep(guard)
    });
}

/// An API-token store on the shared server under its own prefix, and the guard that removes the
/// prefix's keys when dropped.
async fn shared_api_token_store() -> (RedisApiTokenStore, PrefixGuard) {
    let prefix = common::random_prefix();
    let config = RedisStoreConfig::new(common::redis_url()).key_prefix(prefix.clone());
    let target = config.redacted_url();
    let store = RedisApiTokenStore::connect(config)
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

fn secret() -> Secret {
    Secret::from_bytes(vec![7; 32]).expect("a 32-byte secret")
}

fn later(secs: u64) -> UnixTime {
    NOW.saturating_add(Duration::from_secs(secs))
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn stored(store: &dyn ApiTokenStore, record: &ApiTokenRecord) {
    assert_eq!(
        store.insert(record, usize::MAX, NOW).await.expect("insert"),
        Inserted::Stored
    );
}

async fn run(conn: &mut redis::aio::MultiplexedConnection, cmd: &redis::Cmd) {
    let _: redis::Value = cmd.query_async(conn).await.expect("raw command");
}

fn cmd(args: &[&[u8]]) -> redis::Cmd {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("a command name"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd
}

/// The documented layout: the token's hash under `{prefix}{a}h:<hash hex>` with exactly its
/// fields, `{prefix}{a}i:<id>` naming the hash, `{prefix}{a}o:<owner hex>` the owner's hashes;
/// any owner text is safe in the index's name.
#[tokio::test]
async fn the_keys_are_the_documented_ones_with_the_documented_fields() {
    let (store, guard) = shared_api_token_store().await;
    let prefix = &guard.prefix;
    let mut raw = common::raw(&guard.url).await;
    let full = every_field_record("alice");
    let bare = token("a:b {x}", 1);
    stored(&store, &full).await;
    stored(&store, &bare).await;

    let mut keys = guard.keys();
    keys.sort();
    let mut expected = vec![
        format!("{prefix}{{a}}h:{}", full.hash.to_hex()),
        format!("{prefix}{{a}}h:{}", bare.hash.to_hex()),
        format!("{prefix}{{a}}i:{}", full.id),
        format!("{prefix}{{a}}i:{}", bare.id),
        format!("{prefix}{{a}}o:616c696365"),
        format!("{prefix}{{a}}o:{}", hex("a:b {x}")),
    ];
    expected.sort();
    assert_eq!(keys, expected);

    let pointer: String = redis::cmd("GET")
        .arg(format!("{prefix}{{a}}i:{}", full.id))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(pointer, full.hash.to_hex());
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("{prefix}{{a}}o:616c696365"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(members, [full.hash.to_hex()]);

    let fields = |key: String, mut raw: redis::aio::MultiplexedConnection| async move {
        let mut fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .expect("HGETALL");
        fields.sort();
        fields
    };
    let full_fields = fields(
        format!("{prefix}{{a}}h:{}", full.hash.to_hex()),
        raw.clone(),
    )
    .await;
    let names: Vec<&str> = full_fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "created_at",
            "display_prefix",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "owner",
            "revoked_at",
            "scopes"
        ]
    );
    let value = |name: &str| {
        full_fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(value("created_at"), full.created_at.as_secs().to_string());
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&value("scopes")).unwrap(),
        full.scopes
    );
    let bare_fields = fields(
        format!("{prefix}{{a}}h:{}", bare.hash.to_hex()),
        raw.clone(),
    )
    .await;
    let names: Vec<&str> = bare_fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "created_at",
            "display_prefix",
            "id",
            "name",
            "owner",
            "scopes"
        ],
        "absent optional fields are absent"
    );

    for key in guard.keys() {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(ttl, -1, "{key} never expires");
    }
}

/// A token that cannot be read back is `Corrupt` from `find` and `list`, quotes nothing stored,
/// and is left in place; keys of another type and bad index entries too, and a write whose
/// script would meet a damaged key writes nothing.
#[tokio::test]
async fn a_damaged_token_is_corrupt_and_left_in_place() {
    type Damage = fn(&str) -> Vec<redis::Cmd>;
    let damages: [(&str, Damage); 9] = [
        ("scopes that are not JSON", |k| {
            vec![cmd(&[
                b"HSET",
                k.as_bytes(),
                b"scopes",
                b"secret-scope-text",
            ])]
        }),
        ("scopes that are numbers", |k| {
            vec![cmd(&[b"HSET", k.as_bytes(), b"scopes", b"[1,2]"])]
        }),
        ("a negative time", |k| {
            vec![cmd(&[b"HSET", k.as_bytes(), b"created_at", b"-1"])]
        }),
        ("a time with a leading zero", |k| {
            vec![cmd(&[b"HSET", k.as_bytes(), b"revoked_at", b"0100"])]
        }),
        ("a time that is no number", |k| {
            vec![cmd(&[b"HSET", k.as_bytes(), b"expires_at", b"soon"])]
        }),
        ("a missing id", |k| {
            vec![cmd(&[b"HDEL", k.as_bytes(), b"id"])]
        }),
        ("a missing owner", |k| {
            vec![cmd(&[b"HDEL", k.as_bytes(), b"owner"])]
        }),
        ("a name that is not UTF-8", |k| {
            vec![cmd(&[b"HSET", k.as_bytes(), b"name", &[0xff, 0xfe]])]
        }),
        ("a string instead of a hash", |k| {
            vec![
                cmd(&[b"DEL", k.as_bytes()]),
                cmd(&[b"SET", k.as_bytes(), b"secret-garbage"]),
            ]
        }),
    ];
    for (what, damage) in damages {
        let (store, guard) = shared_api_token_store().await;
        let mut raw = common::raw(&guard.url).await;
        let full = every_field_record("alice");
        stored(&store, &full).await;
        let key = format!("{}{{a}}h:{}", guard.prefix, full.hash.to_hex());
        for command in damage(&key) {
            run(&mut raw, &command).await;
        }
        for (op, res) in [
            ("find", store.find(&full.hash).await.map(|_| ())),
            ("list", store.list(&alice()).await.map(|_| ())),
        ] {
            let err = res.expect_err(what);
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{what}: {op} gave {err:?}"
            );
            let shown = common::chain(&err);
            for quoted in ["secret", "soon", "scope:", &full.display_prefix] {
                assert!(
                    !shown.contains(quoted),
                    "{what}: {op}'s error quotes {quoted:?}: {shown}"
                );
            }
        }
        assert!(
            common::exists(&mut raw, &key).await,
            "{what}: left in place"
        );
    }

    // An index entry that is no token hash: `list` is Corrupt.
    let (store, guard) = shared_api_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    stored(&store, &token("alice", 1)).await;
    let index = format!("{}{{a}}o:616c696365", guard.prefix);
    run(&mut raw, &cmd(&[b"SADD", index.as_bytes(), b"not-a-hash"])).await;
    let err = store.list(&alice()).await.expect_err("a bad index entry");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");

    // An index entry naming another owner's token: `list` is Corrupt, not someone else's row.
    let (store, guard) = shared_api_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let bobs = token("bob", 2);
    stored(&store, &bobs).await;
    let index = format!("{}{{a}}o:616c696365", guard.prefix);
    let entry = bobs.hash.to_hex();
    run(
        &mut raw,
        &cmd(&[b"SADD", index.as_bytes(), entry.as_bytes()]),
    )
    .await;
    let err = store
        .list(&alice())
        .await
        .expect_err("another owner's entry");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");

    // An active-looking token with an expiry the store did not write: `insert` cannot count it,
    // and writes nothing.
    let (store, guard) = shared_api_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let first = token("alice", 1);
    stored(&store, &first).await;
    let key = format!("{}{{a}}h:{}", guard.prefix, first.hash.to_hex());
    run(
        &mut raw,
        &cmd(&[b"HSET", key.as_bytes(), b"expires_at", b"soon"]),
    )
    .await;
    let next = token("alice", 2);
    let err = store
        .insert(&next, 5, NOW)
        .await
        .expect_err("an uncountable token");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert_eq!(guard.keys().len(), 3, "nothing written: {:?}", guard.keys());

    // An owner index of another type: `insert` and `revoke_all` fail before writing anything.
    let (store, guard) = shared_api_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let index = format!("{}{{a}}o:616c696365", guard.prefix);
    run(&mut raw, &cmd(&[b"SET", index.as_bytes(), b"garbage"])).await;
    let err = store
        .insert(&token("alice", 1), 5, NOW)
        .await
        .expect_err("insert with a string index");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    let err = store
        .revoke_all(&alice(), NOW)
        .await
        .expect_err("revoke_all with a string index");
    assert!(matches!(err, StoreError::Corrupt { .. }), "got {err:?}");
    assert_eq!(guard.keys(), [index], "no token written without its index");

    // An id pointer of another type: `touch` and `revoke` are Corrupt.
    let (store, guard) = shared_api_token_store().await;
    let mut raw = common::raw(&guard.url).await;
    let row = token("alice", 1);
    stored(&store, &row).await;
    let pointer = format!("{}{{a}}i:{}", guard.prefix, row.id);
    run(&mut raw, &cmd(&[b"DEL", pointer.as_bytes()])).await;
    run(&mut raw, &cmd(&[b"SADD", pointer.as_bytes(), b"x"])).await;
    for (op, res) in [
        ("touch", store.touch(&row.id, later(5)).await),
        (
            "revoke",
            store.revoke(&alice(), &row.id, later(5)).await.map(|_| ()),
        ),
    ] {
        let err = res.expect_err(op);
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "{op}: got {err:?}"
        );
    }
    assert_eq!(store.find(&row.hash).await.unwrap(), Some(row), "unchanged");
}

/// Redis holds the keyed hash and display prefix `ApiTokens` made, and the token itself is in
/// no key or value (that the hash and the prefix are refused as tokens is the suite's
/// `a_leaked_row_is_not_a_token`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_no_token() {
    let (store, guard) = shared_api_token_store().await;
    let tokens = ApiTokens::builder(&secret(), store).build();
    let created = tokens
        .create(&alice(), NewApiToken::named("CI deploy"))
        .await
        .unwrap();
    let mut raw = common::raw(&guard.url).await;
    let hashes: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("{}{{a}}o:616c696365", guard.prefix))
        .query_async(&mut raw)
        .await
        .unwrap();
    let [hash] = &hashes[..] else {
        panic!("one token: {hashes:?}")
    };
    let display_prefix: String = redis::cmd("HGET")
        .arg(format!("{}{{a}}h:{hash}", guard.prefix))
        .arg("display_prefix")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(display_prefix, created.token.display_prefix);
    let stored = tokens.store().list(&alice()).await.unwrap();
    assert_eq!(hash, &stored[0].hash.to_hex());

    let body = &created.secret.expose().as_bytes()["sat_".len()..];
    let everything = RedisRaw::of(&guard).stored_bytes().await.unwrap();
    assert!(!everything.is_empty());
    for bytes in everything {
        assert!(
            !bytes.windows(body.len()).any(|w| w == body),
            "the token is stored"
        );
    }
}

/// The API-token store on a session store's connection uses its prefix, beside its sessions.
#[tokio::test]
async fn from_store_shares_the_session_stores_connection_and_prefix() {
    let (sessions, guard) = common::shared_store().await;
    let store = RedisApiTokenStore::from_store(&sessions);
    let row = token("alice", 1);
    stored(&store, &row).await;
    assert_eq!(store.find(&row.hash).await.unwrap(), Some(row));
    let keys = guard.keys();
    assert_eq!(keys.len(), 3, "a token, its id and an index: {keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with(&format!("{}{{a}}", guard.prefix))),
        "{keys:?}"
    );
    let shown = format!("{store:?}");
    assert!(shown.contains(&guard.prefix), "{shown}");
}

#[tokio::test]
async fn a_closed_port_is_unavailable_quickly_without_the_password() {
    let port = common::free_port();
    let started = Instant::now();
    let err = RedisApiTokenStore::connect(fast_config(format!(
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

/// A server that goes away: every call fails with `Unavailable` within the configured
/// timeouts, never a panic or a hang; once it is back the same store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_gives_transient_errors_then_the_store_recovers() {
    let mut server = PrivateServer::start();
    let store = RedisApiTokenStore::connect(fast_config(server.url()))
        .await
        .expect("connect");
    let row = token("alice", 1);
    stored(&store, &row).await;

    server.kill();
    for attempt in 0..3 {
        let started = Instant::now();
        let results = [
            store.insert(&token("alice", 2), 5, NOW).await.map(|_| ()),
            store.find(&row.hash).await.map(|_| ()),
            store.list(&alice()).await.map(|_| ()),
            store.touch(&row.id, later(5)).await,
            store.revoke(&alice(), &row.id, later(5)).await.map(|_| ()),
            store.revoke_all(&alice(), later(5)).await.map(|_| ()),
        ];
        for (op, result) in ["insert", "find", "list", "touch", "revoke", "revoke_all"]
            .iter()
            .zip(results)
        {
            let err = result.expect_err("the server is down");
            // Nothing listens on the port: refused at once, so not a timeout.
            assert!(
                matches!(err, StoreError::Unavailable { .. }),
                "attempt {attempt}, {op}: got {err:?}"
            );
            assert_transient(&err, &format!("attempt {attempt}, {op}"));
        }
        // Each call is bounded by 2 × connection_timeout + reconnect delay + response_timeout
        // (about 1.7 s here).
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "six calls took {:?}",
            started.elapsed()
        );
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        match store.find(&row.hash).await {
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
    assert_eq!(got, None, "without persistence the token is gone");
    stored(&store, &row).await;
}

/// A replica refuses every write with `ReadOnly` and serves `find` and `list`.
#[tokio::test]
async fn a_read_only_replica_refuses_writes_but_serves_reads() {
    let server = PrivateServer::start();
    let store = RedisApiTokenStore::connect(fast_config(server.url()))
        .await
        .expect("connect");
    let row = token("alice", 1);
    stored(&store, &row).await;

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
            "insert",
            store.insert(&token("alice", 2), 5, NOW).await.map(|_| ()),
        ),
        ("touch", store.touch(&row.id, later(5)).await),
        (
            "revoke",
            store.revoke(&alice(), &row.id, later(5)).await.map(|_| ()),
        ),
        (
            "revoke_all",
            store.revoke_all(&alice(), later(5)).await.map(|_| ()),
        ),
    ] {
        let err = res.expect_err("a replica is read-only");
        assert!(
            matches!(err, StoreError::ReadOnly { .. }),
            "{op}: got {err:?}"
        );
        assert!(err.is_transient(), "{op}");
    }
    assert_eq!(store.find(&row.hash).await.unwrap(), Some(row.clone()));
    assert_eq!(store.list(&alice()).await.unwrap(), [row]);
}
