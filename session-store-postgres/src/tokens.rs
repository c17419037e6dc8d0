//! [`PostgresTokenStore`]: session-auth's [`TokenStore`] in a table beside the sessions.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use session_auth::tokens::{GrantColumns, StoredGrant, TokenStore, GRANT_COLUMNS};
use session_core::{store::StoreError, UserId};

use crate::config::PostgresStoreConfig;
use crate::error::PostgresOpenError;
use crate::schema;
use crate::store::{sql_version, Database, Fault};
use crate::PostgresStore;

/// The provider tokens of [`session_auth`]'s vault, in a table `oauth_tokens` of the store's
/// schema (feature `auth`).
///
/// Made from a [`PostgresStore`] with [`from_store`](PostgresTokenStore::from_store) (sharing
/// its pool and schema) or on its own with [`connect`](PostgresTokenStore::connect). The table
/// has a schema version of its own (its row in `schema_versions`), created by the same
/// migration mechanism as the sessions. Every write is one statement: `put` an upsert,
/// `replace` an `UPDATE ... WHERE version = $expected`, so the compare-and-set is atomic across
/// all application nodes. Errors map as in the [crate docs](crate#failures).
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_auth::tokens::{GrantState, SealedToken, StoredGrant, TokenStore};
/// use session_core::{UnixTime, UserId};
/// use session_store_postgres::{PostgresStore, PostgresStoreConfig, PostgresTokenStore};
///
/// let sessions = PostgresStore::connect(PostgresStoreConfig::from_env()).await?;
/// let tokens = PostgresTokenStore::from_store(&sessions).await?;
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
/// # Ok(()) }
/// ```
///
/// # Schema
///
/// | column | holds |
/// |---|---|
/// | `owner bytea` | the [`UserId`]'s UTF-8 bytes (`text` cannot hold U+0000) |
/// | `provider text COLLATE "C"` | the provider's name, as is (byte order for `list`) |
/// | `account text` | the provider's id for the account |
/// | `access_token text` | the sealed access token (`v1.<kid>.<nonce>.<ciphertext>`) |
/// | `refresh_token text NULL` | the sealed refresh token, if any |
/// | `expires_at bigint NULL` | when the access token expires (Unix seconds), if it does |
/// | `obtained_at bigint` | when the tokens were obtained (Unix seconds) |
/// | `scope text NULL` | the granted scopes, as the provider wrote them |
/// | `state text` | `active` or `disconnected` ([`GrantState::as_str`](session_auth::tokens::GrantState::as_str)) |
/// | `version bigint` | 1 for a new row, one more on every write |
///
/// `PRIMARY KEY (owner, provider)`. A row that cannot be read back (an unknown `state`, a
/// negative time) is [`StoreError::Corrupt`] from `get` and `list`; nothing is deleted. No
/// error, log event or `Debug` output contains a token.
pub struct PostgresTokenStore {
    db: Arc<Database>,
    sql: Sql,
}

impl fmt::Debug for PostgresTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTokenStore")
            .field("db", &self.db)
            .finish()
    }
}

struct Sql {
    get: String,
    put: String,
    replace: String,
    delete: String,
    list: String,
}

impl PostgresTokenStore {
    /// A token store on `store`'s pool and schema; creates or migrates the `oauth_tokens`
    /// table.
    ///
    /// # Errors
    ///
    /// [`PostgresOpenError`], as for [`PostgresStore::connect`]; the versions it names are the
    /// token table's.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_store_postgres::{PostgresStore, PostgresStoreConfig, PostgresTokenStore};
    /// let sessions = PostgresStore::connect(PostgresStoreConfig::from_env()).await?;
    /// let tokens = PostgresTokenStore::from_store(&sessions).await?;
    /// # drop(tokens); Ok(()) }
    /// ```
    pub async fn from_store(store: &PostgresStore) -> Result<Self, PostgresOpenError> {
        let db = Arc::clone(store.database());
        db.migrate(&schema::TOKENS).await?;
        Ok(Self::with(db))
    }

    /// A token store with a pool of its own, from `config` (its purge settings are not used:
    /// tokens do not expire by themselves).
    ///
    /// # Errors
    ///
    /// [`PostgresOpenError`], as for [`PostgresStore::connect`].
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_store_postgres::{PostgresStoreConfig, PostgresTokenStore};
    /// let tokens = PostgresTokenStore::connect(PostgresStoreConfig::from_env()).await?;
    /// # drop(tokens); Ok(()) }
    /// ```
    pub async fn connect(config: PostgresStoreConfig) -> Result<Self, PostgresOpenError> {
        Ok(Self::with(
            Database::connect(&config, &schema::TOKENS).await?,
        ))
    }

    fn with(db: Arc<Database>) -> Self {
        let t = db.table("oauth_tokens");
        let sql = Sql {
            get: format!("SELECT {GRANT_COLUMNS} FROM {t} WHERE owner = $1 AND provider = $2"),
            put: format!(
                "INSERT INTO {t} AS o (owner, provider, account, access_token, refresh_token,
                     expires_at, obtained_at, scope, state, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
                 ON CONFLICT (owner, provider) DO UPDATE SET
                     account = excluded.account, access_token = excluded.access_token,
                     refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
                     obtained_at = excluded.obtained_at, scope = excluded.scope,
                     state = excluded.state, version = o.version + 1
                 RETURNING version"
            ),
            replace: format!(
                "UPDATE {t} SET
                     account = $3, access_token = $4, refresh_token = $5, expires_at = $6,
                     obtained_at = $7, scope = $8, state = $9, version = version + 1
                 WHERE owner = $1 AND provider = $2 AND version = $10
                 RETURNING version"
            ),
            delete: format!("DELETE FROM {t} WHERE owner = $1 AND provider = $2"),
            list: format!(
                "SELECT provider, {GRANT_COLUMNS} FROM {t} WHERE owner = $1 ORDER BY provider"
            ),
        };
        PostgresTokenStore { db, sql }
    }
}

/// Reads [`GRANT_COLUMNS`] from `row`, starting at column `first`; a value of the wrong type is
/// a damaged row (without the value).
fn read_grant(row: &tokio_postgres::Row, first: usize) -> Result<GrantColumns, StoreError> {
    let bad = |_| GrantColumns::wrong_type();
    Ok(GrantColumns {
        account: row.try_get(first).map_err(bad)?,
        access_token: row.try_get(first + 1).map_err(bad)?,
        refresh_token: row.try_get(first + 2).map_err(bad)?,
        expires_at: row.try_get(first + 3).map_err(bad)?,
        obtained_at: row.try_get(first + 4).map_err(bad)?,
        scope: row.try_get(first + 5).map_err(bad)?,
        state: row.try_get(first + 6).map_err(bad)?,
        version: row.try_get(first + 7).map_err(bad)?,
    })
}

/// The `version` a `... RETURNING version` gave, if it matched a row.
fn returned(row: Option<tokio_postgres::Row>) -> Result<Option<u64>, Fault> {
    Ok(row
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map(|v| v as u64))
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl TokenStore for PostgresTokenStore {
    async fn get(&self, owner: &UserId, provider: &str) -> Result<Option<StoredGrant>, StoreError> {
        let owner = owner.as_str().as_bytes();
        let row = self
            .db
            .call("token get", || async {
                let client = self.db.client("token get").await?;
                let stmt = client.prepare_cached(&self.sql.get).await?;
                Ok(client.query_opt(&stmt, &[&owner, &provider]).await?)
            })
            .await?;
        row.map(|r| read_grant(&r, 0)?.into_grant()).transpose()
    }

    /// One upsert: a new row gets version 1, an existing one every column replaced and its
    /// version + 1.
    async fn put(
        &self,
        owner: &UserId,
        provider: &str,
        grant: &StoredGrant,
    ) -> Result<u64, StoreError> {
        let owner = owner.as_str().as_bytes();
        let c = GrantColumns::of(grant);
        let version = self
            .db
            .call("token put", || async {
                let client = self.db.client("token put").await?;
                let stmt = client.prepare_cached(&self.sql.put).await?;
                let row = client
                    .query_opt(
                        &stmt,
                        &[
                            &owner,
                            &provider,
                            &c.account,
                            &c.access_token,
                            &c.refresh_token,
                            &c.expires_at,
                            &c.obtained_at,
                            &c.scope,
                            &c.state,
                        ],
                    )
                    .await?;
                returned(row)
            })
            .await?;
        version.ok_or_else(|| StoreError::backend("the upsert returned no version"))
    }

    /// One `UPDATE ... WHERE version = $expected RETURNING version`: the check and the write
    /// are one statement, so concurrent replaces of one version have exactly one winner.
    async fn replace(
        &self,
        owner: &UserId,
        provider: &str,
        expected: u64,
        grant: &StoredGrant,
    ) -> Result<Option<u64>, StoreError> {
        let owner = owner.as_str().as_bytes();
        let c = GrantColumns::of(grant);
        let expected = sql_version(expected);
        self.db
            .call("token replace", || async {
                let client = self.db.client("token replace").await?;
                let stmt = client.prepare_cached(&self.sql.replace).await?;
                let row = client
                    .query_opt(
                        &stmt,
                        &[
                            &owner,
                            &provider,
                            &c.account,
                            &c.access_token,
                            &c.refresh_token,
                            &c.expires_at,
                            &c.obtained_at,
                            &c.scope,
                            &c.state,
                            &expected,
                        ],
                    )
                    .await?;
                returned(row)
            })
            .await
    }

    async fn delete(&self, owner: &UserId, provider: &str) -> Result<bool, StoreError> {
        let owner = owner.as_str().as_bytes();
        self.db
            .call("token delete", || async {
                let client = self.db.client("token delete").await?;
                let stmt = client.prepare_cached(&self.sql.delete).await?;
                Ok(client.execute(&stmt, &[&owner, &provider]).await? > 0)
            })
            .await
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<(String, StoredGrant)>, StoreError> {
        let owner = owner.as_str().as_bytes();
        let rows = self
            .db
            .call("token list", || async {
                let client = self.db.client("token list").await?;
                let stmt = client.prepare_cached(&self.sql.list).await?;
                Ok(client.query(&stmt, &[&owner]).await?)
            })
            .await?;
        rows.iter()
            .map(|row| {
                let provider: String = row.try_get(0).map_err(|_| GrantColumns::wrong_type())?;
                Ok((provider, read_grant(row, 1)?.into_grant()?))
            })
            .collect()
    }
}
