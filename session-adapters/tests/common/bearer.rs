//! The bearer-token scenarios (`bearer_suite!`): `Auth` and `Option<Auth>` through each
//! framework, on an app that serves the ROUTES plus
//!
//! ```text
//! - `GET  /api/whoami`        `Auth`; body = `whoami(&auth)`.
//! - `GET  /api/maybe-whoami`  `Option<Auth>`; body = `whoami` or "anonymous".
//! - `POST /api/whoami-write`  `Auth` and `Session`; increments "n" in the session, then `whoami`.
//! ```
//!
//! with the app's `ApiTokens` installed the framework's way (or not, for the setup-error case).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use session_adapters::auth::api_tokens::{
    ApiTokenRecord, ApiTokenStore, ApiTokens, Inserted, MemoryApiTokenStore, NewApiToken,
    TokenHash, MAX_PRESENTED_LEN,
};
use session_adapters::{Auth, AuthVia, SessionManager};
use session_core::store::StoreError;
use session_core::testing::LogCapture;
use session_core::{UnixTime, UserId};

use super::{managed, secret, Backend, Driver, Fixture, TestRequest, TestResponse};

/// A driver that can serve the bearer routes.
pub trait BearerDriver: Driver {
    fn bearer_app(
        manager: SessionManager,
        tokens: Option<ApiTokens>,
    ) -> impl std::future::Future<Output = Self::App>;
}

/// `GET /api/whoami`'s body: `session:<user>` or `bearer:<user>:<token name>:<scopes,>`.
pub fn whoami(auth: &Auth) -> String {
    match auth.via() {
        AuthVia::Session(_) => format!("session:{}", auth.user_id()),
        AuthVia::Bearer(token) => format!(
            "bearer:{}:{}:{}",
            auth.user_id(),
            token.name,
            token.scopes.join(",")
        ),
        _ => "other".to_owned(),
    }
}

/// `GET /api/maybe-whoami`'s body.
pub fn maybe_whoami(auth: Option<&Auth>) -> String {
    auth.map_or_else(|| "anonymous".to_owned(), whoami)
}

/// `POST /api/whoami-write`: writes to the session, whatever authenticated the request.
pub fn whoami_write(auth: &Auth, session: &session_core::Session) -> String {
    let n: u64 = session.get("n").ok().flatten().unwrap_or(0);
    session.insert("n", n + 1).expect("a number");
    whoami(auth)
}

/// A token store whose every call fails while the switch is on (the token store is down).
#[derive(Debug, Default)]
pub struct DownableStore {
    inner: MemoryApiTokenStore,
    down: Arc<AtomicBool>,
}

impl DownableStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        Ok(())
    }
}

#[async_trait]
impl ApiTokenStore for DownableStore {
    async fn insert(
        &self,
        record: &ApiTokenRecord,
        limit: usize,
        now: UnixTime,
    ) -> Result<Inserted, StoreError> {
        self.check()?;
        self.inner.insert(record, limit, now).await
    }
    async fn find(&self, hash: &TokenHash) -> Result<Option<ApiTokenRecord>, StoreError> {
        self.check()?;
        self.inner.find(hash).await
    }
    async fn list(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        self.check()?;
        self.inner.list(owner).await
    }
    async fn touch(&self, id: &str, at: UnixTime) -> Result<(), StoreError> {
        self.check()?;
        self.inner.touch(id, at).await
    }
    async fn revoke(&self, owner: &UserId, id: &str, at: UnixTime) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.revoke(owner, id, at).await
    }
    async fn revoke_all(&self, owner: &UserId, at: UnixTime) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revoke_all(owner, at).await
    }
}

/// A bearer app with tokens for bob: a valid one ("ci", scopes deploy and read), a revoked one
/// and an expired one; alice signs in by session.
pub struct BearerFixture<A> {
    pub fx: Fixture<A>,
    pub tokens: ApiTokens,
    pub down: Arc<AtomicBool>,
    pub valid: String,
    pub revoked: String,
    pub expired: String,
    /// The stored hash of the valid token, as a leaked row would show it.
    pub leaked_hash: String,
    pub leaked_prefix: String,
    /// Alice's session cookie pair.
    pub alice: String,
}

pub async fn bearer_fixture<D: BearerDriver>(backend: Backend) -> BearerFixture<D::App> {
    let parts = managed(backend, session_core::Policy::default());
    let store = DownableStore::default();
    let down = store.down.clone();
    let tokens = ApiTokens::builder(&secret(), store)
        .clock(Arc::new(parts.clock.clone()))
        .build();
    let bob = UserId::new("bob");
    let valid = tokens
        .create(&bob, NewApiToken::named("ci").scopes(["deploy", "read"]))
        .await
        .expect("create");
    let revoked = tokens
        .create(&bob, NewApiToken::named("old"))
        .await
        .expect("create");
    tokens
        .revoke(&bob, &revoked.token.id)
        .await
        .expect("revoke");
    let expired = tokens
        .create(
            &bob,
            NewApiToken::named("short").expires_in(Duration::from_secs(60)),
        )
        .await
        .expect("create");
    let clock = parts.clock.clone();
    let app = D::bearer_app(parts.manager.clone(), Some(tokens.clone())).await;
    let fx = parts.into_fixture::<D>(app);
    let alice = fx.login("alice").await;
    clock.advance(Duration::from_secs(61));
    let row = tokens
        .store()
        .list(&bob)
        .await
        .expect("list")
        .into_iter()
        .find(|r| r.id == valid.token.id)
        .expect("the valid row");
    BearerFixture {
        fx,
        tokens,
        down,
        valid: valid.secret.expose().to_owned(),
        revoked: revoked.secret.expose().to_owned(),
        expired: expired.secret.expose().to_owned(),
        leaked_hash: row.hash.to_hex(),
        leaked_prefix: row.display_prefix,
        alice,
    }
}

impl<A: super::TestApp> BearerFixture<A> {
    async fn whoami(&self, authorization: &[&str], cookie: Option<&str>) -> TestResponse {
        let mut request = TestRequest::get("/api/whoami").cookie(cookie);
        for value in authorization {
            request = request.header("authorization", value);
        }
        self.fx.send(request).await
    }
}

/// One row of the bearer matrix: the request, and what must come back.
struct Case {
    name: &'static str,
    authorization: Vec<String>,
    cookie: Cookie,
    status: u16,
    body: Option<&'static str>,
    challenge: Option<&'static str>,
    /// The `reason` of the refusal event, for a refused bearer.
    reason: Option<&'static str>,
}

#[derive(Clone, Copy)]
enum Cookie {
    None,
    Valid,
    Invalid,
}

const INVALID_TOKEN: &str = r#"Bearer error="invalid_token""#;
const INVALID_REQUEST: &str = r#"Bearer error="invalid_request""#;

/// The matrix {no, valid, invalid cookie} x {no, valid, malformed, unknown, revoked, expired
/// bearer, ...}: each case's status, body, challenge and logged reason, through `Auth`. Prints
/// the table (`cargo test -- --nocapture` shows it).
pub async fn bearer_matrix<D: BearerDriver>(backend: Backend) {
    let bf = bearer_fixture::<D>(backend).await;
    let bearer = |token: &str| format!("Bearer {token}");
    let bob = "bearer:bob:ci:deploy,read";
    let random = format!("sat_{}", "A".repeat(42) + "E");
    let mut cases = vec![
        Case {
            name: "no header, no cookie",
            authorization: vec![],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some("Bearer"),
            reason: None,
        },
        Case {
            name: "no header, valid cookie",
            authorization: vec![],
            cookie: Cookie::Valid,
            status: 200,
            body: Some("session:alice"),
            challenge: None,
            reason: None,
        },
        Case {
            name: "no header, invalid cookie",
            authorization: vec![],
            cookie: Cookie::Invalid,
            status: 401,
            body: None,
            challenge: Some("Bearer"),
            reason: None,
        },
        Case {
            name: "valid token, no cookie",
            authorization: vec![bearer(&bf.valid)],
            cookie: Cookie::None,
            status: 200,
            body: Some(bob),
            challenge: None,
            reason: None,
        },
        Case {
            name: "valid token, valid cookie (the token wins)",
            authorization: vec![bearer(&bf.valid)],
            cookie: Cookie::Valid,
            status: 200,
            body: Some(bob),
            challenge: None,
            reason: None,
        },
        Case {
            name: "valid token, invalid cookie",
            authorization: vec![bearer(&bf.valid)],
            cookie: Cookie::Invalid,
            status: 200,
            body: Some(bob),
            challenge: None,
            reason: None,
        },
        Case {
            name: "`bearer` in lower case",
            authorization: vec![format!("bearer {}", bf.valid)],
            cookie: Cookie::None,
            status: 200,
            body: Some(bob),
            challenge: None,
            reason: None,
        },
        Case {
            name: "`BEARER` in upper case",
            authorization: vec![format!("BEARER {}", bf.valid)],
            cookie: Cookie::None,
            status: 200,
            body: Some(bob),
            challenge: None,
            reason: None,
        },
        Case {
            name: "unknown token",
            authorization: vec![bearer(&random)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("unknown"),
        },
        Case {
            name: "unknown token, valid cookie (no fallback)",
            authorization: vec![bearer(&random)],
            cookie: Cookie::Valid,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("unknown"),
        },
        Case {
            name: "revoked token",
            authorization: vec![bearer(&bf.revoked)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("revoked"),
        },
        Case {
            name: "expired token, valid cookie",
            authorization: vec![bearer(&bf.expired)],
            cookie: Cookie::Valid,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("expired"),
        },
        Case {
            name: "wrong prefix",
            authorization: vec![bearer(&format!("ghp_{}", &bf.valid[4..]))],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("wrong_prefix"),
        },
        Case {
            name: "bad base64",
            authorization: vec![bearer(&format!("sat_{}", ".".repeat(43)))],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("encoding"),
        },
        Case {
            name: "one character short",
            authorization: vec![bearer(&bf.valid[..bf.valid.len() - 1])],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("encoding"),
        },
        Case {
            name: "over-long (300 characters)",
            authorization: vec![bearer(&format!("sat_{}", "A".repeat(296)))],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("too_long"),
        },
        Case {
            name: "two Authorization headers",
            authorization: vec![bearer(&bf.valid), bearer(&bf.valid)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_REQUEST),
            reason: Some("repeated_header"),
        },
        Case {
            name: "Basic scheme, valid cookie",
            authorization: vec!["Basic Ym9iOnB3".into()],
            cookie: Cookie::Valid,
            status: 401,
            body: None,
            challenge: Some(INVALID_REQUEST),
            reason: Some("other_scheme"),
        },
        Case {
            name: "`Bearer` without a token",
            authorization: vec!["Bearer".into()],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_REQUEST),
            reason: Some("no_token"),
        },
        Case {
            name: "a space inside the token",
            authorization: vec![format!("Bearer {} x", bf.valid)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_REQUEST),
            reason: Some("not_b64token"),
        },
        Case {
            name: "leaked row: the stored hash",
            authorization: vec![bearer(&bf.leaked_hash)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("wrong_prefix"),
        },
        Case {
            name: "leaked row: prefix + stored hash",
            authorization: vec![bearer(&format!("sat_{}", bf.leaked_hash))],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("encoding"),
        },
        Case {
            name: "leaked row: the display prefix",
            authorization: vec![bearer(&bf.leaked_prefix)],
            cookie: Cookie::None,
            status: 401,
            body: None,
            challenge: Some(INVALID_TOKEN),
            reason: Some("encoding"),
        },
    ];
    let session_value = bf
        .alice
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .expect("a pair");
    // A JWT cookie is longer than any token: refused unread.
    let session_reason = if session_value.len() > MAX_PRESENTED_LEN {
        "too_long"
    } else {
        "wrong_prefix"
    };
    cases.push(Case {
        name: "the session cookie's value as a token",
        authorization: vec![bearer(&session_value)],
        cookie: Cookie::None,
        status: 401,
        body: None,
        challenge: Some(INVALID_TOKEN),
        reason: Some(session_reason),
    });

    let mut table = format!("bearer matrix, {}/{backend:?}:\n", D::NAME);
    for case in &cases {
        let cookie = match case.cookie {
            Cookie::None => None,
            Cookie::Valid => Some(bf.alice.clone()),
            Cookie::Invalid => Some("session=forged.value".to_owned()),
        };
        let values: Vec<&str> = case.authorization.iter().map(String::as_str).collect();
        let capture = LogCapture::new();
        let response = {
            let _guard = capture.install();
            bf.whoami(&values, cookie.as_deref()).await
        };
        let ctx = format!("{}/{backend:?}: {}", D::NAME, case.name);
        assert_eq!(response.status, case.status, "{ctx}: {response:?}");
        if let Some(body) = case.body {
            assert_eq!(response.body, body, "{ctx}");
        }
        assert_eq!(
            response.header("www-authenticate"),
            case.challenge,
            "{ctx}: {response:?}"
        );
        if let Some(reason) = case.reason {
            let events = capture.with_reason(reason);
            assert_eq!(
                events.len(),
                1,
                "{ctx}: one event with reason {reason}: {:?}",
                capture.events()
            );
        }
        if !case.authorization.is_empty() {
            assert!(
                response.set_cookies().is_empty(),
                "{ctx}: a bearer request sets no cookie: {response:?}"
            );
        }
        for secret in [&bf.valid, &bf.revoked, &bf.expired, &random] {
            capture.assert_never_contains(secret);
            capture.assert_never_contains(&secret[4..]);
        }
        table.push_str(&format!(
            "  {:<45} -> {} {}\n",
            case.name,
            response.status,
            case.reason.unwrap_or("")
        ));
    }
    println!("{table}");
}

/// `Option<Auth>`: anonymous without credentials, the user by either credential, and anonymous
/// for a refused token even with a valid cookie (no fallback).
pub async fn optional_auth_never_falls_back<D: BearerDriver>(backend: Backend) {
    let bf = bearer_fixture::<D>(backend).await;
    let get = |authorization: Option<String>, cookie: Option<String>| {
        let mut request = TestRequest::get("/api/maybe-whoami").cookie(cookie.as_deref());
        if let Some(value) = authorization {
            request = request.header("authorization", &value);
        }
        bf.fx.send(request)
    };
    let ctx = format!("{}/{backend:?}", D::NAME);
    assert_eq!(get(None, None).await.body, "anonymous", "{ctx}");
    assert_eq!(
        get(None, Some(bf.alice.clone())).await.body,
        "session:alice",
        "{ctx}"
    );
    let valid = get(Some(format!("Bearer {}", bf.valid)), None).await;
    assert_eq!(valid.body, "bearer:bob:ci:deploy,read", "{ctx}");
    let refused = get(
        Some(format!("Bearer {}", bf.revoked)),
        Some(bf.alice.clone()),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (200, "anonymous"),
        "{ctx}"
    );
    assert!(refused.set_cookies().is_empty(), "{ctx}: {refused:?}");
}

/// A bearer request whose handler writes to the session sends no cookie and changes no stored
/// session; the same write by cookie does.
pub async fn a_bearer_request_never_touches_the_session<D: BearerDriver>(backend: Backend) {
    let bf = bearer_fixture::<D>(backend).await;
    let ctx = format!("{}/{backend:?}", D::NAME);
    let request = TestRequest::post("/api/whoami-write")
        .header("authorization", &format!("Bearer {}", bf.valid))
        .cookie(Some(&bf.alice));
    let response = bf.fx.send(request).await;
    assert_eq!(response.status, 200, "{ctx}: {response:?}");
    assert!(response.set_cookies().is_empty(), "{ctx}: {response:?}");
    let none = bf
        .fx
        .send(
            TestRequest::post("/api/whoami-write")
                .header("authorization", &format!("Bearer {}", bf.valid)),
        )
        .await;
    assert!(
        none.set_cookies().is_empty(),
        "{ctx}: no new session either: {none:?}"
    );
    assert_eq!(
        bf.fx.get("/read", Some(&bf.alice)).await.body,
        "none",
        "{ctx}: alice's session is unchanged"
    );

    let by_cookie = bf
        .fx
        .send(TestRequest::post("/api/whoami-write").cookie(Some(&bf.alice)))
        .await;
    assert_eq!(by_cookie.body, "session:alice", "{ctx}");
    let cookie = by_cookie
        .set_cookies()
        .first()
        .map(|c| super::SetCookie::parse(c).pair())
        .unwrap_or_else(|| bf.alice.clone());
    assert_eq!(
        bf.fx.get("/read", Some(&cookie)).await.body,
        "1",
        "{ctx}: the cookie's write is kept"
    );
}

/// The token store down: a bearer request is 503 without a challenge (retry later), and a
/// cookie request is served as usual.
pub async fn a_token_store_outage_is_503<D: BearerDriver>(backend: Backend) {
    let bf = bearer_fixture::<D>(backend).await;
    let ctx = format!("{}/{backend:?}", D::NAME);
    bf.down.store(true, Ordering::SeqCst);
    let response = bf.whoami(&[&format!("Bearer {}", bf.valid)], None).await;
    assert_eq!(response.status, 503, "{ctx}: {response:?}");
    assert_eq!(response.header("www-authenticate"), None, "{ctx}");
    let by_cookie = bf.whoami(&[], Some(&bf.alice)).await;
    assert_eq!(by_cookie.body, "session:alice", "{ctx}");
    bf.down.store(false, Ordering::SeqCst);
    assert_eq!(
        bf.whoami(&[&format!("Bearer {}", bf.valid)], None)
            .await
            .status,
        200,
        "{ctx}"
    );
}

/// Revoking all of a user's tokens (the valid and the expired one; the revoked one already
/// is) takes effect on the next request.
pub async fn revocation_takes_effect_at_once<D: BearerDriver>(backend: Backend) {
    let bf = bearer_fixture::<D>(backend).await;
    let ctx = format!("{}/{backend:?}", D::NAME);
    let header = format!("Bearer {}", bf.valid);
    assert_eq!(bf.whoami(&[&header], None).await.status, 200, "{ctx}");
    assert_eq!(
        bf.tokens
            .revoke_all(&UserId::new("bob"))
            .await
            .expect("revoke_all"),
        2,
        "{ctx}"
    );
    let response = bf.whoami(&[&header], None).await;
    assert_eq!(response.status, 401, "{ctx}: {response:?}");
}

/// Without the app's `ApiTokens`, a bearer request is a 500 whose logged error names the fix
/// (Axum and Actix-web also answer it as the body; Rocket's catcher answers its own page);
/// cookie requests still work.
pub async fn missing_api_tokens_is_a_500_naming_the_fix<D: BearerDriver>(backend: Backend) {
    let parts = managed(backend, session_core::Policy::default());
    let app = D::bearer_app(parts.manager.clone(), None).await;
    let fx = parts.into_fixture::<D>(app);
    let alice = fx.login("alice").await;
    let ctx = format!("{}/{backend:?}", D::NAME);
    let request = TestRequest::get("/api/whoami").header("authorization", "Bearer sat_x");
    let capture = LogCapture::new();
    let response = {
        let _guard = capture.install();
        fx.send(request).await
    };
    assert_eq!(response.status, 500, "{ctx}: {response:?}");
    let named = capture
        .events()
        .iter()
        .any(|e| e.level == tracing::Level::ERROR && e.render().contains("Extension(api_tokens)"));
    assert!(named, "{ctx}: {:?}", capture.events());
    if D::NAME != "rocket" {
        assert!(
            response.body.contains("Extension(api_tokens)"),
            "{ctx}: {response:?}"
        );
    }
    assert_eq!(
        fx.send(TestRequest::get("/api/whoami").cookie(Some(&alice)))
            .await
            .body,
        "session:alice",
        "{ctx}"
    );
}

/// S-28: an API token is read from `Authorization: Bearer` only. A valid token in the query
/// (`?access_token=`, RFC 6750 §2.3, which we do not support), under other common names, or
/// in a form-encoded `POST`, is no credential: 401 with the plain `Bearer` challenge, and with
/// a session cookie the request is the session's user, never the token's.
pub async fn s28_an_api_token_comes_from_the_authorization_header_only<D: BearerDriver>(
    backend: Backend,
) {
    let bf = bearer_fixture::<D>(backend).await;
    let ctx = format!("{}/{backend:?}", D::NAME);
    let header = bf.whoami(&[&format!("Bearer {}", bf.valid)], None).await;
    assert_eq!(
        header.body, "bearer:bob:ci:deploy,read",
        "{ctx}: the header works"
    );

    for name in ["access_token", "token", "api_key"] {
        let query = format!("{name}={}", bf.valid);
        let ctx = format!("{ctx}: ?{name}=");

        let response = bf
            .fx
            .send(TestRequest::get(&format!("/api/whoami?{query}")))
            .await;
        assert_eq!(response.status, 401, "{ctx}: {response:?}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{ctx}: {response:?}"
        );

        let response = bf
            .fx
            .send(TestRequest::get(&format!("/api/maybe-whoami?{query}")))
            .await;
        assert_eq!(response.body, "anonymous", "{ctx}: {response:?}");

        let request = TestRequest::post(&format!("/api/whoami-write?{query}"))
            .header("content-type", "application/x-www-form-urlencoded");
        let response = bf.fx.send(request).await;
        assert_eq!(
            response.status, 401,
            "{ctx}: form-encoded POST: {response:?}"
        );

        let response = bf
            .fx
            .send(TestRequest::get(&format!("/api/whoami?{query}")).cookie(Some(&bf.alice)))
            .await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "session:alice"),
            "{ctx}: with alice's cookie"
        );
    }
}

/// Expands to one test per bearer scenario, on a stateless and a stateful backend.
macro_rules! bearer_suite {
    ($driver:ty, $test:meta) => {
        mod bearer {
            use super::*;
            $crate::common::bearer::bearer_suite!(@tests $driver, $test; Memory;
                bearer_matrix,
                optional_auth_never_falls_back,
                a_bearer_request_never_touches_the_session,
                a_token_store_outage_is_503,
                revocation_takes_effect_at_once,
                missing_api_tokens_is_a_500_naming_the_fix,
                s28_an_api_token_comes_from_the_authorization_header_only,
            );
            mod stateless {
                use super::*;
                $crate::common::bearer::bearer_suite!(@tests $driver, $test; Stateless;
                    bearer_matrix,
                    a_bearer_request_never_touches_the_session,
                    s28_an_api_token_comes_from_the_authorization_header_only,
                );
            }
        }
    };
    (@tests $driver:ty, $test:meta; $backend:ident; $($scenario:ident,)*) => {
        $(
            #[$test]
            async fn $scenario() {
                $crate::common::bearer::$scenario::<$driver>($crate::common::Backend::$backend).await;
            }
        )*
    };
}
pub(crate) use bearer_suite;
