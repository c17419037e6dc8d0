//! The OAuth sign-in scenarios: written once against [`TestApp`], run through each framework's
//! own test client by its driver (`oauth_suite!(Driver, test_attribute)`), against the
//! stand-in GitHub and Vercel of `session_auth::standin` on 127.0.0.1.
//!
//! Besides the ROUTES, an OAuth app serves the framework's OAuth routes under `/auth`
//! (`session_adapters::{axum, actix, rocket}::oauth_routes`) and:
//!
//! ```text
//! - `GET /me`                 Session extractor; body = [`me`]: `{"user":..,"profile":..}` as
//!                             JSON, or "anonymous".
//! - `GET /token/{provider}`   Session extractor; [`token`]: 200 "ok <token length>", or the
//!                             error's `status_code()` (401 "anonymous" when signed out).
//! ```
//!
//! The browser's part is played by hand: the framework client gets the sign-in and the
//! callback, a real HTTP client (redirects off) follows the authorization URL to the stand-in,
//! and cookies are passed back as `name=value` pairs. Each case prints one line
//! `oauth-status | <framework> | <backend> | <case> | <status>` (run with `--nocapture` to
//! see the table).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use session_adapters::auth::standin::{
    Fault, StandIn, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET,
};
use session_adapters::auth::{OAuth, OAuthBuilder, Profile, Provider};
use session_core::testing::MockClock;
use session_core::{Session, SessionManager, UserId};

use super::{
    managed, secret, Backend, Driver, Fixture, Policy, SetCookie, TestApp, TestRequest,
    TestResponse, START,
};

/// The application's origin as browsers see it: the callback URLs are made from it.
pub const PUBLIC_BASE: &str = "https://app.example";
/// The session cookie's name (the default policy's).
const SESSION_COOKIE: &str = "session";
/// The flow cookie's name for an `https` public base.
const FLOW_COOKIE: &str = "__Secure-oauth-flow";

/// A driver whose app also serves the OAuth routes, `/me` and `/token/{provider}`.
pub trait OAuthDriver: Driver {
    fn oauth_app(manager: SessionManager, oauth: OAuth) -> impl Future<Output = Self::App>;
}

/// `GET /me`: the user and the [`Profile`] as JSON, or "anonymous".
pub fn me(session: &Session) -> String {
    match session.user_id() {
        Some(user) => serde_json::json!({
            "user": user.to_string(),
            "profile": Profile::of(session),
        })
        .to_string(),
        None => "anonymous".to_owned(),
    }
}

/// `GET /token/{provider}`: 200 "ok <length>", or the error's status.
pub async fn token(oauth: &OAuth, session: &Session, provider: &str) -> (u16, String) {
    let Some(user) = session.user_id() else {
        return (401, "anonymous".to_owned());
    };
    match oauth.access_token(&user, provider).await {
        Ok(token) => (200, format!("ok {}", token.secret().len())),
        Err(error) => (error.status_code(), error.to_string()),
    }
}

/// The providers of the scenarios, as the stand-in knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idp {
    GitHub,
    Vercel,
}

impl Idp {
    pub fn name(self) -> &'static str {
        match self {
            Idp::GitHub => "github",
            Idp::Vercel => "vercel",
        }
    }

    /// The user id [`session_auth::AccountAsUser`] gives the stand-in's default user.
    pub fn user(self) -> UserId {
        UserId::new(match self {
            Idp::GitHub => "github:583231",
            Idp::Vercel => "vercel:vc_user_3f9a",
        })
    }
}

/// An OAuth app of one framework and its stand-in provider.
pub struct OAuthFixture<A> {
    pub fx: Fixture<A>,
    pub oauth: OAuth,
    pub standin: StandIn,
    /// The OAuth flows' clock.
    pub clock: MockClock,
}

/// A stand-in with both providers, and an [`OAuth`] signing in with them at [`PUBLIC_BASE`] on
/// a mock clock at [`START`]; `tune` adjusts the builder.
pub async fn standin_oauth(
    tune: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
) -> (StandIn, OAuth, MockClock) {
    let standin = StandIn::start().await.expect("the stand-in starts");
    let clock = MockClock::at(START);
    let github = Provider::github(GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
        .with_base_urls(&standin.github_web_base(), &standin.github_api_base())
        .expect("stand-in URLs");
    let vercel = Provider::vercel(VERCEL_CLIENT_ID, VERCEL_CLIENT_SECRET)
        .with_base_urls(&standin.vercel_web_base(), &standin.vercel_api_base())
        .expect("stand-in URLs");
    let builder = OAuth::builder(&secret(), PUBLIC_BASE)
        .expect("an https origin")
        .provider(github)
        .provider(vercel)
        .clock(Arc::new(clock.clone()));
    (standin, tune(builder).build(), clock)
}

/// What a browser does with an authorization URL: the stand-in answers 302 at once, back to
/// the callback with a code and the state; the path and query of that callback.
pub async fn follow_authorize(authorize_url: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let url = reqwest::Url::parse(authorize_url).expect("an absolute authorization URL");
    let response = browser
        .get(url.clone())
        .send()
        .await
        .expect("the stand-in answers");
    assert_eq!(response.status().as_u16(), 302, "authorize: {response:?}");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location");
    let back = reqwest::Url::parse(location).expect("an absolute callback URL");
    assert_eq!(
        back.origin().ascii_serialization(),
        PUBLIC_BASE,
        "authorize: {location}"
    );
    assert!(
        query_param(&back, "code").is_some(),
        "authorize: no code in {location}"
    );
    assert_eq!(
        query_param(&back, "state"),
        query_param(&url, "state"),
        "authorize: {location}"
    );
    format!("{}?{}", back.path(), back.query().unwrap_or(""))
}

/// The OAuth app of driver `D` (see [`standin_oauth`]).
pub async fn oauth_fixture<D: OAuthDriver>(
    backend: Backend,
    tune: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
) -> OAuthFixture<D::App> {
    let (standin, oauth, clock) = standin_oauth(tune).await;
    let parts = managed(backend, Policy::default());
    let app = D::oauth_app(parts.manager.clone(), oauth.clone()).await;
    OAuthFixture {
        fx: parts.into_fixture::<D>(app),
        oauth,
        standin,
        clock,
    }
}

/// A started sign-in: the framework's answer, its flow cookie and the authorization URL.
pub struct Started {
    pub response: TestResponse,
    pub flow: SetCookie,
    pub authorize_url: reqwest::Url,
}

impl Started {
    /// The `state` of the authorization URL.
    pub fn state(&self) -> String {
        query_param(&self.authorize_url, "state").expect("a state in the authorization URL")
    }
}

fn query_param(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl<A: TestApp> OAuthFixture<A> {
    fn ctx(&self, case: &str) -> String {
        format!("{}/{:?} {case}", self.fx.framework, self.fx.backend)
    }

    /// Prints the table row of `case`.
    pub fn record(&self, case: &str, status: impl std::fmt::Display) {
        eprintln!(
            "oauth-status | {} | {:?} | {case} | {status}",
            self.fx.framework, self.fx.backend
        );
    }

    /// `GET {sign-in}?<query>`: checks the 303 to the stand-in and the flow cookie.
    pub async fn start(&self, idp: Idp, query: &str) -> Started {
        let path = format!("{}?{query}", self.oauth.sign_in_path(idp.name()));
        self.start_with(TestRequest::get(&path), idp).await
    }

    async fn start_with(&self, request: TestRequest, idp: Idp) -> Started {
        let ctx = self.ctx("sign-in");
        let response = self.fx.send(request).await;
        assert_eq!(response.status, 303, "{ctx}: {response:?}");
        let location = response.header("location").expect("a Location");
        let authorize_url = reqwest::Url::parse(location).expect("an absolute authorization URL");
        let web_base = match idp {
            Idp::GitHub => self.standin.github_web_base(),
            Idp::Vercel => self.standin.vercel_web_base(),
        };
        assert!(
            location.starts_with(web_base.trim_end_matches('/')),
            "{ctx}: {location} is not at the stand-in {web_base}"
        );
        for param in ["state", "code_challenge", "client_id", "redirect_uri"] {
            assert!(
                query_param(&authorize_url, param).is_some(),
                "{ctx}: no {param} in {location}"
            );
        }
        assert_eq!(
            query_param(&authorize_url, "code_challenge_method").as_deref(),
            Some("S256"),
            "{ctx}"
        );
        let flow = match response.set_cookies().as_slice() {
            [one] => SetCookie::parse(one),
            other => panic!("{ctx}: expected the flow cookie only, got {other:?}"),
        };
        assert_eq!(flow.name, FLOW_COOKIE, "{ctx}: {}", flow.raw);
        assert!(!flow.value.is_empty(), "{ctx}: {}", flow.raw);
        assert!(flow.has("HttpOnly"), "{ctx}: {}", flow.raw);
        assert_eq!(flow.attr("SameSite"), Some("Lax"), "{ctx}: {}", flow.raw);
        assert!(flow.has("Secure"), "{ctx}: {}", flow.raw);
        assert_eq!(
            flow.attr("Path"),
            Some(self.oauth.mount()),
            "{ctx}: {}",
            flow.raw
        );
        Started {
            response,
            flow,
            authorize_url,
        }
    }

    /// Follows the authorization URL of `started` (see [`follow_authorize`]).
    pub async fn authorize(&self, started: &Started) -> String {
        follow_authorize(started.authorize_url.as_str()).await
    }

    /// `GET <callback>` with `cookie` (a `name=value` pair) if given.
    pub async fn callback(&self, callback: &str, cookie: Option<&str>) -> TestResponse {
        self.fx.get(callback, cookie).await
    }

    /// A started and authorized sign-in: its flow cookie pair and callback.
    pub async fn authorized(&self, idp: Idp, query: &str) -> (String, String, Started) {
        let started = self.start(idp, query).await;
        let callback = self.authorize(&started).await;
        (started.flow.pair(), callback, started)
    }

    /// The session cookie a response sets, if any.
    pub fn session_cookie(&self, response: &TestResponse) -> Option<SetCookie> {
        response
            .set_cookies()
            .into_iter()
            .map(SetCookie::parse)
            .find(|c| c.name == SESSION_COOKIE)
    }

    /// A failed callback: `status`, an HTML error page, the flow cookie cleared, no session
    /// cookie, and no tokens stored for `idp`'s user.
    pub async fn assert_refused(&self, case: &str, idp: Idp, response: &TestResponse, status: u16) {
        let ctx = self.ctx(case);
        self.record(case, response.status);
        assert_eq!(response.status, status, "{ctx}: {response:?}");
        assert!(
            response
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{ctx}: {response:?}"
        );
        assert!(
            response.body.contains("Sign-in failed"),
            "{ctx}: {response:?}"
        );
        assert!(response.header("location").is_none(), "{ctx}: {response:?}");
        assert!(
            self.session_cookie(response).is_none(),
            "{ctx}: a session cookie was issued: {response:?}"
        );
        if status != 404 {
            let cleared = response
                .set_cookies()
                .into_iter()
                .map(SetCookie::parse)
                .find(|c| c.name == FLOW_COOKIE)
                .unwrap_or_else(|| panic!("{ctx}: the flow cookie is not cleared: {response:?}"));
            assert!(cleared.is_removal(), "{ctx}: {}", cleared.raw);
        }
        self.assert_nothing_stored(&ctx, idp).await;
    }

    pub async fn assert_nothing_stored(&self, ctx: &str, idp: Idp) {
        let linked = self
            .oauth
            .vault()
            .linked(&idp.user())
            .await
            .expect("the token store answers");
        assert!(linked.is_empty(), "{ctx}: tokens were stored: {linked:?}");
    }
}

/// The whole sign-in with `idp`: start with `next=/dashboard`, the stand-in, the callback, the
/// signed-in session (`/me`, `/token`), sign-out, and the old cookie signed out.
pub async fn full_flow<D: OAuthDriver>(backend: Backend, idp: Idp) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let provider = idp.name();
    let started = of.start(idp, "next=/dashboard").await;
    of.record(
        &format!("{provider}: GET sign-in?next=/dashboard"),
        started.response.status,
    );
    let callback = of.authorize(&started).await;
    of.record(&format!("{provider}: stand-in authorize (reqwest)"), 302);
    assert!(
        callback.starts_with(&format!("/auth/{provider}/callback?")),
        "{callback}"
    );

    let ctx = of.ctx(&format!("{provider} callback"));
    let response = of.callback(&callback, Some(&started.flow.pair())).await;
    of.record(&format!("{provider}: GET callback"), response.status);
    assert_eq!(response.status, 303, "{ctx}: {response:?}");
    assert_eq!(response.header("location"), Some("/dashboard"), "{ctx}");
    assert_eq!(response.body, "", "{ctx}");
    let cookies: Vec<SetCookie> = response
        .set_cookies()
        .into_iter()
        .map(SetCookie::parse)
        .collect();
    assert_eq!(
        cookies.len(),
        2,
        "{ctx}: the flow cookie cleared and the session cookie: {cookies:?}"
    );
    let cleared = cookies
        .iter()
        .find(|c| c.name == FLOW_COOKIE)
        .expect("the flow cookie");
    assert!(cleared.is_removal(), "{ctx}: {}", cleared.raw);
    assert_eq!(
        cleared.attr("Path"),
        Some("/auth"),
        "{ctx}: {}",
        cleared.raw
    );
    let session = of.session_cookie(&response).expect("a session cookie");
    assert!(
        !session.is_removal() && session.has("HttpOnly"),
        "{ctx}: {}",
        session.raw
    );
    let session = session.pair();

    let me = of.fx.get("/me", Some(&session)).await;
    of.record(&format!("{provider}: GET /me signed in"), me.status);
    assert_eq!(me.status, 200, "{ctx}: {me:?}");
    let me: serde_json::Value = serde_json::from_str(&me.body).expect("JSON from /me");
    assert_eq!(me["user"], idp.user().to_string(), "{ctx}: {me}");
    let profile = &me["profile"];
    assert_eq!(profile["provider"], provider, "{ctx}: {me}");
    match idp {
        Idp::GitHub => {
            assert_eq!(profile["account"], "583231", "{ctx}: {me}");
            assert_eq!(profile["username"], "octocat", "{ctx}: {me}");
            assert_eq!(profile["name"], "The Octocat", "{ctx}: {me}");
            assert_eq!(
                profile["email"], "octo@example.com",
                "{ctx}: the primary verified email: {me}"
            );
        }
        Idp::Vercel => {
            assert_eq!(profile["account"], "vc_user_3f9a", "{ctx}: {me}");
            assert_eq!(profile["username"], "vercel-dev", "{ctx}: {me}");
            assert_eq!(profile["email"], "dev@vercel.example", "{ctx}: {me}");
        }
    }

    let token = of
        .fx
        .get(&format!("/token/{provider}"), Some(&session))
        .await;
    of.record(&format!("{provider}: GET /token/{provider}"), token.status);
    assert_eq!(token.status, 200, "{ctx}: {token:?}");
    assert!(token.body.starts_with("ok "), "{ctx}: {token:?}");
    let linked = of
        .oauth
        .vault()
        .linked(&idp.user())
        .await
        .expect("the token store answers");
    assert_eq!(linked.len(), 1, "{ctx}: {linked:?}");

    let response = of.fx.get(&of.oauth.sign_out_path(), Some(&session)).await;
    of.record(&format!("{provider}: GET sign-out"), response.status);
    assert_eq!(
        response.status, 405,
        "{ctx}: sign-out is never a GET: {response:?}"
    );
    assert_eq!(
        response.header("allow"),
        Some("POST"),
        "{ctx}: {response:?}"
    );
    assert_eq!(
        of.fx.get("/me", Some(&session)).await.body,
        me.to_string(),
        "{ctx}: still signed in"
    );

    let response = of.fx.post(&of.oauth.sign_out_path(), Some(&session)).await;
    of.record(&format!("{provider}: POST sign-out"), response.status);
    assert_eq!(response.status, 303, "{ctx}: {response:?}");
    assert_eq!(response.header("location"), Some("/"), "{ctx}");
    let removal = response.only_cookie(&ctx);
    assert!(
        removal.name == SESSION_COOKIE && removal.is_removal(),
        "{ctx}: {}",
        removal.raw
    );

    let response = of.fx.get("/me", Some(&session)).await;
    of.record(
        &format!("{provider}: GET /me with the old cookie"),
        response.status,
    );
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "anonymous"),
        "{ctx}"
    );
    let response = of
        .fx
        .get(&format!("/token/{provider}"), Some(&session))
        .await;
    assert_eq!(response.status, 401, "{ctx}: {response:?}");
}

/// A sign-in button in a form posts to the sign-in path: the same 303 and flow cookie.
pub async fn sign_in_by_post<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let path = format!("{}?next=/dashboard", of.oauth.sign_in_path("github"));
    let started = of.start_with(TestRequest::post(&path), Idp::GitHub).await;
    of.record("POST sign-in (form button)", started.response.status);
    let callback = of.authorize(&started).await;
    let response = of.callback(&callback, Some(&started.flow.pair())).await;
    assert_eq!(response.status, 303, "{response:?}");
    assert_eq!(response.header("location"), Some("/dashboard"));
}

/// The callback without the flow cookie: 400.
pub async fn callback_without_flow_cookie<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let (_cookie, callback, _) = of.authorized(Idp::GitHub, "").await;
    let response = of.callback(&callback, None).await;
    of.assert_refused(
        "callback without the flow cookie",
        Idp::GitHub,
        &response,
        400,
    )
    .await;
    // Another site's cookies are no flow cookie either.
    let response = of.callback(&callback, Some("theme=dark")).await;
    of.assert_refused(
        "callback with other cookies only",
        Idp::GitHub,
        &response,
        400,
    )
    .await;
}

/// A flow cookie that is not the one set: 400, whether garbage, tampered or made with another
/// secret.
pub async fn forged_flow_cookie<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let (cookie, callback, started) = of.authorized(Idp::GitHub, "").await;
    let value = &started.flow.value;
    let mut tampered = value.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let other_secret = OAuth::builder(
        &session_core::Secret::from_bytes(vec![0x17; 32]).expect("32 bytes"),
        PUBLIC_BASE,
    )
    .expect("an https origin")
    .provider(Provider::github(GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET))
    .build()
    .sign_in("github", None)
    .expect("a sign-in");
    let foreign = SetCookie::parse(&other_secret.set_cookies[0]).value;
    for (case, forged) in [
        (
            "forged flow cookie: garbage",
            "not-a-flow-cookie".to_owned(),
        ),
        ("forged flow cookie: tampered", tampered),
        ("forged flow cookie: another secret", foreign),
    ] {
        let response = of
            .callback(&callback, Some(&format!("{FLOW_COOKIE}={forged}")))
            .await;
        of.assert_refused(case, Idp::GitHub, &response, 400).await;
    }
    // The real cookie still works: the forgeries did not use the flow up.
    let response = of.callback(&callback, Some(&cookie)).await;
    assert_eq!(response.status, 303, "{response:?}");
}

/// The callback's `state` is not the flow's: 400.
pub async fn state_mismatch<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let (cookie, callback, started) = of.authorized(Idp::GitHub, "").await;
    let state = started.state();
    let wrong = callback.replace(&format!("state={state}"), "state=not-the-state");
    assert_ne!(wrong, callback);
    let response = of.callback(&wrong, Some(&cookie)).await;
    of.assert_refused("state mismatch", Idp::GitHub, &response, 400)
        .await;
    let response = of
        .callback(
            &callback
                .replace(&format!("&state={state}"), "")
                .replace(&format!("state={state}&"), ""),
            Some(&cookie),
        )
        .await;
    of.assert_refused("state missing", Idp::GitHub, &response, 400)
        .await;
}

/// The same callback twice (cookie and query): the first signs in, the second is 400.
pub async fn replayed_callback<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let (cookie, callback, _) = of.authorized(Idp::GitHub, "").await;
    let first = of.callback(&callback, Some(&cookie)).await;
    of.record("replayed callback: first", first.status);
    assert_eq!(first.status, 303, "{first:?}");
    assert!(of.session_cookie(&first).is_some(), "{first:?}");
    let second = of.callback(&callback, Some(&cookie)).await;
    of.record("replayed callback: second", second.status);
    assert_eq!(second.status, 400, "{second:?}");
    assert!(of.session_cookie(&second).is_none(), "{second:?}");
    let linked = of
        .oauth
        .vault()
        .linked(&Idp::GitHub.user())
        .await
        .expect("the token store answers");
    assert_eq!(
        linked.len(),
        1,
        "only the first callback stored tokens: {linked:?}"
    );
}

/// The callback more than 10 minutes after the start: 400.
pub async fn expired_flow<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let (cookie, callback, _) = of.authorized(Idp::GitHub, "").await;
    of.clock.advance(Duration::from_secs(10 * 60 + 1));
    let response = of.callback(&callback, Some(&cookie)).await;
    of.assert_refused("expired flow (10 min + 1 s)", Idp::GitHub, &response, 400)
        .await;
}

/// Flow A's code with flow B's cookie and state: the verifier is B's, the stand-in refuses the
/// exchange: 400.
pub async fn wrong_pkce_verifier<D: OAuthDriver>(backend: Backend, idp: Idp) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let a = of.start(idp, "").await;
    let a_callback = of.authorize(&a).await;
    let b = of.start(idp, "").await;
    let forged = a_callback.replace(
        &format!("state={}", a.state()),
        &format!("state={}", b.state()),
    );
    assert_ne!(forged, a_callback);
    let response = of.callback(&forged, Some(&b.flow.pair())).await;
    of.assert_refused(
        &format!("{}: wrong PKCE verifier", idp.name()),
        idp,
        &response,
        400,
    )
    .await;
}

/// The provider fails during the callback: down 503, slow 504, garbage 502; nothing stored.
pub async fn provider_faults<D: OAuthDriver>(backend: Backend) {
    for (case, fault, status) in [
        ("provider down", Fault::Down, 503),
        ("provider answers garbage", Fault::Garbage, 502),
        (
            "provider slow (2 s, timeout 300 ms)",
            Fault::Slow(Duration::from_secs(2)),
            504,
        ),
    ] {
        let of =
            oauth_fixture::<D>(backend, |b| b.provider_timeout(Duration::from_millis(300))).await;
        let (cookie, callback, _) = of.authorized(Idp::GitHub, "").await;
        of.standin.set_fault(fault);
        let response = of.callback(&callback, Some(&cookie)).await;
        of.assert_refused(case, Idp::GitHub, &response, status)
            .await;
    }
}

/// A `next` that leaves the site is dropped: the sign-in ends at `/`.
pub async fn open_redirect<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    for next in [
        "//evil.example",
        "https://evil.example/",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
    ] {
        let (cookie, callback, _) = of.authorized(Idp::GitHub, &format!("next={next}")).await;
        let response = of.callback(&callback, Some(&cookie)).await;
        let location = response.header("location").unwrap_or("-");
        of.record(
            &format!("open redirect next={next}"),
            format!("{} -> {location}", response.status),
        );
        assert_eq!(response.status, 303, "next={next}: {response:?}");
        assert_eq!(
            response.header("location"),
            Some("/"),
            "next={next}: {response:?}"
        );
        assert!(
            of.session_cookie(&response).is_some(),
            "next={next}: {response:?}"
        );
    }
}

/// A provider that is not configured: 404 on every route.
pub async fn unknown_provider<D: OAuthDriver>(backend: Backend) {
    let of = oauth_fixture::<D>(backend, |b| b).await;
    let response = of
        .fx
        .get("/auth/gitlab/sign-in?next=/dashboard", None)
        .await;
    of.assert_refused("unknown provider: GET sign-in", Idp::GitHub, &response, 404)
        .await;
    let response = of.fx.post("/auth/gitlab/sign-in", None).await;
    of.assert_refused(
        "unknown provider: POST sign-in",
        Idp::GitHub,
        &response,
        404,
    )
    .await;
    let (cookie, callback, _) = of.authorized(Idp::GitHub, "").await;
    let elsewhere = callback.replace("/auth/github/", "/auth/gitlab/");
    let response = of.callback(&elsewhere, Some(&cookie)).await;
    of.assert_refused(
        "unknown provider: GET callback",
        Idp::GitHub,
        &response,
        404,
    )
    .await;
    // Flow for GitHub, callback on Vercel's path: the flow is bound to its provider.
    let other = callback.replace("/auth/github/", "/auth/vercel/");
    let response = of.callback(&other, Some(&cookie)).await;
    of.assert_refused(
        "callback on another provider's path",
        Idp::GitHub,
        &response,
        400,
    )
    .await;
}

/// Expands to `mod oauth` with one `#[test_attribute] async fn` per OAuth scenario:
///
/// ```ignore
/// common::oauth_suite!(AxumDriver, tokio::test);
/// ```
macro_rules! oauth_suite {
    ($driver:ty, $test:meta) => {
        mod oauth {
            #[allow(unused_imports)]
            use super::*;
            use $crate::common::oauth::{self as scenarios, Idp};
            use $crate::common::Backend;

            #[$test]
            async fn full_flow_github() {
                scenarios::full_flow::<$driver>(Backend::Memory, Idp::GitHub).await;
            }
            #[$test]
            async fn full_flow_vercel() {
                scenarios::full_flow::<$driver>(Backend::Memory, Idp::Vercel).await;
            }
            #[cfg(feature = "sqlite")]
            #[$test]
            async fn full_flow_github_sqlite() {
                scenarios::full_flow::<$driver>(Backend::Sqlite, Idp::GitHub).await;
            }
            #[$test]
            async fn sign_in_by_post() {
                scenarios::sign_in_by_post::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn callback_without_flow_cookie() {
                scenarios::callback_without_flow_cookie::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn forged_flow_cookie() {
                scenarios::forged_flow_cookie::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn state_mismatch() {
                scenarios::state_mismatch::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn replayed_callback() {
                scenarios::replayed_callback::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn expired_flow() {
                scenarios::expired_flow::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn wrong_pkce_verifier_github() {
                scenarios::wrong_pkce_verifier::<$driver>(Backend::Memory, Idp::GitHub).await;
            }
            #[$test]
            async fn wrong_pkce_verifier_vercel() {
                scenarios::wrong_pkce_verifier::<$driver>(Backend::Memory, Idp::Vercel).await;
            }
            #[$test]
            async fn provider_faults() {
                scenarios::provider_faults::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn open_redirect() {
                scenarios::open_redirect::<$driver>(Backend::Memory).await;
            }
            #[$test]
            async fn unknown_provider() {
                scenarios::unknown_provider::<$driver>(Backend::Memory).await;
            }
        }
    };
}
pub(crate) use oauth_suite;
