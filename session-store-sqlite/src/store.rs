//! [`SqliteStore`]: the [`SessionStore`] implementation, its small connection pool and the SQL.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{
    ffi, params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use session_core::{
    store::{BackgroundPurge, SessionKey, SessionRecord, StoreCaps, StoreError},
    SessionStore, UnixTime, UserId,
};
use tokio::sync::Semaphore;

use crate::config::{Location, SqliteStoreConfig};
use crate::error::{store_error, CorruptRecord, SqliteOpenError};
use crate::file_identity::FileIdentity;
use crate::schema::{self, Schema};

/// Sessions in a SQLite database (see the [crate docs](crate) for the schema and durability).
///
/// Writes run on tokio's blocking thread pool (`spawn_blocking`), so a slow disk, a checkpoint or
/// a lock held by another process never stalls the async executor; they go through one write
/// connection inside `BEGIN IMMEDIATE` transactions. Reads use a pool of read connections that,
/// thanks to WAL mode, never wait for the writer: a read runs on the calling task when a
/// connection is free, with SQLite's busy handler off so it cannot block there, and moves to the
/// blocking pool (waiting up to the busy timeout) only when a lock is held or every read
/// connection is busy. Callers wait for a free connection asynchronously.
///
/// Unless [turned off](SqliteStoreConfig::background_purge), a background thread deletes
/// expired rows in bounded batches (see [`SqliteStoreConfig::background_purge`]).
///
/// Cloning is not needed: share it as `Arc<dyn SessionStore>`. Dropping the store stops the
/// background purge (waiting for a batch in flight: one short transaction, or up to the busy
/// timeout if another process holds the database lock) and closes its connections once in-flight
/// calls finish.
pub struct SqliteStore {
    /// Declared first, so it is dropped first: the purge stops before the connections go.
    purge: Option<BackgroundPurge>,
    db: Database,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.db.path)
            .field("read_only", &self.db.read_only)
            .field("background_purge", &self.purge.is_some())
            .field("read_connections", &self.db.read_connections())
            .finish()
    }
}

impl SqliteStore {
    /// Opens (and if needed creates and migrates) the database described by `config`.
    ///
    /// This is a synchronous call that does file I/O and may wait up to the busy timeout for a
    /// lock; call it once at startup (inside an async context that is fine, or wrap it in
    /// `spawn_blocking`). It does not need a tokio runtime, but the store's methods do.
    ///
    /// # Errors
    /// [`SqliteOpenError`]: a missing directory, a file that is not a SQLite database, a schema this
    /// build does not know, or any SQLite failure while opening. The file is never deleted or
    /// recreated.
    pub fn open(config: SqliteStoreConfig) -> Result<Self, SqliteOpenError> {
        let db = Database::open(&config, &schema::SESSIONS)?;
        let purge = match config.purge_schedule() {
            Some(schedule) if !config.read_only => {
                let file = db.file.clone();
                Some(BackgroundPurge::for_store(
                    "sqlite",
                    &db.writer,
                    schedule,
                    move |pool: &Pool, limit| {
                        pool.run_here(|conn| {
                            immediate(conn, file.as_ref(), |tx| {
                                purge_batch(tx, UnixTime::now(), limit)
                            })
                        })
                    },
                ))
            }
            _ => None,
        };
        Ok(SqliteStore { purge, db })
    }
}

/// The connections to one database (a file, or a private in-memory database) and the rules for
/// using them, shared by the stores of this crate: one write connection whose calls run on the
/// blocking pool in `BEGIN IMMEDIATE` transactions, and a pool of read connections (WAL readers,
/// `query_only`) tried on the calling task first.
pub(crate) struct Database {
    writer: Arc<Pool>,
    /// `None` for an in-memory database, whose single connection serves reads too.
    readers: Option<Arc<Pool>>,
    path: Option<PathBuf>,
    /// The file the writer opened, checked before each write (`None` in memory).
    file: Option<FileIdentity>,
    read_only: bool,
    /// How long a call on the blocking pool waits for another connection's lock.
    busy_timeout: Duration,
}

impl Database {
    /// Opens the database described by `config` and creates or migrates `schema` in it (a
    /// read-only `config` only checks that `schema` is there and current).
    pub(crate) fn open(
        config: &SqliteStoreConfig,
        schema: &Schema,
    ) -> Result<Self, SqliteOpenError> {
        match &config.location {
            Location::Memory => Self::open_memory(config, schema),
            Location::File(path) => Self::open_file(path, config, schema),
        }
    }

    fn open_memory(config: &SqliteStoreConfig, schema: &Schema) -> Result<Self, SqliteOpenError> {
        let mut conn = Connection::open_in_memory()
            .map_err(|e| SqliteOpenError::sqlite("cannot open an in-memory database", None, e))?;
        configure_writer(&conn, config, None)?;
        if config.read_only {
            schema::check(&conn, None, schema)?;
        } else {
            schema::migrate(&mut conn, None, schema)?;
        }
        Ok(Database {
            writer: Pool::new(vec![conn]),
            readers: None,
            path: None,
            file: None,
            read_only: config.read_only,
            busy_timeout: config.busy_timeout,
        })
    }

    fn open_file(
        path: &Path,
        config: &SqliteStoreConfig,
        schema: &Schema,
    ) -> Result<Self, SqliteOpenError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.is_dir()) {
            return Err(SqliteOpenError::MissingDirectory {
                dir: dir.to_owned(),
            });
        }
        let flags = if config.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let open = |flags| {
            let conn = Connection::open_with_flags(path, flags).map_err(|e| {
                SqliteOpenError::sqlite("cannot open the database file", Some(path), e)
            })?;
            conn.busy_timeout(config.busy_timeout).map_err(|e| {
                SqliteOpenError::sqlite("cannot set the busy timeout", Some(path), e)
            })?;
            Ok::<_, SqliteOpenError>(conn)
        };

        let mut writer = open(flags)?;
        if config.read_only {
            schema::check(&writer, Some(path), schema)?;
        } else {
            configure_writer(&writer, config, Some(path))?;
            schema::migrate(&mut writer, Some(path), schema)?;
        }

        // Read connections never create the file and refuse writes even when the store can.
        let reader_flags = flags - OpenFlags::SQLITE_OPEN_CREATE;
        let mut readers = Vec::with_capacity(config.pool_size);
        for _ in 0..config.pool_size {
            let conn = open(reader_flags)?;
            conn.pragma_update(None, "query_only", true).map_err(|e| {
                SqliteOpenError::sqlite("cannot configure a read connection", Some(path), e)
            })?;
            readers.push(conn);
        }
        tracing::debug!(
            schema = schema.name,
            read_only = config.read_only,
            "opened the database"
        );
        Ok(Database {
            writer: Pool::new(vec![writer]),
            readers: Some(Pool::new(readers)),
            path: Some(path.to_owned()),
            file: FileIdentity::of(path),
            read_only: config.read_only,
            busy_timeout: config.busy_timeout,
        })
    }

    /// The database file, or `None` for an in-memory database.
    #[cfg(feature = "auth")]
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether the database was opened read-only.
    #[cfg(feature = "auth")]
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    /// How many read connections there are (0 for an in-memory database).
    pub(crate) fn read_connections(&self) -> usize {
        self.readers.as_ref().map_or(0, |r| r.size)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the write connection, committing if it
    /// returns `Ok`. An error drops the transaction, which rolls it back.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let file = self.file.clone();
        self.writer
            .run(move |conn| immediate(conn, file.as_ref(), f))
            .await
    }

    /// Runs the read `f` on a read connection: on the calling task when a connection is free
    /// and the database answers without waiting for a lock (a WAL read of one row takes a few
    /// microseconds, less than a round trip to the blocking pool), otherwise on the blocking
    /// pool, where it may wait up to the busy timeout.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.readers.as_ref().unwrap_or(&self.writer);
        if let Some(answer) = pool.try_here(|conn| without_waiting(conn, self.busy_timeout, &f)) {
            match answer {
                Err(StoreError::Timeout { .. }) => {} // a lock is held: wait off the executor
                answer => return answer,
            }
        }
        pool.run(move |conn| f(conn)).await
    }
}

/// Runs `f` on `conn` with SQLite's busy handler off, so a held lock fails at once with
/// `SQLITE_BUSY` (a [`StoreError::Timeout`]) instead of blocking the caller; the configured
/// `busy_timeout` is restored afterwards.
fn without_waiting<T>(
    conn: &mut Connection,
    busy_timeout: Duration,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.busy_timeout(Duration::ZERO).map_err(store_error)?;
    let answer = f(conn);
    conn.busy_timeout(busy_timeout).map_err(store_error)?;
    answer
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `conn`, committing if it returns `Ok`, once
/// the lock is held and `file` is still the database's file (Q9: see `file_identity.rs`).
fn immediate<T>(
    conn: &mut Connection,
    file: Option<&FileIdentity>,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(store_error)?;
    if let Some(file) = file {
        file.check()?;
    }
    let out = f(&tx)?;
    tx.commit().map_err(store_error)?;
    Ok(out)
}

/// Deletes up to `limit` rows expired at `now`, earliest first, in one transaction. The
/// per-user index is an SQL index on the same rows, so it follows.
fn purge_batch(tx: &Transaction<'_>, now: UnixTime, limit: usize) -> Result<u64, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let purged = tx
        .prepare_cached(
            "DELETE FROM sessions WHERE key IN (
                 SELECT key FROM sessions WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2
             )",
        )
        .and_then(|mut stmt| stmt.execute(params![now.as_secs_i64(), limit]))
        .map_err(store_error)?;
    Ok(purged as u64)
}

/// Wakes the thread that is blocked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` to completion on the current thread, parking between polls. For the purge
/// thread, which is not a Tokio thread, to wait its turn for the write connection's permit.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// Sets the pragmas of the write connection. The first pragma reads the file header, so a file
/// that is not a database fails here, before anything is written.
fn configure_writer(
    conn: &Connection,
    config: &SqliteStoreConfig,
    path: Option<&Path>,
) -> Result<(), SqliteOpenError> {
    let fail = |context| move |e| SqliteOpenError::sqlite(context, path, e);
    conn.busy_timeout(config.busy_timeout)
        .map_err(fail("cannot set the busy timeout"))?;
    if path.is_some() {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(fail("cannot switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode; reads may wait for writes");
        }
    }
    conn.pragma_update(None, "synchronous", config.synchronous.pragma_value())
        .map_err(fail("cannot set synchronous"))?;
    if let Some(pages) = config.max_page_count {
        conn.pragma_update(None, "max_page_count", pages)
            .map_err(fail("cannot set max_page_count"))?;
    }
    Ok(())
}

/// A fixed set of connections. A caller first takes a permit (waiting asynchronously when all
/// connections are busy), then borrows a connection on a blocking thread.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    size: usize,
}

impl Pool {
    fn new(conns: Vec<Connection>) -> Arc<Self> {
        let size = conns.len();
        Arc::new(Pool {
            idle: Mutex::new(conns),
            permits: Arc::new(Semaphore::new(size)),
            size,
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        // The lock is only held to push or pop, which cannot leave the vector inconsistent.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with a connection on tokio's blocking pool.
    ///
    /// The permit and the connection travel into the blocking task, so a caller that gives up
    /// (its future dropped) cannot lose the connection: the task finishes and puts it back.
    async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(StoreError::unavailable)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // Declared after the permit, so dropped (and returned) before the permit is released.
            let mut lease = Lease::take(&pool);
            f(lease.conn())
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Runs `f` with a connection on the calling thread if one is free right now (no waiting);
    /// `None` when all are busy.
    fn try_here<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> Option<T> {
        let _permit = self.permits.try_acquire().ok()?;
        // Declared after the permit, so dropped (and returned) before the permit is released.
        let mut lease = Lease::take(self);
        Some(f(lease.conn()))
    }

    /// Runs `f` with a connection on the calling thread, which must not be an async executor's:
    /// it blocks while it waits for a permit, in the same queue as the async callers.
    fn run_here<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _permit = block_on(self.permits.acquire()).map_err(StoreError::unavailable)?;
        // Declared after the permit, so dropped (and returned) before the permit is released.
        let mut lease = Lease::take(self);
        f(lease.conn())
    }
}

/// A connection borrowed from a [`Pool`]; returned on drop, even when `f` panics.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl<'a> Lease<'a> {
    fn take(pool: &'a Pool) -> Self {
        // Invariant: the caller holds a permit, there are as many permits as connections, and
        // every lease puts its connection back before its permit is released.
        let conn = pool
            .idle()
            .pop()
            .expect("a permit guarantees an idle connection");
        Lease {
            pool,
            conn: Some(conn),
        }
    }

    fn conn(&mut self) -> &mut Connection {
        // Invariant: `conn` is only taken in `drop`.
        self.conn.as_mut().expect("the lease holds its connection")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle().push(conn);
        }
    }
}

/// The columns of one row, owned so they can move to a blocking thread.
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
fn decode(key: &[u8; 32], bytes: &[u8]) -> Result<SessionRecord, StoreError> {
    let record = SessionRecord::from_bytes(bytes)
        .map_err(|e| StoreError::corrupt(CorruptRecord::from(e)))?;
    if record.key.as_bytes() != key {
        return Err(StoreError::corrupt(CorruptRecord::KeyMismatch));
    }
    Ok(record)
}

fn is_primary_key_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(ffi::Error { extended_code, .. }, _)
            if *extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Inserts `row`; a row already under its key is [`StoreError::Collision`].
fn insert_row(tx: &Transaction<'_>, row: &Row) -> Result<(), StoreError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO sessions (key, user_id, created_at, expires_at, version, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                &row.key[..],
                row.user_id,
                row.created_at,
                row.expires_at,
                row.version,
                row.record,
            ])
        });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_primary_key_violation(&e) => Err(StoreError::Collision),
        Err(e) => Err(store_error(e)),
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for SqliteStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::purged()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let key = *key.as_bytes();
        self.db
            .read(move |conn| {
                let bytes: Option<Vec<u8>> = conn
                    .prepare_cached("SELECT record FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.query_row([&key[..]], |row| row.get(0)).optional())
                    .map_err(store_error)?;
                match bytes {
                    None => Ok(None),
                    Some(bytes) => Ok(Some(decode(&key, &bytes)?).filter(|r| !r.is_expired(now))),
                }
            })
            .await
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let row = Row::new(record);
        self.db.write(move |tx| insert_row(tx, &row)).await
    }

    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        let row = Row::new(record);
        let expected = sql_version(expected_version);
        // Inside one BEGIN IMMEDIATE transaction: no other writer can slip in between the
        // UPDATE and the check that tells a stale version from a deleted record.
        self.db
            .write(move |tx| {
                let changed = tx
                    .prepare_cached(
                        "UPDATE sessions
                     SET user_id = ?2, created_at = ?3, expires_at = ?4, version = ?5, record = ?6
                     WHERE key = ?1 AND version = ?7",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            &row.key[..],
                            row.user_id,
                            row.created_at,
                            row.expires_at,
                            row.version,
                            row.record,
                            expected,
                        ])
                    })
                    .map_err(store_error)?;
                if changed > 0 {
                    return Ok(());
                }
                let exists = tx
                    .prepare_cached("SELECT 1 FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.exists([&row.key[..]]))
                    .map_err(store_error)?;
                Err(if exists {
                    StoreError::Conflict
                } else {
                    StoreError::NotFound
                })
            })
            .await
    }

    /// One `BEGIN IMMEDIATE` transaction: the version check on `old`, the check that the new
    /// key is free, the delete and the insert. No other writer (in this process or another) can
    /// land in between, so a concurrent `save`, `delete` or `delete_for_user` either happens
    /// entirely before (and the renew fails or moves its result) or entirely after (and sees the
    /// new key). The user index is an SQL index on the row, so it follows by itself.
    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        let old = *old.as_bytes();
        let row = Row::new(record);
        let expected = sql_version(expected_version);
        self.db
            .write(move |tx| {
                let stored: Option<i64> = tx
                    .prepare_cached("SELECT version FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.query_row([&old[..]], |r| r.get(0)).optional())
                    .map_err(store_error)?;
                match stored {
                    None => return Err(StoreError::NotFound),
                    Some(version) if version != expected => return Err(StoreError::Conflict),
                    Some(_) => {}
                }
                // Checked before anything is deleted, so renewing onto the old key itself is a
                // collision too, as in every other store.
                let taken = tx
                    .prepare_cached("SELECT 1 FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.exists([&row.key[..]]))
                    .map_err(store_error)?;
                if taken {
                    return Err(StoreError::Collision);
                }
                tx.prepare_cached("DELETE FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.execute([&old[..]]))
                    .map_err(store_error)?;
                insert_row(tx, &row)
            })
            .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let key = *key.as_bytes();
        self.db
            .write(move |tx| {
                tx.prepare_cached("DELETE FROM sessions WHERE key = ?1")
                    .and_then(|mut stmt| stmt.execute([&key[..]]))
                    .map_err(store_error)?;
                Ok(())
            })
            .await
    }

    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let user = user.as_str().to_owned();
        self.db
            .write(move |tx| {
                let deleted = tx
                    .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")
                    .and_then(|mut stmt| stmt.execute([user]))
                    .map_err(store_error)?;
                Ok(deleted as u64)
            })
            .await
    }

    /// The user's live sessions, oldest first. A record that cannot be decoded is skipped (with
    /// a warning naming only its key fingerprint), so one damaged row does not hide the rest;
    /// `load` of that key reports it as [`StoreError::Corrupt`].
    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let user = user.as_str().to_owned();
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT key, record FROM sessions
                     WHERE user_id = ?1 AND expires_at > ?2
                     ORDER BY created_at, key",
                    )
                    .map_err(store_error)?;
                let rows = stmt
                    .query_map(params![user, now.as_secs_i64()], |row| {
                        Ok((row.get::<_, [u8; 32]>(0)?, row.get::<_, Vec<u8>>(1)?))
                    })
                    .map_err(store_error)?;
                let mut out = Vec::new();
                for row in rows {
                    let (key, bytes) = row.map_err(store_error)?;
                    match decode(&key, &bytes) {
                        Ok(record) if !record.is_expired(now) => out.push(record),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(
                            key = %SessionKey::from_bytes(key).fingerprint(),
                            %error,
                            "skipping a corrupt session record"
                        ),
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        let now = now.as_secs_i64();
        self.db
            .write(move |tx| {
                let purged = tx
                    .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
                    .and_then(|mut stmt| stmt.execute([now]))
                    .map_err(store_error)?;
                Ok(purged as u64)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Two connections to one rollback-journal file, where a held lock keeps readers out (WAL
    /// readers are not kept out, which is why the store's reads can run on the calling task).
    fn locked_pair() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("locked.db");
        let locker = Connection::open(&path).expect("open");
        locker
            .execute_batch("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
            .expect("lock");
        let reader = Connection::open(&path).expect("open");
        (dir, locker, reader)
    }

    #[test]
    fn without_waiting_a_held_lock_is_a_timeout_at_once_and_the_busy_timeout_comes_back() {
        let (_dir, _locker, mut reader) = locked_pair();
        let busy_timeout = Duration::from_secs(5);
        reader.busy_timeout(busy_timeout).expect("busy timeout");
        let started = Instant::now();
        let answer = without_waiting(&mut reader, busy_timeout, |conn| {
            conn.query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0))
                .map_err(store_error)
        });
        assert!(
            matches!(answer, Err(StoreError::Timeout { .. })),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "it waited");
        let restored: i64 = reader
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(restored, 5000);
    }
}
