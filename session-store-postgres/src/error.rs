//! [`PostgresOpenError`] (why `connect` failed) and the mapping of PostgreSQL and pool errors to
//! typed [`StoreError`]s.
//!
//! Errors are classified by SQLSTATE, never by message text. No error kept here contains a
//! session key, a record's bytes, a user id or a password: PostgreSQL's own `message` and
//! `detail` fields quote values (`Key (key)=(\x...) already exists`), so a server error is kept as
//! its SQLSTATE and a fixed description only, and the connection target is always shown as
//! `host:port/database` without credentials.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::time::Duration;

use deadpool_postgres::{HookError, PoolError, TimeoutType};
use session_core::store::{BoxError, RecordFormatError, StoreError};

/// Why [`PostgresStore::connect`](crate::PostgresStore::connect) (or a token store's
/// constructor) failed. These are fatal at startup: the application should refuse to start
/// rather than serve without its sessions, or retry the connect itself for the transient ones
/// ([`is_transient`](PostgresOpenError::is_transient)).
///
/// No variant contains the password; the `target` is `host:port/database` as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresOpenError {
    /// The connection URL could not be parsed. The URL itself is not repeated (it may hold a
    /// password).
    #[error("invalid PostgreSQL connection URL: {reason}")]
    InvalidUrl {
        /// What was wrong, without the URL's text.
        reason: Cow<'static, str>,
    },
    /// The schema name is not a plain lowercase identifier (`[a-z_][a-z0-9_]*`, at most 63
    /// bytes, not starting with `pg_`).
    #[error("invalid PostgreSQL schema name {name:?}: use lowercase letters, digits and `_`, not starting with a digit or `pg_`, at most 63 bytes")]
    InvalidSchemaName {
        /// The name given.
        name: String,
    },
    /// The server could not be reached (refused, reset, shutting down, starting up).
    #[error("cannot connect to PostgreSQL at {target}")]
    Unavailable {
        /// `host:port/database`, without credentials.
        target: String,
        /// The typed store error with the driver's (redacted) error as its source.
        #[source]
        source: StoreError,
    },
    /// The server did not accept a connection within the
    /// [connect timeout](crate::PostgresStoreConfig::connect_timeout).
    #[error("PostgreSQL at {target} did not accept a connection within {after:?}")]
    TimedOut {
        /// `host:port/database`, without credentials.
        target: String,
        /// The connect timeout.
        after: Duration,
    },
    /// The schema was written by a newer version of this crate: its version row is higher than
    /// any version this build knows. Upgrade the application or use another schema. Nothing was
    /// changed.
    #[error("the PostgreSQL {table} schema has version {found}, which this build does not know (it supports up to {supported})")]
    NewerSchema {
        /// Which tables (`sessions`, `oauth_tokens`, `api_tokens`).
        table: &'static str,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The server refused or failed a step of the setup (creating the schema, migrating, a
    /// read-only database that still needs migrating, missing privileges).
    #[error("cannot set up the PostgreSQL session schema at {target}: {context}")]
    Setup {
        /// What the store was doing.
        context: &'static str,
        /// `host:port/database`, without credentials.
        target: String,
        /// The typed store error (its kind says whether it is transient).
        #[source]
        source: StoreError,
    },
}

impl PostgresOpenError {
    /// Whether trying again later may succeed: the server was unreachable, slow, read-only or
    /// full.
    ///
    /// ```
    /// use session_store_postgres::PostgresOpenError;
    ///
    /// let err = PostgresOpenError::InvalidUrl { reason: "no host".into() };
    /// assert!(!err.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            PostgresOpenError::Unavailable { .. } | PostgresOpenError::TimedOut { .. } => true,
            PostgresOpenError::Setup { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// Wraps a store error met while connecting or setting up.
    pub(crate) fn from_store(
        context: &'static str,
        target: &str,
        after: Duration,
        err: StoreError,
    ) -> Self {
        match err {
            StoreError::Unavailable { .. } => PostgresOpenError::Unavailable {
                target: target.to_owned(),
                source: err,
            },
            StoreError::Timeout { ref source } if source.is::<ConnectTimedOut>() => {
                PostgresOpenError::TimedOut {
                    target: target.to_owned(),
                    after,
                }
            }
            err => PostgresOpenError::Setup {
                context,
                target: target.to_owned(),
                source: err,
            },
        }
    }
}

/// A failed PostgreSQL call: the store operation and what the driver reported, as a SQLSTATE
/// and a fixed description (never the server's message or detail, which quote values).
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL {op} failed: {what}")]
pub(crate) struct PgError {
    op: &'static str,
    what: What,
}

/// What went wrong, without values.
#[derive(Debug)]
enum What {
    /// A server error: its SQLSTATE and the condition's name.
    Server {
        sqlstate: String,
        condition: &'static str,
    },
    /// A client-side failure (I/O, closed connection, protocol): the driver's top-level
    /// description and, for I/O, the OS error.
    Client {
        description: String,
        io: Option<io::ErrorKind>,
    },
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Server {
                sqlstate,
                condition,
            } => write!(f, "SQLSTATE {sqlstate} ({condition})"),
            What::Client {
                description,
                io: Some(kind),
            } => write!(f, "{description} ({kind})"),
            What::Client {
                description,
                io: None,
            } => f.write_str(description),
        }
    }
}

/// No connection became free within the pool timeout: every connection is busy.
#[derive(Debug, thiserror::Error)]
#[error("connection pool exhausted: no PostgreSQL connection became free within {waited:?} (pool size {size})")]
pub(crate) struct PoolExhausted {
    pub(crate) waited: Duration,
    pub(crate) size: usize,
}

/// Opening a new connection took longer than the connect timeout.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL did not accept a connection within {after:?}")]
pub(crate) struct ConnectTimedOut {
    pub(crate) after: Duration,
}

/// A whole store call (pool wait, statements, one retry) took longer than its bound.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL {op} did not complete within {after:?}")]
pub(crate) struct DeadlineExceeded {
    pub(crate) op: &'static str,
    pub(crate) after: Duration,
}

/// The pool is closed or failed in a way that has no PostgreSQL error.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL connection pool: {0}")]
pub(crate) struct PoolFailure(pub(crate) &'static str);

/// Why one stored record could not be decoded: the source of a [`StoreError::Corrupt`]. Never
/// quotes the stored bytes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRecord {
    #[error(transparent)]
    Format(#[from] RecordFormatError),
    #[error("the stored record names another session key than the row it is stored in")]
    KeyMismatch,
}

/// The SQLSTATE class of `code` (its first two characters).
fn class(code: &str) -> &str {
    code.get(..2).unwrap_or(code)
}

/// Whether a failure of this SQLSTATE is worth one retry inside the store:
/// `40001` serialization_failure, `40P01` deadlock_detected.
pub(crate) fn is_retryable(err: &tokio_postgres::Error) -> bool {
    matches!(err.code().map(|c| c.code()), Some("40001" | "40P01"))
}

/// Whether the error is a unique or primary-key violation (`23505`).
#[cfg(feature = "auth")]
pub(crate) fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code().map(|c| c.code()) == Some("23505")
}

/// The kind a server error of SQLSTATE `code` maps to, and its condition name.
fn classify_sqlstate(code: &str) -> (Kind, &'static str) {
    match code {
        "57P01" => (Kind::Unavailable, "admin_shutdown"),
        "57P02" => (Kind::Unavailable, "crash_shutdown"),
        "57P03" => (Kind::Unavailable, "cannot_connect_now"),
        "53300" => (Kind::Unavailable, "too_many_connections"),
        "25006" => (Kind::ReadOnly, "read_only_sql_transaction"),
        "57014" => (Kind::Timeout, "query_canceled"),
        "55P03" => (Kind::Timeout, "lock_not_available"),
        "53100" => (Kind::Full, "disk_full"),
        "53200" => (Kind::Full, "out_of_memory"),
        "XX001" => (Kind::EngineCorrupt, "data_corrupted"),
        "XX002" => (Kind::EngineCorrupt, "index_corrupted"),
        "40001" => (Kind::Backend, "serialization_failure"),
        "40P01" => (Kind::Backend, "deadlock_detected"),
        "23505" => (Kind::Backend, "unique_violation"),
        "42P07" => (Kind::Backend, "duplicate_table"),
        "42501" => (Kind::Backend, "insufficient_privilege"),
        "3D000" => (Kind::Backend, "invalid_catalog_name"),
        "28000" => (Kind::Backend, "invalid_authorization_specification"),
        "28P01" => (Kind::Backend, "invalid_password"),
        code if class(code) == "08" => (Kind::Unavailable, "connection_exception"),
        code if class(code) == "53" => (Kind::Full, "insufficient_resources"),
        code if class(code) == "XX" => (Kind::Backend, "internal_error"),
        _ => (Kind::Backend, "error"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unavailable,
    Timeout,
    ReadOnly,
    Full,
    EngineCorrupt,
    Backend,
}

impl Kind {
    fn wrap(self, source: impl Into<BoxError>) -> StoreError {
        match self {
            Kind::Unavailable => StoreError::unavailable(source),
            Kind::Timeout => StoreError::timeout(source),
            Kind::ReadOnly => StoreError::read_only(source),
            Kind::Full => StoreError::full(source),
            Kind::EngineCorrupt => StoreError::engine_corrupt(source),
            Kind::Backend => StoreError::backend(source),
        }
    }
}

/// Maps a driver error of store operation `op` to the [`StoreError`] kind callers act on.
pub(crate) fn pg_error(op: &'static str, err: &tokio_postgres::Error) -> StoreError {
    if let Some(code) = err.code() {
        let (kind, condition) = classify_sqlstate(code.code());
        let what = What::Server {
            sqlstate: code.code().to_owned(),
            condition,
        };
        return kind.wrap(PgError { op, what });
    }
    let io = std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    // The top-level Display of a non-server error is a fixed phrase ("connection closed",
    // "error connecting to server"); its source is not kept.
    let what = What::Client {
        description: err.to_string(),
        io,
    };
    let error = PgError { op, what };
    match io {
        Some(io::ErrorKind::TimedOut) => StoreError::timeout(error),
        Some(_) => StoreError::unavailable(error),
        None if err.is_closed() => StoreError::unavailable(error),
        None => StoreError::backend(error),
    }
}

/// Maps a failure to get a connection from the pool.
pub(crate) fn pool_error(
    op: &'static str,
    err: PoolError,
    pool_timeout: Duration,
    connect_timeout: Duration,
    size: usize,
) -> StoreError {
    match err {
        PoolError::Timeout(TimeoutType::Wait) => StoreError::timeout(PoolExhausted {
            waited: pool_timeout,
            size,
        }),
        PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => {
            StoreError::timeout(ConnectTimedOut {
                after: connect_timeout,
            })
        }
        PoolError::Backend(e) => pg_error(op, &e),
        PoolError::PostCreateHook(HookError::Backend(e)) => pg_error(op, &e),
        PoolError::PostCreateHook(HookError::Message(_)) => {
            StoreError::backend(PoolFailure("a new connection could not be configured"))
        }
        PoolError::Closed => StoreError::unavailable(PoolFailure("the pool is closed")),
        PoolError::NoRuntimeSpecified => {
            StoreError::backend(PoolFailure("no runtime was given to the pool"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: &str) -> Kind {
        classify_sqlstate(code).0
    }

    #[test]
    fn sqlstates_map_to_their_kinds() {
        for code in ["57P01", "57P03", "08006", "08001", "08P01"] {
            assert_eq!(kind(code), Kind::Unavailable, "{code}");
        }
        assert_eq!(kind("25006"), Kind::ReadOnly);
        assert_eq!(kind("57014"), Kind::Timeout);
        assert_eq!(kind("53100"), Kind::Full);
        assert_eq!(kind("XX001"), Kind::EngineCorrupt);
        assert_eq!(kind("XX002"), Kind::EngineCorrupt);
        assert_eq!(kind("XX000"), Kind::Backend);
        assert_eq!(kind("40001"), Kind::Backend);
        assert_eq!(kind("42601"), Kind::Backend);
    }

    #[test]
    fn transient_kinds_are_transient() {
        for k in [Kind::Unavailable, Kind::Timeout, Kind::ReadOnly, Kind::Full] {
            assert!(k.wrap("x").is_transient(), "{k:?}");
        }
        for k in [Kind::EngineCorrupt, Kind::Backend] {
            assert!(!k.wrap("x").is_transient(), "{k:?}");
        }
    }

    #[test]
    fn a_server_error_shows_only_its_sqlstate() {
        let err = PgError {
            op: "save",
            what: What::Server {
                sqlstate: "23505".into(),
                condition: "unique_violation",
            },
        };
        assert_eq!(
            err.to_string(),
            "PostgreSQL save failed: SQLSTATE 23505 (unique_violation)"
        );
    }
}
