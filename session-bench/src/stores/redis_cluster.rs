//! The stores part's Redis Cluster row: `RedisStore` on the cluster `REDIS_CLUSTER_NODES` names
//! (`cargo xtask bench` starts a 3-primary one on loopback) against the same cluster's `GET` /
//! `SET` through redis-rs' cluster connection, and the target that the store stays within 1.5x
//! of that floor.

use redis::cluster_async::ClusterConnection;
use session_adapters::{RedisStore, RedisStoreConfig};

use super::{Counts, Measured};
use crate::{context, fail, BoxError, Target};

/// The cluster's node URLs, from `REDIS_CLUSTER_NODES`.
pub(super) fn nodes() -> Result<Vec<String>, BoxError> {
    let nodes: Vec<String> = std::env::var("REDIS_CLUSTER_NODES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if nodes.is_empty() {
        return Err(fail(
            "REDIS_CLUSTER_NODES is not set: run the stores part through `cargo xtask bench`, \
             which starts a Redis Cluster",
        ));
    }
    Ok(nodes)
}

/// Measures the store and its floor on the cluster, under `prefix`; removes the keys after.
pub(super) async fn part(
    nodes: &[String],
    prefix: &str,
    c: Counts,
    reps: usize,
) -> Result<(Measured, u64), BoxError> {
    let client = redis::cluster::ClusterClient::new(nodes.iter().map(String::as_str))
        .map_err(context("Redis Cluster nodes"))?;
    let mut conn = client
        .get_async_connection()
        .await
        .map_err(context(format!(
            "connect to the Redis Cluster at {nodes:?}"
        )))?;
    let measured = measure(nodes, prefix, &mut conn, c, reps).await;
    let removed = cleanup(nodes, prefix).await;
    Ok((measured?, removed?))
}

async fn measure(
    nodes: &[String],
    prefix: &str,
    conn: &mut ClusterConnection,
    c: Counts,
    reps: usize,
) -> Result<Measured, BoxError> {
    let config = RedisStoreConfig::cluster(nodes.iter().cloned()).key_prefix(prefix);
    let store = RedisStore::connect(config)
        .await
        .map_err(context("connect RedisStore to the cluster"))?;
    let mut m = Measured::new(
        "RedisStore on a 3-primary Redis Cluster",
        Some(("cluster GET", "cluster SET")),
    );
    super::against_get_set(&mut m, &store, &format!("{prefix}floor"), conn, c, reps).await?;
    Ok(m)
}

/// Deletes every key under `prefix` on every node: SCAN MATCH on each node, then one `DEL` per
/// key (a node refuses a `DEL` of keys in different slots).
async fn cleanup(nodes: &[String], prefix: &str) -> Result<u64, BoxError> {
    let mut removed = 0;
    for node in nodes {
        let client = redis::Client::open(node.as_str()).map_err(context("node URL"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1_000)
                .query_async(&mut conn)
                .await?;
            for key in keys {
                removed += redis::cmd("DEL")
                    .arg(key)
                    .query_async::<u64>(&mut conn)
                    .await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(removed)
}

/// The cluster row against its floor (<= 1.5x) and against the single-server store.
pub(super) fn target(cluster: &Measured, single: &Measured) -> Target {
    let (load, floor_load) = (cluster.load.median(), cluster.floor_load.median());
    let (save, floor_save) = (cluster.save.median(), cluster.floor_save.median());
    let load_x = load.ratio_of_medians(&floor_load);
    let save_x = save.ratio_of_medians(&floor_save);
    Target {
        name: "RedisStore on a Redis Cluster: load and save <= 1.5x the cluster's GET / SET".into(),
        met: load_x <= 1.5 && save_x <= 1.5,
        figure: format!(
            "load {load_x:.2}x ({:.1} us against {:.1} us), save {save_x:.2}x ({:.1} us against \
             {:.1} us), medians.",
            load.median, floor_load.median, save.median, floor_save.median
        ),
        detail: vec![format!(
            "Against the same store on the single server in this run: load {:.2}x, save {:.2}x \
             (a signed-in save on the cluster is one script call, like the single server's, \
             while its index entry is ahead of the record's expiry).",
            load.ratio_of_medians(&single.load.median()),
            save.ratio_of_medians(&single.save.median())
        )],
    }
}
