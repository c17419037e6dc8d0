//! [`SqliteStoreConfig`]: where the database lives and how SQLite is tuned.

use std::path::{Path, PathBuf};
use std::time::Duration;

use session_core::store::PurgeSchedule;
#[cfg(doc)]
use session_core::store::{DEFAULT_PURGE_BATCH, DEFAULT_PURGE_INTERVAL};

/// The longest busy timeout SQLite accepts (`i32::MAX` milliseconds, about 24.8 days).
const MAX_BUSY_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// How hard SQLite works to make each commit durable (`PRAGMA synchronous`).
///
/// The store always runs in WAL mode. In WAL mode both settings keep the database consistent
/// after a crash or power failure; they differ only in how many of the last commits survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous = NORMAL` (the default): the WAL is synced at checkpoints, not at every
    /// commit. A process crash loses nothing; a power failure or OS crash may lose the last
    /// commits (sessions created or refreshed just before), but never corrupts the database.
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit is synced before it is acknowledged, so every
    /// acknowledged write survives a power failure. Each write costs one more `fsync`.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Where the sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A database file.
    File(PathBuf),
    /// A private in-memory database on one connection, lost when the store is dropped.
    Memory,
}

/// How to open a [`SqliteStore`](crate::SqliteStore).
///
/// ```
/// use std::time::Duration;
/// use session_core::store::PurgeSchedule;
/// use session_store_sqlite::{SqliteStoreConfig, Synchronous};
///
/// let config = SqliteStoreConfig::new("sessions.db")
///     .busy_timeout(Duration::from_secs(2))
///     .synchronous(Synchronous::Full)
///     .pool_size(2)
///     .background_purge(Some(PurgeSchedule::new(Duration::from_secs(300), 500)));
/// assert_eq!(config.path().map(|p| p.to_str()), Some(Some("sessions.db")));
/// assert_eq!(config.purge_schedule().map(|s| s.batch()), Some(500));
/// assert_eq!(config.background_purge(None).purge_schedule(), None);
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStoreConfig {
    pub(crate) location: Location,
    pub(crate) busy_timeout: Duration,
    pub(crate) synchronous: Synchronous,
    pub(crate) pool_size: usize,
    pub(crate) read_only: bool,
    pub(crate) max_page_count: Option<u32>,
    pub(crate) purge: Option<PurgeSchedule>,
}

impl SqliteStoreConfig {
    /// Sessions in the database file at `path`.
    ///
    /// The file is created (with the session schema) if it does not exist, but its directory
    /// must: the store never creates directories. Give the sessions a file of their own rather
    /// than the application's main database, since the schema version is kept in
    /// `PRAGMA user_version`.
    ///
    /// Defaults: a 5 s busy timeout, [`Synchronous::Normal`], 4 read connections, read-write,
    /// no size limit, and a background purge every [`DEFAULT_PURGE_INTERVAL`] in batches of
    /// [`DEFAULT_PURGE_BATCH`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_location(Location::File(path.into()))
    }

    /// Sessions in a private in-memory database, lost when the store is dropped (tests, demos).
    ///
    /// Everything runs on a single connection, so `pool_size` is ignored, and the journal mode
    /// is SQLite's in-memory journal instead of WAL.
    pub fn in_memory() -> Self {
        Self::with_location(Location::Memory)
    }

    fn with_location(location: Location) -> Self {
        SqliteStoreConfig {
            location,
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::default(),
            pool_size: 4,
            read_only: false,
            max_page_count: None,
            purge: Some(PurgeSchedule::default()),
        }
    }

    /// How long a call waits for a lock held by another connection or process before it fails
    /// with `StoreError::Timeout` (default 5 s). Set explicitly because rusqlite's own default
    /// "may be subject to change". Capped at `i32::MAX` milliseconds.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout.min(MAX_BUSY_TIMEOUT);
        self
    }

    /// The durability of commits (default [`Synchronous::Normal`]; see there).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// The number of read connections (default 4, at least 1). Writes always go through one
    /// dedicated write connection, since SQLite allows only one writer at a time.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Opens the database with `SQLITE_OPEN_READONLY` (default `false`).
    ///
    /// Reads work as usual; every write fails with `StoreError::ReadOnly`, which is transient
    /// (adapters answer 503). The file must already exist with the current schema, because a
    /// read-only store can neither create nor migrate it.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Caps the database at this many pages (`PRAGMA max_page_count`; a page is 4 KiB unless the
    /// file was created otherwise). Writes that would grow it further fail with
    /// `StoreError::Full` and change nothing. Default: no cap beyond SQLite's own.
    pub fn max_page_count(mut self, pages: u32) -> Self {
        self.max_page_count = Some(pages);
        self
    }

    /// How the store deletes expired sessions by itself: `Some(schedule)` (the default,
    /// [`PurgeSchedule::default`]) or `None` for never.
    ///
    /// When on, the store runs a [`session_core::store::BackgroundPurge`] thread from `open` until it is
    /// dropped: every [`PurgeSchedule::interval`] it deletes up to
    /// [`PurgeSchedule::batch`] rows whose expiry has passed by the system clock, and
    /// goes on at once while it finds full batches. Each batch is one short `BEGIN IMMEDIATE`
    /// transaction on the write connection, so requests wait for at most one batch. Turn it off
    /// if the application calls [`purge_expired`](session_core::SessionStore::purge_expired)
    /// itself, or if another process purges the same file. A read-only store never purges.
    pub fn background_purge(mut self, schedule: Option<PurgeSchedule>) -> Self {
        self.purge = schedule;
        self
    }

    /// The background purge's schedule, or `None` when it is off.
    pub fn purge_schedule(&self) -> Option<PurgeSchedule> {
        self.purge
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::File(path) => Some(path),
            Location::Memory => None,
        }
    }
}
