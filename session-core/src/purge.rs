//! [`BackgroundPurge`]: the thread that removes expired records for stores whose engine has no
//! TTL of its own (sled, SQLite), so an application that never calls `purge_expired` still does
//! not keep every session it ever made.
//!
//! It runs on a plain thread (the engines' calls block anyway, and a store may be opened outside
//! any async runtime), in bounded batches so no single pass holds the engine for long, and it
//! stops as soon as its handle, owned by the store, is dropped.

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How often a store's background purge runs by default.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// How many expired records one purge batch removes at most by default.
pub const DEFAULT_PURGE_BATCH: usize = 1_000;

/// A background purge loop; dropping the handle stops it.
///
/// `batch` is called every `interval`, and again at once while it reports a full batch
/// (`Ok(n)` with `n == limit`), so a backlog drains in bounded steps. Errors are logged and the
/// loop carries on: the engine may be back at the next tick.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use session_core::BackgroundPurge;
///
/// let runs = Arc::new(AtomicU64::new(0));
/// let seen = runs.clone();
/// let purge = BackgroundPurge::spawn("example", Duration::from_millis(5), 10, move |_limit| {
///     seen.fetch_add(1, Ordering::SeqCst);
///     Ok::<u64, std::io::Error>(0)
/// });
/// std::thread::sleep(Duration::from_millis(50));
/// drop(purge); // the thread stops
/// assert!(runs.load(Ordering::SeqCst) >= 1);
/// ```
pub struct BackgroundPurge {
    // Dropping the sender wakes the thread with `Disconnected`, which ends it.
    _stop: mpsc::Sender<()>,
}

impl fmt::Debug for BackgroundPurge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundPurge").finish_non_exhaustive()
    }
}

impl BackgroundPurge {
    /// Starts the loop on a thread named after `store`.
    pub fn spawn<E, F>(store: &str, interval: Duration, limit: usize, mut batch: F) -> Self
    where
        E: fmt::Display,
        F: FnMut(usize) -> Result<u64, E> + Send + 'static,
    {
        let (stop, stopped) = mpsc::channel::<()>();
        let name = format!("{store}-purge");
        let store = store.to_owned();
        let spawned = thread::Builder::new().name(name).spawn(move || loop {
            match stopped.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            loop {
                match batch(limit) {
                    Ok(n) if n >= limit as u64 => {
                        tracing::debug!(store = %store, purged = n, "purged a full batch of expired sessions");
                    }
                    Ok(n) => {
                        if n > 0 {
                            tracing::debug!(store = %store, purged = n, "purged expired sessions");
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(store = %store, error = %e, "background purge failed; retrying at the next interval");
                        break;
                    }
                }
                if !matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the background purge thread");
        }
        BackgroundPurge { _stop: stop }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_full_batch_is_followed_at_once_by_another() {
        let calls = Arc::new(AtomicU64::new(0));
        let seen = calls.clone();
        let backlog = Arc::new(AtomicU64::new(25));
        let left = backlog.clone();
        let purge = BackgroundPurge::spawn("test", Duration::from_millis(5), 10, move |limit| {
            seen.fetch_add(1, Ordering::SeqCst);
            let n = left.load(Ordering::SeqCst).min(limit as u64);
            left.fetch_sub(n, Ordering::SeqCst);
            Ok::<u64, std::io::Error>(n)
        });
        for _ in 0..200 {
            if backlog.load(Ordering::SeqCst) == 0 {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        drop(purge);
        assert_eq!(backlog.load(Ordering::SeqCst), 0, "the backlog drained");
    }

    #[test]
    fn dropping_the_handle_stops_the_thread() {
        let calls = Arc::new(AtomicU64::new(0));
        let seen = calls.clone();
        let purge = BackgroundPurge::spawn("test", Duration::from_millis(2), 10, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok::<u64, std::io::Error>(0)
        });
        thread::sleep(Duration::from_millis(20));
        drop(purge);
        thread::sleep(Duration::from_millis(20));
        let after_drop = calls.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(40));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            after_drop,
            "no call after the drop"
        );
    }
}
