//! The hostile-request scenarios of the behaviour suite (S-27, S-24): cross-site requests that
//! carry the session cookie, the form token, and a logged-out cookie replayed. Run on every
//! backend through every framework, like the rest of the suite.

use session_core::config::{CsrfProtection, WithoutOrigin};
use session_core::testing::LogCapture;

use super::{fixture, fixture_with_csrf, Backend, Driver, Fixture, TestApp, TestRequest};

/// The site the test requests are addressed to.
const HOST: &str = "app.example";

/// `POST path` to [`HOST`] with `cookie` and the extra `headers`.
fn post(path: &str, cookie: &str, headers: &[(&str, &str)]) -> TestRequest {
    let mut request = TestRequest::post(path)
        .header("host", HOST)
        .cookie(Some(cookie));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

/// The `reason` of every CSRF refusal logged so far.
fn refusals(capture: &LogCapture) -> Vec<String> {
    capture
        .events()
        .into_iter()
        .filter(|e| e.field("message") == Some("request refused as a cross-site request forgery"))
        .filter_map(|e| e.field("reason").map(str::to_owned))
        .collect()
}

async fn counter<A: TestApp>(fx: &Fixture<A>, cookie: &str) -> String {
    fx.get("/read", Some(cookie)).await.body
}

/// The cookie to send next: the one `response` sets (a stateless session is re-issued on
/// every write), else `cookie`.
fn next_cookie(response: &super::TestResponse, cookie: &str) -> String {
    match response.set_cookies().as_slice() {
        [one] => super::SetCookie::parse(one).pair(),
        _ => cookie.to_owned(),
    }
}

/// S-27: an unsafe request with the session cookie from another site (by `Origin`,
/// `Sec-Fetch-Site` or `Referer`) is refused with 403 before the handler runs: nothing is
/// written, no cookie is sent, the reason is logged. Same-origin requests, safe methods,
/// requests without the cookie and bearer-authenticated ones pass.
pub async fn s27_a_cross_site_post_with_the_cookie_is_refused_before_the_handler<D: Driver>(
    backend: Backend,
) {
    let fx = fixture::<D>(backend).await;
    let capture = LogCapture::new();
    let _guard = capture.install();
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();

    let forged: [(&[(&str, &str)], &str); 5] = [
        (&[("origin", "https://evil.example")], "foreign_origin"),
        (&[("origin", "null")], "foreign_origin"),
        (
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            "cross_site",
        ),
        (
            &[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://sub.app.example"),
            ],
            "cross_site",
        ),
        (
            &[("referer", "https://evil.example/page")],
            "foreign_referer",
        ),
    ];
    for (headers, reason) in forged {
        let response = fx.send(post("/write", &cookie, headers)).await;
        assert_eq!(response.status, 403, "{fx}: {headers:?}: {response:?}");
        assert!(
            response.set_cookies().is_empty(),
            "{fx}: {headers:?}: {response:?}"
        );
        assert_eq!(
            refusals(&capture).last().map(String::as_str),
            Some(reason),
            "{fx}: {headers:?}"
        );
    }
    let forged_delete = TestRequest::new("DELETE", "/write")
        .header("host", HOST)
        .header("origin", "https://evil.example")
        .cookie(Some(&cookie));
    assert_eq!(fx.send(forged_delete).await.status, 403, "{fx}: DELETE");
    assert_eq!(
        counter(&fx, &cookie).await,
        "1",
        "{fx}: no refused request wrote"
    );
    capture.assert_never_contains(cookie.split_once('=').map_or("", |(_, v)| v));

    let allowed: [&[(&str, &str)]; 4] = [
        &[("origin", "https://app.example")],
        &[("sec-fetch-site", "same-origin")],
        &[("referer", "https://app.example/form")],
        // No origin header at all: the default rule lets non-browser clients through.
        &[],
    ];
    let mut cookie = cookie;
    for (i, headers) in allowed.into_iter().enumerate() {
        let response = fx.send(post("/write", &cookie, headers)).await;
        assert_eq!(response.status, 200, "{fx}: {headers:?}: {response:?}");
        assert_eq!(response.body, (i + 2).to_string(), "{fx}: {headers:?}");
        cookie = next_cookie(&response, &cookie);
    }
    // A browser cannot send `Authorization` cross-site without a CORS preflight the app
    // grants, so the header marks a request no forgery: it runs, and writes.
    let bearer = post(
        "/write",
        &cookie,
        &[
            ("origin", "https://evil.example"),
            ("authorization", "Bearer sat_x"),
        ],
    );
    let response = fx.send(bearer).await;
    assert_eq!(response.status, 200, "{fx}: a bearer request is no forgery");
    assert_eq!(response.body, "6", "{fx}: the bearer request wrote");
    let cookie = next_cookie(&response, &cookie);

    let read = TestRequest::get("/read")
        .header("host", HOST)
        .header("origin", "https://evil.example")
        .cookie(Some(&cookie));
    assert_eq!(
        fx.send(read).await.status,
        200,
        "{fx}: GET is never refused"
    );
    let without_cookie = TestRequest::post("/write")
        .header("host", HOST)
        .header("origin", "https://evil.example");
    let response = fx.send(without_cookie).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "1"),
        "{fx}: no ambient credential"
    );
}

/// S-27 strict mode: with `WithoutOrigin::Refuse`, an unsafe request with the cookie and none
/// of the origin headers is refused too; same-origin ones still pass.
pub async fn s27_strict_mode_refuses_a_post_without_origin_headers<D: Driver>(backend: Backend) {
    let csrf = CsrfProtection::new().without_origin(WithoutOrigin::Refuse);
    let fx = fixture_with_csrf::<D>(backend, csrf).await;
    let cookie = fx.post("/write", None).await.only_cookie(&fx).pair();
    let response = fx.send(post("/write", &cookie, &[])).await;
    assert_eq!(response.status, 403, "{fx}: {response:?}");
    let response = fx
        .send(post(
            "/write",
            &cookie,
            &[("origin", "https://app.example")],
        ))
        .await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "2"),
        "{fx}"
    );
}

/// S-27 form tokens: a token is valid for its own session only, is checked whole, and changes
/// when the session's id does (at sign-in).
pub async fn s27_form_tokens_are_bound_to_the_session<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let response = fx.get("/csrf", None).await;
    assert_eq!(response.status, 200, "{fx}: {response:?}");
    let token = response.body.clone();
    assert_eq!(token.len(), 43, "{fx}: {token}");
    let cookie = response.only_cookie(&fx).pair();

    let form = |token: &str| format!("/form/{token}");
    let response = fx.send(post(&form(&token), &cookie, &[])).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "1"),
        "{fx}: {response:?}"
    );
    let cookie = next_cookie(&response, &cookie);

    let other = fx.get("/csrf", None).await.body;
    assert_ne!(other, token, "{fx}");
    for bad in [other.as_str(), "not-a-token", &token[..42]] {
        let response = fx.send(post(&form(bad), &cookie, &[])).await;
        assert_eq!(response.status, 403, "{fx}: {bad}: {response:?}");
        assert!(response.set_cookies().is_empty(), "{fx}: {response:?}");
    }
    assert_eq!(
        counter(&fx, &cookie).await,
        "1",
        "{fx}: refused forms wrote nothing"
    );

    let signed_in = fx
        .send(post("/login/alice", &cookie, &[]))
        .await
        .only_cookie(&fx)
        .pair();
    let response = fx.send(post(&form(&token), &signed_in, &[])).await;
    assert_eq!(response.status, 403, "{fx}: the token changes at sign-in");
    let fresh = fx.get("/csrf", Some(&signed_in)).await.body;
    let response = fx.send(post(&form(&fresh), &signed_in, &[])).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "2"),
        "{fx}: {response:?}"
    );
}

/// S-24, C7: a cookie replayed after its session was logged out is no session, in every mode
/// (stateless: the token is revoked in the revocation store until it expires).
pub async fn s24_a_logged_out_cookie_replayed_is_no_session<D: Driver>(backend: Backend) {
    let fx = fixture::<D>(backend).await;
    let anonymous = fx.post("/write", None).await.only_cookie(&fx).pair();
    let cookie = fx
        .send(post("/login/alice", &anonymous, &[]))
        .await
        .only_cookie(&fx)
        .pair();
    assert_eq!(
        fx.get("/dashboard", Some(&cookie)).await.body,
        "alice",
        "{fx}"
    );
    let response = fx.send(post("/logout", &cookie, &[])).await;
    assert!(response.only_cookie(&fx).is_removal(), "{fx}: {response:?}");

    assert_eq!(
        counter(&fx, &cookie).await,
        "none",
        "{fx}: replayed after logout"
    );
    let response = fx.get("/dashboard", Some(&cookie)).await;
    assert_eq!(
        response.status, 303,
        "{fx}: replayed after logout: {response:?}"
    );
    let response = fx.get("/api/me", Some(&cookie)).await;
    assert_eq!(
        response.status, 401,
        "{fx}: replayed after logout: {response:?}"
    );
}
