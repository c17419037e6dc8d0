//! [`SqliteOpenError`] (why a database could not be opened) and the mapping of SQLite errors to
//! [`StoreError`].

use std::path::PathBuf;

use rusqlite::ErrorCode;
use session_core::store::{BoxError, RecordFormatError, StoreError};

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed. These are fatal: the application
/// should refuse to start rather than serve without its sessions.
///
/// No variant ever deletes, recreates or rewrites the file it complains about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteOpenError {
    /// The directory that should hold the database does not exist. It is not created: a
    /// missing directory is usually a typo or an unmounted volume.
    #[error("the session database directory {dir:?} does not exist")]
    MissingDirectory {
        /// The missing directory.
        dir: PathBuf,
    },
    /// The file exists but is not a SQLite database, or its header is damaged. It was left
    /// untouched; restore it from a backup or move it away.
    #[error(
        "the session database {path:?} is not a SQLite database or is corrupt (left untouched)"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: BoxError,
    },
    /// The database was written by a newer version of this crate, or by something else: its
    /// `PRAGMA user_version` is higher than any schema this build knows (or negative). Upgrade
    /// the application, or use another file. Nothing was changed.
    #[error("the session database has schema version {found}, which this build does not know (it supports up to {supported})")]
    NewerSchema {
        /// The `user_version` found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// A read-only store found a database without the current schema (missing or older). Open it
    /// read-write once to create or migrate the schema.
    #[error("the session database has schema version {found} but this build needs {supported}, and a read-only store cannot migrate it")]
    SchemaNotReady {
        /// The `user_version` found in the file (0 for an empty database).
        found: i64,
        /// The schema version this build needs.
        supported: i64,
    },
    /// SQLite failed while opening, configuring or migrating the database.
    #[error("cannot open the session database: {context}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// SQLite's error.
        #[source]
        source: BoxError,
    },
}

impl SqliteOpenError {
    pub(crate) fn sqlite(
        context: &'static str,
        path: Option<&std::path::Path>,
        err: rusqlite::Error,
    ) -> Self {
        match (err.sqlite_error_code(), path) {
            (Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt), Some(path)) => {
                SqliteOpenError::NotADatabase {
                    path: path.to_owned(),
                    source: Box::new(err),
                }
            }
            _ => SqliteOpenError::Sqlite {
                context,
                source: Box::new(err),
            },
        }
    }
}

/// Maps a SQLite error to the [`StoreError`] kind callers act on.
///
/// `SQLITE_CORRUPT` and `SQLITE_NOTADB` mean the database file itself is damaged:
/// [`StoreError::EngineCorrupt`], never [`StoreError::Corrupt`] (which is for one record that does
/// not decode, and makes the manager delete that session).
pub(crate) fn store_error(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => StoreError::read_only(err),
        Some(ErrorCode::DiskFull | ErrorCode::OutOfMemory) => StoreError::full(err),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::timeout(err),
        Some(ErrorCode::CannotOpen | ErrorCode::SystemIoFailure) => StoreError::unavailable(err),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::engine_corrupt(err)
        }
        _ => StoreError::backend(err),
    }
}

/// Why one stored record could not be decoded: the source of a [`StoreError::Corrupt`].
///
/// It names the format version or the kind and position of the JSON error (session-core's
/// `RecordFormatError` never echoes stored bytes).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRecord {
    #[error(transparent)]
    Format(#[from] RecordFormatError),
    #[error("the stored record names another session key than the row it is stored in")]
    KeyMismatch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn a_damaged_file_maps_to_engine_corrupt_not_to_a_bad_record() {
        for code in [ffi::SQLITE_CORRUPT, ffi::SQLITE_NOTADB] {
            let err = store_error(sqlite(code));
            assert!(matches!(err, StoreError::EngineCorrupt { .. }), "{err:?}");
            assert!(!err.is_transient(), "{err:?}");
        }
    }

    #[test]
    fn engine_faults_map_to_their_kinds() {
        let kind = |code| match store_error(sqlite(code)) {
            StoreError::ReadOnly { .. } => "ReadOnly",
            StoreError::Full { .. } => "Full",
            StoreError::Timeout { .. } => "Timeout",
            StoreError::Unavailable { .. } => "Unavailable",
            StoreError::Backend { .. } => "Backend",
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(kind(ffi::SQLITE_READONLY), "ReadOnly");
        assert_eq!(kind(ffi::SQLITE_FULL), "Full");
        assert_eq!(kind(ffi::SQLITE_BUSY), "Timeout");
        assert_eq!(kind(ffi::SQLITE_IOERR), "Unavailable");
        assert_eq!(kind(ffi::SQLITE_MISMATCH), "Backend");
    }
}
