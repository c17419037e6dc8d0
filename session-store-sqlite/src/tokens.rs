//! [`SqliteTokenStore`]: session-auth's [`TokenStore`] in a table of the same database file.

use std::fmt;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use session_auth::tokens::{GrantColumns, StoredGrant, TokenStore, GRANT_COLUMNS};
use session_core::{store::StoreError, UserId};

use crate::config::SqliteStoreConfig;
use crate::error::{store_error, SqliteOpenError};
use crate::schema;
use crate::store::{sql_version, Database};

/// The provider tokens of [`session_auth`]'s vault, in a table `oauth_tokens` (feature `auth`).
///
/// Opened from the same [`SqliteStoreConfig`] as a [`SqliteStore`](crate::SqliteStore), and
/// usually on the same file: the table lives beside the sessions, with a schema version of its
/// own, and either store may open the file first. It follows the session store's rules:
/// writes run on the blocking pool in `BEGIN IMMEDIATE` transactions on one write connection
/// (so `replace`'s version check and update are one atomic step, also against other processes),
/// reads use the read connections without blocking the executor, a held lock gives
/// [`StoreError::Timeout`] after the [busy timeout](SqliteStoreConfig::busy_timeout), and a
/// [read-only](SqliteStoreConfig::read_only) store answers every write with
/// [`StoreError::ReadOnly`]. Errors map as in the [crate docs](crate#errors). Tokens never
/// expire by themselves, so there is no background purge (the config's `background_purge` is
/// not used).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_auth::tokens::{GrantState, SealedToken, StoredGrant, TokenStore};
/// use session_core::{UnixTime, UserId};
/// use session_store_sqlite::{SqliteStore, SqliteStoreConfig, SqliteTokenStore};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.db");
/// let config = SqliteStoreConfig::new(&path);
/// let sessions = SqliteStore::open(config.clone())?;
/// let tokens = SqliteTokenStore::open(config)?;
///
/// let alice = UserId::new("alice");
/// let grant = StoredGrant {
///     account: "583231".into(),
///     access_token: SealedToken::new("v1.kid.nonce.ciphertext"),
///     refresh_token: None,
///     expires_at: None,
///     obtained_at: UnixTime::now(),
///     scope: Some("read:user".into()),
///     state: GrantState::Active,
///     version: 0,
/// };
/// let v1 = tokens.put(&alice, "github", &grant).await?;
/// assert_eq!(tokens.replace(&alice, "github", v1, &grant).await?, Some(v1 + 1));
/// # drop(sessions);
/// # Ok(()) }
/// ```
///
/// # Schema
///
/// | column | holds |
/// |---|---|
/// | `owner TEXT` | the [`UserId`], as is |
/// | `provider TEXT` | the provider's name, as is |
/// | `account TEXT` | the provider's id for the account |
/// | `access_token TEXT` | the sealed access token (`v1.<kid>.<nonce>.<ciphertext>`) |
/// | `refresh_token TEXT NULL` | the sealed refresh token, if any |
/// | `expires_at INTEGER NULL` | when the access token expires (Unix seconds), if it does |
/// | `obtained_at INTEGER` | when the tokens were obtained (Unix seconds) |
/// | `scope TEXT NULL` | the granted scopes, as the provider wrote them |
/// | `state TEXT` | `active` or `disconnected` ([`GrantState::as_str`](session_auth::tokens::GrantState::as_str)) |
/// | `version INTEGER` | 1 for a new row, one more on every write |
///
/// `PRIMARY KEY (owner, provider)`, `WITHOUT ROWID`: owner and provider are separate columns, so
/// no two pairs can share a row whatever characters they hold, and `list` is one range scan in
/// provider byte order (SQLite's `BINARY` collation). Times past `i64::MAX` seconds are stored
/// as `i64::MAX`.
///
/// The table's schema version is the row `('oauth_tokens', 1)` of the table
/// `schema_versions (name TEXT PRIMARY KEY, version INTEGER)`, not `PRAGMA user_version` (which
/// the sessions use), so the two tables migrate independently in one file. A newer version is
/// [`SqliteOpenError::NewerSchema`]; a read-only store on a file without the table is
/// [`SqliteOpenError::SchemaNotReady`]; an `oauth_tokens` table that this crate did not create
/// (no version row) fails the open and is left alone.
///
/// A row that cannot be read back (an unknown `state`, a negative time, a column of the wrong
/// type) is [`StoreError::Corrupt`], from `get` and from `list`; nothing is deleted. No error,
/// log event or `Debug` output contains a token.
pub struct SqliteTokenStore {
    db: Database,
}

impl fmt::Debug for SqliteTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTokenStore")
            .field("path", &self.db.path())
            .field("read_only", &self.db.read_only())
            .field("read_connections", &self.db.read_connections())
            .finish()
    }
}

impl SqliteTokenStore {
    /// Opens (and if needed creates, or migrates the token table of) the database described by
    /// `config`, as [`SqliteStore::open`](crate::SqliteStore::open) does for the sessions.
    ///
    /// # Errors
    /// [`SqliteOpenError`], as for the session store; the schema versions it names are the
    /// token table's.
    pub fn open(config: SqliteStoreConfig) -> Result<Self, SqliteOpenError> {
        Ok(SqliteTokenStore {
            db: Database::open(&config, &schema::TOKENS)?,
        })
    }
}

/// Reads [`GRANT_COLUMNS`] from `row`, starting at column `first`.
fn read_grant(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<GrantColumns> {
    Ok(GrantColumns {
        account: row.get(first)?,
        access_token: row.get(first + 1)?,
        refresh_token: row.get(first + 2)?,
        expires_at: row.get(first + 3)?,
        obtained_at: row.get(first + 4)?,
        scope: row.get(first + 5)?,
        state: row.get(first + 6)?,
        version: row.get(first + 7)?,
    })
}

/// Maps an error of reading rows: a value SQLite cannot give as the column's Rust type is a
/// damaged row ([`StoreError::Corrupt`], without the value); anything else is the engine's.
fn read_error(err: rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => GrantColumns::wrong_type(),
        err => store_error(err),
    }
}

/// The row's new version, or `None` when `sql` (an `... RETURNING version`) matched no row.
fn returned_version(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<u64>, StoreError> {
    let version: Option<i64> = tx
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row(params, |row| row.get(0)).optional())
        .map_err(store_error)?;
    Ok(version.map(|v| v as u64))
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl TokenStore for SqliteTokenStore {
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError> {
        let (owner, provider) = (owner.as_str().to_owned(), provider.to_owned());
        let raw = self
            .db
            .read(move |conn: &Connection| {
                conn.prepare_cached(&format!(
                    "SELECT {GRANT_COLUMNS} FROM oauth_tokens WHERE owner = ?1 AND provider = ?2"
                ))
                .and_then(|mut stmt| {
                    stmt.query_row([&owner, &provider], |row| read_grant(row, 0))
                        .optional()
                })
                .map_err(read_error)
            })
            .await?;
        raw.map(GrantColumns::into_grant).transpose()
    }

    /// One upsert: a new row gets version 1, an existing one every column replaced and its
    /// version + 1.
    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError> {
        let (owner, provider) = (owner.as_str().to_owned(), provider.to_owned());
        let c = GrantColumns::of(grant);
        self.db
            .write(move |tx| {
                returned_version(
                    tx,
                    "INSERT INTO oauth_tokens (owner, provider, account, access_token,
                         refresh_token, expires_at, obtained_at, scope, state, version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)
                     ON CONFLICT (owner, provider) DO UPDATE SET
                         account = excluded.account, access_token = excluded.access_token,
                         refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
                         obtained_at = excluded.obtained_at, scope = excluded.scope,
                         state = excluded.state, version = oauth_tokens.version + 1
                     RETURNING version",
                    params![
                        owner,
                        provider,
                        c.account,
                        c.access_token,
                        c.refresh_token,
                        c.expires_at,
                        c.obtained_at,
                        c.scope,
                        c.state,
                    ],
                )?
                .ok_or_else(|| StoreError::backend("the upsert returned no version"))
            })
            .await
    }

    /// One `UPDATE ... WHERE version = expected` in a `BEGIN IMMEDIATE` transaction: the check
    /// and the write cannot be separated by another writer, in this process or another.
    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError> {
        let (owner, provider) = (owner.as_str().to_owned(), provider.to_owned());
        let c = GrantColumns::of(grant);
        let expected = sql_version(expected);
        self.db
            .write(move |tx| {
                returned_version(
                    tx,
                    "UPDATE oauth_tokens SET
                         account = ?3, access_token = ?4, refresh_token = ?5, expires_at = ?6,
                         obtained_at = ?7, scope = ?8, state = ?9, version = version + 1
                     WHERE owner = ?1 AND provider = ?2 AND version = ?10
                     RETURNING version",
                    params![
                        owner,
                        provider,
                        c.account,
                        c.access_token,
                        c.refresh_token,
                        c.expires_at,
                        c.obtained_at,
                        c.scope,
                        c.state,
                        expected,
                    ],
                )
            })
            .await
    }

    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError> {
        let (owner, provider) = (owner.as_str().to_owned(), provider.to_owned());
        self.db
            .write(move |tx| {
                let deleted = tx
                    .prepare_cached("DELETE FROM oauth_tokens WHERE owner = ?1 AND provider = ?2")
                    .and_then(|mut stmt| stmt.execute([owner, provider]))
                    .map_err(store_error)?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError> {
        let owner = owner.as_str().to_owned();
        let rows = self
            .db
            .read(move |conn: &Connection| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT provider, {GRANT_COLUMNS} FROM oauth_tokens
                         WHERE owner = ?1 ORDER BY provider"
                    ))
                    .map_err(store_error)?;
                let rows = stmt
                    .query_map([&owner], |row| {
                        Ok((row.get::<_, String>(0)?, read_grant(row, 1)?))
                    })
                    .map_err(store_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(read_error)
            })
            .await?;
        rows.into_iter()
            .map(|(provider, raw)| Ok((provider, raw.into_grant()?)))
            .collect()
    }
}
