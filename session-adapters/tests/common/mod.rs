//! The shared behaviour suite (C16): scenarios written once against [`TestApp`], run through each
//! framework's own test client by a small driver (`tests/axum.rs`, `tests/actix.rs`,
//! `tests/rocket.rs`).
//!
//! Every driver serves the same routes (see `ROUTES` below) with the framework's own extractors,
//! implements [`Driver`], and calls `behaviour_suite!(Driver, test_attribute)`, which expands to
//! one named test per scenario and backend, e.g. `stateless::c6_renew_on_login_changes_the_id`.
//! The scenarios live in `scenarios.rs`; [`Fixture`] builds the app around a manager per
//! [`Backend`] with a mock clock and a spied, fault-injectable store.
//!
//! ROUTES (identical in every framework; bodies are plain text):
//!
//! ```text
//! - `GET  /`                   200 "ok"; never touches the session.
//! - `GET  /read`               Session extractor; body = data "n" as a number, or "none".
//! - `POST /write`              Session extractor; n = n + 1 (absent = 0); body = new n.
//! - `POST /write-then-fail`   Session extractor; n = n + 1, then answers 500 "failed".
//! - `GET  /csrf`               Session extractor; body = `csrf_token()`.
//! - `POST /form/{token}`       Session extractor; `verify_csrf_token(token)?`, then as `/write`.
//! - `POST /login/{user}`       Session extractor; `session.login(UserId::new(user))` and insert
//!                              "name" = user; body "ok".
//! - `POST /renew`              Session extractor; `session.renew()`; body "ok".
//! - `POST /logout`             Session extractor; `session.destroy()`; body "ok".
//! - `POST /logout-everywhere`  Session extractor; `session.log_out_everywhere().await`; body = count.
//! - `GET  /profile`            Typed whole-session extractor of `Profile { name: String }`;
//!                              body = name. (Missing/invalid → the guard's answer.)
//! - `GET  /dashboard`          Guard extractor (requires a signed-in user); body = user id.
//! - `GET  /api/me`             Guard extractor; body = user id.
//! - `GET  /twice`              Two Session extractors and the guard extractor in one handler;
//!                              body = user id (used to prove one decode per request).
//! - `GET  /sessions`           Session extractor; `list_user_sessions()`; body = JSON array of
//!                              `{"ip":..,"user_agent":..,"current":bool}`.
//! - `GET  /status`             Session extractor; body = `status().remaining.as_secs()` or "none".
//! - `GET  /maybe-me`           `Option<SignedIn>`; body = user id, or "anonymous".
//! - `GET  /maybe-profile`      `Option<SessionData<Profile>>`; body = name, or "none".
//! ```
//!
//! A handler that gets a `SessionError` answers its `status_code()`.
//!
//! The OAuth sign-in scenarios (`oauth.rs`, `oauth_suite!`) run on an app that also serves the
//! framework's OAuth routes, `/me` and `/token/{provider}`, against the stand-in provider. The
//! bearer-token scenarios (`bearer.rs`, `bearer_suite!`) run on an app that also serves `Auth`
//! and `Option<Auth>` routes with the app's `ApiTokens` installed the framework's way.

// `pub` is the suite's interface to the drivers, and not every driver uses every helper.
#![allow(dead_code, unreachable_pub)]

pub mod bearer;
pub mod credentials;
pub mod csrf;
pub mod oauth;
pub mod routes;
pub mod scenarios;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Once};

use session_core::config::CsrfProtection;
use session_core::testing::{FaultSwitch, FaultyStore, MockClock, SpyCounts, SpyStore};
use session_core::{JweCodec, JwtCodec, MemoryStore, Policy, Secret, SessionManager, SessionStore};

/// A request as the scenarios describe it.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The client address the framework should see (where its test client allows setting it).
    pub peer: Option<SocketAddr>,
    /// The request body (empty for none).
    pub body: String,
}

impl TestRequest {
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }
    pub fn new(method: &'static str, path: &str) -> Self {
        TestRequest {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            peer: Some(SocketAddr::from(([203, 0, 113, 7], 40000))),
            body: String::new(),
        }
    }
    /// A form-encoded body (`application/x-www-form-urlencoded`).
    pub fn form(self, body: &str) -> Self {
        let mut request = self.header("content-type", "application/x-www-form-urlencoded");
        request.body = body.to_owned();
        request
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// Sets the client address.
    pub fn peer(mut self, peer: impl Into<SocketAddr>) -> Self {
        self.peer = Some(peer.into());
        self
    }
    /// Adds `Cookie: <cookie>` (a `name=value` pair) if given.
    pub fn cookie(self, cookie: Option<&str>) -> Self {
        match cookie {
            Some(c) => self.header("cookie", c),
            None => self,
        }
    }
}

/// A response as the scenarios inspect it.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    /// Lower-case header names, in order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One framework's app under test.
pub trait TestApp {
    fn send(&self, request: TestRequest) -> impl Future<Output = TestResponse>;
}

/// Builds the ROUTES app of one framework around a manager.
pub trait Driver {
    type App: TestApp;
    /// Used in failure messages: "axum", "actix", "rocket".
    const NAME: &'static str;
    fn app(manager: SessionManager) -> impl Future<Output = Self::App>;
    /// The same app with the session middleware attached twice (a setup mistake that must be
    /// harmless).
    fn app_with_middleware_twice(manager: SessionManager) -> impl Future<Output = Self::App>;
}

/// Where the sessions of a test live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// JWT cookies, with a memory store as the revocation store ("log out everywhere").
    Stateless,
    /// Encrypted JWE cookies (`dir` + `A256GCM`), with a memory store as the revocation store.
    StatelessJwe,
    /// Signed ids in the cookie, records in a `MemoryStore`.
    Memory,
    /// Signed ids in the cookie, records in a `SqliteStore` on a temp file.
    #[cfg(feature = "sqlite")]
    Sqlite,
}

impl Backend {
    /// Whether records live in a store (and so can be deleted, listed, conflict, fail).
    pub fn is_stateful(self) -> bool {
        !matches!(self, Backend::Stateless | Backend::StatelessJwe)
    }
}

/// Seconds since the epoch where every test's clock starts.
pub const START: u64 = 1_700_000_000;

/// The secret of every app under test.
pub fn secret() -> Secret {
    Secret::from_bytes(vec![0x42; 32]).expect("32 bytes is long enough")
}

/// An app of one framework around a manager of one backend, with handles on its clock and store.
pub struct Fixture<A> {
    pub app: A,
    pub backend: Backend,
    /// "axum", "actix" or "rocket".
    pub framework: &'static str,
    /// The manager's clock.
    pub clock: MockClock,
    /// Calls to the store (stateful) or to the revocation store (stateless).
    pub calls: Arc<SpyCounts>,
    /// Makes that store fail.
    pub faults: FaultSwitch,
    _temp_dir: Option<tempfile::TempDir>,
}

impl<A> fmt::Display for Fixture<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:?}", self.framework, self.backend)
    }
}

/// The ROUTES app of driver `D` on `backend` with the default policy.
pub async fn fixture<D: Driver>(backend: Backend) -> Fixture<D::App> {
    fixture_with::<D>(backend, Policy::default()).await
}

/// The ROUTES app of driver `D` on `backend` with `policy`.
pub async fn fixture_with<D: Driver>(backend: Backend, policy: Policy) -> Fixture<D::App> {
    build_fixture::<D>(backend, policy, CsrfProtection::new(), false).await
}

/// The ROUTES app of driver `D` on `backend` with the default policy and `csrf`.
pub async fn fixture_with_csrf<D: Driver>(
    backend: Backend,
    csrf: CsrfProtection,
) -> Fixture<D::App> {
    build_fixture::<D>(backend, Policy::default(), csrf, false).await
}

/// [`fixture`] with the session middleware attached twice.
pub async fn fixture_with_middleware_twice<D: Driver>(backend: Backend) -> Fixture<D::App> {
    build_fixture::<D>(backend, Policy::default(), CsrfProtection::new(), true).await
}

async fn build_fixture<D: Driver>(
    backend: Backend,
    policy: Policy,
    csrf: CsrfProtection,
    twice: bool,
) -> Fixture<D::App> {
    let parts = managed_with(backend, policy, csrf);
    let app = if twice {
        D::app_with_middleware_twice(parts.manager.clone()).await
    } else {
        D::app(parts.manager.clone()).await
    };
    parts.into_fixture::<D>(app)
}

/// A manager of `backend` with `policy` on a mock clock at [`START`], and the handles a
/// [`Fixture`] keeps on it.
pub struct Managed {
    pub manager: SessionManager,
    pub backend: Backend,
    pub clock: MockClock,
    pub calls: Arc<SpyCounts>,
    pub faults: FaultSwitch,
    temp_dir: Option<tempfile::TempDir>,
}

impl Managed {
    /// The fixture around `app`, an app of driver `D` built around `self.manager`.
    pub fn into_fixture<D: Driver>(self, app: D::App) -> Fixture<D::App> {
        Fixture {
            app,
            backend: self.backend,
            framework: D::NAME,
            clock: self.clock,
            calls: self.calls,
            faults: self.faults,
            _temp_dir: self.temp_dir,
        }
    }
}

/// The manager of a test on `backend` with `policy` (see [`Managed`]).
pub fn managed(backend: Backend, policy: Policy) -> Managed {
    managed_with(backend, policy, CsrfProtection::new())
}

/// [`managed`] with the CSRF check `csrf`. Stateless managers get form tokens from the test
/// secret too.
pub fn managed_with(backend: Backend, policy: Policy, csrf: CsrfProtection) -> Managed {
    global_subscriber();
    let clock = MockClock::at(START);
    let (manager, calls, faults, temp_dir) = match backend {
        Backend::Stateless => {
            let codec = JwtCodec::hs256(&secret()).expect("an HS256 key from 32 bytes");
            let (store, calls, faults) = spied(MemoryStore::new());
            let builder = SessionManager::stateless(codec).revocation_store(store);
            (builder, calls, faults, None)
        }
        Backend::StatelessJwe => {
            let codec = JweCodec::a256gcm(&secret()).expect("an A256GCM key from 32 bytes");
            let (store, calls, faults) = spied(MemoryStore::new());
            let builder = SessionManager::stateless(codec).revocation_store(store);
            (builder, calls, faults, None)
        }
        Backend::Memory => {
            let (store, calls, faults) = spied(MemoryStore::new());
            (
                SessionManager::stateful(&secret(), store),
                calls,
                faults,
                None,
            )
        }
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            use session_adapters::{SqliteStore, SqliteStoreConfig};
            let dir = tempfile::tempdir().expect("a temp dir");
            let config = SqliteStoreConfig::new(dir.path().join("sessions.db"));
            let store = SqliteStore::open(config).expect("a SQLite store in a temp dir");
            let (store, calls, faults) = spied(store);
            (
                SessionManager::stateful(&secret(), store),
                calls,
                faults,
                Some(dir),
            )
        }
    };
    let manager = manager
        .policy(policy)
        .clock(clock.clone())
        .csrf(csrf)
        .build();
    Managed {
        manager,
        backend,
        clock,
        calls,
        faults,
        temp_dir,
    }
}

/// Installs a global subscriber that drops every event, once per test binary.
///
/// `LogCapture` is a thread-local subscriber. Without a global one, tracing caches an event
/// site's interest from whichever thread hits it first: a parallel test with no capture would
/// register `session cookie rejected` as "never", and another test's capture would miss it.
fn global_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
}

/// `store` behind a fault switch, behind a spy that counts every call the manager makes.
fn spied<S: SessionStore>(store: S) -> (SpyStore<FaultyStore<S>>, Arc<SpyCounts>, FaultSwitch) {
    let faulty = FaultyStore::new(store);
    let faults = faulty.switch();
    let spy = SpyStore::new(faulty);
    let calls = spy.counts();
    (spy, calls, faults)
}

impl<A: TestApp> Fixture<A> {
    pub async fn send(&self, request: TestRequest) -> TestResponse {
        self.app.send(request).await
    }
    /// `GET path`, with `cookie` (a `name=value` pair) if given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        self.send(TestRequest::get(path).cookie(cookie)).await
    }
    /// `POST path`, with `cookie` (a `name=value` pair) if given.
    pub async fn post(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        self.send(TestRequest::post(path).cookie(cookie)).await
    }
    /// `POST /login/{user}` without a cookie: a new signed-in session; its cookie pair.
    pub async fn login(&self, user: &str) -> String {
        let response = self.post(&format!("/login/{user}"), None).await;
        assert_eq!(response.status, 200, "{self}: login of {user}");
        response.only_cookie(self).pair()
    }
}

/// A parsed `Set-Cookie` header.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub raw: String,
    pub name: String,
    pub value: String,
    /// Attribute names and values (`None` for flags such as `HttpOnly`).
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Self {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("not a Set-Cookie: {header}"));
        let attributes = parts
            .map(|attr| match attr.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (attr.to_owned(), None),
            })
            .collect();
        SetCookie {
            raw: header.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }
    /// The value of attribute `name` (case-insensitive), e.g. `attr("Path")`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }
    /// Whether flag `name` (e.g. `HttpOnly`) is present.
    pub fn has(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
    /// `Max-Age` in seconds.
    pub fn max_age(&self) -> i64 {
        self.attr("Max-Age")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric Max-Age in {}", self.raw))
    }
    /// Whether this removes the cookie.
    pub fn is_removal(&self) -> bool {
        self.value.is_empty() && self.max_age() == 0
    }
    /// The `name=value` pair a browser sends back.
    pub fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

impl TestResponse {
    /// The one `Set-Cookie` of this response; panics naming `ctx` if there is none or several.
    pub fn only_cookie(&self, ctx: impl fmt::Display) -> SetCookie {
        match self.set_cookies().as_slice() {
            [one] => SetCookie::parse(one),
            other => panic!("{ctx}: expected one Set-Cookie, got {other:?} ({self:?})"),
        }
    }
}

/// Expands to a module per backend (`stateless`, `memory`, and `sqlite` with that feature) with
/// one `#[test_attribute] async fn` per scenario that applies to it:
///
/// ```ignore
/// mod common;
/// common::behaviour_suite!(AxumDriver, tokio::test);
/// ```
///
/// The test attribute must run the test on the current thread (`tokio::test`'s default,
/// `actix_web::test`): `LogCapture` only sees events of its own thread.
macro_rules! behaviour_suite {
    ($driver:ty, $test:meta) => {
        $crate::common::behaviour_suite!(@backend stateless, Stateless, $driver, $test; );
        $crate::common::behaviour_suite!(@backend jwe, StatelessJwe, $driver, $test; );
        $crate::common::behaviour_suite!(@backend memory, Memory, $driver, $test;
            c8_conflict_is_409,
            metadata_records_ip_and_user_agent,
            handler_store_errors_are_503_and_keep_the_cookie,
            s03_a_signed_but_unknown_id_is_never_adopted,
            s29_a_corrupt_record_is_no_session_and_is_deleted,
        );
        #[cfg(feature = "sqlite")]
        $crate::common::behaviour_suite!(@backend sqlite, Sqlite, $driver, $test;
            c8_conflict_is_409,
            metadata_records_ip_and_user_agent,
            handler_store_errors_are_503_and_keep_the_cookie,
            s03_a_signed_but_unknown_id_is_never_adopted,
            s29_a_corrupt_record_is_no_session_and_is_deleted,
        );
    };
    // Scenarios for every backend, plus the stateful-only ones listed by the caller.
    (@backend $module:ident, $backend:ident, $driver:ty, $test:meta; $($stateful:ident),* $(,)?) => {
        $crate::common::behaviour_suite!(@tests $module, $backend, $driver, $test;
            c1_new_session_sets_cookie_with_secure_defaults,
            c1_no_cookie_and_no_write_sends_nothing,
            c2_invalid_cookie_is_no_session_and_is_cleared,
            c3_status_and_expiry,
            c4_refresh_near_expiry_reissues_cookie,
            c5_unchanged_session_makes_no_write,
            c6_renew_on_login_changes_the_id,
            c7_destroy_sends_removal_cookie,
            c9_log_out_everywhere,
            c14_store_down_is_503_and_keeps_cookie,
            c15_typed_extractor,
            a_payload_that_fails_validation_is_no_session,
            optional_signed_in_lets_everyone_in,
            optional_session_data_is_none_for_missing_or_invalid_data,
            c18_a_server_error_commits_nothing,
            the_middleware_attached_twice_behaves_like_once,
            guard_redirects_pages_and_401s_apis,
            decoded_once_per_request,
            a_handler_that_never_asks_for_the_session_costs_nothing,
            s27_a_cross_site_post_with_the_cookie_is_refused_before_the_handler,
            s27_strict_mode_refuses_a_post_without_origin_headers,
            s27_form_tokens_are_bound_to_the_session,
            s24_a_logged_out_cookie_replayed_is_no_session,
            s28_the_session_comes_from_the_cookie_only,
            $($stateful,)*
        );
    };
    (@tests $module:ident, $backend:ident, $driver:ty, $test:meta; $($scenario:ident,)*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[$test]
                async fn $scenario() {
                    $crate::common::scenarios::$scenario::<$driver>(
                        $crate::common::Backend::$backend,
                    )
                    .await;
                }
            )*
        }
    };
}
pub(crate) use behaviour_suite;
