//! [`SledStoreConfig`]: where the database lives, how durable each write is, and how much memory
//! sled may use for its page cache.

use std::path::{Path, PathBuf};

/// How often sled's background thread flushes to disk when nothing else does (sled's own
/// default, kept explicit so the loss window of [`FlushPolicy::Background`] is documented).
pub const BACKGROUND_FLUSH_MS: u64 = 500;

/// The default page-cache budget: 64 MiB (sled's own default is 1 GiB, far more than session
/// records need).
pub const DEFAULT_CACHE_CAPACITY: u64 = 64 * 1024 * 1024;

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
/// use session_store_sled::{FlushPolicy, SledStoreConfig};
/// let config = SledStoreConfig::new("/var/lib/myapp/sessions")
///     .flush(FlushPolicy::Background)
///     .cache_capacity(16 * 1024 * 1024);
/// assert_eq!(config.flush_policy(), FlushPolicy::Background);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledStoreConfig {
    pub(crate) path: PathBuf,
    pub(crate) flush: FlushPolicy,
    pub(crate) cache_capacity: u64,
}

impl SledStoreConfig {
    /// A configuration for the database directory at `path` (created if missing), flushing every
    /// write, with a [`DEFAULT_CACHE_CAPACITY`] page cache.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SledStoreConfig {
            path: path.into(),
            flush: FlushPolicy::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }

    /// Sets when writes reach the disk (default [`FlushPolicy::EveryWrite`]).
    pub fn flush(mut self, policy: FlushPolicy) -> Self {
        self.flush = policy;
        self
    }

    /// Sets the page-cache budget in bytes (default [`DEFAULT_CACHE_CAPACITY`]).
    pub fn cache_capacity(mut self, bytes: u64) -> Self {
        self.cache_capacity = bytes;
        self
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
