//! [`PostgresStore`]: the [`SessionStore`] implementation, the pool shared with the token stores,
//! and the SQL.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use session_core::{
    store::{BackgroundPurge, SessionKey, SessionRecord, StoreCaps, StoreError},
    SessionStore, UnixTime, UserId,
};
use tokio_postgres::config::Host;
use tokio_postgres::NoTls;

use crate::config::PostgresStoreConfig;
use crate::error::{
    is_retryable, pg_error, pool_error, CorruptRecord, DeadlineExceeded, PoolFailure,
    PostgresOpenError,
};
use crate::schema::{self, Schema};

/// What a step of a store call can fail with, before it becomes a [`StoreError`]: a driver
/// error keeps its SQLSTATE so the call can retry serialization failures and deadlocks once.
pub(crate) enum Fault {
    Store(StoreError),
    Pg(tokio_postgres::Error),
}

impl From<StoreError> for Fault {
    fn from(err: StoreError) -> Self {
        Fault::Store(err)
    }
}

impl From<tokio_postgres::Error> for Fault {
    fn from(err: tokio_postgres::Error) -> Self {
        Fault::Pg(err)
    }
}

/// The pool and the rules for using it, shared by every store of this crate on one
/// [`PostgresStoreConfig`]: each call gets a connection (waiting at most the pool timeout),
/// runs its statements (each bounded by the server's `statement_timeout`), retries once on a
/// serialization failure or deadlock, and is bounded as a whole by [`Database::call_timeout`].
pub(crate) struct Database {
    pool: Pool,
    /// The checked schema name, unquoted.
    schema: String,
    /// `host:port/database`, never with credentials.
    target: String,
    pool_size: usize,
    pool_timeout: Duration,
    connect_timeout: Duration,
    call_timeout: Duration,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Database")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connections", &status.size)
            .field("idle", &status.available)
            .finish()
    }
}

/// `host:port/database` of a parsed config, without user or password.
fn describe_target(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_owned()
    } else {
        hosts.join(",")
    };
    format!("{hosts}/{}", config.get_dbname().unwrap_or("(default)"))
}

impl Database {
    /// Builds the pool, checks out one connection (so a wrong URL or an unreachable server fails
    /// here), and creates or migrates `schema`'s tables.
    pub(crate) async fn connect(
        config: &PostgresStoreConfig,
        schema: &Schema,
    ) -> Result<Arc<Self>, PostgresOpenError> {
        let schema_name = config.checked_schema()?.to_owned();
        let pg_config = tokio_postgres::Config::from_str(&config.url).map_err(|_| {
            PostgresOpenError::InvalidUrl {
                reason: "tokio-postgres cannot parse it as a URL or key-value string".into(),
            }
        })?;
        let target = describe_target(&pg_config);
        let manager = Manager::from_config(
            pg_config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let set_timeout = format!(
            "SET statement_timeout = {}",
            config
                .statement_timeout
                .as_millis()
                .clamp(1, i32::MAX as u128)
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.pool_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(config.connect_timeout))
            .post_create(Hook::async_fn(move |client, _| {
                let sql = set_timeout.clone();
                Box::pin(
                    async move { client.batch_execute(&sql).await.map_err(HookError::Backend) },
                )
            }))
            .build()
            .map_err(|_| PostgresOpenError::InvalidUrl {
                reason: "the connection pool could not be built".into(),
            })?;
        let db = Database {
            pool,
            schema: schema_name,
            target,
            pool_size: config.pool_size,
            pool_timeout: config.pool_timeout,
            connect_timeout: config.connect_timeout,
            // Every call is bounded, so none can hang on a server that stopped answering: the
            // pool wait, opening a connection, and two statement timeouts (a retry), plus slack.
            call_timeout: config.pool_timeout
                + config.connect_timeout
                + config.statement_timeout * 2
                + Duration::from_secs(1),
        };
        let mut client = db.pool.get().await.map_err(|e| {
            let err = pool_error(
                "connect",
                e,
                db.pool_timeout,
                db.connect_timeout,
                db.pool_size,
            );
            PostgresOpenError::from_store("connect", &db.target, db.connect_timeout, err)
        })?;
        schema::migrate(&mut client, &db.schema, schema, &db.target).await?;
        drop(client);
        tracing::debug!(
            target = %db.target,
            schema = %db.schema,
            tables = schema.table,
            "connected to PostgreSQL"
        );
        Ok(Arc::new(db))
    }

    /// Creates or migrates `schema`'s tables with a connection of this pool (the token stores'
    /// tables beside the sessions).
    #[cfg(feature = "auth")]
    pub(crate) async fn migrate(&self, schema: &Schema) -> Result<(), PostgresOpenError> {
        let mut client = self.pool.get().await.map_err(|e| {
            let err = pool_error(
                "connect",
                e,
                self.pool_timeout,
                self.connect_timeout,
                self.pool_size,
            );
            PostgresOpenError::from_store("connect", &self.target, self.connect_timeout, err)
        })?;
        schema::migrate(&mut client, &self.schema, schema, &self.target).await
    }

    /// `"schema".name`.
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}.{name}", schema::quoted(&self.schema))
    }

    /// A connection from the pool, waiting at most the pool timeout.
    pub(crate) async fn client(&self, op: &'static str) -> Result<Object, Fault> {
        self.pool.get().await.map_err(|e| {
            Fault::Store(pool_error(
                op,
                e,
                self.pool_timeout,
                self.connect_timeout,
                self.pool_size,
            ))
        })
    }

    /// Runs one store call: `attempt` again once if it failed with a serialization failure or
    /// deadlock (its transaction was rolled back, so nothing of it happened), the whole bounded
    /// by the call timeout.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        op: &'static str,
        attempt: F,
    ) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let run = async {
            let mut retried = false;
            loop {
                match attempt().await {
                    Ok(out) => return Ok(out),
                    Err(Fault::Store(err)) => return Err(err),
                    Err(Fault::Pg(err)) if is_retryable(&err) && !retried => {
                        tracing::debug!(op, "retrying after a serialization failure or deadlock");
                        retried = true;
                    }
                    Err(Fault::Pg(err)) => return Err(pg_error(op, &err)),
                }
            }
        };
        match tokio::time::timeout(self.call_timeout, run).await {
            Ok(out) => out,
            Err(_) => Err(StoreError::timeout(DeadlineExceeded {
                op,
                after: self.call_timeout,
            })),
        }
    }
}

/// The SQL of the session store, with the schema's name in it.
struct Sql {
    load: String,
    insert: String,
    save: String,
    lock_version: String,
    delete: String,
    delete_for_user: String,
    list_for_user: String,
    purge_batch: String,
}

impl Sql {
    fn new(db: &Database) -> Self {
        let t = db.table("sessions");
        Sql {
            load: format!("SELECT record FROM {t} WHERE key = $1"),
            insert: format!(
                "INSERT INTO {t} (key, user_id, created_at, expires_at, version, record)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING"
            ),
            // One statement: `cur` locks the row (following a concurrent update to its newest
            // version, or finding nothing if it was deleted), and the UPDATE joins on it, so the
            // version compared is the locked one. NULL stored version: NotFound; updated: Ok;
            // otherwise Conflict.
            save: format!(
                "WITH cur AS (SELECT key, version FROM {t} WHERE key = $1 FOR UPDATE),
                      upd AS (UPDATE {t} AS s SET user_id = $2, created_at = $3, expires_at = $4,
                                  version = $5, record = $6
                              FROM cur WHERE s.key = cur.key AND cur.version = $7
                              RETURNING 1)
                 SELECT (SELECT version FROM cur), EXISTS (SELECT 1 FROM upd)"
            ),
            lock_version: format!("SELECT version FROM {t} WHERE key = $1 FOR UPDATE"),
            delete: format!("DELETE FROM {t} WHERE key = $1"),
            delete_for_user: format!("DELETE FROM {t} WHERE user_id = $1"),
            list_for_user: format!(
                "SELECT key, record FROM {t} WHERE user_id = $1 AND expires_at > $2
                 ORDER BY created_at, key"
            ),
            purge_batch: format!(
                "DELETE FROM {t} WHERE key IN (
                     SELECT key FROM {t} WHERE expires_at <= $1
                     ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            ),
        }
    }
}

/// What the session store shares with its background purge.
struct Inner {
    db: Arc<Database>,
    sql: Sql,
    purge_batch: usize,
}

/// Sessions in PostgreSQL tables (see the [crate docs](crate) for the schema, the SQL of each
/// method, and how failures map to [`StoreError`]s).
///
/// Share it as `Arc<dyn SessionStore>`. Dropping it stops the background purge (a batch in
/// flight finishes on the runtime) and closes the pool's connections once in-flight calls
/// finish.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use session_store_postgres::{PostgresStore, PostgresStoreConfig};
///
/// let store = PostgresStore::connect(PostgresStoreConfig::from_env().schema("sessions")).await?;
/// println!("{store:?}"); // no password in it
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    /// Declared first, so it is dropped first: the purge stops before the pool goes.
    purge: Option<BackgroundPurge>,
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("db", &self.inner.db)
            .field("purge_batch", &self.inner.purge_batch)
            .field("background_purge", &self.purge.is_some())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database described by `config`: builds the pool, opens one connection
    /// (so an unreachable server or a bad URL fails now), creates the schema if missing and
    /// creates or migrates the sessions table, then starts the background purge (unless turned
    /// off). Call it from inside a Tokio runtime, which the pool and the purge use.
    ///
    /// Several application nodes may connect at once: migrations run under an advisory lock.
    ///
    /// # Errors
    ///
    /// [`PostgresOpenError`]: a bad URL or schema name, an unreachable or slow server (the
    /// transient [`Unavailable`](PostgresOpenError::Unavailable) and
    /// [`TimedOut`](PostgresOpenError::TimedOut), naming `host:port/database` without the
    /// password), a schema written by a newer build ([`NewerSchema`](PostgresOpenError::NewerSchema),
    /// left untouched), or a failed setup step.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), session_store_postgres::PostgresOpenError> {
    /// use std::time::Duration;
    /// use session_core::{store::{SessionId, SessionRecord}, SessionStore, UnixTime};
    /// use session_store_postgres::{PostgresStore, PostgresStoreConfig};
    ///
    /// let config = PostgresStoreConfig::new("postgres://postgres@127.0.0.1:5432/postgres")
    ///     .schema("sessions");
    /// let store = PostgresStore::connect(config).await?;
    /// let now = UnixTime::now();
    /// let record = SessionRecord::new(SessionId::generate().key(), now, now + Duration::from_secs(60));
    /// store.create(&record).await.expect("create");
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: PostgresStoreConfig) -> Result<Self, PostgresOpenError> {
        let db = Database::connect(&config, &schema::SESSIONS).await?;
        let inner = Arc::new(Inner {
            sql: Sql::new(&db),
            db,
            purge_batch: config.purge_batch,
        });
        let purge = config.purge_schedule().map(|schedule| {
            let runtime = tokio::runtime::Handle::current();
            let weak = Arc::downgrade(&inner);
            BackgroundPurge::spawn(
                "postgres",
                schedule.interval(),
                schedule.batch(),
                move |limit| {
                    let Some(inner) = weak.upgrade() else {
                        return Ok(0);
                    };
                    // The batch runs as a task on the application's runtime (where the pool's
                    // connections live); this thread only waits for its answer, so it never
                    // blocks the runtime, and a runtime that has shut down drops the task.
                    let (answer, answered) = std::sync::mpsc::channel();
                    runtime.spawn(async move {
                        let _ = answer.send(inner.purge_batch(UnixTime::now(), limit).await);
                    });
                    answered.recv().unwrap_or_else(|_| {
                        Err(StoreError::unavailable(PoolFailure(
                            "the runtime has stopped",
                        )))
                    })
                },
            )
        });
        Ok(PostgresStore { purge, inner })
    }

    /// The database handle, for the token stores that share its pool and schema.
    #[cfg(feature = "auth")]
    pub(crate) fn database(&self) -> &Arc<Database> {
        &self.inner.db
    }
}

impl Inner {
    /// Deletes up to `limit` rows expired at `now`, earliest first, skipping rows another
    /// transaction holds.
    async fn purge_batch(&self, now: UnixTime, limit: usize) -> Result<u64, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call("purge", || async {
                let client = self.db.client("purge").await?;
                let stmt = client.prepare_cached(&self.sql.purge_batch).await?;
                Ok(client.execute(&stmt, &[&now.as_secs_i64(), &limit]).await?)
            })
            .await
    }
}

/// The columns of one row.
struct Row {
    key: [u8; 32],
    user_id: Option<String>,
    created_at: i64,
    expires_at: i64,
    version: i64,
    record: Vec<u8>,
}

impl Row {
    fn new(record: &SessionRecord) -> Self {
        Row {
            key: *record.key.as_bytes(),
            user_id: record.user_id.as_ref().map(|u| u.as_str().to_owned()),
            created_at: record.created_at.as_secs_i64(),
            expires_at: record.effective_expiry().as_secs_i64(),
            version: sql_version(record.version),
            record: record.to_bytes(),
        }
    }
}

/// Versions are only compared for equality, so the bit-for-bit reinterpretation as `i64` is
/// exact for every `u64`.
pub(crate) fn sql_version(v: u64) -> i64 {
    v as i64
}

/// Decodes a stored record, checking that it is stored under its own key.
fn decode(key: &[u8], bytes: &[u8]) -> Result<SessionRecord, StoreError> {
    let record = SessionRecord::from_bytes(bytes)
        .map_err(|e| StoreError::corrupt(CorruptRecord::from(e)))?;
    if record.key.as_bytes()[..] != *key {
        return Err(StoreError::corrupt(CorruptRecord::KeyMismatch));
    }
    Ok(record)
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for PostgresStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::purged()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let inner = &self.inner;
        let key = &key.as_bytes()[..];
        let bytes: Option<Vec<u8>> = inner
            .db
            .call("load", || async {
                let client = inner.db.client("load").await?;
                let stmt = client.prepare_cached(&inner.sql.load).await?;
                let row = client.query_opt(&stmt, &[&key]).await?;
                Ok(row.map(|r| r.try_get::<_, Vec<u8>>(0)).transpose()?)
            })
            .await?;
        match bytes {
            None => Ok(None),
            Some(bytes) => Ok(Some(decode(key, &bytes)?).filter(|r| !r.is_expired(now))),
        }
    }

    /// `INSERT ... ON CONFLICT (key) DO NOTHING`: no row inserted is a collision, and the stored
    /// row is untouched.
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let inner = &self.inner;
        let row = Row::new(record);
        let inserted = inner
            .db
            .call("create", || async {
                let client = inner.db.client("create").await?;
                let stmt = client.prepare_cached(&inner.sql.insert).await?;
                Ok(client
                    .execute(
                        &stmt,
                        &[
                            &&row.key[..],
                            &row.user_id,
                            &row.created_at,
                            &row.expires_at,
                            &row.version,
                            &row.record,
                        ],
                    )
                    .await?)
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Collision);
        }
        Ok(())
    }

    /// One statement (see the [crate docs](crate#concurrency-model)): the row is locked, its version compared and the update
    /// made together, so concurrent saves of one version have exactly one winner and a deleted
    /// record is `NotFound`, never re-created.
    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        let inner = &self.inner;
        let row = Row::new(record);
        let expected = sql_version(expected_version);
        let (stored, updated): (Option<i64>, bool) = inner
            .db
            .call("save", || async {
                let client = inner.db.client("save").await?;
                let stmt = client.prepare_cached(&inner.sql.save).await?;
                let answer = client
                    .query_one(
                        &stmt,
                        &[
                            &&row.key[..],
                            &row.user_id,
                            &row.created_at,
                            &row.expires_at,
                            &row.version,
                            &row.record,
                            &expected,
                        ],
                    )
                    .await?;
                Ok((answer.try_get(0)?, answer.try_get(1)?))
            })
            .await?;
        match (stored, updated) {
            (_, true) => Ok(()),
            (None, false) => Err(StoreError::NotFound),
            (Some(_), false) => Err(StoreError::Conflict),
        }
    }

    /// One transaction: `SELECT version ... FOR UPDATE` of `old` (NotFound, Conflict), an
    /// `INSERT ... ON CONFLICT DO NOTHING` of the new row (nothing inserted: Collision), the
    /// `DELETE` of `old`, `COMMIT`. Any failure rolls everything back. The lock on `old` makes
    /// concurrent renews, saves and deletes of it wait, then see it gone.
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let old = &old.as_bytes()[..];
        let row = Row::new(record);
        let expected = sql_version(expected_version);
        inner
            .db
            .call("renew", || async {
                let mut client = inner.db.client("renew").await?;
                let tx = client.transaction().await?;
                let lock = tx.prepare_cached(&inner.sql.lock_version).await?;
                let stored: Option<i64> = tx
                    .query_opt(&lock, &[&old])
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                match stored {
                    None => return Err(StoreError::NotFound.into()),
                    Some(version) if version != expected => return Err(StoreError::Conflict.into()),
                    Some(_) => {}
                }
                // Renewing onto the old key itself conflicts here too, as in every store.
                let insert = tx.prepare_cached(&inner.sql.insert).await?;
                let inserted = tx
                    .execute(
                        &insert,
                        &[
                            &&row.key[..],
                            &row.user_id,
                            &row.created_at,
                            &row.expires_at,
                            &row.version,
                            &row.record,
                        ],
                    )
                    .await?;
                if inserted == 0 {
                    return Err(StoreError::Collision.into());
                }
                let delete = tx.prepare_cached(&inner.sql.delete).await?;
                tx.execute(&delete, &[&old]).await?;
                tx.commit().await?;
                Ok(())
            })
            .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let inner = &self.inner;
        let key = &key.as_bytes()[..];
        inner
            .db
            .call("delete", || async {
                let client = inner.db.client("delete").await?;
                let stmt = client.prepare_cached(&inner.sql.delete).await?;
                client.execute(&stmt, &[&key]).await?;
                Ok(())
            })
            .await
    }

    /// Two `DELETE ... WHERE user_id = $1` statements in one transaction. Each statement of a
    /// READ COMMITTED transaction sees what was committed when it started: the first deletes
    /// every session it sees (waiting for rows other transactions hold); a concurrent `renew`
    /// it waited for has committed its new row by then, and the second statement deletes that.
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let inner = &self.inner;
        let user = user.as_str();
        inner
            .db
            .call("delete_for_user", || async {
                let mut client = inner.db.client("delete_for_user").await?;
                let tx = client.transaction().await?;
                let stmt = tx.prepare_cached(&inner.sql.delete_for_user).await?;
                let first = tx.execute(&stmt, &[&user]).await?;
                let second = tx.execute(&stmt, &[&user]).await?;
                tx.commit().await?;
                Ok(first + second)
            })
            .await
    }

    /// The user's live sessions, oldest first. A record that cannot be decoded is skipped (with
    /// a warning naming only its key fingerprint); `load` of that key reports it as
    /// [`StoreError::Corrupt`].
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let inner = &self.inner;
        let user = user.as_str();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = inner
            .db
            .call("list_for_user", || async {
                let client = inner.db.client("list_for_user").await?;
                let stmt = client.prepare_cached(&inner.sql.list_for_user).await?;
                let rows = client.query(&stmt, &[&user, &now.as_secs_i64()]).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.push((row.try_get(0)?, row.try_get(1)?));
                }
                Ok(out)
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (key, bytes) in rows {
            match decode(&key, &bytes) {
                Ok(record) if !record.is_expired(now) => out.push(record),
                Ok(_) => {}
                Err(error) => {
                    let fingerprint = <[u8; 32]>::try_from(key.as_slice())
                        .map(|k| SessionKey::from_bytes(k).fingerprint().to_string())
                        .unwrap_or_else(|_| "(malformed key)".to_owned());
                    tracing::warn!(key = %fingerprint, %error, "skipping a corrupt session record");
                }
            }
        }
        Ok(out)
    }

    /// Batches of `DELETE ... WHERE key IN (SELECT key ... WHERE expires_at <= $now ORDER BY
    /// expires_at LIMIT n FOR UPDATE SKIP LOCKED)`, each its own statement, until a batch is
    /// short. What was purged before a failure stays purged.
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let purged = self.inner.purge_batch(now, self.inner.purge_batch).await?;
            total += purged;
            if purged < self.inner.purge_batch as u64 {
                return Ok(total);
            }
        }
    }
}
