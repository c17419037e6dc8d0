//! The table layout and its migrations, versioned through `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from schema version `i` to `i + 1`; version 0 is an empty
//! database. Append new migrations, never edit old ones.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::SqliteOpenError;

/// Each entry upgrades the schema by one version.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the sessions table. `key` is the SHA-256 of the session id (never the id itself);
    // `record` is `SessionRecord::to_bytes`; the other columns are copies for indexing.
    // No `IF NOT EXISTS`: an unrelated `sessions` table in a database with user_version 0 must
    // fail the open instead of being used.
    "CREATE TABLE sessions (
         key        BLOB    NOT NULL PRIMARY KEY,
         user_id    TEXT,
         created_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL,
         version    INTEGER NOT NULL,
         record     BLOB    NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX sessions_by_user ON sessions (user_id, created_at) WHERE user_id IS NOT NULL;
     CREATE INDEX sessions_by_expiry ON sessions (expires_at);",
];

/// The schema version this build writes and reads.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database up to [`CURRENT_VERSION`] in one `BEGIN IMMEDIATE` transaction, so two
/// processes opening a fresh file at once cannot both migrate it. A newer schema is an error.
pub(crate) fn migrate(conn: &mut Connection, path: Option<&Path>) -> Result<(), SqliteOpenError> {
    let fail =
        |err| SqliteOpenError::sqlite("cannot create or migrate the session schema", path, err);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let found = user_version(&tx).map_err(fail)?;
    let start = usize::try_from(found)
        .ok()
        .filter(|&v| v <= MIGRATIONS.len())
        .ok_or(SqliteOpenError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        })?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tracing::info!(from, to = from + 1, "migrating the session database schema");
        tx.execute_batch(sql).map_err(fail)?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)
        .map_err(fail)?;
    tx.commit().map_err(fail)
}

/// Checks, without writing, that the database already has the current schema (read-only stores).
pub(crate) fn check(conn: &Connection, path: Option<&Path>) -> Result<(), SqliteOpenError> {
    let found = user_version(conn)
        .map_err(|err| SqliteOpenError::sqlite("cannot read the schema version", path, err))?;
    match found {
        CURRENT_VERSION => Ok(()),
        found if !(0..CURRENT_VERSION).contains(&found) => Err(SqliteOpenError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        }),
        found => Err(SqliteOpenError::SchemaNotReady {
            found,
            supported: CURRENT_VERSION,
        }),
    }
}
