//! Contracts C1-C15 at the manager level, each run in both modes: stateless (JWT cookie) and
//! stateful (signed id + memory store). Adapters run the same behaviours over HTTP (C16).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_core::testing::{
    FaultKind, FaultSwitch, FaultyStore, LogCapture, MockClock, SpyCounts, SpyStore, StoreOp,
};
use session_core::{
    codec::{JwtAlgorithm, JwtKey, SignedIdCodec},
    config::ConflictPolicy,
    CookieUpdate, JwtCodec, MemoryStore, Policy, RequestContext, Secret, Session, SessionError,
    SessionManager, SessionStore, UserId,
};

const START: u64 = 1_750_000_000;
const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Stateless,
    Stateful,
}

struct Harness {
    manager: SessionManager,
    clock: MockClock,
    counts: Arc<SpyCounts>,
    faults: FaultSwitch,
    store: Arc<dyn SessionStore>,
    mode: Mode,
}

fn secret() -> Secret {
    Secret::from_bytes(b"contract test secret, 32+ bytes long".to_vec()).unwrap()
}

fn harness(mode: Mode, policy: Policy) -> Harness {
    let clock = MockClock::at(START);
    let spy = SpyStore::new(MemoryStore::new());
    let counts = spy.counts();
    let faulty = FaultyStore::new(spy);
    let faults = faulty.switch();
    let store: Arc<dyn SessionStore> = Arc::new(faulty);
    let builder = match mode {
        Mode::Stateless => SessionManager::stateless(JwtCodec::hs256(&secret()).unwrap())
            .revocation_store(store.clone()),
        Mode::Stateful => SessionManager::stateful(&secret(), store.clone()),
    };
    let manager = builder.policy(policy).clock(clock.clone()).build();
    Harness {
        manager,
        clock,
        counts,
        faults,
        store,
        mode,
    }
}

impl Harness {
    fn new(mode: Mode) -> Self {
        harness(mode, Policy::default())
    }

    async fn load(&self, cookie: Option<&str>) -> Session {
        self.manager
            .load_from_header(
                cookie,
                RequestContext::new(Some("198.51.100.4".into()), Some("contract-tests/1.0")),
            )
            .await
            .expect("load")
    }

    /// One request: load with `cookie`, run `handler`, commit.
    async fn request(&self, cookie: Option<&str>, handler: impl FnOnce(&Session)) -> CookieUpdate {
        let session = self.load(cookie).await;
        handler(&session);
        self.manager.commit(&session).await.expect("commit")
    }

    /// A fresh session holding n = 1; returns its cookie pair `name=value`.
    async fn new_session(&self) -> String {
        let update = self.request(None, |s| s.insert("n", 1).unwrap()).await;
        pair(&update)
    }

    async fn read_n(&self, cookie: &str) -> Option<u64> {
        self.load(Some(cookie)).await.get::<u64>("n").unwrap()
    }
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(update: &CookieUpdate) -> String {
    match update {
        CookieUpdate::Set(v) => v.split(';').next().unwrap().to_owned(),
        other => panic!("expected a Set-Cookie, got {other:?}"),
    }
}

fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_owned())
        .collect()
}

fn max_age(set_cookie: &str) -> u64 {
    attributes(set_cookie)
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age=").map(|v| v.parse().unwrap()))
        .expect("Max-Age")
}

macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod stateless {
            $( #[tokio::test] async fn $name() { super::$name(super::Mode::Stateless).await } )*
        }
        mod stateful {
            $( #[tokio::test] async fn $name() { super::$name(super::Mode::Stateful).await } )*
        }
    };
}

both_modes!(
    c1_no_cookie_is_an_empty_session_and_sends_nothing,
    c1_first_write_sets_a_cookie_with_secure_defaults,
    c2_invalid_cookies_give_no_session_and_are_cleared,
    c3_status_reports_the_lifetime,
    c3_sessions_end_at_max_age,
    c4_refresh_happens_only_when_due,
    s19_refresh_never_passes_the_absolute_cap,
    s20_idle_timeout_is_enforced_and_reset_by_activity,
    c5_reading_makes_no_write_and_no_cookie,
    c6_renew_and_login_issue_a_new_id,
    c7_destroy_clears_the_cookie_and_the_session,
    c9_log_out_everywhere_ends_every_session_of_the_user,
    c11_key_rotation_keeps_users_signed_in,
    c15_typed_data_reads_and_writes,
    s23_a_clock_going_backwards_never_panics,
    s30_debug_and_logs_hold_no_secrets,
);

async fn c1_no_cookie_is_an_empty_session_and_sends_nothing(mode: Mode) {
    let h = Harness::new(mode);
    let session = h.load(None).await;
    assert!(!session.exists());
    assert_eq!(session.get::<u64>("n").unwrap(), None);
    assert_eq!(
        h.manager.commit(&session).await.unwrap(),
        CookieUpdate::Unchanged
    );
    assert_eq!(h.counts.writes(), 0);
    assert_eq!(h.counts.get(StoreOp::Load), 0);
}

async fn c1_first_write_sets_a_cookie_with_secure_defaults(mode: Mode) {
    let h = Harness::new(mode);
    let update = h.request(None, |s| s.insert("n", 1).unwrap()).await;
    let CookieUpdate::Set(set_cookie) = &update else {
        panic!("expected Set-Cookie")
    };
    assert!(set_cookie.starts_with("session="));
    let attrs = attributes(set_cookie);
    for expected in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(
            attrs.iter().any(|a| a == expected),
            "{expected} missing in {set_cookie}"
        );
    }
    assert!(!attrs.iter().any(|a| a.starts_with("Domain")));
    assert_eq!(
        max_age(set_cookie),
        24 * 3600,
        "Max-Age equals the server lifetime (S-21)"
    );
    let expected_writes = if mode == Mode::Stateful { 1 } else { 0 };
    assert_eq!(h.counts.get(StoreOp::Create), expected_writes);
    assert_eq!(h.read_n(&pair(&update)).await, Some(1));
}

async fn c2_invalid_cookies_give_no_session_and_are_cleared(mode: Mode) {
    let h = Harness::new(mode);
    let good = h.new_session().await;
    let value = good.strip_prefix("session=").unwrap().to_owned();
    let mut tampered = value.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let other_secret = {
        let other = Secret::from_bytes(vec![0x11; 32]).unwrap();
        let manager = match mode {
            Mode::Stateless => SessionManager::stateless(JwtCodec::hs256(&other).unwrap()),
            Mode::Stateful => SessionManager::stateful(&other, MemoryStore::new()),
        }
        .clock(h.clock.clone())
        .build();
        let s = manager.load(None, RequestContext::default()).await.unwrap();
        s.insert("n", 1).unwrap();
        pair(&manager.commit(&s).await.unwrap())
    };
    let cases = [
        ("session=garbage".to_owned(), "malformed"),
        (
            format!("session={}", String::from_utf8(tampered).unwrap()),
            "bad_signature_or_malformed",
        ),
        (other_secret.clone(), "bad_signature_or_unknown_kid"),
    ];
    for (cookie, _) in &cases {
        let capture = LogCapture::new();
        let update = {
            let _guard = capture.install();
            h.request(Some(cookie.as_str()), |s| assert!(!s.exists()))
                .await
        };
        let CookieUpdate::Remove(removal) = &update else {
            panic!("expected removal for {cookie}, got {update:?}")
        };
        assert!(removal.starts_with("session=;"));
        assert_eq!(max_age(removal), 0);
        let events: Vec<_> = capture
            .events()
            .into_iter()
            .filter(|e| e.field("reason").is_some())
            .collect();
        assert_eq!(events.len(), 1, "exactly one rejection event");
        let reason = events[0].field("reason").unwrap().to_owned();
        assert!(
            ["malformed", "bad_signature", "unknown_kid"].contains(&reason.as_str()),
            "{reason}"
        );
        capture.assert_never_contains(cookie.strip_prefix("session=").unwrap_or(cookie));
    }
    // An expired session is rejected with its own reason.
    h.clock.advance(25 * HOUR);
    let capture = LogCapture::new();
    {
        let _guard = capture.install();
        let update = h.request(Some(&good), |s| assert!(!s.exists())).await;
        assert!(matches!(update, CookieUpdate::Remove(_)));
    }
    // A store hides expired records itself, so stateful mode sees an unknown id.
    let reason = if mode == Mode::Stateless {
        "expired"
    } else {
        "unknown_id"
    };
    assert_eq!(capture.with_reason(reason).len(), 1);
    capture.assert_never_contains(&value);
}

async fn c3_status_reports_the_lifetime(mode: Mode) {
    let h = Harness::new(mode);
    let cookie = h.new_session().await;
    h.clock.advance(HOUR);
    let status = h.load(Some(&cookie)).await.status().expect("a session");
    assert!(!status.is_new && !status.is_expired && !status.is_authenticated);
    assert_eq!(status.created_at.as_secs(), START);
    assert_eq!(status.last_seen_at.as_secs(), START);
    assert_eq!(status.expires_at.as_secs(), START + 24 * 3600);
    assert_eq!(status.remaining, 23 * HOUR);
    assert_eq!(status.refresh_from.as_secs(), START + 24 * 3600 - 30 * 60);
    assert!(h.load(None).await.status().is_none());
}

async fn c3_sessions_end_at_max_age(mode: Mode) {
    let week = Duration::from_secs(7 * 24 * 3600);
    let h = harness(mode, Policy::builder().max_age(week).build().unwrap());
    let cookie = h.new_session().await;
    h.clock.advance(week - Duration::from_secs(1));
    assert!(
        h.load(Some(&cookie)).await.exists(),
        "alive one second before"
    );
    h.clock.advance(Duration::from_secs(1));
    assert!(!h.load(Some(&cookie)).await.exists(), "gone at max_age");
}

async fn c4_refresh_happens_only_when_due(mode: Mode) {
    let h = Harness::new(mode);
    let cookie = h.new_session().await;
    let threshold = 30 * MIN;
    h.clock.set(
        session_core::UnixTime::from_secs(START) + (24 * HOUR - threshold - Duration::from_secs(1)),
    );
    h.counts.reset();
    assert_eq!(
        h.request(Some(&cookie), |_| {}).await,
        CookieUpdate::Unchanged
    );
    assert_eq!(h.counts.writes(), 0, "no write outside the threshold");
    h.clock.advance(Duration::from_secs(2));
    let update = h.request(Some(&cookie), |_| {}).await;
    let CookieUpdate::Set(set) = &update else {
        panic!("expected a refresh, got {update:?}")
    };
    assert_eq!(max_age(set), 24 * 3600, "extended by a whole lifetime");
    let expected_saves = if mode == Mode::Stateful { 1 } else { 0 };
    assert_eq!(h.counts.get(StoreOp::Save), expected_saves);
    let refreshed = pair(&update);
    let status = h.load(Some(&refreshed)).await.status().unwrap();
    assert_eq!(status.remaining, 24 * HOUR);
    assert_eq!(
        status.created_at.as_secs(),
        START,
        "refresh keeps created_at"
    );
}

async fn s19_refresh_never_passes_the_absolute_cap(mode: Mode) {
    let policy = Policy::builder()
        .max_age(HOUR)
        .absolute_lifetime(24 * HOUR)
        .build()
        .unwrap();
    let h = harness(mode, policy);
    let mut cookie = h.new_session().await;
    let deadline = START + 24 * 3600;
    loop {
        h.clock.advance(10 * MIN);
        let now = h.clock_now();
        let session = h.load(Some(&cookie)).await;
        if now >= deadline {
            assert!(
                !session.exists(),
                "dead at created_at + cap exactly (now = start + {}s)",
                now - START
            );
            break;
        }
        assert!(session.exists(), "alive at start + {}s", now - START);
        let status = session.status().unwrap();
        assert!(status.expires_at.as_secs() <= deadline);
        if let CookieUpdate::Set(set) = h.manager.commit(&session).await.unwrap() {
            assert!(max_age(&set) <= deadline - now);
            cookie = set.split(';').next().unwrap().to_owned();
        }
    }
}

impl Harness {
    fn clock_now(&self) -> u64 {
        use session_core::config::Clock;
        self.clock.now().as_secs()
    }
}

async fn s20_idle_timeout_is_enforced_and_reset_by_activity(mode: Mode) {
    let idle = 30 * MIN;
    let h = harness(mode, Policy::builder().idle_timeout(idle).build().unwrap());
    let cookie = h.new_session().await;
    h.clock.advance(idle - Duration::from_secs(1));
    assert!(h.load(Some(&cookie)).await.exists(), "valid at T-1s");
    h.clock.advance(Duration::from_secs(2));
    assert!(!h.load(Some(&cookie)).await.exists(), "gone at T+1s");

    let h = harness(mode, Policy::builder().idle_timeout(idle).build().unwrap());
    let cookie = h.new_session().await;
    h.clock.advance(idle / 2);
    let update = h.request(Some(&cookie), |_| {}).await;
    let cookie = match update {
        CookieUpdate::Set(_) => pair(&update),
        CookieUpdate::Unchanged => cookie,
        other => panic!("{other:?}"),
    };
    // Inside the throttle window activity writes nothing.
    h.counts.reset();
    h.clock.advance(MIN);
    assert_eq!(
        h.request(Some(&cookie), |_| {}).await,
        CookieUpdate::Unchanged
    );
    assert_eq!(h.counts.writes(), 0, "no write inside the throttle window");
    h.clock.advance(idle - MIN - Duration::from_secs(1));
    assert!(
        h.load(Some(&cookie)).await.exists(),
        "activity at T/2 extends to 1.5T"
    );
}

async fn c5_reading_makes_no_write_and_no_cookie(mode: Mode) {
    let h = Harness::new(mode);
    let cookie = h.new_session().await;
    h.counts.reset();
    for _ in 0..3 {
        let update = h
            .request(Some(&cookie), |s| {
                assert_eq!(s.get::<u64>("n").unwrap(), Some(1))
            })
            .await;
        assert_eq!(update, CookieUpdate::Unchanged);
    }
    assert_eq!(h.counts.writes(), 0);
    // Writing the same value again is not a change either.
    assert_eq!(
        h.request(Some(&cookie), |s| s.insert("n", 1).unwrap())
            .await,
        CookieUpdate::Unchanged
    );
    assert_eq!(h.counts.writes(), 0);
}

async fn c6_renew_and_login_issue_a_new_id(mode: Mode) {
    let h = Harness::new(mode);
    let before = h.new_session().await;
    let update = h
        .request(Some(&before), |s| s.login(UserId::new("alice")))
        .await;
    let after = pair(&update);
    assert_ne!(before, after, "login renews the id");
    let session = h.load(Some(&after)).await;
    assert_eq!(session.user_id(), Some(UserId::new("alice")));
    assert_eq!(session.get::<u64>("n").unwrap(), Some(1), "same data");
    if mode == Mode::Stateful {
        assert!(
            !h.load(Some(&before)).await.exists(),
            "the pre-login id is dead"
        );
        assert_eq!(h.counts.get(StoreOp::Renew), 1, "one conditional move");
        let renewed = pair(&h.request(Some(&after), |s| s.renew()).await);
        assert_ne!(renewed, after);
        assert!(!h.load(Some(&after)).await.exists());
        assert!(h.load(Some(&renewed)).await.exists());
    }
}

async fn c7_destroy_clears_the_cookie_and_the_session(mode: Mode) {
    let policy = Policy::builder()
        .cookie_path("/app")
        .cookie_domain("example.com")
        .build()
        .unwrap();
    let h = harness(mode, policy);
    let cookie = h.new_session().await;
    let update = h.request(Some(&cookie), |s| s.destroy()).await;
    let CookieUpdate::Remove(removal) = &update else {
        panic!("{update:?}")
    };
    let attrs = attributes(removal);
    assert!(removal.starts_with("session=;"));
    assert!(attrs.contains(&"Path=/app".to_owned()));
    assert!(attrs.contains(&"Domain=example.com".to_owned()));
    assert_eq!(max_age(removal), 0);
    if mode == Mode::Stateful {
        assert!(
            !h.load(Some(&cookie)).await.exists(),
            "replaying the old cookie finds nothing"
        );
    }
}

async fn c9_log_out_everywhere_ends_every_session_of_the_user(mode: Mode) {
    let h = Harness::new(mode);
    let mut alice = Vec::new();
    for _ in 0..3 {
        alice.push(pair(
            &h.request(None, |s| s.login(UserId::new("alice"))).await,
        ));
    }
    let bob = pair(&h.request(None, |s| s.login(UserId::new("bob"))).await);
    let anonymous = h.new_session().await;
    let session = h.load(Some(&alice[0])).await;
    assert_eq!(
        session.list_user_sessions().await.unwrap().len(),
        if mode == Mode::Stateful { 3 } else { 0 }
    );
    let ended = session.log_out_everywhere().await.unwrap();
    assert_eq!(ended, if mode == Mode::Stateful { 3 } else { 0 });
    assert!(matches!(
        h.manager.commit(&session).await.unwrap(),
        CookieUpdate::Remove(_)
    ));
    for cookie in &alice {
        assert!(
            !h.load(Some(cookie)).await.exists(),
            "alice's sessions are gone"
        );
    }
    assert!(h.load(Some(&bob)).await.exists(), "bob's survives");
    h.clock.advance(Duration::from_secs(5));
    let again = pair(&h.request(None, |s| s.login(UserId::new("alice"))).await);
    assert!(h.load(Some(&again)).await.exists(), "a later login works");
    // A browser whose anonymous session predates the log-out and signs in afterwards.
    h.clock.advance(Duration::from_secs(5));
    let after = pair(
        &h.request(Some(&anonymous), |s| s.login(UserId::new("alice")))
            .await,
    );
    assert!(
        h.load(Some(&after)).await.exists(),
        "signing in after the log-out works"
    );
}

async fn c11_key_rotation_keeps_users_signed_in(mode: Mode) {
    let old = Secret::from_bytes(vec![0x01; 32]).unwrap();
    let new = Secret::from_bytes(vec![0x02; 32]).unwrap();
    let store = Arc::new(MemoryStore::new());
    let clock = MockClock::at(START);
    let build = |keys: &[&Secret]| {
        let builder = match mode {
            Mode::Stateless => {
                let mut codec = JwtCodec::builder(JwtAlgorithm::HS256);
                for k in keys {
                    codec = codec.key(JwtKey::hmac(JwtAlgorithm::HS256, k).unwrap());
                }
                SessionManager::stateless(codec.build().unwrap())
            }
            Mode::Stateful => {
                let mut codec = SignedIdCodec::new(keys[0]);
                for k in &keys[1..] {
                    codec = codec.with_previous(k);
                }
                SessionManager::stateful(keys[0], store.clone()).signed_ids(codec)
            }
        };
        builder.clock(clock.clone()).build()
    };
    let before = build(&[&old]);
    let s = before.load(None, RequestContext::default()).await.unwrap();
    s.insert("n", 7).unwrap();
    let cookie = pair(&before.commit(&s).await.unwrap());

    let rotated = build(&[&new, &old]);
    let s = rotated
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(
        s.get::<u64>("n").unwrap(),
        Some(7),
        "old cookies still work"
    );
    let reissued = pair(&rotated.commit(&s).await.unwrap());
    let only_new = build(&[&new]);
    let s = only_new
        .load_from_header(Some(&reissued), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(
        s.get::<u64>("n").unwrap(),
        Some(7),
        "re-issued under the new key"
    );
    let s = only_new
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    assert!(
        !s.exists(),
        "once the old key leaves the ring, old cookies stop working"
    );
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Profile {
    name: String,
    admin: bool,
}

async fn c15_typed_data_reads_and_writes(mode: Mode) {
    let h = Harness::new(mode);
    let update = h
        .request(None, |s| {
            s.insert(
                "profile",
                Profile {
                    name: "Ada".into(),
                    admin: true,
                },
            )
            .unwrap();
            s.insert("tmp", "x").unwrap();
            assert_eq!(s.remove::<String>("tmp").unwrap().as_deref(), Some("x"));
            assert_eq!(s.remove_value("tmp"), None);
            assert!(
                s.insert("exp", 1).is_err(),
                "reserved claim names are refused in both modes"
            );
        })
        .await;
    let cookie = pair(&update);
    let s = h.load(Some(&cookie)).await;
    assert_eq!(
        s.get::<Profile>("profile").unwrap(),
        Some(Profile {
            name: "Ada".into(),
            admin: true
        })
    );
    let err = s.get::<u32>("profile").unwrap_err();
    assert!(err.to_string().contains("profile"));
    assert_eq!(s.get_value("tmp"), None);

    #[derive(Deserialize)]
    struct Whole {
        profile: Profile,
    }
    impl session_core::Validate for Whole {
        fn validate(&self) -> Result<(), &'static str> {
            Ok(())
        }
    }
    assert_eq!(s.data_as::<Whole>().unwrap().profile.name, "Ada");
    s.clear();
    assert!(s.data_as::<Whole>().is_err());
    let cleared = h.manager.commit(&s).await.unwrap();
    let cookie = match cleared {
        CookieUpdate::Set(_) => pair(&cleared),
        _ => cookie,
    };
    let s = h.load(Some(&cookie)).await;
    assert_eq!(s.get::<Profile>("profile").unwrap(), None);
    // A whole-session type the data does not fit invalidates the session.
    s.insert("profile", "not a profile").unwrap();
    assert!(s.typed_or_invalidate::<Whole>().is_none());
    assert!(!s.exists());
}

async fn s23_a_clock_going_backwards_never_panics(mode: Mode) {
    let h = Harness::new(mode);
    let cookie = h.new_session().await;
    h.clock.rewind(Duration::from_secs(24 * 3600));
    let s = h.load(Some(&cookie)).await;
    if let Some(status) = s.status() {
        assert!(
            status.remaining <= 24 * HOUR,
            "remaining never exceeds max_age"
        );
    }
    let _ = h.manager.commit(&s).await.unwrap();
    h.clock.set(session_core::UnixTime::EPOCH);
    let _ = h
        .request(Some(&cookie), |s| {
            let _ = s.status();
        })
        .await;
}

async fn s30_debug_and_logs_hold_no_secrets(mode: Mode) {
    let h = Harness::new(mode);
    let capture = LogCapture::new();
    let _guard = capture.install();
    let cookie = pair(
        &h.request(None, |s| s.insert("password_hint", "hunter2").unwrap())
            .await,
    );
    let value = cookie.strip_prefix("session=").unwrap();
    let s = h.load(Some(&cookie)).await;
    let debug = format!("{s:?} {:?} {:?}", h.manager, secret());
    assert!(!debug.contains(value));
    assert!(!debug.contains("hunter2"));
    assert!(!debug.contains("contract test secret"));
    s.login(UserId::new("carol"));
    h.manager.commit(&s).await.unwrap();
    let _ = h.request(Some("session=forged.value"), |_| {}).await;
    capture.assert_never_contains(value);
    for segment in value.split('.') {
        capture.assert_never_contains(segment);
    }
    capture.assert_never_contains("hunter2");
    assert_eq!(h.mode, mode);
}

// ---- stateful-only contracts ----

#[tokio::test]
async fn c8_concurrent_writes_conflict_instead_of_losing_an_update() {
    let h = Harness::new(Mode::Stateful);
    let cookie = h.new_session().await;
    let first = h.load(Some(&cookie)).await;
    let second = h.load(Some(&cookie)).await;
    first.insert("n", 2).unwrap();
    second.insert("n", 3).unwrap();
    assert_eq!(
        h.manager.commit(&first).await.unwrap(),
        CookieUpdate::Unchanged
    );
    let err = h.manager.commit(&second).await.unwrap_err();
    assert!(matches!(err, SessionError::Conflict));
    assert_eq!(err.status_code(), 409);
    assert_eq!(h.read_n(&cookie).await, Some(2), "the first write is kept");
}

#[tokio::test]
async fn c8_last_write_wins_when_configured() {
    let policy = Policy::builder()
        .on_conflict(ConflictPolicy::LastWriteWins)
        .build()
        .unwrap();
    let h = harness(Mode::Stateful, policy);
    let cookie = h.new_session().await;
    let first = h.load(Some(&cookie)).await;
    let second = h.load(Some(&cookie)).await;
    first.insert("n", 2).unwrap();
    second.insert("n", 3).unwrap();
    h.manager.commit(&first).await.unwrap();
    h.manager.commit(&second).await.unwrap();
    assert_eq!(h.read_n(&cookie).await, Some(3));
}

#[tokio::test]
async fn c8_injected_conflict_maps_to_409() {
    let h = Harness::new(Mode::Stateful);
    let cookie = h.new_session().await;
    h.faults.fail_with(StoreOp::Save, FaultKind::Conflict);
    let s = h.load(Some(&cookie)).await;
    s.insert("n", 5).unwrap();
    assert_eq!(h.manager.commit(&s).await.unwrap_err().status_code(), 409);
}

#[tokio::test]
async fn s06_a_login_fails_if_the_id_cannot_be_renewed() {
    let h = Harness::new(Mode::Stateful);
    let before = h.new_session().await;
    h.faults.fail(StoreOp::Renew);
    let s = h.load(Some(&before)).await;
    s.login(UserId::new("alice"));
    let err = h.manager.commit(&s).await.unwrap_err();
    assert_eq!(err.status_code(), 503);
    h.faults.heal();
    let still = h.load(Some(&before)).await;
    assert!(
        still.exists() && still.user_id().is_none(),
        "the old, signed-out session is unchanged"
    );
    assert_eq!(
        h.store
            .list_for_user(&UserId::new("alice"), h.manager.now())
            .await
            .unwrap()
            .len(),
        0,
        "no signed-in session was left behind"
    );
}

#[tokio::test]
async fn c14_store_failure_is_503_and_keeps_the_cookie() {
    let h = Harness::new(Mode::Stateful);
    let cookie = h.new_session().await;
    h.faults.fail_all();
    let err = h
        .manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 503);
    assert!(!err
        .to_string()
        .contains(cookie.strip_prefix("session=").unwrap()));
    h.faults.heal();
    assert_eq!(
        h.read_n(&cookie).await,
        Some(1),
        "nothing was lost, the same cookie works"
    );
}

#[tokio::test]
async fn s03_a_signed_but_unknown_id_is_never_adopted() {
    let h = Harness::new(Mode::Stateful);
    let attacker_id = session_core::store::SessionId::generate();
    let forged_value = SignedIdCodec::new(&secret())
        .encode(&attacker_id, session_core::UnixTime::from_secs(START))
        .unwrap();
    let cookie = format!("session={forged_value}");
    let update = h
        .request(Some(&cookie), |s| {
            assert!(!s.exists());
            s.insert("n", 1).unwrap();
        })
        .await;
    let issued = pair(&update);
    assert_ne!(issued, cookie, "a fresh id is issued");
    assert_eq!(
        h.store
            .load(&attacker_id.key(), session_core::UnixTime::from_secs(START))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn c13_the_stored_key_is_not_a_usable_cookie() {
    let h = Harness::new(Mode::Stateful);
    let cookie = h.new_session().await;
    let s = h.load(Some(&cookie)).await;
    s.login(UserId::new("dave"));
    let cookie = pair(&h.manager.commit(&s).await.unwrap());
    let records = h
        .manager
        .list_user_sessions(&UserId::new("dave"))
        .await
        .unwrap();
    let key = records[0].key;
    let value = cookie.strip_prefix("session=").unwrap();
    assert!(!key.to_hex().contains(value) && !value.contains(&key.to_hex()));
    assert!(!h
        .load(Some(&format!("session={}", key.to_hex())))
        .await
        .exists());
}

use session_core::codec::SessionCodec;

#[tokio::test]
async fn c9_stateless_log_out_everywhere_needs_a_revocation_store() {
    let manager = SessionManager::stateless(JwtCodec::hs256(&secret()).unwrap()).build();
    let err = manager
        .log_out_everywhere(&UserId::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::NoRevocationStore));
}

#[tokio::test]
async fn c10_a_stateless_session_too_large_for_a_cookie_is_an_error() {
    let h = Harness::new(Mode::Stateless);
    let s = h.load(None).await;
    s.insert("blob", "x".repeat(5000)).unwrap();
    let err = h.manager.commit(&s).await.unwrap_err();
    assert!(matches!(err, SessionError::CookieTooLarge(_)), "{err:?}");
    assert_eq!(err.status_code(), 500);
}
