//! [`PostgresStoreConfig`]: where the database is, which schema holds the tables, and the pool's
//! limits.

use std::fmt;
use std::time::Duration;

#[cfg(doc)]
use session_core::store::DEFAULT_PURGE_INTERVAL;
use session_core::store::{PurgeSchedule, DEFAULT_PURGE_BATCH};

use crate::error::PostgresOpenError;

/// The URL [`PostgresStoreConfig::from_env`] uses when `POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How to connect a [`PostgresStore`](crate::PostgresStore) (and the token stores of feature
/// `auth`, which share its pool).
///
/// `Debug` shows the URL with its password replaced by `***`.
///
/// ```
/// use std::time::Duration;
/// use session_store_postgres::PostgresStoreConfig;
///
/// let config = PostgresStoreConfig::new("postgres://app:s3cret@db.internal:5432/app")
///     .schema("sessions")
///     .pool_size(8)
///     .pool_timeout(Duration::from_secs(1))
///     .connect_timeout(Duration::from_secs(2))
///     .statement_timeout(Duration::from_secs(3))
///     .purge_batch(500);
/// assert_eq!(config.schema_name(), "sessions");
/// let shown = format!("{config:?}");
/// assert!(shown.contains("db.internal") && !shown.contains("s3cret"), "{shown}");
/// ```
#[derive(Clone)]
pub struct PostgresStoreConfig {
    pub(crate) url: String,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) pool_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) purge_batch: usize,
    pub(crate) purge: Option<PurgeSchedule>,
}

impl fmt::Debug for PostgresStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreConfig")
            .field("url", &redact_url(&self.url))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("pool_timeout", &self.pool_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("purge_batch", &self.purge_batch)
            .field("background_purge", &self.purge)
            .finish()
    }
}

impl PostgresStoreConfig {
    /// Sessions in the database at `url`: a `postgres://user:password@host:port/database` URL
    /// or a `host=... user=... dbname=...` key-value string, as `tokio-postgres` reads them.
    /// Only plain TCP (or Unix sockets) without TLS: keep the database on a private network or
    /// a local socket.
    ///
    /// Defaults: schema `public`, 16 connections, a 2 s pool timeout, a 5 s connect timeout, a
    /// 5 s statement timeout, purge batches of [`DEFAULT_PURGE_BATCH`] rows, and a background
    /// purge every [`DEFAULT_PURGE_INTERVAL`].
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("host=127.0.0.1 user=postgres dbname=app");
    /// assert_eq!(config.schema_name(), "public");
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        PostgresStoreConfig {
            url: url.into(),
            schema: "public".to_owned(),
            pool_size: 16,
            pool_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            purge_batch: DEFAULT_PURGE_BATCH,
            purge: Some(PurgeSchedule::default()),
        }
    }

    /// The URL from the environment variable `POSTGRES_URL`, or [`DEFAULT_POSTGRES_URL`]
    /// (`postgres://postgres@127.0.0.1:5432/postgres`) when it is not set.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::from_env();
    /// assert_eq!(config.schema_name(), "public");
    /// ```
    pub fn from_env() -> Self {
        Self::new(std::env::var("POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned()))
    }

    /// The schema that holds every table of the store (default `public`); created if missing.
    ///
    /// It must be a plain lowercase identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes, not
    /// starting with `pg_`), so it can be quoted into SQL safely; anything else fails
    /// `connect` with [`PostgresOpenError::InvalidSchemaName`]. Give the sessions a schema of
    /// their own when the database is shared with the application.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// assert_eq!(PostgresStoreConfig::new("postgres://db/app").schema("auth").schema_name(), "auth");
    /// ```
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = name.into();
        self
    }

    /// The most connections the pool opens (default 16, at least 1). Connections are opened
    /// lazily after the first one, and replaced when the server closes them.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app").pool_size(0);
    /// assert!(format!("{config:?}").contains("pool_size: 1"));
    /// ```
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long a call waits for a free connection when all are busy (default 2 s). When it
    /// elapses, the call fails with `StoreError::Timeout` whose source says "connection pool
    /// exhausted" (transient: adapters answer 503).
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app").pool_timeout(Duration::from_millis(250));
    /// assert!(format!("{config:?}").contains("250ms"));
    /// ```
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = timeout;
        self
    }

    /// How long opening one connection may take (default 5 s): TCP connect, startup and the
    /// `SET statement_timeout`. A server that does not answer in time gives
    /// `StoreError::Timeout` (or [`PostgresOpenError::TimedOut`] at `connect`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app").connect_timeout(Duration::from_secs(1));
    /// assert!(format!("{config:?}").contains("connect_timeout: 1s"));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The server-side limit for one statement (default 5 s, at least 1 ms), set on every
    /// connection with `SET statement_timeout`. A statement that runs longer (for instance
    /// waiting for a row lock another connection holds) is cancelled by the server and the call
    /// fails with `StoreError::Timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app").statement_timeout(Duration::from_millis(500));
    /// assert!(format!("{config:?}").contains("statement_timeout: 500ms"));
    /// ```
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The most rows one `DELETE` of [`purge_expired`](session_core::SessionStore::purge_expired)
    /// removes (default [`DEFAULT_PURGE_BATCH`], at least 1); it repeats until a batch is short,
    /// so no statement holds many row locks.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app").purge_batch(100);
    /// assert!(format!("{config:?}").contains("purge_batch: 100"));
    /// ```
    pub fn purge_batch(mut self, rows: usize) -> Self {
        self.purge_batch = rows.max(1);
        self
    }

    /// How the store deletes expired sessions by itself: `Some(schedule)` (the default,
    /// [`PurgeSchedule::default`]) or `None` for never.
    ///
    /// When on, a [`session_core::store::BackgroundPurge`] thread runs from `connect` until the
    /// store is dropped: every [`PurgeSchedule::interval`] it deletes up to
    /// [`PurgeSchedule::batch`] rows whose expiry has passed by the system clock, and goes on at
    /// once while it finds full batches. Several application nodes may purge the same schema at
    /// once: batches use `FOR UPDATE SKIP LOCKED`, so they never wait for each other.
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_core::store::PurgeSchedule;
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://db/app")
    ///     .background_purge(Some(PurgeSchedule::new(Duration::from_secs(300), 500)));
    /// assert_eq!(config.purge_schedule().map(|s| s.batch()), Some(500));
    /// assert_eq!(config.background_purge(None).purge_schedule(), None);
    /// ```
    pub fn background_purge(mut self, schedule: Option<PurgeSchedule>) -> Self {
        self.purge = schedule;
        self
    }

    /// The background purge's schedule, or `None` when it is off.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// assert!(PostgresStoreConfig::new("postgres://db/app").purge_schedule().is_some());
    /// ```
    pub fn purge_schedule(&self) -> Option<PurgeSchedule> {
        self.purge
    }

    /// The schema name, as given (validated at `connect`).
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// assert_eq!(PostgresStoreConfig::new("postgres://db/app").schema_name(), "public");
    /// ```
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// The URL with its password replaced by `***`, for logs.
    ///
    /// ```
    /// use session_store_postgres::PostgresStoreConfig;
    /// let config = PostgresStoreConfig::new("postgres://app:hunter2@db:5432/app");
    /// assert_eq!(config.redacted_url(), "postgres://app:***@db:5432/app");
    /// let config = PostgresStoreConfig::new("host=db user=app password='hunter 2' dbname=app");
    /// assert_eq!(config.redacted_url(), "host=db user=app password=*** dbname=app");
    /// ```
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The schema name, checked to be a plain identifier that can be quoted as is.
    pub(crate) fn checked_schema(&self) -> Result<&str, PostgresOpenError> {
        let name = self.schema.as_str();
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 && !name.starts_with("pg_") {
            Ok(name)
        } else {
            Err(PostgresOpenError::InvalidSchemaName {
                name: name.to_owned(),
            })
        }
    }
}

/// `url` with the password (URL userinfo, a `password=` query parameter or key-value pair)
/// replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, hosts)) => match userinfo.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{hosts}"),
                    None => format!("{userinfo}@{hosts}"),
                },
                None => authority.to_owned(),
            };
            let tail = match tail.split_once('?') {
                Some((path, query)) => {
                    let query: Vec<String> = query
                        .split('&')
                        .map(|pair| match pair.split_once('=') {
                            Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                                format!("{key}=***")
                            }
                            _ => pair.to_owned(),
                        })
                        .collect();
                    format!("{path}?{}", query.join("&"))
                }
                None => tail.to_owned(),
            };
            format!("{scheme}://{authority}{tail}")
        }
        None => redact_key_value(url),
    }
}

/// A `key=value ...` connection string with the value of `password` replaced (values may be
/// single-quoted with `\'` escapes, as libpq reads them).
fn redact_key_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        out.push_str(&rest[..rest.len() - trimmed.len()]);
        rest = trimmed;
        if rest.is_empty() {
            return out;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        out.push_str(key);
        rest = &rest[key_end..];
        let after_space = rest.trim_start();
        let Some(value) = after_space.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let mut len = quoted.len() + 1;
            for (i, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '\'' if !escaped => {
                        len = i + 2;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            len
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out.push('=');
        if key.eq_ignore_ascii_case("password") {
            out.push_str("***");
        } else {
            out.push_str(&value[..value_len]);
        }
        rest = &value[value_len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_every_url_form() {
        let cases = [
            ("postgres://u:pw@h:1/db", "postgres://u:***@h:1/db"),
            (
                "postgresql://u:pw@h/db?sslmode=disable",
                "postgresql://u:***@h/db?sslmode=disable",
            ),
            (
                "postgres://u@h/db?password=pw",
                "postgres://u@h/db?password=***",
            ),
            ("postgres://u:p@w@h/db", "postgres://u:***@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            ("host=h password=pw user=u", "host=h password=*** user=u"),
            (
                "host=h password = 'p w\\'x' user=u",
                "host=h password=*** user=u",
            ),
            ("password=pw", "password=***"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        let ok = |s: &str| {
            PostgresStoreConfig::new("x")
                .schema(s)
                .checked_schema()
                .is_ok()
        };
        assert!(ok("public") && ok("t_0123abcd") && ok("_x"));
        for bad in [
            "",
            "Public",
            "a-b",
            "a\"b",
            "1a",
            "pg_temp",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
    }
}
