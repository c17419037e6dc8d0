//! [`SqliteApiTokenStore`]: session-auth's [`ApiTokenStore`] in a table of the same database
//! file.

use std::fmt;

use async_trait::async_trait;
use rusqlite::{ffi, params, Connection, OptionalExtension, Transaction};
use session_auth::api_tokens::{
    ApiTokenColumns, ApiTokenRecord, ApiTokenStore, Inserted, TokenHash, API_TOKEN_COLUMNS,
};
use session_core::{store::StoreError, UnixTime, UserId};

use crate::config::SqliteStoreConfig;
use crate::error::{store_error, SqliteOpenError};
use crate::schema;
use crate::store::Database;

/// The API tokens of [`session_auth`]'s [`ApiTokens`](session_auth::api_tokens::ApiTokens), in a
/// table `api_tokens` (feature `auth`).
///
/// Opened from the same [`SqliteStoreConfig`] as a [`SqliteStore`](crate::SqliteStore), and
/// usually on the same file: the table lives beside the sessions (and the provider tokens of
/// [`SqliteTokenStore`](crate::SqliteTokenStore)), with a schema version of its own, and any of
/// the stores may open the file first. It follows the session store's rules: writes run on the
/// blocking pool in `BEGIN IMMEDIATE` transactions on one write connection (so `insert`'s count
/// of the owner's active tokens and its write are one atomic step, also against other
/// processes), reads use the read connections without blocking the executor, a held lock gives
/// [`StoreError::Timeout`] after the [busy timeout](SqliteStoreConfig::busy_timeout), and a
/// [read-only](SqliteStoreConfig::read_only) store answers every write with
/// [`StoreError::ReadOnly`] while `find` and `list` go on working (so bearer requests are still
/// authenticated; only `last_used_at` is not recorded). Errors map as in the
/// [crate docs](crate#errors). Rows are kept after revocation and expiry, so there is no
/// background purge (the config's `background_purge` is not used).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_auth::api_tokens::{ApiTokens, BearerError, NewApiToken};
/// use session_core::{Secret, UserId};
/// use session_store_sqlite::{SqliteApiTokenStore, SqliteStore, SqliteStoreConfig};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.db");
/// let config = SqliteStoreConfig::new(&path);
/// let sessions = SqliteStore::open(config.clone())?;
/// let store = SqliteApiTokenStore::open(config)?;
///
/// let secret = Secret::from_bytes(vec![7; 32])?; // in production: Secret::from_default_env()
/// let tokens = ApiTokens::builder(&secret, store).build();
/// let alice = UserId::new("alice");
/// let created = tokens.create(&alice, NewApiToken::named("CI deploy")).await?;
/// assert_eq!(tokens.authenticate(created.secret.expose()).await?.owner, alice);
///
/// tokens.revoke(&alice, &created.token.id).await?;
/// let refused = tokens.authenticate(created.secret.expose()).await;
/// assert!(matches!(refused, Err(BearerError::Revoked)));
/// # drop(sessions);
/// # Ok(()) }
/// ```
///
/// # Schema
///
/// | column | holds |
/// |---|---|
/// | `id TEXT PRIMARY KEY` | the token's public id, as is |
/// | `owner TEXT` | the [`UserId`], as is; indexed with `created_at` and `id` |
/// | `name TEXT` | the name its owner gave it |
/// | `scopes TEXT` | its scopes, as a JSON array of strings |
/// | `display_prefix TEXT` | the prefix and first characters of the token (`sat_Ab12Cd`) |
/// | `hash TEXT UNIQUE` | the token's keyed hash, 64 lowercase hex digits ([`TokenHash::to_hex`]); never the token |
/// | `created_at INTEGER` | when it was created (Unix seconds) |
/// | `last_used_at INTEGER NULL` | when it last authenticated a request, if it did |
/// | `expires_at INTEGER NULL` | when it stops working, if it expires |
/// | `revoked_at INTEGER NULL` | when it was revoked, if it was |
///
/// `WITHOUT ROWID`. The index `api_tokens_by_owner (owner, created_at, id)` makes `list` one
/// range scan in its order and serves the limit's count. Times past `i64::MAX` seconds are
/// stored as `i64::MAX`.
///
/// - `insert`: one `BEGIN IMMEDIATE` transaction that checks the id and the hash are free (else
///   [`StoreError::Collision`], also for a unique violation), counts the owner's rows with
///   `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now)` and inserts only under
///   the limit.
/// - `touch`: `UPDATE ... SET last_used_at = at WHERE id = ? AND (last_used_at IS NULL OR
///   last_used_at < at)`, so it only ever moves forward, however the writes interleave.
/// - `revoke` and `revoke_all`: `UPDATE ... SET revoked_at = at WHERE ... AND revoked_at IS
///   NULL`, so the first revocation's time stays.
///
/// The table's schema version is the row `('api_tokens', 1)` of the table
/// `schema_versions (name TEXT PRIMARY KEY, version INTEGER)`, as for
/// [`SqliteTokenStore`](crate::SqliteTokenStore): the tables migrate independently in one
/// file. A newer version is [`SqliteOpenError::NewerSchema`]; a read-only store on a file
/// without the table is [`SqliteOpenError::SchemaNotReady`]; an `api_tokens` table that this
/// crate did not create (no version row) fails the open and is left alone.
///
/// A row that cannot be read back (a hash that is not 64 hex digits, scopes that are not a JSON
/// array of strings, a negative time, a column of the wrong type) is [`StoreError::Corrupt`],
/// from `find` and from `list`; nothing is deleted. No error, log event or `Debug` output
/// contains a row's values.
pub struct SqliteApiTokenStore {
    db: Database,
}

impl fmt::Debug for SqliteApiTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteApiTokenStore")
            .field("path", &self.db.path())
            .field("read_only", &self.db.read_only())
            .field("read_connections", &self.db.read_connections())
            .finish()
    }
}

impl SqliteApiTokenStore {
    /// Opens (and if needed creates, or migrates the API-token table of) the database described
    /// by `config`, as [`SqliteStore::open`](crate::SqliteStore::open) does for the sessions.
    ///
    /// # Errors
    /// [`SqliteOpenError`], as for the session store; the schema versions it names are the
    /// API-token table's.
    pub fn open(config: SqliteStoreConfig) -> Result<Self, SqliteOpenError> {
        Ok(SqliteApiTokenStore {
            db: Database::open(&config, &schema::API_TOKENS)?,
        })
    }
}

/// Reads [`API_TOKEN_COLUMNS`] from `row`.
fn read_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiTokenColumns> {
    Ok(ApiTokenColumns {
        id: row.get(0)?,
        owner: row.get(1)?,
        name: row.get(2)?,
        scopes: row.get(3)?,
        display_prefix: row.get(4)?,
        hash: row.get(5)?,
        created_at: row.get(6)?,
        last_used_at: row.get(7)?,
        expires_at: row.get(8)?,
        revoked_at: row.get(9)?,
    })
}

/// Maps an error of reading rows: a value SQLite cannot give as the column's Rust type is a
/// damaged row ([`StoreError::Corrupt`], without the value); anything else is the engine's.
fn read_error(err: rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => ApiTokenColumns::wrong_type(),
        err => store_error(err),
    }
}

/// Whether `err` is a violation of the primary key (`id`) or of `hash`'s uniqueness.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(ffi::Error { extended_code, .. }, _)
            if *extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || *extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// `insert`'s transaction: a taken id or hash is a collision (checked first, so a duplicate is
/// a collision whatever the limit), then the count of the owner's active rows, then the row.
fn insert_row(
    tx: &Transaction<'_>,
    row: &ApiTokenColumns,
    limit: usize,
    now: i64,
) -> Result<Inserted, StoreError> {
    let taken = tx
        .prepare_cached("SELECT 1 FROM api_tokens WHERE id = ?1 OR hash = ?2")
        .and_then(|mut stmt| stmt.exists([&row.id, &row.hash]))
        .map_err(store_error)?;
    if taken {
        return Err(StoreError::Collision);
    }
    let active: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM api_tokens
             WHERE owner = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
        )
        .and_then(|mut stmt| stmt.query_row(params![row.owner, now], |r| r.get(0)))
        .map_err(store_error)?;
    // A count is never negative; one past `usize::MAX` cannot be stored anyway.
    if usize::try_from(active).unwrap_or(usize::MAX) >= limit {
        return Ok(Inserted::LimitReached);
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO api_tokens (id, owner, name, scopes, display_prefix, hash, created_at,
                 last_used_at, expires_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                row.id,
                row.owner,
                row.name,
                row.scopes,
                row.display_prefix,
                row.hash,
                row.created_at,
                row.last_used_at,
                row.expires_at,
                row.revoked_at,
            ])
        });
    match inserted {
        Ok(_) => Ok(Inserted::Stored),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Collision),
        Err(e) => Err(store_error(e)),
    }
}

/// Runs the write `sql` with `params`; how many rows it changed.
fn changed(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<u64, StoreError> {
    let changed = tx
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params))
        .map_err(store_error)?;
    Ok(changed as u64)
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ApiTokenStore for SqliteApiTokenStore {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        let row = ApiTokenColumns::of(record)?;
        let now = now.as_secs_i64();
        self.db
            .write(move |tx| insert_row(tx, &row, limit, now))
            .await
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        let hash = hash.to_hex();
        let row = self
            .db
            .read(move |conn: &Connection| {
                conn.prepare_cached(&format!(
                    "SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?1"
                ))
                .and_then(|mut stmt| stmt.query_row([&hash], read_columns).optional())
                .map_err(read_error)
            })
            .await?;
        row.map(ApiTokenColumns::into_record).transpose()
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let owner = owner.as_str().to_owned();
        let rows = self
            .db
            .read(move |conn: &Connection| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE owner = ?1 ORDER BY created_at, id"
                    ))
                    .map_err(store_error)?;
                let rows = stmt
                    .query_map([&owner], read_columns)
                    .map_err(store_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(read_error)
            })
            .await?;
        rows.into_iter().map(ApiTokenColumns::into_record).collect()
    }

    /// One `UPDATE` that only matches a row whose `last_used_at` is earlier (or unset).
    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        let (id, at) = (id.to_owned(), at.as_secs_i64());
        self.db
            .write(move |tx| {
                changed(
                    tx,
                    "UPDATE api_tokens SET last_used_at = ?2
                     WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
                    params![id, at],
                )
                .map(|_| ())
            })
            .await
    }

    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        let (owner, id, at) = (owner.as_str().to_owned(), id.to_owned(), at.as_secs_i64());
        self.db
            .write(move |tx| {
                changed(
                    tx,
                    "UPDATE api_tokens SET revoked_at = ?3
                     WHERE id = ?1 AND owner = ?2 AND revoked_at IS NULL",
                    params![id, owner, at],
                )
                .map(|n| n > 0)
            })
            .await
    }

    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        let (owner, at) = (owner.as_str().to_owned(), at.as_secs_i64());
        self.db
            .write(move |tx| {
                changed(
                    tx,
                    "UPDATE api_tokens SET revoked_at = ?2 WHERE owner = ?1 AND revoked_at IS NULL",
                    params![owner, at],
                )
            })
            .await
    }
}
