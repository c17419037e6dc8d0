//! Helpers shared by the integration tests: temp databases, raw connections, sample records.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use session_core::SessionRecord;
use session_store_sqlite::{SqliteStore, SqliteStoreConfig};
use tempfile::TempDir;

/// A fresh temp dir and the database path inside it.
pub(crate) fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions.db");
    (dir, path)
}

/// A read-write store with the default configuration.
pub(crate) fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(SqliteStoreConfig::new(path)).expect("open the store")
}

/// A connection that bypasses the store, to inspect or damage the file.
pub(crate) fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

/// A record like the conformance suite's (random key, data, metadata, an hour to live).
pub(crate) fn record() -> SessionRecord {
    session_core::testing::conformance::record(now())
}

/// These tests' "now": the real time when the first test asked, fixed for the run (SQLite
/// expires nothing by itself, so a fixed start is safe here).
pub(crate) fn now() -> session_core::UnixTime {
    static T0: std::sync::OnceLock<session_core::UnixTime> = std::sync::OnceLock::new();
    *T0.get_or_init(session_core::UnixTime::now)
}

/// `PRAGMA integrity_check` through a raw connection.
pub(crate) fn integrity_check(path: &Path) -> String {
    raw(path)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check")
}

/// The whole error chain as text, to check that nothing secret is in it.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = format!("{err} / {err:?}");
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(&format!(" / {e} / {e:?}"));
        source = e.source();
    }
    text
}
