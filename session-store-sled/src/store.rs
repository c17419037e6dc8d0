//! [`SledStore`]: the [`SessionStore`] over four sled trees, its background purge and its
//! optional sweeper.
//!
//! Every write is one multi-tree sled transaction over the records, user index and expiry index
//! trees, so a record and its index entries are written, moved and removed together (D5).
//!
//! Blocking I/O (D8): the work that touches the disk or grows with the data runs on Tokio's
//! blocking pool: flushes (with [`FlushPolicy::EveryWrite`] a write returns only after sled's
//! `flush` has written and synced it), a user's sessions, the purge. A single record's load and
//! transaction run on the calling task, cheaper than the round trip to the blocking pool they
//! used to pay: sled serves them from its page cache and its in-memory log in a few
//! microseconds. A load that misses the cache reads a page from disk on the calling task; the
//! growth benchmark in `BENCHMARKS.md` shows what that costs once the sessions outgrow the cache
//! (raise [`cache_capacity`](crate::SledStoreConfig::cache_capacity) to keep them in memory).

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use session_core::{
    store::{BackgroundPurge, SessionKey, SessionRecord, StoreCaps, StoreError},
    SessionStore, UnixTime, UserId,
};
use sled::transaction::{
    abort, ConflictableTransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::{Db, Transactional, Tree};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{FlushPolicy, SledStoreConfig};
use crate::error::{
    join_error, store_error, transaction_error, Abort, CorruptRecord, SledOpenError,
    STORE_FORMAT_VERSION,
};
use crate::keys;

/// Tree names, prefixed so the store can share a [`sled::Db`] with an application's own trees.
const RECORDS_TREE: &str = "sessions.records";
const BY_USER_TREE: &str = "sessions.by_user";
const BY_EXPIRY_TREE: &str = "sessions.by_expiry";
const META_TREE: &str = "sessions.meta";
/// The meta key holding [`STORE_FORMAT_VERSION`] as a big-endian `u32`.
const FORMAT_KEY: &[u8] = b"format";

const EMPTY: &[u8] = &[];

/// Sessions in a sled database: durable, embedded, one process at a time.
///
/// Cheap to clone (clones share the database). Unless [turned
/// off](SledStoreConfig::background_purge), a background thread removes expired records. When the
/// last clone is dropped the purge stops (waiting for a batch in flight, if any) and, once no call
/// is in flight, the database is closed and the path can be opened again. (sled 0.34 itself may
/// release its file lock a moment after the close, while a write-back job on its own thread pool
/// finishes; an immediate reopen can then fail with [`SledOpenError::InUse`] and succeed on a
/// retry.) See the [crate docs](crate) for the on-disk layout, durability and fault behaviour.
#[derive(Clone)]
pub struct SledStore {
    /// Declared first, so the purge stops before this clone lets go of the database.
    lifetime: Arc<Lifetime>,
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    trees: Trees,
    flush: FlushPolicy,
    /// Serialises flushes under [`FlushPolicy::EveryWrite`]; held by the blocking flush itself.
    flush_turn: Arc<tokio::sync::Mutex<()>>,
    /// How long a write waits for its flush ([`SledStoreConfig::flush_timeout`]).
    flush_timeout: Duration,
}

/// What lives exactly as long as the store's clones: the purge and sweepers only ever hold weak
/// references to [`Inner`], never this.
struct Lifetime {
    /// Dropped with the last clone; sweepers watch it to stop at once.
    alive: watch::Sender<()>,
    purge: Option<BackgroundPurge>,
}

impl SledStore {
    /// Opens (or creates) the database described by `config`.
    ///
    /// Blocks while sled opens and recovers its files: call it at startup, or inside
    /// `spawn_blocking`. Fails with [`SledOpenError::InUse`] if another process has the database
    /// open, [`SledOpenError::Corrupt`] if sled finds its files damaged, and
    /// [`SledOpenError::UnsupportedFormat`] if it was written by an incompatible version of this
    /// crate. Starts the background purge the config describes.
    pub fn open(config: SledStoreConfig) -> Result<Self, SledOpenError> {
        let db = config
            .sled_config()
            .open()
            .map_err(SledOpenError::from_sled)?;
        Self::from_db_with_config(db, &config)
    }

    /// A store over an already open sled database, in trees of its own (named `sessions.*`) next to
    /// whatever else the application keeps there, with the default background purge (see
    /// [`from_db_with_config`](Self::from_db_with_config) to choose another).
    pub fn from_db(db: Db, flush: FlushPolicy) -> Result<Self, SledOpenError> {
        Self::from_db_with_config(db, &SledStoreConfig::new("").flush(flush))
    }

    /// Like [`from_db`](Self::from_db), with the flush policy, flush timeout and background
    /// purge of `config`. Its path and cache capacity are not used: `db` is already open with
    /// its own.
    pub fn from_db_with_config(db: Db, config: &SledStoreConfig) -> Result<Self, SledOpenError> {
        Self::build(db, config)
    }

    fn build(db: Db, config: &SledStoreConfig) -> Result<Self, SledOpenError> {
        check_format(&db.open_tree(META_TREE).map_err(SledOpenError::from_sled)?)?;
        let trees = Trees {
            records: open_tree(&db, RECORDS_TREE)?,
            by_user: open_tree(&db, BY_USER_TREE)?,
            by_expiry: open_tree(&db, BY_EXPIRY_TREE)?,
        };
        db.flush().map_err(SledOpenError::from_sled)?;
        let inner = Arc::new(Inner {
            db,
            trees,
            flush: config.flush,
            flush_turn: Arc::new(tokio::sync::Mutex::new(())),
            flush_timeout: config.flush_timeout,
        });
        let (alive, _) = watch::channel(());
        let purge = config.purge_schedule().map(|schedule| {
            BackgroundPurge::for_store("sled", &inner, schedule, |inner: &Inner, limit| {
                inner
                    .trees
                    .purge_up_to(UnixTime::now(), limit)
                    .map(|count| count.handled as u64)
            })
        });
        Ok(SledStore {
            lifetime: Arc::new(Lifetime { alive, purge }),
            inner,
        })
    }

    /// Whether sled recovered an existing database when it was opened (`false` for a new one).
    pub fn was_recovered(&self) -> bool {
        self.inner.db.was_recovered()
    }

    /// Spawns a task on the current Tokio runtime that calls
    /// [`purge_expired`](SessionStore::purge_expired) with the system time every `every`.
    ///
    /// Not needed with the background purge (on by default, see
    /// [`SledStoreConfig::background_purge`]); kept for applications that turn it off and want
    /// the purge on their runtime instead.
    ///
    /// The task stops by itself as soon as the last clone of the store is dropped (it holds only
    /// a weak reference between runs), and failures are logged, not fatal. Awaiting the handle is
    /// optional.
    ///
    /// # Panics
    /// Like [`tokio::spawn`], when called outside a Tokio runtime.
    pub fn spawn_sweeper(&self, every: Duration) -> JoinHandle<()> {
        let store = Arc::downgrade(&self.inner);
        let dropped = self.lifetime.alive.subscribe();
        tokio::spawn(sweep_until_dropped(store, dropped, every))
    }
}

/// The source of the `Timeout` of a write whose flush did not finish in time.
#[derive(Debug, thiserror::Error)]
#[error("sled did not finish flushing to disk within {0:?}: the disk may be full or failing")]
struct FlushTimedOut(Duration);

impl Inner {
    /// Runs `op` on Tokio's blocking pool: the operations whose work grows with the data (a
    /// user's sessions, the purge) and the flushes, so they never stall the async executor.
    async fn blocking<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Trees) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let trees = self.trees.clone();
        tokio::task::spawn_blocking(move || op(&trees))
            .await
            .map_err(join_error)?
    }

    /// With [`FlushPolicy::EveryWrite`], waits until everything written so far is on disk.
    async fn make_durable(self: &Arc<Self>) -> Result<(), StoreError> {
        match self.flush {
            FlushPolicy::EveryWrite => {
                // sled 0.34's `flush_async` can deadlock when called concurrently
                // (spacejam/sled#1308), so flushes run one at a time, blocking, off the executor.
                // Each flush writes everything accepted so far, so queued writers are cheap.
                // The turn travels into the blocking task: a flush that never returns (after a
                // full disk) keeps it, so later writers time out waiting for it instead of
                // starting more flushes that would hang too.
                let inner = Arc::clone(self);
                let flushed = tokio::time::timeout(self.flush_timeout, async move {
                    let turn = Arc::clone(&inner.flush_turn).lock_owned().await;
                    tokio::task::spawn_blocking(move || {
                        let _turn = turn;
                        inner.db.flush()
                    })
                    .await
                })
                .await;
                match flushed {
                    Ok(joined) => joined.map_err(join_error)?.map(drop).map_err(store_error),
                    Err(_) => Err(StoreError::timeout(FlushTimedOut(self.flush_timeout))),
                }
            }
            FlushPolicy::Background => Ok(()),
        }
    }

    /// [`SessionStore::purge_expired`]: every expired record, made durable per the flush policy.
    async fn purge_expired(self: &Arc<Self>, now: UnixTime) -> Result<u64, StoreError> {
        let purged = self
            .blocking(move |trees| trees.purge_up_to(now, usize::MAX).map(|c| c.removed))
            .await?;
        if purged > 0 {
            self.make_durable().await?;
        }
        Ok(purged)
    }
}

impl fmt::Debug for SledStore {
    /// Shows the flush policy only: sled's own `Debug` prints tree contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("flush", &self.inner.flush)
            .field("background_purge", &self.lifetime.purge.is_some())
            .finish_non_exhaustive()
    }
}

fn open_tree(db: &Db, name: &str) -> Result<Tree, SledOpenError> {
    db.open_tree(name).map_err(SledOpenError::from_sled)
}

/// Writes [`STORE_FORMAT_VERSION`] into a new database, or checks the one already there (D7).
fn check_format(meta: &Tree) -> Result<(), SledOpenError> {
    let ours = STORE_FORMAT_VERSION.to_be_bytes();
    let written = meta
        .compare_and_swap(FORMAT_KEY, None::<&[u8]>, Some(&ours[..]))
        .map_err(SledOpenError::from_sled)?;
    let Err(existing) = written else {
        return Ok(()); // A new database, tagged just now.
    };
    let found = existing.current.as_deref().and_then(format_version);
    if found == Some(STORE_FORMAT_VERSION) {
        Ok(())
    } else {
        Err(SledOpenError::UnsupportedFormat { found })
    }
}

/// The version in a format tag, if the tag is one.
fn format_version(tag: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(tag.try_into().ok()?))
}

async fn sweep_until_dropped(
    store: Weak<Inner>,
    mut dropped: watch::Receiver<()>,
    every: Duration,
) {
    loop {
        // `changed` fails once the store (and its sender) is dropped; we never send on it.
        if tokio::time::timeout(every, dropped.changed()).await.is_ok() {
            break;
        }
        let Some(inner) = store.upgrade() else { break };
        match inner.purge_expired(UnixTime::now()).await {
            Ok(purged) => tracing::debug!(purged, "session sweeper purged expired records"),
            Err(error) => tracing::warn!(%error, "session sweeper failed to purge"),
        }
    }
    tracing::debug!("session store dropped, sweeper stopped");
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for SledStore {
    fn caps(&self) -> StoreCaps {
        StoreCaps::purged()
    }

    async fn load(
        &self,
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let record = self.inner.trees.load(key)?;
        Ok(record.filter(|r| !r.is_expired(now)))
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.trees.create(record)?;
        self.inner.make_durable().await
    }

    async fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        self.inner.trees.save(record, expected_version)?;
        self.inner.make_durable().await
    }

    async fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.inner.trees.renew(old, expected_version, record)?;
        self.inner.make_durable().await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        if self.inner.trees.delete(key)? {
            self.inner.make_durable().await?;
        }
        Ok(())
    }

    async fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let user = user.clone();
        let deleted = self
            .inner
            .blocking(move |trees| trees.delete_for_user(&user))
            .await?;
        if deleted > 0 {
            self.inner.make_durable().await?;
        }
        Ok(deleted)
    }

    async fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let user = user.clone();
        self.inner
            .blocking(move |trees| trees.list_for_user(&user, now))
            .await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }
}

/// The three session trees (cheap to clone: each is an `Arc`). Every method blocks.
#[derive(Clone)]
struct Trees {
    records: Tree,
    by_user: Tree,
    by_expiry: Tree,
}

/// The outcome of one transaction over the three trees.
type TxResult<T> = Result<T, ConflictableTransactionError<Abort>>;

impl Trees {
    /// Runs `body` as one serializable transaction over the three trees (sled retries it on
    /// conflicts, so `body` must only act through the transaction).
    fn transaction<T>(&self, body: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        (&self.records, &self.by_user, &self.by_expiry)
            .transaction(|(records, by_user, by_expiry)| {
                body(&Tx {
                    records,
                    by_user,
                    by_expiry,
                })
            })
            .map_err(transaction_error)
    }

    fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        match self.records.get(key.as_bytes()).map_err(store_error)? {
            Some(bytes) => decode(key, &bytes).map(Some).map_err(StoreError::corrupt),
            None => Ok(None),
        }
    }

    fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.transaction(|tx| {
            if tx.records.get(record.key.as_bytes())?.is_some() {
                return abort(Abort::Collision);
            }
            tx.index(record)?;
            Ok(())
        })
    }

    fn save(&self, record: &SessionRecord, expected_version: u64) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let stored = match tx.stored(&record.key)? {
                None => return abort(Abort::NotFound),
                Some(Err(reason)) => return abort(Abort::Corrupt(reason)),
                Some(Ok(stored)) => stored,
            };
            if stored.version != expected_version {
                return abort(Abort::Conflict);
            }
            tx.unindex(&stored)?;
            tx.index(record)?;
            Ok(())
        })
    }

    /// Moves the record under `old` to `record.key` in one transaction over the three trees:
    /// the old record and its index entries go, the new ones come, or nothing changes.
    fn renew(
        &self,
        old: &SessionKey,
        expected_version: u64,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let stored = match tx.stored(old)? {
                None => return abort(Abort::NotFound),
                Some(Err(reason)) => return abort(Abort::Corrupt(reason)),
                Some(Ok(stored)) => stored,
            };
            if stored.version != expected_version {
                return abort(Abort::Conflict);
            }
            // Checked before the old record goes, so renewing onto the old key itself is a
            // collision too, as in every other store.
            if tx.records.get(record.key.as_bytes())?.is_some() {
                return abort(Abort::Collision);
            }
            tx.unindex(&stored)?;
            tx.index(record)?;
            Ok(())
        })
    }

    /// Deletes the record under `key` with its index entries; `true` if there was one.
    ///
    /// A corrupt record is deleted too (the caller asked for it); its index entries, which cannot
    /// be found without decoding it, become dangling and are cleaned by later lists and purges.
    fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            match tx.stored(key)? {
                None => return Ok(false),
                Some(Ok(stored)) => tx.unindex(&stored)?,
                Some(Err(_)) => tx.remove_record(key)?,
            }
            Ok(true)
        })
    }

    /// Deletes the user's records one transaction each, scanning the user index again until a
    /// scan finds nothing: a `renew` that commits after a scan moves its entry to a key that scan
    /// may have missed, and the next scan finds it (the first step of a scan is atomic with
    /// respect to transactions, so an empty scan means the user had no entry at that instant).
    fn delete_for_user(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let entries = self.user_entries(user)?;
            if entries.is_empty() {
                return Ok(deleted);
            }
            // Every pass removes the entries it found, so the loop ends unless other requests
            // keep signing the user in.
            for (entry, key) in entries {
                if self.delete_if_owned_by(user, &entry, &key)? {
                    deleted += 1;
                }
            }
        }
    }

    /// Deletes the record `key` if it belongs to `user` (per its own `user_id`); removes the user
    /// index `entry` in any case. A corrupt record listed under the user is deleted too: the
    /// index entry was written in the same transaction as the record, so it is the user's, and
    /// "log out everywhere" must not leave it behind.
    fn delete_if_owned_by(
        &self,
        user: &UserId,
        entry: &[u8],
        key: &SessionKey,
    ) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            tx.by_user.remove(entry)?;
            match tx.stored(key)? {
                Some(Ok(stored)) if stored.user_id.as_ref() == Some(user) => {
                    tx.unindex(&stored)?;
                }
                Some(Err(_)) => tx.remove_record(key)?,
                Some(Ok(_)) | None => return Ok(false),
            }
            Ok(true)
        })
    }

    fn list_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut live = Vec::new();
        for (entry, key) in self.user_entries(user)? {
            match self.load(&key) {
                Ok(Some(record)) if record.user_id.as_ref() == Some(user) => {
                    if !record.is_expired(now) {
                        live.push(record);
                    }
                }
                Ok(_) => self.drop_dangling_user_entry(user, &entry, &key)?,
                Err(StoreError::Corrupt { .. }) => {
                    tracing::warn!(key = %key.fingerprint(), "skipping a corrupt session record");
                }
                Err(other) => return Err(other),
            }
        }
        live.sort_by_key(|r| r.created_at);
        Ok(live)
    }

    /// Removes a user index entry whose record is gone or belongs to someone else, re-checking
    /// inside a transaction in case the record changed meanwhile.
    fn drop_dangling_user_entry(
        &self,
        user: &UserId,
        entry: &[u8],
        key: &SessionKey,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let still_dangling = match tx.stored(key)? {
                None => true,
                Some(Ok(stored)) => stored.user_id.as_ref() != Some(user),
                Some(Err(_)) => false,
            };
            if still_dangling {
                tx.by_user.remove(entry)?;
            }
            Ok(())
        })
    }

    /// The user index entries of `user`, with the session key each names.
    fn user_entries(&self, user: &UserId) -> Result<Vec<(Vec<u8>, SessionKey)>, StoreError> {
        let prefix = keys::user_prefix(user);
        let mut entries = Vec::new();
        for item in self.by_user.scan_prefix(&prefix) {
            let (entry, _) = item.map_err(store_error)?;
            if let Some(key) = keys::key_of_user_entry(&entry, prefix.len()) {
                entries.push((entry.to_vec(), key));
            }
        }
        Ok(entries)
    }

    /// Walks the expiry index from the earliest entry and stops at the first one still live at
    /// `now`, or once `limit` entries were removed: the cost is proportional to what is expired,
    /// not to the size of the store.
    ///
    /// A corrupt record's entry is skipped and kept (it does not count towards `limit`, so a
    /// run of them cannot stall every batch at the same place).
    fn purge_up_to(&self, now: UnixTime, limit: usize) -> Result<PurgeCount, StoreError> {
        let mut count = PurgeCount::default();
        for item in self.by_expiry.iter() {
            if count.handled >= limit {
                break;
            }
            let (entry, _) = item.map_err(store_error)?;
            let Some((at, key)) = keys::parse_expiry_entry(&entry) else {
                continue;
            };
            if at > now {
                break;
            }
            match self.purge_one(&entry, &key, now)? {
                Purge::Removed => {
                    count.removed += 1;
                    count.handled += 1;
                }
                Purge::IndexCleaned => count.handled += 1,
                Purge::Corrupt => {
                    tracing::warn!(key = %key.fingerprint(), "not purging a corrupt session record");
                }
            }
        }
        Ok(count)
    }

    /// Removes the record named by the expiry index `entry` if it is expired at `now`, and the
    /// entry itself unless the record is corrupt (left for the application to inspect).
    fn purge_one(
        &self,
        entry: &[u8],
        key: &SessionKey,
        now: UnixTime,
    ) -> Result<Purge, StoreError> {
        self.transaction(|tx| match tx.stored(key)? {
            Some(Err(_)) => Ok(Purge::Corrupt),
            Some(Ok(stored)) if stored.is_expired(now) => {
                tx.unindex(&stored)?;
                tx.by_expiry.remove(entry)?;
                Ok(Purge::Removed)
            }
            // A missing record, or a live one this (stale) entry no longer describes.
            Some(Ok(_)) | None => {
                tx.by_expiry.remove(entry)?;
                Ok(Purge::IndexCleaned)
            }
        })
    }
}

/// What one [`Trees::purge_up_to`] did.
#[derive(Debug, Default)]
struct PurgeCount {
    /// Records removed.
    removed: u64,
    /// Expiry entries removed: with their records, or stale ones alone.
    handled: usize,
}

/// What [`Trees::purge_one`] did.
enum Purge {
    Removed,
    IndexCleaned,
    Corrupt,
}

/// The three trees inside one transaction, with the writes that keep them in agreement.
struct Tx<'a> {
    records: &'a TransactionalTree,
    by_user: &'a TransactionalTree,
    by_expiry: &'a TransactionalTree,
}

type Unabortable<T> = Result<T, UnabortableTransactionError>;

impl Tx<'_> {
    /// The record under `key`: `None` if absent, `Some(Err(..))` if it does not decode.
    fn stored(
        &self,
        key: &SessionKey,
    ) -> Unabortable<Option<Result<SessionRecord, CorruptRecord>>> {
        Ok(self
            .records
            .get(key.as_bytes())?
            .map(|bytes| decode(key, &bytes)))
    }

    /// Writes `record` and its user and expiry index entries.
    fn index(&self, record: &SessionRecord) -> Unabortable<()> {
        self.records
            .insert(&record.key.as_bytes()[..], record.to_bytes())?;
        if let Some(user) = &record.user_id {
            self.by_user
                .insert(keys::user_entry(user, &record.key), EMPTY)?;
        }
        let expiry = keys::expiry_entry(record.effective_expiry(), &record.key);
        self.by_expiry.insert(&expiry[..], EMPTY)?;
        Ok(())
    }

    /// Removes `record` and its user and expiry index entries.
    fn unindex(&self, record: &SessionRecord) -> Unabortable<()> {
        self.remove_record(&record.key)?;
        if let Some(user) = &record.user_id {
            self.by_user.remove(keys::user_entry(user, &record.key))?;
        }
        let expiry = keys::expiry_entry(record.effective_expiry(), &record.key);
        self.by_expiry.remove(&expiry[..])?;
        Ok(())
    }

    fn remove_record(&self, key: &SessionKey) -> Unabortable<()> {
        self.records.remove(&key.as_bytes()[..])?;
        Ok(())
    }
}

/// Decodes the bytes stored under `key`, refusing a record that names another key.
fn decode(key: &SessionKey, bytes: &[u8]) -> Result<SessionRecord, CorruptRecord> {
    let record = SessionRecord::from_bytes(bytes)?;
    if record.key != *key {
        return Err(CorruptRecord::MisplacedKey);
    }
    Ok(record)
}
