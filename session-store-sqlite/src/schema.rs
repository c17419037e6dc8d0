//! The table layouts and their migrations.
//!
//! Each [`Schema`] is a list of migrations and the place its version is kept: `MIGRATIONS[i]`
//! takes it from version `i` to `i + 1`; version 0 is "not there yet". Append new migrations,
//! never edit old ones.
//!
//! The session table keeps its version in `PRAGMA user_version`. The token tables (feature
//! `auth`: provider tokens and API tokens), which may share the file, keep theirs in rows of the
//! table `schema_versions (name TEXT PRIMARY KEY, version INTEGER)`, so each can migrate by
//! itself.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::SqliteOpenError;

/// One versioned set of tables.
#[derive(Debug)]
pub(crate) struct Schema {
    /// For logs: `"session"`, `"token"`, `"api token"`.
    pub(crate) name: &'static str,
    /// The error context when creating or migrating fails.
    migrate_failed: &'static str,
    /// Each entry upgrades the schema by one version.
    migrations: &'static [&'static str],
    version: VersionSlot,
}

/// Where a schema's version is kept.
#[derive(Debug)]
enum VersionSlot {
    /// `PRAGMA user_version`.
    UserVersion,
    /// The row of this name in `schema_versions` (no table or no row: version 0).
    #[cfg_attr(not(feature = "auth"), allow(dead_code))]
    Row(&'static str),
}

/// The sessions table.
pub(crate) const SESSIONS: Schema = Schema {
    name: "session",
    migrate_failed: "cannot create or migrate the session schema",
    migrations: &[
        // 0 -> 1: the sessions table. `key` is the SHA-256 of the session id (never the id
        // itself); `record` is `SessionRecord::to_bytes`; the other columns are copies for
        // indexing. No `IF NOT EXISTS`: an unrelated `sessions` table in a database with
        // user_version 0 must fail the open instead of being used.
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
    ],
    version: VersionSlot::UserVersion,
};

/// The provider-token table of [`SqliteTokenStore`](crate::SqliteTokenStore).
#[cfg(feature = "auth")]
pub(crate) const TOKENS: Schema = Schema {
    name: "token",
    migrate_failed: "cannot create or migrate the token schema",
    migrations: &[
        // 0 -> 1: one row per (owner, provider); the primary key's order makes `list` of one
        // owner a range scan, sorted by provider (BINARY collation: byte order). Sealed tokens
        // only: the vault seals them before they reach the store. No `IF NOT EXISTS`, as for
        // the sessions.
        "CREATE TABLE oauth_tokens (
             owner         TEXT    NOT NULL,
             provider      TEXT    NOT NULL,
             account       TEXT    NOT NULL,
             access_token  TEXT    NOT NULL,
             refresh_token TEXT,
             expires_at    INTEGER,
             obtained_at   INTEGER NOT NULL,
             scope         TEXT,
             state         TEXT    NOT NULL,
             version       INTEGER NOT NULL,
             PRIMARY KEY (owner, provider)
         ) WITHOUT ROWID;",
    ],
    version: VersionSlot::Row("oauth_tokens"),
};

/// The API-token table of [`SqliteApiTokenStore`](crate::SqliteApiTokenStore).
#[cfg(feature = "auth")]
pub(crate) const API_TOKENS: Schema = Schema {
    name: "api token",
    migrate_failed: "cannot create or migrate the API token schema",
    migrations: &[
        // 0 -> 1: one row per token, found by `hash` (the keyed hash's hex, unique) or by `id`;
        // the owner index serves `list` (in its order: created_at, then id) and the limit's
        // count. Never the token itself. No `IF NOT EXISTS`, as for the sessions.
        "CREATE TABLE api_tokens (
             id             TEXT    NOT NULL PRIMARY KEY,
             owner          TEXT    NOT NULL,
             name           TEXT    NOT NULL,
             scopes         TEXT    NOT NULL,
             display_prefix TEXT    NOT NULL,
             hash           TEXT    NOT NULL UNIQUE,
             created_at     INTEGER NOT NULL,
             last_used_at   INTEGER,
             expires_at     INTEGER,
             revoked_at     INTEGER
         ) WITHOUT ROWID;
         CREATE INDEX api_tokens_by_owner ON api_tokens (owner, created_at, id);",
    ],
    version: VersionSlot::Row("api_tokens"),
};

impl Schema {
    /// The schema version this build writes and reads.
    pub(crate) fn current_version(&self) -> i64 {
        self.migrations.len() as i64
    }

    fn read_version(&self, conn: &Connection) -> rusqlite::Result<i64> {
        match self.version {
            VersionSlot::UserVersion => {
                conn.pragma_query_value(None, "user_version", |row| row.get(0))
            }
            VersionSlot::Row(name) => {
                let has_table = conn
                    .prepare(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'",
                    )?
                    .exists([])?;
                if !has_table {
                    return Ok(0);
                }
                let version = conn
                    .query_row(
                        "SELECT version FROM schema_versions WHERE name = ?1",
                        [name],
                        |row| row.get(0),
                    )
                    .optional()?;
                Ok(version.unwrap_or(0))
            }
        }
    }

    fn write_version(&self, conn: &Connection, version: i64) -> rusqlite::Result<()> {
        match self.version {
            VersionSlot::UserVersion => conn.pragma_update(None, "user_version", version),
            VersionSlot::Row(name) => {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS schema_versions (
                         name    TEXT    NOT NULL PRIMARY KEY,
                         version INTEGER NOT NULL
                     )",
                )?;
                conn.execute(
                    "INSERT INTO schema_versions (name, version) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    params![name, version],
                )?;
                Ok(())
            }
        }
    }
}

/// Brings `schema` up to its current version in one `BEGIN IMMEDIATE` transaction, so two
/// processes opening a fresh file at once cannot both migrate it. A newer schema is an error.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: Option<&Path>,
    schema: &Schema,
) -> Result<(), SqliteOpenError> {
    let fail = |err| SqliteOpenError::sqlite(schema.migrate_failed, path, err);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let found = schema.read_version(&tx).map_err(fail)?;
    let start = usize::try_from(found)
        .ok()
        .filter(|&v| v <= schema.migrations.len())
        .ok_or(SqliteOpenError::NewerSchema {
            found,
            supported: schema.current_version(),
        })?;
    for (from, sql) in schema.migrations.iter().enumerate().skip(start) {
        tracing::info!(
            schema = schema.name,
            from,
            to = from + 1,
            "migrating the database schema"
        );
        tx.execute_batch(sql).map_err(fail)?;
    }
    schema
        .write_version(&tx, schema.current_version())
        .map_err(fail)?;
    tx.commit().map_err(fail)
}

/// Checks, without writing, that the database already has the current `schema` (read-only
/// stores).
pub(crate) fn check(
    conn: &Connection,
    path: Option<&Path>,
    schema: &Schema,
) -> Result<(), SqliteOpenError> {
    let found = schema
        .read_version(conn)
        .map_err(|err| SqliteOpenError::sqlite("cannot read the schema version", path, err))?;
    let supported = schema.current_version();
    match found {
        found if found == supported => Ok(()),
        found if !(0..supported).contains(&found) => {
            Err(SqliteOpenError::NewerSchema { found, supported })
        }
        found => Err(SqliteOpenError::SchemaNotReady { found, supported }),
    }
}
