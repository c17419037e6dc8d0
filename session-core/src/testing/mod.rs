//! Test support: the store conformance suite, decorators that count or fail store calls, a mock
//! clock, a log capture and a small disk for fault tests.
//!
//! **Not semver-stable.** Enabled by the `testing` feature; meant for dev-dependencies.
//!
//! A custom store proves itself with one macro call in its tests, and a store whose engine holds
//! bytes also gives a [`RawAccess`] hook, so the suite can check what is at rest:
//!
//! ```ignore
//! session_core::store_conformance!(|| async {
//!     session_core::testing::Fixture::new(MyStore::connect_for_tests().await)
//! });
//! // or, with the hook:
//! session_core::store_conformance!(
//!     || async {
//!         let store = MyStore::connect_for_tests().await;
//!         let raw = MyEngineAccess::new(&store);
//!         session_core::testing::Fixture::new(store).raw_access(raw)
//!     },
//!     raw_access
//! );
//! ```
//!
//! The docs of the store module (`session-core/src/store.rs`) open with a complete custom store
//! that ends in this call.

mod at_rest;
mod concurrent_requests;
pub mod conformance;
mod decorators;
mod log_capture;
mod raw_access;
mod small_disk;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use decorators::{
    FaultKind, FaultSwitch, FaultyStore, InjectedFault, SpyCounts, SpyStore, StoreOp,
};
pub use log_capture::{CapturedEvent, LogCapture};
pub use raw_access::RawAccess;
pub use small_disk::{incompressible_text, SmallDisk};

use crate::store::SessionStore;
use crate::time::{Clock, UnixTime};

/// An isolated store for one conformance test, its optional [`RawAccess`] hook, and whatever
/// must live as long as they do (a temp dir, a server guard).
///
/// ```
/// use session_core::testing::Fixture;
/// use session_core::MemoryStore;
///
/// let fixture = Fixture::new(MemoryStore::new()).keep(String::from("a guard"));
/// assert!(fixture.raw().is_none(), "a memory store has no bytes to give");
/// ```
pub struct Fixture {
    store: Arc<dyn SessionStore>,
    raw: Option<Arc<dyn RawAccess>>,
    _guards: Vec<Box<dyn Any + Send>>,
}

impl Fixture {
    /// A fixture around `store`.
    pub fn new(store: impl SessionStore) -> Self {
        Fixture {
            store: Arc::new(store),
            raw: None,
            _guards: Vec::new(),
        }
    }

    /// Gives the suite raw access to the engine under the store, for the contracts that
    /// `store_conformance!(factory, raw_access)` adds (what is at rest, damaged records).
    pub fn raw_access(mut self, hook: impl RawAccess) -> Self {
        self.raw = Some(Arc::new(hook));
        self
    }

    /// Keeps `guard` alive until the test ends (e.g. a `tempfile::TempDir`).
    pub fn keep(mut self, guard: impl Any + Send) -> Self {
        self._guards.push(Box::new(guard));
        self
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    /// The raw-access hook, if the factory gave one.
    pub fn raw(&self) -> Option<Arc<dyn RawAccess>> {
        self.raw.clone()
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("raw", &self.raw)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> From<S> for Fixture {
    fn from(store: S) -> Self {
        Fixture::new(store)
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use session_core::{config::Clock, testing::MockClock};
/// use std::time::Duration;
/// let clock = MockClock::at(1_000);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now().as_secs(), 1_005);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockClock(Arc<AtomicU64>);

impl MockClock {
    /// A clock reading `secs` since the epoch.
    pub fn at(secs: u64) -> Self {
        MockClock(Arc::new(AtomicU64::new(secs)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// Moves the clock backward (saturating at the epoch), as a misconfigured host might.
    pub fn rewind(&self, by: Duration) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_sub(by.as_secs()))
            });
    }

    /// Sets the clock.
    pub fn set(&self, to: UnixTime) {
        self.0.store(to.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// Expands to one `#[tokio::test]` per store contract, each on a fresh store from `factory`.
///
/// `factory` is a closure returning a future of anything that converts into a
/// [`Fixture`](crate::testing::Fixture) (a store, or `Fixture::new(store).keep(temp_dir)`).
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a dev-dependency.
///
/// Two forms:
///
/// - `store_conformance!(factory)`: every contract that goes through the
///   [`SessionStore`](crate::SessionStore) trait alone.
/// - `store_conformance!(factory, raw_access)`: those, plus the contracts that need to look at or
///   damage what the engine holds, [`no_session_id_at_rest`] and
///   [`a_corrupt_record_is_a_typed_error`]. The factory's fixtures must carry a
///   [`RawAccess`](crate::testing::RawAccess) hook (`Fixture::new(store).raw_access(hook)`).
///
/// The raw contracts are opt-in because a store of typed values in memory
/// ([`MemoryStore`](crate::MemoryStore)) has no bytes to scan. They never pass without looking:
/// under the first form they are not generated at all (so a test list shows they did not run),
/// and under the second a fixture without a hook fails the test with a message saying how to
/// give one. Every store that persists bytes should use the second form.
///
/// [`no_session_id_at_rest`]: crate::testing::conformance::no_session_id_at_rest
/// [`a_corrupt_record_is_a_typed_error`]: crate::testing::conformance::a_corrupt_record_is_a_typed_error
#[macro_export]
macro_rules! store_conformance {
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::Fixture = (($factory)().await).into();
                $crate::testing::conformance::$name(fixture.store()).await;
            }
        )*
    };
    (@raw $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::testing::Fixture = (($factory)().await).into();
                let Some(raw) = fixture.raw() else {
                    panic!(
                        "{}: `store_conformance!(factory, raw_access)` needs raw access to the \
                         engine: return `Fixture::new(store).raw_access(hook)` from the factory, \
                         with a hook implementing `session_core::testing::RawAccess`",
                        stringify!($name)
                    );
                };
                $crate::testing::conformance::$name(fixture.store(), raw).await;
            }
        )*
    };
    ($factory:expr, raw_access $(,)?) => {
        $crate::store_conformance!($factory);
        $crate::store_conformance!(@raw $factory;
            no_session_id_at_rest,
            a_corrupt_record_is_a_typed_error,
        );
    };
    ($factory:expr $(,)?) => {
        $crate::store_conformance!(@each $factory;
            create_then_load_returns_the_record,
            load_of_unknown_key_is_none,
            create_collision_keeps_the_original,
            concurrent_creates_have_one_winner,
            load_honours_expiry,
            load_honours_the_absolute_cap,
            save_with_current_version_succeeds,
            save_with_stale_version_conflicts,
            save_after_delete_does_not_resurrect,
            delete_is_idempotent,
            renew_moves_the_record_to_a_new_key,
            renew_can_sign_the_session_in,
            renew_from_a_stale_version_conflicts,
            renew_after_delete_creates_nothing,
            renew_onto_a_taken_key_collides,
            concurrent_renew_and_delete_serialise,
            concurrent_renew_and_delete_for_user_leave_nothing,
            concurrent_renew_and_save_have_one_winner,
            delete_for_user_deletes_only_that_user,
            list_for_user_lists_live_sessions,
            save_moves_the_record_between_users,
            purge_expired_removes_only_expired,
            stored_key_used_as_an_id_finds_nothing,
            concurrent_writers_have_one_winner_per_version,
            concurrent_increments_lose_no_update,
            large_records_round_trip,
            concurrent_requests_writing_distinct_keys_all_succeed,
            concurrent_increments_under_reject_lose_nothing,
            concurrent_increments_under_last_write_wins_never_fail,
            concurrent_refreshes_all_succeed,
        );
    };
}

/// The threads of this process whose name starts with `prefix`, from Linux's
/// `/proc/self/task` (0 where that does not exist): lets a test see that a store's background
/// thread ([`BackgroundPurge`](crate::store::BackgroundPurge) names it `<store>-purge`) has ended.
pub fn threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end().starts_with(prefix))
        .count()
}

/// Polls `done` every 20 ms for up to 10 s and says whether it became true: for tests that wait
/// for a background thread, bounded in time.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A session on a stateful in-memory manager, for examples and unit tests of code that takes a
/// [`Session`](crate::Session).
pub fn detached_session() -> crate::Session {
    let secret = crate::Secret::from_bytes(vec![0x5a; 32]).expect("32 bytes is long enough");
    let manager = crate::SessionManager::stateful(&secret, crate::MemoryStore::new()).build();
    futures_lite_block_on(manager.load(None, crate::RequestContext::default()))
        .expect("loading without a cookie touches no store")
}

/// Polls a future that completes without waiting (no I/O): loading without a cookie.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime starts");
    runtime.block_on(fut)
}

/// Runs `body` as the test `test` (its path in this binary, see [`test_path`]) in a process of
/// its own: the test binary is run again with `test` as an exact filter, and this call asserts
/// that exactly that one test passed there. For tests that look at the whole process (its
/// threads), which other tests running in parallel would disturb.
pub fn in_own_process(test: &str, body: impl FnOnce()) {
    const ALONE: &str = "SESSION_TEST_ALONE";
    if std::env::var(ALONE).is_ok_and(|alone| alone == test) {
        body();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, test)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test} failed in its own process:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the filter {test} did not run exactly one test:\n{stdout}"
    );
}

/// The name libtest gives the test `name` of the module `module` (its `module_path!()`): the
/// module path without the crate's name, then the function.
pub fn test_path(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}
