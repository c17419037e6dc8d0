//! [`RedisStoreConfig`]: where the Redis server is, the key prefix and the timeouts.

use std::fmt;
use std::time::Duration;

/// The URL used when `REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// The key prefix used unless [`RedisStoreConfig::key_prefix`] sets another.
pub const DEFAULT_KEY_PREFIX: &str = "session:";
const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// How to reach Redis and how to lay out keys there.
///
/// `Debug` shows the URL with its credentials (user info and query string) replaced by
/// `<redacted>`, so the config can be logged.
///
/// ```
/// use std::time::Duration;
/// use session_store_redis::RedisStoreConfig;
///
/// let config = RedisStoreConfig::new("redis://:hunter2@cache.internal:6379/0")
///     .key_prefix("myapp:session:")
///     .response_timeout(Duration::from_millis(500));
/// let shown = format!("{config:?}");
/// assert!(shown.contains("cache.internal:6379"));
/// assert!(!shown.contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct RedisStoreConfig {
    pub(crate) url: String,
    pub(crate) key_prefix: String,
    pub(crate) response_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    /// The seed nodes of a Redis Cluster, when the store runs on one.
    #[cfg(feature = "cluster")]
    pub(crate) cluster_nodes: Option<Vec<String>>,
}

impl RedisStoreConfig {
    /// A config for the server at `url` (`redis://[user:password@]host[:port][/db]`, `rediss://`
    /// needs a TLS feature of the `redis` crate, or `redis+unix:///path?pass=...`), with the
    /// default prefix (`"session:"`) and timeouts (2 s per response, 1 s per connection attempt).
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreConfig {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            #[cfg(feature = "cluster")]
            cluster_nodes: None,
        }
    }

    /// A config for the URL in the environment variable `REDIS_URL`, or
    /// `redis://127.0.0.1:6379` when it is unset or not valid Unicode.
    pub fn from_env() -> Self {
        Self::new(std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned()))
    }

    /// A config for the Redis Cluster whose nodes the environment variable
    /// `REDIS_CLUSTER_NODES` names (comma-separated URLs; feature `cluster`), or `None` when it
    /// is unset or names none.
    ///
    /// ```
    /// use session_store_redis::RedisStoreConfig;
    ///
    /// if let Some(config) = RedisStoreConfig::cluster_from_env() {
    ///     println!("sessions on {config:?}");
    /// }
    /// ```
    #[cfg(feature = "cluster")]
    pub fn cluster_from_env() -> Option<Self> {
        let nodes = std::env::var("REDIS_CLUSTER_NODES").ok()?;
        let nodes: Vec<&str> = nodes
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        (!nodes.is_empty()).then(|| Self::cluster(nodes))
    }

    /// A config for a Redis Cluster (feature `cluster`), given the URLs of some of its nodes
    /// (`redis://[user:password@]host:port`; the client learns the rest of the cluster from
    /// them).
    ///
    /// On a cluster every call of the session store touches one key, so one hash slot; the
    /// user index is kept correct across slots by the order of its writes (the crate docs
    /// explain it). A slot without a primary makes the calls on its keys fail as transient
    /// ([`StoreError::Unavailable`](session_core::store::StoreError::Unavailable) or `Timeout`:
    /// 503) until a replica is promoted or the node is back; the store finds the new primary by
    /// itself.
    ///
    /// ```
    /// use session_store_redis::RedisStoreConfig;
    ///
    /// let config = RedisStoreConfig::cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
    /// assert!(format!("{config:?}").contains("10.0.0.2"));
    /// ```
    #[cfg(feature = "cluster")]
    pub fn cluster<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        let mut config = Self::new(nodes.first().cloned().unwrap_or_default());
        config.cluster_nodes = Some(nodes);
        config
    }

    /// Prepends `prefix` to every key the store writes (default `"session:"`). Give each
    /// application sharing a server its own prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long to wait for the server's answer to one command before the call fails with
    /// `StoreError::Timeout` (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long one attempt to (re)connect may take (default 1 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// The URL with credentials replaced by `<redacted>`: safe for logs and error messages.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The URL, or for a cluster its seed URLs joined by `,`, with credentials redacted: what
    /// errors and `Debug` output name.
    pub(crate) fn redacted_target(&self) -> String {
        #[cfg(feature = "cluster")]
        if let Some(nodes) = &self.cluster_nodes {
            let nodes: Vec<String> = nodes.iter().map(|n| redact_url(n)).collect();
            return format!("cluster {}", nodes.join(","));
        }
        self.redacted_url()
    }
}

impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreConfig")
            .field("url", &self.redacted_target())
            .field("key_prefix", &self.key_prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .finish()
    }
}

/// Keeps scheme, host, port and path; replaces the user info (everything up to the last `@`)
/// and any query string or fragment (where unix-socket URLs carry `pass=`) with `<redacted>`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<redacted: not a URL>".to_owned();
    };
    let (user_info, rest) = match rest.rfind('@') {
        Some(at) => ("<redacted>@", &rest[at + 1..]),
        None => ("", rest),
    };
    let (location, query) = match rest.find(['?', '#']) {
        Some(start) => (&rest[..start], "?<redacted>"),
        None => (rest, ""),
    };
    format!("{scheme}://{user_info}{location}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_the_location_and_drops_credentials() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis://:s3cret@host:6380/2",
                "redis://<redacted>@host:6380/2",
            ),
            (
                "redis://user:s3cret@host/0?protocol=resp3",
                "redis://<redacted>@host/0?<redacted>",
            ),
            // A password that should have been percent-encoded but was not.
            ("redis://u:a/b@c?d@host", "redis://<redacted>@host"),
            (
                "redis+unix:///run/redis.sock?pass=s3cret",
                "redis+unix:///run/redis.sock?<redacted>",
            ),
            ("s3cret", "<redacted: not a URL>"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn defaults() {
        let config = RedisStoreConfig::new(DEFAULT_REDIS_URL);
        assert_eq!(config.key_prefix, "session:");
        assert_eq!(config.response_timeout, Duration::from_secs(2));
        assert_eq!(config.connection_timeout, Duration::from_secs(1));
    }
}
