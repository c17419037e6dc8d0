//! [`PostgresApiTokenStore`]: session-auth's [`ApiTokenStore`] in a table beside the sessions.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use session_auth::api_tokens::{
    ApiTokenColumns, ApiTokenRecord, ApiTokenStore, Inserted, TokenHash, API_TOKEN_COLUMNS,
};
use session_core::{store::StoreError, UnixTime, UserId};

use crate::config::PostgresStoreConfig;
use crate::error::{is_unique_violation, PostgresOpenError};
use crate::schema;
use crate::store::{Database, Fault};
use crate::PostgresStore;

/// The API tokens of [`session_auth`]'s [`ApiTokens`](session_auth::api_tokens::ApiTokens), in a
/// table `api_tokens` of the store's schema (feature `auth`).
///
/// Made from a [`PostgresStore`] with [`from_store`](PostgresApiTokenStore::from_store) (sharing
/// its pool and schema) or on its own with [`connect`](PostgresApiTokenStore::connect). The
/// table has a schema version of its own, created by the same migration mechanism as the
/// sessions. Rows are kept after revocation and expiry, so there is no purge. Errors map as in
/// the [crate docs](crate#failures); on a read-only server `find` and `list` go on working
/// (bearer requests are still authenticated; only `last_used_at` is not recorded).
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_auth::api_tokens::{ApiTokens, NewApiToken};
/// use session_core::{Secret, UserId};
/// use session_store_postgres::{PostgresApiTokenStore, PostgresStore, PostgresStoreConfig};
///
/// let sessions = PostgresStore::connect(PostgresStoreConfig::from_env()).await?;
/// let store = PostgresApiTokenStore::from_store(&sessions).await?;
/// let secret = Secret::from_bytes(vec![7; 32])?; // in production: Secret::from_default_env()
/// let tokens = ApiTokens::builder(&secret, store).build();
/// let alice = UserId::new("alice");
/// let created = tokens.create(&alice, NewApiToken::named("CI deploy")).await?;
/// assert_eq!(tokens.authenticate(created.secret.expose()).await?.owner, alice);
/// # Ok(()) }
/// ```
///
/// # Schema
///
/// | column | holds |
/// |---|---|
/// | `id text COLLATE "C" PRIMARY KEY` | the token's public id, as is |
/// | `owner bytea` | the [`UserId`]'s UTF-8 bytes; indexed with `created_at` and `id` |
/// | `name bytea` | the name its owner gave it, as UTF-8 bytes |
/// | `scopes text` | its scopes, as a JSON array of strings |
/// | `display_prefix text` | the prefix and first characters of the token (`sat_Ab12Cd`) |
/// | `hash text UNIQUE` | the token's keyed hash, 64 lowercase hex digits ([`TokenHash::to_hex`]); never the token |
/// | `created_at bigint` | when it was created (Unix seconds) |
/// | `last_used_at bigint NULL` | when it last authenticated a request, if it did |
/// | `expires_at bigint NULL` | when it stops working, if it expires |
/// | `revoked_at bigint NULL` | when it was revoked, if it was |
///
/// `owner` and `name` are `bytea` because PostgreSQL's `text` cannot hold U+0000, which a user
/// id or a token name may contain.
///
/// - `insert`: one transaction that takes `pg_advisory_xact_lock` on a key of the owner (so
///   inserts for one owner from every node run one at a time), checks the id and the hash are
///   free (else [`StoreError::Collision`], also for a unique violation), counts the owner's
///   active rows and inserts only under the limit.
/// - `touch`: `UPDATE ... SET last_used_at = $at WHERE id = $1 AND (last_used_at IS NULL OR
///   last_used_at < $at)`, so it only ever moves forward.
/// - `revoke` and `revoke_all`: `UPDATE ... SET revoked_at = $at WHERE ... AND revoked_at IS
///   NULL`, so the first revocation's time stays.
///
/// A row that cannot be read back (a hash that is not 64 hex digits, scopes that are not a JSON
/// array of strings, a negative time) is [`StoreError::Corrupt`] from `find` and `list`; nothing
/// is deleted. No error, log event or `Debug` output contains a row's values.
pub struct PostgresApiTokenStore {
    db: Arc<Database>,
    sql: Sql,
}

impl fmt::Debug for PostgresApiTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresApiTokenStore")
            .field("db", &self.db)
            .finish()
    }
}

struct Sql {
    taken: String,
    count_active: String,
    insert: String,
    find: String,
    list: String,
    touch: String,
    revoke: String,
    revoke_all: String,
}

impl PostgresApiTokenStore {
    /// An API-token store on `store`'s pool and schema; creates or migrates the `api_tokens`
    /// table.
    ///
    /// # Errors
    ///
    /// [`PostgresOpenError`], as for [`PostgresStore::connect`]; the versions it names are the
    /// API-token table's.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_store_postgres::{PostgresApiTokenStore, PostgresStore, PostgresStoreConfig};
    /// let sessions = PostgresStore::connect(PostgresStoreConfig::from_env()).await?;
    /// let tokens = PostgresApiTokenStore::from_store(&sessions).await?;
    /// # drop(tokens); Ok(()) }
    /// ```
    pub async fn from_store(store: &PostgresStore) -> Result<Self, PostgresOpenError> {
        let db = Arc::clone(store.database());
        db.migrate(&schema::API_TOKENS).await?;
        Ok(Self::with(db))
    }

    /// An API-token store with a pool of its own, from `config` (its purge settings are not
    /// used).
    ///
    /// # Errors
    ///
    /// [`PostgresOpenError`], as for [`PostgresStore::connect`].
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use session_store_postgres::{PostgresApiTokenStore, PostgresStoreConfig};
    /// let tokens = PostgresApiTokenStore::connect(PostgresStoreConfig::from_env()).await?;
    /// # drop(tokens); Ok(()) }
    /// ```
    pub async fn connect(config: PostgresStoreConfig) -> Result<Self, PostgresOpenError> {
        Ok(Self::with(
            Database::connect(&config, &schema::API_TOKENS).await?,
        ))
    }

    fn with(db: Arc<Database>) -> Self {
        let t = db.table("api_tokens");
        let sql = Sql {
            taken: format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE id = $1 OR hash = $2)"),
            count_active: format!(
                "SELECT count(*) FROM {t} WHERE owner = $1 AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > $2)"
            ),
            insert: format!(
                "INSERT INTO {t} (id, owner, name, scopes, display_prefix, hash, created_at,
                     last_used_at, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            find: format!("SELECT {API_TOKEN_COLUMNS} FROM {t} WHERE hash = $1"),
            list: format!(
                "SELECT {API_TOKEN_COLUMNS} FROM {t} WHERE owner = $1 ORDER BY created_at, id"
            ),
            touch: format!(
                "UPDATE {t} SET last_used_at = $2
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)"
            ),
            revoke: format!(
                "UPDATE {t} SET revoked_at = $3 WHERE id = $1 AND owner = $2 AND revoked_at IS NULL"
            ),
            revoke_all: format!(
                "UPDATE {t} SET revoked_at = $2 WHERE owner = $1 AND revoked_at IS NULL"
            ),
        };
        PostgresApiTokenStore { db, sql }
    }
}

/// Reads [`API_TOKEN_COLUMNS`] from `row` (`owner` and `name` are `bytea`, to keep any
/// text); a value of the wrong type is a damaged row (without the value).
fn read_columns(row: &tokio_postgres::Row) -> Result<ApiTokenColumns, StoreError> {
    let bad = |_| ApiTokenColumns::wrong_type();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| ApiTokenColumns::wrong_type());
    Ok(ApiTokenColumns {
        id: row.try_get(0).map_err(bad)?,
        owner: text(row.try_get(1).map_err(bad)?)?,
        name: text(row.try_get(2).map_err(bad)?)?,
        scopes: row.try_get(3).map_err(bad)?,
        display_prefix: row.try_get(4).map_err(bad)?,
        hash: row.try_get(5).map_err(bad)?,
        created_at: row.try_get(6).map_err(bad)?,
        last_used_at: row.try_get(7).map_err(bad)?,
        expires_at: row.try_get(8).map_err(bad)?,
        revoked_at: row.try_get(9).map_err(bad)?,
    })
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ApiTokenStore for PostgresApiTokenStore {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        let row = ApiTokenColumns::of(record)?;
        let now = now.as_secs_i64();
        let owner_lock = schema::lock_key(
            &format!("api_tokens/{}", self.db.table("")),
            record.owner.as_str(),
        );
        self.db
            .call("api token insert", || async {
                let mut client = self.db.client("api token insert").await?;
                let tx = client.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&owner_lock])
                    .await?;
                let taken = tx.prepare_cached(&self.sql.taken).await?;
                let taken: bool = tx
                    .query_one(&taken, &[&row.id, &row.hash])
                    .await?
                    .try_get(0)?;
                if taken {
                    return Err(StoreError::Collision.into());
                }
                let count = tx.prepare_cached(&self.sql.count_active).await?;
                let active: i64 = tx
                    .query_one(&count, &[&row.owner.as_bytes(), &now])
                    .await?
                    .try_get(0)?;
                // A count is never negative; one past `usize::MAX` cannot be stored anyway.
                if usize::try_from(active).unwrap_or(usize::MAX) >= limit {
                    return Ok(Inserted::LimitReached);
                }
                let insert = tx.prepare_cached(&self.sql.insert).await?;
                let inserted = tx
                    .execute(
                        &insert,
                        &[
                            &row.id,
                            &row.owner.as_bytes(),
                            &row.name.as_bytes(),
                            &row.scopes,
                            &row.display_prefix,
                            &row.hash,
                            &row.created_at,
                            &row.last_used_at,
                            &row.expires_at,
                            &row.revoked_at,
                        ],
                    )
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::Collision.into()),
                    Err(e) => return Err(Fault::Pg(e)),
                }
                tx.commit().await?;
                Ok(Inserted::Stored)
            })
            .await
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        let hash = hash.to_hex();
        let row = self
            .db
            .call("api token find", || async {
                let client = self.db.client("api token find").await?;
                let stmt = client.prepare_cached(&self.sql.find).await?;
                Ok(client.query_opt(&stmt, &[&hash]).await?)
            })
            .await?;
        row.map(|r| read_columns(&r)?.into_record()).transpose()
    }

    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let owner = owner.as_str().as_bytes();
        let rows = self
            .db
            .call("api token list", || async {
                let client = self.db.client("api token list").await?;
                let stmt = client.prepare_cached(&self.sql.list).await?;
                Ok(client.query(&stmt, &[&owner]).await?)
            })
            .await?;
        rows.iter()
            .map(|r| read_columns(r)?.into_record())
            .collect()
    }

    /// One `UPDATE` that only matches a row whose `last_used_at` is earlier (or unset).
    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        let at = at.as_secs_i64();
        self.db
            .call("api token touch", || async {
                let client = self.db.client("api token touch").await?;
                let stmt = client.prepare_cached(&self.sql.touch).await?;
                client.execute(&stmt, &[&id, &at]).await?;
                Ok(())
            })
            .await
    }

    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        let (owner, at) = (owner.as_str().as_bytes(), at.as_secs_i64());
        self.db
            .call("api token revoke", || async {
                let client = self.db.client("api token revoke").await?;
                let stmt = client.prepare_cached(&self.sql.revoke).await?;
                Ok(client.execute(&stmt, &[&id, &owner, &at]).await? > 0)
            })
            .await
    }

    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        let (owner, at) = (owner.as_str().as_bytes(), at.as_secs_i64());
        self.db
            .call("api token revoke_all", || async {
                let client = self.db.client("api token revoke_all").await?;
                let stmt = client.prepare_cached(&self.sql.revoke_all).await?;
                Ok(client.execute(&stmt, &[&owner, &at]).await?)
            })
            .await
    }
}
