//! The conflict model (C8) through a [`SessionManager`] on the store under test: many requests
//! load one session at once, then commit. Part of the conformance suite, so every store proves
//! that concurrent requests lose nothing and are refused only when they really overlap.
//!
//! Every scenario is bounded in time ([`SCENARIO_TIMEOUT`]) and prints its figures (requests,
//! successes, conflicts, final values) for `--nocapture` runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use super::MockClock;
use crate::error::SessionError;
use crate::manager::{CookieUpdate, SessionManager};
use crate::policy::{ConflictPolicy, Policy};
use crate::session::RequestContext;
use crate::store::SessionStore;
use crate::time::UnixTime;
use crate::Secret;

/// The longest a scenario may run before it fails.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// A stateful manager over `store` with `policy`, on a mock clock that starts at the real time
/// (stores whose engine expires keys on its own clock keep the records).
fn manager(store: Arc<dyn SessionStore>, policy: Policy) -> (SessionManager, MockClock) {
    let clock = MockClock::at(UnixTime::now().as_secs());
    let secret = Secret::from_bytes(b"conformance: concurrent requests secret".to_vec())
        .expect("a long enough secret");
    let manager = SessionManager::stateful(&secret, store)
        .policy(policy)
        .clock(clock.clone())
        .build();
    (manager, clock)
}

/// A new session holding `n = 0`; returns its `Cookie` header.
async fn new_session(manager: &SessionManager) -> String {
    let session = manager
        .load(None, RequestContext::default())
        .await
        .expect("load without a cookie");
    session.insert("n", 0u64).expect("insert");
    match manager.commit(&session).await.expect("create") {
        CookieUpdate::Set(set_cookie) => {
            set_cookie.split(';').next().expect("name=value").to_owned()
        }
        other => panic!("a new session sets a cookie, got {other:?}"),
    }
}

/// What `requests` concurrent requests on one session gave.
#[derive(Debug, Default)]
struct Outcome {
    ok: usize,
    conflicts: usize,
    other_errors: Vec<String>,
}

/// Runs `requests` requests on the session of `cookie`: all load first (a barrier), then each
/// runs `handler` with its index and commits.
async fn run_concurrently(
    manager: &SessionManager,
    cookie: &str,
    requests: usize,
    handler: impl Fn(usize, &crate::Session) + Send + Sync + Clone + 'static,
) -> Outcome {
    let barrier = Arc::new(Barrier::new(requests));
    let mut tasks = Vec::with_capacity(requests);
    for i in 0..requests {
        let (manager, cookie, barrier, handler) = (
            manager.clone(),
            cookie.to_owned(),
            barrier.clone(),
            handler.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let session = manager
                .load_from_header(Some(&cookie), RequestContext::default())
                .await?;
            barrier.wait().await;
            handler(i, &session);
            manager.commit(&session).await
        }));
    }
    let mut outcome = Outcome::default();
    for task in tasks {
        match task.await.expect("request task") {
            Ok(_) => outcome.ok += 1,
            Err(SessionError::Conflict) => outcome.conflicts += 1,
            Err(other) => outcome.other_errors.push(other.to_string()),
        }
    }
    outcome
}

async fn load_n(manager: &SessionManager, cookie: &str) -> u64 {
    manager
        .load_from_header(Some(cookie), RequestContext::default())
        .await
        .expect("load")
        .get::<u64>("n")
        .expect("a number")
        .expect("the session still holds n")
}

async fn bounded(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(SCENARIO_TIMEOUT, scenario)
        .await
        .expect("the scenario finished in time");
}

/// C8: 64 concurrent requests on one session, each writing its own key, all succeed and every
/// key is kept (disjoint writes merge).
pub async fn concurrent_requests_writing_distinct_keys_all_succeed(store: Arc<dyn SessionStore>) {
    bounded(async {
        const REQUESTS: usize = 64;
        let (manager, _clock) = manager(store, Policy::default());
        let cookie = new_session(&manager).await;
        let outcome = run_concurrently(&manager, &cookie, REQUESTS, |i, s| {
            s.insert(format!("key{i}"), i).expect("insert");
        })
        .await;
        let session = manager
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .expect("load");
        let kept = (0..REQUESTS)
            .filter(|i| matches!(session.get::<usize>(&format!("key{i}")), Ok(Some(v)) if v == *i))
            .count();
        println!(
            "distinct keys: {REQUESTS} requests, {} ok, {} conflicts, {} keys kept",
            outcome.ok, outcome.conflicts, kept
        );
        assert!(
            outcome.other_errors.is_empty(),
            "{:?}",
            outcome.other_errors
        );
        assert_eq!(outcome.ok, REQUESTS, "no request fails");
        assert_eq!(kept, REQUESTS, "every key is kept");
    })
    .await;
}

/// 64 requests that each read `n` and write `n + 1`, all loaded before any commits, under
/// `policy`; returns the outcome and the final `n`.
async fn concurrent_increments(
    store: Arc<dyn SessionStore>,
    on_conflict: ConflictPolicy,
) -> (Outcome, u64) {
    const REQUESTS: usize = 64;
    let policy = Policy::builder()
        .on_conflict(on_conflict)
        .build()
        .expect("a valid policy");
    let (manager, _clock) = manager(store, policy);
    let cookie = new_session(&manager).await;
    let outcome = run_concurrently(&manager, &cookie, REQUESTS, |_, s| {
        let n: u64 = s.get("n").expect("a number").unwrap_or(0);
        s.insert("n", n + 1).expect("insert");
    })
    .await;
    let n = load_n(&manager, &cookie).await;
    println!(
        "increments, {on_conflict:?}: {REQUESTS} requests, {} ok, {} conflicts, final n = {n}",
        outcome.ok, outcome.conflicts
    );
    assert!(
        outcome.other_errors.is_empty(),
        "{:?}",
        outcome.other_errors
    );
    assert_eq!(outcome.ok + outcome.conflicts, REQUESTS);
    (outcome, n)
}

/// C8: 64 concurrent increments of one counter under the default `Reject` policy: every request
/// either succeeds or gets a conflict, and the final value equals the number of successes
/// (nothing acknowledged is lost).
pub async fn concurrent_increments_under_reject_lose_nothing(store: Arc<dyn SessionStore>) {
    bounded(async {
        let (outcome, n) = concurrent_increments(store, ConflictPolicy::Reject).await;
        assert!(outcome.ok >= 1, "at least one increment lands");
        assert_eq!(n, outcome.ok as u64, "every acknowledged increment is kept");
    })
    .await;
}

/// C8: the same increments under `LastWriteWins`: no request fails (per key, the last writer
/// wins).
pub async fn concurrent_increments_under_last_write_wins_never_fail(store: Arc<dyn SessionStore>) {
    bounded(async {
        let (outcome, n) = concurrent_increments(store, ConflictPolicy::LastWriteWins).await;
        assert_eq!(outcome.conflicts, 0, "no request fails");
        assert!(n >= 1 && n <= outcome.ok as u64);
    })
    .await;
}

/// C8/C4: 32 concurrent requests in the refresh window that only read the session all succeed,
/// each with a refreshed cookie (bookkeeping never fails a request).
pub async fn concurrent_refreshes_all_succeed(store: Arc<dyn SessionStore>) {
    bounded(async {
        const REQUESTS: usize = 32;
        let policy = Policy::builder()
            .max_age(Duration::from_secs(3600))
            .build()
            .expect("a valid policy");
        let (manager, clock) = manager(store, policy);
        let cookie = new_session(&manager).await;
        // 31 minutes on, under 30 minutes remain: every request is due a refresh.
        clock.advance(Duration::from_secs(31 * 60));
        let outcome = run_concurrently(&manager, &cookie, REQUESTS, |_, s| {
            s.get::<u64>("n").expect("a number");
        })
        .await;
        let session = manager
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .expect("load");
        let remaining = session.status().expect("a session").remaining;
        println!(
            "refresh window: {REQUESTS} requests, {} ok, {} conflicts, {} s remaining after",
            outcome.ok,
            outcome.conflicts,
            remaining.as_secs()
        );
        assert!(
            outcome.other_errors.is_empty(),
            "{:?}",
            outcome.other_errors
        );
        assert_eq!(outcome.ok, REQUESTS, "every refresh succeeds");
        assert!(
            remaining > Duration::from_secs(59 * 60),
            "the session was refreshed"
        );
    })
    .await;
}
