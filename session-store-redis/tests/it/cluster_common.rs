//! Redis Cluster test helpers (feature `cluster`): the shared cluster `cargo xtask test` starts
//! (`REDIS_CLUSTER_NODES`), raw access to one test's keys on every node of it, and private
//! clusters of `redis-server --cluster-enabled yes` processes for fault tests.

#![allow(dead_code)] // Each test module uses a different part of this module.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use session_core::store::{BoxError, SessionKey};
use session_core::testing::RawAccess;
use session_store_redis::{RedisStore, RedisStoreConfig};

use crate::common::{self, record_key};

/// The shared cluster's node URLs, from `REDIS_CLUSTER_NODES` (set by `cargo xtask test`).
pub(crate) fn shared_nodes() -> Vec<String> {
    let nodes = std::env::var("REDIS_CLUSTER_NODES").unwrap_or_default();
    let nodes: Vec<String> = nodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(
        !nodes.is_empty(),
        "REDIS_CLUSTER_NODES is not set: run `cargo xtask test` (it starts a 3-primary Redis \
         Cluster on loopback), or set it to the comma-separated URLs of a cluster's primaries"
    );
    nodes
}

/// A session store on the shared cluster under a fresh prefix, and the guard that deletes the
/// prefix's keys on every node when dropped.
pub(crate) async fn shared_store() -> (RedisStore, ClusterGuard) {
    let guard = ClusterGuard {
        nodes: shared_nodes(),
        prefix: common::random_prefix(),
    };
    (connect(&guard.nodes, &guard.prefix).await, guard)
}

/// Connects a store to the cluster of `nodes`, failing loudly when it is not there.
pub(crate) async fn connect(nodes: &[String], prefix: &str) -> RedisStore {
    let config = RedisStoreConfig::cluster(nodes.iter().cloned())
        .key_prefix(prefix)
        .response_timeout(Duration::from_millis(500))
        .connection_timeout(Duration::from_millis(500));
    match RedisStore::connect(config).await {
        Ok(store) => store,
        Err(err) => panic!(
            "Redis Cluster not reachable at {nodes:?}: {}",
            common::chain(&err)
        ),
    }
}

/// Deletes every key under `prefix` on every node (SCAN per node) when dropped.
#[derive(Debug)]
pub(crate) struct ClusterGuard {
    pub(crate) nodes: Vec<String>,
    pub(crate) prefix: String,
}

impl ClusterGuard {
    /// Every key under the prefix, on each node, as (node URL, key).
    pub(crate) fn keys(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        for node in &self.nodes {
            let Ok(mut conn) = redis::Client::open(node.as_str()).and_then(|c| c.get_connection())
            else {
                continue;
            };
            let mut cursor: u64 = 0;
            loop {
                let Ok((next, batch)): redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{}*", self.prefix))
                    .arg("COUNT")
                    .arg(1000)
                    .query(&mut conn)
                else {
                    break;
                };
                all.extend(batch.into_iter().map(|key| (node.clone(), key)));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        all
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        for (node, key) in self.keys() {
            if let Ok(mut conn) =
                redis::Client::open(node.as_str()).and_then(|c| c.get_connection())
            {
                let _: Result<i64, _> = redis::cmd("UNLINK").arg(&key).query(&mut conn);
            }
        }
    }
}

/// The conformance suite's raw access to one test's keys on the cluster: each key read on the
/// node that holds it, records overwritten through a cluster connection.
#[derive(Debug)]
pub(crate) struct ClusterRaw {
    nodes: Vec<String>,
    prefix: String,
}

impl ClusterRaw {
    pub(crate) fn of(guard: &ClusterGuard) -> Self {
        ClusterRaw {
            nodes: guard.nodes.clone(),
            prefix: guard.prefix.clone(),
        }
    }
}

#[async_trait]
impl RawAccess for ClusterRaw {
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
        let guard = ClusterGuard {
            nodes: self.nodes.clone(),
            prefix: self.prefix.clone(),
        };
        let keys = guard.keys();
        std::mem::forget(guard); // only listing: the test's own guard deletes the keys
        let mut all = Vec::new();
        for (node, key) in keys {
            let client = redis::Client::open(node.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            let Some(values) = common::key_contents(&mut conn, key.as_bytes()).await? else {
                continue;
            };
            all.push(key.into_bytes());
            all.extend(values);
        }
        Ok(all)
    }

    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
        let client = redis::cluster::ClusterClient::new(self.nodes.iter().map(String::as_str))?;
        let mut conn = client.get_async_connection().await?;
        common::overwrite_record_bytes(&mut conn, &record_key(&self.prefix, key), bytes).await
    }
}

/// A Redis Cluster of our own: `redis-server --cluster-enabled yes` processes on free loopback
/// ports (each also binds its port + 10000, the cluster bus), in a temporary directory, without
/// persistence; killed on drop.
#[derive(Debug)]
pub(crate) struct PrivateCluster {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    port: u16,
    child: Option<Child>,
}

impl PrivateCluster {
    /// Starts `primaries` primaries with `replicas` replicas each and waits until every node
    /// reports `cluster_state:ok`.
    pub(crate) fn start(primaries: usize, replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let count = primaries * (1 + replicas);
        let mut cluster = PrivateCluster {
            dir,
            nodes: free_cluster_ports(count)
                .into_iter()
                .map(|port| Node { port, child: None })
                .collect(),
        };
        for i in 0..count {
            cluster.spawn(i);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli must be installed (Debian package redis-tools)");
        assert!(status.success(), "redis-cli --cluster create failed");
        cluster.wait_ok(Duration::from_secs(20));
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let port = self.nodes[i].port;
        let node_dir = self.dir.path().join(port.to_string());
        std::fs::create_dir_all(&node_dir).expect("node dir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
            .arg("--cluster-config-file")
            .arg(node_dir.join("nodes.conf"))
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&node_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.nodes[i].child = Some(child);
        wait_port(port);
    }

    /// The URLs of every node.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The port of the primary serving `key` now.
    pub(crate) fn primary_of(&self, key: &str) -> u16 {
        for node in self.live_nodes() {
            let Ok(mut conn) = connection(node) else {
                continue;
            };
            let slot: i64 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(key)
                .query(&mut conn)
                .expect("CLUSTER KEYSLOT");
            let nodes: String = redis::cmd("CLUSTER")
                .arg("NODES")
                .query(&mut conn)
                .expect("CLUSTER NODES");
            for line in nodes.lines() {
                let fields: Vec<&str> = line.split(' ').collect();
                if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                    continue;
                }
                let serves = fields[8..].iter().any(|range| {
                    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                    matches!((lo.parse::<i64>(), hi.parse::<i64>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
                });
                if serves {
                    let port = fields[1].split(['@', ':']).nth(1).expect("node address");
                    return port.parse().expect("port");
                }
            }
        }
        panic!("no primary serves {key}");
    }

    fn live_nodes(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
    }

    /// Kills the node on `port` (SIGKILL: no goodbye to the cluster).
    pub(crate) fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("node");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node on `port` again, with its `nodes.conf` (so it rejoins as itself).
    pub(crate) fn restart(&mut self, port: u16) {
        let i = self
            .nodes
            .iter()
            .position(|n| n.port == port)
            .expect("node");
        self.spawn(i);
    }

    /// Waits until every live node reports `cluster_state:ok`.
    pub(crate) fn wait_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ok = self.live_nodes().all(|port| {
                connection(port)
                    .and_then(|mut conn| {
                        redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut conn)
                    })
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn connection(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    client.get_connection_with_timeout(Duration::from_secs(1))
}

/// `count` loopback ports `p` whose cluster-bus port `p + 10000` is free too.
fn free_cluster_ports(count: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    while ports.len() < count {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        if port > 55_000 || ports.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            ports.push(port);
        }
    }
    ports
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
