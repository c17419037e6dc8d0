//! How Redis errors become typed [`StoreError`]s, and the error types kept as their `source`.
//!
//! No message here contains a session key, a record's bytes or a password: Redis' own error
//! replies name commands and types, never arguments, and the connection target is always shown
//! redacted.

use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use session_core::store::{RecordFormatError, StoreError};

/// A failed Redis call: which store operation, and Redis' error.
#[derive(Debug, thiserror::Error)]
#[error("Redis {op} failed")]
pub(crate) struct CallError {
    op: &'static str,
    #[source]
    source: RedisError,
}

/// The whole store call, reconnect included, took longer than its deadline.
#[derive(Debug, thiserror::Error)]
#[error("Redis {op} did not complete within {after:?}")]
pub(crate) struct DeadlineExceeded {
    pub(crate) op: &'static str,
    pub(crate) after: Duration,
}

/// `connect` could not reach or use the server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("cannot connect to Redis at {target}")]
    Unreachable {
        target: String,
        #[source]
        source: RedisError,
    },
    #[error("authentication to Redis at {target} failed (check the user and password)")]
    Authentication {
        target: String,
        #[source]
        source: RedisError,
    },
    #[error("Redis at {target} did not answer within {after:?}")]
    TimedOut { target: String, after: Duration },
    #[error("invalid Redis URL {target}")]
    InvalidUrl {
        target: String,
        #[source]
        source: RedisError,
    },
}

/// The server answered a script with something the store never returns.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply {reply} from the Redis {op} script")]
pub(crate) struct UnexpectedReply {
    pub(crate) op: &'static str,
    pub(crate) reply: i64,
}

/// Why one stored record could not be read: the source of a [`StoreError::Corrupt`].
///
/// Never quotes the stored bytes ([`RecordFormatError`] keeps only the kind and position of a
/// problem).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRecord {
    #[error(transparent)]
    Format(#[from] RecordFormatError),
    #[error("a Redis key of the store holds another type than the store writes there")]
    WrongType,
    #[error("the stored record belongs to another session key")]
    KeyMismatch,
}

/// Whether the server rejected the command because the key holds another type.
pub(crate) fn is_wrong_type(err: &RedisError) -> bool {
    err.code() == Some("WRONGTYPE")
}

/// Whether the error means the credentials were missing or wrong.
fn is_auth_failure(err: &RedisError) -> bool {
    err.kind() == ErrorKind::AuthenticationFailed
        || matches!(err.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// Maps an error of store operation `op` to the [`StoreError`] kind callers act on.
pub(crate) fn store_error(op: &'static str, err: RedisError) -> StoreError {
    let kind = err.kind();
    let out_of_memory =
        err.code() == Some("OOM") || err.detail().is_some_and(|d| d.starts_with("OOM"));
    let wrong_type = is_wrong_type(&err);
    let timeout = err.is_timeout();
    let unreachable = err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || matches!(
            kind,
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    // A redirection the cluster client could not follow (the node it names
                    // is down): the slot has no reachable primary.
                    | ServerErrorKind::Moved
                    | ServerErrorKind::Ask
            ) | ErrorKind::ClusterConnectionNotFound
        );
    let call = CallError { op, source: err };
    if timeout {
        StoreError::timeout(call)
    } else if unreachable {
        StoreError::unavailable(call)
    } else if kind == ErrorKind::Server(ServerErrorKind::ReadOnly) {
        StoreError::read_only(call)
    } else if out_of_memory {
        StoreError::full(call)
    } else if wrong_type {
        StoreError::corrupt(CorruptRecord::WrongType)
    } else {
        // Everything else, NOAUTH/WRONGPASS/NOPERM included: Redis' replies to those name the
        // failure, never the password.
        StoreError::backend(call)
    }
}

/// Maps an error of `connect` to a [`StoreError`] naming the redacted `target`.
pub(crate) fn connect_error(target: String, err: RedisError) -> StoreError {
    if is_auth_failure(&err) {
        StoreError::backend(ConnectError::Authentication {
            target,
            source: err,
        })
    } else if err.kind() == ErrorKind::InvalidClientConfig {
        StoreError::backend(ConnectError::InvalidUrl {
            target,
            source: err,
        })
    } else if err.is_timeout() {
        StoreError::timeout(ConnectError::Unreachable {
            target,
            source: err,
        })
    } else {
        StoreError::unavailable(ConnectError::Unreachable {
            target,
            source: err,
        })
    }
}
