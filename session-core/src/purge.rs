//! [`BackgroundPurge`]: the thread that removes expired records for stores whose engine has no
//! TTL of its own (sled, SQLite), so an application that never calls `purge_expired` still does
//! not keep every session it ever made.
//!
//! It runs on a plain thread (the engines' calls block anyway, and a store may be opened outside
//! any async runtime), in bounded batches so no single pass holds the engine for long, and it
//! stops as soon as its handle, owned by the store, is dropped.

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::Duration;

/// How often a store's background purge runs by default.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// How many expired records one purge batch removes at most by default.
pub const DEFAULT_PURGE_BATCH: usize = 1_000;

/// The shortest interval a [`PurgeSchedule`] accepts: a zero interval would keep the engine busy.
pub const MIN_PURGE_INTERVAL: Duration = Duration::from_millis(1);

/// How often a store's background purge runs and how much one batch removes at most.
///
/// ```
/// use std::time::Duration;
/// use session_core::store::{DEFAULT_PURGE_BATCH, DEFAULT_PURGE_INTERVAL, PurgeSchedule};
/// let schedule = PurgeSchedule::default();
/// assert_eq!((schedule.interval(), schedule.batch()), (DEFAULT_PURGE_INTERVAL, DEFAULT_PURGE_BATCH));
/// let custom = PurgeSchedule::new(Duration::ZERO, 0);
/// assert_eq!((custom.interval(), custom.batch()), (Duration::from_millis(1), 1), "clamped");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeSchedule {
    interval: Duration,
    batch: usize,
}

impl Default for PurgeSchedule {
    fn default() -> Self {
        PurgeSchedule {
            interval: DEFAULT_PURGE_INTERVAL,
            batch: DEFAULT_PURGE_BATCH,
        }
    }
}

impl PurgeSchedule {
    /// Every `interval` (at least [`MIN_PURGE_INTERVAL`]), at most `batch` records (at least 1)
    /// per batch.
    pub fn new(interval: Duration, batch: usize) -> Self {
        PurgeSchedule {
            interval: interval.max(MIN_PURGE_INTERVAL),
            batch: batch.max(1),
        }
    }

    /// The wait between runs.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The most records one batch removes.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

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
/// use session_core::store::BackgroundPurge;
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
    /// Set by [`BackgroundPurge::for_store`]: closed on drop, see there.
    gate: Option<Arc<Mutex<bool>>>,
}

impl Drop for BackgroundPurge {
    fn drop(&mut self) {
        if let Some(gate) = &self.gate {
            *lock(gate) = true;
        }
    }
}

/// Locks `gate`; a panic while it was held cannot leave a `bool` half-written.
fn lock(gate: &Mutex<bool>) -> MutexGuard<'_, bool> {
    gate.lock().unwrap_or_else(|e| e.into_inner())
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
        BackgroundPurge {
            _stop: stop,
            gate: None,
        }
    }

    /// The purge of a store's engine handle `target`, which the loop holds only weakly (the
    /// store owns this handle; a strong reference would keep the store alive forever).
    ///
    /// Each batch upgrades the reference while holding a gate. Dropping the handle closes the
    /// gate: it waits for a batch in flight, which lets go of its strong reference first, and no
    /// batch starts afterwards. So once the store is dropped, the purge keeps no connection,
    /// file or lock of the engine open.
    pub fn for_store<T, E, F>(
        store: &str,
        target: &Arc<T>,
        schedule: PurgeSchedule,
        mut batch: F,
    ) -> Self
    where
        T: Send + Sync + 'static,
        E: fmt::Display,
        F: FnMut(&T, usize) -> Result<u64, E> + Send + 'static,
    {
        let gate = Arc::new(Mutex::new(false));
        let weak: Weak<T> = Arc::downgrade(target);
        let thread_gate = Arc::clone(&gate);
        let mut purge = Self::spawn(store, schedule.interval, schedule.batch, move |limit| {
            let closed = lock(&thread_gate);
            if *closed {
                return Ok(0);
            }
            let Some(target) = weak.upgrade() else {
                return Ok(0);
            };
            let purged = batch(&target, limit);
            // The strong reference goes before the gate opens (see above).
            drop(target);
            drop(closed);
            purged
        });
        purge.gate = Some(gate);
        purge
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
    fn a_store_purge_holds_its_target_weakly_and_waits_for_a_batch_at_drop() {
        let target = Arc::new(AtomicU64::new(0));
        let purge = BackgroundPurge::for_store(
            "test",
            &target,
            PurgeSchedule::new(Duration::from_millis(1), 10),
            |count: &AtomicU64, _| {
                count.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
                Ok::<u64, std::io::Error>(0)
            },
        );
        for _ in 0..200 {
            if target.load(Ordering::SeqCst) > 0 {
                break;
            }
            thread::sleep(Duration::from_millis(2));
        }
        drop(purge);
        // After the drop no batch runs or holds the target: this is the only reference left.
        assert_eq!(Arc::strong_count(&target), 1);
        let after = target.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            target.load(Ordering::SeqCst),
            after,
            "no batch after the drop"
        );
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
