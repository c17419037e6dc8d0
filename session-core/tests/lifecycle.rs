//! Lifetimes at the edges: revocation of long-lived stateless tokens, a login in the same second
//! as "log out everywhere", the cookie following an idle deadline a write moved, the absolute cap
//! from `created_at`, a handler's server error, what `Debug` may show, and form tokens across
//! codecs and key rotations.

use std::sync::Arc;
use std::time::Duration;

use session_core::codec::{
    JweAlgorithm, JweEncryption, JweKey, JwtAlgorithm, JwtKey, SignedIdCodec,
};
use session_core::testing::MockClock;
use session_core::{
    CookieUpdate, JweCodec, JwtCodec, MemoryStore, Policy, RequestContext, Secret, Session,
    SessionError, SessionManager, UserId,
};

const START: u64 = 1_750_000_000;
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn secret() -> Secret {
    Secret::from_bytes(b"lifecycle test secret, 32+ bytes!".to_vec()).unwrap()
}

fn stateless(policy: Policy, clock: &MockClock, revocations: Arc<MemoryStore>) -> SessionManager {
    SessionManager::stateless(JwtCodec::hs256(&secret()).unwrap())
        .revocation_store(revocations)
        .policy(policy)
        .clock(clock.clone())
        .build()
}

fn stateful(policy: Policy, clock: &MockClock, store: Arc<MemoryStore>) -> SessionManager {
    SessionManager::stateful(&secret(), store)
        .policy(policy)
        .clock(clock.clone())
        .build()
}

async fn request(
    manager: &SessionManager,
    cookie: Option<&str>,
    handler: impl FnOnce(&Session),
) -> CookieUpdate {
    let session = manager
        .load_from_header(cookie, RequestContext::default())
        .await
        .unwrap();
    handler(&session);
    manager.commit(&session).await.unwrap()
}

async fn user_of(manager: &SessionManager, cookie: &str) -> Option<UserId> {
    manager
        .load_from_header(Some(cookie), RequestContext::default())
        .await
        .unwrap()
        .user_id()
}

fn pair(update: &CookieUpdate) -> String {
    match update {
        CookieUpdate::Set(v) => v.split(';').next().unwrap().to_owned(),
        other => panic!("expected a Set-Cookie, got {other:?}"),
    }
}

fn max_age(update: &CookieUpdate) -> u64 {
    let CookieUpdate::Set(v) = update else {
        panic!("expected a Set-Cookie, got {update:?}")
    };
    v.split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_revoked_remember_me_token_stays_revoked_past_a_day() {
    let clock = MockClock::at(START);
    let manager = stateless(Policy::default(), &clock, Arc::new(MemoryStore::new()));
    let alice = UserId::new("alice");
    let cookie = pair(
        &request(&manager, None, |s| {
            s.login(alice.clone());
            s.set_max_age(30 * DAY);
        })
        .await,
    );
    clock.advance(Duration::from_secs(10));
    manager.log_out_everywhere(&alice).await.unwrap();
    clock.advance(25 * HOUR);
    assert_eq!(
        user_of(&manager, &cookie).await,
        None,
        "the 30-day token is still revoked after 25 hours"
    );
    clock.advance(20 * DAY);
    assert_eq!(user_of(&manager, &cookie).await, None, "and after 20 days");
}

#[tokio::test]
async fn a_login_in_the_same_second_as_log_out_everywhere_is_kept() {
    let clock = MockClock::at(START);
    let manager = stateless(Policy::default(), &clock, Arc::new(MemoryStore::new()));
    let alice = UserId::new("alice");
    let before = pair(&request(&manager, None, |s| s.login(alice.clone())).await);
    manager.log_out_everywhere(&alice).await.unwrap();
    let after = pair(&request(&manager, None, |s| s.login(alice.clone())).await);
    assert_eq!(
        user_of(&manager, &before).await,
        None,
        "issued before: revoked"
    );
    assert_eq!(
        user_of(&manager, &after).await,
        Some(alice.clone()),
        "issued after, in the same second: kept"
    );
    // And the kept session goes on working, refreshed or written to.
    let written = request(&manager, Some(&after), |s| s.insert("n", 1).unwrap()).await;
    assert_eq!(user_of(&manager, &pair(&written)).await, Some(alice));
}

#[tokio::test]
async fn a_write_under_an_idle_timeout_reissues_the_cookie() {
    let clock = MockClock::at(START);
    let policy = Policy::builder()
        .idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let manager = stateful(policy, &clock, Arc::new(MemoryStore::new()));
    let cookie = pair(&request(&manager, None, |s| s.insert("n", 1).unwrap()).await);
    clock.advance(Duration::from_secs(120));
    let update = request(&manager, Some(&cookie), |s| s.insert("n", 2).unwrap()).await;
    assert_eq!(
        max_age(&update),
        600,
        "the browser keeps the cookie as long as the server keeps the session"
    );
    clock.advance(Duration::from_secs(590));
    assert!(manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap()
        .exists());
}

#[tokio::test]
async fn the_absolute_cap_applies_to_sessions_made_before_it_was_configured() {
    let clock = MockClock::at(START);
    let store = Arc::new(MemoryStore::new());
    let uncapped = stateful(Policy::default(), &clock, store.clone());
    let cookie = pair(&request(&uncapped, None, |s| s.insert("n", 1).unwrap()).await);
    let capped = stateful(
        Policy::builder().absolute_lifetime(HOUR).build().unwrap(),
        &clock,
        store,
    );
    clock.advance(Duration::from_secs(59 * 60));
    let session = capped
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    assert!(session.exists());
    assert!(session.status().unwrap().remaining <= Duration::from_secs(60));
    clock.advance(Duration::from_secs(61));
    assert!(
        !capped
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .unwrap()
            .exists(),
        "an hour after creation the cap ends it"
    );
}

#[tokio::test]
async fn the_absolute_cap_applies_to_tokens_that_do_not_carry_it() {
    let clock = MockClock::at(START);
    let revocations = Arc::new(MemoryStore::new());
    let uncapped = stateless(Policy::default(), &clock, revocations.clone());
    let cookie = pair(&request(&uncapped, None, |s| s.insert("n", 1).unwrap()).await);
    let capped = stateless(
        Policy::builder().absolute_lifetime(HOUR).build().unwrap(),
        &clock,
        revocations,
    );
    clock.advance(HOUR + Duration::from_secs(1));
    assert!(!capped
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap()
        .exists());
}

#[tokio::test]
async fn a_server_error_commits_nothing_by_default() {
    let clock = MockClock::at(START);
    let store = Arc::new(MemoryStore::new());
    let manager = stateful(Policy::default(), &clock, store.clone());
    // A sign-in that failed half-way leaves no session behind.
    let session = manager.load(None, RequestContext::default()).await.unwrap();
    session.login(UserId::new("alice"));
    assert_eq!(
        manager.commit_for_status(&session, 500).await.unwrap(),
        CookieUpdate::Unchanged
    );
    assert!(store.is_empty());
    // A change to an existing session is not saved either.
    let cookie = pair(&request(&manager, None, |s| s.insert("n", 1).unwrap()).await);
    let session = manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    session.insert("n", 2).unwrap();
    assert_eq!(
        manager.commit_for_status(&session, 503).await.unwrap(),
        CookieUpdate::Unchanged
    );
    let again = manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(again.get::<u64>("n").unwrap(), Some(1));
    // Client errors commit as usual.
    again.insert("n", 3).unwrap();
    manager.commit_for_status(&again, 404).await.unwrap();
    let committed = manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    assert_eq!(committed.get::<u64>("n").unwrap(), Some(3), "a 404 commits");
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn a_server_error_commits_when_the_policy_says_so() {
    let clock = MockClock::at(START);
    let store = Arc::new(MemoryStore::new());
    let policy = Policy::builder()
        .commit_on_server_error(true)
        .build()
        .unwrap();
    let manager = stateful(policy, &clock, store.clone());
    let session = manager.load(None, RequestContext::default()).await.unwrap();
    session.insert("n", 1).unwrap();
    assert!(matches!(
        manager.commit_for_status(&session, 500).await.unwrap(),
        CookieUpdate::Set(_)
    ));
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn debug_output_shows_no_cookie_value_and_no_stored_value() {
    let clock = MockClock::at(START);
    let manager = stateful(Policy::default(), &clock, Arc::new(MemoryStore::new()));
    let update = request(&manager, None, |s| s.insert("pin", "hunter2").unwrap()).await;
    let cookie = pair(&update);
    let value = cookie.strip_prefix("session=").unwrap();
    let debug = format!("{update:?}");
    assert!(!debug.contains(value), "{debug}");
    assert!(
        debug.contains("HttpOnly"),
        "the attributes stay visible: {debug}"
    );

    let session = manager
        .load_from_header(Some(&cookie), RequestContext::default())
        .await
        .unwrap();
    let err = session.get::<u32>("pin").unwrap_err();
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("expected u32"),
        "the shape is still explained: {shown}"
    );
}

/// Form tokens across every codec: each manager derives their key from its codec, so none
/// needs a second secret (a stateless manager used to fail at its first `csrf_token` without
/// one).
#[tokio::test]
async fn every_codec_that_holds_a_secret_gives_form_tokens_without_a_second_one() {
    const ES256_PRIVATE: &[u8] = include_bytes!("fixtures/es256-private.pem");
    const ES256_PUBLIC: &[u8] = include_bytes!("fixtures/es256-public.pem");
    let key32 = Secret::from_bytes(vec![0x33; 32]).unwrap();
    let es256 = JwtCodec::builder(JwtAlgorithm::ES256)
        .key(JwtKey::from_pem(JwtAlgorithm::ES256, ES256_PRIVATE, ES256_PUBLIC).unwrap())
        .build()
        .unwrap();
    let ecdh = JweCodec::builder(JweAlgorithm::EcdhEsA256Kw, JweEncryption::A256Gcm)
        .key(JweKey::ecdh_es_p256(std::str::from_utf8(ES256_PRIVATE).unwrap()).unwrap())
        .build()
        .unwrap();
    let kw = JweCodec::builder(JweAlgorithm::A256GcmKw, JweEncryption::A256Gcm)
        .key(JweKey::a256gcmkw(&key32).unwrap())
        .build()
        .unwrap();
    let managers = [
        (
            "stateful",
            SessionManager::stateful(&secret(), MemoryStore::new()).build(),
        ),
        (
            "HS256",
            SessionManager::stateless(JwtCodec::hs256(&secret()).unwrap()).build(),
        ),
        ("ES256", SessionManager::stateless(es256).build()),
        (
            "dir",
            SessionManager::stateless(JweCodec::a256gcm(&key32).unwrap()).build(),
        ),
        ("A256GCMKW", SessionManager::stateless(kw).build()),
        ("ECDH-ES", SessionManager::stateless(ecdh).build()),
    ];
    for (name, manager) in managers {
        let (cookie, token) = form(&manager).await;
        let session = manager
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .unwrap();
        assert!(session.verify_csrf_token(&token).is_ok(), "{name}");
        assert!(session.verify_csrf_token(&token[1..]).is_err(), "{name}");
    }
}

/// A codec with no secret at all (it encrypts to another service's public key) is the one
/// case that needs `csrf_token_secret`, and says so with a typed error.
#[tokio::test]
async fn a_public_key_ring_needs_a_form_token_secret_and_says_so() {
    const EC_PUBLIC: &str = include_str!("fixtures/es256-public.pem");
    let codec = || {
        JweCodec::builder(JweAlgorithm::EcdhEsA256Kw, JweEncryption::A256Gcm)
            .key(JweKey::ecdh_es_p256_public(EC_PUBLIC).unwrap())
            .build()
            .unwrap()
    };
    let without = SessionManager::stateless(codec()).build();
    let session = without.load(None, RequestContext::default()).await.unwrap();
    assert!(matches!(session.csrf_token(), Err(SessionError::NoCsrfKey)));
    let with = SessionManager::stateless(codec())
        .csrf_token_secret(&secret())
        .build();
    let session = with.load(None, RequestContext::default()).await.unwrap();
    let token = session.csrf_token().unwrap();
    assert!(session.verify_csrf_token(&token).is_ok());
}

/// S-10 for form tokens: after a key rotation the forms rendered before it still verify while
/// the cookie does, and new forms get tokens under the new key.
#[tokio::test]
async fn form_tokens_rendered_before_a_key_rotation_still_verify() {
    let old = Secret::from_bytes(vec![0x01; 32]).unwrap();
    let new = Secret::from_bytes(vec![0x02; 32]).unwrap();
    let store = Arc::new(MemoryStore::new());
    let rotations = [
        (
            "stateful",
            SessionManager::stateful(&old, store.clone()).build(),
            SessionManager::stateful(&new, store.clone())
                .signed_ids(SignedIdCodec::new(&new).with_previous(&old))
                .build(),
        ),
        (
            "stateless",
            SessionManager::stateless(JwtCodec::hs256(&old).unwrap()).build(),
            SessionManager::stateless(
                JwtCodec::builder(JwtAlgorithm::HS256)
                    .key(JwtKey::hmac(JwtAlgorithm::HS256, &new).unwrap())
                    .key(JwtKey::hmac(JwtAlgorithm::HS256, &old).unwrap())
                    .build()
                    .unwrap(),
            )
            .build(),
        ),
    ];
    for (name, before, after) in rotations {
        let (cookie, token) = form(&before).await;
        let session = after
            .load_from_header(Some(&cookie), RequestContext::default())
            .await
            .unwrap();
        assert!(session.exists(), "{name}: the cookie survives the rotation");
        assert!(session.verify_csrf_token(&token).is_ok(), "{name}");
        let fresh = session.csrf_token().unwrap();
        assert_ne!(fresh, token, "{name}: new forms get the new key's token");
        assert!(session.verify_csrf_token(&fresh).is_ok(), "{name}");
    }
}

/// A first request that renders a form: its cookie and the form's token.
async fn form(manager: &SessionManager) -> (String, String) {
    let session = manager.load(None, RequestContext::default()).await.unwrap();
    let token = session.csrf_token().unwrap();
    assert_eq!(token.len(), 43);
    (pair(&manager.commit(&session).await.unwrap()), token)
}
