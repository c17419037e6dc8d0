//! Errors: how sled's errors become [`StoreError`]s, the open-time [`SledOpenError`], and
//! [`CorruptRecord`], the reason behind a [`StoreError::Corrupt`].
//!
//! No message or `Debug` output here carries a session key, an id or record data: a record that
//! does not decode is described by its format version or by the position of the parse error,
//! never by the parser's message (serde_json quotes the offending input in its messages).

use std::io;

use session_core::store::{RecordFormatError, StoreError, RECORD_FORMAT_VERSION};
use sled::transaction::TransactionError;

/// The store format version written to the meta tree (see the crate docs' layout section).
pub const STORE_FORMAT_VERSION: u32 = 1;

/// Why [`SledStore::open`](crate::SledStore::open) could not open the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SledOpenError {
    /// Another process (or another store in this process) holds the database's file lock.
    #[error("the session database is already in use by another process")]
    InUse {
        /// sled's error.
        source: sled::Error,
    },
    /// The database files cannot be read or written (missing permissions, not a directory, disk
    /// full).
    #[error("cannot open the session database: I/O error")]
    Io {
        /// sled's error.
        source: sled::Error,
    },
    /// sled found corrupt data. The files are left untouched: never wiped or recreated.
    #[error("the session database is corrupt (left untouched)")]
    Corrupt {
        /// sled's error.
        source: sled::Error,
    },
    /// The database was written with a session store format this build does not read.
    #[error(
        "the session database has store format {}, this build reads format {STORE_FORMAT_VERSION}",
        describe_format(.found)
    )]
    UnsupportedFormat {
        /// The format version found, or `None` if the stored tag is not a version at all.
        found: Option<u32>,
    },
    /// Any other sled failure while opening.
    #[error("cannot open the session database")]
    Backend {
        /// sled's error.
        source: sled::Error,
    },
}

fn describe_format(found: &Option<u32>) -> String {
    found.map_or_else(|| "<unreadable>".to_owned(), |v| v.to_string())
}

impl SledOpenError {
    /// Classifies an error from opening the database or its trees.
    pub(crate) fn from_sled(error: sled::Error) -> Self {
        match &error {
            sled::Error::Io(io) if is_lock_failure(io) => SledOpenError::InUse { source: error },
            sled::Error::Io(io) if io_class(io) == IoClass::Damaged => {
                SledOpenError::Corrupt { source: error }
            }
            sled::Error::Io(_) => SledOpenError::Io { source: error },
            sled::Error::Corruption { .. } => SledOpenError::Corrupt { source: error },
            _ => SledOpenError::Backend { source: error },
        }
    }
}

/// sled 0.34 reports a held file lock as an `Other` I/O error with this message (there is no
/// dedicated kind); the D1 test pins that behaviour.
fn is_lock_failure(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Other && error.to_string().contains("could not acquire lock")
}

/// Why one stored record cannot be read: the source of a [`StoreError::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptRecord {
    /// The record was written in another record format version.
    #[error("the record has format version {found}, this build reads {RECORD_FORMAT_VERSION}")]
    UnsupportedVersion {
        /// The version found in the record.
        found: u32,
    },
    /// The bytes are not a session record.
    #[error(
        "the stored bytes are not a session record ({kind} error at line {line}, column {column})"
    )]
    Malformed {
        /// The parser's error category (`syntax`, `data`, `eof`).
        kind: &'static str,
        /// Where parsing failed.
        line: usize,
        /// Where parsing failed.
        column: usize,
    },
    /// The record decodes but names another key than the one it is stored under.
    #[error("the record is stored under another key than its own")]
    MisplacedKey,
}

impl From<RecordFormatError> for CorruptRecord {
    fn from(error: RecordFormatError) -> Self {
        match error {
            RecordFormatError::UnsupportedVersion { found } => {
                CorruptRecord::UnsupportedVersion { found }
            }
            RecordFormatError::Invalid { kind, line, column } => {
                CorruptRecord::Malformed { kind, line, column }
            }
            _ => CorruptRecord::Malformed {
                kind: "unknown",
                line: 0,
                column: 0,
            },
        }
    }
}

/// Why a transaction closure gave up (sled rolls it back).
#[derive(Debug)]
pub(crate) enum Abort {
    Collision,
    Conflict,
    NotFound,
    Corrupt(CorruptRecord),
}

/// The [`StoreError`] for a sled error met while serving a call.
///
/// Damage to sled's own files is [`StoreError::EngineCorrupt`] (a 500; nothing is deleted):
/// sled's `Corruption` (a page or snapshot that fails its checksum), and the I/O errors that say
/// the same thing (`InvalidData`, which sled turns `Corruption` into when it passes it through
/// `io::Error`, and `UnexpectedEof`, a page pointer past the end of a truncated file). It is
/// never [`StoreError::Corrupt`], which is reserved for one record that does not decode.
///
/// Other I/O errors are split by kind: a read-only file system or denied permission is
/// [`StoreError::ReadOnly`], a full disk [`StoreError::Full`] (all three transient, so adapters
/// answer 503), anything else [`StoreError::Unavailable`]. The rest (sled bugs, unsupported use)
/// is [`StoreError::Backend`].
pub(crate) fn store_error(error: sled::Error) -> StoreError {
    match &error {
        sled::Error::Io(io) => match io_class(io) {
            IoClass::ReadOnly => StoreError::read_only(error),
            IoClass::Full => StoreError::full(error),
            IoClass::Damaged => StoreError::engine_corrupt(error),
            IoClass::Other => StoreError::unavailable(error),
        },
        sled::Error::Corruption { .. } => StoreError::engine_corrupt(error),
        _ => StoreError::backend(error),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum IoClass {
    ReadOnly,
    Full,
    /// The file holds something sled cannot read back: the engine's storage is damaged.
    Damaged,
    Other,
}

/// Linux's `ENOSPC`, for I/O errors whose kind was lost (sled re-creates errors when it clones
/// them, keeping only the kind).
const ENOSPC: i32 = 28;

fn io_class(error: &io::Error) -> IoClass {
    match error.kind() {
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => IoClass::ReadOnly,
        io::ErrorKind::StorageFull => IoClass::Full,
        _ if error.raw_os_error() == Some(ENOSPC) => IoClass::Full,
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => IoClass::Damaged,
        _ => IoClass::Other,
    }
}

/// The [`StoreError`] for a failed transaction: our own abort reason, or sled's error.
pub(crate) fn transaction_error(error: TransactionError<Abort>) -> StoreError {
    match error {
        TransactionError::Abort(Abort::Collision) => StoreError::Collision,
        TransactionError::Abort(Abort::Conflict) => StoreError::Conflict,
        TransactionError::Abort(Abort::NotFound) => StoreError::NotFound,
        TransactionError::Abort(Abort::Corrupt(reason)) => StoreError::corrupt(reason),
        TransactionError::Storage(error) => store_error(error),
    }
}

/// The [`StoreError`] for a blocking task that panicked or was cancelled.
pub(crate) fn join_error(error: tokio::task::JoinError) -> StoreError {
    StoreError::backend(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: io::ErrorKind) -> sled::Error {
        sled::Error::Io(io::Error::from(kind))
    }

    #[test]
    fn io_errors_map_by_kind() {
        assert!(matches!(
            store_error(io(io::ErrorKind::ReadOnlyFilesystem)),
            StoreError::ReadOnly { .. }
        ));
        assert!(matches!(
            store_error(io(io::ErrorKind::PermissionDenied)),
            StoreError::ReadOnly { .. }
        ));
        assert!(matches!(
            store_error(io(io::ErrorKind::StorageFull)),
            StoreError::Full { .. }
        ));
        assert!(matches!(
            store_error(sled::Error::Io(io::Error::from_raw_os_error(ENOSPC))),
            StoreError::Full { .. }
        ));
        assert!(matches!(
            store_error(io(io::ErrorKind::BrokenPipe)),
            StoreError::Unavailable { .. }
        ));
    }

    #[test]
    fn engine_damage_is_engine_corrupt_never_a_bad_record() {
        for damaged in [
            sled::Error::Corruption { at: None, bt: () },
            io(io::ErrorKind::InvalidData),
            io(io::ErrorKind::UnexpectedEof),
        ] {
            let shown = format!("{damaged:?}");
            let error = store_error(damaged);
            assert!(
                matches!(error, StoreError::EngineCorrupt { .. }),
                "{shown} gave {error:?}"
            );
            assert!(!error.is_transient(), "{shown} is not a 503");
        }
    }

    #[test]
    fn engine_damage_at_open_is_a_corrupt_open_error() {
        for damaged in [
            sled::Error::Corruption { at: None, bt: () },
            io(io::ErrorKind::InvalidData),
            io(io::ErrorKind::UnexpectedEof),
        ] {
            let shown = format!("{damaged:?}");
            let error = SledOpenError::from_sled(damaged);
            assert!(
                matches!(error, SledOpenError::Corrupt { .. }),
                "{shown} gave {error:?}"
            );
        }
    }

    #[test]
    fn other_sled_errors_map_to_backend() {
        assert!(matches!(
            store_error(sled::Error::Unsupported("x".into())),
            StoreError::Backend { .. }
        ));
        assert!(matches!(
            store_error(sled::Error::ReportableBug("x".into())),
            StoreError::Backend { .. }
        ));
    }

    #[test]
    fn transient_mapping_matches_the_adapters_503_rule() {
        assert!(store_error(io(io::ErrorKind::StorageFull)).is_transient());
        assert!(store_error(io(io::ErrorKind::ReadOnlyFilesystem)).is_transient());
        assert!(!store_error(sled::Error::ReportableBug("x".into())).is_transient());
    }

    #[test]
    fn a_malformed_record_error_does_not_quote_the_input() {
        let key = "ab".repeat(32);
        let bytes = format!(r#"{{"fmt":1,"key":"{key}","data":"hunter2"}}"#);
        let error =
            session_core::store::SessionRecord::from_bytes(bytes.as_bytes()).expect_err("bad");
        // session-core keeps only the kind and position of the problem, never serde_json's text.
        assert!(!format!("{error} {error:?}").contains("hunter2"));
        let reason = CorruptRecord::from(error);
        assert!(matches!(
            reason,
            CorruptRecord::Malformed { kind: "data", .. }
        ));
        for shown in [reason.to_string(), format!("{reason:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn open_errors_recognise_a_held_lock() {
        let held = sled::Error::Io(io::Error::other("could not acquire lock on \"db\": busy"));
        assert!(matches!(
            SledOpenError::from_sled(held),
            SledOpenError::InUse { .. }
        ));
        assert!(matches!(
            SledOpenError::from_sled(io(io::ErrorKind::NotADirectory)),
            SledOpenError::Io { .. }
        ));
        let shown = SledOpenError::UnsupportedFormat { found: None }.to_string();
        assert!(shown.contains("<unreadable>"), "{shown}");
    }
}
