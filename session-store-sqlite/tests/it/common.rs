//! Helpers shared by the integration tests: temp databases, raw connections (also the
//! conformance suite's [`RawAccess`] hook), sample records, and a way to run a test in a process
//! of its own.
#![allow(dead_code)] // each test module uses a different subset

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use session_core::store::{BoxError, SessionKey, SessionRecord};
use session_core::testing::RawAccess;
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

/// The conformance suite's raw access to a store's database file: every value of every table,
/// read through a connection of its own, and the bytes of the database's files (WAL included).
#[derive(Debug)]
pub(crate) struct SqliteRaw {
    path: PathBuf,
}

impl SqliteRaw {
    /// Raw access to the database at `path`, alone in its directory.
    pub(crate) fn new(path: &Path) -> Self {
        SqliteRaw {
            path: path.to_owned(),
        }
    }
}

#[async_trait]
impl RawAccess for SqliteRaw {
    async fn stored_bytes(&self) -> Result<Vec<Vec<u8>>, BoxError> {
        let conn = rusqlite::Connection::open(&self.path)?;
        let mut all = Vec::new();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                for i in 0..columns {
                    all.push(match row.get_ref(i)? {
                        ValueRef::Null => Vec::new(),
                        ValueRef::Integer(n) => n.to_string().into_bytes(),
                        ValueRef::Real(f) => f.to_string().into_bytes(),
                        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
                    });
                }
            }
        }
        let dir = self.path.parent().ok_or("the database has a directory")?;
        for entry in std::fs::read_dir(dir)? {
            all.push(std::fs::read(entry?.path())?);
        }
        Ok(all)
    }

    async fn overwrite_record(&self, key: &SessionKey, bytes: &[u8]) -> Result<(), BoxError> {
        let changed = rusqlite::Connection::open(&self.path)?.execute(
            "UPDATE sessions SET record = ?1 WHERE key = ?2",
            rusqlite::params![bytes, &key.as_bytes()[..]],
        )?;
        if changed != 1 {
            return Err("no record under this key".into());
        }
        Ok(())
    }
}
