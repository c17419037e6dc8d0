//! The conflict model (C8) and conditional renew (C6) at the manager level, on the memory store:
//! requests that load one session together and commit in a chosen order. Every store runs the
//! many-requests versions of these through the conformance suite.

use std::sync::Arc;
use std::time::Duration;

use session_core::testing::MockClock;
use session_core::{
    config::ConflictPolicy, CookieUpdate, MemoryStore, Policy, RequestContext, Secret, Session,
    SessionError, SessionManager, UserId,
};

const START: u64 = 1_750_000_000;

struct App {
    manager: SessionManager,
    clock: MockClock,
    store: Arc<MemoryStore>,
}

fn app(policy: Policy) -> App {
    let clock = MockClock::at(START);
    let store = Arc::new(MemoryStore::new());
    let secret = Secret::from_bytes(b"concurrency test secret, 32+ bytes".to_vec()).unwrap();
    let manager = SessionManager::stateful(&secret, store.clone())
        .policy(policy)
        .clock(clock.clone())
        .build();
    App {
        manager,
        clock,
        store,
    }
}

impl App {
    async fn load(&self, cookie: Option<&str>) -> Session {
        self.manager
            .load_from_header(cookie, RequestContext::default())
            .await
            .expect("load")
    }

    async fn new_session(&self, setup: impl FnOnce(&Session)) -> String {
        let session = self.load(None).await;
        setup(&session);
        pair(&self.manager.commit(&session).await.expect("commit"))
    }
}

fn pair(update: &CookieUpdate) -> String {
    match update {
        CookieUpdate::Set(v) => v.split(';').next().unwrap().to_owned(),
        other => panic!("expected a Set-Cookie, got {other:?}"),
    }
}

#[tokio::test]
async fn parallel_reads_in_the_refresh_window_all_get_their_page() {
    let app = app(Policy::builder()
        .max_age(Duration::from_secs(3600))
        .build()
        .unwrap());
    let cookie = app.new_session(|s| s.insert("n", 1).unwrap()).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(app.load(Some(&cookie)).await);
    }
    for session in &sessions {
        assert_eq!(session.get::<u64>("n").unwrap(), Some(1));
    }
    for session in &sessions {
        let update = app.manager.commit(session).await;
        assert!(
            matches!(update, Ok(CookieUpdate::Set(_))),
            "a refresh never fails: {update:?}"
        );
    }
}

#[tokio::test]
async fn requests_writing_their_own_keys_keep_every_key() {
    let app = app(Policy::default());
    let cookie = app.new_session(|s| s.insert("n", 1).unwrap()).await;
    let mut sessions = Vec::new();
    for _ in 0..16 {
        sessions.push(app.load(Some(&cookie)).await);
    }
    for (i, session) in sessions.iter().enumerate() {
        session.insert(format!("k{i}"), i).unwrap();
    }
    for session in &sessions {
        app.manager
            .commit(session)
            .await
            .expect("disjoint writes merge");
    }
    let after = app.load(Some(&cookie)).await;
    for i in 0..16 {
        assert_eq!(after.get::<usize>(&format!("k{i}")).unwrap(), Some(i));
    }
}

#[tokio::test]
async fn overlapping_writes_are_refused_under_reject() {
    let app = app(Policy::default());
    let cookie = app.new_session(|s| s.insert("n", 1).unwrap()).await;
    let (a, b) = (app.load(Some(&cookie)).await, app.load(Some(&cookie)).await);
    for s in [&a, &b] {
        let n: u64 = s.get("n").unwrap().unwrap();
        s.insert("n", n + 1).unwrap();
    }
    app.manager.commit(&a).await.unwrap();
    assert!(matches!(
        app.manager.commit(&b).await,
        Err(SessionError::Conflict)
    ));
    assert_eq!(
        app.load(Some(&cookie)).await.get::<u64>("n").unwrap(),
        Some(2)
    );
}

#[tokio::test]
async fn overlapping_writes_resolve_per_key_under_last_write_wins() {
    let app = app(Policy::builder()
        .on_conflict(ConflictPolicy::LastWriteWins)
        .build()
        .unwrap());
    let cookie = app.new_session(|s| s.insert("n", 1).unwrap()).await;
    let (a, b) = (app.load(Some(&cookie)).await, app.load(Some(&cookie)).await);
    a.insert("n", 10).unwrap();
    a.insert("theme", "dark").unwrap();
    b.insert("n", 20).unwrap();
    app.manager.commit(&a).await.unwrap();
    app.manager.commit(&b).await.expect("never a conflict");
    let after = app.load(Some(&cookie)).await;
    assert_eq!(
        after.get::<u64>("n").unwrap(),
        Some(20),
        "the last writer of n"
    );
    assert_eq!(
        after.get::<String>("theme").unwrap().as_deref(),
        Some("dark"),
        "a key only the first request wrote is kept"
    );
}

#[tokio::test]
async fn a_renew_never_undoes_a_logout_that_landed_meanwhile() {
    let app = app(Policy::default());
    let cookie = app.new_session(|s| s.login(UserId::new("alice"))).await;
    let renewing = app.load(Some(&cookie)).await;
    renewing.renew();
    let logging_out = app.load(Some(&cookie)).await;
    logging_out.destroy();
    app.manager.commit(&logging_out).await.unwrap();
    let update = app.manager.commit(&renewing).await.unwrap();
    assert!(
        matches!(update, CookieUpdate::Remove(_)),
        "the renew finds the session gone: {update:?}"
    );
    assert!(
        app.store.is_empty(),
        "nothing was re-created under a new id"
    );
}

#[tokio::test]
async fn a_renew_racing_log_out_everywhere_leaves_no_session() {
    let app = app(Policy::default());
    let alice = UserId::new("alice");
    let cookie = app.new_session(|s| s.login(alice.clone())).await;
    let renewing = app.load(Some(&cookie)).await;
    renewing.renew();
    app.manager.log_out_everywhere(&alice).await.unwrap();
    let update = app.manager.commit(&renewing).await.unwrap();
    assert!(matches!(update, CookieUpdate::Remove(_)), "{update:?}");
    assert!(app
        .manager
        .list_user_sessions(&alice)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_login_keeps_a_write_that_landed_meanwhile() {
    let app = app(Policy::default());
    let cookie = app.new_session(|s| s.insert("n", 1).unwrap()).await;
    let signing_in = app.load(Some(&cookie)).await;
    signing_in.login(UserId::new("alice"));
    let shopping = app.load(Some(&cookie)).await;
    shopping.insert("cart", 3).unwrap();
    app.manager.commit(&shopping).await.unwrap();
    let renewed = pair(&app.manager.commit(&signing_in).await.unwrap());
    let after = app.load(Some(&renewed)).await;
    assert_eq!(after.user_id(), Some(UserId::new("alice")));
    assert_eq!(
        after.get::<u64>("cart").unwrap(),
        Some(3),
        "the cart survived"
    );
    assert!(
        !app.load(Some(&cookie)).await.exists(),
        "the old id is gone"
    );
}

/// A memory store that yields to the runtime before every call and counts saves, so concurrent
/// commits interleave as they do over a network.
#[derive(Debug)]
struct Yielding {
    inner: MemoryStore,
    saves: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl session_core::SessionStore for Yielding {
    fn caps(&self) -> session_core::store::StoreCaps {
        self.inner.caps()
    }
    async fn load(
        &self,
        key: &session_core::store::SessionKey,
        now: session_core::UnixTime,
    ) -> Result<Option<session_core::store::SessionRecord>, session_core::store::StoreError> {
        tokio::task::yield_now().await;
        self.inner.load(key, now).await
    }
    async fn create(
        &self,
        record: &session_core::store::SessionRecord,
    ) -> Result<(), session_core::store::StoreError> {
        self.inner.create(record).await
    }
    async fn save(
        &self,
        record: &session_core::store::SessionRecord,
        expected_version: u64,
    ) -> Result<(), session_core::store::StoreError> {
        self.saves
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::yield_now().await;
        self.inner.save(record, expected_version).await
    }
    async fn renew(
        &self,
        old: &session_core::store::SessionKey,
        expected_version: u64,
        record: &session_core::store::SessionRecord,
    ) -> Result<(), session_core::store::StoreError> {
        self.inner.renew(old, expected_version, record).await
    }
    async fn delete(
        &self,
        key: &session_core::store::SessionKey,
    ) -> Result<(), session_core::store::StoreError> {
        self.inner.delete(key).await
    }
    async fn delete_for_user(&self, user: &UserId) -> Result<u64, session_core::store::StoreError> {
        self.inner.delete_for_user(user).await
    }
    async fn list_for_user(
        &self,
        user: &UserId,
        now: session_core::UnixTime,
    ) -> Result<Vec<session_core::store::SessionRecord>, session_core::store::StoreError> {
        self.inner.list_for_user(user, now).await
    }
    async fn purge_expired(
        &self,
        now: session_core::UnixTime,
    ) -> Result<u64, session_core::store::StoreError> {
        self.inner.purge_expired(now).await
    }
}

/// One hot session committed by many requests at once under `LastWriteWins`: commits of one
/// session take turns, and a turn that knows this process saved a later version than it loaded
/// merges onto that version before saving, so each request saves once instead of racing every
/// other request round after round. Before the turns, 64 such requests made 2012 save attempts.
#[tokio::test]
async fn a_hot_session_costs_each_request_one_save() {
    const REQUESTS: u64 = 64;
    let store = Arc::new(Yielding {
        inner: MemoryStore::new(),
        saves: Default::default(),
    });
    let secret = Secret::from_bytes(b"concurrency test secret, 32+ bytes".to_vec()).unwrap();
    let policy = Policy::builder()
        .on_conflict(ConflictPolicy::LastWriteWins)
        .build()
        .unwrap();
    let manager = SessionManager::stateful(&secret, store.clone())
        .policy(policy)
        .build();
    let session = manager.load(None, RequestContext::default()).await.unwrap();
    session.insert("n", 0u64).unwrap();
    let cookie = pair(&manager.commit(&session).await.unwrap());
    store.saves.store(0, std::sync::atomic::Ordering::Relaxed);

    let mut loaded = Vec::new();
    for _ in 0..REQUESTS {
        let session = manager
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .unwrap();
        let n: u64 = session.get("n").unwrap().unwrap();
        session.insert("n", n + 1).unwrap();
        loaded.push(session);
    }
    let commits: Vec<_> = loaded
        .into_iter()
        .map(|session| {
            let manager = manager.clone();
            tokio::spawn(async move { manager.commit(&session).await })
        })
        .collect();
    for commit in commits {
        commit
            .await
            .unwrap()
            .expect("no conflict under LastWriteWins");
    }
    let saves = store.saves.load(std::sync::atomic::Ordering::Relaxed);
    // The second request's first save is the one that finds the session hot.
    assert_eq!(saves, REQUESTS + 1, "save attempts for {REQUESTS} requests");
}
