//! Noticing that the database file was deleted or replaced while the store runs (Q9).
//!
//! SQLite keeps writing to a file it has open after the file was unlinked (a clean-up job, a
//! redeploy that wiped the data directory): in WAL mode it does not notice, every write is
//! acknowledged, and all of it is gone when the process restarts. So each write transaction
//! first checks that the path still names the file the store opened (same device and inode)
//! and fails with [`StoreError::Unavailable`] if not: one `stat` per write, next to a
//! transaction that costs far more.

use std::path::{Path, PathBuf};

use session_core::store::StoreError;

/// Which file a path named when the store opened it.
#[derive(Debug, Clone)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    #[cfg(unix)]
    id: (u64, u64),
}

/// The error source of a write refused because the file is gone.
#[derive(Debug, thiserror::Error)]
#[error("the database file was deleted or moved while the store was open; reopen the store")]
pub(crate) struct DatabaseMoved;

impl FileIdentity {
    /// The identity of the file at `path` now; `None` if it cannot be read (then nothing is
    /// checked later: the open itself would have failed on a path that does not work).
    pub(crate) fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            Some(FileIdentity {
                path: path.to_owned(),
                id: (meta.dev(), meta.ino()),
            })
        }
        #[cfg(not(unix))]
        {
            // An open file cannot be deleted on Windows.
            Some(FileIdentity {
                path: path.to_owned(),
            })
        }
    }

    /// `Unavailable` if the path no longer names the file the store opened.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let same =
                std::fs::metadata(&self.path).is_ok_and(|meta| (meta.dev(), meta.ino()) == self.id);
            if !same {
                tracing::error!("the SQLite database file was deleted or moved under the store");
                return Err(StoreError::unavailable(DatabaseMoved));
            }
        }
        Ok(())
    }
}
