//! Test helpers: a store on the shared server under a random key prefix (removed again when the
//! test ends), raw connections (also the conformance suite's [`RawAccess`] hook), record
//! builders, and private `redis-server` processes for fault tests.

#![allow(dead_code)] // Each test module uses a different part of this module.

use std::error::Error as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use session_core::testing::conformance::record;
use session_core::testing::RawAccess;
use session_core::{
    store::{BoxError, SessionId, SessionKey, SessionRecord, StoreError},
    UnixTime, UserId,
};
use session_store_redis::{RedisStore, RedisStoreConfig};

/// The shared server's URL: `REDIS_URL`, or the local default.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh key prefix no other test uses.
pub(crate) fn random_prefix() -> String {
    format!("test:{}:", &SessionId::generate().key().to_hex()[..16])
}

/// Connects a store, failing the test loudly when the server is not there.
pub(crate) async fn connect(config: RedisStoreConfig) -> RedisStore {
    let target = config.redacted_url();
    match RedisStore::connect(config).await {
        Ok(store) => store,
        Err(err) => panic!(
            "Redis not reachable at {target}: start redis-server or set REDIS_URL ({})",
            chain(&err)
        ),
    }
}

/// A raw connection to `url`, for inspecting or damaging what the store wrote.
pub(crate) async fn raw(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(url).expect("valid URL");
    match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(err) => {
            panic!("Redis not reachable at {url}: start redis-server or set REDIS_URL ({err})")
        }
    }
}

/// A store on the shared server under its own prefix, plus the guard that deletes the prefix's
/// keys when dropped.
pub(crate) async fn shared_store() -> (RedisStore, PrefixGuard) {
    let prefix = random_prefix();
    let store = connect(RedisStoreConfig::new(redis_url()).key_prefix(prefix.clone())).await;
    (
        store,
        PrefixGuard {
            url: redis_url(),
            prefix,
        },
    )
}

/// Deletes every key under `prefix` (SCAN, never KEYS) when dropped.
#[derive(Debug)]
pub(crate) struct PrefixGuard {
    pub(crate) url: String,
    pub(crate) prefix: String,
}

impl PrefixGuard {
    /// Every key under the prefix, found with SCAN.
    pub(crate) fn keys(&self) -> Vec<String> {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(mut conn) =
            redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        {
            let _: Result<i64, _> = redis::cmd("UNLINK").arg(&keys).query(&mut conn);
        }
    }
}

/// The conformance suite's record (fresh random key, data, metadata) of `user`, written at `from`
/// and expiring `lifetime` later.
pub(crate) fn record_lasting(
    user: Option<&UserId>,
    from: UnixTime,
    lifetime: Duration,
) -> SessionRecord {
    let mut r = record(from);
    r.user_id = user.cloned();
    r.expires_at = from + lifetime;
    r
}

/// The key of the hash holding the record under `key`, in the documented layout.
pub(crate) fn record_key(prefix: &str, key: &SessionKey) -> String {
    format!("{prefix}s:{}", key.to_hex())
}

/// The conformance suite's raw access to one test's keys: every key under the prefix with its
/// whole value, read over a connection of its own.
#[derive(Debug)]
pub(crate) struct RedisRaw {
    url: String,
    prefix: String,
}

impl RedisRaw {
    /// Raw access to the keys `guard` removes at the end of the test.
    pub(crate) fn of(guard: &PrefixGuard) -> Self {
        RedisRaw {
            url: guard.url.clone(),
            prefix: guard.prefix.clone(),
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, BoxError> {
        let client = redis::Client::open(self.url.as_str())?;
        Ok(client.get_multiplexed_async_connection().await?)
    }
}

#[async_trait]
impl RawAccess for RedisRaw {
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
        let mut conn = self.connection().await?;
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut all = Vec::new();
        for key in keys {
            let Some(values) = key_contents(&mut conn, &key).await? else {
                continue; // expired since the SCAN
            };
            all.push(key);
            all.extend(values);
        }
        Ok(all)
    }

    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
        let mut conn = self.connection().await?;
        overwrite_record_bytes(&mut conn, &record_key(&self.prefix, key), bytes).await
    }
}

/// Every value under `key` (hash fields and values, set or sorted-set members, a string), or
/// `None` when the key is gone: what the at-rest contracts scan.
pub(crate) async fn key_contents(
    conn: &mut impl redis::aio::ConnectionLike,
    key: &[u8],
) -> Result<Option<Vec<Vec<u8>>>, BoxError> {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(conn).await?;
    let values = match kind.as_str() {
        "hash" => redis::cmd("HGETALL").arg(key).query_async(conn).await?,
        "zset" => {
            redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(conn)
                .await?
        }
        "set" => redis::cmd("SMEMBERS").arg(key).query_async(conn).await?,
        "string" => vec![redis::cmd("GET").arg(key).query_async(conn).await?],
        "none" => return Ok(None),
        other => return Err(format!("a key of unexpected type {other}").into()),
    };
    Ok(Some(values))
}

/// Replaces the record bytes of the hash `hash`, failing if it holds no record.
pub(crate) async fn overwrite_record_bytes(
    conn: &mut impl redis::aio::ConnectionLike,
    hash: &str,
    bytes: &[u8],
) -> Result<(), BoxError> {
    let exists: bool = redis::cmd("HEXISTS")
        .arg(hash)
        .arg("r")
        .query_async(conn)
        .await?;
    if !exists {
        return Err("no record under this key".into());
    }
    let _: () = redis::cmd("HSET")
        .arg(hash)
        .arg("r")
        .arg(bytes)
        .query_async(conn)
        .await?;
    Ok(())
}

/// A `redis-server` of our own on a free loopback port, without persistence; killed on drop.
#[derive(Debug)]
pub(crate) struct PrivateServer {
    pub(crate) port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl PrivateServer {
    /// Starts a server on a free port.
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server on a free port with extra `redis-server` arguments.
    pub(crate) fn start_with(extra: &[&str]) -> Self {
        let mut server = PrivateServer {
            port: free_port(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        server.restart();
        server
    }

    /// The server's URL (without credentials).
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers (or its port at
    /// least accepts connections, for a server that wants a password).
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new("/usr/bin/redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/redis-server must be installed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nobody listens on (at the time of the call).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// An error's message and all its sources, one line, as a log would show them.
pub(crate) fn chain(err: &StoreError) -> String {
    let mut text = format!("{err} / {err:?}");
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(&format!(": {inner} / {inner:?}"));
        source = inner.source();
    }
    text
}

/// `INFO commandstats` as (command, calls) pairs.
pub(crate) async fn command_calls(conn: &mut MultiplexedConnection) -> Vec<(String, u64)> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .expect("INFO");
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// `EXPIRETIME key`: the key's expiry in Unix seconds (-1 none, -2 no key).
pub(crate) async fn expire_time(conn: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("EXPIRETIME")
        .arg(key)
        .query_async(conn)
        .await
        .expect("EXPIRETIME")
}

/// Whether `key` exists.
pub(crate) async fn exists(conn: &mut MultiplexedConnection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(conn)
        .await
        .expect("EXISTS")
}

/// A user index's (key hex, score) pairs; empty when the index does not exist.
pub(crate) async fn index(conn: &mut MultiplexedConnection, key: &str) -> Vec<(String, u64)> {
    redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(conn)
        .await
        .expect("ZRANGE")
}
