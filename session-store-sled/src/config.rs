//! [`SledStoreConfig`]: where the database lives, how durable each write is, and how much memory
//! sled may use for its page cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use session_core::store::PurgeSchedule;
#[cfg(doc)]
use session_core::store::{DEFAULT_PURGE_BATCH, DEFAULT_PURGE_INTERVAL};

/// How often sled's background thread flushes to disk when nothing else does (sled's own
/// default, kept explicit so the loss window of [`FlushPolicy::Background`] is documented).
pub const BACKGROUND_FLUSH_MS: u64 = 500;

/// The default page-cache budget: 64 MiB (sled's own default is 1 GiB, far more than session
/// records need).
pub const DEFAULT_CACHE_CAPACITY: u64 = 64 * 1024 * 1024;

/// How long a write waits for its flush by default ([`SledStoreConfig::flush_timeout`]).
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// When a write reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// Every write (`create`, `save`, `delete`, ...) awaits sled's `flush_async` (write + fsync)
    /// before returning. A session the application has been told exists survives a crash or
    /// power loss. This is the default: a login that "succeeded" and then vanishes after a restart
    /// logs the user out (or loses a "log out everywhere"), which is worse than a few milliseconds
    /// per write.
    #[default]
    EveryWrite,
    /// Writes return once they are in sled's memory; sled's background thread writes them to disk
    /// every [`BACKGROUND_FLUSH_MS`] milliseconds. A crash loses at most the writes of that last
    /// window (the database stays consistent: a record and its index entries are lost or kept
    /// together). Faster; choose it when a lost session after a crash is acceptable.
    Background,
}

/// How to open a [`SledStore`](crate::SledStore).
///
/// ```
/// use std::time::Duration;
/// use session_core::store::PurgeSchedule;
/// use session_store_sled::{FlushPolicy, SledStoreConfig};
/// let config = SledStoreConfig::new("/var/lib/myapp/sessions")
///     .flush(FlushPolicy::Background)
///     .cache_capacity(16 * 1024 * 1024)
///     .background_purge(Some(PurgeSchedule::new(Duration::from_secs(300), 500)));
/// assert_eq!(config.flush_policy(), FlushPolicy::Background);
/// assert_eq!(config.purge_schedule().map(|s| s.batch()), Some(500));
/// assert_eq!(config.background_purge(None).purge_schedule(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledStoreConfig {
    pub(crate) path: PathBuf,
    pub(crate) flush: FlushPolicy,
    pub(crate) cache_capacity: u64,
    pub(crate) purge: Option<PurgeSchedule>,
    pub(crate) flush_timeout: Duration,
}

impl SledStoreConfig {
    /// A configuration for the database directory at `path` (created if missing), flushing every
    /// write, with a [`DEFAULT_CACHE_CAPACITY`] page cache and a background purge every
    /// [`DEFAULT_PURGE_INTERVAL`] in batches of [`DEFAULT_PURGE_BATCH`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SledStoreConfig {
            path: path.into(),
            flush: FlushPolicy::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            purge: Some(PurgeSchedule::default()),
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
        }
    }

    /// Sets when writes reach the disk (default [`FlushPolicy::EveryWrite`]).
    pub fn flush(mut self, policy: FlushPolicy) -> Self {
        self.flush = policy;
        self
    }

    /// How long a write waits for its flush under [`FlushPolicy::EveryWrite`] (default
    /// [`DEFAULT_FLUSH_TIMEOUT`]) before it fails with the transient
    /// [`StoreError::Timeout`](session_core::store::StoreError::Timeout) (503).
    ///
    /// A healthy disk flushes in milliseconds. The bound is for a disk that stopped: after a
    /// full disk, sled 0.34's flush can wait forever, and without it every request that writes
    /// would hang with it. A flush that timed out keeps its turn, so the writes after it wait
    /// for the same bound and fail the same way instead of starting more flushes; reopen the
    /// store once the disk is fixed. The wait uses the Tokio runtime's timer (`enable_time`, on
    /// in `#[tokio::main]` and `#[tokio::test]`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_store_sled::SledStoreConfig;
    /// let config = SledStoreConfig::new("/var/lib/myapp/sessions").flush_timeout(Duration::from_secs(2));
    /// assert_eq!(config.max_flush_wait(), Duration::from_secs(2));
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// How long a write waits for its flush.
    pub fn max_flush_wait(&self) -> Duration {
        self.flush_timeout
    }

    /// Sets the page-cache budget in bytes (default [`DEFAULT_CACHE_CAPACITY`]).
    pub fn cache_capacity(mut self, bytes: u64) -> Self {
        self.cache_capacity = bytes;
        self
    }

    /// How the store deletes expired records by itself: `Some(schedule)` (the default,
    /// [`PurgeSchedule::default`]) or `None` for never.
    ///
    /// When on, the store runs a [`session_core::store::BackgroundPurge`] thread from the moment it is
    /// opened until its last clone is dropped: every [`PurgeSchedule::interval`] it
    /// walks the expiry index from the earliest entry and removes up to
    /// [`PurgeSchedule::batch`] records expired by the system clock (each record with
    /// its index entries in one transaction), going on at once while batches are full. Purges
    /// are not flushed on their own: they reach the disk with the next write or within sled's
    /// [`BACKGROUND_FLUSH_MS`] (a purge lost in a crash is simply redone). Turn it off if the
    /// application calls [`purge_expired`](session_core::SessionStore::purge_expired) or
    /// [`SledStore::spawn_sweeper`](crate::SledStore::spawn_sweeper) itself.
    pub fn background_purge(mut self, schedule: Option<PurgeSchedule>) -> Self {
        self.purge = schedule;
        self
    }

    /// The background purge's schedule, or `None` when it is off.
    pub fn purge_schedule(&self) -> Option<PurgeSchedule> {
        self.purge
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When writes reach the disk.
    pub fn flush_policy(&self) -> FlushPolicy {
        self.flush
    }

    /// The sled configuration this describes.
    pub(crate) fn sled_config(&self) -> sled::Config {
        sled::Config::new()
            .path(&self.path)
            .cache_capacity(self.cache_capacity)
            .flush_every_ms(Some(BACKGROUND_FLUSH_MS))
    }
}
