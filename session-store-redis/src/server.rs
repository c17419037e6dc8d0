//! [`Server`]: the connection every store of this crate calls through (one server, or a Redis
//! Cluster with the feature `cluster`), and the deadline each call runs under.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, ScriptInvocation, Value};
use session_core::store::StoreError;

use crate::config::RedisStoreConfig;
use crate::error::{self, ConnectError, DeadlineExceeded};

/// How many times a failed (re)connection attempt is retried within one call.
const RECONNECT_RETRIES: usize = 1;
/// The pause before that retry (with jitter, at most [`RECONNECT_MAX_DELAY`]).
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(200);

/// A connection that reconnects by itself, to one server or to a cluster, and the deadline
/// every call runs under: what the stores of this crate share.
#[derive(Clone)]
pub(crate) struct Server {
    conn: Conn,
    /// The URL (or the cluster's seed URLs) with credentials redacted.
    pub(crate) target: String,
    pub(crate) deadline: Duration,
}

/// The two kinds of connection, behind one [`ConnectionLike`].
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server (or a replicated primary): a multiplexed connection that reconnects.
    Single(ConnectionManager),
    /// A Redis Cluster: redis-rs routes each command by its key's slot and follows `MOVED` and
    /// `ASK`, refreshing its slot map after a failover.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            #[cfg(feature = "cluster")]
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}

impl Server {
    /// Connects eagerly, as [`RedisStore::connect`](crate::RedisStore::connect) describes: to
    /// the cluster when the config names one, else to its one server.
    pub(crate) async fn connect(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        let target = config.redacted_target();
        let deadline =
            config.connection_timeout * 2 + RECONNECT_MAX_DELAY + config.response_timeout;
        let connecting = async {
            let mut conn = Self::open(config).await?;
            redis::cmd("PING").query_async::<()>(&mut conn).await?;
            Ok(conn)
        };
        let conn = match tokio::time::timeout(deadline, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(error::connect_error(target, err)),
            Err(_) => {
                return Err(StoreError::timeout(ConnectError::TimedOut {
                    target,
                    after: deadline,
                }))
            }
        };
        Ok(Server {
            conn,
            target,
            deadline,
        })
    }

    async fn open(config: &RedisStoreConfig) -> RedisResult<Conn> {
        #[cfg(feature = "cluster")]
        if let Some(nodes) = &config.cluster_nodes {
            // Retries wait 10..100 ms: within the deadline a slot whose primary just failed
            // is retried a few times (the replica's promotion takes the node timeout), then the
            // call fails as transient and the next one finds the new primary.
            let client = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
                .connection_timeout(config.connection_timeout)
                .response_timeout(config.response_timeout)
                .retries(3)
                .min_retry_wait(10)
                .max_retry_wait(100)
                .build()?;
            return Ok(Conn::Cluster(client.get_async_connection().await?));
        }
        let client = redis::Client::open(config.url.as_str())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.connection_timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        Ok(Conn::Single(
            ConnectionManager::new_with_config(client, manager_config).await?,
        ))
    }

    /// Whether this is a cluster connection: every call then touches one key (one slot).
    #[cfg(feature = "cluster")]
    pub(crate) fn is_cluster(&self) -> bool {
        match self.conn {
            Conn::Single(_) => false,
            #[cfg(feature = "cluster")]
            Conn::Cluster(_) => true,
        }
    }

    /// A handle on the connection (cheap: it is multiplexed).
    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }

    /// Runs one Redis call under the deadline and maps its error.
    pub(crate) async fn run<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.deadline, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(error::store_error(op, err)),
            Err(_) => Err(StoreError::timeout(DeadlineExceeded {
                op,
                after: self.deadline,
            })),
        }
    }

    /// Invokes a script under the deadline.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        op: &'static str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        self.run(op, invocation.invoke_async(&mut conn)).await
    }
}
