//! The sign-in flow and the token vault against the stand-in provider on loopback, through the
//! framework-agnostic API (the adapters' suites run the same flow through each framework).

use std::sync::Arc;
use std::time::Duration;

use session_auth::standin::{Fault, StandIn, StandInProvider};
use session_auth::standin::{
    GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET,
};
use session_auth::tokens::{GrantState, MemoryTokenStore, SealedToken, TokenStore};
use session_auth::{AccessToken, Provider};
use session_auth::{AuthError, OAuth, Profile, ProviderError, SignInAgain, TokenError, TokenSet};
use session_core::adapter::CookieUpdate;
use session_core::testing::{LogCapture, MockClock};
use session_core::{
    MemoryStore, RequestContext, Secret, Session, SessionManager, UnixTime, UserId,
};

const BASE: &str = "http://app.test";

struct World {
    standin: StandIn,
    oauth: OAuth,
    store: Arc<MemoryTokenStore>,
    manager: SessionManager,
}

fn secret() -> Secret {
    Secret::from_bytes(b"a test secret of at least 32 bytes!!".to_vec()).unwrap()
}

fn providers(standin: &StandIn) -> [Provider; 2] {
    [
        Provider::github(GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
            .with_base_urls(&standin.github_web_base(), &standin.github_api_base())
            .unwrap(),
        Provider::vercel(VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET)
            .with_base_urls(&standin.vercel_web_base(), &standin.vercel_api_base())
            .unwrap(),
    ]
}

async fn world_with(
    configure: impl FnOnce(session_auth::OAuthBuilder, &StandIn) -> session_auth::OAuthBuilder,
) -> World {
    let standin = StandIn::start().await.expect("the stand-in starts");
    let store = Arc::new(MemoryTokenStore::new());
    let [github, vercel] = providers(&standin);
    let builder = OAuth::builder(&secret(), BASE)
        .unwrap()
        .provider(github)
        .provider(vercel)
        .token_store(store.clone())
        .token_clock(Arc::new(standin.clock()));
    let oauth = configure(builder, &standin).build();
    let manager = SessionManager::stateful(&secret(), MemoryStore::new()).build();
    World {
        standin,
        oauth,
        store,
        manager,
    }
}

async fn world() -> World {
    world_with(|b, _| b).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The flow cookie's `name=value` from a `Set-Cookie`.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A started flow: its cookie, and the callback query the provider redirected to.
struct Started {
    cookie: String,
    query: String,
}

async fn start(world: &World, provider: &str, next: Option<&str>) -> Started {
    let response = world.oauth.sign_in(provider, next).expect("sign-in starts");
    assert_eq!(response.status, 303);
    let authorize = response.location.clone().unwrap();
    let answer = http().get(&authorize).send().await.unwrap();
    assert_eq!(answer.status(), 302, "the stand-in approves at once");
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    let callback = url::Url::parse(&back).unwrap();
    assert_eq!(
        callback.path(),
        format!("/auth/{provider}/callback"),
        "back to our callback"
    );
    Started {
        cookie: cookie_pair(&response.set_cookies[0]),
        query: callback.query().unwrap_or_default().to_owned(),
    }
}

async fn session(world: &World) -> Session {
    world
        .manager
        .load_from_header(None, RequestContext::default())
        .await
        .unwrap()
}

async fn finish(
    world: &World,
    provider: &str,
    started: &Started,
) -> (Session, Result<session_auth::AuthResponse, AuthError>) {
    let session = session(world).await;
    let result = world
        .oauth
        .callback(
            provider,
            &started.query,
            [started.cookie.as_str()],
            &session,
        )
        .await;
    (session, result)
}

async fn signed_in(world: &World, provider: &str) -> UserId {
    let started = start(world, provider, None).await;
    let (session, result) = finish(world, provider, &started).await;
    result.expect("signed in");
    session.user_id().unwrap()
}

fn query_with(query: &str, name: &str, value: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn github_sign_in_logs_the_session_in_with_the_profile_and_a_working_token() {
    let world = world().await;
    let started = start(&world, "github", Some("/dashboard?tab=1")).await;
    assert!(started.cookie.starts_with("oauth-flow="));
    let (session, result) = finish(&world, "github", &started).await;
    let response = result.expect("the callback succeeds");
    assert_eq!(response.status, 303);
    assert_eq!(response.location.as_deref(), Some("/dashboard?tab=1"));
    assert!(
        response.set_cookies[0].contains("Max-Age=0"),
        "the flow cookie is cleared"
    );

    let user = session.user_id().expect("logged in");
    assert_eq!(user.as_str(), "github:583231");
    let profile = Profile::of(&session).expect("the profile is in the session");
    assert_eq!(profile.username.as_deref(), Some("octocat"));
    assert_eq!(
        profile.email.as_deref(),
        Some("octo@example.com"),
        "the primary verified email"
    );
    assert!(matches!(
        world.manager.commit(&session).await.unwrap(),
        CookieUpdate::Set(_)
    ));

    let token = world.oauth.access_token(&user, "github").await.unwrap();
    assert!(token.secret().starts_with("gho_"));
    let who = world.oauth.fetch_user("github", &token).await.unwrap();
    assert_eq!(who.account, "583231");
    // An OAuth-app token has no expiry: hours later it is still the same token.
    world.standin.advance(Duration::from_secs(9 * 3600));
    assert_eq!(
        world.oauth.access_token(&user, "github").await.unwrap(),
        token
    );
    assert_eq!(world.standin.stats(StandInProvider::GitHub).refreshes, 0);
}

#[tokio::test]
async fn vercel_tokens_are_refreshed_a_minute_before_expiry_and_the_rotated_refresh_token_kept() {
    let world = world().await;
    let user = signed_in(&world, "vercel").await;
    let first = world.oauth.access_token(&user, "vercel").await.unwrap();
    let info = world
        .oauth
        .vault()
        .info(&user, "vercel")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.expires_at.unwrap().as_secs() - info.obtained_at.as_secs(),
        3600
    );

    world.standin.advance(Duration::from_secs(3600 - 59));
    let second = world.oauth.access_token(&user, "vercel").await.unwrap();
    assert_ne!(first, second, "refreshed inside the last minute");
    assert_eq!(world.standin.stats(StandInProvider::Vercel).refreshes, 1);
    assert!(world.oauth.fetch_user("vercel", &second).await.is_ok());
    let after = world
        .oauth
        .vault()
        .info(&user, "vercel")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, info.version + 1);

    // Again an hour later: the rotated refresh token was stored, so this refresh works too.
    world.standin.advance(Duration::from_secs(3600));
    let third = world.oauth.access_token(&user, "vercel").await.unwrap();
    assert_ne!(second, third);
    assert_eq!(world.standin.stats(StandInProvider::Vercel).refreshes, 2);
}

/// S-35, persist before respond: when `access_token` hands out a refreshed token, the store
/// already holds it and the rotated refresh token; nothing is left to write after the response.
/// (On one thread, with no await between the answer and the read but the store's own, a write
/// deferred to a background task could not have run yet.) A process killed right after the
/// response therefore loses nothing with a store that keeps what it acknowledged, which each
/// store's kill test shows (SQLite Q6, sled D3).
#[tokio::test(flavor = "current_thread")]
async fn a_refreshed_token_is_stored_before_it_is_handed_out() {
    let world = world().await;
    let user = signed_in(&world, "vercel").await;
    let before = world.store.get(&user, "vercel").await.unwrap().unwrap();
    world.standin.advance(Duration::from_secs(7200));

    let handed_out = world.oauth.access_token(&user, "vercel").await.unwrap();
    let stored = world.store.get(&user, "vercel").await.unwrap().unwrap();
    assert_eq!(stored.version, before.version + 1, "the refresh is stored");
    assert_ne!(stored.access_token, before.access_token);
    assert_ne!(
        stored.refresh_token, before.refresh_token,
        "the rotated refresh token is stored"
    );
    assert_eq!(world.standin.stats(StandInProvider::Vercel).refreshes, 1);
    // What is stored is what was handed out: asked again, the vault answers from the store.
    assert_eq!(
        world.oauth.access_token(&user, "vercel").await.unwrap(),
        handed_out
    );
    assert_eq!(world.standin.stats(StandInProvider::Vercel).refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_callers_on_an_expired_token_make_one_refresh() {
    let world = Arc::new(world().await);
    let user = signed_in(&world, "vercel").await;
    world.standin.advance(Duration::from_secs(7200));
    let before = world.standin.stats(StandInProvider::Vercel).refreshes;
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let (world, user) = (world.clone(), user.clone());
            tokio::spawn(async move { world.oauth.access_token(&user, "vercel").await })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.unwrap().expect("every caller gets a token"));
    }
    let refreshes = world.standin.stats(StandInProvider::Vercel).refreshes - before;
    println!(
        "32 concurrent access_token calls on an expired token: {refreshes} refresh request(s)"
    );
    assert_eq!(refreshes, 1);
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "all share the refreshed token"
    );
}

#[tokio::test]
async fn a_missing_expires_in_means_an_hour_for_vercel() {
    let world = world().await;
    world.standin.set_omit_expires_in(true);
    let user = signed_in(&world, "vercel").await;
    let info = world
        .oauth
        .vault()
        .info(&user, "vercel")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.expires_at,
        Some(info.obtained_at.saturating_add(Duration::from_secs(3600)))
    );
}

#[tokio::test]
async fn a_refused_refresh_token_disconnects_the_account_and_asks_to_sign_in_again() {
    let world = world().await;
    let user = signed_in(&world, "vercel").await;
    let (access, refresh) = world
        .oauth
        .vault()
        .take(&user, "vercel")
        .await
        .unwrap()
        .unwrap();
    let refresh = refresh.expect("vercel gives refresh tokens");
    // Another client uses the refresh token first: Vercel rotates it, the old one is dead.
    let rotated = http()
        .post(format!(
            "{}/login/oauth/token",
            world.standin.vercel_api_base()
        ))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
            ("client_id", VERCEL_CLIENT_ID),
            ("client_secret", VERCEL_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let stale = TokenSet {
        access_token: access,
        refresh_token: Some(refresh),
        expires_at: Some(UnixTime::from_secs(1)),
        obtained_at: UnixTime::from_secs(0),
        scope: None,
    };
    world
        .oauth
        .store_tokens(&user, "vercel", "vc_user_3f9a", &stale)
        .await
        .unwrap();
    let error = world.oauth.access_token(&user, "vercel").await.unwrap_err();
    assert!(
        matches!(error, TokenError::SignInAgain(SignInAgain::RefreshRefused)),
        "{error:?}"
    );
    assert_eq!(error.status_code(), 401);
    let info = world
        .oauth
        .vault()
        .info(&user, "vercel")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.state, GrantState::Disconnected);
    assert!(matches!(
        world.oauth.access_token(&user, "vercel").await,
        Err(TokenError::SignInAgain(SignInAgain::Disconnected))
    ));
}

#[tokio::test]
async fn an_expired_token_without_a_refresh_token_asks_to_sign_in_again() {
    let world = world().await;
    let user = UserId::new("u");
    let tokens = TokenSet {
        access_token: AccessToken::new("ghu_old"),
        refresh_token: None,
        expires_at: Some(UnixTime::from_secs(10)),
        obtained_at: UnixTime::from_secs(0),
        scope: None,
    };
    world
        .oauth
        .store_tokens(&user, "github", "1", &tokens)
        .await
        .unwrap();
    assert!(matches!(
        world.oauth.access_token(&user, "github").await,
        Err(TokenError::SignInAgain(SignInAgain::NoRefreshToken))
    ));
    assert!(matches!(
        world
            .oauth
            .access_token(&UserId::new("nobody"), "github")
            .await,
        Err(TokenError::NotLinked)
    ));
}

#[tokio::test]
async fn a_tampered_token_row_is_unreadable_and_never_sent_to_the_provider() {
    let world = world().await;
    let user = signed_in(&world, "github").await;
    let row = world.store.get(&user, "github").await.unwrap().unwrap();
    let mut sealed = row.access_token.as_str().to_owned().into_bytes();
    let last = sealed.len() - 2;
    sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
    let tampered = session_auth::tokens::StoredGrant {
        access_token: SealedToken::new(String::from_utf8(sealed).unwrap()),
        ..row.clone()
    };
    world.store.put(&user, "github", &tampered).await.unwrap();
    // Another user's sealed token copied into this row does not open either.
    let asked = world.standin.stats(StandInProvider::GitHub);
    let error = world.oauth.access_token(&user, "github").await.unwrap_err();
    assert!(matches!(error, TokenError::Unreadable), "{error:?}");
    assert_eq!(
        world.standin.stats(StandInProvider::GitHub),
        asked,
        "nothing sent"
    );
    assert_eq!(error.status_code(), 500);
    let other = signed_in(&world, "vercel").await;
    let theirs = world.store.get(&other, "vercel").await.unwrap().unwrap();
    world.store.put(&user, "vercel", &theirs).await.unwrap();
    assert!(matches!(
        world.oauth.access_token(&user, "vercel").await,
        Err(TokenError::Unreadable)
    ));
}

/// One bad-input case: what it does to a started flow, and the status it must give.
async fn refused(world: &World, started: &Started, provider: &str) -> AuthError {
    let (session, result) = finish(world, provider, started).await;
    let error = result.expect_err("refused");
    assert_eq!(session.user_id(), None, "not logged in");
    assert!(!session.exists(), "no session created");
    assert!(
        world
            .store
            .list(&UserId::new("github:583231"))
            .await
            .unwrap()
            .is_empty()
            && world
                .store
                .list(&UserId::new("vercel:vc_user_3f9a"))
                .await
                .unwrap()
                .is_empty(),
        "no tokens stored"
    );
    error
}

#[tokio::test]
async fn every_bad_callback_is_a_typed_error_with_its_status_and_stores_nothing() {
    let mut table = Vec::new();
    let mut record = |case: &str, error: &AuthError, want: u16, reason: &str| {
        table.push(format!(
            "{case:<40} {} ({})",
            error.status_code(),
            error.reason()
        ));
        assert_eq!(
            (error.status_code(), error.reason()),
            (want, reason),
            "{case}: {error:?}"
        );
    };

    let world = world().await;
    let good = start(&world, "github", None).await;
    let no_cookie = Started {
        cookie: String::new(),
        ..clone(&good)
    };
    record(
        "missing flow cookie",
        &refused(&world, &no_cookie, "github").await,
        400,
        "flow_cookie_missing",
    );
    let forged = Started {
        cookie: "oauth-flow=v1.forged.AAAA.BBBB".into(),
        ..clone(&good)
    };
    record(
        "forged flow cookie",
        &refused(&world, &forged, "github").await,
        400,
        "state_mismatch",
    );
    let wrong_state = Started {
        query: query_with(&good.query, "state", "guessed"),
        ..clone(&good)
    };
    record(
        "state does not match",
        &refused(&world, &wrong_state, "github").await,
        400,
        "state_mismatch",
    );
    let no_state = Started {
        query: query_with(&good.query, "state", ""),
        ..clone(&good)
    };
    record(
        "empty state",
        &refused(&world, &no_state, "github").await,
        400,
        "state_mismatch",
    );
    let repeated = Started {
        query: format!("{}&code=again", good.query),
        ..clone(&good)
    };
    record(
        "repeated code parameter",
        &refused(&world, &repeated, "github").await,
        400,
        "bad_callback",
    );

    // Replayed: the first use signs in, the second is refused.
    let replay = start(&world, "vercel", None).await;
    let (_, first) = finish(&world, "vercel", &replay).await;
    first.expect("the first callback works");
    world
        .store
        .delete(&UserId::new("vercel:vc_user_3f9a"), "vercel")
        .await
        .unwrap();
    record(
        "replayed callback",
        &refused(&world, &replay, "vercel").await,
        400,
        "flow_replayed",
    );

    // Wrong PKCE verifier: flow A's code with flow B's cookie and state.
    for (provider, case) in [
        ("vercel", "wrong PKCE verifier (vercel)"),
        ("github", "wrong PKCE verifier (github, 200 error)"),
    ] {
        let mixed = code_of_one_flow_with_another(&world, provider).await;
        record(
            case,
            &refused(&world, &mixed, provider).await,
            400,
            "provider_refused",
        );
    }

    let fresh = start(&world, "github", None).await;
    let declined = Started {
        cookie: fresh.cookie.clone(),
        query: format!("error=access_denied&state={}", state_of(&fresh)),
    };
    record(
        "declined at the provider",
        &refused(&world, &declined, "github").await,
        400,
        "declined_at_provider",
    );

    for (fault, case, want, reason) in [
        (
            Fault::Down,
            "provider down (503)",
            503,
            "provider_unavailable",
        ),
        (
            Fault::Garbage,
            "provider answers garbage",
            502,
            "provider_garbage",
        ),
    ] {
        let started = start(&world, "github", None).await;
        world.standin.set_fault(fault);
        record(
            case,
            &refused(&world, &started, "github").await,
            want,
            reason,
        );
        world.standin.set_fault(Fault::None);
    }
    let unknown = world.oauth.sign_in("gitlab", None).unwrap_err();
    record("unknown provider", &unknown, 404, "unknown_provider");

    // Slow: a short provider timeout.
    let slow = world_with(|b, _| b.provider_timeout(Duration::from_millis(300))).await;
    let started = start(&slow, "github", None).await;
    slow.standin.set_fault(Fault::Slow(Duration::from_secs(2)));
    record(
        "provider too slow (timeout)",
        &refused(&slow, &started, "github").await,
        504,
        "provider_timeout",
    );

    // Expired: the flow's clock moves past its 10 minutes.
    let clock = MockClock::at(UnixTime::now().as_secs());
    let expiring = {
        let clock = clock.clone();
        world_with(move |b, _| b.clock(Arc::new(clock))).await
    };
    let started = start(&expiring, "github", None).await;
    clock.advance(Duration::from_secs(601));
    record(
        "expired flow (10 min)",
        &refused(&expiring, &started, "github").await,
        400,
        "flow_expired",
    );

    println!("bad-input callbacks:\n  {}", table.join("\n  "));
}

/// Two flows started; the first one's code with the second one's cookie and state: the state
/// checks out, the PKCE verifier does not.
async fn code_of_one_flow_with_another(world: &World, provider: &str) -> Started {
    let a = start(world, provider, None).await;
    let b = start(world, provider, None).await;
    Started {
        query: query_with(&a.query, "state", &state_of(&b)),
        cookie: b.cookie,
    }
}

fn clone(started: &Started) -> Started {
    Started {
        cookie: started.cookie.clone(),
        query: started.query.clone(),
    }
}

fn state_of(started: &Started) -> String {
    url::form_urlencoded::parse(started.query.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn an_open_redirect_next_is_dropped_for_home() {
    let world = world().await;
    for next in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/%2F%2Fevil.example",
    ] {
        let started = start(&world, "github", Some(next)).await;
        let (_, result) = finish(&world, "github", &started).await;
        assert_eq!(result.unwrap().location.as_deref(), Some("/"), "{next}");
    }
}

#[tokio::test]
async fn sign_out_destroys_the_session_and_can_revoke_the_token() {
    let world = world_with(|b, _| b.revoke_on_sign_out(true)).await;
    let started = start(&world, "github", None).await;
    let (session, result) = finish(&world, "github", &started).await;
    result.unwrap();
    let user = session.user_id().unwrap();
    let token = world.oauth.access_token(&user, "github").await.unwrap();
    let response = world.oauth.sign_out(&session).await;
    assert_eq!(
        (response.status, response.location.as_deref()),
        (303, Some("/"))
    );
    assert!(!session.exists());
    assert_eq!(world.standin.stats(StandInProvider::GitHub).revocations, 1);
    assert!(matches!(
        world.oauth.fetch_user("github", &token).await,
        Err(ProviderError::Status { status: 401 })
    ));
    assert!(matches!(
        world.oauth.access_token(&user, "github").await,
        Err(TokenError::NotLinked)
    ));
}

#[test]
fn no_token_code_state_or_client_secret_reaches_a_log_debug_or_error() {
    let capture = LogCapture::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = capture.install();
    let mut secrets: Vec<String> = vec![GITHUB_CLIENT_SECRET.into(), VERCEL_CLIENT_SECRET.into()];
    let mut texts = Vec::new();
    runtime.block_on(async {
        let world = world().await;
        for provider in ["github", "vercel"] {
            let started = start(&world, provider, None).await;
            for (k, v) in url::form_urlencoded::parse(started.query.as_bytes()) {
                if k == "code" || k == "state" {
                    secrets.push(v.into_owned());
                }
            }
            secrets.push(started.cookie.split_once('=').unwrap().1.to_owned());
            let (session, result) = finish(&world, provider, &started).await;
            texts.push(format!("{result:?}"));
            let user = session.user_id().unwrap();
            // A replay and a refresh, for their log lines.
            let (_, replay) = finish(&world, provider, &started).await;
            texts.push(format!("{replay:?} {}", replay.as_ref().unwrap_err()));
            world.standin.advance(Duration::from_secs(7200));
            let token = world.oauth.access_token(&user, provider).await;
            texts.push(format!("{token:?}"));
            if let Ok(token) = token {
                secrets.push(token.secret().to_owned());
            }
            let row = world.store.get(&user, provider).await.unwrap().unwrap();
            texts.push(format!("{row:?}"));
            let sealed = world
                .oauth
                .vault()
                .take(&user, provider)
                .await
                .unwrap()
                .unwrap();
            secrets.push(sealed.0.secret().to_owned());
            if let Some(refresh) = &sealed.1 {
                secrets.push(refresh.secret().to_owned());
            }
            texts.push(format!("{sealed:?}"));
        }
        texts.push(format!("{:?}", world.oauth));
        world.standin.set_fault(Fault::Garbage);
        let started = start(&world, "github", None).await;
        let (_, failed) = finish(&world, "github", &started).await;
        texts.push(format!("{failed:?}"));
    });
    assert!(!capture.events().is_empty(), "the flow logs");
    for secret in &secrets {
        capture.assert_never_contains(secret);
        for text in &texts {
            assert!(
                !text.contains(secret.as_str()),
                "a Debug or error text holds a secret: {text}"
            );
        }
    }
}
